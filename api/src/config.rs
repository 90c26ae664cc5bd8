//! Configuration, loaded once: defaults, then an optional TOML file, then
//! environment variables and command-line flags (flags win over env).
//! The result is passed around in `AppState`; there are no globals.

use clap::Args;
use serde::Deserialize;
use std::{fmt, net::SocketAddr, path::PathBuf};

/// A secret value: it cannot be printed or logged by accident.
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// Options shared by every subcommand; each is also an `APP_*` variable.
#[derive(Args, Debug, Clone, Default)]
pub struct Opts {
    /// TOML file with any of the settings below (keys in snake_case).
    #[arg(long, env = "APP_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Address the API listens on.
    #[arg(long, env = "APP_BIND", global = true)]
    pub bind: Option<SocketAddr>,
    /// Folder for the embedded database, photos and the generated signing key.
    #[arg(long, env = "APP_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Database URL: `postgres://…` or `sqlite://…`; default SQLite in the data dir.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// Log format: text or json.
    #[arg(long, env = "APP_LOG_FORMAT", global = true)]
    pub log_format: Option<LogFormat>,
    /// JWT signing secret (HS256); default: generated once and kept in the data dir.
    #[arg(long, env = "APP_JWT_SECRET", global = true, hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Lifetime of an access token, in seconds.
    #[arg(long, env = "APP_ACCESS_TOKEN_TTL", global = true)]
    pub access_token_ttl: Option<i64>,
    /// Lifetime of a refresh token, in seconds.
    #[arg(long, env = "APP_REFRESH_TOKEN_TTL", global = true)]
    pub refresh_token_ttl: Option<i64>,
    /// Deepest GraphQL selection allowed.
    #[arg(long, env = "APP_MAX_QUERY_DEPTH", global = true)]
    pub max_query_depth: Option<usize>,
    /// Highest GraphQL complexity allowed (each field counts 1, lists multiply by `first`).
    #[arg(long, env = "APP_MAX_QUERY_COMPLEXITY", global = true)]
    pub max_query_complexity: Option<usize>,
    /// Largest request body, in bytes.
    #[arg(long, env = "APP_MAX_BODY_BYTES", global = true)]
    pub max_body_bytes: Option<usize>,
    /// Most aliases in one GraphQL document.
    #[arg(long, env = "APP_MAX_ALIASES", global = true)]
    pub max_aliases: Option<usize>,
    /// GraphQL requests per minute per signed-in account (0: no limit).
    #[arg(long, env = "APP_RATE_LIMIT_ACCOUNT", global = true)]
    pub rate_limit_account: Option<u32>,
    /// GraphQL requests per minute per API token (0: no limit).
    #[arg(long, env = "APP_RATE_LIMIT_TOKEN", global = true)]
    pub rate_limit_token: Option<u32>,
    /// GraphQL requests per minute per client address without a token (0: no limit).
    #[arg(long, env = "APP_RATE_LIMIT_ANONYMOUS", global = true)]
    pub rate_limit_anonymous: Option<u32>,
    /// Longest a GraphQL request may run, in seconds.
    #[arg(long, env = "APP_REQUEST_TIMEOUT", global = true)]
    pub request_timeout: Option<u64>,
    /// Allow webhook endpoints over plain http (development only).
    #[arg(long, env = "APP_WEBHOOK_ALLOW_HTTP", global = true)]
    pub webhook_allow_http: Option<bool>,
    /// Allow webhook endpoints on private, loopback or link-local addresses.
    #[arg(long, env = "APP_WEBHOOK_ALLOW_PRIVATE", global = true)]
    pub webhook_allow_private: Option<bool>,
    /// Origins allowed by CORS (comma-separated), e.g. the web app's URL.
    #[arg(long, env = "APP_CORS_ORIGINS", global = true, value_delimiter = ',')]
    pub cors_origins: Option<Vec<String>>,
    /// Public URL of this API (upload URLs point there); default http://<bind>.
    #[arg(long, env = "APP_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    /// Public URL of the web app; sign-in QR codes point there.
    #[arg(long, env = "APP_WEB_URL", global = true)]
    pub web_url: Option<String>,
    /// Take the client address from X-Forwarded-For (only behind a trusted proxy).
    #[arg(long, env = "APP_TRUST_FORWARDED_FOR", global = true)]
    pub trust_forwarded_for: Option<bool>,
    /// S3-compatible endpoint for photos, e.g. https://s3.example.cn; unset = local files.
    #[arg(long, env = "APP_S3_ENDPOINT", global = true)]
    pub s3_endpoint: Option<String>,
    #[arg(long, env = "APP_S3_BUCKET", global = true)]
    pub s3_bucket: Option<String>,
    #[arg(long, env = "APP_S3_REGION", global = true)]
    pub s3_region: Option<String>,
    #[arg(long, env = "APP_S3_ACCESS_KEY", global = true, hide_env_values = true)]
    pub s3_access_key: Option<String>,
    #[arg(long, env = "APP_S3_SECRET_KEY", global = true, hide_env_values = true)]
    pub s3_secret_key: Option<String>,
    /// Path-style bucket addressing (most self-hosted S3 servers need it).
    #[arg(long, env = "APP_S3_PATH_STYLE", global = true)]
    pub s3_path_style: Option<bool>,
    /// Largest photo accepted, in bytes.
    #[arg(long, env = "APP_MAX_PHOTO_BYTES", global = true)]
    pub max_photo_bytes: Option<i64>,
    /// Password of the demo accounts created by `api demo` (default: generated, printed once).
    #[arg(long, env = "APP_DEMO_PASSWORD", global = true, hide_env_values = true)]
    pub demo_password: Option<String>,
}

/// The same settings as read from a TOML file.
#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    bind: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    database_url: Option<Secret>,
    log_format: Option<LogFormat>,
    jwt_secret: Option<Secret>,
    access_token_ttl: Option<i64>,
    refresh_token_ttl: Option<i64>,
    max_query_depth: Option<usize>,
    max_query_complexity: Option<usize>,
    max_body_bytes: Option<usize>,
    max_aliases: Option<usize>,
    rate_limit_account: Option<u32>,
    rate_limit_token: Option<u32>,
    rate_limit_anonymous: Option<u32>,
    request_timeout: Option<u64>,
    webhook_allow_http: Option<bool>,
    webhook_allow_private: Option<bool>,
    cors_origins: Option<Vec<String>>,
    web_url: Option<String>,
    public_url: Option<String>,
    s3_endpoint: Option<String>,
    s3_bucket: Option<String>,
    s3_region: Option<String>,
    s3_access_key: Option<Secret>,
    s3_secret_key: Option<Secret>,
    s3_path_style: Option<bool>,
    max_photo_bytes: Option<i64>,
    trust_forwarded_for: Option<bool>,
    demo_password: Option<Secret>,
}

#[derive(Clone, Debug)]
pub struct S3Config {
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    pub access_key: Secret,
    pub secret_key: Secret,
    pub path_style: bool,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub bind: SocketAddr,
    pub data_dir: PathBuf,
    /// May contain a password, hence a secret.
    pub database_url: Secret,
    pub log_format: LogFormat,
    pub jwt_secret: Option<Secret>,
    pub jwt_issuer: String,
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
    pub webhook_poll_ms: u64,
    pub webhook_retry_base_ms: u64,
    pub webhook_max_attempts: u32,
    pub webhook_timeout_ms: u64,
    pub cors_origins: Vec<String>,
    pub web_url: String,
    pub public_url: String,
    /// Photos in S3 when set; the local filesystem otherwise.
    pub s3: Option<S3Config>,
    pub max_photo_bytes: i64,
    pub trust_forwarded_for: bool,
    pub demo_password: Option<Secret>,
    /// Failed sign-ins (per account and per client address) before back-off starts.
    pub sign_in_free_failures: i32,
    /// Longest lock after repeated failures, in seconds.
    pub sign_in_max_lock: i64,
}

impl Config {
    pub fn load(opts: &Opts) -> anyhow::Result<Self> {
        let file: FileConfig = match &opts.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| anyhow::anyhow!("cannot read config file {}: {e}", path.display()))?;
                toml::from_str(&text).map_err(|e| anyhow::anyhow!("config file {}: {e}", path.display()))?
            }
            None => FileConfig::default(),
        };
        let data_dir = opts.data_dir.clone().or(file.data_dir).unwrap_or_else(|| PathBuf::from("./data"));
        let database_url = opts
            .database_url
            .clone()
            .map(Secret::new)
            .or(file.database_url)
            .unwrap_or_else(|| Secret::new(format!("sqlite://{}/app.db?mode=rwc", data_dir.display())));
        let s3 = match opts.s3_endpoint.clone().or(file.s3_endpoint) {
            None => None,
            Some(endpoint) => Some(S3Config {
                endpoint,
                bucket: opts
                    .s3_bucket
                    .clone()
                    .or(file.s3_bucket)
                    .ok_or_else(|| anyhow::anyhow!("APP_S3_BUCKET is required with APP_S3_ENDPOINT"))?,
                region: opts.s3_region.clone().or(file.s3_region).unwrap_or_else(|| "us-east-1".into()),
                access_key: opts
                    .s3_access_key
                    .clone()
                    .map(Secret::new)
                    .or(file.s3_access_key)
                    .ok_or_else(|| anyhow::anyhow!("APP_S3_ACCESS_KEY is required with APP_S3_ENDPOINT"))?,
                secret_key: opts
                    .s3_secret_key
                    .clone()
                    .map(Secret::new)
                    .or(file.s3_secret_key)
                    .ok_or_else(|| anyhow::anyhow!("APP_S3_SECRET_KEY is required with APP_S3_ENDPOINT"))?,
                path_style: opts.s3_path_style.or(file.s3_path_style).unwrap_or(true),
            }),
        };
        let bind = opts.bind.or(file.bind).unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8000)));
        Ok(Self {
            bind,
            s3,
            max_photo_bytes: opts.max_photo_bytes.or(file.max_photo_bytes).unwrap_or(15 * 1024 * 1024),
            public_url: opts.public_url.clone().or(file.public_url).unwrap_or_else(|| format!("http://{bind}")),
            database_url,
            log_format: opts.log_format.or(file.log_format).unwrap_or(LogFormat::Text),
            jwt_secret: opts.jwt_secret.clone().map(Secret::new).or(file.jwt_secret),
            jwt_issuer: "housing-safety-verification".into(),
            jwt_audience: "housing-safety-api".into(),
            access_token_ttl: opts.access_token_ttl.or(file.access_token_ttl).unwrap_or(900),
            refresh_token_ttl: opts.refresh_token_ttl.or(file.refresh_token_ttl).unwrap_or(30 * 24 * 3600),
            max_query_depth: opts.max_query_depth.or(file.max_query_depth).unwrap_or(12),
            max_query_complexity: opts.max_query_complexity.or(file.max_query_complexity).unwrap_or(20_000),
            max_body_bytes: opts.max_body_bytes.or(file.max_body_bytes).unwrap_or(32 * 1024 * 1024),
            max_aliases: opts.max_aliases.or(file.max_aliases).unwrap_or(50),
            rate_limit_account: opts.rate_limit_account.or(file.rate_limit_account).unwrap_or(600),
            rate_limit_token: opts.rate_limit_token.or(file.rate_limit_token).unwrap_or(300),
            rate_limit_anonymous: opts.rate_limit_anonymous.or(file.rate_limit_anonymous).unwrap_or(300),
            request_timeout: opts.request_timeout.or(file.request_timeout).unwrap_or(30),
            webhook_allow_http: opts.webhook_allow_http.or(file.webhook_allow_http).unwrap_or(false),
            webhook_allow_private: opts.webhook_allow_private.or(file.webhook_allow_private).unwrap_or(false),
            webhook_poll_ms: 500,
            webhook_retry_base_ms: 10_000,
            webhook_max_attempts: 8,
            webhook_timeout_ms: 10_000,
            cors_origins: opts
                .cors_origins
                .clone()
                .or(file.cors_origins)
                .unwrap_or_else(|| vec!["http://127.0.0.1:8080".into(), "http://localhost:8080".into()]),
            web_url: opts.web_url.clone().or(file.web_url).unwrap_or_else(|| "http://127.0.0.1:8080".into()),
            trust_forwarded_for: opts.trust_forwarded_for.or(file.trust_forwarded_for).unwrap_or(false),
            demo_password: opts.demo_password.clone().map(Secret::new).or(file.demo_password),
            sign_in_free_failures: 5,
            sign_in_max_lock: 15 * 60,
            data_dir,
        })
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.expose().starts_with("sqlite:")
    }
}
