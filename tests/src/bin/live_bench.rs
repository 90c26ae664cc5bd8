//! How long a live board waits for a change: a township board subscribed
//! with graphql-ws, a verifier's save after a quiet second, and the time
//! from the save's answer (the commit is done) to the update's arrival.
//! Measured on one API process and across two processes sharing one
//! PostgreSQL database (LISTEN/NOTIFY). Prints p50, p90 and max.
//! `cargo build --release -p api -p tests --bin api --bin live_bench && ./target/release/live_bench`
//! (needs PostgreSQL as the tests do: `TEST_PG_URL`; `BENCH_SAMPLES`, default 40 per setup).

use serde_json::{json, Value};
use std::{collections::HashMap, time::Instant};
use tests::*;

const SIGN_IN: &str = "mutation($u: String!, $p: String!) { signIn(username: $u, password: $p) { accessToken } }";
const SAVE: &str = "mutation($i: SaveVerificationInput!) { saveVerification(input: $i) { version } }";
const LIVE: &str = "subscription($r: ID!) { progressChanged(regionId: $r) { byStatus { status count } } }";
const TOWNSHIP: &str = "131126100000";

async fn token(p: &ApiProcess, user: &str) -> String {
    let d = p.gql(None, SIGN_IN, json!({ "u": user, "p": DEMO_PASSWORD })).await;
    d["data"]["signIn"]["accessToken"].as_str().expect("token").to_owned()
}

/// The township's id and its APPRAISED households with their verifier.
async fn township_households(p: &ApiProcess, admin: &str) -> (Value, Vec<(String, String)>) {
    let d = p.gql(Some(admin), "{ regions(level: TOWNSHIP) { id code } }", json!({})).await;
    let t = d["data"]["regions"].as_array().unwrap().iter().find(|r| r["code"] == TOWNSHIP).unwrap()["id"].clone();
    let q = "query($f: HouseholdFilter) { households(first: 500, filter: $f) { nodes { id village { code } } } }";
    let d = p.gql(Some(admin), q, json!({ "f": { "regionId": t, "expectedPath": ["APPRAISED"] } })).await;
    let rows = d["data"]["households"]["nodes"].as_array().unwrap().iter();
    let rows =
        rows.map(|n| (n["id"].as_str().unwrap().to_owned(), format!("v{}", n["village"]["code"].as_str().unwrap())));
    (t, rows.collect())
}

fn input(h: &str) -> Value {
    json!({ "householdId": h, "version": 0, "path": "APPRAISED", "appraisal": { "confirmedOnSite": true },
        "houseFacts": { "structure": "砖混", "floors": 1, "floorArea": 86.5, "yearBuilt": 1998, "occupants": 3 } })
}

/// Saves on `writer` one by one, each after a quiet second, and times the
/// update that the board subscribed on `reader` receives.
async fn measure(reader: &ApiProcess, writer: &ApiProcess, households: &[(String, String)], n: usize) -> Vec<f64> {
    let admin = token(reader, "admin").await;
    let (township, _) = township_households(reader, &admin).await;
    let board = token(reader, "t131126100").await;
    let mut sub =
        Subscription::start(&reader.base, Some(&board), LIVE, json!({ "r": township })).await.expect("subscribed");
    sub.next(10).await.expect("initial figures");
    let mut tokens: HashMap<String, String> = HashMap::new();
    let mut out = Vec::new();
    for (h, who) in households.iter().take(n) {
        if !tokens.contains_key(who) {
            tokens.insert(who.clone(), token(writer, who).await);
        }
        tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
        let saved = writer.gql(Some(&tokens[who]), SAVE, json!({ "i": input(h) })).await;
        let answered = Instant::now();
        assert!(saved.get("errors").is_none(), "{saved}");
        sub.next(10).await.expect("an update");
        out.push(answered.elapsed().as_secs_f64() * 1000.0);
    }
    out
}

fn report(what: &str, mut ms: Vec<f64>) {
    ms.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    println!(
        "{what}: {} updates; save answered → update received p50 {:.1} ms, p90 {:.1} ms, max {:.1} ms",
        ms.len(),
        at(0.5),
        at(0.9),
        at(1.0)
    );
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("BENCH_SAMPLES").ok().and_then(|s| s.parse().ok()).unwrap_or(40);
    let db = fresh_postgres().await;
    let secret = unique("live-bench-secret-long-enough-");
    let a = ApiProcess::start("serve-demo", &db, &secret).await;
    let b = ApiProcess::start("serve", &db, &secret).await;
    let admin = token(&a, "admin").await;
    // The look-back window open, so saves are accepted whatever today's date.
    let ms = a.gql(Some(&admin), "{ milestones { id kind } }", json!({})).await;
    let end = (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339();
    let lb =
        ms["data"]["milestones"].as_array().unwrap().iter().find(|m| m["kind"] == "LOOK_BACK").unwrap()["id"].clone();
    let q = "mutation($id: ID!, $e: DateTime) { updateMilestone(id: $id, endsAt: $e) { id } }";
    a.gql(Some(&admin), q, json!({ "id": lb, "e": end })).await;
    let (_, households) = township_households(&a, &admin).await;
    assert!(households.len() >= 2 * n, "{} households for {n} samples each", households.len());
    println!("PostgreSQL, release build, {n} saves per setup, one per second");
    report("one process", measure(&a, &a, &households[..n], n).await);
    report("two processes (save on B, board on A)", measure(&a, &b, &households[n..], n).await);
}
