//! Issue 8: webhooks against a receiver this test runs on loopback; issue 18:
//! deliveries signed the Standard Webhooks way, verified here with the npm
//! `standardwebhooks` package (tests/node) as a receiver would.

use sea_orm::ConnectionTrait;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use tests::*;

#[derive(Clone, Default)]
pub(crate) struct Receiver {
    pub(crate) got: Arc<Mutex<Vec<(axum::http::HeaderMap, String)>>>,
    /// How many requests to answer 500 before answering 200.
    fail_first: usize,
}

pub(crate) async fn receiver(fail_first: usize) -> (String, Receiver) {
    let r = Receiver { fail_first, ..Default::default() };
    let state = r.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let state = state.clone();
            async move {
                let mut got = state.got.lock().unwrap();
                got.push((headers, body));
                if got.len() <= state.fail_first {
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    axum::http::StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, r)
}

async fn app() -> TestApp {
    TestApp::demo_with(|c| {
        // The receiver is plain http on loopback, which production refuses.
        c.webhook_allow_http = true;
        c.webhook_allow_private = true;
        c.webhook_poll_ms = 50;
        c.webhook_retry_base_ms = 100;
    })
    .await
}

const CREATE: &str =
    "mutation($u: String!, $e: [WebhookEvent!]!) { createWebhook(url: $u, events: $e) { secret webhook { id } } }";
const DELIVERIES: &str = "{ webhooks { url deliveries { id event status attempts lastStatus lastError payload } } }";

async fn wait_for(r: &Receiver, n: usize) {
    for _ in 0..200 {
        if r.got.lock().unwrap().len() >= n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the receiver got {} requests, expected {n}", r.got.lock().unwrap().len());
}

/// A household of the first village, saved with its evidence and photographed, ready to submit.
async fn ready_to_submit(app: &TestApp, verifier: &str) -> (String, String, String) {
    let d = app
        .ok(Some(verifier), "{ households(first: 1, filter: { expectedPath: [APPRAISED], hasOpenErrors: false }) { nodes { id code } } }", json!({}))
        .await;
    let (id, code) = (first_id(&d, "/households/nodes/0/id"), first_id(&d, "/households/nodes/0/code"));
    let save = "mutation($h: ID!) { saveVerification(input: { householdId: $h, version: 0, path: APPRAISED, appraisal: { confirmedOnSite: true } }) { id version } }";
    let v = app.ok(Some(verifier), save, json!({ "h": id })).await;
    app.upload_photo(verifier, &id, 11, false).await;
    (id, code, first_id(&v, "/saveVerification/id"))
}

/// `v1,<base64 HMAC-SHA256>` of `{id}.{timestamp}.{body}`, keyed with the
/// base64-decoded part of a `whsec_` secret (Standard Webhooks).
fn standard_signature(secret: &str, id: &str, ts: &str, body: &str) -> String {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut key = b64.decode(secret.strip_prefix("whsec_").expect("a whsec_ secret")).expect("standard base64");
    key.resize(64, 0);
    let ipad: Vec<u8> = key.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = key.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::new().chain_update(&ipad).chain_update(format!("{id}.{ts}.{body}")).finalize();
    format!("v1,{}", b64.encode(Sha256::new().chain_update(&opad).chain_update(inner).finalize()))
}

/// The endpoint's newest delivery once it is DELIVERED.
async fn delivered(app: &TestApp, admin: &str) -> Value {
    let mut status = Value::Null;
    for _ in 0..100 {
        let d = app.ok(Some(admin), DELIVERIES, json!({})).await;
        status = d["webhooks"][0]["deliveries"][0].clone();
        if status["status"] == "DELIVERED" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status["status"], "DELIVERED", "{status}");
    status
}

#[tokio::test]
async fn deliveries_are_signed_retried_after_failures_recorded_and_resent() {
    let app = app().await;
    let admin = app.token("admin").await;
    app.extend_look_back(&admin).await;
    let (url, rx) = receiver(2).await;
    let d = app.ok(Some(&admin), CREATE, json!({ "u": url, "e": ["VERIFICATION_SUBMITTED"] })).await;
    let secret = d["createWebhook"]["secret"].as_str().unwrap().to_owned();

    let verifier = app.token("v131126100200").await;
    let (_, code, vid) = ready_to_submit(&app, &verifier).await;
    app.ok(
        Some(&verifier),
        "mutation($id: ID!) { submitVerification(id: $id, version: 1) { status } }",
        json!({ "id": vid }),
    )
    .await;

    // Two failures, then success: three attempts of one delivery.
    wait_for(&rx, 3).await;
    let got = rx.got.lock().unwrap().clone();
    let ids: Vec<&str> = got.iter().map(|(h, _)| h["webhook-id"].to_str().unwrap()).collect();
    assert!(ids.iter().all(|i| *i == ids[0]), "retries of the same delivery keep its webhook-id");
    let (headers, body) = &got[2];
    let (id, ts) = (headers["webhook-id"].to_str().unwrap(), headers["webhook-timestamp"].to_str().unwrap());
    assert!((ts.parse::<i64>().unwrap() - chrono::Utc::now().timestamp()).abs() < 60, "Unix seconds: {ts}");
    assert_eq!(
        headers["webhook-signature"].to_str().unwrap(),
        standard_signature(&secret, id, ts, body),
        "the signature verifies with the endpoint's secret"
    );
    assert_ne!(
        headers["webhook-signature"].to_str().unwrap(),
        standard_signature("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", id, ts, body)
    );
    let payload: Value = serde_json::from_str(body).unwrap();
    assert_eq!(payload["id"], id, "the body's id is the webhook-id");
    assert_eq!(payload["event"], "VERIFICATION_SUBMITTED");
    assert_eq!(payload["data"]["householdCode"], code.as_str());
    assert_eq!(payload["data"]["status"], "SUBMITTED");
    assert!(!body.contains("idNumber"), "no personal data in the event");

    // Recorded: delivered on the third attempt.
    let status = delivered(&app, &admin).await;
    assert_eq!(status["attempts"], 3);
    assert_eq!(status["lastStatus"], 200);

    // Re-sent on request.
    app.ok(
        Some(&admin),
        "mutation($d: ID!) { redeliverWebhook(deliveryId: $d) { status } }",
        json!({ "d": status["id"] }),
    )
    .await;
    wait_for(&rx, 4).await;
    assert_eq!(rx.got.lock().unwrap()[3].1, *body, "the same body again");

    // Scraped in /metrics.
    let text = app.http.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(
        text.contains("hsv_webhook_deliveries_total{event=\"VERIFICATION_SUBMITTED\",result=\"retry\"} 2"),
        "{text}"
    );
}

#[tokio::test]
async fn nothing_is_sent_for_a_refused_or_rolled_back_change() {
    let app = app().await;
    let admin = app.token("admin").await;
    app.extend_look_back(&admin).await;
    let (url, rx) = receiver(0).await;
    app.ok(Some(&admin), CREATE, json!({ "u": url, "e": ["VERIFICATION_SUBMITTED", "VERIFICATION_APPROVED"] })).await;
    let verifier = app.token("v131126100200").await;

    // A submission refused for missing evidence (its transaction rolls back): nothing.
    let d = app
        .ok(
            Some(&verifier),
            "{ households(first: 3, filter: { expectedPath: [APPRAISED] }) { nodes { id } } }",
            json!({}),
        )
        .await;
    let bare = first_id(&d, "/households/nodes/2/id");
    let v = app
        .ok(
            Some(&verifier),
            "mutation($h: ID!) { saveVerification(input: { householdId: $h, version: 0 }) { id } }",
            json!({ "h": bare }),
        )
        .await;
    let body = app
        .gql(
            Some(&verifier),
            "mutation($id: ID!) { submitVerification(id: $id, version: 1) { status } }",
            json!({ "id": first_id(&v, "/saveVerification/id") }),
        )
        .await;
    assert!(code(&body).is_some(), "refused: {body}");

    // One record submitted, then approved by six racing requests: one wins, the
    // losers roll back after writing to the outbox, and only one event exists.
    let (_, _, vid) = ready_to_submit(&app, &verifier).await;
    app.ok(
        Some(&verifier),
        "mutation($id: ID!) { submitVerification(id: $id, version: 1) { status } }",
        json!({ "id": vid }),
    )
    .await;
    let township = app.token("t131126100").await;
    let approvals = (0..6).map(|_| {
        app.gql(
            Some(&township),
            "mutation($id: ID!) { approveVerification(id: $id, version: 2) { status } }",
            json!({ "id": vid }),
        )
    });
    let results = futures_util::future::join_all(approvals).await;
    let won = results.iter().filter(|r| r.get("errors").is_none()).count();
    assert_eq!(won, 1, "{results:#?}");

    wait_for(&rx, 2).await;
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    let events: Vec<String> = rx
        .got
        .lock()
        .unwrap()
        .iter()
        .map(|(_, b)| serde_json::from_str::<Value>(b).unwrap()["event"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(events, ["VERIFICATION_SUBMITTED", "VERIFICATION_APPROVED"]);
    assert_eq!(app.count("SELECT COUNT(*) FROM webhook_deliveries").await, 2, "no row for a refused or lost change");
}

#[tokio::test]
async fn endpoints_must_be_public_https_unless_configured() {
    let app = TestApp::demo().await;
    let admin = app.token("admin").await;
    for url in [
        "http://example.org/hook",
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://[::1]/hook",
        // Loopback and reserved space in disguise (IPv4 inside IPv6, reserved blocks).
        "https://[::127.0.0.1]/hook",
        "https://[64:ff9b::7f00:1]/hook",
        "https://[2002:7f00:1::]/hook",
        "https://0.0.0.1/hook",
        "https://198.18.0.1/hook",
        "https://240.0.0.1/hook",
        "https://[fec0::1]/hook",
        "not a url",
    ] {
        let body = app.gql(Some(&admin), CREATE, json!({ "u": url, "e": ["IMPORT_DONE"] })).await;
        assert_eq!(code(&body), Some("VALIDATION"), "{url}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "url");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM webhook_endpoints").await, 0);
}

#[tokio::test]
async fn imports_and_missed_milestones_are_reported_once() {
    let app = app().await;
    let admin = app.token("admin").await;
    let (url, rx) = receiver(0).await;
    app.ok(Some(&admin), CREATE, json!({ "u": url, "e": ["IMPORT_DONE", "MILESTONE_MISSED"] })).await;

    // The demo campaign's milestones that ended unmet (before a newer campaign exists).
    let d = app.ok(Some(&admin), "{ milestones { state } }", json!({})).await;
    let expected = d["milestones"].as_array().unwrap().iter().filter(|m| m["state"] == "MISSED").count();
    assert!(expected >= 1, "the demo has missed milestones: {d}");

    // An import into a new campaign.
    let county = app.ok(Some(&admin), "{ regions(level: COUNTY) { id } }", json!({})).await["regions"][0]["id"].clone();
    let c = app
        .ok(
            Some(&admin),
            "mutation($c: ID!) { createCampaign(name: \"复核\", countyId: $c, startsOn: \"2021-05-10\", endsOn: \"2021-05-31\") { id } }",
            json!({ "c": county }),
        )
        .await;
    let campaign = first_id(&c, "/createCampaign/id");
    let r = app
        .import(&admin, "POVERTY", "poverty.csv", fixture("gucheng-120-utf8", "poverty-households.csv"), &campaign)
        .await;
    assert_eq!(r["data"]["importReferenceFile"]["accepted"], true, "{r}");

    // The demo's 2020 milestones ended unmet: each is reported as missed, once.
    let events = || -> Vec<Value> {
        rx.got.lock().unwrap().iter().map(|(_, b)| serde_json::from_str::<Value>(b).unwrap()).collect()
    };
    let mut missed = 0;
    for _ in 0..300 {
        let ev = events();
        missed = ev.iter().filter(|e| e["event"] == "MILESTONE_MISSED").count();
        if missed >= expected && ev.iter().any(|e| e["event"] == "IMPORT_DONE") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let ev = events();
    let import = ev.iter().find(|e| e["event"] == "IMPORT_DONE").expect("an IMPORT_DONE event");
    assert_eq!(import["data"]["kind"], "POVERTY");
    assert_eq!(import["data"]["rows"], 120);
    assert_eq!(missed, expected, "one event per missed milestone: {ev:#?}");
    // Another check round (every 120 polls: 6 s here) finds them again and sends nothing new.
    tokio::time::sleep(std::time::Duration::from_secs(7)).await;
    let again = events().iter().filter(|e| e["event"] == "MILESTONE_MISSED").count();
    assert_eq!(again, expected, "a missed milestone is reported once");
}

/// tests/node, with its packages installed (`npm ci` there).
fn node_dir() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("node");
    assert!(
        dir.join("node_modules/standardwebhooks/package.json").is_file(),
        "{}/node_modules is missing: run `npm ci` in tests/node (scripts/test.sh does)",
        dir.display()
    );
    dir
}

/// Verifies a delivery with the npm `standardwebhooks` package (through
/// tests/node/verify-webhook.mjs): Some(0) verified, Some(1) refused.
async fn verify_with_npm(secret: &str, headers: &axum::http::HeaderMap, body: &str, raw: bool) -> Option<i32> {
    use tokio::io::AsyncWriteExt;
    let headers: serde_json::Map<String, Value> =
        headers.iter().map(|(k, v)| (k.as_str().to_owned(), json!(v.to_str().unwrap_or_default()))).collect();
    let input = json!({ "secret": secret, "headers": headers, "body": body, "raw": raw });
    let mut child = tokio::process::Command::new("node")
        .arg("verify-webhook.mjs")
        .current_dir(node_dir())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run node (Node.js 18 or newer): {e}"));
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input.to_string().as_bytes()).await.expect("write to node");
    drop(stdin);
    let out = child.wait_with_output().await.expect("node ran");
    let code = out.status.code();
    assert!(
        matches!(code, Some(0 | 1)),
        "verify-webhook.mjs failed ({code:?}): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    code
}

#[tokio::test]
async fn a_delivery_verifies_with_the_standardwebhooks_npm_package() {
    node_dir();
    let app = app().await;
    let admin = app.token("admin").await;
    app.extend_look_back(&admin).await;
    let (url, rx) = receiver(0).await;
    let d = app.ok(Some(&admin), CREATE, json!({ "u": url, "e": ["VERIFICATION_SUBMITTED"] })).await;
    let secret = d["createWebhook"]["secret"].as_str().unwrap().to_owned();
    // The Standard Webhooks shape: whsec_ and the standard base64 of 24 to 64 random bytes.
    let key = {
        use base64::Engine;
        let b64 = secret.strip_prefix("whsec_").unwrap_or_else(|| panic!("whsec_ secret: {secret}"));
        base64::engine::general_purpose::STANDARD.decode(b64).unwrap_or_else(|e| panic!("{secret}: {e}"))
    };
    assert!((24..=64).contains(&key.len()), "{} bytes", key.len());

    let verifier = app.token("v131126100200").await;
    let (_, _, vid) = ready_to_submit(&app, &verifier).await;
    app.ok(
        Some(&verifier),
        "mutation($id: ID!) { submitVerification(id: $id, version: 1) { status } }",
        json!({ "id": vid }),
    )
    .await;
    wait_for(&rx, 1).await;
    let (headers, body) = rx.got.lock().unwrap()[0].clone();
    assert_eq!(verify_with_npm(&secret, &headers, &body, false).await, Some(0), "the real delivery verifies");
    let tampered = body.replace("VERIFICATION_SUBMITTED", "VERIFICATION_APPROVED");
    assert_ne!(tampered, body);
    assert_eq!(verify_with_npm(&secret, &headers, &tampered, false).await, Some(1), "a tampered body does not");
    let other = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    assert_eq!(verify_with_npm(other, &headers, &body, false).await, Some(1), "nor does another secret");

    // A secret issued before issue 18 (URL-safe base64, no padding) keeps
    // working: its whole text is the key, given to the library as raw bytes.
    let status = delivered(&app, &admin).await;
    let legacy = "whsec_q-8Xl0h_3pY1eQmZ7bV2cN4tR6uW9yA0sD5fG8hJ1kL";
    app.server.state.db.execute_unprepared(&format!("UPDATE webhook_endpoints SET secret = '{legacy}'")).await.unwrap();
    app.ok(
        Some(&admin),
        "mutation($d: ID!) { redeliverWebhook(deliveryId: $d) { status } }",
        json!({ "d": status["id"] }),
    )
    .await;
    wait_for(&rx, 2).await;
    let (again, same_body) = rx.got.lock().unwrap()[1].clone();
    assert_eq!(again["webhook-id"], headers["webhook-id"], "sent again under the same webhook-id");
    assert_eq!(verify_with_npm(legacy, &again, &same_body, true).await, Some(0), "a legacy secret still verifies");
    assert_eq!(verify_with_npm(&secret, &again, &same_body, false).await, Some(1));
}
