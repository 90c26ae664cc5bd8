//! The verification workflow (五步工作法 steps 3–5): NOT_STARTED → DRAFT (初录)
//! → SUBMITTED (复验) → APPROVED (核准) or RETURNED; REOPENED in the look-back
//! review (回头看). Every change is checked, versioned, idempotent and audited.

use crate::{
    audit::{self, Actor, NewEvent},
    auth::Viewer,
    checks::{self, Evidence},
    error::{AppError, AppResult},
    households, AppState,
};
use entity::{
    finding, household, idempotency_key, milestone, verification, Role, SafetyPath, Severity, VerificationStatus as S,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
};
use serde_json::json;
use uuid::Uuid;

#[derive(Clone, Debug, Default)]
pub struct HouseFactsInput {
    pub structure: Option<String>,
    pub floors: Option<i32>,
    pub floor_area: Option<f64>,
    pub year_built: Option<i32>,
    pub occupants: Option<i32>,
}

#[derive(Clone, Debug)]
pub struct SaveInput {
    pub household_id: Uuid,
    pub practice: bool,
    /// The version the client's copy is based on; 0 for a first save.
    pub version: i32,
    pub idempotency_key: Option<String>,
    pub path: Option<SafetyPath>,
    pub evidence: Evidence,
    pub facts: HouseFactsInput,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub notes: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Submit,
    Approve,
    Return,
    Reopen,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Submit => "SUBMIT",
            Op::Approve => "APPROVE",
            Op::Return => "RETURN",
            Op::Reopen => "REOPEN",
        }
    }
    fn from_states(self) -> &'static [S] {
        match self {
            Op::Submit => &[S::Draft, S::Returned, S::Reopened],
            Op::Approve | Op::Return => &[S::Submitted],
            Op::Reopen => &[S::Approved],
        }
    }
    fn to_state(self) -> S {
        match self {
            Op::Submit => S::Submitted,
            Op::Approve => S::Approved,
            Op::Return => S::Returned,
            Op::Reopen => S::Reopened,
        }
    }
    fn roles(self) -> &'static [Role] {
        match self {
            Op::Submit => &[Role::Verifier],
            _ => &[Role::Township, Role::Admin],
        }
    }
    fn action(self) -> &'static str {
        match self {
            Op::Submit => "VERIFICATION_SUBMITTED",
            Op::Approve => "VERIFICATION_APPROVED",
            Op::Return => "VERIFICATION_RETURNED",
            Op::Reopen => "VERIFICATION_REOPENED",
        }
    }
}

const SAVABLE: [S; 4] = [S::NotStarted, S::Draft, S::Returned, S::Reopened];

fn invalid(current: S, what: &str) -> AppError {
    AppError::InvalidTransition {
        message: format!("{what} is not possible while the record is {}.", current.as_str()),
        current: current.as_str().into(),
    }
}

fn conflict(current: &verification::Model) -> AppError {
    AppError::Conflict(format!(
        "Someone changed this record meanwhile (now version {}, status {}); reload it and apply your change again.",
        current.version,
        current.status.as_str()
    ))
}

fn snapshot(v: &verification::Model) -> serde_json::Value {
    json!({
        "status": v.status.as_str(),
        "path": v.path.map(|p| p.as_str()),
        "version": v.version,
        "practice": v.practice,
        "evidence": v.evidence,
        "structure": v.structure, "floors": v.floors, "floorArea": v.floor_area,
        "yearBuilt": v.year_built, "occupants": v.occupants,
        "latitude": v.latitude, "longitude": v.longitude, "notes": v.notes,
        "returnReason": v.return_reason,
    })
}

fn validate(input: &SaveInput) -> AppResult<()> {
    let f = &input.facts;
    let this_year = chrono::Utc::now().format("%Y").to_string().parse::<i32>().unwrap_or(2100);
    if f.floors.is_some_and(|n| !(1..=10).contains(&n)) {
        return Err(AppError::validation("houseFacts.floors", "Floors must be between 1 and 10."));
    }
    if f.floor_area.is_some_and(|a| !(1.0..=2000.0).contains(&a)) {
        return Err(AppError::validation("houseFacts.floorArea", "Floor area must be 1 to 2000 m²."));
    }
    if f.year_built.is_some_and(|y| !(1900..=this_year).contains(&y)) {
        return Err(AppError::validation("houseFacts.yearBuilt", format!("Year built must be 1900 to {this_year}.")));
    }
    if f.occupants.is_some_and(|n| !(0..=50).contains(&n)) {
        return Err(AppError::validation("houseFacts.occupants", "Occupants must be 0 to 50."));
    }
    if f.structure.as_deref().is_some_and(|s| s.chars().count() > 50) {
        return Err(AppError::validation("houseFacts.structure", "At most 50 characters."));
    }
    if input.latitude.is_some_and(|l| !(-90.0..=90.0).contains(&l))
        || input.longitude.is_some_and(|l| !(-180.0..=180.0).contains(&l))
        || input.latitude.is_some() != input.longitude.is_some()
    {
        return Err(AppError::validation("latitude", "Give both latitude and longitude, in degrees."));
    }
    if input.notes.as_deref().is_some_and(|n| n.chars().count() > 2000) {
        return Err(AppError::validation("notes", "Notes are limited to 2000 characters."));
    }
    if input.idempotency_key.as_deref().is_some_and(|k| k.is_empty() || k.len() > 128) {
        return Err(AppError::validation("idempotencyKey", "An idempotency key has 1 to 128 characters."));
    }
    // Evidence must belong to the chosen path.
    let e = &input.evidence;
    let wrong = match input.path {
        Some(SafetyPath::Appraised) => e.renovation.is_some() || e.secured.is_some(),
        Some(SafetyPath::Renovated) => e.appraisal.is_some() || e.secured.is_some(),
        Some(SafetyPath::Secured) => e.appraisal.is_some() || e.renovation.is_some(),
        None => false,
    };
    if wrong {
        return Err(AppError::validation("evidence", "Give only the evidence of the chosen path."));
    }
    Ok(())
}

/// A retry with a key already used by this account returns what the first call made.
async fn replay<C: ConnectionTrait>(
    conn: &C,
    viewer: &Viewer,
    key: Option<&str>,
    operation: &str,
) -> AppResult<Option<verification::Model>> {
    let (Some(key), Some(account)) = (key, viewer.account_id()) else { return Ok(None) };
    let Some(row) = idempotency_key::Entity::find()
        .filter(idempotency_key::Column::AccountId.eq(account))
        .filter(idempotency_key::Column::Key.eq(key))
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    if row.operation != operation {
        return Err(AppError::validation("idempotencyKey", "This idempotency key was used for another operation."));
    }
    Ok(verification::Entity::find_by_id(row.verification_id).one(conn).await?)
}

async fn remember(
    txn: &DatabaseTransaction,
    viewer: &Viewer,
    key: Option<&str>,
    op: &str,
    v: &verification::Model,
) -> AppResult<()> {
    if let (Some(key), Some(account)) = (key, viewer.account_id()) {
        idempotency_key::ActiveModel {
            id: Set(Uuid::new_v4()),
            account_id: Set(account),
            key: Set(key.into()),
            operation: Set(op.into()),
            verification_id: Set(v.id),
            result_version: Set(v.version),
            created_at: Set(audit::now()),
        }
        .insert(txn)
        .await?;
    }
    Ok(())
}

/// Saves a draft (初录 / 模拟录入). Only the village's verifier enters data.
pub async fn save(
    state: &AppState,
    viewer: &Viewer,
    input: SaveInput,
    client_addr: Option<String>,
) -> AppResult<verification::Model> {
    viewer.require_role(&[Role::Verifier], "enter verification data")?;
    let h = households::get(&state.db, viewer, input.household_id).await?;
    validate(&input)?;
    if let Some(done) = replay(&state.db, viewer, input.idempotency_key.as_deref(), "SAVE").await? {
        return Ok(done);
    }
    let now = audit::now();
    let (_w, txn) = state.begin().await?;
    let tracker = crate::counters::track(&txn, h.campaign_id, h.id).await?;
    let current = verification::Entity::find()
        .filter(verification::Column::HouseholdId.eq(h.id))
        .filter(verification::Column::Practice.eq(input.practice))
        .one(&txn)
        .await?;
    let evidence = serde_json::to_value(&input.evidence).map_err(|e| AppError::Internal(e.into()))?;
    let (saved, before) = match current {
        None => {
            if input.version != 0 {
                return Err(AppError::Conflict("This household has no record yet; save with version 0.".into()));
            }
            let m = verification::ActiveModel {
                id: Set(Uuid::new_v4()),
                campaign_id: Set(h.campaign_id),
                household_id: Set(h.id),
                practice: Set(input.practice),
                status: Set(S::Draft),
                path: Set(input.path),
                version: Set(1),
                evidence: Set(Some(evidence)),
                structure: Set(input.facts.structure.clone()),
                floors: Set(input.facts.floors),
                floor_area: Set(input.facts.floor_area),
                year_built: Set(input.facts.year_built),
                occupants: Set(input.facts.occupants),
                latitude: Set(input.latitude),
                longitude: Set(input.longitude),
                notes: Set(input.notes.clone()),
                verified_by: Set(viewer.account_id()),
                submitted_at: Set(None),
                approved_by: Set(None),
                approved_at: Set(None),
                return_reason: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(&txn)
            .await?;
            (m, None)
        }
        Some(cur) => {
            if !SAVABLE.contains(&cur.status) {
                return Err(invalid(cur.status, "Saving"));
            }
            if cur.version != input.version {
                return Err(conflict(&cur));
            }
            let before = snapshot(&cur);
            let mut am: verification::ActiveModel = cur.clone().into();
            am.status = Set(S::Draft);
            am.path = Set(input.path);
            am.version = Set(cur.version + 1);
            am.evidence = Set(Some(evidence));
            am.structure = Set(input.facts.structure.clone());
            am.floors = Set(input.facts.floors);
            am.floor_area = Set(input.facts.floor_area);
            am.year_built = Set(input.facts.year_built);
            am.occupants = Set(input.facts.occupants);
            am.latitude = Set(input.latitude);
            am.longitude = Set(input.longitude);
            am.notes = Set(input.notes.clone());
            am.verified_by = Set(viewer.account_id());
            am.updated_at = Set(now);
            // Guarded by the version, so a concurrent save cannot be overwritten.
            let res = verification::Entity::update_many()
                .set(am)
                .filter(verification::Column::Id.eq(cur.id))
                .filter(verification::Column::Version.eq(cur.version))
                .exec(&txn)
                .await?;
            if res.rows_affected != 1 {
                return Err(conflict(&cur));
            }
            let m = verification::Entity::find_by_id(cur.id).one(&txn).await?.ok_or_else(|| conflict(&cur))?;
            (m, Some(before))
        }
    };
    audit::append(
        &txn,
        &Actor::of(viewer, client_addr.clone()),
        NewEvent {
            action: if input.practice { "PRACTICE_SAVED" } else { "VERIFICATION_SAVED" },
            entity_type: "Verification",
            entity_id: Some(saved.id),
            household_id: Some(h.id),
            region_id: h.village_id.or(Some(h.township_id)),
            before,
            after: Some(snapshot(&saved)),
        },
    )
    .await?;
    let summary = checks::run(&txn, h.campaign_id, &[h.id]).await?;
    checks::audit(&txn, &Actor::of(viewer, client_addr.clone()), &summary, None).await?;
    remember(&txn, viewer, input.idempotency_key.as_deref(), "SAVE", &saved).await?;
    tracker.commit(state, txn).await?;
    Ok(saved)
}

/// Submission closes when the campaign's look-back review ends (unless extended).
async fn check_window<C: ConnectionTrait>(conn: &C, campaign_id: Uuid) -> AppResult<()> {
    let look_back = milestone::Entity::find()
        .filter(milestone::Column::CampaignId.eq(campaign_id))
        .filter(milestone::Column::Kind.eq("LOOK_BACK"))
        .one(conn)
        .await?;
    if let Some(m) = look_back {
        if audit::now() >= m.ends_at {
            return Err(AppError::InvalidTransition {
                message: format!(
                    "Submissions closed when the look-back review ended ({}); an ADMIN can extend it.",
                    m.ends_at.to_rfc3339()
                ),
                current: "CLOSED".into(),
            });
        }
    }
    Ok(())
}

/// Submit, approve, return or reopen: right role, right state, right version.
pub async fn transition(
    state: &AppState,
    viewer: &Viewer,
    op: Op,
    id: Uuid,
    version: i32,
    reason: Option<&str>,
    idempotency_key: Option<&str>,
    client_addr: Option<String>,
) -> AppResult<verification::Model> {
    let db = &state.db;
    let cur = verification::Entity::find_by_id(id).one(db).await?.ok_or_else(|| AppError::not_found("verification"))?;
    // Scope first: a record outside the viewer's region does not exist for them.
    let h: household::Model = households::get(db, viewer, cur.household_id).await?;
    viewer.require_role(op.roles(), &format!("{} a verification", op.name().to_lowercase()))?;
    if let Some(done) = replay(db, viewer, idempotency_key, op.name()).await? {
        return Ok(done);
    }
    if !op.from_states().contains(&cur.status) {
        return Err(invalid(cur.status, &format!("{} ", op.name().to_lowercase()).trim().to_string()));
    }
    if cur.version != version {
        return Err(conflict(&cur));
    }
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if matches!(op, Op::Return | Op::Reopen) {
        match reason {
            None => return Err(AppError::validation("reason", "Say why, so the verifier knows what to fix.")),
            Some(r) if r.chars().count() > 500 => {
                return Err(AppError::validation("reason", "The reason is limited to 500 characters."))
            }
            _ => {}
        }
    }
    if op == Op::Submit && !cur.practice {
        check_window(db, cur.campaign_id).await?;
    }
    let now = audit::now();
    let (_w, txn) = state.begin().await?;
    let tracker = crate::counters::track(&txn, h.campaign_id, h.id).await?;
    if matches!(op, Op::Submit | Op::Approve) {
        let summary = checks::run(&txn, h.campaign_id, &[h.id]).await?;
        checks::audit(&txn, &Actor::of(viewer, client_addr.clone()), &summary, None).await?;
        let open = finding::Entity::find()
            .filter(finding::Column::HouseholdId.eq(h.id))
            .filter(finding::Column::Practice.eq(cur.practice))
            .filter(finding::Column::Open.eq(true))
            .all(&txn)
            .await?;
        let blocking: Vec<String> = open
            .iter()
            .filter(|f| f.severity == Severity::Error || f.acknowledged_at.is_none())
            .map(|f| f.rule.clone())
            .collect();
        if !blocking.is_empty() {
            // The checks' findings are kept even though the step is refused.
            tracker.commit(state, txn).await?;
            return Err(AppError::Blocked {
                message: format!("Fix the errors and acknowledge the warnings first: {}.", blocking.join(", ")),
                rules: blocking,
            });
        }
    }
    let before = snapshot(&cur);
    let mut am: verification::ActiveModel = cur.clone().into();
    am.status = Set(op.to_state());
    am.version = Set(cur.version + 1);
    am.updated_at = Set(now);
    match op {
        Op::Submit => {
            am.submitted_at = Set(Some(now));
            am.verified_by = Set(viewer.account_id());
            am.return_reason = Set(None);
        }
        Op::Approve => {
            am.approved_by = Set(viewer.account_id());
            am.approved_at = Set(Some(now));
        }
        Op::Return | Op::Reopen => am.return_reason = Set(reason.map(str::to_owned)),
    }
    if !cur.practice {
        // Into the outbox before the versioned update: if that update loses a
        // race, the whole transaction rolls back and no event is ever sent.
        let event = match op {
            Op::Submit => crate::webhooks::WebhookEvent::VerificationSubmitted,
            Op::Approve => crate::webhooks::WebhookEvent::VerificationApproved,
            Op::Return => crate::webhooks::WebhookEvent::VerificationReturned,
            Op::Reopen => crate::webhooks::WebhookEvent::VerificationReopened,
        };
        let data = json!({
            "householdId": crate::ids::encode("Household", h.id).0,
            "householdCode": h.code,
            "verificationId": crate::ids::encode("Verification", cur.id).0,
            "status": op.to_state().as_str(),
            "version": cur.version + 1,
            "townshipId": crate::ids::encode("Region", h.township_id).0,
            "villageId": h.village_id.map(|v| crate::ids::encode("Region", v).0),
        });
        crate::webhooks::enqueue(&txn, h.county_id, event, data, None).await?;
    }
    let res = verification::Entity::update_many()
        .set(am)
        .filter(verification::Column::Id.eq(cur.id))
        .filter(verification::Column::Version.eq(cur.version))
        .exec(&txn)
        .await?;
    if res.rows_affected != 1 {
        return Err(conflict(&cur));
    }
    let saved = verification::Entity::find_by_id(cur.id).one(&txn).await?.ok_or_else(|| conflict(&cur))?;
    if op == Op::Reopen {
        // The look-back finding stays open until the verifier acknowledges what they fixed.
        checks::open_look_back(&txn, &h, Some(saved.id), saved.practice, json!({ "reason": reason })).await?;
    }
    audit::append(
        &txn,
        &Actor::of(viewer, client_addr),
        NewEvent {
            action: op.action(),
            entity_type: "Verification",
            entity_id: Some(saved.id),
            household_id: Some(h.id),
            region_id: h.village_id.or(Some(h.township_id)),
            before: Some(before),
            after: Some(snapshot(&saved)),
        },
    )
    .await?;
    remember(&txn, viewer, idempotency_key, op.name(), &saved).await?;
    tracker.commit(state, txn).await?;
    Ok(saved)
}

/// Acknowledges a WARNING with a reason (an ERROR cannot be acknowledged away).
pub async fn acknowledge(
    state: &AppState,
    viewer: &Viewer,
    finding_id: Uuid,
    reason: &str,
    client_addr: Option<String>,
) -> AppResult<finding::Model> {
    viewer.require_role(&[Role::Verifier, Role::Township, Role::Admin], "acknowledge findings")?;
    let f =
        finding::Entity::find_by_id(finding_id).one(&state.db).await?.ok_or_else(|| AppError::not_found("finding"))?;
    let h = households::get(&state.db, viewer, f.household_id).await?;
    if f.severity == Severity::Error {
        return Err(AppError::validation("id", "Errors must be fixed; only warnings can be acknowledged."));
    }
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(AppError::validation("reason", "Give a reason of 1 to 500 characters."));
    }
    let (_w, txn) = state.begin().await?;
    let tracker = crate::counters::track(&txn, h.campaign_id, h.id).await?;
    let mut am: finding::ActiveModel = f.clone().into();
    am.acknowledged_by = Set(viewer.account_id());
    am.acknowledged_at = Set(Some(audit::now()));
    am.ack_reason = Set(Some(reason.into()));
    if f.rule == "LOOK_BACK" {
        // A person opened it; acknowledging what was fixed closes it.
        am.open = Set(false);
        am.resolved_at = Set(Some(audit::now()));
    }
    let saved = am.update(&txn).await?;
    audit::append(
        &txn,
        &Actor::of(viewer, client_addr),
        NewEvent {
            action: "FINDING_ACKNOWLEDGED",
            entity_type: "Finding",
            entity_id: Some(f.id),
            household_id: Some(h.id),
            region_id: h.village_id.or(Some(h.township_id)),
            before: None,
            after: Some(json!({ "rule": f.rule, "reason": reason })),
        },
    )
    .await?;
    tracker.commit(state, txn).await?;
    Ok(saved)
}

/// Runs every check over the viewer's households under a region (ADMIN, TOWNSHIP).
pub async fn check_region(state: &AppState, viewer: &Viewer, region_id: Uuid) -> AppResult<checks::CheckSummary> {
    viewer.require_role(&[Role::Admin, Role::Township], "run checks over a region")?;
    let region = crate::regions::get(&state.db, viewer, region_id).await?;
    let cond = if viewer.covers(&region) {
        crate::auth::region_household_condition(region.id, region.level, &region.path)
    } else {
        viewer.household_condition()
    };
    use sea_orm::QuerySelect;
    let rows: Vec<(Uuid, Uuid)> = household::Entity::find()
        .select_only()
        .columns([household::Column::Id, household::Column::CampaignId])
        .filter(viewer.household_condition())
        .filter(cond)
        .into_tuple()
        .all(&state.db)
        .await?;
    let mut by_campaign: std::collections::HashMap<Uuid, Vec<Uuid>> = Default::default();
    for (h, c) in rows {
        by_campaign.entry(c).or_default().push(h);
    }
    let mut total = checks::CheckSummary::default();
    for (campaign, ids) in by_campaign {
        let (_w, txn) = state.begin().await?;
        let s = checks::run(&txn, campaign, &ids).await?;
        checks::audit(&txn, &Actor::of(viewer, None), &s, Some(region.id)).await?;
        crate::counters::recount(&txn, campaign).await?;
        txn.commit().await?;
        state.notifier.publish(&state.db, crate::regions::subtree_ids(&state.db, &region).await?).await;
        total.households += s.households;
        total.opened += s.opened;
        total.resolved += s.resolved;
        for (k, v) in s.open_errors_by_rule {
            *total.open_errors_by_rule.entry(k).or_default() += v;
        }
    }
    Ok(total)
}

/// Deletes practice entries (and their findings and photo records) under a region (ADMIN).
pub async fn clear_practice(
    state: &AppState,
    viewer: &Viewer,
    region_id: Uuid,
    client_addr: Option<String>,
) -> AppResult<u64> {
    viewer.require_role(&[Role::Admin], "clear practice entries")?;
    let region = crate::regions::get(&state.db, viewer, region_id).await?;
    if !viewer.covers(&region) {
        return Err(AppError::forbidden("That region is outside your own."));
    }
    let sub = sea_orm::sea_query::Query::select()
        .column(household::Column::Id)
        .from(household::Entity)
        .cond_where(crate::auth::region_household_condition(region.id, region.level, &region.path))
        .to_owned();
    let (_w, txn) = state.begin().await?;
    finding::Entity::delete_many()
        .filter(finding::Column::Practice.eq(true))
        .filter(finding::Column::HouseholdId.in_subquery(sub.clone()))
        .exec(&txn)
        .await?;
    entity::photo::Entity::delete_many()
        .filter(entity::photo::Column::Practice.eq(true))
        .filter(entity::photo::Column::HouseholdId.in_subquery(sub.clone()))
        .exec(&txn)
        .await?;
    let n = verification::Entity::delete_many()
        .filter(verification::Column::Practice.eq(true))
        .filter(verification::Column::HouseholdId.in_subquery(sub))
        .exec(&txn)
        .await?
        .rows_affected;
    audit::append(
        &txn,
        &Actor::of(viewer, client_addr),
        NewEvent {
            action: "PRACTICE_CLEARED",
            entity_type: "Region",
            entity_id: Some(region.id),
            region_id: Some(region.id),
            after: Some(json!({ "deleted": n })),
            ..Default::default()
        },
    )
    .await?;
    txn.commit().await?;
    Ok(n)
}

/// Places an unplaced household (its village was not on the official list) in a
/// village of its township, or moves it (ADMIN); audited, and the checks rerun.
pub async fn place_household(
    state: &AppState,
    viewer: &Viewer,
    household_id: Uuid,
    village_id: Uuid,
    client_addr: Option<String>,
) -> AppResult<household::Model> {
    viewer.require_role(&[Role::Admin], "place households")?;
    let h = households::get(&state.db, viewer, household_id).await?;
    let village = crate::regions::get(&state.db, viewer, village_id).await?;
    if village.level != entity::RegionLevel::Village || village.parent_id != Some(h.township_id) {
        return Err(AppError::validation("villageId", "Choose a village of the household's own township."));
    }
    let (_w, txn) = state.begin().await?;
    let tracker = crate::counters::track(&txn, h.campaign_id, h.id).await?;
    let before = json!({ "villageId": h.village_id });
    let mut am: household::ActiveModel = h.clone().into();
    am.village_id = Set(Some(village.id));
    am.updated_at = Set(audit::now());
    let saved = am.update(&txn).await?;
    let actor = Actor::of(viewer, client_addr);
    audit::append(
        &txn,
        &actor,
        NewEvent {
            action: "HOUSEHOLD_PLACED",
            entity_type: "Household",
            entity_id: Some(h.id),
            household_id: Some(h.id),
            region_id: Some(village.id),
            before: Some(before),
            after: Some(json!({ "villageId": village.id, "village": village.name })),
        },
    )
    .await?;
    let summary = checks::run(&txn, h.campaign_id, &[h.id]).await?;
    checks::audit(&txn, &actor, &summary, None).await?;
    tracker.commit(state, txn).await?;
    Ok(saved)
}
