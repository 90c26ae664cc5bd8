//! Test harness: starts the real API server on port 0 against a fresh database
//! (SQLite or PostgreSQL, chosen by `TEST_DATABASE`) and talks GraphQL over HTTP.

use serde_json::{json, Value};
use std::path::PathBuf;
use tokio::sync::{Mutex, OnceCell};

pub const DEMO_PASSWORD: &str = "Demo-pass-2020";
pub const PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn backend() -> Backend {
    match std::env::var("TEST_DATABASE").as_deref() {
        Ok("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    }
}

fn pg_base() -> String {
    std::env::var("TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

fn temp_dir() -> PathBuf {
    let d = std::env::temp_dir().join(unique("hsv-test-"));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

async fn pg_exec(sql: &str) {
    use sea_orm::{ConnectionTrait, Database};
    let db = Database::connect(format!("{}/postgres", pg_base())).await.expect("connect to PostgreSQL");
    db.execute_unprepared(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    db.close().await.ok();
}

/// A fresh, empty database URL (and the data dir that goes with it).
async fn fresh_database() -> (String, PathBuf) {
    let dir = temp_dir();
    match backend() {
        Backend::Sqlite => (format!("sqlite://{}/app.db?mode=rwc", dir.display()), dir),
        Backend::Postgres => {
            let name = unique("hsv_t_");
            pg_exec(&format!("CREATE DATABASE {name}")).await;
            (format!("{}/{name}", pg_base()), dir)
        }
    }
}

pub fn config(db_url: &str, data_dir: &std::path::Path) -> api::config::Config {
    let opts = api::config::Opts {
        data_dir: Some(data_dir.to_path_buf()),
        database_url: Some(db_url.to_owned()),
        demo_password: Some(DEMO_PASSWORD.into()),
        ..Default::default()
    };
    // Only these settings: a developer's APP_* variables must not change the tests.
    let mut cfg = api::config::Config::load_with_env(&opts, |_| None).expect("config");
    // The webhook worker polls the database; tests that count a request's SQL
    // statements must not see its queries. Webhook tests set their own pace.
    cfg.webhook_poll_ms = 3_600_000;
    cfg
}

/// The demo county, loaded once per test process into a template that each test copies.
static TEMPLATE: OnceCell<String> = OnceCell::const_new();
static CLONE_LOCK: Mutex<()> = Mutex::const_new(());

async fn demo_template() -> &'static str {
    TEMPLATE
        .get_or_init(|| async {
            let (url, dir) = fresh_database().await;
            let server = api::http::build(config(&url, &dir)).await.expect("build");
            api::demo::load(&server.state, &mut std::io::sink()).await.expect("demo");
            if backend() == Backend::Sqlite {
                use sea_orm::ConnectionTrait;
                server.state.db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)").await.expect("checkpoint");
            }
            server.state.db.clone().close().await.ok();
            match backend() {
                Backend::Sqlite => dir.join("app.db").display().to_string(),
                Backend::Postgres => url.rsplit('/').next().unwrap_or_default().to_owned(),
            }
        })
        .await
}

async fn demo_database() -> (String, PathBuf) {
    let template = demo_template().await;
    let dir = temp_dir();
    match backend() {
        Backend::Sqlite => {
            std::fs::copy(template, dir.join("app.db")).expect("copy template");
            (format!("sqlite://{}/app.db?mode=rwc", dir.display()), dir)
        }
        Backend::Postgres => {
            let name = unique("hsv_t_");
            let _g = CLONE_LOCK.lock().await;
            pg_exec(&format!("CREATE DATABASE {name} TEMPLATE {template}")).await;
            (format!("{}/{name}", pg_base()), dir)
        }
    }
}

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub data_dir: PathBuf,
    pub db_url: String,
    pub server: api::http::Server,
    _task: tokio::task::JoinHandle<()>,
}

impl TestApp {
    /// A server on an empty (migrated) database.
    pub async fn empty() -> Self {
        Self::empty_with(|_| {}).await
    }

    /// A server on an empty database, with its configuration changed first.
    pub async fn empty_with(tweak: impl FnOnce(&mut api::config::Config)) -> Self {
        let (url, dir) = fresh_database().await;
        Self::start(url, dir, tweak).await
    }

    /// A server on a copy of the demo county.
    pub async fn demo() -> Self {
        Self::demo_with(|_| {}).await
    }

    /// A server on a copy of the demo county whose photos go to the real S3
    /// server that scripts/test.sh starts (a bucket of its own).
    pub async fn demo_s3() -> Self {
        let var = |k: &str| {
            std::env::var(k).unwrap_or_else(|_| panic!("{k} is not set: run scripts/test.sh, which starts s3s-fs"))
        };
        let (endpoint, access, secret, root) =
            (var("TEST_S3_ENDPOINT"), var("TEST_S3_ACCESS_KEY"), var("TEST_S3_SECRET_KEY"), var("TEST_S3_ROOT"));
        let bucket = unique("b").to_lowercase();
        std::fs::create_dir_all(std::path::Path::new(&root).join(&bucket)).expect("bucket folder");
        Self::demo_with(move |c| {
            c.s3 = Some(api::config::S3Config {
                endpoint,
                bucket,
                region: "us-east-1".into(),
                access_key: api::config::Secret::new(access),
                secret_key: api::config::Secret::new(secret),
                path_style: true,
            })
        })
        .await
    }

    pub async fn demo_with(tweak: impl FnOnce(&mut api::config::Config)) -> Self {
        let (url, dir) = demo_database().await;
        Self::start(url, dir, tweak).await
    }

    async fn start(url: String, dir: PathBuf, tweak: impl FnOnce(&mut api::config::Config)) -> Self {
        // Server-side errors show in a failing test's output.
        api::cli::init_tracing(api::config::LogFormat::Text);
        let mut cfg = config(&url, &dir);
        tweak(&mut cfg);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        cfg.public_url = format!("http://{addr}");
        let (server, task) = api::http::spawn(cfg, listener).await.expect("start server");
        Self {
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            data_dir: dir,
            db_url: url,
            server,
            _task: task,
        }
    }

    /// Posts a GraphQL document; returns the whole response body.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        self.gql_in(None, token, query, variables).await
    }

    /// The same, asking for messages in `lang` (an `Accept-Language` value).
    pub async fn gql_in(&self, lang: Option<&str>, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut req = self.http.post(format!("{}/graphql", self.base)).json(&json!({
            "query": query,
            "variables": variables,
        }));
        if let Some(l) = lang {
            req = req.header("accept-language", l);
        }
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.expect("request");
        assert_ne!(resp.status().as_u16(), 500, "server answered 500");
        resp.json().await.expect("json body")
    }

    /// Data of a response that must have no errors.
    pub async fn ok(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let body = self.gql(token, query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
        body["data"].clone()
    }

    pub async fn sign_in(&self, username: &str, password: &str) -> Value {
        self.ok(None, SIGN_IN, json!({ "u": username, "p": password })).await["signIn"].clone()
    }

    /// Access token of a demo account.
    pub async fn token(&self, username: &str) -> String {
        self.sign_in(username, DEMO_PASSWORD).await["accessToken"].as_str().expect("token").to_owned()
    }

    /// SQL statements executed so far, scraped from `/metrics`.
    pub async fn statements(&self) -> u64 {
        let text = self.http.get(format!("{}/metrics", self.base)).send().await.unwrap().text().await.unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix("hsv_db_statements_total "))
            .and_then(|v| v.trim().parse().ok())
            .expect("statement counter in /metrics")
    }

    pub fn jwt_secret(&self) -> String {
        std::fs::read_to_string(self.data_dir.join("jwt-secret")).expect("secret file").trim().to_owned()
    }
}

pub const SIGN_IN: &str = "mutation($u: String!, $p: String!) { signIn(username: $u, password: $p) {
  accessToken refreshToken mustChangePassword account { username role } } }";

/// The first error's `extensions.code`, or None.
pub fn code(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["code"].as_str()
}

pub fn first_id(data: &Value, pointer: &str) -> String {
    data.pointer(pointer).and_then(Value::as_str).unwrap_or_else(|| panic!("no {pointer} in {data:#}")).to_owned()
}

/// A real JPEG like a phone's, seen small: 16-pixel blocks of seeded random
/// tones (sharp edges, mid brightness), different for every `seed`.
pub fn jpeg(width: u32, height: u32, seed: u32) -> Vec<u8> {
    let tone = |bx: u32, by: u32, c: u32| -> u8 {
        let mut z = (seed as u64) << 32 ^ (bx as u64) << 16 ^ (by as u64) << 2 ^ c as u64;
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (40 + (z ^ (z >> 31)) % 180) as u8
    };
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([tone(x / 16, y / 16, 0), tone(x / 16, y / 16, 1), tone(x / 16, y / 16, 2)])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).expect("encode jpeg");
    out.into_inner()
}

pub const REQUEST_UPLOAD: &str = "mutation($h: ID!, $k: PhotoKind!, $ct: String!, $n: Int!, $p: Boolean! = false) {
  requestPhotoUpload(householdId: $h, kind: $k, contentType: $ct, size: $n, practice: $p) { id uploadUrl maxBytes } }";
pub const CONFIRM_UPLOAD: &str =
    "mutation($t: ID!) { confirmPhotoUpload(ticketId: $t) { id kind width height sha256 } }";

impl TestApp {
    /// Asks for a ticket, PUTs the bytes, returns (ticket id, HTTP status of the PUT).
    pub async fn put_photo(
        &self,
        token: &str,
        household: &str,
        bytes: &[u8],
        content_type: &str,
        practice: bool,
    ) -> (String, u16) {
        let d = self
            .ok(
                Some(token),
                REQUEST_UPLOAD,
                json!({ "h": household, "k": "FRONT_PANORAMA", "ct": content_type, "n": bytes.len(), "p": practice }),
            )
            .await;
        let t = &d["requestPhotoUpload"];
        let url = t["uploadUrl"].as_str().unwrap();
        let mut put = self.http.put(url).header("content-type", content_type).body(bytes.to_vec());
        // Through the API the token is needed; a presigned S3 URL carries its own signature.
        if url.starts_with(&self.base) {
            put = put.bearer_auth(token);
        }
        let status = put.send().await.expect("upload").status().as_u16();
        (t["id"].as_str().unwrap().to_owned(), status)
    }

    /// The whole path the web app uses: ticket, PUT, confirm. Returns the photo.
    pub async fn upload_photo(&self, token: &str, household: &str, seed: u32, practice: bool) -> Value {
        let (ticket, status) = self.put_photo(token, household, &jpeg(640, 480, seed), "image/jpeg", practice).await;
        assert_eq!(status, 200, "upload PUT");
        self.ok(Some(token), CONFIRM_UPLOAD, json!({ "t": ticket })).await["confirmPhotoUpload"].clone()
    }

    /// Moves the demo campaign's look-back review into the future, reopening submissions.
    pub async fn extend_look_back(&self, admin: &str) {
        let d = self.ok(Some(admin), "{ milestones { id kind } }", json!({})).await;
        let id = d["milestones"].as_array().unwrap().iter().find(|m| m["kind"] == "LOOK_BACK").unwrap()["id"].clone();
        let end = (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339();
        self.ok(
            Some(admin),
            "mutation($id: ID!, $e: DateTime) { updateMilestone(id: $id, endsAt: $e) { state } }",
            json!({ "id": id, "e": end }),
        )
        .await;
    }
}

impl TestApp {
    /// Uploads a file with the GraphQL multipart request spec.
    pub async fn import(&self, token: &str, kind: &str, name: &str, bytes: Vec<u8>, campaign: &str) -> Value {
        self.import_as(Some(token), kind, name, bytes, Some(campaign)).await
    }

    /// The same, asking for the report's reasons in `lang` (an `Accept-Language` value).
    pub async fn import_in(
        &self,
        lang: &str,
        token: &str,
        kind: &str,
        name: &str,
        bytes: Vec<u8>,
        campaign: &str,
    ) -> Value {
        self.upload(Some(lang), Some(token), kind, name, bytes, Some(campaign)).await
    }

    pub async fn import_as(
        &self,
        token: Option<&str>,
        kind: &str,
        name: &str,
        bytes: Vec<u8>,
        campaign: Option<&str>,
    ) -> Value {
        self.upload(None, token, kind, name, bytes, campaign).await
    }

    async fn upload(
        &self,
        lang: Option<&str>,
        token: Option<&str>,
        kind: &str,
        name: &str,
        bytes: Vec<u8>,
        campaign: Option<&str>,
    ) -> Value {
        let operations = json!({
            "query": IMPORT,
            "variables": { "kind": kind, "file": null, "c": campaign },
        });
        let form = reqwest::multipart::Form::new()
            .text("operations", operations.to_string())
            .text("map", json!({ "0": ["variables.file"] }).to_string())
            .part("0", reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()));
        // A browser cannot send this header cross-site without a preflight; real clients add it.
        let mut req = self.http.post(format!("{}/graphql", self.base)).header("graphql-preflight", "1").multipart(form);
        if let Some(l) = lang {
            req = req.header("accept-language", l);
        }
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.expect("import request");
        assert_ne!(resp.status().as_u16(), 500);
        resp.json().await.expect("json")
    }

    /// A number from the database, for asserting that nothing changed.
    /// A text value from the database (the first column of the first row).
    pub async fn scalar_text(&self, sql: &str) -> String {
        use sea_orm::{ConnectionTrait, Statement};
        let db = &self.server.state.db;
        let row =
            db.query_one(Statement::from_string(db.get_database_backend(), sql.to_owned())).await.unwrap().unwrap();
        row.try_get_by_index::<String>(0).unwrap()
    }

    pub async fn count(&self, sql: &str) -> i64 {
        use sea_orm::{ConnectionTrait, Statement};
        let db = &self.server.state.db;
        let row =
            db.query_one(Statement::from_string(db.get_database_backend(), sql.to_owned())).await.unwrap().unwrap();
        row.try_get_by_index::<i64>(0).unwrap()
    }
}

pub const IMPORT: &str = "mutation($kind: ImportKind!, $file: Upload!, $c: ID) {
  importReferenceFile(kind: $kind, file: $file, campaignId: $c) {
    kind encoding rows accepted alreadyImported created updated unchanged superseded
    importId errors { row column reason code } flagged { rule count } notOnPovertyList notices { row column reason code } } }";

/// The repository's copy of the sample spreadsheets.
pub fn fixture(set: &str, file: &str) -> Vec<u8> {
    std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(set).join(file))
        .expect("fixture")
}

/// A graphql-transport-ws client for one subscription.
pub struct Subscription {
    ws: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
}

impl Subscription {
    /// Connects to `ws://…/graphql/ws`, authenticates in connection_init and subscribes.
    /// Err(message) when the server refuses the connection.
    pub async fn start(base: &str, token: Option<&str>, query: &str, variables: Value) -> Result<Self, String> {
        use futures_util::{SinkExt, StreamExt};
        use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};
        let url = format!("{}/graphql/ws", base.replacen("http://", "ws://", 1));
        let mut req = url.into_client_request().map_err(|e| e.to_string())?;
        req.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
        let (mut ws, _) = tokio_tungstenite::connect_async(req).await.map_err(|e| e.to_string())?;
        let payload = match token {
            Some(t) => json!({ "Authorization": format!("Bearer {t}") }),
            None => json!({}),
        };
        ws.send(Message::Text(json!({ "type": "connection_init", "payload": payload }).to_string().into()))
            .await
            .map_err(|e| e.to_string())?;
        loop {
            match tokio::time::timeout(std::time::Duration::from_secs(10), ws.next()).await {
                Ok(Some(Ok(Message::Text(t)))) => {
                    let v: Value = serde_json::from_str(&t).unwrap_or_default();
                    if v["type"] == "connection_ack" {
                        break;
                    }
                    return Err(t.to_string());
                }
                Ok(Some(Ok(Message::Close(c)))) => return Err(format!("closed: {c:?}")),
                Ok(Some(Ok(_))) => continue,
                other => return Err(format!("no ack: {other:?}")),
            }
        }
        ws.send(Message::Text(
            json!({ "id": "1", "type": "subscribe", "payload": { "query": query, "variables": variables } })
                .to_string()
                .into(),
        ))
        .await
        .map_err(|e| e.to_string())?;
        Ok(Self { ws })
    }

    /// Waits up to `secs` for the server to close the connection; its close code.
    pub async fn closed_with(&mut self, secs: u64) -> Option<u16> {
        use futures_util::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await.ok()?? {
                Ok(Message::Close(Some(frame))) => return Some(frame.code.into()),
                Ok(Message::Close(None)) => return Some(1005),
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
    }

    /// Sends another operation on the same connection under `id`.
    pub async fn send(&mut self, id: &str, query: &str, variables: Value) {
        use futures_util::SinkExt;
        use tokio_tungstenite::tungstenite::Message;
        let m = json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } });
        self.ws.send(Message::Text(m.to_string().into())).await.expect("sent");
    }

    /// The next message's payload (`next` → its payload, `error` → the errors), within `secs`.
    pub async fn next(&mut self, secs: u64) -> Option<Value> {
        self.next_for("1", secs).await
    }

    /// As `next`, for the operation sent under `id`.
    pub async fn next_for(&mut self, id: &str, secs: u64) -> Option<Value> {
        use futures_util::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let msg = tokio::time::timeout_at(deadline, self.ws.next()).await.ok()??.ok()?;
            if let Message::Text(t) = msg {
                let v: Value = serde_json::from_str(&t).ok()?;
                if v.get("id").is_some_and(|i| i != id) {
                    continue;
                }
                match v["type"].as_str() {
                    Some("next") => return Some(v["payload"].clone()),
                    Some("error") => return Some(json!({ "errors": v["payload"] })),
                    Some("complete") => return None,
                    _ => continue,
                }
            }
        }
    }
}

/// Where the `api` binary of this build is (scripts/test.sh builds it first).
pub fn api_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test exe");
    // Test binaries live in <profile>/deps, bench binaries in <profile>.
    let here = exe.parent().expect("exe dir");
    let bin = if here.ends_with("deps") { here.parent().expect("profile dir").join("api") } else { here.join("api") };
    assert!(bin.exists(), "{} is missing: run `cargo build -p api` first (scripts/test.sh does)", bin.display());
    bin
}

/// A fresh, empty PostgreSQL database, whatever TEST_DATABASE says.
pub async fn fresh_postgres() -> String {
    let name = unique("hsv_t_");
    pg_exec(&format!("CREATE DATABASE {name}")).await;
    format!("{}/{name}", pg_base())
}

/// A real `api` process; killed when dropped.
pub struct ApiProcess {
    pub base: String,
    child: std::process::Child,
}

impl ApiProcess {
    pub async fn start(subcommand: &str, db_url: &str, jwt_secret: &str) -> Self {
        Self::start_with(subcommand, db_url, jwt_secret, &[]).await
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub async fn start_with(subcommand: &str, db_url: &str, jwt_secret: &str, env: &[(&str, String)]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = temp_dir();
        let mut cmd = std::process::Command::new(api_binary());
        cmd.envs(env.iter().map(|(k, v)| (*k, v.as_str())));
        let child = cmd
            .arg(subcommand)
            .env("DATABASE_URL", db_url)
            .env("APP_BIND", format!("127.0.0.1:{port}"))
            .env("APP_DATA_DIR", &dir)
            .env("APP_JWT_SECRET", jwt_secret)
            .env("APP_DEMO_PASSWORD", DEMO_PASSWORD)
            .env("APP_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("spawn api");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        for _ in 0..600 {
            if http.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
                return Self { base, child };
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("api {subcommand} did not start at {base}");
    }

    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut req = reqwest::Client::new()
            .post(format!("{}/graphql", self.base))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request").json().await.expect("json")
    }
}

impl Drop for ApiProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
