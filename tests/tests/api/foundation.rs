//! Issue 2: demo data, lists and pagination, DataLoaders, schema, errors, health.

use serde_json::{json, Value};
use tests::*;

const COUNTS: &str = "{
  all: households { totalCount }
  appraised: households(filter: { expectedPath: [APPRAISED] }) { totalCount }
  renovated: households(filter: { expectedPath: [RENOVATED] }) { totalCount }
  secured: households(filter: { expectedPath: [SECURED] }) { totalCount }
  townships: regions(level: TOWNSHIP) { id name code }
  villages: regions(level: VILLAGE) { id }
  campaigns { name timeZone startsOn endsOn milestones { kind startsAt endsAt state } }
}";

#[tokio::test]
async fn demo_county_has_the_pilot_figures() {
    let app = TestApp::demo().await;
    let t = app.token("admin").await;
    let d = app.ok(Some(&t), COUNTS, json!({})).await;
    assert_eq!(d["all"]["totalCount"], 4553);
    assert_eq!(d["appraised"]["totalCount"], 3473);
    assert_eq!(d["renovated"]["totalCount"], 1023);
    assert_eq!(d["secured"]["totalCount"], 57);
    let townships = d["townships"].as_array().unwrap();
    assert_eq!(townships.len(), 13);
    assert_eq!(townships[0]["name"], "郑口镇");
    assert_eq!(townships[12]["name"], "里老乡");
    let villages = d["villages"].as_array().unwrap().len();
    assert!((200..=500).contains(&villages), "{villages} villages");
    let c = &d["campaigns"][0];
    assert_eq!(c["timeZone"], "Asia/Shanghai");
    assert_eq!(c["startsOn"], "2020-05-14");
    let ms = c["milestones"].as_array().unwrap();
    let kinds: Vec<&str> = ms.iter().map(|m| m["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["TRAINING", "VERIFICATION", "LOOK_BACK"]);
    // May 14 00:00 in Asia/Shanghai is May 13 16:00 UTC; verification ends May 19 24:00.
    assert_eq!(ms[0]["startsAt"], "2020-05-13T16:00:00+00:00");
    assert_eq!(ms[1]["endsAt"], "2020-05-19T16:00:00+00:00");
    // Nothing was verified in the demo and the dates are past.
    assert_eq!(ms[1]["state"], "MISSED");
}

#[tokio::test]
async fn loading_the_demo_twice_changes_nothing() {
    let app = TestApp::demo().await;
    let mut out = Vec::new();
    api::demo::load(&app.server.state, &mut out).await.unwrap();
    assert!(String::from_utf8_lossy(&out).contains("already loaded"));
    let t = app.token("admin").await;
    let d = app.ok(Some(&t), "{ households { totalCount } }", json!({})).await;
    assert_eq!(d["households"]["totalCount"], 4553);
}

const PAGE: &str = "query($f: HouseholdFilter, $first: Int, $after: String) {
  households(first: $first, after: $after, filter: $f) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor node { id code headName township { id name } village { id name } } }
  }
}";

#[tokio::test]
async fn pages_walk_a_township_exactly_once_in_code_order() {
    let app = TestApp::demo().await;
    let t = app.token("admin").await;
    let d = app.ok(Some(&t), "{ regions(level: TOWNSHIP) { id name } }", json!({})).await;
    let township = d["regions"][3]["id"].as_str().unwrap().to_owned();
    let f = json!({ "regionId": township });
    let mut after: Option<String> = None;
    let mut codes = Vec::new();
    let total;
    loop {
        let d = app.ok(Some(&t), PAGE, json!({ "f": f, "first": 100, "after": after })).await;
        let h = &d["households"];
        let t = h["totalCount"].as_u64().unwrap();
        for e in h["edges"].as_array().unwrap() {
            assert_eq!(e["node"]["township"]["id"], township.as_str());
            codes.push(e["node"]["code"].as_str().unwrap().to_owned());
        }
        if !h["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            total = t;
            break;
        }
        after = h["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    assert!(total > 100, "a township has more than one page");
    assert_eq!(codes.len() as u64, total);
    let mut sorted = codes.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, codes, "ordered by code, no duplicates");
}

#[tokio::test]
async fn filters_by_status_path_errors_and_search() {
    let app = TestApp::demo().await;
    let t = app.token("admin").await;
    let count = |f: Value| {
        let app = &app;
        let t = &t;
        async move { app.ok(Some(t), PAGE, json!({ "f": f, "first": 50 })).await["households"].clone() }
    };
    assert_eq!(count(json!({ "status": ["NOT_STARTED"] })).await["totalCount"], 4553);
    assert_eq!(count(json!({ "status": ["SUBMITTED", "APPROVED"] })).await["totalCount"], 0);
    assert_eq!(count(json!({ "path": ["APPRAISED"] })).await["totalCount"], 0);
    assert_eq!(count(json!({ "hasOpenErrors": false })).await["totalCount"], 4553);
    assert_eq!(count(json!({ "hasOpenErrors": true })).await["totalCount"], 0);

    let by_code = count(json!({ "search": "13112601001" })).await;
    let n = by_code["totalCount"].as_u64().unwrap();
    assert!(n > 0);
    for e in by_code["edges"].as_array().unwrap() {
        assert!(e["node"]["code"].as_str().unwrap().starts_with("13112601001"));
    }
    let first_name = by_code["edges"][0]["node"]["headName"].as_str().unwrap().to_owned();
    let given: String = first_name.chars().skip(1).collect();
    let by_name = count(json!({ "search": given })).await;
    assert!(by_name["totalCount"].as_u64().unwrap() >= 1);
    for e in by_name["edges"].as_array().unwrap() {
        assert!(e["node"]["headName"].as_str().unwrap().contains(&given));
    }
    assert_eq!(count(json!({ "search": "no-such-household" })).await["totalCount"], 0);

    // As a village office searches: the code's last digits, the ID number's last four.
    let q = "query($s: String) { households(first: 500, filter: { search: $s }) { nodes { code idNumber } } }";
    let one = &app.ok(Some(&t), q, json!({ "s": "1311260100100004" })).await["households"]["nodes"][0];
    let (code, id) = (one["code"].as_str().unwrap().to_owned(), one["idNumber"].as_str().unwrap().to_owned());
    for (s, what) in [(&code[10..], "code suffix"), (&id[14..], "ID tail")] {
        let found = app.ok(Some(&t), q, json!({ "s": s })).await;
        let nodes = found["households"]["nodes"].as_array().unwrap().clone();
        assert!(nodes.iter().any(|n| n["code"] == code.as_str()), "{what} {s}: {found}");
        assert!(
            nodes
                .iter()
                .all(|n| n["code"].as_str().unwrap().contains(s) || n["idNumber"].as_str().unwrap().ends_with(s)),
            "{what} {s}: only matches"
        );
    }
}

const DEEP_PAGE: &str = "query($first: Int) {
  households(first: $first) {
    totalCount
    edges { node {
      id code headName idNumber phone size expectedPath
      village { id name code } township { id name code }
      verification { id status version verifiedBy { username } }
      photos { id kind }
      references { poverty { headName villageName } appraisal { grade } renovation { acceptedOn } }
    } }
  }
}";

// Multi-threaded, as in production: batching by time window alone would split there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_costs_the_same_few_statements_whatever_its_size() {
    let app = TestApp::demo().await;
    let t = app.token("admin").await;
    let mut costs = Vec::new();
    for first in [10, 100, 500] {
        let before = app.statements().await;
        let d = app.ok(Some(&t), DEEP_PAGE, json!({ "first": first })).await;
        let after = app.statements().await;
        assert_eq!(d["households"]["edges"].as_array().unwrap().len(), first);
        costs.push(after - before);
    }
    // The token's account (its session epoch) + count + page + regions +
    // references + photos + verifications: one each.
    assert_eq!(costs, [7, 7, 7], "statements per page of 10, 100, 500");
}

#[tokio::test]
async fn committed_schema_matches_the_code() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema.graphql");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    let current = api::graphql::sdl();
    assert!(
        committed == current,
        "schema.graphql is stale: run `cargo run -q -p api -- schema > schema.graphql` and commit it"
    );
}

#[tokio::test]
async fn bad_requests_get_coded_errors_never_500() {
    let app = TestApp::demo_with(|c| c.max_query_complexity = 600).await;
    let t = app.token("admin").await;
    let tk = Some(t.as_str());

    let syntax = app.gql(tk, "{ households { totalCount ", json!({})).await;
    assert_eq!(code(&syntax), Some("VALIDATION"));
    let unknown_field = app.gql(tk, "{ households { nope } }", json!({})).await;
    assert_eq!(code(&unknown_field), Some("VALIDATION"));
    let wrong_type = app.gql(tk, "{ households(first: \"ten\") { totalCount } }", json!({})).await;
    assert_eq!(code(&wrong_type), Some("VALIDATION"));
    let wrong_var = app.gql(tk, PAGE, json!({ "first": "x" })).await;
    assert_eq!(code(&wrong_var), Some("VALIDATION"));
    let too_many = app.gql(tk, PAGE, json!({ "first": -5 })).await;
    assert_eq!(code(&too_many), Some("VALIDATION"));
    assert_eq!(too_many["errors"][0]["extensions"]["field"], "first");
    let bad_cursor = app.gql(tk, PAGE, json!({ "after": "garbage!" })).await;
    assert_eq!(code(&bad_cursor), Some("VALIDATION"));

    let missing = format!("{{ household(id: \"Household:{}\") {{ code }} }}", uuid::Uuid::new_v4());
    assert_eq!(code(&app.gql(tk, &missing, json!({})).await), Some("NOT_FOUND"));
    let malformed_id = app.gql(tk, "{ household(id: \"42\") { code } }", json!({})).await;
    assert_eq!(code(&malformed_id), Some("VALIDATION"));
    let wrong_kind = format!("{{ household(id: \"Region:{}\") {{ code }} }}", uuid::Uuid::new_v4());
    assert_eq!(code(&app.gql(tk, &wrong_kind, json!({})).await), Some("VALIDATION"));

    let deep = format!("{{ regions {{ {} id {} }} }}", "parent { ".repeat(14), "}".repeat(14));
    assert_eq!(code(&app.gql(tk, &deep, json!({})).await), Some("QUERY_TOO_COMPLEX"));
    let complex = app.gql(tk, DEEP_PAGE, json!({ "first": 200 })).await;
    assert_eq!(code(&complex), Some("QUERY_TOO_COMPLEX"), "{complex:#}");

    // Not even a GraphQL request: HTTP 400 with the same error shape.
    let raw = app
        .http
        .post(format!("{}/graphql", app.base))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status().as_u16(), 400);
    let body: Value = raw.json().await.unwrap();
    assert_eq!(code(&body), Some("VALIDATION"));
}

#[tokio::test]
async fn health_readiness_and_graphiql() {
    let app = TestApp::empty().await;
    let get = |p: &str| app.http.get(format!("{}{p}", app.base)).send();
    let h = get("/healthz").await.unwrap();
    assert_eq!(h.status().as_u16(), 200);
    let r = get("/readyz").await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // A browser asking for a page gets GraphiQL; /graphiql is its own address too.
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let g = app.http.get(format!("{}/graphql", app.base)).header("accept", browser).send().await.unwrap();
    assert_eq!(g.status().as_u16(), 200);
    assert!(g.text().await.unwrap().to_lowercase().contains("graphiql"));
    let g = get("/graphiql").await.unwrap();
    assert!(g.text().await.unwrap().contains("/graphiql/graphiql.min.js"));
    // An empty database: no campaign yet, still a clean answer.
    let body = app.gql(None, "{ campaigns { name } }", json!({})).await;
    assert_eq!(code(&body), Some("UNAUTHENTICATED"));
}

/// "Who are you" is the first answer: without a valid token every root field
/// but sign-in says UNAUTHENTICATED, whatever its arguments, and an account
/// that must change its initial password hears PASSWORD_CHANGE_REQUIRED.
#[tokio::test]
async fn who_asks_is_checked_before_any_argument() {
    let app = TestApp::demo().await;
    for q in [
        "{ household(id: \"42\") { code } }",
        "{ households(first: -5, filter: { regionId: \"nope\" }) { totalCount } }",
        "mutation { approveVerification(id: \"nope\", version: 1) { id } }",
        "{ progress(regionId: \"nope\") { households } }",
    ] {
        let anonymous = app.gql(None, q, json!({})).await;
        assert_eq!(code(&anonymous), Some("UNAUTHENTICATED"), "{q}: {anonymous}");
        let forged = app.gql(Some("not-a-token"), q, json!({})).await;
        assert_eq!(code(&forged), Some("UNAUTHENTICATED"), "{q}: {forged}");
    }
    // A fresh account still holding its initial password may only see itself and change it.
    let admin = app.token("admin").await;
    let made = app
        .ok(
            Some(&admin),
            "mutation($r: ID!) { createAccount(username: \"fresh.one\", displayName: \"新人\", role: VERIFIER, regionId: $r) { initialPassword } }",
            json!({ "r": first_village(&app, &admin).await }),
        )
        .await;
    let pw = made["createAccount"]["initialPassword"].as_str().unwrap().to_owned();
    let fresh = app.sign_in("fresh.one", &pw).await["accessToken"].as_str().unwrap().to_owned();
    let me = app.gql(Some(&fresh), "{ me { username } }", json!({})).await;
    assert_eq!(me["data"]["me"]["username"], "fresh.one", "{me}");
    let blocked = app.gql(Some(&fresh), "{ household(id: \"42\") { code } }", json!({})).await;
    assert_eq!(code(&blocked), Some("PASSWORD_CHANGE_REQUIRED"), "{blocked}");
}

async fn first_village(app: &TestApp, token: &str) -> String {
    let d = app.ok(Some(token), "{ regions(level: VILLAGE) { id } }", json!({})).await;
    d["regions"][0]["id"].as_str().unwrap().to_owned()
}
