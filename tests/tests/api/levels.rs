//! Issue 19 (part): a campaign above the county. A province starts a campaign,
//! two counties join it and import their own lists, a province SUPERVISOR's
//! board is the sum of its counties, a county ADMIN cannot see its neighbour,
//! and a county tightens (never loosens) the province's milestones.

use crate::start::{api, first_sign_in};
use crate::workflow::{appraised_input, SAVE, SUBMIT};
use serde_json::{json, Value};
use tests::*;

const REGIONS: &str = "\u{feff}区划代码,名称,级别,上级区划代码
130000000000,河北省,省,
131100000000,衡水市,市,130000000000
131126000000,故城县,县,131100000000
131126100000,郑口镇,乡镇,131126000000
131126100200,张后寨,村,131126100000
131126101000,夏庄镇,乡镇,131126000000
131126101200,北孙村,村,131126101000
131127000000,景县,县,131100000000
131127100000,景州镇,乡镇,131127000000
131127100200,西关村,村,131127100000
";

/// Three households in 故城县 (two townships), two in 景县.
const GUCHENG: &str = "\u{feff}户编号,户主姓名,证件号码,乡镇,行政村,家庭人口数,联系电话,脱贫年度
1311261000100001,谢明梅,131126198711084294,郑口镇,张后寨,5,17995289078,2019
1311261000100002,方淑凤,131126194404150687,郑口镇,张后寨,2,18215901092,2019
1311261010100001,吴兰梅,131126193704156496,夏庄镇,北孙村,2,17957117777,2018
";
const JINGXIAN: &str = "\u{feff}户编号,户主姓名,证件号码,乡镇,行政村,家庭人口数,联系电话,脱贫年度
1311271000100001,宋春,131127196711255450,景州镇,西关村,3,13900001111,2019
1311271000100002,康顺长,131127199406071334,景州镇,西关村,4,13900002222,2020
";

const BOARD: &str = "query($r: ID, $c: ID) { progress(regionId: $r, campaignId: $c) {
  region { code } households submitted approved openErrors openWarnings
  byStatus { status count } byExpectedPath { path count }
  milestones { milestoneId kind endsAt state } } }";
const CREATE_ACCOUNT: &str = "mutation($u: String!, $role: Role!, $r: ID!) {
  createAccount(username: $u, displayName: \"测试\", role: $role, regionId: $r) { initialPassword } }";

struct Province {
    app: TestApp,
    province_admin: String,
    gucheng: String,
    jingxian: String,
    campaign: String,
}

async fn region(app: &TestApp, token: &str, code: &str) -> String {
    let d = app.ok(Some(token), "{ regions { id code } }", json!({})).await;
    let r = d["regions"].as_array().unwrap().iter().find(|r| r["code"] == code).cloned();
    r.unwrap_or_else(|| panic!("{code} not visible: {d}"))["id"].as_str().unwrap().to_owned()
}

/// `api init` for a region of the shared list; returns the ADMIN's token.
async fn init(app: &TestApp, regions: &str, code: &str, admin: &str) -> String {
    let (ok, out) = api(app, &["init", "--regions", regions, "--region", code, "--admin", admin], &[]);
    assert!(ok, "{out}");
    let initial = out.lines().find_map(|l| l.split("initial password: ").nth(1)).expect("password").trim().to_owned();
    first_sign_in(app, admin, &initial).await
}

async fn account(app: &TestApp, by: &str, username: &str, role: &str, region_id: &str) -> String {
    let d = app.ok(Some(by), CREATE_ACCOUNT, json!({ "u": username, "role": role, "r": region_id })).await;
    let initial = d["createAccount"]["initialPassword"].as_str().unwrap().to_owned();
    first_sign_in(app, username, &initial).await
}

/// The province, its two counties with their ADMINs, and the province's campaign
/// with the 2020 pilot's milestones, running from yesterday.
async fn province() -> Province {
    province_with(|_| {}).await
}

async fn province_with(tweak: impl FnOnce(&mut api::config::Config)) -> Province {
    let app = TestApp::empty_with(tweak).await;
    let path = app.data_dir.join("regions.csv");
    std::fs::write(&path, REGIONS).unwrap();
    let regions = path.display().to_string();
    let province_admin = init(&app, &regions, "130000000000", "hebei").await;
    let gucheng = init(&app, &regions, "131126000000", "gcadmin").await;
    let jingxian = init(&app, &regions, "131127000000", "jxadmin").await;
    let (ok, again) = api(&app, &["init", "--regions", &regions, "--region", "131127000000", "--admin", "x"], &[]);
    assert!(ok && again.contains("nothing changed"), "a county with its ADMIN is initialised once: {again}");
    let province_id = region(&app, &province_admin, "130000000000").await;
    let start = (chrono::Utc::now() + chrono::Duration::hours(8) - chrono::Duration::days(2)).date_naive();
    let d = app
        .ok(
            Some(&province_admin),
            "mutation($r: ID!, $s: NaiveDate!, $e: NaiveDate!) { createCampaign(name: \"河北省2026核验\", regionId: $r,
               startsOn: $s, endsOn: $e, template: PILOT_2020) { id region { code level } county { code } counties { code } } }",
            json!({ "r": province_id, "s": start.to_string(), "e": (start + chrono::Duration::days(20)).to_string() }),
        )
        .await;
    let c = &d["createCampaign"];
    assert_eq!(c["region"], json!({ "code": "130000000000", "level": "PROVINCE" }));
    assert_eq!(c["county"], Value::Null, "a province's campaign has no single county");
    assert_eq!(c["counties"], json!([]), "no county has joined yet");
    let campaign = c["id"].as_str().unwrap().to_owned();
    Province { app, province_admin, gucheng, jingxian, campaign }
}

async fn import(app: &TestApp, token: &str, name: &str, csv: &str, campaign: &str) -> Value {
    app.import(token, "POVERTY", name, csv.as_bytes().to_vec(), campaign).await
}

#[tokio::test]
async fn a_province_campaign_with_two_counties_adds_up_and_keeps_them_apart() {
    let p = province().await;
    let app = &p.app;
    // A county works in the province's campaign once it has joined it.
    let early = import(app, &p.gucheng, "poverty.csv", GUCHENG, &p.campaign).await;
    assert_eq!(code(&early), Some("CONFLICT"), "{early}");
    assert!(early["errors"][0]["message"].as_str().unwrap().contains("joinCampaign"), "{early}");
    let join = "mutation($c: ID!) { joinCampaign(campaignId: $c) { id joined counties { code } } }";
    for (token, csv, n) in [(&p.gucheng, GUCHENG, 3), (&p.jingxian, JINGXIAN, 2)] {
        let d = app.ok(Some(token), join, json!({ "c": p.campaign })).await;
        assert_eq!(d["joinCampaign"]["joined"], true);
        // Each county ADMIN sees only its own county among those taking part.
        assert_eq!(d["joinCampaign"]["counties"].as_array().unwrap().len(), 1, "{d}");
        let again = app.ok(Some(token), join, json!({ "c": p.campaign })).await;
        assert_eq!(again["joinCampaign"]["joined"], true, "joining twice changes nothing");
        let r = import(app, token, "poverty.csv", csv, &p.campaign).await;
        assert_eq!(r["data"]["importReferenceFile"]["accepted"], true, "{r}");
        assert_eq!(r["data"]["importReferenceFile"]["created"], n, "{r}");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM campaign_counties").await, 2);
    // The second county's import did not touch the first county's list.
    assert_eq!(app.count("SELECT COUNT(*) FROM reference_records WHERE current").await, 5);
    assert_eq!(app.count("SELECT COUNT(*) FROM households").await, 5);

    // A verifier in 故城县 submits one household.
    let village = region(app, &p.gucheng, "131126100200").await;
    let verifier = account(app, &p.gucheng, "v.zhanghouzhai", "VERIFIER", &village).await;
    let page = app.ok(Some(&verifier), "{ households(first: 5) { edges { node { id code } } } }", json!({})).await;
    let h = page["households"]["edges"][0]["node"]["id"].as_str().unwrap().to_owned();
    let saved = app.ok(Some(&verifier), SAVE, json!({ "i": appraised_input(&h, 0, false) })).await;
    let id = saved["saveVerification"]["id"].clone();
    // Submitting is refused while checks find problems (no appraisal list, no photos here).
    let refused = app.gql(Some(&verifier), SUBMIT, json!({ "id": id, "v": 1, "k": null })).await;
    assert_eq!(code(&refused), Some("VALIDATION"), "{refused}");
    // The same photo on households of two counties is found: exact copies are
    // looked for in the whole campaign, near copies within the counties.
    app.upload_photo(&verifier, &h, 7, false).await;
    let jx_village = region(app, &p.jingxian, "131127100200").await;
    let jx_verifier = account(app, &p.jingxian, "v.xiguan", "VERIFIER", &jx_village).await;
    let jx_page = app.ok(Some(&jx_verifier), "{ households(first: 1) { edges { node { id } } } }", json!({})).await;
    let jh = jx_page["households"]["edges"][0]["node"]["id"].as_str().unwrap().to_owned();
    app.ok(Some(&jx_verifier), SAVE, json!({ "i": appraised_input(&jh, 0, false) })).await;
    app.upload_photo(&jx_verifier, &jh, 7, false).await;
    let q = "query($id: ID!) { household(id: $id) { findings { rule } } }";
    let found = app.ok(Some(&jx_verifier), q, json!({ "id": jh })).await;
    assert!(found.to_string().contains("PHOTO_DUPLICATE"), "{found}");

    // A province SUPERVISOR's board is the sum of its two counties', figure by figure.
    let province_id = region(app, &p.province_admin, "130000000000").await;
    let supervisor = account(app, &p.province_admin, "hebei.watch", "SUPERVISOR", &province_id).await;
    let whole = app.ok(Some(&supervisor), BOARD, json!({ "c": p.campaign })).await["progress"].clone();
    assert_eq!(whole["region"]["code"], "130000000000", "a province viewer's board is the province's");
    assert_eq!(whole["households"], 5, "{whole}");
    let drafts =
        whole["byStatus"].as_array().unwrap().iter().find(|s| s["status"] == "DRAFT").unwrap()["count"].clone();
    assert_eq!(drafts, 2, "one draft in each county: {whole}");
    assert!(whole["openErrors"].as_i64().unwrap() > 0, "the checks' findings count upwards too: {whole}");
    let mut sums = json!({});
    for code in ["131126000000", "131127000000"] {
        let r = region(app, &supervisor, code).await;
        let b = app.ok(Some(&supervisor), BOARD, json!({ "r": r, "c": p.campaign })).await["progress"].clone();
        add_figures(&mut sums, &b);
    }
    let mut expected = json!({});
    add_figures(&mut expected, &whole);
    assert_eq!(sums, expected, "province = 故城县 + 景县");
    let city = region(app, &supervisor, "131100000000").await;
    let c = app.ok(Some(&supervisor), BOARD, json!({ "r": city, "c": p.campaign })).await["progress"].clone();
    let mut city_figures = json!({});
    add_figures(&mut city_figures, &c);
    assert_eq!(city_figures, expected, "the city holds both counties");
    // The supervisor sees both counties' households, and may not change anything.
    let all = app.ok(Some(&supervisor), "{ households(first: 10) { totalCount } }", json!({})).await;
    assert_eq!(all["households"]["totalCount"], 5);
    let refused = app.gql(Some(&supervisor), join, json!({ "c": p.campaign })).await;
    assert_eq!(code(&refused), Some("FORBIDDEN"), "{refused}");

    // 景县's ADMIN sees nothing of 故城县: not its households, board, region or records.
    let jx = &p.jingxian;
    let own = app.ok(Some(jx), "{ households(first: 10) { totalCount edges { node { code } } } }", json!({})).await;
    assert_eq!(own["households"]["totalCount"], 2);
    assert!(own["households"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["node"]["code"].as_str().unwrap().starts_with("131127")));
    let board = app.ok(Some(jx), BOARD, json!({ "c": p.campaign })).await["progress"].clone();
    assert_eq!((board["region"]["code"].as_str(), board["households"].as_i64()), (Some("131127000000"), Some(2)));
    let regions = app.ok(Some(jx), "{ regions { code } }", json!({})).await;
    assert!(!regions.to_string().contains("131126"), "the neighbour's regions are not listed: {regions}");
    let gucheng_id = region(app, &supervisor, "131126000000").await;
    let theirs = app.gql(Some(jx), BOARD, json!({ "r": gucheng_id, "c": p.campaign })).await;
    assert_eq!(code(&theirs), Some("NOT_FOUND"), "{theirs}");
    let filtered = app
        .gql(
            Some(jx),
            "query($r: ID!) { households(filter: { regionId: $r }) { totalCount } }",
            json!({ "r": gucheng_id }),
        )
        .await;
    assert!(matches!(code(&filtered), Some("NOT_FOUND" | "FORBIDDEN")), "{filtered}");
    let record = app.gql(Some(jx), "query($id: ID!) { node(id: $id) { id } }", json!({ "id": id })).await;
    assert!(record["data"]["node"].is_null() || code(&record) == Some("NOT_FOUND"), "{record}");
    let hh = app.gql(Some(jx), "query($id: ID!) { household(id: $id) { code } }", json!({ "id": h })).await;
    assert_eq!(code(&hh), Some("NOT_FOUND"), "{hh}");

    // Counters kept by every save and import equal a recount, at every level.
    let (ok, out) = api(app, &["recount"], &[]);
    assert!(ok && out.contains(": 0 counters drifted"), "{out}");
}

/// The figures a board shows, added into `into` (missing ones count 0).
fn add_figures(into: &mut Value, board: &Value) {
    let mut add = |k: String, n: i64| {
        let cur = into.get(&k).and_then(Value::as_i64).unwrap_or(0);
        into[k] = json!(cur + n);
    };
    for k in ["households", "submitted", "approved", "openErrors", "openWarnings"] {
        add(k.to_owned(), board[k].as_i64().unwrap());
    }
    for s in board["byStatus"].as_array().unwrap() {
        add(format!("status:{}", s["status"].as_str().unwrap()), s["count"].as_i64().unwrap());
    }
    for s in board["byExpectedPath"].as_array().unwrap() {
        add(format!("expected:{}", s["path"].as_str().unwrap()), s["count"].as_i64().unwrap());
    }
}

const MILESTONES: &str = "query($c: ID) { milestones(campaignId: $c) { id kind endsAt targetPercent campaignEndsAt
  campaignTargetPercent tightenedIn { code } } }";
const TIGHTEN: &str =
    "mutation($id: ID!, $e: DateTime, $t: Float) { tightenMilestone(id: $id, endsAt: $e, targetPercent: $t) {
  id endsAt targetPercent campaignEndsAt tightenedIn { code } } }";

fn verification(ms: &Value) -> Value {
    ms["milestones"].as_array().unwrap().iter().find(|m| m["kind"] == "VERIFICATION").cloned().unwrap()
}

fn at(v: &Value) -> chrono::DateTime<chrono::Utc> {
    v.as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_county_tightens_the_province_milestones_but_cannot_loosen_them() {
    let p = province().await;
    let app = &p.app;
    let join = "mutation($c: ID!) { joinCampaign(campaignId: $c) { id } }";
    for (t, csv) in [(&p.gucheng, GUCHENG), (&p.jingxian, JINGXIAN)] {
        app.ok(Some(t), join, json!({ "c": p.campaign })).await;
        let r = import(app, t, "poverty.csv", csv, &p.campaign).await;
        assert_eq!(r["data"]["importReferenceFile"]["accepted"], true, "{r}");
    }
    let base = verification(&app.ok(Some(&p.gucheng), MILESTONES, json!({ "c": p.campaign })).await);
    let (id, ends) = (base["id"].as_str().unwrap().to_owned(), at(&base["endsAt"]));
    assert_eq!(base["tightenedIn"], Value::Null);

    // Looser is refused, with the field and the limit named; nothing is stored.
    let later = (ends + chrono::Duration::days(1)).to_rfc3339();
    let r = app.gql_in(Some("en"), Some(&p.gucheng), TIGHTEN, json!({ "id": id, "e": later })).await;
    assert_eq!(code(&r), Some("VALIDATION"), "{r}");
    assert_eq!(r["errors"][0]["extensions"]["field"], "endsAt", "{r}");
    assert!(r["errors"][0]["message"].as_str().unwrap().contains("no later than"), "{r}");
    let lower = app.gql(Some(&p.gucheng), TIGHTEN, json!({ "id": id, "t": 90.0 })).await;
    assert_eq!(code(&lower), Some("VALIDATION"), "{lower}");
    assert_eq!(lower["errors"][0]["extensions"]["field"], "targetPercent");
    assert_eq!(app.count("SELECT COUNT(*) FROM milestone_overrides").await, 0);
    // The province's own milestone belongs to the province: a county only tightens it.
    let edit = "mutation($id: ID!, $e: DateTime) { updateMilestone(id: $id, endsAt: $e) { id } }";
    let r = app.gql(Some(&p.gucheng), edit, json!({ "id": id, "e": later })).await;
    assert_eq!(code(&r), Some("FORBIDDEN"), "{r}");

    // 故城县 finishes a day early.
    let earlier = ends - chrono::Duration::days(1);
    let d = app.ok(Some(&p.gucheng), TIGHTEN, json!({ "id": id, "e": earlier.to_rfc3339() })).await;
    let m = &d["tightenMilestone"];
    assert_eq!(at(&m["endsAt"]), earlier);
    assert_eq!(at(&m["campaignEndsAt"]), ends);
    assert_eq!(m["tightenedIn"]["code"], "131126000000");
    // Tightening again may not undo it either: its own earlier end is not the limit, the province's is.
    let half_day = ends - chrono::Duration::hours(12);
    let d = app.ok(Some(&p.gucheng), TIGHTEN, json!({ "id": id, "e": half_day.to_rfc3339(), "t": 100.0 })).await;
    assert_eq!(at(&d["tightenMilestone"]["endsAt"]), half_day);

    // Everyone in 故城县 works to its deadline; 景县 and the province keep the province's.
    let village = region(app, &p.gucheng, "131126100200").await;
    let verifier = account(app, &p.gucheng, "v.zhanghouzhai", "VERIFIER", &village).await;
    let seen = verification(&app.ok(Some(&verifier), MILESTONES, json!({})).await);
    assert_eq!((at(&seen["endsAt"]), seen["tightenedIn"]["code"].as_str()), (half_day, Some("131126000000")));
    let board = app.ok(Some(&verifier), BOARD, json!({})).await["progress"].clone();
    let on_board = board["milestones"].as_array().unwrap().iter().find(|m| m["kind"] == "VERIFICATION").unwrap();
    assert_eq!(at(&on_board["endsAt"]), half_day, "the village's board measures against its county's deadline");
    let other = verification(&app.ok(Some(&p.jingxian), MILESTONES, json!({ "c": p.campaign })).await);
    assert_eq!((at(&other["endsAt"]), &other["tightenedIn"]), (ends, &Value::Null));
    let top = verification(&app.ok(Some(&p.province_admin), MILESTONES, json!({ "c": p.campaign })).await);
    assert_eq!(at(&top["endsAt"]), ends);
    // The province's board lists its city with the province's deadline; the city's
    // board lists 故城县 with its own.
    let city = region(app, &p.province_admin, "131100000000").await;
    let q = "query($r: ID!, $c: ID) { region(id: $r) { progress(campaignId: $c) { behindPace(first: 10) {
      region { code } milestones { kind endsAt } } } } }";
    let rows = app.ok(Some(&p.province_admin), q, json!({ "r": city, "c": p.campaign })).await;
    let counties = rows["region"]["progress"]["behindPace"].as_array().unwrap().clone();
    assert_eq!(counties.len(), 2, "{rows}");
    for c in &counties {
        let v = c["milestones"].as_array().unwrap().iter().find(|m| m["kind"] == "VERIFICATION").unwrap();
        let want = if c["region"]["code"] == "131126000000" { half_day } else { ends };
        assert_eq!(at(&v["endsAt"]), want, "{c}");
    }
    // Each step is in the audit trail.
    let n = app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'MILESTONE_TIGHTENED'").await;
    assert_eq!(n, 2);
    // The province moving its deadline later does not loosen the county's.
    let r = app.ok(Some(&p.province_admin), edit, json!({ "id": id, "e": later })).await;
    assert!(r["updateMilestone"]["id"].is_string());
    let still = verification(&app.ok(Some(&p.gucheng), MILESTONES, json!({ "c": p.campaign })).await);
    assert_eq!(at(&still["endsAt"]), half_day);
}

/// A province's own webhook endpoint hears of the province's milestones at
/// risk, measured on the province's figures (its counties added up).
#[tokio::test]
async fn a_province_webhook_hears_of_its_milestones_at_risk() {
    let p = province_with(|c| {
        c.webhook_allow_http = true;
        c.webhook_allow_private = true;
        c.webhook_poll_ms = 50;
    })
    .await;
    let app = &p.app;
    let (url, rx) = crate::webhooks::receiver(0).await;
    // Record events are each county's: asked for here, they are refused, not silently never sent.
    let records = "mutation($u: String!) { createWebhook(url: $u, events: [MILESTONE_AT_RISK, VERIFICATION_APPROVED]) { webhook { id } } }";
    let r = app.gql(Some(&p.province_admin), records, json!({ "u": url })).await;
    assert_eq!((code(&r), r["errors"][0]["extensions"]["field"].as_str()), (Some("VALIDATION"), Some("events")), "{r}");
    let create = "mutation($u: String!) { createWebhook(url: $u, events: [MILESTONE_AT_RISK]) { webhook { id } } }";
    app.ok(Some(&p.province_admin), create, json!({ "u": url })).await;
    let join = "mutation($c: ID!) { joinCampaign(campaignId: $c) { id } }";
    for (t, csv) in [(&p.gucheng, GUCHENG), (&p.jingxian, JINGXIAN)] {
        app.ok(Some(t), join, json!({ "c": p.campaign })).await;
        let r = import(app, t, "poverty.csv", csv, &p.campaign).await;
        assert_eq!(r["data"]["importReferenceFile"]["accepted"], true, "{r}");
    }
    // What the province's board says is at risk, as the worker should report it.
    let board = app.ok(Some(&p.province_admin), BOARD, json!({ "c": p.campaign })).await;
    let at_risk: Vec<String> = board["progress"]["milestones"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["state"] == "AT_RISK")
        .map(|m| m["milestoneId"].as_str().unwrap().to_owned())
        .collect();
    assert!(!at_risk.is_empty(), "two days into the campaign with nothing submitted: {board}");
    let mut got = Vec::new();
    for _ in 0..300 {
        got = rx.got.lock().unwrap().iter().map(|(_, b)| serde_json::from_str::<Value>(b).unwrap()).collect();
        if got.len() >= at_risk.len() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let mut heard: Vec<String> =
        got.iter().map(|e| e["data"]["milestoneId"].as_str().unwrap_or_default().to_owned()).collect();
    heard.sort();
    let mut want = at_risk.clone();
    want.sort();
    assert_eq!(heard, want, "one event per milestone at risk: {got:#?}");
    assert!(got.iter().all(|e| e["event"] == "MILESTONE_AT_RISK" && e["data"]["campaign"] == "河北省2026核验"));
}
