//! Issue 13 (part): a real county's first day, from an empty database to the
//! first submitted verification, through `api init`, `api campaign create`,
//! the API and `api import --as`, with no demo data anywhere.

use crate::workflow::{appraised_input, SAVE, SUBMIT};
use serde_json::{json, Value};
use tests::*;

const CHANGE: &str = "mutation($c: String!, $n: String!) { changePassword(current: $c, new: $n) { accessToken } }";
const ISSUE: &str =
    "mutation($r: ID!, $c: String) { issueAccounts(regionId: $r, confirm: $c) { accounts { username role initialPassword region { code } } } }";

/// Runs the `api` binary on the test's database; returns (success, stdout + stderr).
pub(crate) fn api(app: &TestApp, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let out = std::process::Command::new(api_binary())
        .args(args)
        .env("DATABASE_URL", &app.db_url)
        .env("APP_DATA_DIR", &app.data_dir)
        .env("APP_LOG", "warn")
        .env_remove("APP_ADMIN_PASSWORD")
        .envs(env.iter().copied())
        .output()
        .expect("run api");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

fn fixture_file(app: &TestApp, name: &str) -> String {
    let path = app.data_dir.join(name);
    std::fs::write(&path, fixture("gucheng-120-utf8", name)).unwrap();
    path.display().to_string()
}

/// Signs in with an initial password and changes it; returns the new access token.
pub(crate) async fn first_sign_in(app: &TestApp, username: &str, initial: &str) -> String {
    let s = app.sign_in(username, initial).await;
    assert_eq!(s["mustChangePassword"], true, "{s}");
    let t = s["accessToken"].as_str().unwrap().to_owned();
    let d = app.ok(Some(&t), CHANGE, json!({ "c": initial, "n": "Gucheng-2020-safe" })).await;
    d["changePassword"]["accessToken"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_county_starts_from_nothing_and_reaches_its_first_submission() {
    let app = TestApp::empty().await;
    assert_eq!(app.count("SELECT COUNT(*) FROM regions").await, 0);
    let regions = fixture_file(&app, "regions.csv");
    let (ok, out) = api(&app, &["init", "--regions", &regions, "--admin", "chief"], &[]);
    assert!(ok, "{out}");
    let initial = out.lines().find_map(|l| l.split("initial password: ").nth(1)).expect("password printed").trim();
    let (ok, again) = api(&app, &["init", "--regions", &regions, "--admin", "other"], &[]);
    assert!(ok && again.contains("nothing changed"), "{again}");
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 1);

    let admin = first_sign_in(&app, "chief", initial).await;
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive(); // China time
    let (start, end) = (today.to_string(), (today + chrono::Duration::days(10)).to_string());
    let args = ["campaign", "create", "--as", "chief", "--county", "131126000000", "--name", "2026 核验"];
    let (ok, out) = api(&app, &[&args[..], &["--starts-on", &start, "--ends-on", &end]].concat(), &[]);
    assert!(ok, "{out}");
    let ms = app.ok(Some(&admin), "{ milestones { kind state } campaigns { id } }", json!({})).await;
    let kinds: Vec<&str> = ms["milestones"].as_array().unwrap().iter().map(|m| m["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["TRAINING", "VERIFICATION", "LOOK_BACK"]);
    let campaign = ms["campaigns"][0]["id"].as_str().unwrap().to_owned();

    for name in ["poverty-households.csv", "housing-appraisals.csv"] {
        let kind = if name.starts_with("poverty") { "POVERTY" } else { "APPRAISAL" };
        let r = app.import(&admin, kind, name, fixture("gucheng-120-utf8", name), &campaign).await;
        assert_eq!(r["data"]["importReferenceFile"]["accepted"], true, "{r}");
    }
    let renovations = fixture_file(&app, "housing-renovations.csv");
    let (ok, out) = api(&app, &["import", "--as", "chief", "--kind", "renovation", "--file", &renovations], &[]);
    assert!(ok, "{out}");
    let by: Value = app
        .ok(Some(&admin), "{ auditEvents(action: \"IMPORT_DONE\") { edges { node { actorName } } } }", json!({}))
        .await;
    let actors: Vec<&str> = by["auditEvents"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["actorName"].as_str().unwrap())
        .collect();
    assert_eq!(actors, ["chief", "chief", "chief"], "every import is recorded as the account that made it");
    // Without --as the command line acts as the one ADMIN covering the region (here, a township).
    let sheet = app.data_dir.join("sheet.html").display().to_string();
    let (ok, out) = api(&app, &["issue-accounts", "--region", "131126100000", "--out", &sheet], &[]);
    assert!(ok && out.contains("Issued"), "{out}");
    let issued = app
        .ok(Some(&admin), "{ auditEvents(action: \"ACCOUNT_ISSUED\") { edges { node { actorName } } } }", json!({}))
        .await;
    assert!(issued["auditEvents"]["edges"].as_array().unwrap().iter().any(|e| e["node"]["actorName"] == "chief"));

    submit_first_verification(&app, &admin).await;
    // The same template through the API, for next year's campaign.
    let county = app.ok(Some(&admin), "{ regions(level: COUNTY) { id } }", json!({})).await["regions"][0]["id"].clone();
    let next = app
        .ok(
            Some(&admin),
            "mutation($c: ID!) { createCampaign(name: \"2027 复核\", countyId: $c, startsOn: \"2027-05-14\",
               endsOn: \"2027-05-31\", template: PILOT_2020) { milestones { kind startsAt endsAt } } }",
            json!({ "c": county }),
        )
        .await;
    let ms = next["createCampaign"]["milestones"].as_array().unwrap();
    assert_eq!(ms.len(), 3);
    assert_eq!(ms[1]["kind"], "VERIFICATION");
    // Household verification runs May 15–19 inclusive, China time, as in the 2020 pilot.
    assert_eq!(ms[1]["startsAt"], "2027-05-14T16:00:00+00:00");
    assert_eq!(ms[1]["endsAt"], "2027-05-19T16:00:00+00:00");
    // Only the 120 households of the poverty office's list: no demo data anywhere.
    assert_eq!(app.count("SELECT COUNT(*) FROM households").await, 120);
}

/// Issues accounts, then a verifier enters, photographs and submits one appraised household.
async fn submit_first_verification(app: &TestApp, admin: &str) {
    let county = app.ok(Some(admin), "{ regions(level: COUNTY) { id } }", json!({})).await["regions"][0]["id"].clone();
    // The command line issued a township's accounts before: re-issuing them is confirmed.
    let issued = app.ok(Some(admin), ISSUE, json!({ "r": county, "c": "131126000000" })).await;
    let d = app
        .ok(
            Some(admin),
            "{ households(first: 1, filter: { expectedPath: [APPRAISED] }) { edges { node { id village { code } } } } }",
            json!({}),
        )
        .await;
    let node = &d["households"]["edges"][0]["node"];
    let (h, village) = (node["id"].as_str().unwrap(), node["village"]["code"].as_str().unwrap());
    let post = issued["issueAccounts"]["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["region"]["code"] == village)
        .expect("an account for the household's village");
    let v = first_sign_in(app, post["username"].as_str().unwrap(), post["initialPassword"].as_str().unwrap()).await;
    let saved = app.ok(Some(&v), SAVE, json!({ "i": appraised_input(h, 0, false) })).await;
    let id = saved["saveVerification"]["id"].as_str().unwrap().to_owned();
    app.upload_photo(&v, h, 7, false).await;
    let s = app.ok(Some(&v), SUBMIT, json!({ "id": id, "v": 1 })).await;
    assert_eq!(s["submitVerification"]["status"], "SUBMITTED", "{s}");
}
