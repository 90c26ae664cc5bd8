//! Issue 18: graphql-transport-ws close codes as the protocol names them, and
//! `/metrics` as Prometheus tools expect it (promtool clean, labels bounded).

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tests::TestApp;
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(app: &TestApp) -> Ws {
    let url = format!("{}/graphql/ws", app.base.replacen("http://", "ws://", 1));
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
    tokio_tungstenite::connect_async(req).await.expect("websocket").0
}

async fn send(ws: &mut Ws, text: String) {
    ws.send(Message::Text(text.into())).await.unwrap();
}

/// The close code the server ends with within `secs` (messages before it are skipped).
async fn close_code(ws: &mut Ws, secs: u64) -> Option<u16> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await.ok()?? {
            Ok(Message::Close(Some(f))) => return Some(f.code.into()),
            Ok(Message::Close(None)) => return Some(1005),
            Ok(_) => continue,
            Err(_) => return None,
        }
    }
}

fn init(token: Option<&str>) -> String {
    let payload = token.map_or(json!({}), |t| json!({ "Authorization": format!("Bearer {t}") }));
    json!({ "type": "connection_init", "payload": payload }).to_string()
}

#[tokio::test]
async fn websocket_close_codes_are_the_protocols() {
    let app = TestApp::demo().await;
    let admin = app.token("admin").await;
    let subscribe = json!({ "id": "1", "type": "subscribe", "payload": { "query": "subscription { __typename }" } });
    // 4403: connection_init refused (a bad token, or none at all).
    for token in [Some("not-a-token"), None] {
        let mut ws = connect(&app).await;
        send(&mut ws, init(token)).await;
        assert_eq!(close_code(&mut ws, 5).await, Some(4403), "{token:?}");
    }
    // 4401: subscribing before the handshake.
    let mut ws = connect(&app).await;
    send(&mut ws, subscribe.to_string()).await;
    assert_eq!(close_code(&mut ws, 5).await, Some(4401));
    // 4400: a message that is not the protocol's.
    let mut ws = connect(&app).await;
    send(&mut ws, "{ not json".into()).await;
    assert_eq!(close_code(&mut ws, 5).await, Some(4400));
    // 4429: a second connection_init.
    let mut ws = connect(&app).await;
    send(&mut ws, init(Some(&admin))).await;
    let ack: Value = match ws.next().await {
        Some(Ok(Message::Text(t))) => serde_json::from_str(&t).unwrap(),
        other => panic!("expected connection_ack, got {other:?}"),
    };
    assert_eq!(ack["type"], "connection_ack");
    send(&mut ws, init(Some(&admin))).await;
    assert_eq!(close_code(&mut ws, 5).await, Some(4429));
    // 4400 too: the right message types with the wrong shape.
    let mut ws = connect(&app).await;
    send(&mut ws, json!({ "type": "connection_init", "payload": "Bearer x" }).to_string()).await;
    assert_eq!(close_code(&mut ws, 5).await, Some(4400), "a string payload");
    let mut ws = connect(&app).await;
    send(&mut ws, init(Some(&admin))).await;
    ws.next().await;
    send(&mut ws, json!({ "id": "1", "type": "subscribe", "payload": {} }).to_string()).await;
    assert_eq!(close_code(&mut ws, 5).await, Some(4400), "a subscribe without a query");
    // An operation refused before it runs is one `error` message with the
    // errors (no `complete`); the connection stays open for the next one.
    let mut ws = connect(&app).await;
    send(&mut ws, init(Some(&admin))).await;
    ws.next().await;
    // An unknown field, and a query (which goes over HTTP).
    for (i, query) in ["subscription { noSuchField }", "{ __typename }"].iter().enumerate() {
        let id = format!("r{i}");
        send(&mut ws, json!({ "id": id, "type": "subscribe", "payload": { "query": query } }).to_string()).await;
        let m: Value = match tokio::time::timeout(std::time::Duration::from_secs(5), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => serde_json::from_str(&t).unwrap(),
            other => panic!("{query}: expected an error message, got {other:?}"),
        };
        assert_eq!((m["type"].as_str(), m["id"].as_str()), (Some("error"), Some(id.as_str())), "{query}: {m}");
        assert!(m["payload"][0]["message"].is_string(), "{query}: the errors as the payload: {m}");
        assert!(m["payload"][0]["extensions"]["code"].is_string(), "{query}: a code: {m}");
    }
    // No `complete` followed: the next message is the answer to a valid subscription.
    send(
        &mut ws,
        json!({ "id": "ok", "type": "subscribe", "payload": { "query": "subscription { __typename }" } }).to_string(),
    )
    .await;
    let m: Value = match tokio::time::timeout(std::time::Duration::from_secs(5), ws.next()).await {
        Ok(Some(Ok(Message::Text(t)))) => serde_json::from_str(&t).unwrap(),
        other => panic!("expected the valid subscription's answer, got {other:?}"),
    };
    assert_eq!(m["id"], "ok", "{m}");
    // 4408: no connection_init within the 10 s the server waits.
    let mut ws = connect(&app).await;
    assert_eq!(close_code(&mut ws, 15).await, Some(4408));
}

async fn scrape(app: &TestApp) -> (String, String) {
    let r = app.http.get(format!("{}/metrics", app.base)).send().await.unwrap();
    let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
    (ct, r.text().await.unwrap())
}

fn series(text: &str) -> usize {
    text.lines().filter(|l| l.starts_with("hsv_graphql_request")).count()
}

#[tokio::test]
async fn metrics_labels_are_bounded_and_promtool_finds_nothing_wrong() {
    let app = TestApp::demo().await;
    let admin = app.token("admin").await;
    // The web app's operation names are labels; the name is the document's,
    // with or without the JSON operationName.
    let county = app.ok(Some(&admin), "{ regions(level: COUNTY) { id } }", json!({})).await["regions"][0]["id"].clone();
    let board = "query Board($regionId: ID!) { progress(regionId: $regionId) { households } }";
    app.ok(Some(&admin), board, json!({ "regionId": county })).await;
    app.ok(Some(&admin), "query Zz1 { __typename }", json!({})).await;
    let (ct, text) = scrape(&app).await;
    assert_eq!(ct, "text/plain; version=0.0.4; charset=utf-8");
    assert!(text.contains("operation=\"Board\""), "{text}");
    assert!(text.contains("operation=\"other\""), "{text}");
    assert!(!text.contains("Zz1"), "an unknown name makes no series: {text}");
    // Any number of made-up names adds no series.
    let before = series(&text);
    for i in 0..25 {
        let q = format!("query Made{i}Up {{ __typename }}");
        app.http
            .post(format!("{}/graphql", app.base))
            .bearer_auth(&admin)
            .json(&json!({ "query": q, "operationName": format!("Made{i}Up") }))
            .send()
            .await
            .unwrap();
    }
    let (_, text) = scrape(&app).await;
    assert_eq!(series(&text), before, "{text}");
    for m in ["process_resident_memory_bytes ", "process_cpu_seconds_total ", "process_open_fds ", "hsv_build_info{"] {
        assert!(text.contains(m), "{m} missing: {text}");
    }
    // Prometheus' own checker (Debian package prometheus; scripts/test.sh installs it).
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool (scripts/test.sh installs the prometheus package)");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && said.trim().is_empty(), "promtool: {said}");
}

/// Behind a proxy on the same machine, the caller the proxy names is who
/// asks for /metrics, not the proxy itself.
#[tokio::test]
async fn metrics_behind_a_local_proxy_are_not_open_to_its_visitors() {
    let app = TestApp::demo_with(|c| c.trust_forwarded_for = true).await;
    let get = |xff: Option<&'static str>| {
        let mut r = app.http.get(format!("{}/metrics", app.base));
        if let Some(x) = xff {
            r = r.header("x-forwarded-for", x);
        }
        r.send()
    };
    assert_eq!(get(Some("203.0.113.9")).await.unwrap().status().as_u16(), 401);
    assert_eq!(get(Some("127.0.0.1")).await.unwrap().status().as_u16(), 200);
    assert_eq!(get(None).await.unwrap().status().as_u16(), 200);
}
