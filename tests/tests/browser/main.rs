//! The web app in a real headless Chromium (Debian's chromium + chromedriver)
//! against the real API (SQLite, demo county). scripts/test.sh builds the app
//! into TEST_WEB_DIST first. Screenshots go to SCREENSHOT_DIR (default
//! `screenshots/` at the repository root).

mod graphiql;
mod harness;
mod levels;

use harness::*;
use serde_json::json;
use tests::{TestApp, DEMO_PASSWORD};

const VILLAGE: &str = "v131126100200";
const TOWNSHIP: &str = "t131126100";

/// The first not-started household of the demo's first village.
async fn household_of(app: &TestApp, token: &str) -> (String, String) {
    let d = app
        .ok(
            Some(token),
            "{ households(first: 1, filter: { status: [NOT_STARTED], expectedPath: [APPRAISED] }) { nodes { id code } } }",
            json!({}),
        )
        .await;
    let n = &d["households"]["nodes"][0];
    (n["id"].as_str().unwrap().to_owned(), n["code"].as_str().unwrap().to_owned())
}

/// Issues fresh accounts for the first township; returns the initial
/// passwords of its township account and of its first village's.
async fn initial_passwords(app: &TestApp) -> (String, String) {
    let admin = app.token("admin").await;
    let d = app.ok(Some(&admin), "{ regions(level: TOWNSHIP) { id code } }", json!({})).await;
    let township = d["regions"].as_array().unwrap().iter().find(|r| r["code"] == "131126100000").unwrap()["id"].clone();
    let d = app
        .ok(
            Some(&admin),
            "mutation($r: ID!) { issueAccounts(regionId: $r, confirm: \"131126100000\") { accounts { username initialPassword } } }",
            json!({ "r": township }),
        )
        .await;
    let of = |user: &str| {
        d["issueAccounts"]["accounts"].as_array().unwrap().iter().find(|a| a["username"] == user).unwrap()
            ["initialPassword"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    (of(TOWNSHIP), of(VILLAGE))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verifier_enters_township_approves_board_updates_live() {
    let env = Env::start(false).await;
    let app = &env.app;
    // The demo campaign is 2020's: reopen submissions by extending its last window.
    app.extend_look_back(&app.token("admin").await).await;
    let (township_initial, initial) = initial_passwords(app).await;

    // The county board, open on a desktop before anything happens.
    let board = env.browser(1280, 900).await;
    board.sign_in("supervisor", DEMO_PASSWORD).await;
    board.wait_text("#board-title", "故城县").await;
    let submitted_before: i64 = board.text("#kpi-submitted").await.trim().parse().unwrap();
    board.wait_for("#children-chart svg").await;
    board.shot("county-board-desktop").await;

    // The verifier on a phone: sign-in from the QR link, forced password change.
    let phone = env.browser(360, 780).await;
    phone.goto(&format!("/sign-in?u={VILLAGE}")).await;
    assert_eq!(phone.value("#username").await, VILLAGE, "the QR link fills in the username");
    phone.shot("sign-in-phone").await;
    phone.fill("#password", &initial).await;
    phone.click("#sign-in").await;
    phone.wait_for("#new-password").await;
    phone.fill("#current-password", &initial).await;
    phone.fill("#new-password", "Zhanghouzhai-2020").await;
    phone.fill("#repeat-password", "Zhanghouzhai-2020").await;
    phone.click("#save-password").await;
    phone.wait_for("#household-list li").await;
    phone.shot("household-list-phone").await;

    let verifier = app.sign_in(VILLAGE, "Zhanghouzhai-2020").await["accessToken"].as_str().unwrap().to_owned();
    let (household, code) = household_of(app, &verifier).await;
    phone.fill("#search", &code).await;
    phone.press_enter("#search").await;
    phone.wait_count(&format!("#household-list li[data-code='{code}']"), 1).await;
    phone.click(&format!("#household-list li[data-code='{code}'] a")).await;
    phone.wait_for("#entry").await;
    phone.wait_for("#references").await;

    // The entry: appraised safe, confirmed on site, a real photo, submit.
    phone.click("input[name=path][value=APPRAISED]").await;
    phone.click("#confirmed").await;
    phone.fill("#notes", "现场核实，房屋完好").await;
    let photo = env.photo_file(7);
    phone.upload("#photo", &photo).await;
    phone.wait_for("#preview").await;
    phone.wait_for("#household-queue li[data-state=sent]").await;
    // The stored photo's thumbnail comes back from the server.
    phone.wait_for("#photos img").await;
    phone.shot("entry-with-photo-phone").await;
    phone.click("#submit").await;
    phone.wait_attr("#status-badge", "data-status", "SUBMITTED").await;
    let d = app
        .ok(
            Some(&verifier),
            "query($id: ID!) { household(id: $id) { verification { status notes } photos { id } } }",
            json!({ "id": household }),
        )
        .await;
    assert_eq!(d["household"]["verification"]["status"], "SUBMITTED");
    assert_eq!(d["household"]["verification"]["notes"], "现场核实，房屋完好");
    assert_eq!(d["household"]["photos"].as_array().unwrap().len(), 1, "the photo reached the store");

    // The county board moved without a reload.
    board.wait_text("#kpi-submitted", &(submitted_before + 1).to_string()).await;

    // The township specialist approves it from the review queue.
    let township = env.browser(1280, 900).await;
    township.goto(&format!("/sign-in?u={TOWNSHIP}")).await;
    township.fill("#password", &township_initial).await;
    township.click("#sign-in").await;
    township.fill("#current-password", &township_initial).await;
    township.fill("#new-password", "Zhengkou-town-2020").await;
    township.fill("#repeat-password", "Zhengkou-town-2020").await;
    township.click("#save-password").await;
    township.wait_for(&format!("#review-list li[data-code='{code}']")).await;
    // Below the queue: the township's progress by village.
    township.wait_for("#board #children-chart svg").await;
    township.shot("township-review-desktop").await;
    township.click(&format!("#review-list li[data-code='{code}'] button.approve")).await;
    township.wait_gone(&format!("#review-list li[data-code='{code}']")).await;
    let d = app
        .ok(
            Some(&verifier),
            "query($id: ID!) { household(id: $id) { verification { status } } }",
            json!({ "id": household }),
        )
        .await;
    assert_eq!(d["household"]["verification"]["status"], "APPROVED");
    let approved: i64 = board.text("#kpi-approved").await.trim().parse().unwrap();
    board.wait_text("#kpi-approved", &(approved + 1).to_string()).await;
    board.shot("county-board-after-approval").await;
    // The burn-up has its actual lines and dates; milestones read in Chinese.
    board.wait_for("#burn-up polyline.actual").await;
    let line = board
        .client
        .execute("return document.querySelector('#burn-up polyline.actual').getAttribute('points')", vec![])
        .await
        .unwrap();
    assert!(
        line.as_str().unwrap().trim().contains(' '),
        "one day of data is drawn as a line, not a lone point: {line}"
    );
    board.wait_text("#milestones", "回头看").await;
    board.assert_chinese_except("board", &["Excel", "CSV", "GeoJSON"]).await;
    // The map: one mark per village with a position; a tap opens that village's board.
    let d = app.ok(Some(&app.token("admin").await), "{ regions(level: VILLAGE) { name latitude } }", json!({})).await;
    let placed: Vec<&str> = d["regions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r["latitude"].is_null())
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(!placed.is_empty());
    board.wait_count("#village-map circle.village", placed.len()).await;
    let _ = board.client.execute("document.querySelector('#village-map').scrollIntoView()", vec![]).await;
    board.shot("county-board-map-desktop").await;
    let href = board
        .client
        .execute("return document.querySelector('#map-geojson').getAttribute('href')", vec![])
        .await
        .unwrap();
    assert!(href.as_str().unwrap().starts_with("blob:"), "a GeoJSON download");
    board.click("#village-map circle.village").await;
    board.wait_for("#board-title").await;
    let title = board.text("#board-title").await;
    assert!(placed.contains(&title.trim()), "drilled down to a village: {title}");

    // Phone-width board and English; the board loads its data once.
    let boards = || async {
        let text = app.http.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
        text.lines()
            .filter(|l| l.starts_with("hsv_graphql_requests_total{operation=\"Board\""))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum::<u64>()
    };
    let before = boards().await;
    let phone_board = env.browser(360, 780).await;
    phone_board.sign_in("supervisor", DEMO_PASSWORD).await;
    phone_board.wait_for("#children-chart svg").await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(boards().await - before, 1, "one Board query per load");
    phone_board.shot("county-board-phone").await;
    phone_board.assert_no_sideways_scroll("board").await;
    for page in ["/findings", "/households"] {
        phone_board.goto(page).await;
        phone_board.wait_for("main section").await;
        phone_board.assert_no_sideways_scroll(page).await;
    }
    // A supervisor typing /admin gets 无权限, and no form.
    phone_board.goto("/admin").await;
    phone_board.wait_text("#forbidden", "无权限").await;
    assert_eq!(phone_board.find_all("#import-kind").await + phone_board.find_all("#issue").await, 0, "no admin form");
    phone_board.goto("/board").await;
    phone_board.click("#lang").await;
    phone_board.wait_text("#board-title", "故城县").await;
    phone_board.wait_text("#kpis", "Households").await;

    // The township's pages on a phone, too.
    let township_phone = env.browser(360, 780).await;
    township_phone.sign_in(TOWNSHIP, "Zhengkou-town-2020").await;
    for page in ["/review", "/households", "/board", "/findings"] {
        township_phone.goto(page).await;
        township_phone.wait_for("main section").await;
        township_phone.assert_no_sideways_scroll(page).await;
    }

    for b in [&board, &phone, &township, &phone_board, &township_phone] {
        b.assert_no_errors().await;
    }
    env.stop(vec![board, phone, township, phone_board, township_phone]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verifier_cannot_open_another_villages_household_by_url() {
    let env = Env::start(false).await;
    let app = &env.app;
    let other = app.token("v131126100201").await;
    let (foreign, _) = household_of(app, &other).await;
    let b = env.browser(360, 780).await;
    b.sign_in(VILLAGE, DEMO_PASSWORD).await;
    b.wait_for("#household-list li").await;
    b.goto(&format!("/households/{}", foreign)).await;
    b.wait_attr("#household-error [data-code]", "data-code", "NOT_FOUND").await;
    assert_eq!(b.find_all("#entry").await, 0, "no entry form for another village's household");
    assert_eq!(b.find_all("#references").await, 0, "nothing of the foreign household is shown");
    b.assert_no_errors().await;
    env.stop(vec![b]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_made_offline_is_kept_and_sent_once_when_back_online() {
    let env = Env::start(true).await;
    let app = &env.app;
    let verifier = app.token(VILLAGE).await;
    let (household, code) = household_of(app, &verifier).await;
    let b = env.browser(360, 780).await;
    b.sign_in(VILLAGE, DEMO_PASSWORD).await;
    b.wait_for("#household-list li").await;
    download_village(&b).await;

    // The network goes (API and web server, the browser offline): the app
    // reloads, lists the village and opens a household never opened before.
    env.network(false, &[&b]).await;
    b.reload().await;
    b.wait_for(&format!("#household-list li[data-code='{code}']")).await;
    b.wait_for(".banner.offline").await;
    b.click(&format!("#household-list li[data-code='{code}'] a")).await;
    b.wait_for("#entry").await;
    b.wait_text("#references", "户主").await;
    b.goto(&format!("/households/{household}")).await;
    b.wait_for("#entry").await;

    // The verifier types, reloads (nothing lost), saves.
    b.click("input[name=path][value=APPRAISED]").await;
    b.click("#confirmed").await;
    b.fill("#notes", "离线录入").await;
    b.reload().await;
    b.wait_for("#entry").await;
    assert_eq!(b.value("#notes").await, "离线录入", "typed text survives a reload offline");
    b.click("#save-draft").await;
    b.wait_for("#household-queue li[data-state=waiting]").await;
    b.wait_for(".banner.offline").await;
    b.reload().await;
    b.wait_for("#household-queue li[data-state=waiting]").await;
    b.goto("/outbox").await;
    b.wait_text("ul.queue", &code).await;
    b.shot("outbox-offline-phone").await;
    b.assert_chinese("outbox, offline").await;
    b.assert_no_sideways_scroll("outbox").await;
    let saved = "SELECT COUNT(*) FROM audit_events WHERE action = 'VERIFICATION_SAVED'";
    assert_eq!(app.count(saved).await, 0, "nothing reached the server while offline");

    // The verifier signs out with the entry unsent (warned first); another
    // account on the same phone, online, neither sends nor sees it.
    b.click("#sign-out").await;
    b.accept_confirm().await;
    b.wait_for("#username").await;
    env.network(true, &[&b]).await;
    let d = app.ok(Some(&app.token("admin").await), "{ regions(level: VILLAGE) { code } }", json!({})).await;
    let other = d["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .find(|c| *c != &VILLAGE[1..])
        .unwrap();
    b.sign_in(&format!("v{other}"), DEMO_PASSWORD).await;
    b.goto("/outbox").await;
    b.wait_text("section", "没有").await;
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    assert_eq!(b.find_all("ul.queue li").await, 0, "another account's outbox is not shown");
    assert_eq!(app.count(saved).await, 0, "another account never sends it");
    b.click("#sign-out").await;
    b.wait_for("#username").await;

    // Its owner signs in again: the queue sends it, once.
    b.sign_in(VILLAGE, DEMO_PASSWORD).await;
    b.goto("/outbox").await;
    b.wait_for("ul.queue li[data-state=sent]").await;
    let d = app
        .ok(
            Some(&verifier),
            "query($id: ID!) { household(id: $id) { verification { status notes } } }",
            json!({ "id": household }),
        )
        .await;
    assert_eq!(d["household"]["verification"]["status"], "DRAFT");
    assert_eq!(d["household"]["verification"]["notes"], "离线录入");
    // A later reload must not send it again.
    b.reload().await;
    b.wait_for("ul.queue li[data-state=sent]").await;
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    assert_eq!(app.count(saved).await, 1, "the entry was sent exactly once");
    b.assert_no_errors().await;
    env.stop(vec![b]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_screens_import_tokens_accounts_milestones_findings_history() {
    let env = Env::start(false).await;
    let app = &env.app;
    // Before the accounts step below re-issues the village's password.
    let verifier = app.token(VILLAGE).await;
    let b = env.browser(1280, 900).await;
    b.sign_in("admin", DEMO_PASSWORD).await;

    // A spreadsheet with a bad grade on row 3 is refused whole, with the row named.
    let fixture = String::from_utf8(tests::fixture("gucheng-120-utf8", "housing-appraisals.csv")).unwrap();
    let mut lines: Vec<String> = fixture.lines().map(str::to_owned).collect();
    let mut row3: Vec<String> = lines[2].split(',').map(str::to_owned).collect();
    row3[3] = "E".into();
    lines[2] = row3.join(",");
    let file = env.file("bad-appraisals.csv", lines.join("\n").as_bytes());
    let before = app.count("SELECT COUNT(*) FROM reference_records").await;
    b.goto("/admin").await;
    b.wait_for("#import-kind").await.select_by_value("APPRAISAL").await.unwrap();
    b.upload("#import-file", &file).await;
    b.click("#import-upload").await;
    b.wait_text("#import-errors", "鉴定等级").await;
    b.wait_text("#import-errors tbody tr td", "3").await;
    b.shot("admin-import-report-desktop").await;
    assert_eq!(app.count("SELECT COUNT(*) FROM reference_records").await, before, "nothing imported");

    // A good file: the screen previews first (nothing written), then applies on request.
    let good = env.file("housing-appraisals.csv", &tests::fixture("gucheng-120-utf8", "housing-appraisals.csv"));
    b.upload("#import-file", &good).await;
    b.click("#import-upload").await;
    b.wait_for("#import-report[data-dry-run='true']").await;
    b.shot("admin-import-preview-desktop").await;
    assert_eq!(app.count("SELECT COUNT(*) FROM reference_records").await, before, "a preview writes nothing");
    let current = "SELECT COUNT(*) FROM reference_records WHERE current = true";
    let current_before = app.count(current).await;
    b.click("#import-apply").await;
    b.wait_for("#import-report[data-dry-run='false']").await;
    assert!(app.count("SELECT COUNT(*) FROM reference_records").await > before, "applied after the preview");
    assert_ne!(app.count(current).await, current_before);
    // Applied by mistake? Undone after a confirmation: the lists are as before.
    b.click("#import-undo").await;
    b.accept_confirm().await;
    b.wait_for("#import-undone").await;
    assert_eq!(app.count(current).await, current_before, "the undo restored the lists");

    // An API token: shown once, works, then revoked from the list.
    b.click("#tab-tokens").await;
    b.fill("#token-name", "扶贫办大屏").await;
    b.wait_for("#region option").await;
    b.click("#create-token").await;
    let token = b.text("#new-token").await;
    let q = "{ households(first: 1) { totalCount } }";
    assert_eq!(app.ok(Some(&token), q, json!({})).await["households"]["totalCount"], 4553);
    b.wait_text("#tokens", "扶贫办大屏").await;
    b.click("#tokens button.danger").await;
    b.accept_confirm().await;
    b.wait_text("#tokens .revoked", "已吊销 20").await;
    assert_eq!(tests::code(&app.gql(Some(&token), q, json!({})).await), Some("UNAUTHENTICATED"));

    reissue_a_township(&b, app).await;

    // A milestone's target, edited.
    b.click("#tab-milestones").await;
    let target = "[data-kind=LOOK_BACK] input[type=number]";
    b.fill(target, "95").await;
    b.click("[data-kind=LOOK_BACK] button").await;
    let admin = app.token("admin").await;
    let mut ok = false;
    for _ in 0..50 {
        let d = app.ok(Some(&admin), "{ milestones { kind targetPercent } }", json!({})).await;
        if d["milestones"].as_array().unwrap().iter().any(|m| m["kind"] == "LOOK_BACK" && m["targetPercent"] == 95.0) {
            ok = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ok, "the milestone's target was saved");

    // The findings list (the demo's 57 warnings) leads to a household and its history.
    b.goto("/findings").await;
    b.wait_for("#findings-page ul.cards li").await;
    b.shot("findings-desktop").await;
    // Paged 50 at a time, and filtered by rule (named in Chinese).
    b.wait_count("#findings-list li", 50).await;
    b.click("#findings-more").await;
    b.wait_for("#findings-list li:nth-child(51)").await;
    let rule = b
        .client
        .execute("return document.querySelector('#rule-filter option:nth-child(2)').value", vec![])
        .await
        .unwrap();
    let rule = rule.as_str().unwrap().to_owned();
    b.wait_for("#rule-filter").await.select_by_value(&rule).await.unwrap();
    b.wait_gone(&format!("#findings-list li:not([data-rule='{rule}'])")).await;
    b.wait_for(&format!("#findings-list li[data-rule='{rule}']")).await;
    // By township: the same findings the API gives for it.
    let township = b
        .client
        .execute("return document.querySelector('#region-filter option:nth-child(2)').value", vec![])
        .await
        .unwrap();
    let township = township.as_str().unwrap().to_owned();
    let q = "query($r: ID, $rule: String) { findings(regionId: $r, rule: $rule, first: 50) { nodes { id } } }";
    let admin = app.token("admin").await;
    let d = app.ok(Some(&admin), q, json!({ "r": township, "rule": rule })).await;
    let want = d["findings"]["nodes"].as_array().unwrap().len();
    b.wait_for("#region-filter").await.select_by_value(&township).await.unwrap();
    b.wait_count("#findings-list li", want).await;
    b.assert_chinese("findings").await;
    b.click("#findings-page ul.cards li a").await;
    b.wait_for("#references").await;
    let (household, _) = household_of(app, &verifier).await;
    let save = "mutation($h: ID!) { saveVerification(input: { householdId: $h, version: 0, path: APPRAISED }) { id } }";
    app.ok(Some(&verifier), save, json!({ "h": household })).await;
    // The board's Excel export (the browser then downloads it from the link).
    b.goto("/board").await;
    b.click("#export-summary").await;
    let mut exported = 0;
    for _ in 0..100 {
        exported = app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'EXPORT_CREATED'").await;
        if exported > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(exported, 1, "one export generated from the board");
    // The page sends the browser to the file's link once the answer arrives;
    // navigating before that would be cancelled by it (seen on a loaded machine).
    for _ in 0..250 {
        if !b.disabled("#export-summary").await {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(!b.disabled("#export-summary").await, "the export finished on the page");

    b.goto(&format!("/households/{household}")).await;
    b.click("#history summary").await;
    b.wait_text("#history ol.history", "VERIFICATION_SAVED").await;

    // Last (it becomes the latest campaign): a new campaign with the pilot's three milestones.
    b.goto("/admin").await;
    b.click("#tab-milestones").await;
    b.fill("#campaign-name", "2027年住房安全核验").await;
    b.wait_for("#campaign-county option").await;
    b.set_value("#campaign-starts", "2027-03-01").await;
    b.set_value("#campaign-ends", "2027-06-30").await;
    b.click("#campaign-create").await;
    b.wait_text("#campaign-created", "2027年住房安全核验").await;
    let d = app.ok(Some(&app.token("admin").await), "{ campaigns { name milestones { kind } } }", json!({})).await;
    let made = d["campaigns"].as_array().unwrap().iter().find(|c| c["name"] == "2027年住房安全核验").cloned();
    assert_eq!(made.map(|c| c["milestones"].as_array().unwrap().len()), Some(3), "{d}");

    // The admin screens fit a phone too.
    let phone = env.browser(360, 780).await;
    phone.sign_in("admin", DEMO_PASSWORD).await;
    phone.goto("/admin").await;
    for tab in ["#tab-import", "#tab-accounts", "#tab-milestones", "#tab-tokens"] {
        phone.click(tab).await;
        phone.assert_no_sideways_scroll(tab).await;
    }
    b.assert_no_errors().await;
    env.stop(vec![b, phone]).await;
}

/// What `serve-web` sends a phone: the field bundle, precompressed by what the
/// browser accepts, hashed names cached for good, index.html revalidated.
async fn assert_served_light(web: &str) {
    let http = reqwest::Client::new();
    let index = http.get(format!("{web}/households/x")).send().await.unwrap();
    assert_eq!(index.headers()["cache-control"], "no-cache", "deep links get index.html, revalidated");
    let html = index.text().await.unwrap();
    let wasm = html.split('\'').find(|s| s.starts_with("/field-") && s.ends_with(".wasm")).expect("the field bundle");
    for (accept, encoding) in [("br, gzip", "br"), ("gzip", "gzip")] {
        let r = http.get(format!("{web}{wasm}")).header("accept-encoding", accept).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-encoding"], encoding, "{accept}");
        assert_eq!(r.headers()["cache-control"], "public, max-age=31536000, immutable");
        assert_eq!(r.headers()["content-type"], "application/wasm");
    }
}

/// One page, no reload: refused before anything is queued when incomplete or
/// mistyped (in Chinese, next to the field), then save, edit, save again and
/// submit, with 85.5 m² kept exactly; read-only once submitted. The closed
/// window is said before the form, not after submit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entry_on_one_page_save_edit_save_submit_with_checked_numbers() {
    let env = Env::start(false).await;
    assert_served_light(&env.web).await;
    let app = &env.app;
    let verifier = app.token(VILLAGE).await;
    let (household, code) = household_of(app, &verifier).await;
    let phone = env.browser(360, 780).await;
    phone.goto("/sign-in").await;
    phone.wait_for("#username").await;
    phone.assert_no_sideways_scroll("sign-in").await;
    phone.sign_in(VILLAGE, DEMO_PASSWORD).await;
    search_as_typed(&phone, &code).await;
    phone.goto(&format!("/households/{household}")).await;
    phone.wait_text("#submissions-closed", "提交已截止").await;
    assert!(phone.disabled("#submit").await, "no submit while the window is closed");
    phone.assert_no_sideways_scroll("household").await;
    app.extend_look_back(&app.token("admin").await).await;
    phone.reload().await;
    phone.wait_for("#entry").await;
    phone.wait_gone("#submissions-closed").await;

    // Incomplete: refused next to the field, in Chinese; nothing queued or saved.
    phone.click("#submit").await;
    phone.wait_text("#path-error", "请选择住房安全方式").await;
    phone.click("input[name=path][value=APPRAISED]").await;
    phone.click("#confirmed").await;
    let lat = record_location(&phone, app, &verifier, &household).await;
    phone.click("#entry details summary").await;
    phone.fill("#floor-area", "85.5").await;
    phone.fill("#occupants", "1.5").await;
    phone.click("#save-draft").await;
    phone.wait_text("#occupants-error", "居住人数须为 0 到 50 的整数").await;
    phone.assert_chinese("household, refused fields").await;
    assert_eq!(phone.value("#floor-area").await, "85.5", "what was typed stays as typed");
    assert_eq!(phone.find_all("#household-queue li").await, 0, "nothing queued");
    let q = "query($id: ID!) { household(id: $id) { verification { status version notes latitude houseFacts { floorArea occupants } } } }";
    let v = |d: serde_json::Value| d["household"]["verification"].clone();
    assert!(v(app.ok(Some(&verifier), q, json!({ "id": household })).await).is_null());

    // Save, edit, save again: each save continues from the version the last one returned.
    phone.fill("#occupants", "3").await;
    phone.click("#save-draft").await;
    phone.wait_count("#household-queue li[data-state=sent]", 1).await;
    phone.fill("#notes", "东屋墙体有裂缝，已加固").await;
    phone.click("#save-draft").await;
    phone.wait_count("#household-queue li[data-state=sent]", 2).await;
    let rec = v(app.ok(Some(&verifier), q, json!({ "id": household })).await);
    assert_eq!((rec["version"].as_i64(), rec["notes"].as_str()), (Some(2), Some("东屋墙体有裂缝，已加固")), "{rec}");
    assert_eq!(
        (rec["houseFacts"]["floorArea"].as_f64(), rec["houseFacts"]["occupants"].as_i64()),
        (Some(85.5), Some(3))
    );
    assert_eq!(rec["latitude"].as_f64(), Some(lat), "the recorded position went with the entry");

    // The photo, then submit on the same page: no conflict, no "save first".
    phone.upload("#photo", &env.photo_file(11)).await;
    phone.wait_count("#household-queue li[data-state=sent]", 3).await;
    phone.click("#submit").await;
    phone.wait_attr("#status-badge", "data-status", "SUBMITTED").await;
    assert_eq!(phone.find_all("#household-queue li[data-state=refused]").await, 0);
    assert!(phone.disabled("#notes").await && phone.disabled("#submit").await, "read-only once submitted");
    let rec = v(app.ok(Some(&verifier), q, json!({ "id": household })).await);
    assert_eq!((rec["status"].as_str(), rec["houseFacts"]["floorArea"].as_f64()), (Some("SUBMITTED"), Some(85.5)));
    phone.shot("entry-submitted-phone").await;
    phone.assert_chinese("household, submitted").await;
    phone.assert_no_sideways_scroll("household, submitted").await;
    phone.assert_no_errors().await;
    env.stop(vec![phone]).await;
}

/// Search as the verifier types (no Enter): the code's last digits find the
/// household; nothing found says so and offers to clear.
async fn search_as_typed(phone: &Browser, code: &str) {
    phone.wait_for("#household-list li").await;
    phone.assert_no_sideways_scroll("household list").await;
    phone.fill("#search", &code[11..]).await;
    phone.wait_for(&format!("#household-list li[data-code='{code}']")).await;
    phone.fill("#search", "无此户").await;
    phone.wait_text("#no-results", "没有找到").await;
    phone.click("#clear-search").await;
    phone.wait_gone("#no-results").await;
    phone.wait_for("#household-list li").await;
}

/// Location: a refused permission is said; a (mocked) position beside the
/// village centre is recorded. Returns the latitude recorded.
async fn record_location(phone: &Browser, app: &TestApp, verifier: &str, household: &str) -> f64 {
    let mock = |body: &str| {
        format!("Object.defineProperty(navigator.geolocation, 'getCurrentPosition', {{ configurable: true, value: {body} }});")
    };
    phone.client.execute(&mock("(ok, err) => err({ code: 1 })"), vec![]).await.unwrap();
    phone.click("#record-location").await;
    phone.wait_text("#location-error", "未允许定位").await;
    // On site: beside the village centre.
    let d = app
        .ok(
            Some(&verifier),
            "query($id: ID!) { household(id: $id) { village { latitude longitude } } }",
            json!({ "id": household }),
        )
        .await;
    let (lat, lon) = (
        d["household"]["village"]["latitude"].as_f64().unwrap() + 0.0003,
        d["household"]["village"]["longitude"].as_f64().unwrap(),
    );
    let here = format!("(ok) => ok({{ coords: {{ latitude: {lat}, longitude: {lon}, accuracy: 12 }} }})");
    phone.client.execute(&mock(&here), vec![]).await.unwrap();
    phone.click("#record-location").await;
    phone.wait_text("#location", "±12 m").await;
    lat
}

/// Before going out: the village is downloaded (no household opened yet),
/// and the service worker holds the app.
async fn download_village(b: &Browser) {
    b.click("#download-village").await;
    b.wait_text("#downloaded", "已下载").await;
    b.shot("village-downloaded-phone").await;
    b.assert_chinese("household list").await;
    let controlled = async || {
        let v = b.client.execute("return !!navigator.serviceWorker.controller", vec![]).await.ok()?;
        (v == json!(true)).then_some(())
    };
    for _ in 0..100 {
        if controlled().await.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(controlled().await.is_some(), "the service worker controls the page");
}

/// Accounts of a township already in use: the re-issue lists who will be
/// reset and needs the region code typed; then the old sessions are refused
/// and there is one row per township and village, with a printable sheet.
async fn reissue_a_township(b: &Browser, app: &TestApp) {
    let admin = app.token("admin").await;
    let d = app.ok(Some(&admin), "{ regions(level: TOWNSHIP) { id code } }", json!({})).await;
    let other = d["regions"].as_array().unwrap().iter().find(|r| r["code"] != "131126100000").unwrap().clone();
    let (id, code) = (other["id"].as_str().unwrap(), other["code"].as_str().unwrap());
    let post = format!("t{}", &code[..9]);
    let old = app.token(&post).await;
    b.click("#tab-accounts").await;
    b.wait_for("#region option").await;
    b.wait_for("#region").await.select_by_value(id).await.unwrap();
    b.click("#issue").await;
    b.wait_text("#reset-confirm", &post).await;
    assert_eq!(b.find_all("#issued tbody tr").await, 0, "nothing issued before the confirmation");
    b.fill("#confirm-code", code).await;
    b.click("#confirm-issue").await;
    b.wait_for("#issued tbody tr").await;
    assert!(b.find_all("#issued tbody tr").await > 1, "the township and its villages");
    b.wait_for("#print-sheet").await;
    let refused = app.gql(Some(&old), "{ me { username } }", json!({})).await;
    assert_eq!(tests::code(&refused), Some("UNAUTHENTICATED"), "the old access token stopped working");
    let old_password = app
        .gql(
            None,
            "mutation($u: String!, $p: String!) { signIn(username: $u, password: $p) { accessToken } }",
            json!({ "u": post, "p": DEMO_PASSWORD }),
        )
        .await;
    assert_eq!(tests::code(&old_password), Some("UNAUTHENTICATED"), "the old password stopped working");
}

/// Saves, photographs and submits an appraised household as its verifier.
async fn submit_with_photo(app: &TestApp, v: &str, h: &str, seed: u32) {
    app.upload_photo(v, h, seed, false).await;
    let save = "mutation($i: SaveVerificationInput!) { saveVerification(input: $i) { id version } }";
    let input = json!({ "householdId": h, "version": 0, "practice": false, "path": "APPRAISED", "appraisal": { "confirmedOnSite": true } });
    let d = app.ok(Some(v), save, json!({ "i": input })).await;
    let (id, version) = (d["saveVerification"]["id"].clone(), d["saveVerification"]["version"].clone());
    let submit = "mutation($id: ID!, $v: Int!) { submitVerification(id: $id, version: $v) { status } }";
    app.ok(Some(v), submit, json!({ "id": id, "v": version })).await;
}

/// The township on a phone: cards with photo, evidence and findings; a return
/// needs its reason; bulk approval brings the checks up to date first, lists
/// a record whose photo turned out to be another household's as excluded, and
/// approves the rest, each with its result.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn township_reviews_with_photos_findings_and_a_safe_bulk_approval() {
    let env = Env::start(false).await;
    let app = &env.app;
    app.extend_look_back(&app.token("admin").await).await;
    let v = app.token(VILLAGE).await;
    let q =
        "{ households(first: 3, filter: { status: [NOT_STARTED], expectedPath: [APPRAISED] }) { nodes { id code } } }";
    let d = app.ok(Some(&v), q, json!({})).await;
    let n: Vec<(String, String)> = d["households"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["id"].as_str().unwrap().to_owned(), h["code"].as_str().unwrap().to_owned()))
        .collect();
    let ((a, a_code), (b, b_code), (c, _)) = (&n[0], &n[1], &n[2]);
    submit_with_photo(app, &v, a, 21).await;
    submit_with_photo(app, &v, b, 22).await;
    // After A was submitted, the same picture turns up on C.
    app.upload_photo(&v, c, 21, false).await;

    let phone = env.browser(360, 780).await;
    phone.sign_in(TOWNSHIP, DEMO_PASSWORD).await;
    phone.wait_for(&format!("#review-list li[data-code='{a_code}'] img.thumb")).await;
    phone.wait_text(&format!("#review-list li[data-code='{b_code}'] .evidence"), "鉴定安全").await;
    phone.assert_no_sideways_scroll("review").await;
    // Current at the moment of display: the duplicate found since A was submitted is on its card.
    phone.wait_for(&format!("#review-list li[data-code='{a_code}'] li[data-rule=PHOTO_DUPLICATE]")).await;
    phone.shot("review-queue-phone").await;
    // A return without a reason is refused, and says why.
    let ret = format!("#review-list li[data-code='{b_code}'] button.return");
    phone.click(&ret).await;
    phone.click(&ret).await;
    phone.wait_text(&format!("#review-list li[data-code='{b_code}'] .return-reason-error"), "请填写退回原因").await;

    phone.click("#bulk-approve").await;
    phone.wait_for(&format!("#bulk-results li[data-code='{b_code}'][data-result=approved]")).await;
    phone.wait_text(&format!("#bulk-results li[data-code='{a_code}'][data-result=excluded]"), "照片与其他户相同").await;
    let q = "query($a: ID!, $b: ID!) { a: household(id: $a) { verification { status } } b: household(id: $b) { verification { status } } }";
    let d = app.ok(Some(&v), q, json!({ "a": a, "b": b })).await;
    assert_eq!(
        (d["a"]["verification"]["status"].as_str(), d["b"]["verification"]["status"].as_str()),
        (Some("SUBMITTED"), Some("APPROVED"))
    );
    phone.assert_chinese("review, after bulk approval").await;
    phone.assert_no_errors().await;
    env.stop(vec![phone]).await;
}

/// A weak signal in the township: an approval reaches the API but its answer
/// never reaches the phone. The review screen sends it again with the same
/// idempotency key and shows it approved, with no error and one approval.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_whose_answer_was_lost_is_sent_again_and_applied_once() {
    let env = Env::start(true).await;
    let app = &env.app;
    app.extend_look_back(&app.token("admin").await).await;
    let v = app.token(VILLAGE).await;
    let (h, code) = household_of(app, &v).await;
    submit_with_photo(app, &v, &h, 31).await;

    let phone = env.browser(360, 780).await;
    phone.sign_in(TOWNSHIP, DEMO_PASSWORD).await;
    let card = format!("#review-list li[data-code='{code}']");
    phone.wait_for(&format!("{card} button.approve")).await;
    let proxy = env.proxy.as_ref().unwrap();
    // Three in a row: more than Chromium's own silent resend of a POST on a
    // reused connection covers, so the app's own resend (with its key) must do it.
    proxy.lose_answers("approveVerification", 3);
    phone.click(&format!("{card} button.approve")).await;
    // Approved, the card leaves the queue of submitted records, and nothing was shown as an error.
    phone.wait_gone(&card).await;
    assert_eq!(proxy.lost(), 3, "three answers were lost on the way");
    let shown =
        if phone.find_all("#review .error").await > 0 { phone.text("#review .error").await } else { String::new() };
    assert_eq!(shown, "", "no error is shown for the lost answer");
    let hist =
        "query($id: ID!) { household(id: $id) { verification { status } history(first: 50) { nodes { action } } } }";
    let d = app.ok(Some(&v), hist, json!({ "id": h })).await;
    assert_eq!(d["household"]["verification"]["status"], "APPROVED");
    let approvals = d["household"]["history"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "VERIFICATION_APPROVED")
        .count();
    assert_eq!(approvals, 1, "{d}");
    phone.assert_no_errors().await;
    env.stop(vec![phone]).await;
}
