//! The layering of defaults, file, environment and flags, checked key by key.

use super::*;
use std::io::Write;

/// Settings from a TOML text, variables (`NAME=value …`, never the process's) and flags.
fn load(toml: Option<&str>, vars: &str, mut opts: Opts) -> anyhow::Result<Config> {
    let file = toml.map(|text| {
        let mut f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    });
    opts.config = opts.config.or_else(|| file.as_ref().map(|f| f.path().to_owned()));
    let vars: Vec<(&str, &str)> = vars.split_whitespace().map(|kv| kv.split_once('=').unwrap()).collect();
    Config::load_with_env(&opts, |name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.into()))
}

fn flags(args: &[&str]) -> Opts {
    #[derive(clap::Parser)]
    struct Cmd {
        #[command(flatten)]
        opts: Opts,
    }
    <Cmd as clap::Parser>::try_parse_from(std::iter::once("api").chain(args.iter().copied())).unwrap().opts
}

#[test]
fn each_layer_overrides_the_one_before() {
    let toml = "max_query_depth = 1\nmax_aliases = 1\naccess_token_ttl = 100\n";
    let env = "APP_MAX_QUERY_DEPTH=2 APP_MAX_ALIASES=2";
    assert_eq!(load(None, "", Opts::default()).unwrap().max_query_depth, 12);
    assert_eq!(load(Some(toml), "", Opts::default()).unwrap().max_query_depth, 1);
    assert_eq!(load(Some(toml), env, Opts::default()).unwrap().max_query_depth, 2);
    let cfg = load(Some(toml), env, flags(&["--max-query-depth", "3"])).unwrap();
    assert_eq!(cfg.max_query_depth, 3, "flag over env");
    assert_eq!(cfg.max_aliases, 2, "env over file; a flag not given overrides nothing");
    assert_eq!(cfg.access_token_ttl, 100, "file over default");
    assert_eq!(cfg.refresh_token_ttl, 30 * 24 * 3600, "default");
}

#[test]
fn the_file_comes_from_the_flag_over_app_config() {
    let other = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    std::fs::write(other.path(), "max_aliases = 7\n").unwrap();
    let env = format!("APP_CONFIG={}", other.path().display());
    assert_eq!(load(None, &env, Opts::default()).unwrap().max_aliases, 7);
    assert_eq!(load(Some("max_aliases = 8\n"), &env, Opts::default()).unwrap().max_aliases, 8);
    let missing = Opts { config: Some("/nonexistent/app.toml".into()), ..Opts::default() };
    let err = load(None, "", missing).unwrap_err().to_string();
    assert!(err.contains("cannot read config file /nonexistent/app.toml"), "{err}");
}

#[test]
fn defaults_and_derived_values() {
    let cfg = load(None, "", Opts::default()).unwrap();
    assert_eq!(cfg.database_url.expose(), "sqlite://./data/app.db?mode=rwc");
    assert_eq!(cfg.public_url, "http://127.0.0.1:8000");
    assert!(cfg.is_sqlite() && cfg.s3.is_none() && cfg.jwt_secret.is_none());
    assert_eq!((cfg.webhook_poll_ms, cfg.sign_in_max_lock), (500, 900));
    assert_eq!(cfg.jwt_audience, "housing-safety-api");
    // Derived from the data dir and address as loaded, whichever layer set them.
    let cfg = load(Some("bind = \"0.0.0.0:9000\"\n"), "APP_DATA_DIR=/srv/hsv", Opts::default()).unwrap();
    assert_eq!(cfg.database_url.expose(), "sqlite:///srv/hsv/app.db?mode=rwc");
    assert_eq!(cfg.public_url, "http://0.0.0.0:9000");
    let cfg = load(None, "DATABASE_URL=postgres://u:p@db/hsv APP_PUBLIC_URL=https://a.cn", Opts::default()).unwrap();
    assert!(!cfg.is_sqlite());
    assert_eq!(cfg.public_url, "https://a.cn");
}

/// Every variable the API read before figment, still read, each into its setting.
#[test]
fn every_variable_is_read() {
    let vars = "APP_BIND=0.0.0.0:1 APP_DATA_DIR=/d DATABASE_URL=postgres://h/db DATABASE_READ_URL=postgres://r/db APP_LOG_FORMAT=json \
        APP_JWT_SECRET=j APP_ACCESS_TOKEN_TTL=2 APP_REFRESH_TOKEN_TTL=3 APP_MAX_QUERY_DEPTH=4 \
        APP_MAX_QUERY_COMPLEXITY=5 APP_MAX_BODY_BYTES=6 APP_MAX_ALIASES=7 APP_RATE_LIMIT_ACCOUNT=8 \
        APP_RATE_LIMIT_TOKEN=9 APP_RATE_LIMIT_ANONYMOUS=10 APP_REQUEST_TIMEOUT=11 APP_WEBHOOK_ALLOW_HTTP=true \
        APP_WEBHOOK_ALLOW_PRIVATE=1 APP_CORS_ORIGINS=http://a,http://b APP_PUBLIC_URL=http://p \
        APP_WEB_URL=http://w APP_TRUST_FORWARDED_FOR=yes APP_TRUSTED_PROXIES=10.0.0.0/8,::1 APP_METRICS_TOKEN=mt APP_S3_ENDPOINT=http://s3 APP_S3_BUCKET=b \
        APP_S3_REGION=r APP_S3_ACCESS_KEY=ak APP_S3_SECRET_KEY=sk APP_S3_PATH_STYLE=false \
        APP_MAX_PHOTO_BYTES=12 APP_DEMO_PASSWORD=pw";
    let names: std::collections::BTreeSet<String> = keys().iter().map(|k| env_name(k)).collect();
    let expected = vars.split_whitespace().map(|kv| kv.split_once('=').unwrap().0.to_owned()).collect();
    assert_eq!(names, expected);
    let c = load(None, vars, Opts::default()).unwrap();
    assert_eq!((c.bind.port(), c.data_dir.to_str(), c.database_url.expose()), (1, Some("/d"), "postgres://h/db"));
    assert_eq!(c.database_read_url.as_ref().map(|u| u.expose()), Some("postgres://r/db"));
    assert_eq!((c.log_format, c.jwt_secret.unwrap().expose()), (LogFormat::Json, "j"));
    assert_eq!([c.access_token_ttl, c.refresh_token_ttl], [2, 3]);
    assert_eq!([c.max_query_depth, c.max_query_complexity, c.max_body_bytes, c.max_aliases], [4, 5, 6, 7]);
    assert_eq!([c.rate_limit_account, c.rate_limit_token, c.rate_limit_anonymous], [8, 9, 10]);
    assert_eq!((c.request_timeout, c.max_photo_bytes), (11, 12));
    assert!(c.webhook_allow_http && c.webhook_allow_private && c.trust_forwarded_for);
    assert_eq!(c.cors_origins, ["http://a", "http://b"]);
    assert_eq!(c.trusted_proxies, ["10.0.0.0/8", "::1"]);
    assert_eq!([c.public_url.as_str(), c.web_url.as_str()], ["http://p", "http://w"]);
    assert_eq!(c.demo_password.unwrap().expose(), "pw");
    let s3 = c.s3.unwrap();
    assert_eq!([s3.endpoint.as_str(), s3.bucket.as_str(), s3.region.as_str()], ["http://s3", "b", "r"]);
    assert_eq!((s3.access_key.expose(), s3.secret_key.expose(), s3.path_style), ("ak", "sk", false));
}

#[test]
fn clap_reads_no_variables_so_only_given_flags_override() {
    let args = Opts::augment_args(clap::Command::new("api"));
    assert!(args.get_arguments().all(|a| a.get_env().is_none()));
    let opts = flags(&["--cors-origins", "http://a,http://b"]);
    assert_eq!(load(None, "APP_CORS_ORIGINS=http://env", opts).unwrap().cors_origins, ["http://a", "http://b"]);
    let cfg = load(Some("cors_origins = [\"http://file\"]\n"), "", Opts::default()).unwrap();
    assert_eq!(cfg.cors_origins, ["http://file"]);
}

#[test]
fn s3_needs_its_endpoint_bucket_and_keys() {
    let cfg = load(None, "APP_S3_BUCKET=b APP_S3_REGION=r", Opts::default()).unwrap();
    assert!(cfg.s3.is_none(), "no endpoint: local files");
    let toml = "s3_endpoint = \"http://s3\"\ns3_bucket = \"b\"\ns3_access_key = \"a\"\n";
    let err = load(Some(toml), "", Opts::default()).unwrap_err().to_string();
    assert!(err.contains("`s3_secret_key` (APP_S3_SECRET_KEY, --s3-secret-key) is required"), "{err}");
    let s3 = load(Some(toml), "APP_S3_SECRET_KEY=s", Opts::default()).unwrap().s3.unwrap();
    assert_eq!((s3.region.as_str(), s3.path_style, s3.secret_key.expose()), ("us-east-1", true, "s"));
    // An empty variable is unset: it overrides nothing.
    let s3 = load(Some(toml), "APP_S3_SECRET_KEY=s APP_S3_ENDPOINT= APP_S3_REGION=", Opts::default());
    let s3 = s3.unwrap().s3.unwrap();
    assert_eq!((s3.endpoint.as_str(), s3.region.as_str()), ("http://s3", "us-east-1"));
}

#[test]
fn variables_stay_strings_where_strings_are_meant() {
    let vars = "APP_DEMO_PASSWORD=007 APP_JWT_SECRET=true APP_S3_ENDPOINT=[x APP_S3_BUCKET=0.50 \
        APP_S3_ACCESS_KEY=1 APP_S3_SECRET_KEY=2";
    let cfg = load(None, vars, Opts::default()).unwrap();
    assert_eq!((cfg.demo_password.unwrap().expose(), cfg.jwt_secret.unwrap().expose()), ("007", "true"));
    let s3 = cfg.s3.unwrap();
    assert_eq!((s3.endpoint.as_str(), s3.bucket.as_str(), s3.access_key.expose()), ("[x", "0.50", "1"));
}

#[test]
fn errors_name_the_key_where_it_was_set() {
    let err = |toml, vars: &str| load(toml, vars, Opts::default()).unwrap_err().to_string();
    let e = err(None, "APP_BIND=nowhere");
    assert!(e.contains("\"APP_BIND\" in environment variable"), "{e}");
    let s3 = "APP_S3_ENDPOINT=e APP_S3_BUCKET=b APP_S3_ACCESS_KEY=a APP_S3_SECRET_KEY=s";
    let e = err(None, &format!("{s3} APP_S3_PATH_STYLE=maybe"));
    assert!(e.contains("\"APP_S3_PATH_STYLE\" in environment variable"), "{e}");
    let e = err(Some("max_aliases = \"many\"\n"), "");
    assert!(e.contains("\"max_aliases\" in ") && e.contains("TOML file"), "{e}");
    let e = err(Some("bnd = \"0.0.0.0:1\"\n"), "");
    assert!(e.contains("unknown key `bnd`; the keys are bind, data_dir, "), "{e}");
    let e = err(Some("webhook_poll_ms = 1\n"), "");
    assert!(e.contains("unknown key `webhook_poll_ms`"), "fixed, not a setting: {e}");
    let e = err(Some("[s3]\nendpoint = \"e\"\n"), "");
    assert!(e.contains("unknown key `s3`") && e.contains("s3_endpoint"), "keys are flat: {e}");
    let e = err(Some("max_aliases = \n"), "");
    assert!(e.contains("config file "), "{e}");
}

#[test]
fn secrets_are_not_printed() {
    let vars = "DATABASE_URL=postgres://u:hunter2@db/hsv APP_JWT_SECRET=hunter3 APP_DEMO_PASSWORD=hunter4";
    let printed = format!("{:?}", load(None, vars, Opts::default()).unwrap());
    assert!(!printed.contains("hunter") && printed.contains("[redacted]"), "{printed}");
}
