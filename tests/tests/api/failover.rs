//! Issue 19 (first part): two API processes behind HAProxy on loopback, one
//! killed with SIGKILL mid-way through a batch of saves that carry
//! idempotency keys and are retried as a verifier's outbox retries them:
//! every acknowledged save is in the database exactly once.

use crate::workflow::appraised_input;
use serde_json::{json, Value};
use std::time::Duration;
use tests::*;

const SIGN_IN: &str = "mutation($u: String!, $p: String!) { signIn(username: $u, password: $p) { accessToken } }";
const SAVE: &str = "mutation($i: SaveVerificationInput!) { saveVerification(input: $i) { id version } }";

/// HAProxy (Debian package; scripts/test.sh installs it) in front of `servers`.
struct Haproxy {
    base: String,
    child: std::process::Child,
}

impl Haproxy {
    async fn start(servers: &[&str]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let lines: Vec<String> = servers
            .iter()
            .enumerate()
            .map(|(i, s)| format!("  server api{i} {} check inter 300 fall 1 rise 2", s.trim_start_matches("http://")))
            .collect();
        let cfg = format!(
            "defaults\n  mode http\n  timeout connect 1s\n  timeout client 30s\n  timeout server 30s\n  retries 3\n  \
             option redispatch\nfrontend web\n  bind 127.0.0.1:{port}\n  default_backend api\nbackend api\n  \
             balance roundrobin\n  option httpchk GET /readyz\n{}\n",
            lines.join("\n")
        );
        let path = std::env::temp_dir().join(format!("{}.cfg", unique("haproxy-")));
        std::fs::write(&path, cfg).unwrap();
        let child = std::process::Command::new("haproxy")
            .args(["-db", "-f"])
            .arg(&path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("haproxy (Debian package haproxy; scripts/test.sh installs it)");
        let base = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if reqwest::get(format!("{base}/readyz")).await.is_ok_and(|r| r.status().is_success()) {
                return Self { base, child };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("haproxy did not start at {base}");
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Posts through the balancer until an answer comes that is not a lost
/// request (connection reset, 502/503 while a process is gone); Some(data)
/// for an acknowledged save, None if none came within the tries.
async fn send_until_answered(http: &reqwest::Client, base: &str, token: &str, vars: &Value) -> Option<Value> {
    for _ in 0..50 {
        let sent = http
            .post(format!("{base}/graphql"))
            .bearer_auth(token)
            .json(&json!({ "query": SAVE, "variables": vars }))
            .send()
            .await;
        if let Ok(r) = sent {
            if r.status().is_success() {
                let body: Value = r.json().await.unwrap_or_default();
                assert!(body.get("errors").is_none(), "a coded refusal, not a lost request: {body}");
                return Some(body["data"]["saveVerification"].clone());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

async fn token(p: &ApiProcess, user: &str) -> String {
    let d = p.gql(None, SIGN_IN, json!({ "u": user, "p": DEMO_PASSWORD })).await;
    d["data"]["signIn"]["accessToken"].as_str().expect("signed in").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_killed_behind_the_balancer_loses_no_acknowledged_save() {
    // Always PostgreSQL: the processes share it.
    let db = fresh_postgres().await;
    let secret = unique("secret-shared-by-both-processes-");
    let a = ApiProcess::start("serve-demo", &db, &secret).await;
    let b = ApiProcess::start("serve", &db, &secret).await;
    let lb = Haproxy::start(&[&a.base, &b.base]).await;
    let admin = token(&b, "admin").await;
    let ms = b.gql(Some(&admin), "{ milestones { id kind } }", json!({})).await;
    let look_back = ms["data"]["milestones"].as_array().unwrap().iter().find(|m| m["kind"] == "LOOK_BACK").unwrap();
    let end = (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339();
    let q = "mutation($id: ID!, $e: DateTime) { updateMilestone(id: $id, endsAt: $e) { id } }";
    b.gql(Some(&admin), q, json!({ "id": look_back["id"], "e": end })).await;
    let verifier = token(&b, "v131126100200").await;
    let q = "{ households(first: 40, filter: { status: [NOT_STARTED], expectedPath: [APPRAISED] }) { nodes { id } } }";
    let found = b.gql(Some(&verifier), q, json!({})).await;
    let households: Vec<String> = found["data"]["households"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(households.len() >= 20, "{found}");

    // Six saves in flight at a time, as six verifiers' phones; a third of the
    // way through, one process dies without a chance to finish anything, so
    // some requests are cut while it holds them.
    let http = reqwest::Client::new();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let kill_at = households.len() / 3;
    let (watch, pid) = (done.clone(), a.pid());
    let killer = tokio::spawn(async move {
        while watch.load(std::sync::atomic::Ordering::SeqCst) < kill_at {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        std::process::Command::new("kill").args(["-9", &pid.to_string()]).status().unwrap().success()
    });
    let saves = households.iter().enumerate().map(|(i, h)| {
        let (http, base, verifier, done) = (&http, &lb.base, &verifier, done.clone());
        async move {
            let mut input = appraised_input(h, 0, false);
            input["idempotencyKey"] = json!(format!("failover-{i}"));
            let saved = send_until_answered(http, base, verifier, &json!({ "i": input })).await;
            done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            (h.clone(), saved.unwrap_or_else(|| panic!("save {i} was never answered")))
        }
    });
    use futures_util::StreamExt;
    let acknowledged: Vec<(String, Value)> = futures_util::stream::iter(saves).buffer_unordered(6).collect().await;
    assert!(killer.await.unwrap(), "the process was killed");
    assert_eq!(acknowledged.len(), households.len());
    let gone = reqwest::get(format!("{}/healthz", a.base)).await;
    assert!(gone.is_err(), "the killed process is gone");

    // Each acknowledged save is there once: one verification at version 1,
    // one VERIFICATION_SAVED event, whichever process answered.
    let q = "query($id: ID!) { household(id: $id) { verification { id version } history { nodes { action } } } }";
    for (h, ack) in &acknowledged {
        let d = b.gql(Some(&verifier), q, json!({ "id": h })).await;
        let hh = &d["data"]["household"];
        assert_eq!(hh["verification"]["id"], ack["id"], "{d}");
        assert_eq!(hh["verification"]["version"], 1, "{d}");
        let saves = hh["history"]["nodes"].as_array().unwrap().iter().filter(|e| e["action"] == "VERIFICATION_SAVED");
        assert_eq!(saves.count(), 1, "{d}");
    }
}
