//! Issue 4: look-back sampling (回头看) is reproducible, covers every village,
//! never assigns a record to the person who entered it, and records results.

use crate::workflow::{appraised_input, households_with_verifiers, SAVE, SUBMIT};
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};
use tests::*;

const APPROVE: &str = "mutation($id: ID!, $v: Int!) { approveVerification(id: $id, version: $v) { status } }";
const DRAW: &str = "mutation($r: ID!, $p: Float!, $m: Int, $s: Int!, $c: [ID!]!) {
  drawLookBackSample(regionId: $r, percent: $p, minPerVillage: $m, seed: $s, checkerIds: $c) {
    id seed counts { rule count } items { id status assignedTo { username } household { code village { code } } } } }";
const RECORD: &str = "mutation($id: ID!, $a: Boolean!, $n: String) { recordLookBackResult(itemId: $id, agrees: $a, notes: $n) { status notes } }";

async fn account_id(app: &TestApp, admin: &str, username: &str) -> String {
    let d = app.ok(Some(admin), "{ accounts(first: 500) { edges { node { id username } } } }", json!({})).await;
    d["accounts"]["edges"].as_array().unwrap().iter().find(|e| e["node"]["username"] == username).unwrap()["node"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn sampled(d: &Value) -> BTreeSet<String> {
    d["drawLookBackSample"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["household"]["code"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_look_back_sample_is_reproducible_fair_and_independent() {
    let app = TestApp::demo().await;
    let admin = app.token("admin").await;
    app.extend_look_back(&admin).await;
    let township = app.token("t131126100").await;
    // Approve 40 households across the first villages of 郑口镇.
    let pool = households_with_verifiers(&app, &admin, "131126100000", "APPRAISED").await;
    let mut tokens: HashMap<String, String> = HashMap::new();
    let mut villages = BTreeSet::new();
    for (i, (h, who)) in pool.iter().take(40).enumerate() {
        if !tokens.contains_key(who) {
            tokens.insert(who.clone(), app.token(who).await);
        }
        let v = &tokens[who];
        let d = app.ok(Some(v), SAVE, json!({ "i": appraised_input(h, 0, false) })).await;
        let id = d["saveVerification"]["id"].clone();
        app.upload_photo(v, h, 500 + i as u32, false).await;
        app.ok(Some(v), SUBMIT, json!({ "id": id, "v": 1 })).await;
        app.ok(Some(&township), APPROVE, json!({ "id": id, "v": 2 })).await;
        villages.insert(who.trim_start_matches('v').to_owned());
    }
    assert!(villages.len() >= 2, "households from several villages");
    let county = app.ok(Some(&admin), "{ regions(level: COUNTY) { id } }", json!({})).await["regions"][0]["id"].clone();
    // One of the checkers is a village verifier: never given a record they entered.
    let first_verifier = pool[0].1.clone();
    let checkers = json!([
        account_id(&app, &admin, "t131126100").await,
        account_id(&app, &admin, "admin").await,
        account_id(&app, &admin, &first_verifier).await,
    ]);
    let vars = |seed: i64| json!({ "r": county, "p": 10.0, "m": 1, "s": seed, "c": checkers });
    let a = app.ok(Some(&admin), DRAW, vars(42)).await;
    let b = app.ok(Some(&admin), DRAW, vars(42)).await;
    assert_eq!(sampled(&a), sampled(&b), "the same seed draws the same sample");
    let items = a["drawLookBackSample"]["items"].as_array().unwrap().clone();
    // 10% of 40 is 4; at least one per village with approved households.
    assert!(items.len() >= 4.max(villages.len()), "{} items", items.len());
    let covered: BTreeSet<String> =
        items.iter().map(|i| i["household"]["village"]["code"].as_str().unwrap().to_owned()).collect();
    assert_eq!(covered, villages, "every village is in the sample");
    let mut differs = false;
    for seed in [1, 2, 3, 4, 5] {
        if sampled(&app.ok(Some(&admin), DRAW, vars(seed)).await) != sampled(&a) {
            differs = true;
            break;
        }
    }
    assert!(differs, "other seeds draw other samples");
    for i in &items {
        assert_ne!(i["assignedTo"]["username"], first_verifier.as_str(), "not the person who entered it");
        assert_eq!(i["status"], "PENDING");
    }
    let counts = &a["drawLookBackSample"]["counts"];
    assert_eq!(
        counts,
        &json!([{ "rule": "AGREES", "count": 0 }, { "rule": "DISAGREES", "count": 0 }, { "rule": "PENDING", "count": items.len() }])
    );

    // The township checker records an agreement and a disagreement.
    let mine: Vec<Value> = items.iter().filter(|i| i["assignedTo"]["username"] == "t131126100").cloned().collect();
    assert!(mine.len() >= 2, "round robin gives the township several items");
    let agreed = app.ok(Some(&township), RECORD, json!({ "id": mine[0]["id"], "a": true })).await;
    assert_eq!(agreed["recordLookBackResult"]["status"], "AGREES");
    let no_notes = app.gql(Some(&township), RECORD, json!({ "id": mine[1]["id"], "a": false })).await;
    assert_eq!(code(&no_notes), Some("VALIDATION"));
    app.ok(Some(&township), RECORD, json!({ "id": mine[1]["id"], "a": false, "n": "实测面积与录入不符" })).await;
    let twice = app.gql(Some(&township), RECORD, json!({ "id": mine[0]["id"], "a": false, "n": "x" })).await;
    assert_eq!(code(&twice), Some("INVALID_TRANSITION"));
    let other = app.gql(Some(&admin), RECORD, json!({ "id": mine[1]["id"], "a": true })).await;
    assert_eq!(code(&other), Some("NOT_FOUND"), "only the assigned checker records");
    // The disagreement is a finding on the household.
    let code_of = mine[1]["household"]["code"].as_str().unwrap();
    let found = app
        .ok(Some(&admin), "query($s: String) { households(filter: { search: $s }) { edges { node { id findings { rule message } } } } }", json!({ "s": code_of }))
        .await;
    let f = &found["households"]["edges"][0]["node"]["findings"];
    assert!(
        f.as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "LOOK_BACK" && f["message"].as_str().unwrap().contains("面积")),
        "{f:#}"
    );
    let samples = app
        .ok(Some(&township), "{ lookBackSamples { counts { rule count } } myLookBackItems { status } }", json!({}))
        .await;
    assert!(samples["lookBackSamples"].as_array().unwrap().len() >= 2);
}
