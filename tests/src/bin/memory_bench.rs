//! Memory under the two loads that once took the API to gigabytes: 100
//! sign-ins at once (Argon2 takes 19 MiB each), then a county's whole entry
//! run with photos at 4 workers (save, ticket, PUT, confirm for each of the
//! 4553 households) on SQLite. Prints the API process's resident memory
//! after each, its peak, and the answers by code (INTERNAL must be 0).
//! `cargo build --release -p api && cargo run --release -p tests --bin memory_bench`
//! (set `BENCH_HOUSEHOLDS` to run fewer.)

use serde_json::{json, Value};
use std::{collections::BTreeMap, sync::Mutex, time::Instant};
use tests::*;

fn rss_mb(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

const SIGN_IN: &str = "mutation($u: String!, $p: String!) { signIn(username: $u, password: $p) { accessToken } }";
const PAGE: &str = "query($a: String) { households(first: 500, after: $a) { pageInfo { hasNextPage endCursor }
  nodes { id expectedPath village { code } } } }";
const SAVE: &str = "mutation($i: SaveVerificationInput!) { saveVerification(input: $i) { version } }";

fn input(h: &str, path: &str) -> Value {
    let mut i = json!({ "householdId": h, "version": 0, "path": path,
        "houseFacts": { "structure": "砖混", "floors": 1, "floorArea": 86.5, "yearBuilt": 1998, "occupants": 3 } });
    match path {
        "RENOVATED" => i["renovation"] = json!({ "kind": "REINFORCED" }),
        "SECURED" => i["secured"] = json!({ "arrangement": "RELATIVES", "address": "本村亲属家" }),
        _ => i["appraisal"] = json!({ "confirmedOnSite": true }),
    }
    i
}

struct Tally(Mutex<BTreeMap<String, usize>>);

impl Tally {
    fn note(&self, body: &Value) {
        let code = match body["errors"][0]["extensions"]["code"].as_str() {
            Some(c) => c.to_owned(),
            None if body.get("errors").is_some() => "ERROR".into(),
            None => "ok".into(),
        };
        *self.0.lock().unwrap().entry(code).or_default() += 1;
    }
}

/// The API under test: started here, or (with `BENCH_API_URL` and
/// `BENCH_API_PID`) one already running, e.g. under a heap profiler.
struct Api {
    base: String,
    pid: u32,
    http: reqwest::Client,
    _process: Option<ApiProcess>,
}

impl Api {
    async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut req =
            self.http.post(format!("{}/graphql", self.base)).json(&json!({ "query": query, "variables": variables }));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request").json().await.unwrap_or(Value::Null)
    }
}

async fn all_households(api: &Api, admin: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let d = api.gql(Some(admin), PAGE, json!({ "a": after })).await;
        let page = &d["data"]["households"];
        for n in page["nodes"].as_array().unwrap() {
            let who = format!("v{}", n["village"]["code"].as_str().unwrap());
            let path = n["expectedPath"].as_str().unwrap_or("APPRAISED").to_owned();
            out.push((n["id"].as_str().unwrap().to_owned(), who, path));
        }
        if page["pageInfo"]["hasNextPage"] != true {
            return out;
        }
        after = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
}

/// Starts the API on a fresh SQLite file, or uses `BENCH_API_URL`/`BENCH_API_PID`.
async fn start_api(db: &str) -> Api {
    let env = [
        ("APP_RATE_LIMIT_ACCOUNT", "0".to_string()),
        ("APP_RATE_LIMIT_ANONYMOUS", "0".to_string()),
        ("APP_RATE_LIMIT_TOKEN", "0".to_string()),
    ];
    match (std::env::var("BENCH_API_URL"), std::env::var("BENCH_API_PID")) {
        (Ok(base), Ok(pid)) => Api { base, pid: pid.parse().unwrap(), http: reqwest::Client::new(), _process: None },
        _ => {
            let p = ApiProcess::start_with("serve-demo", db, &unique("bench-secret-long-enough-"), &env).await;
            Api { base: p.base.clone(), pid: p.pid(), http: reqwest::Client::new(), _process: Some(p) }
        }
    }
}

impl Api {
    async fn sign_in(&self, user: String) -> Value {
        self.gql(None, SIGN_IN, json!({ "u": user, "p": DEMO_PASSWORD })).await
    }
    async fn token(&self, user: String) -> String {
        self.sign_in(user).await["data"]["signIn"]["accessToken"].as_str().unwrap().to_owned()
    }
}

/// One hundred sign-ins at once, spread over the verifiers' accounts.
async fn sign_in_storm(api: &Api, verifiers: &[String]) {
    let tally = Tally(Mutex::new(BTreeMap::new()));
    let names: Vec<String> = verifiers.iter().cycle().take(100).cloned().collect();
    let start = Instant::now();
    let answers = futures_util::future::join_all(names.into_iter().map(|u| api.sign_in(u))).await;
    answers.iter().for_each(|a| tally.note(a));
    println!(
        "100 concurrent sign-ins: {:.1} s; RSS {:.0} MB, peak {:.0} MB; answers {:?}",
        start.elapsed().as_secs_f64(),
        rss_mb(api.pid, "VmRSS:"),
        rss_mb(api.pid, "VmHWM:"),
        tally.0.lock().unwrap()
    );
}

/// One household as a verifier enters it: save, photo ticket, PUT, confirm.
async fn enter_one(api: &Api, http: &reqwest::Client, token: &str, n: usize, h: &str, path: &str, tally: &Tally) {
    tally.note(&api.gql(Some(token), SAVE, json!({ "i": input(h, path) })).await);
    if std::env::var("BENCH_NO_PHOTOS").is_ok() {
        return;
    }
    let photo = jpeg(1280, 960, n as u32);
    let vars = json!({ "h": h, "k": "FRONT_PANORAMA", "ct": "image/jpeg", "n": photo.len() });
    let t = api.gql(Some(token), REQUEST_UPLOAD, vars).await;
    tally.note(&t);
    let Some(url) = t["data"]["requestPhotoUpload"]["uploadUrl"].as_str() else { return };
    let put = http.put(url).bearer_auth(token).header("content-type", "image/jpeg").body(photo).send().await;
    if put.map(|r| r.status().as_u16()).unwrap_or(0) != 200 {
        *tally.0.lock().unwrap().entry("PUT failed".into()).or_default() += 1;
    }
    let ticket = t["data"]["requestPhotoUpload"]["id"].clone();
    tally.note(&api.gql(Some(token), CONFIRM_UPLOAD, json!({ "t": ticket })).await);
}

/// The county's entry run: 4 workers, each household saved with a photo.
async fn entry_run(api: &Api, households: &[(String, String, String)], verifiers: &[String]) {
    let mut tokens = BTreeMap::new();
    for v in verifiers {
        tokens.insert(v.clone(), api.token(v.clone()).await);
    }
    let tally = Tally(Mutex::new(BTreeMap::new()));
    let queue = Mutex::new(households.iter().enumerate());
    let start = Instant::now();
    let worker = || async {
        let http = reqwest::Client::new();
        loop {
            let Some((n, (h, who, path))) = queue.lock().unwrap().next() else { return };
            enter_one(api, &http, &tokens[who], n, h, path, &tally).await;
        }
    };
    futures_util::future::join_all((0..4).map(|_| worker())).await;
    let secs = start.elapsed().as_secs_f64();
    let pid = api.pid;
    println!(
        "entry run, {} households with photos, 4 workers: {:.0} s ({:.1} households/s); RSS {:.0} MB \
         (anonymous {:.0} MB, file-backed {:.0} MB), peak {:.0} MB",
        households.len(),
        secs,
        households.len() as f64 / secs,
        rss_mb(pid, "VmRSS:"),
        rss_mb(pid, "RssAnon:"),
        rss_mb(pid, "RssFile:") + rss_mb(pid, "RssShmem:"),
        rss_mb(pid, "VmHWM:")
    );
    println!("answers by code: {:?}", tally.0.lock().unwrap());
}

#[tokio::main]
async fn main() {
    let dir = std::env::temp_dir().join(unique("membench-"));
    std::fs::create_dir_all(&dir).unwrap();
    let api = start_api(&format!("sqlite://{}/app.db?mode=rwc", dir.display())).await;
    let admin = api.token("admin".into()).await;
    let households = all_households(&api, &admin).await;
    let limit: usize = std::env::var("BENCH_HOUSEHOLDS").ok().and_then(|n| n.parse().ok()).unwrap_or(households.len());
    let households: Vec<_> = households.into_iter().take(limit).collect();
    let mut verifiers: Vec<String> = households.iter().map(|h| h.1.clone()).collect();
    verifiers.sort();
    verifiers.dedup();
    println!("api pid {}: {} households, {} verifiers", api.pid, households.len(), verifiers.len());
    println!("after start and demo: RSS {:.0} MB", rss_mb(api.pid, "VmRSS:"));
    sign_in_storm(&api, &verifiers).await;
    entry_run(&api, &households, &verifiers).await;
    let _ = std::fs::remove_dir_all(&dir);
}
