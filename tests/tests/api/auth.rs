//! Issue 3: sign-in, sessions, throttling, forced password change, tokens,
//! masking, region scope, bulk issuing, API tokens, audit.

use base64::Engine;
use serde_json::{json, Value};
use tests::*;

const ME: &str = "{ me { username role mustChangePassword } }";
const HOUSEHOLD_IDS: &str = "query($f: HouseholdFilter) { households(first: 5, filter: $f) {
  totalCount edges { node { id code idNumber phone village { id name } township { id } } } } }";

async fn sign_in_from(app: &TestApp, user: &str, pw: &str, addr: &str) -> Value {
    let resp = app
        .http
        .post(format!("{}/graphql", app.base))
        .header("x-forwarded-for", addr)
        .json(&json!({ "query": SIGN_IN, "variables": { "u": user, "p": pw } }))
        .send()
        .await
        .unwrap();
    resp.json().await.unwrap()
}

#[tokio::test]
async fn wrong_password_and_unknown_account_look_the_same() {
    let app = TestApp::demo().await;
    let a = app.gql(None, SIGN_IN, json!({ "u": "admin", "p": "wrong-password" })).await;
    let b = app.gql(None, SIGN_IN, json!({ "u": "nobody-here", "p": "wrong-password" })).await;
    assert_eq!(code(&a), Some("UNAUTHENTICATED"));
    assert_eq!(a["errors"][0]["message"], b["errors"][0]["message"]);
    assert_eq!(code(&a), code(&b));
    // Usernames are not case-sensitive; the right password works.
    let ok = app.sign_in("ADMIN", DEMO_PASSWORD).await;
    assert_eq!(ok["account"]["role"], "ADMIN");
    assert_eq!(ok["mustChangePassword"], false);
}

#[tokio::test]
async fn repeated_failures_lock_the_account_and_the_address() {
    let app = TestApp::demo_with(|c| c.trust_forwarded_for = true).await;
    // Per account: five failures from five addresses lock the username everywhere.
    for i in 1..=5 {
        let r = sign_in_from(&app, "v131126100200", "bad-password", &format!("10.9.0.{i}")).await;
        assert_eq!(code(&r), Some("UNAUTHENTICATED"));
    }
    let locked = sign_in_from(&app, "v131126100200", DEMO_PASSWORD, "10.9.0.77").await;
    assert_eq!(code(&locked), Some("RATE_LIMITED"), "{locked:#}");
    assert!(locked["errors"][0]["extensions"]["retryAfterSeconds"].as_i64().unwrap() > 0);
    // A username that does not exist is throttled the same way (existence is not told).
    for _ in 1..=5 {
        sign_in_from(&app, "ghost", "bad-password", "10.9.1.1").await;
    }
    // Per address: that address is now locked for every account...
    let from_same = sign_in_from(&app, "admin", DEMO_PASSWORD, "10.9.1.1").await;
    assert_eq!(code(&from_same), Some("RATE_LIMITED"));
    // ...while the same account from elsewhere still signs in.
    let elsewhere = sign_in_from(&app, "admin", DEMO_PASSWORD, "10.9.1.2").await;
    assert!(elsewhere.get("errors").is_none(), "{elsewhere:#}");
}

const CHANGE: &str = "mutation($c: String!, $n: String!) { changePassword(current: $c, new: $n) {
  accessToken refreshToken mustChangePassword } }";
const ISSUE: &str = "mutation($r: ID!, $c: String) { issueAccounts(regionId: $r, confirm: $c) {
  accounts { username role initialPassword reset signInUrl qrSvg region { code name } } printableHtml } }";

async fn region_id(app: &TestApp, token: &str, level: &str, code: &str) -> String {
    let d =
        app.ok(Some(token), "query($l: RegionLevel) { regions(level: $l) { id code } }", json!({ "l": level })).await;
    d["regions"].as_array().unwrap().iter().find(|r| r["code"] == code).expect("region")["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn issued_accounts_must_change_the_initial_password_first() {
    let app = TestApp::demo().await;
    let admin = app.token("admin").await;
    let township = region_id(&app, &admin, "TOWNSHIP", "131126100000").await;
    // Re-issuing resets accounts in use: it lists them and needs the region code typed.
    let live = app.ok(Some(&admin), "query($r: ID!) { accountsToReset(regionId: $r) }", json!({ "r": township })).await;
    let live: Vec<&str> = live["accountsToReset"].as_array().unwrap().iter().map(|u| u.as_str().unwrap()).collect();
    assert_eq!(live[0], "t131126100");
    assert!(live.contains(&"v131126100200") && live.len() > 10, "{live:?}");
    let old_token = app.token("v131126100200").await;
    assert!(app.gql(Some(&old_token), "{ me { username } }", json!({})).await.get("errors").is_none());
    for wrong in [None, Some("131126000000")] {
        let r = app.gql(Some(&admin), ISSUE, json!({ "r": township, "c": wrong })).await;
        assert_eq!(code(&r), Some("CONFLICT"), "{r:#}");
        assert_eq!(r["errors"][0]["extensions"]["reason"], "ISSUE_CONFIRM_RESET");
    }
    assert_eq!(
        app.gql(None, SIGN_IN, json!({ "u": "v131126100200", "p": DEMO_PASSWORD })).await["errors"],
        Value::Null,
        "nothing was reset"
    );
    let sheet = app.ok(Some(&admin), ISSUE, json!({ "r": township, "c": "131126100000" })).await;
    // Its sessions ended: the access token issued before the reset is refused at once.
    let refused = app.gql(Some(&old_token), "{ me { username } }", json!({})).await;
    assert_eq!(code(&refused), Some("UNAUTHENTICATED"), "{refused:#}");
    let accounts = sheet["issueAccounts"]["accounts"].as_array().unwrap().clone();
    assert!(accounts.len() > 10, "township + its villages");
    assert_eq!(accounts[0]["username"], "t131126100");
    assert_eq!(accounts[0]["role"], "TOWNSHIP");
    let village = accounts.iter().find(|a| a["username"] == "v131126100200").unwrap();
    assert_eq!(village["role"], "VERIFIER");
    assert_eq!(village["reset"], true, "demo account existed: its password is reset");
    let initial = village["initialPassword"].as_str().unwrap().to_owned();

    // The demo password no longer works; the initial one does, with a forced change.
    let old = app.gql(None, SIGN_IN, json!({ "u": "v131126100200", "p": DEMO_PASSWORD })).await;
    assert_eq!(code(&old), Some("UNAUTHENTICATED"));
    let s = app.sign_in("v131126100200", &initial).await;
    assert_eq!(s["mustChangePassword"], true);
    let pending = s["accessToken"].as_str().unwrap().to_owned();
    let blocked = app.gql(Some(&pending), HOUSEHOLD_IDS, json!({})).await;
    assert_eq!(code(&blocked), Some("PASSWORD_CHANGE_REQUIRED"));
    let me = app.ok(Some(&pending), ME, json!({})).await;
    assert_eq!(me["me"]["mustChangePassword"], true);

    // Each refusal has its own catalogue key and says why in Chinese (the default).
    for (new, reason, zh) in [
        ("short1", "PASSWORD_TOO_SHORT", "至少 10"),
        (initial.as_str(), "PASSWORD_UNCHANGED", "不能与当前密码相同"),
        ("v131126100200-pass", "PASSWORD_HAS_USERNAME", "用户名"),
        ("onlyletterslong", "PASSWORD_TOO_SIMPLE", "至少两类"),
    ] {
        let r = app.gql(Some(&pending), CHANGE, json!({ "c": initial, "n": new })).await;
        assert_eq!(code(&r), Some("VALIDATION"), "{new}: {r:#}");
        assert_eq!(r["errors"][0]["extensions"]["reason"], reason, "{r:#}");
        assert!(r["errors"][0]["message"].as_str().unwrap().contains(zh), "{r:#}");
    }
    let wrong_current = app.gql(Some(&pending), CHANGE, json!({ "c": "not-it", "n": "Brand-new-2020" })).await;
    assert_eq!(code(&wrong_current), Some("VALIDATION"));

    let changed = app.ok(Some(&pending), CHANGE, json!({ "c": initial, "n": "Brand-new-2020" })).await;
    assert_eq!(changed["changePassword"]["mustChangePassword"], false);
    let fresh = changed["changePassword"]["accessToken"].as_str().unwrap();
    let d = app.ok(Some(fresh), HOUSEHOLD_IDS, json!({})).await;
    assert!(d["households"]["totalCount"].as_u64().unwrap() > 0);
    assert_eq!(
        code(&app.gql(None, SIGN_IN, json!({ "u": "v131126100200", "p": initial })).await),
        Some("UNAUTHENTICATED")
    );
    assert_eq!(app.sign_in("v131126100200", "Brand-new-2020").await["mustChangePassword"], false);

    // The sheet is printable and carries a QR code per account.
    let html = sheet["issueAccounts"]["printableHtml"].as_str().unwrap();
    for a in &accounts {
        assert!(html.contains(a["username"].as_str().unwrap()));
        assert!(a["qrSvg"].as_str().unwrap().contains("<svg"));
        assert!(a["signInUrl"].as_str().unwrap().ends_with(&format!("sign-in?u={}", a["username"].as_str().unwrap())));
    }
}

#[tokio::test]
async fn bulk_issue_covers_every_township_and_village_of_the_county() {
    let app = TestApp::demo().await;
    let admin = app.token("admin").await;
    let county = region_id(&app, &admin, "COUNTY", "131126000000").await;
    let villages = app.ok(Some(&admin), "{ regions(level: VILLAGE) { id } }", json!({})).await["regions"]
        .as_array()
        .unwrap()
        .len();
    let township = app.token("t131126100").await;
    let sheet = app.ok(Some(&admin), ISSUE, json!({ "r": county, "c": "131126000000" })).await;
    let accounts = sheet["issueAccounts"]["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 13 + villages);
    assert_eq!(accounts.iter().filter(|a| a["role"] == "TOWNSHIP").count(), 13);
    let mut passwords: Vec<&str> = accounts.iter().map(|a| a["initialPassword"].as_str().unwrap()).collect();
    passwords.sort();
    passwords.dedup();
    assert_eq!(passwords.len(), accounts.len(), "every password is its own");
    // The township's own sessions ended with the re-issue; and only an ADMIN may issue.
    assert_eq!(code(&app.gql(Some(&township), ISSUE, json!({ "r": county })).await), Some("UNAUTHENTICATED"));
    let supervisor = app.token("supervisor").await;
    assert_eq!(code(&app.gql(Some(&supervisor), ISSUE, json!({ "r": county })).await), Some("FORBIDDEN"));
}

const REFRESH: &str = "mutation($r: String!) { refresh(refreshToken: $r) { accessToken refreshToken } }";

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_ends_the_family() {
    let app = TestApp::demo().await;
    let s = app.sign_in("admin", DEMO_PASSWORD).await;
    let r1 = s["refreshToken"].as_str().unwrap().to_owned();
    let d = app.ok(None, REFRESH, json!({ "r": r1 })).await;
    let r2 = d["refresh"]["refreshToken"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2);
    let access = d["refresh"]["accessToken"].as_str().unwrap();
    assert_eq!(app.ok(Some(access), ME, json!({})).await["me"]["username"], "admin");
    // r1 again: reuse. Both r1 and its successor r2 are now dead.
    let reuse = app.gql(None, REFRESH, json!({ "r": r1 })).await;
    assert_eq!(code(&reuse), Some("UNAUTHENTICATED"));
    assert_eq!(code(&app.gql(None, REFRESH, json!({ "r": r2 })).await), Some("UNAUTHENTICATED"));
    // So is the access token already handed out with r2 (whoever holds it).
    assert_eq!(code(&app.gql(Some(access), ME, json!({})).await), Some("UNAUTHENTICATED"));
    // Sign-out ends a session, its access token at once too (a shared phone),
    // and no other session of the account.
    let other = app.token("admin").await;
    let s3 = app.sign_in("admin", DEMO_PASSWORD).await;
    let (r3, a3) = (s3["refreshToken"].as_str().unwrap().to_owned(), s3["accessToken"].as_str().unwrap().to_owned());
    assert_eq!(app.ok(Some(&a3), ME, json!({})).await["me"]["username"], "admin");
    app.ok(None, "mutation($r: String!) { signOut(refreshToken: $r) }", json!({ "r": r3 })).await;
    assert_eq!(code(&app.gql(None, REFRESH, json!({ "r": r3 })).await), Some("UNAUTHENTICATED"));
    assert_eq!(code(&app.gql(Some(&a3), ME, json!({})).await), Some("UNAUTHENTICATED"));
    assert_eq!(app.ok(Some(&other), ME, json!({})).await["me"]["username"], "admin");
    assert_eq!(code(&app.gql(None, REFRESH, json!({ "r": "rt_made-up" })).await), Some("UNAUTHENTICATED"));
    let fresh = app.token("admin").await;
    let events = app
        .ok(
            Some(&fresh),
            "{ auditEvents(action: \"REFRESH_TOKEN_REUSED\") { edges { node { actorName } } } }",
            json!({}),
        )
        .await;
    assert_eq!(events["auditEvents"]["edges"][0]["node"]["actorName"], "admin");
}

fn craft(app: &TestApp, alg: jsonwebtoken::Algorithm, secret: &str, tweak: impl FnOnce(&mut Value)) -> String {
    let now = chrono::Utc::now().timestamp();
    let region = api::demo::demo_id("region", "131126000000");
    let mut claims = json!({
        "iss": "housing-safety-verification", "aud": "housing-safety-api",
        "sub": api::demo::demo_id("account", "admin"), "exp": now + 600, "iat": now,
        "jti": uuid::Uuid::new_v4(), "usr": "admin", "role": "ADMIN", "rgn": region,
        "lvl": "COUNTY", "rpath": "130000000000/131100000000/131126000000/", "pwc": false,
    });
    tweak(&mut claims);
    let mut header = jsonwebtoken::Header::new(alg);
    header.kid = Some(app.server.state.jwt.kid.clone());
    jsonwebtoken::encode(&header, &claims, &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes())).unwrap()
}

#[tokio::test]
async fn forged_expired_and_foreign_tokens_are_refused() {
    use jsonwebtoken::Algorithm::{HS256, HS512};
    let app = TestApp::demo().await;
    let secret = app.jwt_secret();
    // The crafted token is right when nothing is wrong with it, so the refusals below mean something.
    let good = craft(&app, HS256, &secret, |_| {});
    assert_eq!(app.ok(Some(&good), ME, json!({})).await["me"]["username"], "admin");

    let expired = craft(&app, HS256, &secret, |c| c["exp"] = json!(chrono::Utc::now().timestamp() - 120));
    let wrong_aud = craft(&app, HS256, &secret, |c| c["aud"] = json!("someone-else"));
    let wrong_iss = craft(&app, HS256, &secret, |c| c["iss"] = json!("someone-else"));
    let other_key = craft(&app, HS256, "another-secret-that-is-long-enough-0123", |_| {});
    let other_alg = craft(&app, HS512, &secret, |_| {});
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let none = {
        let header =
            b64.encode(format!("{{\"alg\":\"none\",\"typ\":\"JWT\",\"kid\":\"{}\"}}", app.server.state.jwt.kid));
        let payload = good.split('.').nth(1).unwrap();
        format!("{header}.{payload}.")
    };
    let tampered = {
        let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
        let mut claims: Value = serde_json::from_slice(&b64.decode(&parts[1]).unwrap()).unwrap();
        claims["role"] = json!("ADMIN");
        claims["rpath"] = json!("130000000000/");
        parts[1] = b64.encode(claims.to_string());
        parts.join(".")
    };
    for (name, t) in [
        ("expired", expired),
        ("wrong audience", wrong_aud),
        ("wrong issuer", wrong_iss),
        ("other key", other_key),
        ("HS512", other_alg),
        ("alg none", none),
        ("tampered", tampered),
        ("garbage", "not-a-token".into()),
    ] {
        let r = app.gql(Some(&t), ME, json!({})).await;
        assert_eq!(code(&r), Some("UNAUTHENTICATED"), "{name}: {r:#}");
    }
}

fn is_masked_id(s: &str) -> bool {
    s.len() == 18 && s[..6].bytes().all(|b| b.is_ascii_digit()) && &s[6..14] == "********"
}

#[tokio::test]
async fn personal_data_is_masked_for_those_who_do_not_need_it() {
    let app = TestApp::demo().await;
    let admin = app.token("admin").await;
    let village = region_id(&app, &admin, "VILLAGE", "131126100200").await;
    let f = json!({ "f": { "regionId": village } });
    let full = app.ok(Some(&admin), HOUSEHOLD_IDS, f.clone()).await;
    let id_full = full["households"]["edges"][0]["node"]["idNumber"].as_str().unwrap().to_owned();
    assert!(api::domain::idnumber::is_valid(&id_full));

    let token = app
        .ok(
            Some(&admin),
            "mutation($r: ID!) { createApiToken(name: \"扶贫办大屏\", regionId: $r) { token } }",
            json!({ "r": region_id(&app, &admin, "COUNTY", "131126000000").await }),
        )
        .await["createApiToken"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    for (who, t, masked) in [
        ("supervisor", app.token("supervisor").await, true),
        ("api token", token, true),
        ("township", app.token("t131126100").await, false),
        ("verifier", app.token("v131126100200").await, false),
    ] {
        let d = app.ok(Some(&t), HOUSEHOLD_IDS, f.clone()).await;
        let node = &d["households"]["edges"][0]["node"];
        let id = node["idNumber"].as_str().unwrap();
        let phone = node["phone"].as_str().unwrap();
        if masked {
            assert!(is_masked_id(id), "{who} sees {id}");
            assert_eq!(&id[14..], &id_full[14..]);
            assert!(phone.contains("****"), "{who} sees phone {phone}");
        } else {
            assert_eq!(id, id_full, "{who}");
            assert!(!phone.contains('*'));
        }
    }
}

#[tokio::test]
async fn a_verifier_sees_only_their_village_and_a_township_only_its_own() {
    let app = TestApp::demo().await;
    let admin = app.token("admin").await;
    let own_village = region_id(&app, &admin, "VILLAGE", "131126100200").await;
    let other_village = region_id(&app, &admin, "VILLAGE", "131126101200").await;
    let other_township = region_id(&app, &admin, "TOWNSHIP", "131126101000").await;
    let own_count = app.ok(Some(&admin), HOUSEHOLD_IDS, json!({ "f": { "regionId": own_village } })).await
        ["households"]["totalCount"]
        .clone();
    let foreign = app.ok(Some(&admin), HOUSEHOLD_IDS, json!({ "f": { "regionId": other_village } })).await;
    let foreign_id = foreign["households"]["edges"][0]["node"]["id"].as_str().unwrap().to_owned();

    let v = app.token("v131126100200").await;
    let mine = app.ok(Some(&v), HOUSEHOLD_IDS, json!({})).await;
    assert_eq!(mine["households"]["totalCount"], own_count);
    for e in mine["households"]["edges"].as_array().unwrap() {
        assert_eq!(e["node"]["village"]["id"], own_village.as_str());
    }
    // By ID, through node(), by filter, through a region's connection, by region lookup.
    let q = "query($id: ID!) { household(id: $id) { code } }";
    assert_eq!(code(&app.gql(Some(&v), q, json!({ "id": foreign_id })).await), Some("NOT_FOUND"));
    let q = "query($id: ID!) { node(id: $id) { id } }";
    assert_eq!(code(&app.gql(Some(&v), q, json!({ "id": foreign_id })).await), Some("NOT_FOUND"));
    let by_filter = app.gql(Some(&v), HOUSEHOLD_IDS, json!({ "f": { "regionId": other_village } })).await;
    assert_eq!(code(&by_filter), Some("NOT_FOUND"));
    let q = "query($id: ID!) { region(id: $id) { households { totalCount } } }";
    assert_eq!(code(&app.gql(Some(&v), q, json!({ "id": other_township })).await), Some("NOT_FOUND"));
    // The county is an ancestor: visible by name, but its households are still only the village's.
    let county = region_id(&app, &admin, "COUNTY", "131126000000").await;
    let via_county = app.ok(Some(&v), q, json!({ "id": county })).await;
    assert_eq!(via_county["region"]["households"]["totalCount"], own_count);
    let villages = app.ok(Some(&v), "{ regions(level: VILLAGE) { id } }", json!({})).await;
    assert_eq!(villages["regions"].as_array().unwrap().len(), 1);
    let children =
        app.ok(Some(&v), "query($id: ID!) { region(id: $id) { children { code } } }", json!({ "id": county })).await;
    assert_eq!(children["region"]["children"].as_array().unwrap().len(), 1, "only its own township");

    let t = app.token("t131126100").await;
    assert_eq!(
        code(&app.gql(Some(&t), "query($id: ID!) { household(id: $id) { code } }", json!({ "id": foreign_id })).await),
        Some("NOT_FOUND")
    );
    let township_all = app.ok(Some(&t), HOUSEHOLD_IDS, json!({})).await;
    for e in township_all["households"]["edges"].as_array().unwrap() {
        assert_eq!(e["node"]["township"]["id"], region_id(&app, &admin, "TOWNSHIP", "131126100000").await.as_str());
    }
}

const CREATE_TOKEN: &str = "mutation($n: String!, $r: ID!, $e: DateTime) {
  createApiToken(name: $n, regionId: $r, expiresAt: $e) { token apiToken { id name prefix } } }";

#[tokio::test]
async fn api_tokens_read_their_region_only_until_revoked() {
    let app = TestApp::demo().await;
    let admin = app.token("admin").await;
    let township = region_id(&app, &admin, "TOWNSHIP", "131126101000").await;
    let d = app.ok(Some(&admin), CREATE_TOKEN, json!({ "n": "夏庄镇看板", "r": township })).await;
    let secret = d["createApiToken"]["token"].as_str().unwrap().to_owned();
    let id = d["createApiToken"]["apiToken"]["id"].as_str().unwrap().to_owned();
    assert!(secret.starts_with(d["createApiToken"]["apiToken"]["prefix"].as_str().unwrap()));

    let read = app.ok(Some(&secret), HOUSEHOLD_IDS, json!({})).await;
    for e in read["households"]["edges"].as_array().unwrap() {
        assert_eq!(e["node"]["township"]["id"], township.as_str());
    }
    // Read-only: no mutation passes.
    let r = app.gql(Some(&secret), CREATE_TOKEN, json!({ "n": "x", "r": township })).await;
    assert_eq!(code(&r), Some("FORBIDDEN"));
    let listed = app.ok(Some(&admin), "{ apiTokens { id name lastUsedAt revokedAt } }", json!({})).await;
    let entry = listed["apiTokens"].as_array().unwrap().iter().find(|t| t["id"] == id.as_str()).unwrap().clone();
    assert!(entry["lastUsedAt"].is_string(), "last use recorded: {entry:#}");
    assert!(listed.to_string().find(&secret).is_none(), "secret never listed");

    app.ok(Some(&admin), "mutation($id: ID!) { revokeApiToken(id: $id) { revokedAt } }", json!({ "id": id })).await;
    assert_eq!(code(&app.gql(Some(&secret), HOUSEHOLD_IDS, json!({})).await), Some("UNAUTHENTICATED"));

    let past =
        app.gql(Some(&admin), CREATE_TOKEN, json!({ "n": "old", "r": township, "e": "2020-01-01T00:00:00Z" })).await;
    assert_eq!(code(&past), Some("VALIDATION"));
    let t = app.token("t131126101").await;
    assert_eq!(code(&app.gql(Some(&t), CREATE_TOKEN, json!({ "n": "x", "r": township })).await), Some("FORBIDDEN"));
}

#[tokio::test]
async fn account_events_are_audited_with_who_and_where() {
    let app = TestApp::demo().await;
    app.gql(None, SIGN_IN, json!({ "u": "supervisor", "p": "wrong-password" })).await;
    let admin = app.token("admin").await;
    let county = region_id(&app, &admin, "COUNTY", "131126000000").await;
    let d = app.ok(Some(&admin), CREATE_TOKEN, json!({ "n": "省厅", "r": county })).await;
    let id = d["createApiToken"]["apiToken"]["id"].as_str().unwrap().to_owned();
    app.ok(Some(&admin), "mutation($id: ID!) { revokeApiToken(id: $id) { id } }", json!({ "id": id })).await;
    let events = app
        .ok(
            Some(&admin),
            "{ auditEvents(first: 20) { edges { node { seq action actorName clientAddr entityType hash } } } }",
            json!({}),
        )
        .await;
    let list = events["auditEvents"]["edges"].as_array().unwrap();
    let actions: Vec<&str> = list.iter().map(|e| e["node"]["action"].as_str().unwrap()).collect();
    for a in ["SIGN_IN_FAILED", "SIGN_IN", "API_TOKEN_CREATED", "API_TOKEN_REVOKED"] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
    let failed = list.iter().find(|e| e["node"]["action"] == "SIGN_IN_FAILED").unwrap();
    assert_eq!(failed["node"]["actorName"], "supervisor");
    assert_eq!(failed["node"]["clientAddr"], "127.0.0.1");
    let seqs: Vec<i64> = list.iter().map(|e| e["node"]["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] > w[1]), "newest first");
    // Verifiers may not read the trail.
    let v = app.token("v131126100200").await;
    assert_eq!(code(&app.gql(Some(&v), "{ auditEvents { edges { cursor } } }", json!({})).await), Some("FORBIDDEN"));
}

const CREATE_ACCOUNT: &str = "mutation($u: String!, $d: String!, $p: String, $role: Role!, $r: ID!) {
  createAccount(username: $u, displayName: $d, phone: $p, role: $role, regionId: $r) {
    initialPassword qrSvg account { id username role mustChangePassword phone region { code } } } }";

#[tokio::test]
async fn an_admin_creates_personal_accounts_at_the_right_level() {
    let app = TestApp::demo().await;
    let admin = app.token("admin").await;
    let county = region_id(&app, &admin, "COUNTY", "131126000000").await;
    let village = region_id(&app, &admin, "VILLAGE", "131126100200").await;
    let vars = |u: &str, role: &str, r: &str| json!({ "u": u, "d": "李四", "p": "13800001234", "role": role, "r": r });

    let d = app.ok(Some(&admin), CREATE_ACCOUNT, vars("Li.Si", "ADMIN", &county)).await;
    let created = &d["createAccount"];
    assert_eq!(created["account"]["username"], "li.si");
    assert_eq!(created["account"]["mustChangePassword"], true);
    assert_eq!(created["account"]["phone"], "13800001234");
    let s = app.sign_in("li.si", created["initialPassword"].as_str().unwrap()).await;
    assert_eq!(s["mustChangePassword"], true);

    let taken = app.gql(Some(&admin), CREATE_ACCOUNT, vars("li.si", "ADMIN", &county)).await;
    assert_eq!(code(&taken), Some("CONFLICT"));
    let wrong_level = app.gql(Some(&admin), CREATE_ACCOUNT, vars("wang", "VERIFIER", &county)).await;
    assert_eq!(code(&wrong_level), Some("VALIDATION"));
    assert_eq!(wrong_level["errors"][0]["extensions"]["field"], "regionId");
    let bad_name = app.gql(Some(&admin), CREATE_ACCOUNT, vars("x y", "VERIFIER", &village)).await;
    assert_eq!(code(&bad_name), Some("VALIDATION"));
    app.ok(Some(&admin), CREATE_ACCOUNT, vars("zhang.helper", "VERIFIER", &village)).await;

    // Listed for the admin, with phones; the supervisor may not list accounts.
    let list = app.ok(Some(&admin), "{ accounts(first: 500) { edges { node { username phone } } } }", json!({})).await;
    let names: Vec<&str> =
        list["accounts"]["edges"].as_array().unwrap().iter().map(|e| e["node"]["username"].as_str().unwrap()).collect();
    assert!(names.contains(&"li.si") && names.contains(&"zhang.helper") && names.contains(&"admin"));
    let sup = app.token("supervisor").await;
    assert_eq!(code(&app.gql(Some(&sup), "{ accounts { edges { cursor } } }", json!({})).await), Some("FORBIDDEN"));
}
