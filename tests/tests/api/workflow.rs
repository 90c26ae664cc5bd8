//! Issue 4: the verification workflow, checks, concurrency, idempotency, audit chain.

use serde_json::{json, Value};
use std::collections::HashMap;
use tests::*;

pub const SAVE: &str = "mutation($i: SaveVerificationInput!) { saveVerification(input: $i) {
  id status version path practice evidence { appraisal { confirmedOnSite } renovation { kind newAddress } secured { arrangement address } } } }";
pub const SUBMIT: &str = "mutation($id: ID!, $v: Int!, $k: String) { submitVerification(id: $id, version: $v, idempotencyKey: $k) { id status version } }";
const APPROVE: &str = "mutation($id: ID!, $v: Int!) { approveVerification(id: $id, version: $v) { id status version approvedBy { username } } }";
const RETURN: &str = "mutation($id: ID!, $v: Int!, $r: String!) { returnVerification(id: $id, version: $v, reason: $r) { id status version returnReason } }";
const REOPEN: &str = "mutation($id: ID!, $v: Int!, $r: String!) { reopenVerification(id: $id, version: $v, reason: $r) { id status version } }";
pub const DETAIL: &str = "query($id: ID!, $p: Boolean! = false) { household(id: $id) {
  code expectedPath verification(practice: $p) { id status version path }
  findings(practice: $p) { id rule severity message acknowledged sources } } }";
const ACK: &str =
    "mutation($id: ID!, $r: String!) { acknowledgeFinding(id: $id, reason: $r) { id acknowledged open } }";

pub fn appraised_input(h: &str, version: i64, practice: bool) -> Value {
    json!({ "householdId": h, "version": version, "practice": practice, "path": "APPRAISED",
            "appraisal": { "confirmedOnSite": true },
            "houseFacts": { "structure": "砖混", "floors": 1, "floorArea": 86.5, "yearBuilt": 1998, "occupants": 3 } })
}

/// Households of a township with their verifier's username, filtered by expected path.
pub async fn households_with_verifiers(
    app: &TestApp,
    admin: &str,
    township_code: &str,
    path: &str,
) -> Vec<(String, String)> {
    let d = app.ok(Some(admin), "{ regions(level: TOWNSHIP) { id code } }", json!({})).await;
    let t = d["regions"].as_array().unwrap().iter().find(|r| r["code"] == township_code).unwrap()["id"].clone();
    let d = app
        .ok(
            Some(admin),
            "query($f: HouseholdFilter) { households(first: 500, filter: $f) { edges { node { id village { code } } } } }",
            json!({ "f": { "regionId": t, "expectedPath": [path] } }),
        )
        .await;
    d["households"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["node"]["id"].as_str().unwrap().to_owned(),
                format!("v{}", e["node"]["village"]["code"].as_str().unwrap()),
            )
        })
        .collect()
}

fn rules(detail: &Value) -> Vec<String> {
    detail["household"]["findings"].as_array().unwrap().iter().map(|f| f["rule"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_household_goes_from_entry_to_approval_with_its_trail() {
    let app = TestApp::demo().await;
    let admin = app.token("admin").await;
    let (h, verifier) = households_with_verifiers(&app, &admin, "131126100000", "APPRAISED").await.remove(0);
    let v = app.token(&verifier).await;
    let d = app.ok(Some(&v), SAVE, json!({ "i": appraised_input(&h, 0, false) })).await;
    let rec = &d["saveVerification"];
    assert_eq!(rec["status"], "DRAFT");
    assert_eq!(rec["version"], 1);
    let id = rec["id"].as_str().unwrap().to_owned();
    assert_eq!(rules(&app.ok(Some(&v), DETAIL, json!({ "id": h })).await), ["PHOTO_MISSING"]);

    // Submission closed (the demo's 2020 dates) until an ADMIN extends the look-back.
    let closed = app.gql(Some(&v), SUBMIT, json!({ "id": id, "v": 1 })).await;
    assert_eq!(code(&closed), Some("INVALID_TRANSITION"));
    assert_eq!(closed["errors"][0]["extensions"]["currentState"], "CLOSED");
    app.extend_look_back(&admin).await;

    let blocked = app.gql(Some(&v), SUBMIT, json!({ "id": id, "v": 1 })).await;
    assert_eq!(code(&blocked), Some("VALIDATION"));
    assert_eq!(blocked["errors"][0]["extensions"]["rules"], json!(["PHOTO_MISSING"]));
    let photo = app.upload_photo(&v, &h, 1, false).await;
    assert_eq!(photo["width"], 640);
    assert!(rules(&app.ok(Some(&v), DETAIL, json!({ "id": h })).await).is_empty());

    let s = app.ok(Some(&v), SUBMIT, json!({ "id": id, "v": 1 })).await;
    assert_eq!(s["submitVerification"]["status"], "SUBMITTED");
    let t = app.token("t131126100").await;
    let a = app.ok(Some(&t), APPROVE, json!({ "id": id, "v": 2 })).await;
    assert_eq!(a["approveVerification"]["status"], "APPROVED");
    assert_eq!(a["approveVerification"]["approvedBy"]["username"], "t131126100");

    let hist = app
        .ok(
            Some(&t),
            "query($id: ID!) { household(id: $id) { history { edges { node { action actorName before after } } } } }",
            json!({ "id": h }),
        )
        .await;
    let events = hist["household"]["history"]["edges"].as_array().unwrap();
    let actions: Vec<&str> = events.iter().map(|e| e["node"]["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "VERIFICATION_APPROVED",
            "VERIFICATION_SUBMITTED",
            "FINDINGS_CHANGED",
            "PHOTO_ADDED",
            "FINDINGS_CHANGED",
            "VERIFICATION_SAVED"
        ]
    );
    assert_eq!(events[0]["node"]["before"]["status"], "SUBMITTED");
    assert_eq!(events[0]["node"]["after"]["status"], "APPROVED");
    assert_eq!(events[2]["node"]["before"]["resolved"], json!(["PHOTO_MISSING"]));
    assert_eq!(events[4]["node"]["after"]["opened"], json!(["PHOTO_MISSING"]));
    assert_eq!(events[5]["node"]["actorName"], verifier.as_str());
    assert!(api::domain::audit::verify_chain(&app.server.state.db).await.unwrap().is_ok());
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum State {
    NotStarted,
    Draft,
    Submitted,
    Returned,
    Approved,
    Reopened,
}
const STATES: [State; 6] =
    [State::NotStarted, State::Draft, State::Submitted, State::Returned, State::Approved, State::Reopened];

#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    OwnVerifier,
    OtherVerifier,
    OwnTownship,
    OtherTownship,
    Admin,
    Supervisor,
    ApiToken,
}
const WHO: [Who; 7] = [
    Who::OwnVerifier,
    Who::OtherVerifier,
    Who::OwnTownship,
    Who::OtherTownship,
    Who::Admin,
    Who::Supervisor,
    Who::ApiToken,
];
const OPS: [&str; 5] = ["save", "submit", "approve", "return", "reopen"];

/// What the workflow must answer: the new status, or an error code.
fn expected(op: &str, state: State, who: Who) -> Result<&'static str, &'static str> {
    use State::*;
    // Out of the caller's region: the record does not exist for them.
    if matches!(who, Who::OtherVerifier | Who::OtherTownship) && !(op == "save" && who == Who::OtherTownship) {
        return Err("NOT_FOUND");
    }
    let allowed_roles: &[Who] =
        if op == "save" || op == "submit" { &[Who::OwnVerifier] } else { &[Who::OwnTownship, Who::Admin] };
    if !allowed_roles.contains(&who) {
        return Err("FORBIDDEN");
    }
    match (op, state) {
        ("save", NotStarted | Draft | Returned | Reopened) => Ok("DRAFT"),
        ("submit", Draft | Returned | Reopened) => Ok("SUBMITTED"),
        ("approve", Submitted) => Ok("APPROVED"),
        ("return", Submitted) => Ok("RETURNED"),
        ("reopen", Approved) => Ok("REOPENED"),
        _ => Err("INVALID_TRANSITION"),
    }
}

struct Rig<'a> {
    app: &'a TestApp,
    tokens: HashMap<String, String>,
    pool: Vec<(String, String)>,
    seed: u32,
}

impl Rig<'_> {
    async fn token(&mut self, user: &str) -> String {
        if !self.tokens.contains_key(user) {
            let t = self.app.token(user).await;
            self.tokens.insert(user.to_owned(), t);
        }
        self.tokens[user].clone()
    }

    /// A fresh household driven through the real API to `state`; returns (household, verifier, record id, version).
    async fn drive(&mut self, state: State, practice: bool) -> (String, String, Option<String>, i64) {
        let (h, verifier) = self.pool.pop().expect("enough households");
        if state == State::NotStarted {
            return (h, verifier, None, 0);
        }
        let v = self.token(&verifier).await;
        let t = self.token("t131126100").await;
        let d = self.app.ok(Some(&v), SAVE, json!({ "i": appraised_input(&h, 0, practice) })).await;
        let id = d["saveVerification"]["id"].as_str().unwrap().to_owned();
        let mut version = 1;
        // Drafts get their photo too, so a submit from DRAFT can succeed.
        self.seed += 1;
        self.app.upload_photo(&v, &h, self.seed, practice).await;
        if state == State::Draft {
            return (h, verifier, Some(id), version);
        }
        self.app.ok(Some(&v), SUBMIT, json!({ "id": id, "v": version })).await;
        version += 1;
        match state {
            State::Submitted => {}
            State::Returned => {
                self.app.ok(Some(&t), RETURN, json!({ "id": id, "v": version, "r": "照片不清晰" })).await;
                version += 1;
            }
            State::Approved | State::Reopened => {
                self.app.ok(Some(&t), APPROVE, json!({ "id": id, "v": version })).await;
                version += 1;
                if state == State::Reopened {
                    self.app.ok(Some(&t), REOPEN, json!({ "id": id, "v": version, "r": "回头看：面积有误" })).await;
                    version += 1;
                    // The verifier acknowledges what the look-back asked, so a resubmission can pass.
                    let d = self.app.ok(Some(&v), DETAIL, json!({ "id": h, "p": practice })).await;
                    let f = d["household"]["findings"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|f| f["rule"] == "LOOK_BACK")
                        .unwrap()["id"]
                        .clone();
                    self.app.ok(Some(&v), ACK, json!({ "id": f, "r": "已重新测量面积" })).await;
                }
            }
            _ => unreachable!(),
        }
        (h, verifier, Some(id), version)
    }
}

#[tokio::test]
async fn every_transition_for_every_role_in_every_state() {
    let app = TestApp::demo().await;
    let admin = app.token("admin").await;
    app.extend_look_back(&admin).await;
    let pool = households_with_verifiers(&app, &admin, "131126100000", "APPRAISED").await;
    let api_token = app
        .ok(Some(&admin), "mutation($r: ID!) { createApiToken(name: \"m\", regionId: $r) { token } }", json!({ "r": app.ok(Some(&admin), "{ regions(level: COUNTY) { id } }", json!({})).await["regions"][0]["id"] }))
        .await["createApiToken"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut rig = Rig { app: &app, tokens: HashMap::new(), pool, seed: 1000 };
    rig.tokens.insert("admin".into(), admin.clone());
    rig.tokens.insert("token".into(), api_token);
    let mut failures = Vec::new();
    let mut checked = 0;
    for practice in [false, true] {
        for state in STATES {
            // One household per state for the refusals (they change nothing); a fresh one per success.
            let mut shared = rig.drive(state, practice).await;
            for op in OPS {
                for who in WHO {
                    let want = expected(op, state, who);
                    if state == State::NotStarted && op != "save" {
                        continue; // no record yet: nothing to address by ID
                    }
                    let (h, verifier, id, version) =
                        if want.is_ok() { rig.drive(state, practice).await } else { shared.clone() };
                    let user = match who {
                        Who::OwnVerifier => verifier.clone(),
                        Who::OtherVerifier => "v131126101200".into(),
                        Who::OwnTownship => "t131126100".into(),
                        Who::OtherTownship => "t131126101".into(),
                        Who::Admin => "admin".into(),
                        Who::Supervisor => "supervisor".into(),
                        Who::ApiToken => "token".into(),
                    };
                    let token = rig.token(&user).await;
                    let body = match op {
                        "save" => {
                            app.gql(Some(&token), SAVE, json!({ "i": appraised_input(&h, version, practice) })).await
                        }
                        "submit" => app.gql(Some(&token), SUBMIT, json!({ "id": id, "v": version })).await,
                        "approve" => app.gql(Some(&token), APPROVE, json!({ "id": id, "v": version })).await,
                        "return" => {
                            app.gql(Some(&token), RETURN, json!({ "id": id, "v": version, "r": "请补充" })).await
                        }
                        _ => app.gql(Some(&token), REOPEN, json!({ "id": id, "v": version, "r": "回头看" })).await,
                    };
                    checked += 1;
                    let got = match code(&body) {
                        Some(c) => Err(c.to_owned()),
                        None => Ok(body["data"].as_object().unwrap().values().next().unwrap()["status"]
                            .as_str()
                            .unwrap()
                            .to_owned()),
                    };
                    let ok = match (&want, &got) {
                        (Ok(w), Ok(g)) => w == g,
                        (Err(w), Err(g)) => w == g,
                        _ => false,
                    };
                    if !ok {
                        failures.push(format!(
                            "{op} in {state:?} as {who:?} (practice {practice}): want {want:?}, got {got:?}"
                        ));
                    }
                    if want.is_err() && state != State::NotStarted {
                        // A refusal must leave the record exactly as it was.
                        let admin_view = app.ok(Some(&admin), DETAIL, json!({ "id": h, "p": practice })).await;
                        if admin_view["household"]["verification"]["version"] != json!(version) {
                            failures.push(format!("{op} in {state:?} as {who:?}: refused but the record changed"));
                        }
                    }
                }
            }
            shared.0.clear();
        }
    }
    assert!(checked > 300, "{checked} cases");
    assert!(failures.is_empty(), "{} of {checked} cases wrong:\n{}", failures.len(), failures.join("\n"));
}

#[tokio::test]
async fn practice_entries_never_count_and_can_be_cleared() {
    let app = TestApp::demo().await;
    let admin = app.token("admin").await;
    app.extend_look_back(&admin).await;
    let (h, verifier) = households_with_verifiers(&app, &admin, "131126100000", "APPRAISED").await.remove(0);
    let v = app.token(&verifier).await;
    let d = app.ok(Some(&v), SAVE, json!({ "i": appraised_input(&h, 0, true) })).await;
    assert_eq!(d["saveVerification"]["practice"], true);
    let id = d["saveVerification"]["id"].clone();
    app.upload_photo(&v, &h, 7, true).await;
    app.ok(Some(&v), SUBMIT, json!({ "id": id, "v": 1 })).await;
    let counts = "{ s: households(filter: { status: [SUBMITTED] }) { totalCount } n: households(filter: { status: [NOT_STARTED] }) { totalCount } milestones { kind actualPercent } }";
    let c = app.ok(Some(&admin), counts, json!({})).await;
    assert_eq!(c["s"]["totalCount"], 0, "a practice submission is not a submission");
    assert_eq!(c["n"]["totalCount"], 4553);
    let ver = c["milestones"].as_array().unwrap().iter().find(|m| m["kind"] == "VERIFICATION").unwrap().clone();
    assert_eq!(ver["actualPercent"], 0.0);
    // The real record is untouched.
    let detail = app.ok(Some(&v), DETAIL, json!({ "id": h })).await;
    assert!(detail["household"]["verification"].is_null());
    let county = app.ok(Some(&admin), "{ regions(level: COUNTY) { id } }", json!({})).await["regions"][0]["id"].clone();
    let cleared =
        app.ok(Some(&admin), "mutation($r: ID!) { clearPracticeEntries(regionId: $r) }", json!({ "r": county })).await;
    assert_eq!(cleared["clearPracticeEntries"], 1);
    let after = app.ok(Some(&v), DETAIL, json!({ "id": h, "p": true })).await;
    assert!(after["household"]["verification"].is_null());
    assert_eq!(
        code(
            &app.gql(Some(&v), "mutation($r: ID!) { clearPracticeEntries(regionId: $r) }", json!({ "r": county }))
                .await
        ),
        Some("FORBIDDEN")
    );
}

#[tokio::test]
async fn a_stale_save_is_a_conflict_and_never_overwrites() {
    let app = TestApp::demo().await;
    let admin = app.token("admin").await;
    let (h, verifier) = households_with_verifiers(&app, &admin, "131126100000", "APPRAISED").await.remove(0);
    let v = app.token(&verifier).await;
    app.ok(Some(&v), SAVE, json!({ "i": appraised_input(&h, 0, false) })).await;
    // Two devices both loaded version 1 and save at once: exactly one wins.
    let mut a = appraised_input(&h, 1, false);
    a["notes"] = json!("phone A");
    let mut b = appraised_input(&h, 1, false);
    b["notes"] = json!("phone B");
    let (ra, rb) = tokio::join!(app.gql(Some(&v), SAVE, json!({ "i": a })), app.gql(Some(&v), SAVE, json!({ "i": b })));
    let codes = [code(&ra).map(str::to_owned), code(&rb).map(str::to_owned)];
    assert_eq!(codes.iter().filter(|c| c.is_none()).count(), 1, "{ra} {rb}");
    assert_eq!(codes.iter().filter(|c| c.as_deref() == Some("CONFLICT")).count(), 1);
    let winner = if code(&ra).is_none() { "phone A" } else { "phone B" };
    let d = app
        .ok(Some(&v), "query($id: ID!) { household(id: $id) { verification { version notes } } }", json!({ "id": h }))
        .await;
    assert_eq!(d["household"]["verification"]["version"], 2);
    assert_eq!(d["household"]["verification"]["notes"], winner);
    // A save based on version 1 now is stale.
    let stale = app.gql(Some(&v), SAVE, json!({ "i": appraised_input(&h, 1, false) })).await;
    assert_eq!(code(&stale), Some("CONFLICT"));
}

#[tokio::test]
async fn a_retry_with_the_same_idempotency_key_changes_nothing() {
    let app = TestApp::demo().await;
    let admin = app.token("admin").await;
    app.extend_look_back(&admin).await;
    let (h, verifier) = households_with_verifiers(&app, &admin, "131126100000", "APPRAISED").await.remove(0);
    let v = app.token(&verifier).await;
    let mut input = appraised_input(&h, 0, false);
    input["idempotencyKey"] = json!("offline-entry-42");
    let first = app.ok(Some(&v), SAVE, json!({ "i": input })).await;
    // The answer was lost; the phone sends the same entry again.
    let again = app.ok(Some(&v), SAVE, json!({ "i": input })).await;
    assert_eq!(first, again);
    let id = first["saveVerification"]["id"].clone();
    app.upload_photo(&v, &h, 3, false).await;
    let s1 = app.ok(Some(&v), SUBMIT, json!({ "id": id, "v": 1, "k": "offline-submit-42" })).await;
    let s2 = app.ok(Some(&v), SUBMIT, json!({ "id": id, "v": 1, "k": "offline-submit-42" })).await;
    assert_eq!(s1, s2);
    assert_eq!(s2["submitVerification"]["version"], 2);
    // The township's approval, sent twice with one key (a lost answer on a weak signal).
    let t = app.token("t131126100").await;
    let decide = "mutation($id: ID!, $v: Int!, $k: String) {
      approveVerification(id: $id, version: $v, idempotencyKey: $k) { id status version } }";
    // Both at once (a resend while the first is still running): both get the one approval.
    let vars = json!({ "id": id, "v": 2, "k": "approve-42" });
    let (a1, a2) = tokio::join!(app.ok(Some(&t), decide, vars.clone()), app.ok(Some(&t), decide, vars.clone()));
    assert_eq!(a1, a2);
    assert_eq!(app.ok(Some(&t), decide, vars).await, a1, "and so does a later resend");
    assert_eq!(a2["approveVerification"]["status"], "APPROVED");
    // Without the key the same request is what it is: the record is no longer submitted.
    let bare = app.gql(Some(&t), decide, json!({ "id": id, "v": 2 })).await;
    assert_eq!(code(&bare), Some("INVALID_TRANSITION"));
    // One key is one decision: on another step or record it is refused and changes nothing.
    let ret = "mutation($id: ID!, $k: String) {
      returnVerification(id: $id, version: 3, reason: \"补拍\", idempotencyKey: $k) { id } }";
    let reused = app.gql(Some(&t), ret, json!({ "id": id, "k": "approve-42" })).await;
    assert_eq!(code(&reused), Some("VALIDATION"), "{reused}");
    let long = app.gql(Some(&t), decide, json!({ "id": id, "v": 3, "k": "k".repeat(129) })).await;
    assert_eq!(code(&long), Some("VALIDATION"), "{long}");
    let hist = app
        .ok(
            Some(&v),
            "query($id: ID!) { household(id: $id) { history { edges { node { action } } } } }",
            json!({ "id": h }),
        )
        .await;
    let actions: Vec<&str> = hist["household"]["history"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions.iter().filter(|a| **a == "VERIFICATION_SAVED").count(), 1);
    assert_eq!(actions.iter().filter(|a| **a == "VERIFICATION_SUBMITTED").count(), 1);
    assert_eq!(actions.iter().filter(|a| **a == "VERIFICATION_APPROVED").count(), 1);
    assert!(!actions.contains(&"VERIFICATION_RETURNED"));
}

#[tokio::test]
async fn the_audit_chain_verifier_finds_an_edited_event() {
    use sea_orm::ConnectionTrait;
    let app = TestApp::demo().await;
    for u in ["admin", "supervisor", "t131126100", "v131126100200"] {
        app.token(u).await;
    }
    let db = &app.server.state.db;
    assert_eq!(api::domain::audit::verify_chain(db).await.unwrap(), Ok(4));
    db.execute_unprepared("UPDATE audit_events SET actor_name = 'someone-else' WHERE seq = 3").await.unwrap();
    let broken = api::domain::audit::verify_chain(db).await.unwrap().unwrap_err();
    assert_eq!(broken.seq, 3);
    assert!(broken.reason.contains("edited"));
}

/// The one transaction helper refuses to commit a change that recorded no
/// audit event, and the change is rolled back: nothing can go unrecorded.
#[tokio::test]
async fn a_write_without_an_audit_event_is_refused_and_rolled_back() {
    use sea_orm::ConnectionTrait;
    let app = TestApp::demo().await;
    let state = &app.server.state;
    let before = app.count("SELECT COUNT(*) FROM regions WHERE name = '改名'").await;
    let tx = api::domain::tx::Tx::begin(state, Default::default()).await.unwrap();
    tx.conn().execute_unprepared("UPDATE regions SET name = '改名' WHERE code = '131126000000'").await.unwrap();
    let err = tx.commit(state).await.unwrap_err();
    assert_eq!(err.code(), "INTERNAL");
    assert_eq!(app.count("SELECT COUNT(*) FROM regions WHERE name = '改名'").await, before);
    assert_eq!(before, 0);
}
