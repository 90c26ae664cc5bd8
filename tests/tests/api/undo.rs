//! An applied import can be undone, restoring exactly what it replaced, and no
//! import replaces a good value with a worse one.

use crate::imports::{lines, new_campaign, report, text};
use serde_json::{json, Value};
use tests::{code, fixture, TestApp};

const UNDO: &str =
    "mutation($id: ID!) { undoImport(id: $id) { withdrawn restored householdsRestored householdsRemoved } }";
const HOUSEHOLDS: &str =
    "query($c: ID, $after: String) { households(first: 500, after: $after, filter: { campaignId: $c }) {
  edges { node { code headName idNumber size phone village { name } } } } }";

/// Every household of the campaign, as the admin sees it, in code order.
async fn snapshot(app: &TestApp, admin: &str, campaign: &str) -> Vec<Value> {
    let d = app.ok(Some(admin), HOUSEHOLDS, json!({ "c": campaign })).await;
    let mut all: Vec<Value> = d["households"]["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()).collect();
    all.sort_by_key(|n| n["code"].as_str().unwrap_or("").to_owned());
    all
}

#[tokio::test]
async fn undoing_an_import_restores_what_it_replaced_and_is_audited() {
    let app = TestApp::demo().await;
    let admin = app.token("admin").await;
    let campaign = new_campaign(&app, &admin, "撤销").await;
    let good = fixture("gucheng-120-utf8", "poverty-households.csv");
    let first = report(&app.import(&admin, "POVERTY", "名单.csv", good.clone(), &campaign).await);
    assert_eq!(first["created"], 120);
    let before = snapshot(&app, &admin, &campaign).await;
    let current = "SELECT COUNT(*) FROM reference_records WHERE current = true";
    let rows_before = app.count(current).await;

    // A wrong file: renames two heads, drops the last row, adds a household.
    let mut wrong = lines("poverty-households.csv");
    wrong[1] = wrong[1].replace("谢明梅", "错名一");
    wrong[2] = wrong[2].replace("方淑凤", "错名二");
    wrong.pop();
    wrong.push("1311260800199999,新来户,131126198711084294,建国镇,前杨寨,2,,".into());
    let r = report(&app.import(&admin, "POVERTY", "错的.csv", wrong.join("\n").into_bytes(), &campaign).await);
    assert_eq!(
        (r["updated"].as_i64(), r["created"].as_i64(), r["superseded"].as_i64()),
        (Some(2), Some(1), Some(1)),
        "{r:#}"
    );
    assert_ne!(snapshot(&app, &admin, &campaign).await, before);

    let d = app.ok(Some(&admin), UNDO, json!({ "id": r["importId"] })).await;
    assert_eq!(
        d["undoImport"],
        json!({ "withdrawn": 3, "restored": 3, "householdsRestored": 2, "householdsRemoved": 1 }),
        "two changed rows and one new one withdrawn; two old rows and the dropped one restored"
    );
    assert_eq!(snapshot(&app, &admin, &campaign).await, before, "every household as before the wrong file");
    assert_eq!(app.count(current).await, rows_before);
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'IMPORT_UNDONE'").await, 1);

    // Once only; and the good file is the current list again (nothing to do).
    let again = app.gql(Some(&admin), UNDO, json!({ "id": r["importId"] })).await;
    assert_eq!(
        (code(&again), again["errors"][0]["extensions"]["reason"].as_str()),
        (Some("CONFLICT"), Some("IMPORT_UNDO_DONE"))
    );
    let r = report(&app.import(&admin, "POVERTY", "名单.csv", good, &campaign).await);
    assert_eq!(r["alreadyImported"], true, "{r:#}");
    // An earlier import cannot be undone under a later one; a verifier cannot undo at all.
    let renamed = text("poverty-households.csv").replace("谢明梅", "谢明");
    report(&app.import(&admin, "POVERTY", "改名.csv", renamed.into_bytes(), &campaign).await);
    let older = app.gql(Some(&admin), UNDO, json!({ "id": first["importId"] })).await;
    assert_eq!(older["errors"][0]["extensions"]["reason"], "IMPORT_UNDO_LATER", "{older:#}");
    let verifier = app.token("v131126100200").await;
    let refused = app.gql(Some(&verifier), UNDO, json!({ "id": first["importId"] })).await;
    assert_eq!(code(&refused), Some("FORBIDDEN"), "{refused:#}");
}

#[tokio::test]
async fn a_good_value_is_never_replaced_by_a_worse_one() {
    let app = TestApp::demo().await;
    let admin = app.token("admin").await;
    let campaign = new_campaign(&app, &admin, "更差").await;
    report(
        &app.import(&admin, "POVERTY", "名单.csv", fixture("gucheng-120-utf8", "poverty-households.csv"), &campaign)
            .await,
    );
    let before = snapshot(&app, &admin, &campaign).await;
    // Row 2: an ID with a wrong check character and no phone; row 3: a masked ID.
    let mut worse = lines("poverty-households.csv");
    worse[1] = worse[1].replace("131126198711084294", "131126198711084295").replace(",17995289078,", ",,");
    worse[2] = worse[2].replace("131126194404150687", "131126********0687");
    let r = report(&app.import(&admin, "POVERTY", "更差.csv", worse.join("\n").into_bytes(), &campaign).await);
    assert_eq!(r["accepted"], true, "{r:#}");
    let kept: Vec<(i64, &str, &str)> = r["notices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["row"].as_i64().unwrap(), n["column"].as_str().unwrap_or(""), n["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kept,
        [
            (2, "证件号码", "IMPORT_KEPT_VALID_ID"),
            (2, "联系电话", "IMPORT_KEPT_ON_EMPTY"),
            (3, "证件号码", "IMPORT_KEPT_UNMASKED")
        ],
        "{r:#}"
    );
    assert!(r["notices"][0]["reason"].as_str().unwrap().starts_with("保留原证件号码"), "{r:#}");
    assert_eq!(snapshot(&app, &admin, &campaign).await, before, "nothing got worse");
}
