//! Issue 6: boards from counters, expected vs actual, behind pace, burn-up,
//! counters equal to a recount, live updates in one and across two processes.

use crate::workflow::{appraised_input, households_with_verifiers, SAVE, SUBMIT};
use serde_json::{json, Value};
use std::collections::HashMap;
use tests::*;

const BOARD: &str = "query($r: ID, $c: ID) { progress(regionId: $r, campaignId: $c) {
  region { name } households submitted approved submittedPercent approvedPercent openErrors openWarnings behindBy
  byStatus { status count } byPath { path count } byExpectedPath { path count }
  milestones { kind state actualPercent expectedPercent projectedCompletion }
  behindPace(first: 20) { region { code name } submittedPercent behindBy }
  series { label submitted approved } } }";
const APPROVE: &str = "mutation($id: ID!, $v: Int!) { approveVerification(id: $id, version: $v) { status version } }";
const RETURN: &str = "mutation($id: ID!, $v: Int!) { returnVerification(id: $id, version: $v, reason: \"补充照片\") { status version } }";
const REOPEN: &str =
    "mutation($id: ID!, $v: Int!) { reopenVerification(id: $id, version: $v, reason: \"回头看\") { status version } }";

async fn region_id(app: &TestApp, token: &str, level: &str, code: &str) -> String {
    let d =
        app.ok(Some(token), "query($l: RegionLevel) { regions(level: $l) { id code } }", json!({ "l": level })).await;
    d["regions"].as_array().unwrap().iter().find(|r| r["code"] == code).unwrap()["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn counters_equal_a_recount_after_random_work() {
    let app = TestApp::demo().await;
    let admin = app.token("admin").await;
    app.extend_look_back(&admin).await;
    let township = app.token("t131126100").await;
    let pool: Vec<(String, String)> =
        households_with_verifiers(&app, &admin, "131126100000", "APPRAISED").await.into_iter().take(24).collect();
    let mut tokens: HashMap<String, String> = HashMap::new();
    // What the test knows of each record: (id, version, status).
    let mut recs: HashMap<String, (Value, i64, String)> = HashMap::new();
    let mut rng: u64 = 20200515;
    let mut next = |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    for step in 0..90 {
        let (h, who) = pool[next(pool.len() as u64) as usize].clone();
        if !tokens.contains_key(&who) {
            tokens.insert(who.clone(), app.token(&who).await);
        }
        let v = tokens[&who].clone();
        let op = next(6);
        let rec = recs.get(&h).cloned();
        match (op, rec) {
            // A practice entry, which must never move a counter.
            (0, _) => {
                // A first practice save succeeds; a repeat with version 0 is a CONFLICT. Neither counts.
                let d = app.gql(Some(&v), SAVE, json!({ "i": appraised_input(&h, 0, true) })).await;
                assert!(matches!(code(&d), None | Some("CONFLICT")), "{d}");
            }
            (_, None) => {
                let d = app.ok(Some(&v), SAVE, json!({ "i": appraised_input(&h, 0, false) })).await;
                app.upload_photo(&v, &h, 9000 + step, false).await;
                recs.insert(h.clone(), (d["saveVerification"]["id"].clone(), 1, "DRAFT".into()));
            }
            (_, Some((id, ver, status))) => {
                let (token, doc) = match status.as_str() {
                    "DRAFT" | "RETURNED" => (&v, SUBMIT),
                    "SUBMITTED" => (&township, if op % 2 == 0 { APPROVE } else { RETURN }),
                    "APPROVED" => (&township, REOPEN),
                    _ => continue, // REOPENED waits for the verifier's acknowledgement; leave it
                };
                let d = app.ok(Some(token), doc, json!({ "id": id, "v": ver })).await;
                let out = d.as_object().unwrap().values().next().unwrap().clone();
                recs.insert(
                    h.clone(),
                    (id, out["version"].as_i64().unwrap(), out["status"].as_str().unwrap().to_owned()),
                );
            }
        }
    }
    let statuses: Vec<&String> = recs.values().map(|r| &r.2).collect();
    for s in ["DRAFT", "SUBMITTED", "APPROVED"] {
        assert!(statuses.iter().any(|x| *x == s), "the random walk reached {s}: {statuses:?}");
    }
    // The incrementally kept counters equal a recount from scratch.
    let campaign = api::demo::demo_id("campaign", "131126-2020");
    let tx = api::domain::tx::Tx::begin(&app.server.state, Default::default()).await.unwrap();
    let drift = api::domain::counters::recount(tx.conn(), campaign).await.unwrap();
    drop(tx);
    assert!(drift.is_empty(), "drift: {drift:?}");
    // And they agree with the lists.
    let d = app.ok(Some(&admin), BOARD, json!({})).await;
    let p = &d["progress"];
    assert_eq!(p["households"], 4553);
    let sum: u64 = p["byStatus"].as_array().unwrap().iter().map(|s| s["count"].as_u64().unwrap()).sum();
    assert_eq!(sum, 4553);
    let listed = app
        .ok(
            Some(&admin),
            "{ households(filter: { status: [SUBMITTED, APPROVED, REOPENED] }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(p["submitted"], listed["households"]["totalCount"]);
    let expected: u64 = p["byExpectedPath"].as_array().unwrap().iter().map(|s| s["count"].as_u64().unwrap()).sum();
    assert_eq!(expected, 4553);
    assert_eq!(p["openWarnings"], 57 + statuses.iter().filter(|s| **s == "REOPENED").count() as u64);
}

#[tokio::test]
async fn boards_show_expected_against_actual_and_who_is_behind() {
    let app = TestApp::demo().await;
    let admin = app.token("admin").await;
    // A constructed campaign: the 120 sample households, one village per township.
    let county = region_id(&app, &admin, "COUNTY", "131126000000").await;
    let c = app
        .ok(Some(&admin), "mutation($c: ID!) { createCampaign(name: \"演示\", countyId: $c, startsOn: \"2026-01-01\", endsOn: \"2026-12-31\") { id } }", json!({ "c": county }))
        .await["createCampaign"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (kind, file) in [
        ("POVERTY", "poverty-households.csv"),
        ("APPRAISAL", "housing-appraisals.csv"),
        ("RENOVATION", "housing-renovations.csv"),
    ] {
        let r = app.import(&admin, kind, file, fixture("gucheng-120-utf8", file), &c).await;
        assert_eq!(r["data"]["importReferenceFile"]["accepted"], true);
    }
    // Verification window: started a day ago, ends in a day: 50% expected now.
    let start = (chrono::Utc::now() - chrono::Duration::days(1)).to_rfc3339();
    let end = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    app.ok(
        Some(&admin),
        "mutation($c: ID!, $s: DateTime!, $e: DateTime!) { createMilestone(campaignId: $c, kind: \"VERIFICATION\", title: \"逐户核验\", startsAt: $s, endsAt: $e, targetMetric: SUBMITTED) { id state } }",
        json!({ "c": c, "s": start, "e": end }),
    )
    .await;
    // 郑口镇's village submits every household it has, each with the evidence its path needs.
    let zk = region_id(&app, &admin, "TOWNSHIP", "131126100000").await;
    let d = app
        .ok(
            Some(&admin),
            "query($c: ID, $r: ID) { households(first: 100, filter: { campaignId: $c, regionId: $r }) { edges { node { id expectedPath } } } }",
            json!({ "c": c, "r": zk }),
        )
        .await;
    let mine: Vec<(String, String)> = d["households"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["node"]["id"].as_str().unwrap().to_owned(), e["node"]["expectedPath"].as_str().unwrap().to_owned()))
        .collect();
    assert!(mine.len() >= 3, "a few households to submit: {}", mine.len());
    let v = app.token("v131126100200").await;
    for (i, (h, path)) in mine.iter().enumerate() {
        let input = match path.as_str() {
            "APPRAISED" => appraised_input(h, 0, false),
            "RENOVATED" => {
                json!({ "householdId": h, "version": 0, "path": "RENOVATED", "renovation": { "kind": "REBUILT" } })
            }
            _ => json!({ "householdId": h, "version": 0, "path": "SECURED",
                         "secured": { "arrangement": "RELATIVES", "address": "本村亲属家", "withWhom": "儿子" } }),
        };
        let s = app.ok(Some(&v), SAVE, json!({ "i": input })).await;
        app.upload_photo(&v, h, 7000 + i as u32, false).await;
        let r = app.gql(Some(&v), SUBMIT, json!({ "id": s["saveVerification"]["id"], "v": 1 })).await;
        assert!(r.get("errors").is_none(), "{path} household: {r}");
    }
    let n = mine.len() as f64;
    let d = app.ok(Some(&admin), BOARD, json!({ "r": county, "c": c })).await;
    let p = &d["progress"];
    assert_eq!(p["households"], 120);
    assert_eq!(p["submitted"], mine.len());
    assert!((p["submittedPercent"].as_f64().unwrap() - (n * 100.0 / 120.0 * 100.0).round() / 100.0).abs() < 0.01);
    let m = &p["milestones"][0];
    assert_eq!(m["kind"], "VERIFICATION");
    assert!((m["expectedPercent"].as_f64().unwrap() - 50.0).abs() < 0.5, "{m}");
    assert_eq!(m["state"], "AT_RISK", "{} % submitted against 50 % expected", p["submittedPercent"]);
    assert!(m["projectedCompletion"].is_string());
    // Behind pace: every township but 郑口镇, worst first (all at 0 %, then by code).
    let behind: Vec<&str> =
        p["behindPace"].as_array().unwrap().iter().map(|b| b["region"]["code"].as_str().unwrap()).collect();
    assert!(!behind.contains(&"131126100000"), "{behind:?}");
    assert_eq!(behind.len(), 12);
    assert_eq!(behind[0], "131126101000");
    // 郑口镇 itself is ahead when all its appraised households are in.
    let t = app.ok(Some(&admin), BOARD, json!({ "r": zk, "c": c })).await;
    let tp = &t["progress"];
    assert_eq!(tp["submitted"].as_u64().unwrap(), mine.len() as u64);
    assert_eq!(tp["submittedPercent"], 100.0);
    assert_eq!(tp["milestones"][0]["state"], "MET");
    assert!(tp["behindBy"].as_f64().unwrap() < 0.0, "ahead of the 50 % line: {}", tp["behindBy"]);
    // Burn-up from the audit trail: today's bucket holds the submissions.
    let series = p["series"].as_array().unwrap();
    assert_eq!(series.last().unwrap()["submitted"], mine.len());
    assert_eq!(series.last().unwrap()["approved"], 0);
    // A verifier sees its own village's board, not the county's.
    let own = app.ok(Some(&v), "{ progress { region { code } submitted } }", json!({})).await;
    assert_eq!(own["progress"]["region"]["code"], "131126100200");
    let county_board = app.gql(Some(&v), BOARD, json!({ "r": county, "c": c })).await;
    assert_eq!(code(&county_board), Some("FORBIDDEN"));
}

const LIVE: &str = "subscription($r: ID!) { progressChanged(regionId: $r) { submitted households } }";

#[tokio::test]
async fn a_board_updates_live_when_a_record_is_submitted() {
    let app = TestApp::demo().await;
    let admin = app.token("admin").await;
    app.extend_look_back(&admin).await;
    let zk = region_id(&app, &admin, "TOWNSHIP", "131126100000").await;
    let t = app.token("t131126100").await;
    let mut sub = Subscription::start(&app.base, Some(&t), LIVE, json!({ "r": zk })).await.expect("subscribed");
    let first = sub.next(10).await.expect("initial state");
    assert_eq!(first["data"]["progressChanged"]["submitted"], 0);
    let (h, who) = households_with_verifiers(&app, &admin, "131126100000", "APPRAISED").await.remove(0);
    let v = app.token(&who).await;
    let s = app.ok(Some(&v), SAVE, json!({ "i": appraised_input(&h, 0, false) })).await;
    app.upload_photo(&v, &h, 4242, false).await;
    app.ok(Some(&v), SUBMIT, json!({ "id": s["saveVerification"]["id"], "v": 1 })).await;
    let mut submitted = 0;
    while let Some(update) = sub.next(10).await {
        submitted = update["data"]["progressChanged"]["submitted"].as_u64().unwrap();
        if submitted == 1 {
            break;
        }
    }
    assert_eq!(submitted, 1, "the submission reached the board");
    // No token, no connection; another township's board is refused.
    assert!(Subscription::start(&app.base, None, LIVE, json!({ "r": zk })).await.is_err());
    let other = app.token("t131126101").await;
    let mut refused = Subscription::start(&app.base, Some(&other), LIVE, json!({ "r": zk })).await.expect("connected");
    let e = refused.next(10).await.expect("an error");
    assert!(e["errors"][0]["extensions"]["code"].as_str().is_some_and(|c| c == "FORBIDDEN" || c == "NOT_FOUND"), "{e}");
}

/// A board subscription that reads only the region's DRAFT count.
const DRAFTS: &str = "subscription($r: ID!) { progressChanged(regionId: $r) { byStatus { status count } } }";

fn draft_count(v: &Value) -> u64 {
    let by_status = v["data"]["progressChanged"]["byStatus"].as_array().unwrap();
    by_status.iter().find(|s| s["status"] == "DRAFT").unwrap()["count"].as_u64().unwrap()
}

/// Issue 17: a burst of saves reaches the board as a few merged updates (the
/// first at once, the rest at the end of each half-second window), and the
/// last one holds every save.
#[tokio::test]
async fn a_burst_of_saves_is_merged_into_few_updates() {
    let app = TestApp::demo().await;
    let admin = app.token("admin").await;
    app.extend_look_back(&admin).await;
    let zk = region_id(&app, &admin, "TOWNSHIP", "131126100000").await;
    let mut mine = households_with_verifiers(&app, &admin, "131126100000", "APPRAISED").await;
    let who = mine[0].1.clone();
    mine.retain(|(_, w)| *w == who);
    mine.truncate(8);
    assert!(mine.len() >= 4, "{} households", mine.len());
    let v = app.token(&who).await;
    let t = app.token("t131126100").await;
    let mut sub = Subscription::start(&app.base, Some(&t), DRAFTS, json!({ "r": zk })).await.expect("subscribed");
    assert_eq!(draft_count(&sub.next(10).await.expect("initial")), 0);
    let saves = mine.iter().map(|(h, _)| app.ok(Some(&v), SAVE, json!({ "i": appraised_input(h, 0, false) })));
    futures_util::future::join_all(saves).await;
    let mut updates = 0;
    let mut seen = 0;
    while seen < mine.len() as u64 {
        let u = sub.next(10).await.expect("an update");
        updates += 1;
        seen = draft_count(&u);
    }
    assert_eq!(seen, mine.len() as u64);
    assert!(updates < mine.len(), "{updates} updates for {} saves", mine.len());
}

async fn sign_in(p: &ApiProcess, u: &str) -> String {
    let d = p.gql(None, SIGN_IN, json!({ "u": u, "p": DEMO_PASSWORD })).await;
    d["data"]["signIn"]["accessToken"].as_str().expect("token").to_owned()
}

#[tokio::test]
async fn two_api_processes_on_one_postgres_share_live_updates() {
    // Always PostgreSQL: LISTEN/NOTIFY is what carries a change between processes.
    let db = fresh_postgres().await;
    let secret = unique("secret-shared-by-both-processes-");
    let a = ApiProcess::start("serve-demo", &db, &secret).await;
    let b = ApiProcess::start("serve", &db, &secret).await;
    let admin = sign_in(&b, "admin").await;
    let end = (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339();
    let ms = b.gql(Some(&admin), "{ milestones { id kind } }", json!({})).await;
    let lb =
        ms["data"]["milestones"].as_array().unwrap().iter().find(|m| m["kind"] == "LOOK_BACK").unwrap()["id"].clone();
    b.gql(
        Some(&admin),
        "mutation($id: ID!, $e: DateTime) { updateMilestone(id: $id, endsAt: $e) { id } }",
        json!({ "id": lb, "e": end }),
    )
    .await;
    let village = b.gql(Some(&admin), "{ regions(level: VILLAGE) { id code } }", json!({})).await;
    let vid = village["data"]["regions"].as_array().unwrap().iter().find(|r| r["code"] == "131126100200").unwrap()
        ["id"]
        .clone();
    // Subscribed on process A ...
    let t = sign_in(&a, "t131126100").await;
    let mut sub = Subscription::start(&a.base, Some(&t), DRAFTS, json!({ "r": vid })).await.expect("subscribed on A");
    assert_eq!(draft_count(&sub.next(10).await.expect("initial")), 0);
    // ... a verifier saves on process B.
    let v = sign_in(&b, "v131126100200").await;
    let hs = b.gql(Some(&v), "{ households(first: 1) { edges { node { id } } } }", json!({})).await;
    let h = hs["data"]["households"]["edges"][0]["node"]["id"].as_str().unwrap().to_owned();
    let saved = b.gql(Some(&v), SAVE, json!({ "i": appraised_input(&h, 0, false) })).await;
    assert!(saved.get("errors").is_none(), "{saved}");
    let update = sub.next(15).await.expect("the change made on B reached the subscriber on A");
    assert_eq!(draft_count(&update), 1, "{update}");
}

#[tokio::test]
async fn the_example_dashboard_client_pulls_the_board_with_a_token() {
    let app = TestApp::demo().await;
    let admin = app.token("admin").await;
    let county = region_id(&app, &admin, "COUNTY", "131126000000").await;
    let token = app
        .ok(
            Some(&admin),
            "mutation($r: ID!) { createApiToken(name: \"省厅看板\", regionId: $r) { token } }",
            json!({ "r": county }),
        )
        .await["createApiToken"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/dashboard-board.sh");
    let out = tokio::process::Command::new("bash")
        .arg(&script)
        .env("API_URL", &app.base)
        .env("API_TOKEN", &token)
        .output()
        .await
        .expect("run the example client");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let body: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(body.get("errors").is_none(), "{body:#}");
    let p = &body["data"]["progress"];
    assert_eq!(p["region"]["code"], "131126000000");
    assert_eq!(p["households"], 4553);
    assert_eq!(p["milestones"].as_array().unwrap().len(), 3);
    // With an explicit region, and refused without a valid token.
    let zk = region_id(&app, &admin, "TOWNSHIP", "131126100000").await;
    let out = tokio::process::Command::new("bash")
        .arg(&script)
        .arg(&zk)
        .env("API_URL", &app.base)
        .env("API_TOKEN", &token)
        .output()
        .await
        .unwrap();
    let body: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(body["data"]["progress"]["region"]["code"], "131126100000");
    let out = tokio::process::Command::new("bash")
        .arg(&script)
        .env("API_URL", &app.base)
        .env("API_TOKEN", "hsv_wrong")
        .output()
        .await
        .unwrap();
    let body: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(code(&body), Some("UNAUTHENTICATED"));
}
