//! Cross-source checks (一个问题不能有、一个错误不能出): rules that compare what the
//! three offices hold with each other and with the verifier's entry, producing
//! findings. They run right after an import (reference data alone), on every
//! save, submit and approval, and on demand over a region.

use crate::error::AppResult;
use crate::idnumber;
use entity::{
    finding, household, photo, reference_record, verification, PhotoKind, ReferenceSource, SafetyPath, Severity,
    VerificationStatus,
};
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QuerySelect,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

// ------------------------------------------------------------------ evidence

/// What the verifier recorded for the chosen path (stored as JSON).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    pub appraisal: Option<AppraisalEvidence>,
    pub renovation: Option<RenovationEvidence>,
    pub secured: Option<SecuredEvidence>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AppraisalEvidence {
    /// The grade on site agrees with the bureau's appraisal.
    pub confirmed_on_site: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RenovationKind {
    Rebuilt,
    Reinforced,
    Relocated,
    Resettled,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RenovationEvidence {
    pub kind: RenovationKind,
    /// For relocation: where the family lives now.
    pub new_address: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Arrangement {
    PublicRental,
    ElderlyHome,
    RentedFarmhouse,
    Relatives,
    Other,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SecuredEvidence {
    pub arrangement: Arrangement,
    /// Where the family lives.
    pub address: String,
    /// With whom (for living with relatives, or a landlord).
    pub with_whom: Option<String>,
    /// Required for OTHER.
    pub description: Option<String>,
}

pub fn evidence_of(v: &verification::Model) -> Evidence {
    v.evidence.clone().and_then(|j| serde_json::from_value(j).ok()).unwrap_or_default()
}

// ------------------------------------------------------------------ rules

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

/// Rules about the reference data alone: they hold for the real record whatever the entry.
pub fn reference_rules(f: &Facts) -> Vec<Draft> {
    let h = f.household;
    let mut out = Vec::new();
    if !idnumber::is_valid(&h.id_number) {
        out.push(draft("ID_CHECKSUM", Severity::Error, json!({ "idNumberTail": tail(&h.id_number) }), &["POVERTY"]));
    }
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
    let relocated = f.verification.is_some_and(|v| {
        matches!(evidence_of(v).renovation.map(|r| r.kind), Some(RenovationKind::Relocated | RenovationKind::Resettled))
    });
    if f.appraisal.is_none() && !relocated {
        out.push(draft("MISSING_FROM_APPRAISAL", Severity::Error, json!({}), &["APPRAISAL"]));
    }
    if f.renovation.is_some() && !accepted(f.renovation) && safe_grade(f.appraisal) != Some(true) {
        out.push(draft("RENOVATION_NOT_ACCEPTED", Severity::Warning, json!({}), &["RENOVATION"]));
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
            let grade = f.appraisal.and_then(|a| a.grade.clone());
            out.push(draft(
                "UNSAFE_PENDING",
                Severity::Warning,
                json!({ "grade": grade }),
                &["APPRAISAL", "RENOVATION"],
            ));
        }
        // Photo hints come at once, even before anything is entered.
        out.extend(photo_rules(f));
        return out;
    };
    let ev = evidence_of(v);
    let grade = f.appraisal.and_then(|a| a.grade.clone());
    match v.path {
        None => out.push(draft("PATH_MISSING", Severity::Error, json!({}), &["VERIFICATION"])),
        Some(SafetyPath::Appraised) => {
            if safe_grade(f.appraisal) != Some(true) {
                out.push(draft(
                    "PATH_EVIDENCE",
                    Severity::Error,
                    json!({ "path": "APPRAISED", "grade": grade }),
                    &["VERIFICATION", "APPRAISAL"],
                ));
            } else if !ev.appraisal.is_some_and(|a| a.confirmed_on_site) {
                out.push(draft("GRADE_NOT_CONFIRMED", Severity::Error, json!({}), &["VERIFICATION"]));
            }
        }
        Some(SafetyPath::Renovated) => match ev.renovation.clone() {
            None => {
                out.push(draft("PATH_EVIDENCE", Severity::Error, json!({ "path": "RENOVATED" }), &["VERIFICATION"]))
            }
            Some(r) => match r.kind {
                RenovationKind::Rebuilt | RenovationKind::Reinforced => {
                    if f.renovation.is_none() {
                        out.push(draft(
                            "MISSING_FROM_RENOVATION",
                            Severity::Error,
                            json!({}),
                            &["VERIFICATION", "RENOVATION"],
                        ));
                    } else if !accepted(f.renovation) {
                        out.push(draft(
                            "PATH_EVIDENCE",
                            Severity::Error,
                            json!({ "path": "RENOVATED", "accepted": false }),
                            &["VERIFICATION", "RENOVATION"],
                        ));
                    }
                }
                RenovationKind::Relocated | RenovationKind::Resettled => {
                    if r.new_address.as_deref().is_none_or(|a| a.trim().is_empty()) {
                        out.push(draft(
                            "PATH_EVIDENCE",
                            Severity::Error,
                            json!({ "path": "RENOVATED", "newAddress": null }),
                            &["VERIFICATION"],
                        ));
                    }
                }
            },
        },
        Some(SafetyPath::Secured) => {
            let documented = ev.secured.as_ref().is_some_and(|s| {
                !s.address.trim().is_empty()
                    && (s.arrangement != Arrangement::Other
                        || s.description.as_deref().is_some_and(|d| !d.trim().is_empty()))
            });
            if !documented {
                out.push(draft("PATH_EVIDENCE", Severity::Error, json!({ "path": "SECURED" }), &["VERIFICATION"]));
            }
        }
    }
    // Grade C/D and no accepted renovation: safe only by relocation or a secured arrangement.
    let housed_otherwise = match v.path {
        Some(SafetyPath::Secured) => ev.secured.is_some(),
        Some(SafetyPath::Renovated) => {
            matches!(ev.renovation.map(|r| r.kind), Some(RenovationKind::Relocated | RenovationKind::Resettled))
        }
        _ => false,
    };
    if unsafe_grade && !housed_otherwise {
        out.push(draft(
            "UNSAFE_HOUSE",
            Severity::Error,
            json!({ "grade": grade }),
            &["APPRAISAL", "RENOVATION", "VERIFICATION"],
        ));
    }
    if !f.has_front_photo {
        out.push(draft("PHOTO_MISSING", Severity::Error, json!({}), &["PHOTOS"]));
    }
    out.extend(photo_rules(f));
    out
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
    if let (Some(lat), Some(lon), Some((vlat, vlon))) = (p.latitude, p.longitude, pf.village_at) {
        let d = crate::evidence::distance_m(lat, lon, vlat, vlon);
        if d > FAR_METRES {
            out.push(draft("PHOTO_FAR", Severity::Warning, json!({ "metres": d.round() }), &["PHOTOS", "REGIONS"]));
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

// ------------------------------------------------------------------ messages

/// A finding's message in the viewer's language (zh-CN unless English is asked for).
pub fn message(rule: &str, details: &Value, english: bool) -> String {
    let d = |k: &str| {
        details.get(k).map(|v| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string())).unwrap_or_default()
    };
    let (zh, en) = match rule {
        "ID_CHECKSUM" => (
            format!("证件号码校验位错误（尾号 {}），请与扶贫办核对。", d("idNumberTail")),
            format!(
                "The ID number's check character is wrong (ends {}); check it with the poverty office.",
                d("idNumberTail")
            ),
        ),
        "NAME_MISMATCH" => (
            format!("户主姓名不一致：扶贫办为“{}”，其他来源为 {}。", d("poverty"), d("others")),
            format!("Head of household differs: poverty list '{}', other sources {}.", d("poverty"), d("others")),
        ),
        "ID_MISMATCH" => {
            ("各来源的证件号码不一致，请核对。".into(), "The sources hold different ID numbers; reconcile them.".into())
        }
        "VILLAGE_UNKNOWN" => (
            format!("行政村“{}”不在统计用区划代码中，需由县住建局确定归属。", d("village")),
            format!(
                "Village '{}' is not on the official region list; the county team must place the household.",
                d("village")
            ),
        ),
        "MISSING_FROM_POVERTY" => {
            ("扶贫办名单中没有该户。".into(), "The household is missing from the poverty office's list.".into())
        }
        "MISSING_FROM_APPRAISAL" => (
            "住建局鉴定名单中没有该户，缺少房屋鉴定等级。".into(),
            "The household is missing from the housing bureau's appraisal list.".into(),
        ),
        "MISSING_FROM_RENOVATION" => (
            "选择了危房改造，但住建局改造名单中没有该户。".into(),
            "Renovation was chosen but the household is not on the renovation list.".into(),
        ),
        "DUPLICATE_ID" => (
            format!("证件号码与其他户重复：{}。", d("otherCodes")),
            format!("The same ID number is on other households: {}.", d("otherCodes")),
        ),
        "RENOVATION_NOT_ACCEPTED" => {
            ("危房改造尚未竣工验收。".into(), "The renovation has no completion acceptance yet.".into())
        }
        "UNSAFE_PENDING" => (
            format!("房屋鉴定为{}级且无已验收的改造，需核实安全住房保障方式。", d("grade")),
            format!("Graded {} with no accepted renovation: record how the family is housed safely.", d("grade")),
        ),
        "UNSAFE_HOUSE" => (
            format!("危房（{}级）既无已验收改造，也无搬迁或保障安排，住房不安全。", d("grade")),
            format!(
                "Unsafe house (grade {}) with no accepted renovation, relocation or secured arrangement.",
                d("grade")
            ),
        ),
        "PATH_MISSING" => ("请选择住房安全方式。".into(), "Choose how the house counts as safe.".into()),
        "PATH_EVIDENCE" => {
            ("所选住房安全方式缺少相应依据，请补充。".into(), "The chosen path lacks the evidence it needs.".into())
        }
        "GRADE_NOT_CONFIRMED" => ("请现场确认房屋鉴定等级。".into(), "Confirm the appraisal grade on site.".into()),
        "PHOTO_MISSING" => {
            ("请上传现住房正面全景照片。".into(), "Upload the front panoramic photo of the house.".into())
        }
        "LOOK_BACK" => (format!("回头看发现问题：{}", d("reason")), format!("Look-back review: {}", d("reason"))),
        "PHOTO_DUPLICATE" => (
            format!("照片与其他户相同或几乎相同：{}。请现场重新拍摄本户住房。", d("otherCodes")),
            format!(
                "The same (or a near-identical) photo is on other households: {}. Take this house's own photo.",
                d("otherCodes")
            ),
        ),
        "PHOTO_OUTSIDE_CAMPAIGN" => (
            format!("照片拍摄时间（{}）不在核验期间内，请确认或重新拍摄。", d("takenAt")),
            format!("The photo was taken at {}, outside the campaign; confirm or retake it.", d("takenAt")),
        ),
        "PHOTO_FAR" => (
            format!("照片拍摄地点距本村约{}米，请确认是否为本户住房。", d("metres")),
            format!("The photo was taken about {} m from the village; confirm it shows this house.", d("metres")),
        ),
        "PHOTO_DARK" => {
            ("照片过暗，请在光线充足时重新拍摄。".into(), "The photo is very dark; retake it in better light.".into())
        }
        "PHOTO_BLURRED" => (
            "照片模糊，请稳住手机重新拍摄。".into(),
            "The photo is blurred; hold the phone steady and retake it.".into(),
        ),
        "PHOTO_TOO_SMALL" => (
            format!("照片太小（{}×{}），看不清整栋房屋，请重新拍摄。", d("width"), d("height")),
            format!("The photo is too small ({}×{}) to show the whole house; retake it.", d("width"), d("height")),
        ),
        other => (other.to_owned(), other.to_owned()),
    };
    if english {
        en
    } else {
        zh
    }
}

// ------------------------------------------------------------------ running

/// Runs every rule for the given households of a campaign and brings their
/// findings up to date: new problems open, solved ones close, unchanged ones
/// (and their acknowledgements) stay. Call inside the transaction of the change.
pub async fn run<C: ConnectionTrait>(conn: &C, campaign_id: Uuid, household_ids: &[Uuid]) -> AppResult<CheckSummary> {
    let mut summary = CheckSummary::default();
    for chunk in household_ids.chunks(500) {
        run_chunk(conn, campaign_id, chunk, &mut summary).await?;
    }
    Ok(summary)
}

#[derive(Default, Debug, Clone)]
pub struct CheckSummary {
    pub households: u64,
    pub opened: u64,
    pub resolved: u64,
    pub open_errors_by_rule: HashMap<String, u64>,
    /// Per household whose findings changed: (household, region, opened rules, resolved rules).
    pub changes: Vec<(Uuid, Option<Uuid>, Vec<String>, Vec<String>)>,
}

/// Records what a check run changed in the audit trail: one event per household
/// for a single record's change, one summary event for a bulk run.
pub async fn audit<C: ConnectionTrait>(
    conn: &C,
    actor: &crate::audit::Actor,
    summary: &CheckSummary,
    bulk_region: Option<Uuid>,
) -> AppResult<()> {
    use crate::audit::{append, NewEvent};
    if summary.changes.is_empty() {
        return Ok(());
    }
    if summary.changes.len() <= 20 {
        for (h, region, opened, resolved) in &summary.changes {
            append(
                conn,
                actor,
                NewEvent {
                    action: "FINDINGS_CHANGED",
                    entity_type: "Household",
                    entity_id: Some(*h),
                    household_id: Some(*h),
                    region_id: *region,
                    before: Some(json!({ "resolved": resolved })),
                    after: Some(json!({ "opened": opened })),
                },
            )
            .await?;
        }
    } else {
        append(
            conn,
            actor,
            NewEvent {
                action: "FINDINGS_CHANGED",
                entity_type: "Region",
                entity_id: bulk_region,
                region_id: bulk_region,
                after: Some(json!({ "households": summary.changes.len(), "opened": summary.opened, "resolved": summary.resolved })),
                ..Default::default()
            },
        )
        .await?;
    }
    Ok(())
}

async fn run_chunk<C: ConnectionTrait>(
    conn: &C,
    campaign_id: Uuid,
    ids: &[Uuid],
    summary: &mut CheckSummary,
) -> AppResult<()> {
    let households =
        household::Entity::find().filter(household::Column::Id.is_in(ids.iter().copied())).all(conn).await?;
    let refs = reference_record::Entity::find()
        .filter(reference_record::Column::HouseholdId.is_in(ids.iter().copied()))
        .filter(reference_record::Column::Current.eq(true))
        .all(conn)
        .await?;
    let verifications = verification::Entity::find()
        .filter(verification::Column::HouseholdId.is_in(ids.iter().copied()))
        .all(conn)
        .await?;
    let front_photos: Vec<photo::Model> = photo::Entity::find()
        .filter(photo::Column::HouseholdId.is_in(ids.iter().copied()))
        .filter(photo::Column::Kind.eq(PhotoKind::FrontPanorama))
        .all(conn)
        .await?;
    let fronts: HashSet<(Uuid, bool)> = front_photos.iter().map(|p| (p.household_id, p.practice)).collect();
    // Every real photo of the campaign, for duplicates (a county holds thousands: one query).
    let campaign_photos: Vec<(Uuid, String, Option<i64>)> = if front_photos.is_empty() {
        Vec::new()
    } else {
        photo::Entity::find()
            .select_only()
            .columns([photo::Column::HouseholdId, photo::Column::Sha256, photo::Column::Phash])
            .filter(photo::Column::Practice.eq(false))
            .filter(
                photo::Column::HouseholdId.in_subquery(
                    sea_orm::sea_query::Query::select()
                        .column(household::Column::Id)
                        .from(household::Entity)
                        .and_where(household::Column::CampaignId.eq(campaign_id))
                        .to_owned(),
                ),
            )
            .into_tuple()
            .all(conn)
            .await?
    };
    let codes: HashMap<Uuid, String> = if campaign_photos.is_empty() {
        HashMap::new()
    } else {
        household::Entity::find()
            .select_only()
            .columns([household::Column::Id, household::Column::Code])
            .filter(household::Column::Id.is_in(campaign_photos.iter().map(|p| p.0)))
            .into_tuple::<(Uuid, String)>()
            .all(conn)
            .await?
            .into_iter()
            .collect()
    };
    let campaign = entity::campaign::Entity::find_by_id(campaign_id).one(conn).await?;
    let window = campaign.as_ref().and_then(|c| {
        use chrono::TimeZone;
        let tz: chrono_tz::Tz = c.time_zone.parse().ok()?;
        let start = tz.from_local_datetime(&c.starts_on.and_hms_opt(0, 0, 0)?).earliest()?;
        let end = tz.from_local_datetime(&(c.ends_on + chrono::Duration::days(1)).and_hms_opt(0, 0, 0)?).earliest()?;
        Some((start.with_timezone(&chrono::Utc), end.with_timezone(&chrono::Utc)))
    });
    let villages: HashMap<Uuid, (f64, f64)> = entity::region::Entity::find()
        .filter(entity::region::Column::Id.is_in(households.iter().filter_map(|h| h.village_id)))
        .all(conn)
        .await?
        .into_iter()
        .filter_map(|r| Some((r.id, (r.latitude?, r.longitude?))))
        .collect();
    // ID numbers shared with another household of the campaign.
    let id_numbers: Vec<String> = households.iter().map(|h| h.id_number.clone()).collect();
    let mut by_id: HashMap<String, Vec<(Uuid, String)>> = HashMap::new();
    for (hid, code, idn) in household::Entity::find()
        .select_only()
        .columns([household::Column::Id, household::Column::Code, household::Column::IdNumber])
        .filter(household::Column::CampaignId.eq(campaign_id))
        .filter(household::Column::IdNumber.is_in(id_numbers))
        .into_tuple::<(Uuid, String, String)>()
        .all(conn)
        .await?
    {
        by_id.entry(idn).or_default().push((hid, code));
    }
    let existing = finding::Entity::find()
        .filter(finding::Column::HouseholdId.is_in(ids.iter().copied()))
        .filter(finding::Column::Open.eq(true))
        .all(conn)
        .await?;

    for h in &households {
        summary.households += 1;
        let pick = |s: ReferenceSource| refs.iter().find(|r| r.household_id == Some(h.id) && r.source == s);
        let same_id_as: Vec<String> = by_id
            .get(&h.id_number)
            .map(|v| v.iter().filter(|(id, _)| *id != h.id).map(|(_, c)| c.clone()).collect())
            .unwrap_or_default();
        for practice in [false, true] {
            let v = verifications.iter().find(|v| v.household_id == h.id && v.practice == practice);
            if practice && v.is_none() {
                // No practice entry: close any practice findings left over.
                sync(conn, h, true, None, Vec::new(), &existing, summary).await?;
                continue;
            }
            let newest = front_photos
                .iter()
                .filter(|p| p.household_id == h.id && p.practice == practice)
                .max_by_key(|p| p.uploaded_at)
                .cloned();
            let duplicate_of: Vec<String> = match &newest {
                None => Vec::new(),
                Some(p) => {
                    let mut d: Vec<String> = campaign_photos
                        .iter()
                        .filter(|(hid, sha, ph)| {
                            *hid != h.id
                                && (*sha == p.sha256
                                    || matches!((ph, p.phash), (Some(a), Some(b)) if crate::evidence::hamming(*a, b) <= NEAR_DUPLICATE_BITS))
                        })
                        .filter_map(|(hid, _, _)| codes.get(hid).cloned())
                        .collect();
                    d.sort();
                    d.dedup();
                    d
                }
            };
            let photo_facts = PhotoFacts {
                photo: newest,
                duplicate_of,
                window,
                village_at: h.village_id.and_then(|v| villages.get(&v).copied()),
            };
            let facts = Facts {
                photo: Some(photo_facts),
                household: h,
                poverty: pick(ReferenceSource::Poverty),
                appraisal: pick(ReferenceSource::Appraisal),
                renovation: pick(ReferenceSource::Renovation),
                verification: v,
                same_id_as: same_id_as.clone(),
                has_front_photo: fronts.contains(&(h.id, practice)),
            };
            let mut drafts = entry_rules(&facts);
            if !practice {
                drafts.extend(reference_rules(&facts));
            }
            sync(conn, h, practice, v, drafts, &existing, summary).await?;
        }
    }
    Ok(())
}

/// Opens a LOOK_BACK warning on a household: a person's finding (a reopen in the
/// look-back review, or a re-check that disagrees), closed when the verifier
/// acknowledges what they fixed, never by re-running the checks.
pub async fn open_look_back<C: ConnectionTrait>(
    conn: &C,
    h: &household::Model,
    verification_id: Option<Uuid>,
    practice: bool,
    details: Value,
) -> AppResult<()> {
    finding::ActiveModel {
        id: Set(Uuid::new_v4()),
        campaign_id: Set(h.campaign_id),
        household_id: Set(h.id),
        verification_id: Set(verification_id),
        rule: Set("LOOK_BACK".into()),
        severity: Set(Severity::Warning),
        details: Set(details),
        sources: Set(json!(["LOOK_BACK"])),
        practice: Set(practice),
        open: Set(true),
        acknowledged_by: Set(None),
        acknowledged_at: Set(None),
        ack_reason: Set(None),
        created_at: Set(crate::audit::now()),
        resolved_at: Set(None),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// Rules that only a person opens (look-back), which re-running checks must not close.
const MANUAL_RULES: [&str; 1] = ["LOOK_BACK"];

async fn sync<C: ConnectionTrait>(
    conn: &C,
    h: &household::Model,
    practice: bool,
    v: Option<&verification::Model>,
    drafts: Vec<Draft>,
    existing: &[finding::Model],
    summary: &mut CheckSummary,
) -> AppResult<()> {
    let now = crate::audit::now();
    let mut opened = Vec::new();
    let mut resolved = Vec::new();
    let mine: Vec<&finding::Model> = existing
        .iter()
        .filter(|f| f.household_id == h.id && f.practice == practice && !MANUAL_RULES.contains(&f.rule.as_str()))
        .collect();
    for f in &mine {
        let still = drafts.iter().find(|d| d.rule == f.rule);
        match still {
            Some(d) if d.details == f.details => {}
            _ => {
                finding::Entity::update_many()
                    .col_expr(finding::Column::Open, Expr::value(false))
                    .col_expr(finding::Column::ResolvedAt, Expr::value(now))
                    .filter(finding::Column::Id.eq(f.id))
                    .exec(conn)
                    .await?;
                summary.resolved += 1;
                resolved.push(f.rule.clone());
            }
        }
    }
    for d in drafts {
        if d.severity == Severity::Error && !practice {
            *summary.open_errors_by_rule.entry(d.rule.to_string()).or_default() += 1;
        }
        if mine.iter().any(|f| f.rule == d.rule && f.details == d.details) {
            continue;
        }
        finding::ActiveModel {
            id: Set(Uuid::new_v4()),
            campaign_id: Set(h.campaign_id),
            household_id: Set(h.id),
            verification_id: Set(v.map(|v| v.id)),
            rule: Set(d.rule.into()),
            severity: Set(d.severity),
            details: Set(d.details),
            sources: Set(json!(d.sources)),
            practice: Set(practice),
            open: Set(true),
            acknowledged_by: Set(None),
            acknowledged_at: Set(None),
            ack_reason: Set(None),
            created_at: Set(now),
            resolved_at: Set(None),
        }
        .insert(conn)
        .await?;
        summary.opened += 1;
        opened.push(d.rule.to_string());
    }
    if !opened.is_empty() || !resolved.is_empty() {
        if practice {
            opened.iter_mut().chain(resolved.iter_mut()).for_each(|r| r.insert_str(0, "PRACTICE:"));
        }
        summary.changes.push((h.id, h.village_id.or(Some(h.township_id)), opened, resolved));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

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
