//! Issue 4: each check rule fires where it should and stays silent where the
//! data is right; a whole-county check over the clean demo finds no error.

use crate::workflow::{households_with_verifiers, DETAIL, SAVE};
use serde_json::{json, Value};
use tests::*;

async fn save_and_rules(app: &TestApp, token: &str, h: &str, version: i64, fields: Value) -> (i64, Vec<String>) {
    let mut input = json!({ "householdId": h, "version": version });
    for (k, v) in fields.as_object().unwrap() {
        input[k] = v.clone();
    }
    let d = app.ok(Some(token), SAVE, json!({ "i": input })).await;
    let v = d["saveVerification"]["version"].as_i64().unwrap();
    let detail = app.ok(Some(token), DETAIL, json!({ "id": h })).await;
    let rules = detail["household"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_owned())
        .collect();
    (v, rules)
}

fn has(rules: &[String], r: &str) -> bool {
    rules.iter().any(|x| x == r)
}

#[tokio::test]
async fn entry_rules_fire_and_stay_silent() {
    let app = TestApp::demo().await;
    let admin = app.token("admin").await;

    // Appraised safe (grade A/B).
    let (h, who) = households_with_verifiers(&app, &admin, "131126101000", "APPRAISED").await.remove(0);
    let v = app.token(&who).await;
    let (ver, r) = save_and_rules(&app, &v, &h, 0, json!({})).await;
    assert!(has(&r, "PATH_MISSING"), "{r:?}");
    let (ver, r) =
        save_and_rules(&app, &v, &h, ver, json!({ "path": "APPRAISED", "appraisal": { "confirmedOnSite": false } }))
            .await;
    assert!(has(&r, "GRADE_NOT_CONFIRMED") && !has(&r, "PATH_MISSING") && !has(&r, "PATH_EVIDENCE"), "{r:?}");
    let (_, r) =
        save_and_rules(&app, &v, &h, ver, json!({ "path": "APPRAISED", "appraisal": { "confirmedOnSite": true } }))
            .await;
    assert_eq!(r, ["PHOTO_MISSING"]);
    app.upload_photo(&v, &h, 11, false).await;
    let d = app.ok(Some(&v), DETAIL, json!({ "id": h })).await;
    assert!(d["household"]["findings"].as_array().unwrap().is_empty(), "all silent: {d:#}");

    // Renovated safe (grade C/D, accepted renovation).
    let (h, who) = households_with_verifiers(&app, &admin, "131126101000", "RENOVATED").await.remove(0);
    let v = app.token(&who).await;
    let (ver, r) =
        save_and_rules(&app, &v, &h, 0, json!({ "path": "APPRAISED", "appraisal": { "confirmedOnSite": true } })).await;
    assert!(has(&r, "PATH_EVIDENCE"), "appraised chosen on a C/D house: {r:?}");
    assert!(!has(&r, "UNSAFE_HOUSE"), "the renovation was accepted: {r:?}");
    let (_, r) =
        save_and_rules(&app, &v, &h, ver, json!({ "path": "RENOVATED", "renovation": { "kind": "REBUILT" } })).await;
    assert_eq!(r, ["PHOTO_MISSING"]);

    // C/D with no renovation: an open question, then an unsafe house unless housed safely otherwise.
    let (h, who) = households_with_verifiers(&app, &admin, "131126101000", "SECURED").await.remove(0);
    let v = app.token(&who).await;
    let d = app.ok(Some(&v), DETAIL, json!({ "id": h })).await;
    let f = &d["household"]["findings"][0];
    assert_eq!((f["rule"].as_str(), f["severity"].as_str()), (Some("UNSAFE_PENDING"), Some("WARNING")));
    let (ver, r) =
        save_and_rules(&app, &v, &h, 0, json!({ "path": "APPRAISED", "appraisal": { "confirmedOnSite": true } })).await;
    assert!(has(&r, "PATH_EVIDENCE") && has(&r, "UNSAFE_HOUSE") && !has(&r, "UNSAFE_PENDING"), "{r:?}");
    let (ver, r) =
        save_and_rules(&app, &v, &h, ver, json!({ "path": "RENOVATED", "renovation": { "kind": "REBUILT" } })).await;
    assert!(has(&r, "MISSING_FROM_RENOVATION") && has(&r, "UNSAFE_HOUSE"), "{r:?}");
    let (ver, r) =
        save_and_rules(&app, &v, &h, ver, json!({ "path": "RENOVATED", "renovation": { "kind": "RELOCATED" } })).await;
    assert!(has(&r, "PATH_EVIDENCE") && !has(&r, "UNSAFE_HOUSE"), "relocation without an address: {r:?}");
    let (ver, r) = save_and_rules(&app, &v, &h, ver, json!({ "path": "RENOVATED", "renovation": { "kind": "RELOCATED", "newAddress": "县城易地扶贫搬迁安置小区3号楼" } })).await;
    assert_eq!(r, ["PHOTO_MISSING"]);
    let (ver, r) = save_and_rules(
        &app,
        &v,
        &h,
        ver,
        json!({ "path": "SECURED", "secured": { "arrangement": "OTHER", "address": "村委会" } }),
    )
    .await;
    assert!(has(&r, "PATH_EVIDENCE") && !has(&r, "UNSAFE_HOUSE"), "OTHER needs a description: {r:?}");
    let (_, r) = save_and_rules(&app, &v, &h, ver, json!({ "path": "SECURED", "secured": { "arrangement": "RELATIVES", "address": "本村张某家", "withWhom": "儿子" } })).await;
    assert_eq!(r, ["PHOTO_MISSING"]);

    // Messages are in Chinese by default, English on request.
    let zh = app.ok(Some(&v), DETAIL, json!({ "id": h })).await;
    assert!(zh["household"]["findings"][0]["message"].as_str().unwrap().contains("照片"));
    let en: Value = app
        .http
        .post(format!("{}/graphql", app.base))
        .bearer_auth(&v)
        .header("accept-language", "en-US,en;q=0.9")
        .json(&json!({ "query": DETAIL, "variables": { "id": h } }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(en["data"]["household"]["findings"][0]["message"].as_str().unwrap().contains("photo"));
}

#[tokio::test]
async fn warnings_need_an_acknowledgement_and_errors_cannot_be_waved_through() {
    let app = TestApp::demo().await;
    let admin = app.token("admin").await;
    app.extend_look_back(&admin).await;
    let (h, who) = households_with_verifiers(&app, &admin, "131126102000", "SECURED").await.remove(0);
    let v = app.token(&who).await;
    let d = app
        .ok(
            Some(&v),
            SAVE,
            json!({ "i": { "householdId": h, "version": 0, "path": "SECURED",
        "secured": { "arrangement": "PUBLIC_RENTAL", "address": "镇集体公租房2号" } } }),
        )
        .await;
    let id = d["saveVerification"]["id"].clone();
    let detail = app.ok(Some(&v), DETAIL, json!({ "id": h })).await;
    let photo_missing =
        detail["household"]["findings"].as_array().unwrap().iter().find(|f| f["rule"] == "PHOTO_MISSING").unwrap()
            ["id"]
            .clone();
    let r = app
        .gql(
            Some(&v),
            "mutation($id: ID!) { acknowledgeFinding(id: $id, reason: \"later\") { id } }",
            json!({ "id": photo_missing }),
        )
        .await;
    assert_eq!(code(&r), Some("VALIDATION"), "an ERROR cannot be acknowledged");
    app.upload_photo(&v, &h, 21, false).await;
    let ok = app.ok(Some(&v), crate::workflow::SUBMIT, json!({ "id": id, "v": 1 })).await;
    assert_eq!(ok["submitVerification"]["status"], "SUBMITTED");
}

#[tokio::test]
async fn a_whole_county_check_of_the_clean_demo_finds_no_error() {
    let app = TestApp::demo().await;
    let admin = app.token("admin").await;
    let county = app.ok(Some(&admin), "{ regions(level: COUNTY) { id } }", json!({})).await["regions"][0]["id"].clone();
    let d = app
        .ok(
            Some(&admin),
            "mutation($r: ID!) { checkRegion(regionId: $r) { households opened resolved openErrors { rule count } } }",
            json!({ "r": county }),
        )
        .await;
    let r = &d["checkRegion"];
    assert_eq!(r["households"], 4553);
    assert_eq!(r["openErrors"], json!([]), "{r:#}");
    // Only the 57 open questions (grade C/D, no renovation) remain, as warnings.
    let counts = app.ok(Some(&admin), "{ findingCounts { rule severity count } }", json!({})).await;
    assert_eq!(counts["findingCounts"], json!([{ "rule": "UNSAFE_PENDING", "severity": "WARNING", "count": 57 }]));
    let list = app
        .ok(
            Some(&admin),
            "{ findings(severity: WARNING, first: 100) { edges { node { rule household { expectedPath } } } } }",
            json!({}),
        )
        .await;
    let edges = list["findings"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 57);
    assert!(edges.iter().all(|e| e["node"]["household"]["expectedPath"] == "SECURED"));
    // The household of each finding is loaded in one batch, not one query per finding.
    let q = "query($n: Int) { findings(severity: WARNING, first: $n) { edges { node { rule household { code headName } } } } }";
    let mut costs = Vec::new();
    for n in [5, 57] {
        let before = app.statements().await;
        app.ok(Some(&admin), q, json!({ "n": n })).await;
        costs.push(app.statements().await - before);
    }
    assert_eq!(costs[0], costs[1], "statements for 5 and 57 findings: {costs:?}");
    // A township sees only its own.
    let t = app.token("t131126100").await;
    let own = app.ok(Some(&t), "{ findingCounts { count } }", json!({})).await;
    assert!(
        own["findingCounts"].as_array().map_or(0, |a| a.iter().map(|c| c["count"].as_i64().unwrap()).sum::<i64>()) < 57
    );
}
