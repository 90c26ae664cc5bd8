//! Every setting of the API in one place, so that its default and the ways to
//! override it can be read (and changed) together. `Config` is one
//! `Deserialize` struct; figment layers its sources, each overriding the one
//! before: the defaults below, then the TOML file of `--config`/`APP_CONFIG`,
//! then environment variables, then the flags given on the command line.
//! The result is loaded once and passed around in `AppState`; no globals.

use clap::Args;
use figment::providers::{Format, Serialized, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::{ffi::OsString, fmt, net::SocketAddr, path::Path, path::PathBuf};

/// A secret value: it cannot be printed or logged by accident (it is not
/// `Serialize`, and `Debug` shows no more than that it is there).
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// The command-line flags shared by every subcommand. Each field (except
/// `config`) is also a key of the TOML file and an environment variable
/// (`env_name`); clap reads only the command line, so a field is `Some` exactly
/// when its flag was given, and figment owns the file and the environment.
#[derive(Args, Debug, Clone, Default, Serialize)]
pub struct Opts {
    /// TOML file with any of the settings below (keys in snake_case) [env: APP_CONFIG].
    #[arg(long, global = true)]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Address the API listens on [env: APP_BIND].
    #[arg(long, global = true)]
    pub bind: Option<SocketAddr>,
    /// Folder for the embedded database, photos and the generated signing key [env: APP_DATA_DIR].
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// Database URL: `postgres://…` or `sqlite://…`; default SQLite in the data dir [env: DATABASE_URL].
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    /// A PostgreSQL streaming standby for read-only work (dashboard tokens, boards) [env: DATABASE_READ_URL].
    #[arg(long, global = true)]
    pub database_read_url: Option<String>,
    /// Log format: text or json [env: APP_LOG_FORMAT].
    #[arg(long, global = true)]
    pub log_format: Option<LogFormat>,
    /// JWT signing secret (HS256); default: generated once and kept in the data dir [env: APP_JWT_SECRET].
    #[arg(long, global = true)]
    pub jwt_secret: Option<String>,
    /// Lifetime of an access token, in seconds [env: APP_ACCESS_TOKEN_TTL].
    #[arg(long, global = true)]
    pub access_token_ttl: Option<i64>,
    /// Lifetime of a refresh token, in seconds [env: APP_REFRESH_TOKEN_TTL].
    #[arg(long, global = true)]
    pub refresh_token_ttl: Option<i64>,
    /// Deepest GraphQL selection allowed [env: APP_MAX_QUERY_DEPTH].
    #[arg(long, global = true)]
    pub max_query_depth: Option<usize>,
    /// Highest GraphQL query cost allowed (each field counts 1; lists multiply by `first` or their largest size) [env: APP_MAX_QUERY_COMPLEXITY].
    #[arg(long, global = true)]
    pub max_query_complexity: Option<usize>,
    /// Largest request body, in bytes [env: APP_MAX_BODY_BYTES].
    #[arg(long, global = true)]
    pub max_body_bytes: Option<usize>,
    /// Most aliases in one GraphQL document [env: APP_MAX_ALIASES].
    #[arg(long, global = true)]
    pub max_aliases: Option<usize>,
    /// GraphQL requests per minute per signed-in account (0: no limit) [env: APP_RATE_LIMIT_ACCOUNT].
    #[arg(long, global = true)]
    pub rate_limit_account: Option<u32>,
    /// GraphQL requests per minute per API token (0: no limit) [env: APP_RATE_LIMIT_TOKEN].
    #[arg(long, global = true)]
    pub rate_limit_token: Option<u32>,
    /// GraphQL requests per minute per client address without a token (0: no limit) [env: APP_RATE_LIMIT_ANONYMOUS].
    #[arg(long, global = true)]
    pub rate_limit_anonymous: Option<u32>,
    /// Longest a GraphQL request may run, in seconds [env: APP_REQUEST_TIMEOUT].
    #[arg(long, global = true)]
    pub request_timeout: Option<u64>,
    /// Allow webhook endpoints over plain http (development only) [env: APP_WEBHOOK_ALLOW_HTTP].
    #[arg(long, global = true)]
    pub webhook_allow_http: Option<bool>,
    /// Allow webhook endpoints on private, loopback or link-local addresses [env: APP_WEBHOOK_ALLOW_PRIVATE].
    #[arg(long, global = true)]
    pub webhook_allow_private: Option<bool>,
    /// Origins allowed by CORS (comma-separated), e.g. the web app's URL [env: APP_CORS_ORIGINS].
    #[arg(long, global = true, value_delimiter = ',')]
    pub cors_origins: Option<Vec<String>>,
    /// Public URL of this API (upload URLs point there); default http://<bind> [env: APP_PUBLIC_URL].
    #[arg(long, global = true)]
    pub public_url: Option<String>,
    /// Public URL of the web app; sign-in QR codes point there [env: APP_WEB_URL].
    #[arg(long, global = true)]
    pub web_url: Option<String>,
    /// Take the client address from X-Forwarded-For (only behind a trusted proxy) [env: APP_TRUST_FORWARDED_FOR].
    #[arg(long, global = true)]
    pub trust_forwarded_for: Option<bool>,
    /// Proxies whose X-Forwarded-For entries are believed (addresses or CIDR blocks, comma-separated); default loopback [env: APP_TRUSTED_PROXIES].
    #[arg(long, global = true, value_delimiter = ',')]
    pub trusted_proxies: Option<Vec<String>>,
    /// Token Prometheus sends (`Authorization: Bearer …`) to read /metrics; unset: loopback callers only [env: APP_METRICS_TOKEN].
    #[arg(long, global = true)]
    pub metrics_token: Option<String>,
    /// S3-compatible endpoint for photos, e.g. https://s3.example.cn; unset = local files [env: APP_S3_ENDPOINT].
    #[arg(long, global = true)]
    pub s3_endpoint: Option<String>,
    /// Bucket for photos; required with an S3 endpoint [env: APP_S3_BUCKET].
    #[arg(long, global = true)]
    pub s3_bucket: Option<String>,
    /// S3 region; default us-east-1 [env: APP_S3_REGION].
    #[arg(long, global = true)]
    pub s3_region: Option<String>,
    /// S3 access key; required with an S3 endpoint [env: APP_S3_ACCESS_KEY].
    #[arg(long, global = true)]
    pub s3_access_key: Option<String>,
    /// S3 secret key; required with an S3 endpoint [env: APP_S3_SECRET_KEY].
    #[arg(long, global = true)]
    pub s3_secret_key: Option<String>,
    /// Path-style bucket addressing (most self-hosted S3 servers need it); default true [env: APP_S3_PATH_STYLE].
    #[arg(long, global = true)]
    pub s3_path_style: Option<bool>,
    /// Largest photo accepted, in bytes [env: APP_MAX_PHOTO_BYTES].
    #[arg(long, global = true)]
    pub max_photo_bytes: Option<i64>,
    /// Password of the demo accounts created by `api demo` (default: generated, printed once) [env: APP_DEMO_PASSWORD].
    #[arg(long, global = true)]
    pub demo_password: Option<String>,
}

/// Photo storage in S3, set by the flat `s3_*` keys (nested under `s3` while
/// loading); present only when `s3_endpoint` is.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Config {
    pub endpoint: String,
    pub bucket: String,
    #[serde(default = "default_s3_region")]
    pub region: String,
    pub access_key: Secret,
    pub secret_key: Secret,
    #[serde(default = "default_true")]
    pub path_style: bool,
}

fn default_s3_region() -> String {
    "us-east-1".into()
}

fn default_true() -> bool {
    true
}

/// Fields marked `skip` are fixed here, not settings: no file, variable or flag sets them.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub bind: SocketAddr,
    pub data_dir: PathBuf,
    /// May contain a password, hence a secret. Default: SQLite in `data_dir`.
    pub database_url: Secret,
    /// Optional standby of the primary (PostgreSQL only); may contain a password.
    pub database_read_url: Option<Secret>,
    pub log_format: LogFormat,
    pub jwt_secret: Option<Secret>,
    #[serde(skip)]
    pub jwt_issuer: String,
    #[serde(skip)]
    pub jwt_audience: String,
    pub access_token_ttl: i64,
    pub refresh_token_ttl: i64,
    pub max_query_depth: usize,
    pub max_query_complexity: usize,
    pub max_body_bytes: usize,
    pub max_aliases: usize,
    pub rate_limit_account: u32,
    pub rate_limit_token: u32,
    pub rate_limit_anonymous: u32,
    pub request_timeout: u64,
    pub webhook_allow_http: bool,
    pub webhook_allow_private: bool,
    /// Webhook worker: poll interval, first retry delay (doubling), attempts, per-attempt timeout.
    #[serde(skip)]
    pub webhook_poll_ms: u64,
    #[serde(skip)]
    pub webhook_retry_base_ms: u64,
    #[serde(skip)]
    pub webhook_max_attempts: u32,
    #[serde(skip)]
    pub webhook_timeout_ms: u64,
    /// A list in the file; one comma-separated string in `APP_CORS_ORIGINS`.
    #[serde(deserialize_with = "comma_list")]
    pub cors_origins: Vec<String>,
    pub web_url: String,
    /// Default: `http://<bind>`.
    pub public_url: String,
    /// Photos in S3 when set; the local filesystem otherwise.
    pub s3: Option<S3Config>,
    pub max_photo_bytes: i64,
    pub trust_forwarded_for: bool,
    /// Addresses or CIDR blocks of the proxies in front of the API.
    #[serde(deserialize_with = "comma_list")]
    pub trusted_proxies: Vec<String>,
    /// Without it, /metrics answers loopback callers only.
    pub metrics_token: Option<Secret>,
    pub demo_password: Option<Secret>,
    /// Failed sign-ins (per account and per client address) before back-off starts.
    #[serde(skip)]
    pub sign_in_free_failures: i32,
    /// Longest lock after repeated failures, in seconds.
    #[serde(skip)]
    pub sign_in_max_lock: i64,
    /// How often an open WebSocket's token is checked again (expiry, revocation).
    #[serde(skip)]
    pub ws_recheck_secs: u64,
}

/// The defaults: the bottom layer. `database_url` and `public_url` here follow
/// the default data dir and address; `load` re-derives them from the loaded ones.
impl Default for Config {
    fn default() -> Self {
        let bind = SocketAddr::from(([127, 0, 0, 1], 8000));
        let data_dir = PathBuf::from("./data");
        Self {
            bind,
            database_url: sqlite_in(&data_dir),
            database_read_url: None,
            data_dir,
            log_format: LogFormat::Text,
            jwt_secret: None,
            jwt_issuer: "housing-safety-verification".into(),
            jwt_audience: "housing-safety-api".into(),
            access_token_ttl: 900,
            refresh_token_ttl: 30 * 24 * 3600,
            max_query_depth: 12,
            max_query_complexity: 50_000,
            max_body_bytes: 32 * 1024 * 1024,
            max_aliases: 50,
            rate_limit_account: 600,
            rate_limit_token: 300,
            rate_limit_anonymous: 300,
            request_timeout: 30,
            webhook_allow_http: false,
            webhook_allow_private: false,
            webhook_poll_ms: 500,
            webhook_retry_base_ms: 10_000,
            webhook_max_attempts: 8,
            webhook_timeout_ms: 10_000,
            cors_origins: vec!["http://127.0.0.1:8080".into(), "http://localhost:8080".into()],
            web_url: "http://127.0.0.1:8080".into(),
            public_url: format!("http://{bind}"),
            s3: None,
            max_photo_bytes: 15 * 1024 * 1024,
            trust_forwarded_for: false,
            metrics_token: None,
            trusted_proxies: vec!["127.0.0.0/8".into(), "::1/128".into()],
            demo_password: None,
            sign_in_free_failures: 5,
            sign_in_max_lock: 15 * 60,
            ws_recheck_secs: 30,
        }
    }
}

fn sqlite_in(data_dir: &Path) -> Secret {
    Secret::new(format!("sqlite://{}/app.db?mode=rwc", data_dir.display()))
}

impl Config {
    /// Defaults, then the file, then this process's environment, then `opts`.
    pub fn load(opts: &Opts) -> anyhow::Result<Self> {
        Self::load_with_env(opts, |name| std::env::var_os(name))
    }

    /// As `load`, with the environment read through `env` (name → value);
    /// `|_| None` leaves the environment out, as tests do.
    pub fn load_with_env(opts: &Opts, env: impl Fn(&str) -> Option<OsString>) -> anyhow::Result<Self> {
        // An empty variable counts as unset (`APP_BIND=` leaves the file's address).
        let env = |name: &str| env(name).filter(|v| !v.is_empty());
        let file = opts.config.clone().or_else(|| env("APP_CONFIG").map(PathBuf::from));
        let mut figment = Figment::new();
        if let Some(path) = file {
            figment = figment.merge(Layer::file(&path)?);
        }
        let figment = figment.merge(Layer::env(&env)?).merge(Layer::flags(opts)?);
        let figment = s3_only_with_endpoint(figment)?;
        let mut cfg: Config = figment.extract_lossy().map_err(|e| anyhow::anyhow!("configuration: {e}"))?;
        if !figment.contains("database_url") {
            cfg.database_url = sqlite_in(&cfg.data_dir);
        }
        if !figment.contains("public_url") {
            cfg.public_url = format!("http://{}", cfg.bind);
        }
        Ok(cfg)
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.expose().starts_with("sqlite:")
    }
}

/// The setting keys, from the flags: each flag is also a file key and a variable.
fn keys() -> Vec<String> {
    Opts::augment_args(clap::Command::new("api"))
        .get_arguments()
        .map(|a| a.get_id().as_str().to_owned())
        .filter(|k| k != "config")
        .collect()
}

/// `bind` → `APP_BIND`; `database_url` keeps the name every database tool reads.
fn env_name(key: &str) -> String {
    match key {
        "database_url" => "DATABASE_URL".into(),
        "database_read_url" => "DATABASE_READ_URL".into(),
        _ => format!("APP_{}", key.to_ascii_uppercase()),
    }
}

fn flag_name(key: &str) -> String {
    format!("--{}", key.replace('_', "-"))
}

/// Without `s3_endpoint` photos stay on local disk and the other `s3_*`
/// settings are unused; with it, bucket and keys must be set somewhere.
fn s3_only_with_endpoint(figment: Figment) -> anyhow::Result<Figment> {
    if !figment.contains("s3.endpoint") {
        return Ok(figment.merge(Serialized::default("s3", None::<()>)));
    }
    for key in ["s3_bucket", "s3_access_key", "s3_secret_key"] {
        if !figment.contains(&key.replacen('_', ".", 1)) {
            anyhow::bail!(
                "configuration: `{key}` ({}, {}) is required with `s3_endpoint`",
                env_name(key),
                flag_name(key)
            );
        }
    }
    Ok(figment)
}

/// One source of settings under the flat keys users write (`s3_bucket`); its
/// errors name a key the way that source spells it (`APP_S3_BUCKET`, `--s3-bucket`).
struct Layer {
    name: &'static str,
    file: Option<PathBuf>,
    spell: fn(&str) -> String,
    settings: Dict,
}

impl Layer {
    fn new(name: &'static str, file: Option<PathBuf>, spell: fn(&str) -> String, flat: Dict) -> Self {
        // `s3_bucket` → `s3.bucket`, for `Config::s3`; unset values are left out.
        let (mut settings, mut s3) = (Dict::new(), Dict::new());
        for (key, value) in flat.into_iter().filter(|(_, v)| !matches!(v, Value::Empty(..))) {
            match key.strip_prefix("s3_") {
                Some(rest) => s3.insert(rest.to_owned(), value),
                None => settings.insert(key, value),
            };
        }
        if !s3.is_empty() {
            settings.insert("s3".into(), s3.into());
        }
        Self { name, file, spell, settings }
    }

    fn file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read config file {}: {e}", path.display()))?;
        let mut data =
            Toml::string(&text).data().map_err(|e| anyhow::anyhow!("config file {}: {e}", path.display()))?;
        let flat = data.remove(&Profile::Default).unwrap_or_default();
        let known = keys();
        if let Some(key) = flat.keys().find(|k| !known.contains(k)) {
            anyhow::bail!("config file {}: unknown key `{key}`; the keys are {}", path.display(), known.join(", "));
        }
        Ok(Self::new("TOML file", Some(path.to_owned()), str::to_owned, flat))
    }

    /// Values stay strings (a password `007` stays `007`); `extract_lossy`
    /// reads numbers and booleans (`true`, `1`, `yes`, `on`) out of them.
    fn env(env: &dyn Fn(&str) -> Option<OsString>) -> anyhow::Result<Self> {
        let mut flat = Dict::new();
        for key in keys() {
            let name = env_name(&key);
            if let Some(value) = env(&name) {
                let value = value.into_string().map_err(|_| anyhow::anyhow!("configuration: {name} is not UTF-8"))?;
                flat.insert(key, Value::from(value));
            }
        }
        Ok(Self::new("environment variable", None, env_name, flat))
    }

    fn flags(opts: &Opts) -> anyhow::Result<Self> {
        let flat = Value::serialize(opts)?.into_dict().unwrap_or_default();
        Ok(Self::new("command-line flag", None, flag_name, flat))
    }
}

impl Provider for Layer {
    fn metadata(&self) -> Metadata {
        let spell = self.spell;
        let metadata = Metadata::named(self.name).interpolater(move |_, path: &[&str]| spell(&path.join("_")));
        match &self.file {
            Some(path) => metadata.source(path.as_path()),
            None => metadata,
        }
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.settings.clone()))
    }
}

/// A list, or one comma-separated string (as in an environment variable).
fn comma_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    struct List;
    impl<'de> Visitor<'de> for List {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a list of strings or one comma-separated string")
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<Vec<String>, E> {
            Ok(s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
            let mut list = Vec::new();
            while let Some(item) = seq.next_element::<String>()? {
                list.push(item);
            }
            Ok(list)
        }
    }
    deserializer.deserialize_any(List)
}

#[cfg(test)]
mod tests;
