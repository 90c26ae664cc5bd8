//! Issue 16: what an outside review did over HTTP to take the service down or
//! read what it should not, each tried again here against the real server.

use serde_json::{json, Value};
use tests::*;

const SIGN_IN: &str = "mutation($u: String!, $p: String!) { signIn(username: $u, password: $p) { accessToken } }";

async fn post_raw(app: &TestApp, headers: &[(&str, &str)], body: Vec<u8>) -> (u16, Value) {
    let mut req = app.http.post(format!("{}/graphql", app.base)).body(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Row 1: nesting, fragments and directives are priced before anything runs.
#[tokio::test]
async fn an_exponential_query_is_refused_before_it_runs_naming_its_cost() {
    let app = TestApp::demo().await;
    let sup = app.token("supervisor").await;
    let started = std::time::Instant::now();
    let q = "{ regions { children { parent { children { parent { children { code } } } } } } }";
    let r = app.gql(Some(&sup), q, json!({})).await;
    assert_eq!(code(&r), Some("QUERY_TOO_COMPLEX"), "{r}");
    let ext = &r["errors"][0]["extensions"];
    assert!(ext["cost"].as_u64().unwrap() > ext["budget"].as_u64().unwrap(), "{ext}");
    assert_eq!(ext["reason"], "QUERY_TOO_COSTLY");
    let msg = r["errors"][0]["message"].as_str().unwrap();
    assert!(msg.contains(&ext["cost"].to_string()) && msg.contains(&ext["budget"].to_string()), "{msg}");
    assert!(r.get("data").is_none_or(Value::is_null));
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "refused at once, not after running");

    // Aliases inside fragments count each time the fragment is spread.
    let aliases: String = (0..30).map(|i| format!("a{i}: progress {{ households }} ")).collect();
    let q = format!("query {{ ...F ...G }} fragment F on QueryRoot {{ {aliases} }} fragment G on QueryRoot {{ ...F }}");
    let r = app.gql(Some(&sup), &q, json!({})).await;
    assert_eq!(r["errors"][0]["extensions"]["reason"], "TOO_MANY_ALIASES", "{r}");

    // 10,000 repeated directives: one error, not 9,999.
    let dirs: String = (0..10_000).map(|_| "@skip(if: false) ").collect();
    let r = app.gql(Some(&sup), &format!("{{ me {dirs} {{ id }} }}"), json!({})).await;
    assert_eq!(code(&r), Some("QUERY_TOO_COMPLEX"));
    assert_eq!(r["errors"].as_array().unwrap().len(), 1, "{}", r["errors"][0]);

    // What a dashboard asks for daily still runs: per-township counts.
    let d = app
        .ok(Some(&sup), "{ regions(level: TOWNSHIP) { code households(first: 0) { totalCount } } }", json!({}))
        .await;
    assert_eq!(d["regions"].as_array().unwrap().len(), 13);
}

/// Row 5: the throttle counts attempts before hashing, so a burst cannot
/// slip 30 guesses past a limit of 5.
#[tokio::test]
async fn concurrent_wrong_passwords_are_throttled_atomically() {
    let app = TestApp::demo().await;
    let tries = (0..30).map(|_| app.gql(None, SIGN_IN, json!({ "u": "admin", "p": "wrong-password-1" })));
    let answers = futures_util::future::join_all(tries).await;
    let count = |c: &str| answers.iter().filter(|a| code(a) == Some(c)).count();
    assert!(count("UNAUTHENTICATED") <= 5, "at most the 5 free attempts were checked: {}", count("UNAUTHENTICATED"));
    assert_eq!(count("UNAUTHENTICATED") + count("RATE_LIMITED"), 30);
    // And then the right password waits too.
    let r = app.gql(None, SIGN_IN, json!({ "u": "admin", "p": DEMO_PASSWORD })).await;
    assert_eq!(code(&r), Some("RATE_LIMITED"), "{r}");
}

async fn sign_in_via(app: &TestApp, user: &str, xff: &str) -> Value {
    let body =
        serde_json::to_vec(&json!({ "query": SIGN_IN, "variables": { "u": user, "p": "bad-password-9" } })).unwrap();
    post_raw(app, &[("content-type", "application/json"), ("x-forwarded-for", xff)], body).await.1
}

/// Row 6: behind a proxy, the address is the right-most hop the proxy added,
/// not whatever the client wrote at the left.
#[tokio::test]
async fn a_forged_forwarded_for_does_not_change_the_address() {
    let app = TestApp::demo_with(|c| c.trust_forwarded_for = true).await;
    for i in 1..=5 {
        let r = sign_in_via(&app, &format!("ghost{i}"), &format!("1.2.3.{i}, 203.0.113.50")).await;
        assert_eq!(code(&r), Some("UNAUTHENTICATED"));
    }
    // A new forged left-most entry does not make a new address.
    let r = sign_in_via(&app, "ghost9", "9.9.9.9, 203.0.113.50").await;
    assert_eq!(code(&r), Some("RATE_LIMITED"), "{r}");
    let addrs = app.count("SELECT COUNT(*) FROM audit_events WHERE client_addr = '203.0.113.50'").await;
    assert_eq!(addrs, 5, "the audit trail names the real address");
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_events WHERE client_addr LIKE '1.2.3.%'").await, 0);
}

/// Row 10: `%` and `_` are searched for, not wildcards.
#[tokio::test]
async fn like_wildcards_in_a_search_are_literal() {
    let app = TestApp::demo().await;
    let admin = app.token("admin").await;
    let q = "query($s: String!) { households(first: 1, filter: { search: $s }) { totalCount } }";
    for s in ["%", "_", "131126%", "%%", "1311_6"] {
        let d = app.ok(Some(&admin), q, json!({ "s": s })).await;
        assert_eq!(d["households"]["totalCount"], 0, "search {s:?}");
    }
    let d = app.ok(Some(&admin), q, json!({ "s": "131126" })).await;
    assert_eq!(d["households"]["totalCount"], 4553, "a real prefix still finds every household");
}

/// Row 11: a cell a spreadsheet would run as a formula is written as text.
#[tokio::test]
async fn csv_cells_that_look_like_formulas_are_neutralised() {
    use sea_orm::ConnectionTrait;
    let app = TestApp::demo().await;
    let db = &app.server.state.db;
    let code0 = "SELECT code FROM households ORDER BY code LIMIT 1";
    let first = app.scalar_text(code0).await;
    for (i, evil) in
        ["=HYPERLINK(\"http://x.example\",\"点我\")", "+1+1", "-2+3", "@SUM(A1)", "\tTAB"].iter().enumerate()
    {
        let sql = format!(
            "UPDATE households SET head_name = '{}' WHERE code = (SELECT code FROM households ORDER BY code LIMIT 1 OFFSET {i})",
            evil.replace('\'', "''")
        );
        db.execute_unprepared(&sql).await.unwrap();
    }
    let admin = app.token("admin").await;
    let d = app.ok(Some(&admin), "mutation { exportReport(kind: HOUSEHOLDS, format: CSV) { url } }", json!({})).await;
    let bytes = app.http.get(d["exportReport"]["url"].as_str().unwrap()).send().await.unwrap().bytes().await.unwrap();
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let names: Vec<String> = rdr.records().take(5).map(|r| r.unwrap()[1].to_owned()).collect();
    assert!(text.contains(&first));
    for n in &names {
        assert!(n.starts_with('\''), "a leading apostrophe keeps {n:?} text");
    }
    assert_eq!(names[0], "'=HYPERLINK(\"http://x.example\",\"点我\")");
}

/// Row 12: a duplicate ID in another township is counted, not named.
#[tokio::test]
async fn finding_details_name_only_households_in_scope() {
    use sea_orm::ConnectionTrait;
    let app = TestApp::demo().await;
    let db = &app.server.state.db;
    let in_town = |t: &str| {
        format!(
            "SELECT h.code FROM households h JOIN regions r ON r.id = h.township_id WHERE r.code = '{t}' ORDER BY h.code LIMIT 1"
        )
    };
    let mine = app.scalar_text(&in_town("131126100000")).await;
    let theirs = app.scalar_text(&in_town("131126101000")).await;
    db.execute_unprepared(&format!(
        "UPDATE households SET id_number = (SELECT id_number FROM households WHERE code = '{mine}') WHERE code = '{theirs}'"
    ))
    .await
    .unwrap();
    let admin = app.token("admin").await;
    let county = app.ok(Some(&admin), "{ regions(level: COUNTY) { id } }", json!({})).await["regions"][0]["id"].clone();
    app.ok(Some(&admin), "mutation($r: ID!) { checkRegion(regionId: $r) { opened } }", json!({ "r": county })).await;
    let q = "query($s: String!) { households(first: 1, filter: { search: $s }) { nodes {
        findings { rule details message } } } }";
    let town = app.token("t131126100").await;
    let d = app.ok(Some(&town), q, json!({ "s": mine })).await;
    let f = d["households"]["nodes"][0]["findings"].as_array().unwrap();
    let dup = f.iter().find(|f| f["rule"] == "DUPLICATE_ID").expect("the duplicate is found");
    assert_eq!(dup["details"]["otherCodes"], json!([]), "{dup}");
    assert_eq!(dup["details"]["otherOutsideScope"], 1);
    assert!(!dup["message"].as_str().unwrap().contains(&theirs), "{}", dup["message"]);
    // The county sees both, by code.
    let d = app.ok(Some(&admin), q, json!({ "s": mine })).await;
    let f = d["households"]["nodes"][0]["findings"].as_array().unwrap();
    let dup = f.iter().find(|f| f["rule"] == "DUPLICATE_ID").unwrap();
    assert_eq!(dup["details"]["otherCodes"], json!([theirs]));
}

/// Row 15: deleting the newest audit events is found against an anchor.
#[tokio::test]
async fn deleting_the_newest_audit_events_is_found_against_the_anchor() {
    use sea_orm::ConnectionTrait;
    let app = TestApp::demo().await;
    for u in ["admin", "supervisor", "t131126100", "v131126100200"] {
        app.token(u).await;
    }
    let metrics = app.http.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
    let line = metrics.lines().find(|l| l.starts_with("hsv_audit_head{")).expect("the head is published");
    let hash = line.split('"').nth(1).unwrap();
    let seq: i64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    let anchor = api::domain::audit::Head { seq, hash: hash.to_owned() };
    let db = &app.server.state.db;
    assert_eq!(api::domain::audit::verify_against(db, &anchor).await.unwrap(), Ok(seq as u64));
    db.execute_unprepared(&format!("DELETE FROM audit_events WHERE seq >= {}", seq - 1)).await.unwrap();
    assert!(api::domain::audit::verify_chain(db).await.unwrap().is_ok(), "what is left still links up");
    let broken = api::domain::audit::verify_against(db, &anchor).await.unwrap().unwrap_err();
    assert!(broken.reason.contains("deleted"), "{}", broken.reason);
}

/// Row 17: only requests a browser cannot forge cross-site are executed.
#[tokio::test]
async fn only_json_or_preflighted_multipart_is_executed() {
    let app = TestApp::demo().await;
    let body =
        serde_json::to_vec(&json!({ "query": SIGN_IN, "variables": { "u": "admin", "p": DEMO_PASSWORD } })).unwrap();
    for ct in [Some("text/plain"), Some("application/x-www-form-urlencoded"), None] {
        let headers: Vec<(&str, &str)> = ct.map(|c| vec![("content-type", c)]).unwrap_or_default();
        let (status, r) = post_raw(&app, &headers, body.clone()).await;
        assert_eq!(status, 415, "{ct:?}");
        assert_eq!(code(&r), Some("UNSUPPORTED_MEDIA_TYPE"));
    }
    let form = reqwest::multipart::Form::new()
        .text("operations", serde_json::to_string(&json!({ "query": "{ __typename }" })).unwrap())
        .text("map", "{}");
    let resp = app.http.post(format!("{}/graphql", app.base)).multipart(form).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 415, "multipart without a preflight-forcing header");
    let form = reqwest::multipart::Form::new()
        .text("operations", serde_json::to_string(&json!({ "query": "{ __typename }" })).unwrap())
        .text("map", "{}");
    let resp = app.http.post(format!("{}/graphql", app.base)).header("graphql-preflight", "1").multipart(form);
    assert_eq!(resp.send().await.unwrap().status().as_u16(), 200);
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'SIGN_IN'").await, 0, "nothing ran");
}

/// Row 17: introspection is for signed-in callers; token refusals echo nothing.
#[tokio::test]
async fn anonymous_callers_cannot_introspect_and_refusals_echo_nothing() {
    let app = TestApp::demo().await;
    let q = "{ __schema { queryType { name } } }";
    let anon = app.gql(None, q, json!({})).await;
    assert!(anon["data"]["__schema"].is_null() || anon.get("errors").is_some(), "{anon}");
    let admin = app.token("admin").await;
    let d = app.ok(Some(&admin), q, json!({})).await;
    assert_eq!(d["__schema"]["queryType"]["name"], "QueryRoot");
    // A token whose payload is not JSON: refused without quoting the parser.
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let forged = format!("{}.{}.{}", b64(r#"{"alg":"HS256","typ":"JWT","kid":"x"}"#), b64("{not json"), b64("sig"));
    let r = app.gql(Some(&forged), "{ me { id } }", json!({})).await;
    let text = r.to_string();
    assert_eq!(code(&r), Some("UNAUTHENTICATED"), "{r}");
    assert!(!text.contains("line") && !text.contains("column") && !text.contains("Json"), "{text}");
}

/// Row 17: /metrics behind a token; every file served with nosniff.
#[tokio::test]
async fn metrics_need_the_token_and_files_are_not_sniffed() {
    let app = TestApp::demo_with(|c| c.metrics_token = Some(api::config::Secret::new("m-token-123"))).await;
    let url = format!("{}/metrics", app.base);
    assert_eq!(app.http.get(&url).send().await.unwrap().status().as_u16(), 401);
    let ok = app.http.get(&url).bearer_auth("m-token-123").send().await.unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    let v = app.token("v131126100200").await;
    let h = first_id(
        &app.ok(Some(&v), "{ households(first: 1) { nodes { id } } }", json!({})).await,
        "/households/nodes/0/id",
    );
    app.upload_photo(&v, &h, 7, true).await;
    let d = app
        .ok(Some(&v), "query($id: ID!) { household(id: $id) { photos { url thumbnailUrl } } }", json!({ "id": h }))
        .await;
    for key in ["url", "thumbnailUrl"] {
        let resp = app.http.get(d["household"]["photos"][0][key].as_str().unwrap()).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        assert_eq!(resp.headers()["x-content-type-options"], "nosniff", "{key}");
    }
}

const LIVE: &str = "subscription($r: ID!) { progressChanged(regionId: $r) { submitted } }";

async fn county_id(app: &TestApp, token: &str) -> String {
    app.ok(Some(token), "{ regions(level: COUNTY) { id } }", json!({})).await["regions"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Row 3: a WebSocket ends with the token it was opened with.
#[tokio::test]
async fn a_websocket_closes_when_its_token_expires_or_is_revoked() {
    let app = TestApp::demo_with(|c| {
        c.access_token_ttl = 3;
        c.ws_recheck_secs = 1;
    })
    .await;
    let admin = app.token("admin").await;
    let county = county_id(&app, &admin).await;
    let mut sub = Subscription::start(&app.base, Some(&admin), LIVE, json!({ "r": county })).await.expect("subscribed");
    assert_eq!(sub.closed_with(10).await, Some(4401), "closed as Unauthorized once the access token expired");

    // A dashboard token revoked while it listens: 4403.
    let admin = app.token("admin").await;
    let d = app
        .ok(
            Some(&admin),
            "mutation($r: ID!) { createApiToken(name: \"board\", regionId: $r) { token apiToken { id } } }",
            json!({ "r": county }),
        )
        .await;
    let (token, id) = (d["createApiToken"]["token"].as_str().unwrap(), d["createApiToken"]["apiToken"]["id"].clone());
    let mut sub = Subscription::start(&app.base, Some(token), LIVE, json!({ "r": county })).await.expect("subscribed");
    let admin = app.token("admin").await;
    app.ok(Some(&admin), "mutation($id: ID!) { revokeApiToken(id: $id) { id } }", json!({ "id": id })).await;
    assert_eq!(sub.closed_with(10).await, Some(4403));
}

/// Row 3: queries and mutations do not run over the WebSocket.
#[tokio::test]
async fn only_subscriptions_run_over_the_websocket() {
    let app = TestApp::demo().await;
    let admin = app.token("admin").await;
    let county = county_id(&app, &admin).await;
    let mut sub = Subscription::start(&app.base, Some(&admin), LIVE, json!({ "r": county })).await.expect("subscribed");
    let before = app.count("SELECT COUNT(*) FROM audit_events").await;
    sub.send("2", "mutation { signOut(refreshToken: \"rt_x\") }", json!({})).await;
    let answer = sub.next_for("2", 5).await.expect("an answer");
    let errors =
        if answer.get("errors").is_some() { answer["errors"].clone() } else { answer["payload"]["errors"].clone() };
    assert_eq!(errors[0]["extensions"]["reason"], "WS_SUBSCRIPTIONS_ONLY", "{answer}");
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_events").await, before);
    // Reusing a live subscription's id is the protocol's 4409.
    sub.send("1", LIVE, json!({ "r": county })).await;
    assert_eq!(sub.closed_with(5).await, Some(4409));
}

/// Row 16: a presigned PUT still valid after confirmation cannot swap the
/// checked photo: what was examined is kept under a key no link names.
#[tokio::test]
async fn a_confirmed_photo_cannot_be_swapped_through_its_upload_link() {
    for app in [TestApp::demo().await, TestApp::demo_s3().await] {
        let v = app.token("v131126100200").await;
        let h = first_id(
            &app.ok(Some(&v), "{ households(first: 1) { nodes { id } } }", json!({})).await,
            "/households/nodes/0/id",
        );
        let first = jpeg(640, 480, 11);
        let mut second = first.clone(); // same size: only the content differs
        second[first.len() / 2] ^= 0xff;
        let d = app
            .ok(
                Some(&v),
                REQUEST_UPLOAD,
                json!({ "h": h, "k": "FRONT_PANORAMA", "ct": "image/jpeg", "n": first.len() }),
            )
            .await;
        let (ticket, url) = (d["requestPhotoUpload"]["id"].clone(), d["requestPhotoUpload"]["uploadUrl"].clone());
        let put = |bytes: Vec<u8>| {
            let mut req = app.http.put(url.as_str().unwrap()).header("content-type", "image/jpeg").body(bytes);
            if url.as_str().unwrap().starts_with(&app.base) {
                req = req.bearer_auth(&v);
            }
            req.send()
        };
        assert_eq!(put(first.clone()).await.unwrap().status().as_u16(), 200);
        let photo = app.ok(Some(&v), CONFIRM_UPLOAD, json!({ "t": ticket })).await["confirmPhotoUpload"].clone();
        let _ = put(second).await; // accepted by S3 (the link is still valid) or refused by the API
        let d = app.ok(Some(&v), "query($id: ID!) { household(id: $id) { photos { url } } }", json!({ "id": h })).await;
        let body = app.http.get(d["household"]["photos"][0]["url"].as_str().unwrap()).send().await.unwrap();
        let body = body.bytes().await.unwrap();
        use sha2::Digest;
        assert_eq!(hex::encode(sha2::Sha256::digest(&body)), photo["sha256"].as_str().unwrap());
        assert_eq!(&body[..], &first[..], "the examined bytes are what is served");
    }
}

/// Row 9: saves, photo tickets and sign-ins at once; on SQLite every write
/// queues at the one gate, so none fails for the server's own contention.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writes_of_every_kind_never_fail_internally() {
    let app = TestApp::demo().await;
    let admin = app.token("admin").await;
    let q = "{ households(first: 96, filter: { expectedPath: [APPRAISED], status: [NOT_STARTED] }) {
      nodes { id village { code } } } }";
    let before = app.count("SELECT COUNT(*) FROM verifications").await as usize;
    let d = app.ok(Some(&admin), q, json!({})).await;
    let mut tokens = std::collections::HashMap::new();
    let mut jobs = Vec::new();
    for n in d["households"]["nodes"].as_array().unwrap() {
        let who = format!("v{}", n["village"]["code"].as_str().unwrap());
        if !tokens.contains_key(&who) {
            tokens.insert(who.clone(), app.token(&who).await);
        }
        jobs.push((n["id"].as_str().unwrap().to_owned(), who));
    }
    let work = jobs.iter().enumerate().map(|(i, (h, who))| {
        let (app, token) = (&app, tokens[who].clone());
        async move {
            let input = crate::workflow::appraised_input(h, 0, false);
            let save = app.gql(Some(&token), crate::workflow::SAVE, json!({ "i": input }));
            let ticket = app.gql(
                Some(&token),
                REQUEST_UPLOAD,
                json!({ "h": h, "k": "FRONT_PANORAMA", "ct": "image/jpeg", "n": 1000 + i }),
            );
            let sign_in = app.gql(None, SIGN_IN, json!({ "u": who, "p": DEMO_PASSWORD }));
            let (a, b, c) = tokio::join!(save, ticket, sign_in);
            [a, b, c]
        }
    });
    let answers: Vec<Value> = futures_util::future::join_all(work).await.into_iter().flatten().collect();
    let failed: Vec<&Value> = answers.iter().filter(|a| a.get("errors").is_some()).collect();
    assert!(failed.is_empty(), "{} of {} failed, e.g. {}", failed.len(), answers.len(), failed[0]);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM verifications").await as usize,
        before + jobs.len(),
        "every save is there"
    );
}
