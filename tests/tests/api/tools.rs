//! Issue 18: the tools a dashboard builder brings, run against the real
//! server: graphql-http's audit, graphql-js's standard introspection compared
//! with the committed schema.graphql, GraphQL Code Generator and Python gql.
//! scripts/test.sh installs them (`npm ci` in tests/node, a venv with gql).

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use tests::TestApp;
use tokio::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// Runs `node tests/node/<script> args…`; (success, everything it printed).
/// Asynchronously: the server under test runs on this test's own runtime.
async fn node(script: &str, args: &[&str]) -> (bool, String) {
    let dir = repo().join("tests/node");
    assert!(dir.join("node_modules").is_dir(), "run `npm ci` in tests/node first (scripts/test.sh does)");
    let out = Command::new("node").arg(dir.join(script)).args(args).output().await.expect("node");
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), said)
}

/// A read-only dashboard token for the whole county.
async fn dashboard_token(app: &TestApp, admin: &str) -> String {
    let county = app.ok(Some(admin), "{ regions(level: COUNTY) { id } }", json!({})).await["regions"][0]["id"].clone();
    let q = "mutation($r: ID!) { createApiToken(name: \"工具\", regionId: $r) { token } }";
    app.ok(Some(admin), q, json!({ "r": county })).await["createApiToken"]["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_graphql_http_audit_passes_every_must_and_should() {
    let app = TestApp::demo().await;
    let url = format!("{}/graphql", app.base);
    let admin = app.token("admin").await;
    let token = dashboard_token(&app, &admin).await;
    for who in [None, Some(admin.as_str()), Some(token.as_str())] {
        let mut args = vec![url.as_str()];
        args.extend(who);
        let (ok, said) = node("audit.mjs", &args).await;
        assert!(ok, "audit as {}:\n{said}", if who.is_some() { "a signed-in caller" } else { "anonymous" });
        assert!(said.contains("MUST: 13/13"), "{said}");
    }
}

#[tokio::test]
async fn standard_introspection_equals_the_committed_schema_and_describes_everything() {
    let app = TestApp::demo().await;
    let url = format!("{}/graphql", app.base);
    let file = repo().join("schema.graphql");
    for token in [app.token("admin").await, app.token("v131126100200").await] {
        let (ok, said) = node("introspect.mjs", &[&url, &token, file.to_str().unwrap()]).await;
        assert!(ok, "run `cargo run -p api -- schema > schema.graphql` if the schema changed:\n{said}");
    }
}

#[tokio::test]
async fn codegen_and_python_gql_build_clients_from_the_live_endpoint() {
    let app = TestApp::demo().await;
    let url = format!("{}/graphql", app.base);
    let admin = app.token("admin").await;
    let token = dashboard_token(&app, &admin).await;
    // TypeScript types for the web app's own operations.
    let out = tempfile_path("types.ts");
    let docs = format!("{}/web/graphql/*.graphql", repo().display());
    let (ok, said) = node("codegen.mjs", &[&url, &token, &docs, out.to_str().unwrap()]).await;
    assert!(ok, "{said}");
    let ts = std::fs::read_to_string(&out).unwrap();
    for t in ["export type Household = Node & {", "export type BoardQuery = {", "export enum VerificationStatus {"] {
        assert!(ts.contains(t), "{t} missing from the generated types");
    }
    // Python gql with the schema fetched from the endpoint.
    let python = std::env::var("TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(&python)
        .arg(repo().join("tests/python/gql_client.py"))
        .args([&url, &token])
        .output()
        .await
        .expect("python with gql (scripts/test.sh sets TEST_PYTHON to its venv)");
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{said}");
    let v: Value = serde_json::from_str(said.lines().last().unwrap()).unwrap();
    assert_eq!(v["townships"], 13, "{v}");
    assert!(v["households"].as_u64().unwrap() > 300, "{v}");
    assert!(v["types"].as_u64().unwrap() > 50 && v["refusedLocally"] == true, "{v}");
}

fn tempfile_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(tests::unique("codegen_"));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}
