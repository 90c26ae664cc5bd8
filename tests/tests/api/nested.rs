//! Issue 17: nested lists cost the same statements for 1, 13 or 312 parents,
//! and answer exactly what the single-parent queries answer.

use crate::workflow::{appraised_input, households_with_verifiers, SAVE, SUBMIT};
use serde_json::{json, Value};
use tests::*;

const COUNTS: &str = "query($l: RegionLevel) { regions(level: $l) { code households(first: 0) { totalCount } } }";

const PAGES: &str = "query($l: RegionLevel) { regions(level: $l) {
  code
  households(first: 3, filter: { expectedPath: [APPRAISED, RENOVATED, SECURED] }) {
    totalCount
    pageInfo { hasNextPage }
    edges { node { code village { code } verification { status } findings { rule } } }
  }
  children { code households(first: 0) { totalCount } }
} }";

const ONE_REGION: &str = "query($r: ID!) {
  households(first: 3, filter: { regionId: $r, expectedPath: [APPRAISED, RENOVATED, SECURED] }) {
    totalCount pageInfo { hasNextPage } edges { node { code } }
  }
}";

/// Statements one request costs, and its data.
async fn measured(app: &TestApp, token: &str, q: &str, vars: Value) -> (u64, Value) {
    let before = app.statements().await;
    let d = app.ok(Some(token), q, vars).await;
    (app.statements().await - before, d)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_regions_households_cost_the_same_for_one_thirteen_or_all_villages() {
    let app = TestApp::demo_with(|c| c.max_query_complexity = 5_000_000).await;
    let t = app.token("admin").await;
    let mut costs = Vec::new();
    let mut sums = Vec::new();
    for level in ["COUNTY", "TOWNSHIP", "VILLAGE"] {
        let (n, d) = measured(&app, &t, COUNTS, json!({ "l": level })).await;
        let regions = d["regions"].as_array().unwrap();
        costs.push((level, regions.len(), n));
        sums.push(regions.iter().map(|r| r["households"]["totalCount"].as_u64().unwrap()).sum::<u64>());
    }
    let parents: Vec<usize> = costs.iter().map(|c| c.1).collect();
    assert_eq!(parents[..2], [1, 13], "{costs:?}");
    assert!(parents[2] > 300, "{costs:?}");
    assert!(costs.iter().all(|c| c.2 == costs[0].2), "statements per parent count: {costs:?}");
    // Every household is in its county and township; a few are not yet placed in a village.
    let all = app.ok(Some(&t), "{ households(first: 0) { totalCount } }", json!({})).await["households"]["totalCount"]
        .as_u64()
        .unwrap();
    assert_eq!(sums[..2], [all, all]);
    assert!(sums[2] <= all && sums[2] > all * 9 / 10, "{sums:?} of {all}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_pages_and_children_match_the_single_region_answers() {
    let app = TestApp::demo_with(|c| c.max_query_complexity = 5_000_000).await;
    let t = app.token("admin").await;
    let mut costs = Vec::new();
    let mut answers = Vec::new();
    for level in ["COUNTY", "TOWNSHIP", "VILLAGE"] {
        let (n, d) = measured(&app, &t, PAGES, json!({ "l": level })).await;
        costs.push((level, n));
        answers.push(d);
    }
    // Villages have no children, so their count of children's households is not read.
    assert_eq!(costs[0].1, costs[1].1, "statements per level: {costs:?}");
    assert_eq!(costs[2].1 + 1, costs[1].1, "statements per level: {costs:?}");
    // Each township's nested page is what the top-level list filtered to it shows.
    let townships = answers[1]["regions"].as_array().unwrap();
    let ids = app.ok(Some(&t), "{ regions(level: TOWNSHIP) { id code } }", json!({})).await;
    for (i, r) in ids["regions"].as_array().unwrap().iter().enumerate().step_by(4) {
        let alone = app.ok(Some(&t), ONE_REGION, json!({ "r": r["id"] })).await["households"].clone();
        let nested = &townships[i]["households"];
        assert_eq!(townships[i]["code"], r["code"]);
        assert_eq!(nested["totalCount"], alone["totalCount"], "{}", r["code"]);
        assert_eq!(nested["pageInfo"], alone["pageInfo"], "{}", r["code"]);
        let codes =
            |v: &Value| v["edges"].as_array().unwrap().iter().map(|e| e["node"]["code"].clone()).collect::<Vec<_>>();
        assert_eq!(codes(nested), codes(&alone), "{}", r["code"]);
        assert_eq!(codes(nested).len(), 3);
    }
    // A township's children carry the same counts as the village list.
    let villages: std::collections::HashMap<String, Value> = answers[2]["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["code"].as_str().unwrap().to_owned(), v["households"]["totalCount"].clone()))
        .collect();
    for township in townships {
        for child in township["children"].as_array().unwrap() {
            assert_eq!(child["households"]["totalCount"], villages[child["code"].as_str().unwrap()]);
        }
    }
}

const DEEP: &str = "query($first: Int) {
  households(first: $first) {
    totalCount
    edges { node {
      id code headName idNumber phone
      village { code households(first: 0) { totalCount } }
      township { code children { code } households(first: 1) { edges { node { code } } } }
      verification { status verifiedBy { username } approvedBy { username } }
      practice: verification(practice: true) { status }
      photos { kind uploadedBy { username } }
      findings { rule }
      closed: findings(open: false) { rule }
      references { poverty { headName } appraisal { grade } renovation { acceptedOn } }
      history(first: 3) { pageInfo { hasNextPage } edges { cursor node { action } } }
    } }
  }
}";

/// The same selection through `nodes { … }` instead of `edges { node { … } }`.
fn nodes_shape(q: &str) -> String {
    let (head, rest) = q.split_once("edges { node {").unwrap();
    let (body, tail) = rest.rsplit_once("} }\n  }\n}").unwrap();
    format!("{head}nodes {{{body}}}\n  }}\n}}{tail}")
}

const ONE_HISTORY: &str = "query($id: ID!) { household(id: $id) {
  history(first: 3) { pageInfo { hasNextPage } edges { cursor node { action } } }
  closed: findings(open: false) { rule }
} }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_with_every_nested_field_costs_the_same_for_1_13_or_312_households() {
    let app = TestApp::demo_with(|c| c.max_query_complexity = 5_000_000).await;
    let admin = app.token("admin").await;
    // Some history and a closed finding to read back.
    app.extend_look_back(&admin).await;
    let (h, who) = households_with_verifiers(&app, &admin, "131126100000", "APPRAISED").await.remove(0);
    let v = app.token(&who).await;
    let saved = app.ok(Some(&v), SAVE, json!({ "i": appraised_input(&h, 0, false) })).await;
    app.upload_photo(&v, &h, 4242, false).await;
    app.ok(Some(&v), SUBMIT, json!({ "id": saved["saveVerification"]["id"], "v": 1 })).await;
    let mut costs = Vec::new();
    let mut last = Value::Null;
    for first in [1, 13, 312] {
        let (n, d) = measured(&app, &admin, DEEP, json!({ "first": first })).await;
        assert_eq!(d["households"]["edges"].as_array().unwrap().len(), first);
        // The `nodes` shortcut is prefetched as `edges { node }` is.
        let (m, short) = measured(&app, &admin, &nodes_shape(DEEP), json!({ "first": first })).await;
        let via_edges: Vec<&Value> = d["households"]["edges"].as_array().unwrap().iter().map(|e| &e["node"]).collect();
        assert_eq!(short["households"]["nodes"].as_array().unwrap().iter().collect::<Vec<_>>(), via_edges);
        costs.push(n);
        costs.push(m);
        last = d;
    }
    assert!(costs.iter().all(|&c| c == costs[0]), "statements for 1, 13, 312 households (edges, nodes): {costs:?}");
    // The batched history and closed findings equal the one-household answers.
    let edges = last["households"]["edges"].as_array().unwrap();
    let with_history: Vec<&Value> =
        edges.iter().filter(|e| !e["node"]["history"]["edges"].as_array().unwrap().is_empty()).collect();
    assert!(!with_history.is_empty(), "some household has history");
    for e in with_history.iter().copied().take(5).chain(edges.iter().take(2)) {
        let alone = app.ok(Some(&admin), ONE_HISTORY, json!({ "id": e["node"]["id"] })).await;
        assert_eq!(alone["household"]["history"], e["node"]["history"]);
        assert_eq!(alone["household"]["closed"], e["node"]["closed"]);
    }
}
