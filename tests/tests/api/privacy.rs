//! Issue 16 row 4: personal data stays with those who work on the household.
//! The schema is walked field by field (from its own introspection) as a
//! SUPERVISOR and as a dashboard's API token, after a verifier has written
//! an ID number, a phone and a precise position where people do write them.

use serde_json::{json, Value};
use std::collections::HashMap;
use tests::*;

const ID: &str = "13112619800101123X";
const PHONE: &str = "13912345678";
const LAT: f64 = 38.123456;
const LON: f64 = 115.987654;

const TYPES: &str = "{ __schema { types { name kind fields { name
  args { name defaultValue type { kind name ofType { kind name ofType { kind name } } } }
  type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }";

/// The named type under NON_NULL/LIST wrappers, and whether it is a leaf.
fn named(t: &Value) -> (&str, &str) {
    let mut t = t;
    while t["name"].is_null() {
        t = &t["ofType"];
    }
    (t["name"].as_str().unwrap_or(""), t["kind"].as_str().unwrap_or(""))
}

struct Walker<'a> {
    types: HashMap<String, &'a Value>,
    county: String,
}

impl Walker<'_> {
    /// Arguments for a field, or None when a required one cannot be filled.
    fn args(&self, field: &Value) -> Option<String> {
        let mut out = Vec::new();
        for a in field["args"].as_array().into_iter().flatten() {
            let required = a["type"]["kind"] == "NON_NULL" && a["defaultValue"].is_null();
            let name = a["name"].as_str().unwrap();
            match (name, named(&a["type"]).0) {
                ("first", _) => out.push("first: 5".to_owned()),
                ("regionId", "ID") => out.push(format!("regionId: \"{}\"", self.county)),
                _ if required => return None,
                _ => {}
            }
        }
        Some(if out.is_empty() { String::new() } else { format!("({})", out.join(", ")) })
    }

    /// Every field of `ty`, nested objects down to `depth`.
    fn selection(&self, ty: &str, depth: usize) -> Option<String> {
        let fields = self.types.get(ty)?["fields"].as_array()?;
        let mut parts = Vec::new();
        for f in fields {
            let name = f["name"].as_str().unwrap();
            let Some(args) = self.args(f) else { continue };
            match named(&f["type"]) {
                (_, "SCALAR" | "ENUM") => parts.push(format!("{name}{args}")),
                (inner, "OBJECT" | "INTERFACE") if depth > 0 => {
                    if let Some(sel) = self.selection(inner, depth - 1) {
                        parts.push(format!("{name}{args} {{ {sel} }}"));
                    }
                }
                _ => {}
            }
        }
        (!parts.is_empty()).then(|| parts.join(" "))
    }
}

/// Every digit run of exactly this length in the answer (IDs 18, phones 11).
/// Runs inside a word of ASCII letters and digits are not counted: hashes
/// and UUIDs are hex, and one in a few hundred holds eleven digits in a row
/// (which failed this test now and then, on an audit event's hash).
fn runs(text: &str, len: usize) -> Vec<String> {
    let mut out = Vec::new();
    let b: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        while i < b.len() && (b[i].is_ascii_digit() || (i > start && b[i] == 'X')) {
            i += 1;
        }
        let in_word =
            (start > 0 && b[start - 1].is_ascii_alphanumeric()) || b.get(i).is_some_and(char::is_ascii_alphabetic);
        if i - start == len && !in_word {
            out.push(b[start..i].iter().collect());
        }
        i = i.max(start + 1);
    }
    out
}

async fn seed(app: &TestApp) -> String {
    let v = app.token("v131126100200").await;
    let h = first_id(
        &app.ok(Some(&v), "{ households(first: 1) { nodes { id } } }", json!({})).await,
        "/households/nodes/0/id",
    );
    let input = json!({
        "householdId": h, "version": 0, "path": "SECURED",
        "secured": { "arrangement": "RELATIVES", "address": format!("张庄 5 号 电话{PHONE}"),
                     "withWhom": format!("女儿，身份证 {ID}"), "description": format!("手机 {PHONE}") },
        "latitude": LAT, "longitude": LON, "notes": format!("户主说：{ID} / {PHONE}"),
    });
    app.ok(
        Some(&v),
        "mutation($i: SaveVerificationInput!) { saveVerification(input: $i) { id } }",
        json!({ "i": input }),
    )
    .await;
    app.upload_photo(&v, &h, 3, false).await;
    h
}

#[tokio::test]
async fn no_field_shows_a_supervisor_or_a_token_an_id_a_phone_or_a_position() {
    let app = TestApp::demo().await;
    let h = seed(&app).await;
    let admin = app.token("admin").await;
    let county = app.ok(Some(&admin), "{ regions(level: COUNTY) { id } }", json!({})).await["regions"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = app
        .ok(
            Some(&admin),
            "mutation($r: ID!) { createApiToken(name: \"walk\", regionId: $r) { token } }",
            json!({ "r": county }),
        )
        .await["createApiToken"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let schema = app.ok(Some(&admin), TYPES, json!({})).await;
    let types: HashMap<String, &Value> = schema["__schema"]["types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap().to_owned(), t))
        .collect();
    let w = Walker { types, county };
    let roots = w.types["QueryRoot"]["fields"].as_array().unwrap().clone();
    let supervisor = app.token("supervisor").await;
    let mut walked = 0;
    for (who, t) in [("SUPERVISOR", &supervisor), ("API token", &token)] {
        for f in &roots {
            let name = f["name"].as_str().unwrap();
            let Some(args) = w.args(f) else { continue };
            let (inner, kind) = named(&f["type"]);
            // The deepest walk the cost budget lets through.
            let mut answer = None;
            for depth in (1..=4).rev() {
                let q = match kind {
                    "SCALAR" | "ENUM" => format!("{{ {name}{args} }}"),
                    _ => match w.selection(inner, depth) {
                        Some(sel) => format!("{{ {name}{args} {{ {sel} }} }}"),
                        None => break,
                    },
                };
                let r = app.gql(Some(t), &q, json!({})).await;
                if code(&r) != Some("QUERY_TOO_COMPLEX") {
                    answer = Some(r);
                    break;
                }
            }
            let Some(r) = answer else { continue };
            let codes: Vec<_> =
                r["errors"].as_array().into_iter().flatten().map(|e| e["extensions"]["code"].clone()).collect();
            assert!(
                codes.iter().all(|c| c == "FORBIDDEN" || c == "NOT_FOUND"),
                "{who} {name}: unexpected errors {codes:?}: {r}"
            );
            let text = r["data"].to_string();
            assert!(!text.contains(ID) && !text.contains(PHONE), "{who} {name} shows the ID or phone: {text}");
            assert!(runs(&text, 18).is_empty(), "{who} {name}: unmasked ID numbers {:?}", runs(&text, 18));
            assert!(runs(&text, 11).iter().all(|p| !p.starts_with('1')), "{who} {name}: phones {:?}", runs(&text, 11));
            let at = text.find("38.123456").or(text.find("115.987654"));
            assert!(
                at.is_none(),
                "{who} {name}: a precise position: {}",
                &text[at.unwrap_or(0).saturating_sub(300)..(at.unwrap_or(0) + 40).min(text.len())]
            );
            walked += 1;
        }
    }
    assert!(walked >= 20, "walked {walked} root fields");

    // The seeded record itself, as the supervisor sees it: withheld, rounded, thumbnail only.
    let q = "query($id: ID!) { household(id: $id) { verification { notes latitude evidence { secured { withWhom } } }
      photos { url thumbnailUrl } history(first: 20) { nodes { action after clientAddr } } } }";
    let d = app.ok(Some(&supervisor), q, json!({ "id": h })).await;
    let hh = &d["household"];
    assert_eq!(hh["verification"]["notes"], "［已隐去］");
    assert_eq!(hh["verification"]["latitude"], 38.12);
    assert_eq!(hh["photos"][0]["url"].as_str().unwrap().contains("thumb"), true, "{}", hh["photos"][0]);
    let history = hh["history"]["nodes"].as_array().unwrap();
    assert!(history.iter().any(|e| e["action"] == "VERIFICATION_SAVED"));
    assert!(history.iter().all(|e| e["clientAddr"].is_null()));
    assert!(!hh.to_string().contains(ID) && !hh.to_string().contains(PHONE));

    // Exports follow the same rule: the evidence address is withheld from the
    // supervisor's file, and in the ADMIN's in full.
    for (who, token, full) in [("supervisor", &supervisor, false), ("admin", &admin, true)] {
        for format in ["CSV", "XLSX"] {
            let q = "mutation($f: ExportFormat!) { exportReport(kind: HOUSEHOLDS, format: $f) { url } }";
            let url = app.ok(Some(token), q, json!({ "f": format })).await["exportReport"]["url"]
                .as_str()
                .unwrap()
                .to_owned();
            let bytes = app.http.get(url).send().await.unwrap().bytes().await.unwrap().to_vec();
            let text = if format == "CSV" { String::from_utf8_lossy(&bytes).into_owned() } else { xlsx_text(&bytes) };
            assert_eq!(text.contains("张庄 5 号"), full, "{who} {format}: the evidence address");
            assert_eq!(text.contains(PHONE), full, "{who} {format}: the phone in it");
        }
    }

    // The verifier who wrote it still sees it all.
    let v = app.token("v131126100200").await;
    let d = app.ok(Some(&v), "{ households(first: 1) { nodes { verification { notes latitude } } } }", json!({})).await;
    let ver = &d["households"]["nodes"][0]["verification"];
    assert!(ver["notes"].as_str().unwrap().contains(ID));
    assert_eq!(ver["latitude"], LAT);
}

/// Every cell of a workbook's sheets as text (shared strings included).
fn xlsx_text(bytes: &[u8]) -> String {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("an xlsx file");
    let mut out = String::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        if f.name().is_ok_and(|n| n.ends_with(".xml")) {
            f.read_to_string(&mut out).unwrap();
        }
    }
    out
}
