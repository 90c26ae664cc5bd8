//! Issue 19 (part): a read replica. A private PostgreSQL primary and a
//! streaming standby made from it with `pg_basebackup` (Debian's PostgreSQL
//! server binaries, run as the `postgres` user); the API writes to the primary
//! and answers dashboard tokens and boards from the standby, stating its lag.
//! A save shows on the token's board within seconds; when the standby stops,
//! the primary answers the same query instead of an error.

use crate::workflow::{appraised_input, SAVE};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tests::*;

/// A PostgreSQL server of our own on a loopback port; stopped when dropped.
struct Pg {
    dir: String,
    port: u16,
}

fn pg_bin(name: &str) -> String {
    let versions = std::fs::read_dir("/usr/lib/postgresql").expect("Debian PostgreSQL server packages");
    let mut v: Vec<String> =
        versions.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    v.sort_by_key(|s| s.parse::<u32>().unwrap_or(0));
    format!("/usr/lib/postgresql/{}/bin/{name}", v.last().expect("a PostgreSQL version"))
}

/// Runs a PostgreSQL tool as the `postgres` user (the server refuses root).
async fn as_postgres(tool: &str, args: &[&str]) {
    let out = tokio::process::Command::new("runuser")
        .args(["-u", "postgres", "--", &pg_bin(tool)])
        .args(args)
        .output()
        .await
        .expect("runuser");
    assert!(out.status.success(), "{tool} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Pg {
    async fn start(dir: String, port: u16) -> Self {
        let opts = format!("-p {port} -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off");
        as_postgres("pg_ctl", &["-D", &dir, "-o", &opts, "-l", &format!("{dir}.log"), "-w", "start"]).await;
        Self { dir, port }
    }

    async fn primary(root: &str) -> Self {
        let dir = format!("{root}/primary");
        as_postgres("initdb", &["-D", &dir, "-A", "trust", "-U", "postgres", "--no-sync"]).await;
        Self::start(dir, free_port()).await
    }

    async fn standby_of(primary: &Pg, root: &str) -> Self {
        let dir = format!("{root}/standby");
        let port = primary.port.to_string();
        let args = ["-h", "127.0.0.1", "-p", &port, "-U", "postgres", "-D", &dir, "-R", "-X", "stream"];
        as_postgres("pg_basebackup", &args).await;
        Self::start(dir, free_port()).await
    }

    fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    fn stop_now(&self) {
        let _ = std::process::Command::new("runuser")
            .args(["-u", "postgres", "--", &pg_bin("pg_ctl"), "-D", &self.dir, "-m", "immediate", "stop"])
            .output();
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        self.stop_now();
    }
}

const BOARD: &str = "{ progress { households byStatus { status count } } }";

/// Records in DRAFT on a board.
fn drafts(board: &Value) -> Option<i64> {
    let rows = board["data"]["progress"]["byStatus"].as_array()?;
    rows.iter().find(|s| s["status"] == "DRAFT").and_then(|s| s["count"].as_i64())
}

async fn post(base: &str, token: &str, query: &str, variables: Value) -> Value {
    let r = reqwest::Client::new()
        .post(format!("{base}/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .expect("request");
    r.json().await.expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_serves_dashboards_with_its_lag_and_the_primary_covers_for_it() {
    let root = format!("/tmp/{}", unique("hsv-replica-"));
    let primary = Pg::primary(&root).await;
    let db = "hsv";
    let created = sqlx_exec(&primary.url("postgres"), &format!("CREATE DATABASE {db}")).await;
    assert!(created.is_ok(), "{created:?}");
    let standby = Pg::standby_of(&primary, &root).await;
    let secret = unique("secret-");
    let env = [("DATABASE_READ_URL", standby.url(db))];
    let api = ApiProcess::start_with("serve-demo", &primary.url(db), &secret, &env).await;
    let admin = api.gql(None, SIGN_IN, json!({ "u": "admin", "p": DEMO_PASSWORD })).await;
    let admin = admin["data"]["signIn"]["accessToken"].as_str().unwrap().to_owned();
    let q = "{ regions(level: COUNTY) { id } }";
    let county = api.gql(Some(&admin), q, json!({})).await["data"]["regions"][0]["id"].clone();
    let t = api
        .gql(
            Some(&admin),
            "mutation($r: ID!) { createApiToken(name: \"大屏\", regionId: $r) { token } }",
            json!({ "r": county }),
        )
        .await;
    let token = t["data"]["createApiToken"]["token"].as_str().unwrap().to_owned();

    // The token's board comes from the standby, with its lag stated, once the
    // probe (every second) has measured it.
    let started = Instant::now();
    let first = loop {
        let b = post(&api.base, &token, BOARD, json!({})).await;
        if b["extensions"]["replica"]["lagMs"].is_i64() || started.elapsed() > Duration::from_secs(15) {
            break b;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(first["extensions"]["replica"]["lagMs"].as_i64().is_some_and(|l| (0..=10_000).contains(&l)), "{first}");
    assert_eq!(first["data"]["progress"]["households"], 4553, "{first}");
    let before = drafts(&first).unwrap();
    // A signed-in account's board is served there too; its other reads and all writes go to the primary.
    let mine = post(&api.base, &admin, BOARD, json!({})).await;
    assert!(mine["extensions"]["replica"].is_object(), "{mine}");
    // The web app's board, as it asks for it (web/graphql/Board.graphql), is served there too.
    let web_board =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../web/graphql/Board.graphql")).unwrap();
    let b = post(&api.base, &admin, &web_board, json!({ "regionId": county })).await;
    assert!(b.get("errors").is_none() && b["extensions"]["replica"].is_object(), "{b}");
    let other = post(&api.base, &admin, "{ households(first: 1) { totalCount } }", json!({})).await;
    assert!(other.get("extensions").is_none_or(|x| x.get("replica").is_none()), "{other}");

    // Entry is open again (the demo's look-back review ended in 2020).
    let ms = api.gql(Some(&admin), "{ milestones { id kind } }", json!({})).await;
    let look_back =
        ms["data"]["milestones"].as_array().unwrap().iter().find(|m| m["kind"] == "LOOK_BACK").unwrap().clone();
    let end = (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339();
    let q = "mutation($id: ID!, $e: DateTime) { updateMilestone(id: $id, endsAt: $e) { id } }";
    api.gql(Some(&admin), q, json!({ "id": look_back["id"], "e": end })).await;
    // A verifier saves on the primary; the token's board shows it within seconds.
    let v = api.gql(None, SIGN_IN, json!({ "u": "v131126100200", "p": DEMO_PASSWORD })).await;
    let v = v["data"]["signIn"]["accessToken"].as_str().unwrap().to_owned();
    let q = "{ households(first: 1, filter: { status: [NOT_STARTED], expectedPath: [APPRAISED] }) { nodes { id } } }";
    let h = api.gql(Some(&v), q, json!({})).await["data"]["households"]["nodes"][0]["id"].as_str().unwrap().to_owned();
    let saved = post(&api.base, &v, SAVE, json!({ "i": appraised_input(&h, 0, false) })).await;
    assert_eq!(saved["data"]["saveVerification"]["status"], "DRAFT", "{saved}");
    let at = Instant::now();
    loop {
        let b = post(&api.base, &token, BOARD, json!({})).await;
        if drafts(&b) == Some(before + 1) {
            break;
        }
        assert!(at.elapsed() < Duration::from_secs(10), "the standby never caught up: {b}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!("replica: the save showed on the token's board after {} ms", at.elapsed().as_millis());

    // The standby stops: every query is still answered, by the primary, without the replica's mark.
    standby.stop_now();
    for _ in 0..5 {
        let b = post(&api.base, &token, BOARD, json!({})).await;
        assert!(b.get("errors").is_none(), "{b}");
        assert_eq!(drafts(&b), Some(before + 1), "{b}");
        assert!(b.get("extensions").is_none_or(|x| x.get("replica").is_none()), "{b}");
    }
    drop(api);
    drop(primary);
    let _ = std::fs::remove_dir_all(&root);
}

const SIGN_IN: &str = "mutation($u: String!, $p: String!) { signIn(username: $u, password: $p) { accessToken } }";

/// One statement on a server of its own (not the suite's PostgreSQL).
async fn sqlx_exec(url: &str, sql: &str) -> Result<(), String> {
    use sea_orm::ConnectionTrait;
    let db = sea_orm::Database::connect(url).await.map_err(|e| e.to_string())?;
    db.execute_unprepared(sql).await.map_err(|e| e.to_string())?;
    db.close().await.map_err(|e| e.to_string())
}
