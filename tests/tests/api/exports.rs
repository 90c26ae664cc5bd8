//! Issue 8: Excel and CSV exports, checked against the database; issue 18:
//! the household sheet first, real dates, hyperlinks and honest row counts.

use calamine::{Data, Reader, Xlsx};
use serde_json::json;
use tests::*;

const EXPORT: &str = "mutation($r: ID, $k: ExportKind!, $f: ExportFormat!) {
  exportReport(regionId: $r, kind: $k, format: $f) { fileName rows url expiresAt } }";

async fn export(
    app: &TestApp,
    token: &str,
    region: Option<&str>,
    kind: &str,
    format: &str,
) -> (serde_json::Value, Vec<u8>) {
    let d = app.ok(Some(token), EXPORT, json!({ "r": region, "k": kind, "f": format })).await;
    let e = d["exportReport"].clone();
    let resp = app.http.get(e["url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200, "download");
    (e, resp.bytes().await.unwrap().to_vec())
}

fn text(c: &Data) -> String {
    match c {
        Data::String(s) => s.clone(),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Empty => String::new(),
        other => other.to_string(),
    }
}

fn sheet(bytes: &[u8], name: &str) -> Vec<Vec<String>> {
    let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).expect("an xlsx file");
    let range = wb.worksheet_range(name).unwrap_or_else(|e| panic!("sheet {name}: {e}"));
    range.rows().map(|r| r.iter().map(text).collect()).collect()
}

async fn first_household(app: &TestApp, token: &str, skip: usize) -> (String, String) {
    let d = app.ok(Some(token), "{ households(first: 5) { nodes { id code } } }", json!({})).await;
    let n = &d["households"]["nodes"][skip];
    (n["id"].as_str().unwrap().to_owned(), n["code"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn the_county_workbook_matches_the_database_and_leaves_practice_out() {
    let app = TestApp::demo().await;
    let admin = app.token("admin").await;
    let verifier = app.token("v131126100200").await;
    let (real, real_code) = first_household(&app, &verifier, 0).await;
    let (practice, practice_code) = first_household(&app, &verifier, 1).await;
    let save = "mutation($h: ID!, $p: Boolean!) { saveVerification(input: { householdId: $h, version: 0, practice: $p, path: APPRAISED }) { id } }";
    app.ok(Some(&verifier), save, json!({ "h": real, "p": false })).await;
    app.ok(Some(&verifier), save, json!({ "h": practice, "p": true })).await;

    let (e, bytes) = export(&app, &admin, None, "HOUSEHOLDS", "XLSX").await;
    assert_eq!(e["rows"], 4553);
    assert!(e["fileName"].as_str().unwrap().ends_with(".xlsx"));
    let rows = sheet(&bytes, "核验明细");
    assert_eq!(rows[0][..4], ["户编号", "户主姓名", "证件号码", "乡镇"]);
    assert_eq!(rows.len(), 1 + 4553);
    // Every household once, in code order, as the database has them.
    let codes: Vec<String> = rows[1..].iter().map(|r| r[0].clone()).collect();
    let mut sorted = codes.clone();
    sorted.sort();
    assert_eq!(codes, sorted);
    assert_eq!(app.count("SELECT COUNT(DISTINCT code) FROM households").await, codes.len() as i64);
    let row = |code: &str| rows.iter().find(|r| r[0] == code).unwrap().clone();
    assert_eq!(row(&real_code)[8], "草稿");
    assert_eq!(row(&real_code)[6], "鉴定安全");
    assert_eq!(row(&practice_code)[8], "未开始", "practice entries never appear");
    assert!(!row(&real_code)[2].contains('*'), "ADMIN sees full ID numbers");
    assert!(row(&real_code)[15].contains("/households/Household:"));

    // The summary sheet: township totals equal the database's.
    let summary = sheet(&bytes, "汇总");
    assert_eq!(summary[0][..3], ["乡镇", "村", "户数"]);
    let total = summary.iter().find(|r| r[0] == "总计").unwrap();
    assert_eq!(total[2], "4553");
    assert_eq!(total[4], "1", "one draft, the practice one not counted");
    let township_totals: Vec<(String, String)> =
        summary.iter().filter(|r| r[1] == "合计").map(|r| (r[0].clone(), r[2].clone())).collect();
    assert_eq!(township_totals.len(), 13);
    for (name, n) in township_totals {
        let sql =
            format!("SELECT COUNT(*) FROM households h JOIN regions r ON r.id = h.township_id WHERE r.name = '{name}'");
        assert_eq!(app.count(&sql).await.to_string(), n, "{name}");
    }
}

#[tokio::test]
async fn csv_opens_in_excel_with_chinese_and_masks_ids_for_a_supervisor() {
    let app = TestApp::demo().await;
    let supervisor = app.token("supervisor").await;
    let (_, bytes) = export(&app, &supervisor, None, "HOUSEHOLDS", "CSV").await;
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "a UTF-8 byte-order mark, so Excel reads it as UTF-8");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    let mut lines = text.lines();
    assert!(lines.next().unwrap().starts_with("户编号,户主姓名,证件号码,乡镇,村"));
    let first = lines.next().unwrap();
    assert!(first.split(',').nth(2).unwrap().contains("********"), "masked for SUPERVISOR: {first}");
    assert_eq!(text.lines().count(), 1 + 4553);

    let (e, bytes) = export(&app, &supervisor, None, "SUMMARY", "CSV").await;
    assert_eq!(e["rows"], 312 + 13 + 1, "every row written: 312 villages, 13 township totals, the grand total");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert_eq!(text.lines().count() as i64 - 1, 326, "the count reported is the data rows in the file");
    assert!(text.starts_with("乡镇,村,户数,未开始"));
    assert!(text.lines().any(|l| l.starts_with("总计,,4553,4553")));
}

#[tokio::test]
async fn exports_stay_in_scope_and_links_cannot_be_forged() {
    let app = TestApp::demo().await;
    let verifier = app.token("v131126100200").await;
    let (e, bytes) = export(&app, &verifier, None, "HOUSEHOLDS", "XLSX").await;
    let own = app
        .count("SELECT COUNT(*) FROM households h JOIN regions r ON r.id = h.village_id WHERE r.code = '131126100200'")
        .await;
    assert_eq!(e["rows"], own);
    assert_eq!(sheet(&bytes, "核验明细").len() as i64, 1 + own);

    // Another region: not theirs.
    let admin = app.token("admin").await;
    let d = app.ok(Some(&admin), "{ regions(level: COUNTY) { id } }", json!({})).await;
    let county = d["regions"][0]["id"].as_str().unwrap();
    let body = app.gql(Some(&verifier), EXPORT, json!({ "r": county, "k": "SUMMARY", "f": "CSV" })).await;
    assert_eq!(code(&body), Some("NOT_FOUND"));

    // A tampered link is refused.
    let url = e["url"].as_str().unwrap();
    let forged = url.replace("sig=", "sig=0");
    assert_eq!(app.http.get(&forged).send().await.unwrap().status().as_u16(), 403);
    let other_name = url.replace("name=", "name=x");
    assert_eq!(app.http.get(&other_name).send().await.unwrap().status().as_u16(), 403);

    // Dashboards read the API; exports are for accounts.
    let d = app
        .ok(
            Some(&admin),
            "mutation($r: ID!) { createApiToken(name: \"x\", regionId: $r) { token } }",
            json!({ "r": county }),
        )
        .await;
    let token = d["createApiToken"]["token"].as_str().unwrap();
    let body = app.gql(Some(token), EXPORT, json!({ "k": "SUMMARY", "f": "CSV" })).await;
    assert_eq!(code(&body), Some("FORBIDDEN"));
}

/// A member of the xlsx file (a zip) as text.
fn member(bytes: &[u8], name: &str) -> String {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("an xlsx file is a zip");
    let mut text = String::new();
    zip.by_name(name).unwrap_or_else(|e| panic!("{name}: {e}")).read_to_string(&mut text).unwrap();
    text
}

/// The Excel serial date of a moment's China-time wall clock.
fn excel_serial(t: chrono::DateTime<chrono::Utc>) -> f64 {
    (t.timestamp() as f64 + 8.0 * 3600.0) / 86400.0 + 25569.0
}

#[tokio::test]
async fn the_workbook_opens_on_households_with_real_dates_hyperlinks_and_true_counts() {
    let app = TestApp::demo().await;
    let admin = app.token("admin").await;
    app.extend_look_back(&admin).await;
    let verifier = app.token("v131126100200").await;
    // One record submitted, so it has a submission time.
    let d = app
        .ok(Some(&verifier), "{ households(first: 1, filter: { expectedPath: [APPRAISED], hasOpenErrors: false }) { nodes { id code } } }", json!({}))
        .await;
    let (id, code) = (first_id(&d, "/households/nodes/0/id"), first_id(&d, "/households/nodes/0/code"));
    let save = "mutation($h: ID!) { saveVerification(input: { householdId: $h, version: 0, path: APPRAISED, appraisal: { confirmedOnSite: true } }) { id } }";
    let v = app.ok(Some(&verifier), save, json!({ "h": id })).await;
    app.upload_photo(&verifier, &id, 11, false).await;
    let before = chrono::Utc::now();
    app.ok(
        Some(&verifier),
        "mutation($id: ID!) { submitVerification(id: $id, version: 1) { status } }",
        json!({ "id": first_id(&v, "/saveVerification/id") }),
    )
    .await;
    let after = chrono::Utc::now();

    let (e, bytes) = export(&app, &admin, None, "HOUSEHOLDS", "XLSX").await;

    // The household sheet is sheet 0 (what pandas.read_excel reads) and the active one.
    let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.clone())).expect("an xlsx file");
    assert_eq!(wb.sheet_names(), ["核验明细", "汇总"]);
    let workbook = member(&bytes, "xl/workbook.xml");
    assert!(!workbook.contains("activeTab=") || workbook.contains("activeTab=\"0\""), "{workbook}");
    let sheet1 = member(&bytes, "xl/worksheets/sheet1.xml");
    assert!(sheet1.contains("tabSelected=\"1\""), "the household sheet is selected when the file opens");
    assert!(!member(&bytes, "xl/worksheets/sheet2.xml").contains("tabSelected=\"1\""));

    // The count reported is the data rows written.
    let range = wb.worksheet_range("核验明细").expect("the household sheet");
    let rows: Vec<&[Data]> = range.rows().collect();
    assert_eq!(e["rows"].as_i64(), Some(rows.len() as i64 - 1), "rows reported = data rows below the header");
    assert_eq!(e["rows"], 4553);

    // 提交时间 is an Excel date (a number with a date format), not text.
    let at = rows.iter().position(|r| text(&r[0]) == code).expect("the submitted household's row");
    match &rows[at][11] {
        Data::DateTime(t) => {
            assert!(t.is_datetime(), "a date-time format: {t:?}");
            let slack = 2.0 / 86400.0;
            assert!(
                t.as_f64() >= excel_serial(before) - slack && t.as_f64() <= excel_serial(after) + slack,
                "the submission time in China time: {} not in [{}, {}]",
                t.as_f64(),
                excel_serial(before),
                excel_serial(after)
            );
        }
        other => panic!("提交时间 must be a date, not {other:?}"),
    }
    assert!(matches!(rows[at][12], Data::Empty), "not approved: a blank 核准时间, not an empty string");

    // 记录链接 is a hyperlink on every row, to the record in the web app.
    assert_eq!(sheet1.matches("<hyperlink ").count(), 4553, "one hyperlink per household");
    assert!(sheet1.contains(&format!("<hyperlink ref=\"P{}\"", at + 1)), "row {} has its link", at + 1);
    let rels = member(&bytes, "xl/worksheets/_rels/sheet1.xml.rels");
    assert!(rels.contains("TargetMode=\"External\""), "{rels}");
    assert!(rels.contains(&format!("/households/{id}\"")), "the record's address is a link target");
    let shown = text(&rows[at][15]);
    assert!(
        shown.starts_with("http") && shown.ends_with(&format!("/households/{id}")),
        "the link shows its address: {shown}"
    );

    // A SUMMARY workbook: its one sheet, and every row of it counted.
    let (e, bytes) = export(&app, &admin, None, "SUMMARY", "XLSX").await;
    let summary = sheet(&bytes, "汇总");
    assert_eq!(e["rows"].as_i64(), Some(summary.len() as i64 - 1));
    assert_eq!(e["rows"], 326);
}
