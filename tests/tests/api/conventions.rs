//! Issue 18: what dashboard builders' own tools expect of the server — GraphQL
//! over HTTP (media types, status codes, GET), read-only dashboard tokens on
//! every mutation, graphql-transport-ws close codes, bounded metrics labels.

use serde_json::{json, Value};
use tests::{code, TestApp};

const INTROSPECT_MUTATIONS: &str = "{ __schema {
  mutationType { fields { name args { name type { ...T } } type { ...T } } }
  types { name kind inputFields { name type { ...T } } enumValues { name } }
} }
fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }";

/// A literal of the type `t` (required fields of input objects only).
fn literal(t: &Value, types: &[Value]) -> String {
    match t["kind"].as_str().unwrap() {
        "NON_NULL" => literal(&t["ofType"], types),
        "LIST" => format!("[{}]", literal(&t["ofType"], types)),
        "ENUM" => {
            let def = types.iter().find(|d| d["name"] == t["name"]).unwrap();
            def["enumValues"][0]["name"].as_str().unwrap().to_owned()
        }
        "INPUT_OBJECT" => {
            let def = types.iter().find(|d| d["name"] == t["name"]).unwrap();
            let fields: Vec<String> = def["inputFields"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["type"]["kind"] == "NON_NULL")
                .map(|f| format!("{}: {}", f["name"].as_str().unwrap(), literal(&f["type"], types)))
                .collect();
            format!("{{ {} }}", fields.join(", "))
        }
        _ => match t["name"].as_str().unwrap() {
            "Int" => "1".into(),
            "Float" => "1.5".into(),
            "Boolean" => "true".into(),
            "DateTime" => "\"2030-01-01T00:00:00Z\"".into(),
            "Date" | "NaiveDate" => "\"2030-01-01\"".into(),
            "Upload" => "\"0\"".into(),
            _ => "\"x\"".into(),
        },
    }
}

fn is_composite(t: &Value) -> bool {
    match t["kind"].as_str().unwrap() {
        "NON_NULL" | "LIST" => is_composite(&t["ofType"]),
        k => matches!(k, "OBJECT" | "INTERFACE" | "UNION"),
    }
}

/// Every mutation of the schema, signing in and out included, refuses a
/// dashboard token before it runs, and changes nothing.
#[tokio::test]
async fn a_dashboard_token_is_refused_on_every_mutation() {
    let app = TestApp::demo().await;
    let admin = app.token("admin").await;
    let county = app.ok(Some(&admin), "{ regions(level: COUNTY) { id } }", json!({})).await["regions"][0]["id"].clone();
    let made = app
        .ok(
            Some(&admin),
            "mutation($r: ID!) { createApiToken(name: \"看板\", regionId: $r) { token } }",
            json!({ "r": county }),
        )
        .await;
    let token = made["createApiToken"]["token"].as_str().unwrap().to_owned();
    let schema = app.ok(Some(&admin), INTROSPECT_MUTATIONS, json!({})).await;
    let types = schema["__schema"]["types"].as_array().unwrap().clone();
    let mutations = schema["__schema"]["mutationType"]["fields"].as_array().unwrap().clone();
    assert!(mutations.len() > 20, "the whole mutation list: {}", mutations.len());
    let before = app.count("SELECT COUNT(*) FROM audit_events").await;
    for m in &mutations {
        let name = m["name"].as_str().unwrap();
        let args: Vec<String> = m["args"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["type"]["kind"] == "NON_NULL")
            .map(|a| format!("{}: {}", a["name"].as_str().unwrap(), literal(&a["type"], &types)))
            .collect();
        let args = if args.is_empty() { String::new() } else { format!("({})", args.join(", ")) };
        let selection = if is_composite(&m["type"]) { " { __typename }" } else { "" };
        let doc = format!("mutation {{ {name}{args}{selection} }}");
        let r = app.gql(Some(&token), &doc, json!({})).await;
        assert_eq!(code(&r), Some("FORBIDDEN"), "{doc}: {r}");
        assert_eq!(r["errors"][0]["extensions"]["reason"], "TOKEN_READ_ONLY", "{doc}: {r}");
        assert_eq!(r["errors"][0]["path"], json!([name]), "{doc}: {r}");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_events").await, before, "nothing was written");
    // The token still reads.
    app.ok(Some(&token), "{ households(first: 1) { totalCount } }", json!({})).await;
}

/// A GraphQL request as a tool sends it: `accept` and the raw body.
async fn post(app: &TestApp, accept: Option<&str>, body: &str) -> (u16, String, Value) {
    let mut req = app.http.post(format!("{}/graphql", app.base)).header("content-type", "application/json");
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    let resp = req.body(body.to_owned()).send().await.unwrap();
    let status = resp.status().as_u16();
    let ct = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, ct, resp.json().await.unwrap_or(Value::Null))
}

const GRJ: &str = "application/graphql-response+json";

#[tokio::test]
async fn graphql_over_http_status_codes_and_media_types() {
    let app = TestApp::demo().await;
    let q = r#"{"query":"{ __typename }"}"#;
    let (s, ct, b) = post(&app, Some(GRJ), q).await;
    assert_eq!((s, ct.as_str()), (200, "application/graphql-response+json; charset=utf-8"));
    assert_eq!(b["data"]["__typename"], "QueryRoot");
    for accept in [None, Some("*/*"), Some("application/json")] {
        let (s, ct, _) = post(&app, accept, q).await;
        assert_eq!((s, ct.as_str()), (200, "application/json; charset=utf-8"), "{accept:?}");
    }
    assert_eq!(post(&app, Some("text/csv"), q).await.0, 406);
    // Request errors: 400 and no `data` under the new media type; 200 under
    // application/json (older clients), still without `data`.
    for body in [r#"{"query":"{"}"#, r#"{"query":"{ noSuchField }"}"#, r#"{"query":"query($id: ID!) { __typename }"}"#]
    {
        let (s, _, b) = post(&app, Some(GRJ), body).await;
        assert_eq!(s, 400, "{body}: {b}");
        assert!(b.get("data").is_none() && b["errors"].is_array(), "{body}: {b}");
        let (s, _, b) = post(&app, Some("application/json"), body).await;
        assert_eq!(s, 200, "{body}: {b}");
        assert!(b.get("data").is_none(), "{body}: {b}");
    }
    // Not a GraphQL request at all: 400 whatever the client accepts.
    for body in ["{}", r#"{"query":1}"#, r#"{"query":"{ a }","variables":"x"}"#, "[]", "{ \"not json"] {
        for accept in [GRJ, "application/json"] {
            let (s, _, b) = post(&app, Some(accept), body).await;
            assert_eq!((s, code(&b)), (400, Some("VALIDATION")), "{body} {accept}: {b}");
        }
    }
    // A field error after execution began keeps `data` and 200.
    let (s, _, b) = post(&app, Some(GRJ), r#"{"query":"{ me { username } }"}"#).await;
    assert_eq!((s, code(&b)), (200, Some("UNAUTHENTICATED")), "{b}");
    assert!(b.get("data").is_some(), "{b}");
}

/// What the spec checks before anything runs is checked before anything runs:
/// our own scalars' variables too; the schema needs a signed-in caller; a
/// body in another charset is refused rather than misread.
#[tokio::test]
async fn requests_are_refused_whole_before_execution() {
    let app = TestApp::demo().await;
    let admin = app.token("admin").await;
    let county = app.ok(Some(&admin), "{ regions(level: COUNTY) { id } }", json!({})).await["regions"][0]["id"].clone();
    let two = "mutation($r: ID!, $e: DateTime) {
      a: createApiToken(name: \"a\", regionId: $r) { token }
      b: createApiToken(name: \"b\", regionId: $r, expiresAt: $e) { token } }";
    let tokens = || app.ok(Some(&admin), "{ apiTokens { id } }", json!({}));
    let before = tokens().await["apiTokens"].as_array().unwrap().len();
    for bad in [json!("not-a-date"), json!(5), json!("2030-13-45T00:00:00Z")] {
        let body = json!({ "query": two, "variables": { "r": county, "e": bad } }).to_string();
        let resp = app
            .http
            .post(format!("{}/graphql", app.base))
            .header("content-type", "application/json")
            .header("accept", GRJ)
            .bearer_auth(&admin)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 400, "{bad}");
        let b: Value = resp.json().await.unwrap();
        assert!(b.get("data").is_none(), "{b}");
        assert_eq!((code(&b), b["errors"][0]["extensions"]["field"].as_str()), (Some("VALIDATION"), Some("e")), "{b}");
    }
    assert_eq!(tokens().await["apiTokens"].as_array().unwrap().len(), before, "neither token was made");
    // A syntax error is one short sentence with its place, however long the line.
    let long = format!("{{ __typename {} ", "a ".repeat(5000));
    let (s, _, b) = post(&app, Some(GRJ), &json!({ "query": long }).to_string()).await;
    assert_eq!((s, b["errors"][0]["extensions"]["reason"].as_str()), (400, Some("SYNTAX_ERROR")), "{b}");
    let m = b["errors"][0]["message"].as_str().unwrap();
    assert!(m.contains("第 1 行") && m.chars().count() < 300, "{m}");
    // Anonymous callers are told to sign in, not handed a null schema.
    let anon = app.gql(None, "{ __schema { queryType { name } } }", json!({})).await;
    assert_eq!(code(&anon), Some("UNAUTHENTICATED"), "{anon}");
    assert!(app.ok(Some(&admin), "{ __schema { queryType { name } } }", json!({})).await["__schema"].is_object());
    // JSON is UTF-8.
    let latin1 = app
        .http
        .post(format!("{}/graphql", app.base))
        .header("content-type", "application/json; charset=latin1")
        .body(r#"{"query":"{ __typename }"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(latin1.status().as_u16(), 415);
    let utf8 = post(&app, None, r#"{"query":"{ __typename }"}"#).await;
    assert_eq!(utf8.0, 200);
}

#[tokio::test]
async fn get_runs_queries_refuses_mutations_and_serves_graphiql_to_browsers() {
    let app = TestApp::demo().await;
    let admin = app.token("admin").await;
    let url = |q: &str| format!("{}/graphql?query={}", app.base, urlencode(q));
    let get = |u: String, accept: &'static str| app.http.get(u).header("accept", accept).bearer_auth(&admin).send();
    let r = get(url("{ households(first: 1) { totalCount } }"), "application/json").await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let b: Value = r.json().await.unwrap();
    assert!(b["data"]["households"]["totalCount"].as_u64().unwrap() > 300, "{b}");
    let vars = format!(
        "{}&variables={}",
        url("query($n: String!) { __type(name: $n) { name } }"),
        urlencode(r#"{"n":"Household"}"#)
    );
    let b: Value = get(vars, GRJ).await.unwrap().json().await.unwrap();
    assert_eq!(b["data"]["__type"]["name"], "Household", "{b}");
    let before = app.count("SELECT COUNT(*) FROM audit_events").await;
    let r = get(url("mutation { signOut(refreshToken: \"rt_x\") }"), "application/json").await.unwrap();
    assert_eq!(r.status().as_u16(), 405);
    assert_eq!(r.headers()["allow"], "POST");
    let b: Value = r.json().await.unwrap();
    assert_eq!(code(&b), Some("METHOD_NOT_ALLOWED"));
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_events").await, before);
    assert_eq!(get(format!("{}/graphql", app.base), "application/json").await.unwrap().status().as_u16(), 400);
    let put = app.http.put(format!("{}/graphql", app.base)).send().await.unwrap();
    assert_eq!((put.status().as_u16(), put.headers()["allow"].to_str().unwrap()), (405, "GET, POST"));
    assert_eq!(code(&put.json().await.unwrap()), Some("METHOD_NOT_ALLOWED"));
    // A browser gets GraphiQL, with every file from this server.
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let page = get(format!("{}/graphql", app.base), browser).await.unwrap().text().await.unwrap();
    assert!(page.contains("<div id=\"graphiql\">"), "{page}");
    let sources: Vec<&str> = page.split("src=\"").skip(1).chain(page.split("href=\"").skip(1)).collect();
    assert!(sources.len() >= 5, "{page}");
    for s in sources {
        let path = s.split('"').next().unwrap();
        assert!(path.starts_with("/graphiql/"), "served here, not from a CDN: {path}");
        let r = app.http.get(format!("{}{path}", app.base)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200, "{path}");
        assert!(r.bytes().await.unwrap().len() > 100, "{path}");
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
