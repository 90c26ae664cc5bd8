//! Issue 8: rate limits per account and per API token, the alias limit, and
//! `/metrics` scraped after real traffic.

use serde_json::json;
use tests::*;

const ME: &str = "{ me { username } }";

async fn status_and_body(app: &TestApp, token: &str, query: &str) -> (u16, Option<String>, serde_json::Value) {
    let resp = app
        .http
        .post(format!("{}/graphql", app.base))
        .bearer_auth(token)
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let retry = resp.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    (status, retry, resp.json().await.unwrap())
}

#[tokio::test]
async fn each_account_and_token_has_its_own_rate_limit() {
    let app = TestApp::demo_with(|c| {
        c.rate_limit_account = 5;
        c.rate_limit_token = 3;
    })
    .await;
    let township = app.token("t131126100").await;
    for i in 0..5 {
        let (status, _, body) = status_and_body(&app, &township, ME).await;
        assert_eq!(status, 200, "request {i}: {body}");
    }
    let (status, retry, body) = status_and_body(&app, &township, ME).await;
    assert_eq!(status, 429);
    assert_eq!(code(&body), Some("RATE_LIMITED"));
    let after = body["errors"][0]["extensions"]["retryAfterSeconds"].as_i64().unwrap();
    assert!((1..=12).contains(&after), "a retry hint: {after}");
    assert_eq!(retry.as_deref(), Some(after.to_string().as_str()), "and the Retry-After header");

    // Another account is not affected.
    let other = app.token("t131126101").await;
    assert_eq!(status_and_body(&app, &other, ME).await.0, 200);

    // An API token has its own, lower limit.
    let admin = app.token("admin").await;
    let d = app.ok(Some(&admin), "{ regions(level: COUNTY) { id } }", json!({})).await;
    let county = d["regions"][0]["id"].clone();
    let d = app
        .ok(
            Some(&admin),
            "mutation($r: ID!) { createApiToken(name: \"board\", regionId: $r) { token } }",
            json!({ "r": county }),
        )
        .await;
    let token = d["createApiToken"]["token"].as_str().unwrap().to_owned();
    let q = "{ progress { households } }";
    for _ in 0..3 {
        assert_eq!(status_and_body(&app, &token, q).await.0, 200);
    }
    let (status, _, body) = status_and_body(&app, &token, q).await;
    assert_eq!((status, code(&body)), (429, Some("RATE_LIMITED")));
}

#[tokio::test]
async fn too_many_aliases_is_refused_with_a_code() {
    let app = TestApp::demo().await;
    let token = app.token("supervisor").await;
    let query = |n: usize| {
        format!("{{ {} }}", (0..n).map(|i| format!("a{i}: me {{ username }}")).collect::<Vec<_>>().join(" "))
    };
    let ok = app.gql(Some(&token), &query(50), json!({})).await;
    assert!(ok.get("errors").is_none(), "{ok}");
    let body = app.gql(Some(&token), &query(51), json!({})).await;
    assert_eq!(code(&body), Some("QUERY_TOO_COMPLEX"));
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("别名"), "{body}");
}

#[tokio::test]
async fn metrics_count_requests_latency_storage_and_progress() {
    let app = TestApp::demo().await;
    let supervisor = app.token("supervisor").await;
    for _ in 0..2 {
        let body = app
            .http
            .post(format!("{}/graphql", app.base))
            .bearer_auth(&supervisor)
            .json(&json!({ "query": "query Board { progress { households } }", "operationName": "Board" }))
            .send()
            .await
            .unwrap();
        assert_eq!(body.status().as_u16(), 200);
    }
    let body = app
        .http
        .post(format!("{}/graphql", app.base))
        .bearer_auth(&supervisor)
        .json(&json!({ "query": "query ApiTokens { apiTokens { id } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(body.status().as_u16(), 200);
    let verifier = app.token("v131126100200").await;
    let d = app.ok(Some(&verifier), "{ households(first: 1) { nodes { id } } }", json!({})).await;
    app.upload_photo(&verifier, d["households"]["nodes"][0]["id"].as_str().unwrap(), 3, false).await;

    let text = app.http.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
    let has = |line: &str| text.lines().any(|l| l == line);
    // Labels are the web app's operation names, read off the document.
    assert!(has("hsv_graphql_requests_total{operation=\"Board\",outcome=\"ok\"} 2"), "{text}");
    assert!(has("hsv_graphql_requests_total{operation=\"ApiTokens\",outcome=\"FORBIDDEN\"} 1"), "{text}");
    assert!(has("hsv_graphql_request_seconds_count{operation=\"Board\"} 2"), "{text}");
    assert!(text.contains("hsv_graphql_request_seconds_bucket{operation=\"Board\",le=\"+Inf\"} 2"));
    assert!(text.contains("hsv_object_store_calls_total{op=\"put\"} "), "{text}");
    assert!(text.contains("figure=\"households\"} 4553"), "{text}");
    assert!(text.contains("hsv_db_pool_connections{state=\"idle\"}"), "{text}");
}

#[tokio::test]
async fn spans_reach_an_opentelemetry_collector_when_configured() {
    // A stand-in collector: OTLP/HTTP posts protobuf to /v1/traces.
    let got: std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>> = Default::default();
    let store = got.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: axum::body::Bytes| {
            let store = store.clone();
            async move {
                store.lock().unwrap().push(body.to_vec());
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let collector = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let dir = std::env::temp_dir().join(unique("hsv-otel-"));
    std::fs::create_dir_all(&dir).unwrap();
    let db = format!("sqlite://{}/app.db?mode=rwc", dir.display());
    let api = ApiProcess::start_with(
        "serve",
        &db,
        "otel-test-secret-otel-test-secret-0123",
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", collector), ("OTEL_BSP_SCHEDULE_DELAY", "200".into())],
    )
    .await;
    let body = api.gql(None, "query Ping { campaigns { name } }", json!({})).await;
    assert_eq!(code(&body), Some("UNAUTHENTICATED"));
    // Secrets in the query text and in variables never reach the collector.
    let inline =
        "mutation InlineSignIn { signIn(username: \"nobody\", password: \"Inline-Secret-77\") { accessToken } }";
    api.gql(None, inline, json!({})).await;
    let variable = "mutation VarSignIn($p: String!) { signIn(username: \"nobody\", password: $p) { accessToken } }";
    api.gql(None, variable, json!({ "p": "Variable-Secret-42" })).await;
    api.gql(
        None,
        "mutation Refresh($r: String!) { refresh(refreshToken: $r) { accessToken } }",
        json!({ "r": "rt_Secret-Refresh-9" }),
    )
    .await;
    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    for _ in 0..150 {
        let bodies = got.lock().unwrap().clone();
        let all_three = [b"InlineSignIn".as_slice(), b"VarSignIn", b"Refresh"]
            .iter()
            .all(|op| bodies.iter().any(|b| contains(b, op)));
        if bodies.iter().any(|b| contains(b, b"hsv-api") && contains(b, b"execute")) && all_three {
            for secret in [b"Inline-Secret-77".as_slice(), b"Variable-Secret-42", b"Secret-Refresh-9"] {
                assert!(
                    !bodies.iter().any(|b| contains(b, secret)),
                    "{} reached the collector",
                    String::from_utf8_lossy(secret)
                );
            }
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no span reached the collector ({} posts)", got.lock().unwrap().len());
}

async fn campaign_for(app: &TestApp, admin: &str) -> String {
    let county = app.ok(Some(admin), "{ regions(level: COUNTY) { id } }", json!({})).await["regions"][0]["id"].clone();
    let q = "mutation($c: ID!) { createCampaign(name: \"大文件\", countyId: $c, startsOn: \"2021-05-10\", endsOn: \"2021-05-31\") { id } }";
    app.ok(Some(admin), q, json!({ "c": county })).await["createCampaign"]["id"].as_str().unwrap().to_owned()
}

/// The poverty list with note columns (备注1, 备注2, …) of cells within the
/// importer's 200-character limit, padded to more than `bytes`.
fn padded_poverty_list(bytes: usize) -> Vec<u8> {
    let text = String::from_utf8(fixture("gucheng-120-utf8", "poverty-households.csv")).unwrap();
    let rows: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
    let cell = "入户核实情况说明".repeat(24); // 192 characters, 576 bytes
    let columns = bytes / ((rows.len() - 1) * (cell.len() + 1)) + 1;
    let header: Vec<String> = (1..=columns).map(|i| format!("备注{i}")).collect();
    let notes = vec![cell.as_str(); columns].join(",");
    let mut out = format!("{},{}\n", rows[0], header.join(","));
    for r in &rows[1..] {
        out.push_str(&format!("{r},{notes}\n"));
    }
    out.into_bytes()
}

/// Issue 13: an office file of 10 MB imports through the API (uploads may use
/// the documented body limit); a plain GraphQL request is kept small; a body
/// over either limit gets HTTP 413 with PAYLOAD_TOO_LARGE naming the limit.
#[tokio::test]
async fn bodies_are_limited_by_kind_with_a_coded_error() {
    let app = TestApp::demo().await;
    let admin = app.token("admin").await;
    let campaign = campaign_for(&app, &admin).await;
    let big = padded_poverty_list(10 << 20);
    assert!(big.len() > 10 << 20);
    let r = app.import(&admin, "POVERTY", "花名册-带备注.csv", big, &campaign).await;
    let r = &r["data"]["importReferenceFile"];
    assert_eq!((r["accepted"].as_bool(), r["created"].as_i64()), (Some(true), Some(120)), "{r:#}");

    let huge = json!({ "query": "query($x: String) { me { username } }", "variables": { "x": "a".repeat(2 << 20) } });
    let resp = app.http.post(format!("{}/graphql", app.base)).bearer_auth(&admin).json(&huge).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 413);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(code(&body), Some("PAYLOAD_TOO_LARGE"), "{body}");
    assert_eq!(body["errors"][0]["extensions"]["limitBytes"], 1 << 20);

    let small = TestApp::demo_with(|c| c.max_body_bytes = 2 << 20).await;
    let admin = small.token("admin").await;
    let campaign = campaign_for(&small, &admin).await;
    let over = small.import(&admin, "POVERTY", "大.csv", padded_poverty_list(3 << 20), &campaign).await;
    assert_eq!(code(&over), Some("PAYLOAD_TOO_LARGE"), "{over}");
    assert!(over["errors"][0]["message"].as_str().unwrap().contains("2 MB"), "{over}");
}
