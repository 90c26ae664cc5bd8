//! Every query and mutation in the committed schema × every kind of caller.
//! The list of operations is read from `schema.graphql`, so a new operation
//! without an expectation here fails the suite.

use serde_json::{json, Value};
use std::collections::BTreeSet;
use tests::*;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    Anonymous,
    Verifier,
    Township,
    Supervisor,
    Admin,
    ApiToken,
}
use Who::*;
const EVERYONE: [Who; 6] = [Anonymous, Verifier, Township, Supervisor, Admin, ApiToken];

/// What a caller gets: past the gate (`Allowed`, possibly with a business error
/// that is not about who they are), or refused with a code.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Outcome {
    Allowed,
    Refused(&'static str),
}
use Outcome::*;

const GATE_CODES: [&str; 3] = ["UNAUTHENTICATED", "FORBIDDEN", "PASSWORD_CHANGE_REQUIRED"];

/// Field names of a root type in the SDL (skipping descriptions and arguments).
fn root_fields(sdl: &str, type_name: &str) -> BTreeSet<String> {
    let start = sdl.find(&format!("type {type_name} {{")).unwrap_or_else(|| panic!("no {type_name}"));
    let body = &sdl[start..];
    let body = &body[..body.find("\n}").unwrap()];
    let mut in_doc = false;
    let mut out = BTreeSet::new();
    for line in body.lines().skip(1) {
        let t = line.trim();
        if t.starts_with("\"\"\"") {
            let closes_same_line = t.len() > 3 && t[3..].contains("\"\"\"");
            if !closes_same_line {
                in_doc = !in_doc;
            }
            continue;
        }
        // Arguments written one per line sit one level deeper than fields.
        let nested = line.starts_with("\t\t") || line.starts_with("    ");
        if in_doc || nested || t.is_empty() || t.starts_with('"') || t.starts_with(')') {
            continue;
        }
        let name: String = t.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        if !name.is_empty() {
            out.insert(name);
        }
    }
    out
}

struct Ids {
    campaign: String,
    own_village: String,
    verification: String,
    finding: String,
    milestone: String,
    county: String,
    spare_village: String,
    spare_code: String,
    household: String,
    token_id: String,
    account: String,
}

fn expectation(op: &str, who: Who) -> Outcome {
    let admin_only = |who| {
        if who == Admin {
            Allowed
        } else if who == Anonymous {
            Refused("UNAUTHENTICATED")
        } else {
            Refused("FORBIDDEN")
        }
    };
    match op {
        // Open to anyone: they carry their own credentials. Dashboard tokens
        // run no mutation at all (issue 18), these included.
        "signIn" | "refresh" | "signOut" if who == ApiToken => Refused("FORBIDDEN"),
        "signIn" | "refresh" | "signOut" => Allowed,
        // Read operations for every signed-in caller (scope applies inside).
        "regions" | "region" | "household" | "households" | "node" | "campaigns" | "milestones" | "me" => {
            if who == Anonymous {
                Refused("UNAUTHENTICATED")
            } else {
                Allowed
            }
        }
        "auditEvents" => match who {
            Admin | Township => Allowed,
            Anonymous => Refused("UNAUTHENTICATED"),
            _ => Refused("FORBIDDEN"),
        },
        "changePassword" => match who {
            Anonymous => Refused("UNAUTHENTICATED"),
            ApiToken => Refused("FORBIDDEN"),
            _ => Allowed,
        },
        // Workflow operations: the full role × state matrix is in workflow.rs.
        "saveVerification" | "submitVerification" | "requestPhotoUpload" | "confirmPhotoUpload" => match who {
            Verifier => Allowed,
            Anonymous => Refused("UNAUTHENTICATED"),
            _ => Refused("FORBIDDEN"),
        },
        "approveVerification" | "returnVerification" | "reopenVerification" | "checkRegion" => match who {
            Township | Admin => Allowed,
            Anonymous => Refused("UNAUTHENTICATED"),
            _ => Refused("FORBIDDEN"),
        },
        "acknowledgeFinding" => match who {
            Verifier | Township | Admin => Allowed,
            Anonymous => Refused("UNAUTHENTICATED"),
            _ => Refused("FORBIDDEN"),
        },
        "lookBackSamples" => match who {
            Admin | Township => Allowed,
            Anonymous => Refused("UNAUTHENTICATED"),
            _ => Refused("FORBIDDEN"),
        },
        // Anyone signed in may record a result for an item assigned to them (NOT_FOUND otherwise).
        "recordLookBackResult" if who == ApiToken => Refused("FORBIDDEN"),
        "myLookBackItems" | "recordLookBackResult" => {
            if who == Anonymous {
                Refused("UNAUTHENTICATED")
            } else {
                Allowed
            }
        }
        // The demo's campaign is the county's own: nobody is below it at ADMIN
        // level to tighten its milestones (levels.rs has the allowed case).
        "tightenMilestone" => match who {
            Anonymous => Refused("UNAUTHENTICATED"),
            _ => Refused("FORBIDDEN"),
        },
        "drawLookBackSample" | "placeHousehold" | "createMilestone" | "joinCampaign" => match who {
            Admin => Allowed,
            Anonymous => Refused("UNAUTHENTICATED"),
            _ => Refused("FORBIDDEN"),
        },
        "findings" | "findingCounts" | "progress" => {
            if who == Anonymous {
                Refused("UNAUTHENTICATED")
            } else {
                Allowed
            }
        }
        "exportReport" => match who {
            Anonymous => Refused("UNAUTHENTICATED"),
            ApiToken => Refused("FORBIDDEN"),
            _ => Allowed,
        },
        "apiTokens"
        | "accounts"
        | "issueAccounts"
        | "accountsToReset"
        | "clearPracticeEntries"
        | "updateMilestone"
        | "createCampaign"
        | "importReferenceFile"
        | "createAccount"
        | "createApiToken"
        | "revokeApiToken"
        | "revokeSessions"
        | "webhooks"
        | "createWebhook"
        | "deleteWebhook"
        | "redeliverWebhook"
        | "undoImport" => admin_only(who),
        other => panic!("operation `{other}` has no expectation in the authorization matrix: add one"),
    }
}

/// A call of each operation, with arguments that are valid for an ADMIN.
async fn call(app: &TestApp, op: &str, ids: &Ids, token: Option<&str>) -> Value {
    let fresh_refresh =
        || async { app.sign_in("admin", DEMO_PASSWORD).await["refreshToken"].as_str().unwrap().to_owned() };
    let (doc, vars) = match op {
        "signIn" => (SIGN_IN.to_owned(), json!({ "u": "supervisor", "p": DEMO_PASSWORD })),
        "refresh" => (
            "mutation($r: String!) { refresh(refreshToken: $r) { accessToken } }".into(),
            json!({ "r": fresh_refresh().await }),
        ),
        "signOut" => {
            ("mutation($r: String!) { signOut(refreshToken: $r) }".into(), json!({ "r": fresh_refresh().await }))
        }
        "regions" => ("{ regions(level: TOWNSHIP) { id } }".into(), json!({})),
        "region" => ("query($id: ID!) { region(id: $id) { name } }".into(), json!({ "id": ids.county })),
        "household" => ("query($id: ID!) { household(id: $id) { code } }".into(), json!({ "id": ids.household })),
        "households" => ("{ households(first: 1) { totalCount } }".into(), json!({})),
        "node" => ("query($id: ID!) { node(id: $id) { id } }".into(), json!({ "id": ids.household })),
        "campaigns" => ("{ campaigns { name } }".into(), json!({})),
        "milestones" => ("{ milestones { kind state } }".into(), json!({})),
        "me" => ("{ me { username } }".into(), json!({})),
        "auditEvents" => ("{ auditEvents(first: 1) { edges { cursor } } }".into(), json!({})),
        "apiTokens" => ("{ apiTokens { id } }".into(), json!({})),
        "accounts" => ("{ accounts(first: 5) { edges { node { username phone } } } }".into(), json!({})),
        "createAccount" => (
            "mutation($r: ID!, $u: String!) { createAccount(username: $u, displayName: \"张三\", role: SUPERVISOR, regionId: $r) { initialPassword } }".into(),
            json!({ "r": ids.county, "u": unique("m") }),
        ),
        "changePassword" => (
            "mutation { changePassword(current: \"not-the-password\", new: \"Whatever-2020-x\") { accessToken } }"
                .into(),
            json!({}),
        ),
        "issueAccounts" => (
            "mutation($r: ID!, $c: String) { issueAccounts(regionId: $r, confirm: $c) { accounts { username } } }".into(),
            json!({ "r": ids.spare_village, "c": ids.spare_code }),
        ),
        "accountsToReset" => (
            "query($r: ID!) { accountsToReset(regionId: $r) }".into(),
            json!({ "r": ids.spare_village }),
        ),
        "createApiToken" => (
            "mutation($r: ID!) { createApiToken(name: \"matrix\", regionId: $r) { token } }".into(),
            json!({ "r": ids.county }),
        ),
        "saveVerification" => (
            "mutation($i: SaveVerificationInput!) { saveVerification(input: $i) { id } }".into(),
            json!({ "i": { "householdId": ids.household, "version": 1, "path": "APPRAISED" } }),
        ),
        "submitVerification" => ("mutation($id: ID!) { submitVerification(id: $id, version: 1) { id } }".into(), json!({ "id": ids.verification })),
        "approveVerification" => ("mutation($id: ID!) { approveVerification(id: $id, version: 1) { id } }".into(), json!({ "id": ids.verification })),
        "returnVerification" => ("mutation($id: ID!) { returnVerification(id: $id, version: 1, reason: \"x\") { id } }".into(), json!({ "id": ids.verification })),
        "reopenVerification" => ("mutation($id: ID!) { reopenVerification(id: $id, version: 1, reason: \"x\") { id } }".into(), json!({ "id": ids.verification })),
        "acknowledgeFinding" => ("mutation($id: ID!) { acknowledgeFinding(id: $id, reason: \"seen\") { id } }".into(), json!({ "id": ids.finding })),
        "checkRegion" => ("mutation($r: ID!) { checkRegion(regionId: $r) { households } }".into(), json!({ "r": ids.county })),
        "clearPracticeEntries" => ("mutation($r: ID!) { clearPracticeEntries(regionId: $r) }".into(), json!({ "r": ids.county })),
        "requestPhotoUpload" => (
            "mutation($h: ID!) { requestPhotoUpload(householdId: $h, kind: FRONT_PANORAMA, contentType: \"image/jpeg\", size: 1000) { id } }".into(),
            json!({ "h": ids.household }),
        ),
        "confirmPhotoUpload" => (
            "mutation($t: ID!) { confirmPhotoUpload(ticketId: $t) { id } }".into(),
            json!({ "t": format!("PhotoUpload:{}", uuid::Uuid::new_v4()) }),
        ),
        "joinCampaign" => ("mutation($c: ID!) { joinCampaign(campaignId: $c) { id } }".into(), json!({ "c": ids.campaign })),
        "tightenMilestone" => (
            "mutation($id: ID!) { tightenMilestone(id: $id, targetPercent: 100) { id } }".into(),
            json!({ "id": ids.milestone }),
        ),
        "updateMilestone" => ("mutation($id: ID!) { updateMilestone(id: $id, title: \"逐户核验\") { id } }".into(), json!({ "id": ids.milestone })),
        "findings" => ("{ findings(first: 5) { edges { node { rule } } } }".into(), json!({})),
        "findingCounts" => ("{ findingCounts { rule count } }".into(), json!({})),
        "progress" => ("{ progress { households submitted } }".into(), json!({})),
        "createMilestone" => (
            "mutation($c: ID!) { createMilestone(campaignId: $c, kind: \"CUSTOM\", title: \"抽查\", startsAt: \"2020-05-16T00:00:00Z\", endsAt: \"2020-05-17T00:00:00Z\", targetMetric: NONE) { id } }".into(),
            json!({ "c": ids.campaign }),
        ),
        "createCampaign" => (
            "mutation($c: ID!) { createCampaign(name: \"复核\", countyId: $c, startsOn: \"2021-01-01\", endsOn: \"2021-02-01\") { id } }".into(),
            json!({ "c": ids.county }),
        ),
        "importReferenceFile" => {
            let regions = fixture("gucheng-120-utf8", "regions.csv");
            return app.import_as(token, "REGIONS", "regions.csv", regions, None).await;
        }
        "webhooks" => ("{ webhooks { url } }".into(), json!({})),
        // A public address literal: valid without DNS (nothing is sent to it here).
        "createWebhook" => (
            "mutation { createWebhook(url: \"https://1.1.1.1/hook\", events: [MILESTONE_MISSED]) { secret } }".into(),
            json!({}),
        ),
        "deleteWebhook" => {
            let admin = app.token("admin").await;
            let d = app
                .ok(
                    Some(&admin),
                    "mutation { createWebhook(url: \"https://1.1.1.1/doomed\", events: [MILESTONE_MISSED]) { webhook { id } } }",
                    json!({}),
                )
                .await;
            (
                "mutation($id: ID!) { deleteWebhook(id: $id) { url } }".into(),
                json!({ "id": d["createWebhook"]["webhook"]["id"] }),
            )
        }
        "redeliverWebhook" => (
            "mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { status } }".into(),
            json!({ "id": format!("WebhookDelivery:{}", uuid::Uuid::new_v4()) }),
        ),
        "undoImport" => (
            "mutation($id: ID!) { undoImport(id: $id) { withdrawn } }".into(),
            json!({ "id": format!("ReferenceImport:{}", uuid::Uuid::new_v4()) }),
        ),
        "exportReport" => ("mutation { exportReport(kind: SUMMARY, format: CSV) { rows } }".into(), json!({})),
        "lookBackSamples" => ("{ lookBackSamples { id } }".into(), json!({})),
        "myLookBackItems" => ("{ myLookBackItems { id } }".into(), json!({})),
        "recordLookBackResult" => (
            "mutation($id: ID!) { recordLookBackResult(itemId: $id, agrees: true) { id } }".into(),
            json!({ "id": format!("LookBackItem:{}", uuid::Uuid::new_v4()) }),
        ),
        "drawLookBackSample" => (
            "mutation($r: ID!, $c: ID!) { drawLookBackSample(regionId: $r, percent: 5, seed: 1, checkerIds: [$c]) { id } }".into(),
            json!({ "r": ids.county, "c": ids.account }),
        ),
        "placeHousehold" => (
            "mutation($h: ID!, $v: ID!) { placeHousehold(householdId: $h, villageId: $v) { id } }".into(),
            json!({ "h": ids.household, "v": ids.own_village }),
        ),
        "revokeApiToken" => {
            ("mutation($id: ID!) { revokeApiToken(id: $id) { id } }".into(), json!({ "id": ids.token_id }))
        }
        "revokeSessions" => {
            ("mutation($id: ID!) { revokeSessions(accountId: $id) }".into(), json!({ "id": ids.account }))
        }
        other => panic!("operation `{other}` has no call in the authorization matrix: add one"),
    };
    app.gql(token, &doc, vars).await
}

#[tokio::test]
async fn every_operation_for_every_kind_of_caller() {
    let sdl = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema.graphql"))
        .expect("schema.graphql");
    let ops: Vec<String> =
        root_fields(&sdl, "QueryRoot").into_iter().chain(root_fields(&sdl, "MutationRoot")).collect();
    assert!(ops.len() >= 15, "parsed {ops:?}");

    let app = TestApp::demo().await;
    let admin = app.token("admin").await;
    let d = app
        .ok(Some(&admin), "{ regions(level: COUNTY) { id } v: regions(level: VILLAGE) { id code } }", json!({}))
        .await;
    let county = d["regions"][0]["id"].as_str().unwrap().to_owned();
    let villages = d["v"].as_array().unwrap();
    let own = villages.iter().find(|v| v["code"] == "131126100200").unwrap()["id"].as_str().unwrap().to_owned();
    let spare_village = villages.last().unwrap()["id"].as_str().unwrap().to_owned();
    let spare_code = villages.last().unwrap()["code"].as_str().unwrap().to_owned();
    let h = app
        .ok(
            Some(&admin),
            "query($r: ID!) { households(first: 1, filter: { regionId: $r }) { edges { node { id } } } }",
            json!({ "r": own }),
        )
        .await;
    let token = app
        .ok(
            Some(&admin),
            "mutation($r: ID!) { createApiToken(name: \"dash\", regionId: $r) { token apiToken { id } } }",
            json!({ "r": county }),
        )
        .await;
    // A second token, for the admin's revokeApiToken call to revoke.
    let doomed = app
        .ok(
            Some(&admin),
            "mutation($r: ID!) { createApiToken(name: \"doomed\", regionId: $r) { apiToken { id } } }",
            json!({ "r": county }),
        )
        .await;
    // revokeSessions ends every session of this account (access tokens too):
    // one no caller of the matrix uses.
    let bystander = app.token("v131126100201").await;
    let me = app.ok(Some(&bystander), "{ me { id } }", json!({})).await;
    let household = h["households"]["edges"][0]["node"]["id"].as_str().unwrap().to_owned();
    let verifier = app.token("v131126100200").await;
    let draft = app
        .ok(
            Some(&verifier),
            "mutation($i: SaveVerificationInput!) { saveVerification(input: $i) { id } }",
            json!({ "i": { "householdId": household, "version": 0, "path": "APPRAISED" } }),
        )
        .await;
    let found = app
        .ok(Some(&verifier), "query($id: ID!) { household(id: $id) { findings { id } } }", json!({ "id": household }))
        .await;
    let ms = app.ok(Some(&admin), "{ milestones { id } }", json!({})).await;
    let campaign = app.ok(Some(&admin), "{ campaigns { id } }", json!({})).await["campaigns"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ids = Ids {
        campaign,
        own_village: own.clone(),
        verification: draft["saveVerification"]["id"].as_str().unwrap().to_owned(),
        finding: found["household"]["findings"][0]["id"].as_str().unwrap().to_owned(),
        milestone: ms["milestones"][0]["id"].as_str().unwrap().to_owned(),
        county,
        spare_village,
        spare_code,
        household: h["households"]["edges"][0]["node"]["id"].as_str().unwrap().to_owned(),
        token_id: doomed["createApiToken"]["apiToken"]["id"].as_str().unwrap().to_owned(),
        account: me["me"]["id"].as_str().unwrap().to_owned(),
    };
    let api_token = token["createApiToken"]["token"].as_str().unwrap().to_owned();
    let tokens = [
        (Anonymous, None),
        (Verifier, Some(app.token("v131126100200").await)),
        (Township, Some(app.token("t131126100").await)),
        (Supervisor, Some(app.token("supervisor").await)),
        (ApiToken, Some(api_token)),
        // Last: some admin calls (revokeApiToken, revokeSessions) change state.
        (Admin, Some(admin.clone())),
    ];
    assert_eq!(tokens.len(), EVERYONE.len());

    let mut failures = Vec::new();
    for op in &ops {
        for (who, token) in &tokens {
            let body = call(&app, op, &ids, token.as_deref()).await;
            let got = match code(&body) {
                Some(c) if GATE_CODES.contains(&c) => Refused(match c {
                    "UNAUTHENTICATED" => "UNAUTHENTICATED",
                    "FORBIDDEN" => "FORBIDDEN",
                    _ => "PASSWORD_CHANGE_REQUIRED",
                }),
                _ => Allowed,
            };
            let want = expectation(op, *who);
            if got != want {
                failures.push(format!("{op} as {who:?}: expected {want:?}, got {got:?}: {body}"));
            }
            // An allowed ADMIN call with valid arguments must succeed outright
            // (changePassword is given a wrong current password on purpose).
            let business_errors_expected = [
                "changePassword",
                "recordLookBackResult",
                "drawLookBackSample",
                "approveVerification",
                "returnVerification",
                "reopenVerification",
                "acknowledgeFinding",
                // An unknown delivery or import: NOT_FOUND once past the gate.
                "redeliverWebhook",
                "undoImport",
            ];
            if *who == Admin
                && want == Allowed
                && !business_errors_expected.contains(&op.as_str())
                && body.get("errors").is_some()
            {
                failures.push(format!("{op} as Admin failed: {body}"));
            }
        }
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}
