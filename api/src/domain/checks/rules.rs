//! The rules themselves: pure functions from what is known of one household
//! (its `Facts`) to the findings it should have (`Draft`s). Kept apart from
//! the database so they can be read, and unit-tested, on their own.

use super::{evidence_of, Arrangement, Evidence, RenovationKind};
use crate::domain::idnumber;
use entity::{household, photo, reference_record, verification, SafetyPath, Severity, VerificationStatus};
use serde_json::{json, Value};

#[derive(Clone, Debug, PartialEq)]
pub struct Draft {
    pub rule: &'static str,
    pub severity: Severity,
    pub details: Value,
    pub sources: Vec<&'static str>,
}

fn draft(rule: &'static str, severity: Severity, details: Value, sources: &[&'static str]) -> Draft {
    Draft { rule, severity, details, sources: sources.to_vec() }
}

/// Everything the rules look at for one household.
pub struct Facts<'a> {
    pub household: &'a household::Model,
    pub poverty: Option<&'a reference_record::Model>,
    pub appraisal: Option<&'a reference_record::Model>,
    pub renovation: Option<&'a reference_record::Model>,
    /// The verification the rules judge (the real one, or the practice one).
    pub verification: Option<&'a verification::Model>,
    /// Codes of other households of the campaign with the same ID number.
    pub same_id_as: Vec<String>,
    pub has_front_photo: bool,
    /// The newest front panoramic photo, with what it must be compared to.
    pub photo: Option<PhotoFacts>,
}

/// What the photo rules look at.
#[derive(Clone, Debug, Default)]
pub struct PhotoFacts {
    pub photo: Option<photo::Model>,
    /// Codes of other households holding the same or a near-identical photo.
    pub duplicate_of: Vec<String>,
    /// The campaign's first and last day, as UTC bounds of the local days.
    pub window: Option<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)>,
    /// The village centre, when recorded.
    pub village_at: Option<(f64, f64)>,
}

/// Photos closer than this many differing dHash bits count as the same picture.
pub const NEAR_DUPLICATE_BITS: u32 = 6;
/// A photo taken farther than this from the village centre is questioned.
pub const FAR_METRES: f64 = 3000.0;

fn safe_grade(r: Option<&reference_record::Model>) -> Option<bool> {
    r.and_then(|a| a.grade.as_deref()).map(|g| matches!(g, "A" | "B"))
}

fn accepted(r: Option<&reference_record::Model>) -> bool {
    r.is_some_and(|r| r.accepted_on.is_some())
}

/// The appraisal grade, as the findings quote it.
fn grade_of<'a>(f: &Facts<'a>) -> Option<&'a str> {
    f.appraisal.and_then(|a| a.grade.as_deref())
}

/// Relocation and resettlement move the family out: the old house no longer matters.
fn moved_out(ev: &Evidence) -> bool {
    matches!(ev.renovation.as_ref().map(|r| &r.kind), Some(RenovationKind::Relocated | RenovationKind::Resettled))
}

/// Rules about the reference data alone: they hold for the real record whatever the entry.
pub fn reference_rules(f: &Facts) -> Vec<Draft> {
    let h = f.household;
    let mut out = Vec::new();
    if !idnumber::is_valid(&h.id_number) {
        out.push(draft("ID_CHECKSUM", Severity::Error, json!({ "idNumberTail": tail(&h.id_number) }), &["POVERTY"]));
    }
    out.extend(mismatch_rules(f));
    if h.village_id.is_none() {
        let village = f.poverty.and_then(|p| p.village_name.clone()).unwrap_or_default();
        out.push(draft("VILLAGE_UNKNOWN", Severity::Error, json!({ "village": village }), &["POVERTY", "REGIONS"]));
    }
    if f.poverty.is_none() {
        out.push(draft("MISSING_FROM_POVERTY", Severity::Error, json!({}), &["POVERTY"]));
    }
    if !f.same_id_as.is_empty() {
        out.push(draft("DUPLICATE_ID", Severity::Error, json!({ "otherCodes": f.same_id_as }), &["POVERTY"]));
    }
    // Every household was appraised, except families moved out by relocation.
    let relocated = f.verification.is_some_and(|v| moved_out(&evidence_of(v)));
    if f.appraisal.is_none() && !relocated {
        out.push(draft("MISSING_FROM_APPRAISAL", Severity::Error, json!({}), &["APPRAISAL"]));
    }
    if f.renovation.is_some() && !accepted(f.renovation) && safe_grade(f.appraisal) != Some(true) {
        out.push(draft("RENOVATION_NOT_ACCEPTED", Severity::Warning, json!({}), &["RENOVATION"]));
    }
    out
}

/// The head's name and ID number as the other offices hold them, against the
/// poverty list (whose values the household carries).
fn mismatch_rules(f: &Facts) -> Vec<Draft> {
    let h = f.household;
    let mut out = Vec::new();
    let mut name_sources = Vec::new();
    let mut id_sources = Vec::new();
    for (src, r) in [("APPRAISAL", f.appraisal), ("RENOVATION", f.renovation)] {
        if let Some(r) = r {
            if r.head_name.trim() != h.head_name.trim() {
                name_sources.push((src, r.head_name.clone()));
            }
            if !r.id_number.eq_ignore_ascii_case(&h.id_number) {
                id_sources.push(src);
            }
        }
    }
    if !name_sources.is_empty() {
        let mut sources = vec!["POVERTY"];
        sources.extend(name_sources.iter().map(|s| s.0));
        let names: Vec<String> = name_sources.iter().map(|s| s.1.clone()).collect();
        out.push(draft("NAME_MISMATCH", Severity::Error, json!({ "poverty": h.head_name, "others": names }), &sources));
    }
    if !id_sources.is_empty() {
        let mut sources = vec!["POVERTY"];
        sources.extend(id_sources);
        out.push(draft("ID_MISMATCH", Severity::Error, json!({}), &sources));
    }
    out
}

/// Rules about the verifier's entry (run for the real and the practice record).
pub fn entry_rules(f: &Facts) -> Vec<Draft> {
    let mut out = Vec::new();
    let unsafe_grade = safe_grade(f.appraisal) == Some(false) && !accepted(f.renovation);
    let Some(v) = f.verification.filter(|v| v.status != VerificationStatus::NotStarted) else {
        if unsafe_grade {
            // An open question until the verifier records how the family is housed safely.
            let details = json!({ "grade": grade_of(f) });
            out.push(draft("UNSAFE_PENDING", Severity::Warning, details, &["APPRAISAL", "RENOVATION"]));
        }
        // Photo hints come at once, even before anything is entered.
        out.extend(photo_rules(f));
        return out;
    };
    let ev = evidence_of(v);
    out.extend(path_rule(f, v.path.as_ref(), &ev));
    // Grade C/D and no accepted renovation: safe only by relocation or a secured arrangement.
    let housed_otherwise = match v.path {
        Some(SafetyPath::Secured) => ev.secured.is_some(),
        Some(SafetyPath::Renovated) => moved_out(&ev),
        _ => false,
    };
    if unsafe_grade && !housed_otherwise {
        out.push(draft(
            "UNSAFE_HOUSE",
            Severity::Error,
            json!({ "grade": grade_of(f) }),
            &["APPRAISAL", "RENOVATION", "VERIFICATION"],
        ));
    }
    if !f.has_front_photo {
        out.push(draft("PHOTO_MISSING", Severity::Error, json!({}), &["PHOTOS"]));
    }
    out.extend(photo_rules(f));
    out
}

/// Whether the chosen path has the evidence it needs: at most one finding.
fn path_rule(f: &Facts, path: Option<&SafetyPath>, ev: &Evidence) -> Option<Draft> {
    match path {
        None => Some(draft("PATH_MISSING", Severity::Error, json!({}), &["VERIFICATION"])),
        Some(SafetyPath::Appraised) => appraised_rule(f, ev),
        Some(SafetyPath::Renovated) => renovated_rule(f, ev),
        Some(SafetyPath::Secured) => secured_rule(ev),
    }
}

/// Safe by appraisal: a grade A or B, confirmed on site.
fn appraised_rule(f: &Facts, ev: &Evidence) -> Option<Draft> {
    if safe_grade(f.appraisal) != Some(true) {
        Some(draft(
            "PATH_EVIDENCE",
            Severity::Error,
            json!({ "path": "APPRAISED", "grade": grade_of(f) }),
            &["VERIFICATION", "APPRAISAL"],
        ))
    } else if !ev.appraisal.as_ref().is_some_and(|a| a.confirmed_on_site) {
        Some(draft("GRADE_NOT_CONFIRMED", Severity::Error, json!({}), &["VERIFICATION"]))
    } else {
        None
    }
}

/// Safe by renovation: an accepted rebuild or reinforcement on the bureau's
/// list, or a relocation with the new address.
fn renovated_rule(f: &Facts, ev: &Evidence) -> Option<Draft> {
    let Some(r) = &ev.renovation else {
        return Some(draft("PATH_EVIDENCE", Severity::Error, json!({ "path": "RENOVATED" }), &["VERIFICATION"]));
    };
    match r.kind {
        RenovationKind::Rebuilt | RenovationKind::Reinforced => {
            if f.renovation.is_none() {
                Some(draft("MISSING_FROM_RENOVATION", Severity::Error, json!({}), &["VERIFICATION", "RENOVATION"]))
            } else if !accepted(f.renovation) {
                Some(draft(
                    "PATH_EVIDENCE",
                    Severity::Error,
                    json!({ "path": "RENOVATED", "accepted": false }),
                    &["VERIFICATION", "RENOVATION"],
                ))
            } else {
                None
            }
        }
        RenovationKind::Relocated | RenovationKind::Resettled => {
            r.new_address.as_deref().is_none_or(|a| a.trim().is_empty()).then(|| {
                draft(
                    "PATH_EVIDENCE",
                    Severity::Error,
                    json!({ "path": "RENOVATED", "newAddress": null }),
                    &["VERIFICATION"],
                )
            })
        }
    }
}

/// Safe by a secured arrangement: an address, and a description for OTHER.
fn secured_rule(ev: &Evidence) -> Option<Draft> {
    let documented = ev.secured.as_ref().is_some_and(|s| {
        !s.address.trim().is_empty()
            && (s.arrangement != Arrangement::Other || s.description.as_deref().is_some_and(|d| !d.trim().is_empty()))
    });
    (!documented).then(|| draft("PATH_EVIDENCE", Severity::Error, json!({ "path": "SECURED" }), &["VERIFICATION"]))
}

/// Rules on the front photo: the same picture on another household, taken
/// outside the campaign, far from the village, and quality hints for the verifier.
pub fn photo_rules(f: &Facts) -> Vec<Draft> {
    let mut out = Vec::new();
    let Some(pf) = &f.photo else { return out };
    let Some(p) = &pf.photo else { return out };
    if !pf.duplicate_of.is_empty() {
        out.push(draft("PHOTO_DUPLICATE", Severity::Error, json!({ "otherCodes": pf.duplicate_of }), &["PHOTOS"]));
    }
    if let (Some(t), Some((start, end))) = (p.taken_at, pf.window) {
        if t < start || t >= end {
            out.push(draft(
                "PHOTO_OUTSIDE_CAMPAIGN",
                Severity::Warning,
                json!({ "takenAt": t.to_rfc3339() }),
                &["PHOTOS"],
            ));
        }
    }
    // Where the photo was taken: its EXIF position, or else the position the
    // verifier recorded with the entry (many phones strip EXIF positions).
    let exif = p.latitude.zip(p.longitude);
    let recorded = f.verification.and_then(|v| v.latitude.zip(v.longitude));
    if let (Some((lat, lon)), Some((vlat, vlon))) = (exif.or(recorded), pf.village_at) {
        let d = crate::domain::evidence::distance_m(lat, lon, vlat, vlon);
        if d > FAR_METRES {
            let source = if exif.is_some() { "EXIF" } else { "ENTRY" };
            out.push(draft(
                "PHOTO_FAR",
                Severity::Warning,
                json!({ "metres": d.round(), "position": source }),
                &["PHOTOS", "REGIONS", "VERIFICATION"],
            ));
        }
    }
    if p.mean_luma.is_some_and(|l| l < 40.0) {
        out.push(draft("PHOTO_DARK", Severity::Warning, json!({}), &["PHOTOS"]));
    }
    if p.sharpness.is_some_and(|s| s < 30.0) {
        out.push(draft("PHOTO_BLURRED", Severity::Warning, json!({}), &["PHOTOS"]));
    }
    if (p.width as i64) * (p.height as i64) < 640 * 480 {
        out.push(draft(
            "PHOTO_TOO_SMALL",
            Severity::Warning,
            json!({ "width": p.width, "height": p.height }),
            &["PHOTOS"],
        ));
    }
    out
}

fn tail(id: &str) -> String {
    id.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use uuid::Uuid;

    fn hh(id_number: &str) -> household::Model {
        household::Model {
            id: Uuid::new_v4(),
            campaign_id: Uuid::nil(),
            code: "1".into(),
            head_name: "张三".into(),
            id_number: id_number.into(),
            size: None,
            phone: None,
            county_id: Uuid::nil(),
            township_id: Uuid::nil(),
            village_id: Some(Uuid::nil()),
            expected_path: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            created_by_import: None,
        }
    }

    #[test]
    fn checksum_rule_fires_only_on_a_bad_check_character() {
        let good = hh("131126198711084294");
        let bad = hh("131126198711084295");
        let facts = |h| Facts {
            household: h,
            poverty: None,
            appraisal: None,
            renovation: None,
            verification: None,
            same_id_as: vec![],
            has_front_photo: false,
            photo: None,
        };
        assert!(!reference_rules(&facts(&good)).iter().any(|d| d.rule == "ID_CHECKSUM"));
        assert!(reference_rules(&facts(&bad)).iter().any(|d| d.rule == "ID_CHECKSUM"));
    }
}
