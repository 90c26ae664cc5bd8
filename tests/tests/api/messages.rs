//! Messages people read come from the one catalogue: zh-CN by default,
//! English on request, with the same stable key (`extensions.reason`, an
//! import row's `code`) either way.

use crate::workflow::{appraised_input, households_with_verifiers, SAVE, SUBMIT};
use serde_json::{json, Value};
use tests::{code, TestApp};

const SIGN_IN: &str = "mutation($u: String!, $p: String!) { signIn(username: $u, password: $p) { accessToken } }";

fn first(body: &Value) -> (&str, &str) {
    let e = &body["errors"][0];
    (e["extensions"]["reason"].as_str().unwrap_or(""), e["message"].as_str().unwrap_or(""))
}

/// Asks the same thing in the default language and in English: same code and
/// key, Chinese then English words, and the key is in the shared catalogue.
async fn both(app: &TestApp, token: Option<&str>, query: &str, vars: Value) -> (String, String, String) {
    let zh = app.gql(token, query, vars.clone()).await;
    let en = app.gql_in(Some("en-US,en;q=0.9"), token, query, vars).await;
    assert_eq!(code(&zh), code(&en), "{zh:#} {en:#}");
    let ((kz, mz), (ke, me)) = (first(&zh), first(&en));
    assert_eq!(kz, ke, "{zh:#} {en:#}");
    assert!(messages::template(kz, false).is_some(), "{kz} is not in the catalogue: {zh:#}");
    assert!(mz.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "not Chinese: {mz}");
    (kz.to_owned(), mz.to_owned(), me.to_owned())
}

#[tokio::test]
async fn refusals_speak_chinese_by_default_and_english_on_request() {
    let app = TestApp::demo().await;
    let (key, zh, en) = both(&app, None, SIGN_IN, json!({ "u": "admin", "p": "wrong-password-1" })).await;
    assert_eq!(key, "BAD_CREDENTIALS");
    assert_eq!((zh.as_str(), en.as_str()), ("用户名或密码不正确。", "The username or password is incorrect."));

    // A workflow refusal with arguments: the demo's look-back ended in 2020.
    let admin = app.token("admin").await;
    let (h, verifier) = households_with_verifiers(&app, &admin, "131126100000", "APPRAISED").await.remove(0);
    let v = app.token(&verifier).await;
    let d = app.ok(Some(&v), SAVE, json!({ "i": appraised_input(&h, 0, false) })).await;
    let id = d["saveVerification"]["id"].as_str().unwrap().to_owned();
    let (key, zh, en) = both(&app, Some(&v), SUBMIT, json!({ "id": id, "v": 1 })).await;
    assert_eq!(key, "SUBMISSIONS_CLOSED");
    assert!(zh.contains("回头看已于 2020-") && zh.contains("不能再提交"), "{zh}");
    assert!(en.starts_with("Submissions closed when the look-back review ended (2020-"), "{en}");

    // A stale version names the record's state in the reader's language.
    let (key, zh, en) = both(&app, Some(&v), SAVE, json!({ "i": appraised_input(&h, 0, false) })).await;
    assert_eq!(key, "CHANGED_MEANWHILE");
    assert!(zh.contains("第 1 版") && zh.contains("草稿"), "{zh}");
    assert!(en.contains("version 1, status a draft"), "{en}");

    // Validation, and a role refusal that names the action.
    let (key, zh, _) = both(&app, Some(&admin), "{ households(first: 501) { totalCount } }", json!({})).await;
    assert_eq!((key.as_str(), zh.as_str()), ("FIRST_RANGE", "`first` 须在 0 到 500 之间。"));
    let (key, zh, en) = both(&app, Some(&v), "{ accounts(first: 1) { edges { cursor } } }", json!({})).await;
    assert_eq!(key, "ROLE_MAY_NOT");
    assert_eq!((zh.as_str(), en.as_str()), ("您的角色不能查看账号。", "Your role may not list accounts."));
}

#[tokio::test]
async fn import_reasons_follow_the_readers_language_with_a_stable_code() {
    let app = TestApp::demo().await;
    let admin = app.token("admin").await;
    let campaign = crate::imports::new_campaign(&app, &admin, "语言").await;
    let file = "户编号,户主姓名,证件号码,鉴定日期\n1311261002001001,张三,131126196111189806,2019-05-01\n";
    let zh = app.import(&admin, "APPRAISAL", "a.csv", file.as_bytes().to_vec(), &campaign).await;
    let zh = &zh["data"]["importReferenceFile"]["errors"][0];
    assert_eq!((zh["code"].as_str(), zh["column"].as_str()), (Some("IMPORT_COLUMN_MISSING"), Some("鉴定等级")), "{zh}");
    assert!(zh["reason"].as_str().unwrap().starts_with("缺少必填列“鉴定等级”"), "{zh}");
    let en = app.import_in("en", &admin, "APPRAISAL", "a.csv", file.as_bytes().to_vec(), &campaign).await;
    let en = &en["data"]["importReferenceFile"]["errors"][0];
    assert_eq!(en["code"], "IMPORT_COLUMN_MISSING");
    assert!(en["reason"].as_str().unwrap().starts_with("Required column '鉴定等级' is missing"), "{en}");
}
