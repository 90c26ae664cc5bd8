//! Issue 19 in the browser: the province opens a campaign; the county's ADMIN,
//! on the admin screen, joins it, is refused a looser household-verification
//! deadline (in Chinese, with the limit), tightens it by a day instead, and
//! sees the tightening marked; the API agrees.

use crate::harness::*;
use serde_json::json;
use tests::{api_binary, DEMO_PASSWORD};

/// The province's ADMIN, made with `api init` on the demo's region tree; returns a token.
async fn province_admin(app: &tests::TestApp) -> String {
    let list = app.data_dir.join("province.csv");
    std::fs::write(&list, "\u{feff}区划代码,名称,级别,上级区划代码\n130000000000,河北省,省,\n").unwrap();
    let out = tokio::process::Command::new(api_binary())
        .args(["init", "--regions", &list.display().to_string(), "--region", "130000000000", "--admin", "hebei"])
        .env("DATABASE_URL", &app.db_url)
        .env("APP_DATA_DIR", &app.data_dir)
        .env("APP_LOG", "warn")
        .env_remove("APP_ADMIN_PASSWORD")
        .output()
        .await
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    let initial = said.lines().find_map(|l| l.split("initial password: ").nth(1)).expect(&said).trim().to_owned();
    let t = app.sign_in("hebei", &initial).await["accessToken"].as_str().unwrap().to_owned();
    let q = "mutation($c: String!, $n: String!) { changePassword(current: $c, new: $n) { accessToken } }";
    let d = app.ok(Some(&t), q, json!({ "c": initial, "n": "Province-2026-safe" })).await;
    d["changePassword"]["accessToken"].as_str().unwrap().to_owned()
}

/// A datetime-local value moved by `hours`.
fn shifted(local: &str, hours: i64) -> String {
    let t = chrono::NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M").expect(local);
    (t + chrono::Duration::hours(hours)).format("%Y-%m-%dT%H:%M").to_string()
}

#[tokio::test]
async fn a_county_joins_the_province_campaign_and_tightens_a_deadline() {
    let env = Env::start(false).await;
    let app = &env.app;
    let hebei = province_admin(app).await;
    let province =
        app.ok(Some(&hebei), "{ regions(level: PROVINCE) { id } }", json!({})).await["regions"][0]["id"].clone();
    let start = (chrono::Utc::now() + chrono::Duration::hours(8) - chrono::Duration::days(1)).date_naive();
    let q =
        "mutation($r: ID!, $s: NaiveDate!, $e: NaiveDate!) { createCampaign(name: \"河北省住房安全核验\", regionId: $r,
      startsOn: $s, endsOn: $e, template: PILOT_2020) { id } }";
    let vars = json!({ "r": province, "s": start.to_string(), "e": (start + chrono::Duration::days(20)).to_string() });
    let campaign = app.ok(Some(&hebei), q, vars).await["createCampaign"]["id"].as_str().unwrap().to_owned();

    let b = env.browser(1280, 900).await;
    b.sign_in("admin", DEMO_PASSWORD).await;
    b.goto("/admin").await;
    b.click("#tab-milestones").await;
    let card = format!("[data-campaign='{campaign}']");
    b.wait_text(&card, "河北省").await;
    b.click(&format!("{card} .join-campaign")).await;
    let row = format!("{card}[data-mode=tighten] [data-kind=VERIFICATION]");
    let input = format!("{row} input[type=datetime-local]");
    b.wait_for(&input).await;
    b.wait_text(&format!("{row} .limit"), "上级规定").await;
    let set_above = b.value(&input).await;

    // Later than the province allows: refused, saying so in Chinese.
    b.set_value(&input, &shifted(&set_above, 24)).await;
    b.click(&format!("{row} button")).await;
    b.wait_text(&row, "不能晚于").await;
    // A day earlier: accepted and marked as this county's tightening.
    b.set_value(&input, &shifted(&set_above, -24)).await;
    b.click(&format!("{row} button")).await;
    b.wait_for(&format!("{row} .tightened")).await;
    b.wait_text(&format!("{row} .tightened"), "故城县").await;
    b.shot("milestone-tightened").await;

    let admin = app.token("admin").await;
    let q = "query($c: ID) { milestones(campaignId: $c) { kind endsAt campaignEndsAt tightenedIn { code } } }";
    let d = app.ok(Some(&admin), q, json!({ "c": campaign })).await;
    let m = d["milestones"].as_array().unwrap().iter().find(|m| m["kind"] == "VERIFICATION").unwrap().clone();
    assert_eq!(m["tightenedIn"]["code"], "131126000000", "{m}");
    let at = |v: &serde_json::Value| v.as_str().unwrap().parse::<chrono::DateTime<chrono::Utc>>().unwrap();
    assert_eq!(at(&m["campaignEndsAt"]) - at(&m["endsAt"]), chrono::Duration::hours(24), "{m}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM campaign_counties").await,
        2,
        "the demo's own campaign and the province's"
    );
    env.stop(vec![b]).await;
}
