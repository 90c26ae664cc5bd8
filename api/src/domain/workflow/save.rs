//! Saving a draft (初录, or 模拟录入 for practice): only the village's verifier
//! enters data; versioned, idempotent, checked and audited.

use super::{check_key, conflict, invalid, remember, replay, settle, snapshot, versioned_update, HouseFacts, SAVABLE};
use crate::domain::error::{key, msg};
use crate::{
    domain::{
        audit::NewEvent,
        checks::{self, Evidence},
        ctx::Ctx,
        error::{AppError, AppResult},
        households,
        tx::Tx,
    },
    AppState,
};
use chrono::{DateTime, Utc};
use entity::{household, verification, Role, SafetyPath, VerificationStatus as S};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};
use uuid::Uuid;

#[derive(Clone, Debug)]
pub struct SaveInput {
    pub household_id: Uuid,
    pub practice: bool,
    /// The version the client's copy is based on; 0 for a first save.
    pub version: i32,
    pub idempotency_key: Option<String>,
    pub path: Option<SafetyPath>,
    pub evidence: Evidence,
    pub facts: HouseFacts,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub notes: Option<String>,
}

fn validate(input: &SaveInput, now: DateTime<Utc>) -> AppResult<()> {
    let f = &input.facts;
    let this_year = now.format("%Y").to_string().parse::<i32>().unwrap_or(2100);
    if f.floors.is_some_and(|n| !(1..=10).contains(&n)) {
        return Err(AppError::validation("houseFacts.floors", msg!(FLOORS_RANGE)));
    }
    if f.floor_area.is_some_and(|a| !(1.0..=2000.0).contains(&a)) {
        return Err(AppError::validation("houseFacts.floorArea", msg!(AREA_RANGE)));
    }
    if f.year_built.is_some_and(|y| !(1900..=this_year).contains(&y)) {
        return Err(AppError::validation("houseFacts.yearBuilt", msg!(YEAR_RANGE, year = this_year)));
    }
    if f.occupants.is_some_and(|n| !(0..=50).contains(&n)) {
        return Err(AppError::validation("houseFacts.occupants", msg!(OCCUPANTS_RANGE)));
    }
    if f.structure.as_deref().is_some_and(|s| s.chars().count() > 50) {
        return Err(AppError::validation(
            "houseFacts.structure",
            msg!(TEXT_TOO_LONG, max = 50).arg_key("what", key::FIELD_STRUCTURE),
        ));
    }
    if input.latitude.is_some_and(|l| !(-90.0..=90.0).contains(&l))
        || input.longitude.is_some_and(|l| !(-180.0..=180.0).contains(&l))
        || input.latitude.is_some() != input.longitude.is_some()
    {
        return Err(AppError::validation("latitude", msg!(LAT_LON)));
    }
    if input.notes.as_deref().is_some_and(|n| n.chars().count() > 2000) {
        return Err(AppError::validation("notes", msg!(TEXT_TOO_LONG, max = 2000).arg_key("what", key::FIELD_NOTES)));
    }
    check_key(input.idempotency_key.as_deref())?;
    // Evidence must belong to the chosen path.
    let e = &input.evidence;
    let wrong = match input.path {
        Some(SafetyPath::Appraised) => e.renovation.is_some() || e.secured.is_some(),
        Some(SafetyPath::Renovated) => e.appraisal.is_some() || e.secured.is_some(),
        Some(SafetyPath::Secured) => e.appraisal.is_some() || e.renovation.is_some(),
        None => false,
    };
    if wrong {
        return Err(AppError::validation("evidence", msg!(EVIDENCE_OTHER_PATH)));
    }
    Ok(())
}

/// Saves a draft (初录 / 模拟录入). Only the village's verifier enters data.
pub async fn save(ctx: &Ctx, state: &AppState, input: SaveInput) -> AppResult<verification::Model> {
    let viewer = ctx.viewer()?;
    let (household, practice, key) = (input.household_id, input.practice, input.idempotency_key.clone());
    let result = save_once(ctx, state, input).await;
    settle(&state.db, viewer, key.as_deref(), "SAVE", result, |v| v.household_id == household && v.practice == practice)
        .await
}

async fn save_once(ctx: &Ctx, state: &AppState, input: SaveInput) -> AppResult<verification::Model> {
    let viewer = ctx.viewer()?;
    viewer.require_role(&[Role::Verifier], key::ACT_ENTER_DATA)?;
    let h = households::get(&state.db, viewer, input.household_id).await?;
    validate(&input, ctx.now())?;
    if let Some(done) = replay(&state.db, viewer, input.idempotency_key.as_deref(), "SAVE").await? {
        return Ok(done);
    }
    let tx = Tx::begin(state, ctx.actor()?).await?;
    let txn = tx.conn();
    tx.track(h.campaign_id, h.id).await?;
    let current = verification::Entity::find()
        .filter(verification::Column::HouseholdId.eq(h.id))
        .filter(verification::Column::Practice.eq(input.practice))
        .one(txn)
        .await?;
    let account = viewer.account_id();
    let (saved, before) = match current {
        None => (insert(txn, &h, &input, account, ctx.now()).await?, None),
        Some(cur) => {
            let before = snapshot(&cur);
            (update(txn, &cur, &input, account, ctx.now()).await?, Some(before))
        }
    };
    tx.audit(NewEvent {
        action: if input.practice { "PRACTICE_SAVED" } else { "VERIFICATION_SAVED" },
        entity_type: "Verification",
        entity_id: Some(saved.id),
        household_id: Some(h.id),
        region_id: h.village_id.or(Some(h.township_id)),
        before,
        after: Some(snapshot(&saved)),
    })
    .await?;
    let summary = checks::run(txn, h.campaign_id, &[h.id]).await?;
    checks::audit(txn, tx.actor(), &summary, None).await?;
    remember(txn, viewer, input.idempotency_key.as_deref(), "SAVE", &saved).await?;
    tx.commit(state).await?;
    Ok(saved)
}

fn evidence_json(input: &SaveInput) -> AppResult<serde_json::Value> {
    serde_json::to_value(&input.evidence).map_err(|e| AppError::Internal(e.into()))
}

/// The first save of a household's record (version 0 → 1).
async fn insert(
    txn: &DatabaseTransaction,
    h: &household::Model,
    input: &SaveInput,
    account: Option<Uuid>,
    now: DateTime<Utc>,
) -> AppResult<verification::Model> {
    if input.version != 0 {
        return Err(AppError::Conflict(msg!(NO_RECORD_YET)));
    }
    Ok(verification::ActiveModel {
        id: Set(Uuid::new_v4()),
        campaign_id: Set(h.campaign_id),
        household_id: Set(h.id),
        practice: Set(input.practice),
        status: Set(S::Draft),
        path: Set(input.path),
        version: Set(1),
        evidence: Set(Some(evidence_json(input)?)),
        structure: Set(input.facts.structure.clone()),
        floors: Set(input.facts.floors),
        floor_area: Set(input.facts.floor_area),
        year_built: Set(input.facts.year_built),
        occupants: Set(input.facts.occupants),
        latitude: Set(input.latitude),
        longitude: Set(input.longitude),
        notes: Set(input.notes.clone()),
        verified_by: Set(account),
        submitted_at: Set(None),
        approved_by: Set(None),
        approved_at: Set(None),
        return_reason: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(txn)
    .await?)
}

/// A later save: only from a savable state, only on the version the client holds.
async fn update(
    txn: &DatabaseTransaction,
    cur: &verification::Model,
    input: &SaveInput,
    account: Option<Uuid>,
    now: DateTime<Utc>,
) -> AppResult<verification::Model> {
    if !SAVABLE.contains(&cur.status) {
        return Err(invalid(cur.status, key::ACT_SAVE));
    }
    if cur.version != input.version {
        return Err(conflict(cur));
    }
    let mut am: verification::ActiveModel = cur.clone().into();
    am.status = Set(S::Draft);
    am.path = Set(input.path);
    am.version = Set(cur.version + 1);
    am.evidence = Set(Some(evidence_json(input)?));
    am.structure = Set(input.facts.structure.clone());
    am.floors = Set(input.facts.floors);
    am.floor_area = Set(input.facts.floor_area);
    am.year_built = Set(input.facts.year_built);
    am.occupants = Set(input.facts.occupants);
    am.latitude = Set(input.latitude);
    am.longitude = Set(input.longitude);
    am.notes = Set(input.notes.clone());
    am.verified_by = Set(account);
    am.updated_at = Set(now);
    versioned_update(txn, cur, am).await
}
