//! The verification workflow (五步工作法 steps 3–5): NOT_STARTED → DRAFT (初录)
//! → SUBMITTED (复验) → APPROVED (核准) or RETURNED; REOPENED in the look-back
//! review (回头看). Every change is checked, versioned, idempotent and audited.

mod admin;
mod save;
mod transition;

pub use admin::*;
pub use save::{save, SaveInput};
pub use transition::{transition, Op, Step};

use crate::domain::error::{key, msg};
use crate::domain::{
    auth::Viewer,
    error::{AppError, AppResult},
};
use entity::{idempotency_key, verification, VerificationStatus as S};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
};
use serde_json::json;
use uuid::Uuid;

/// Facts about the house as found on site.
#[derive(Clone, Debug, Default)]
pub struct HouseFacts {
    pub structure: Option<String>,
    pub floors: Option<i32>,
    pub floor_area: Option<f64>,
    pub year_built: Option<i32>,
    pub occupants: Option<i32>,
}

pub(super) const SAVABLE: [S; 4] = [S::NotStarted, S::Draft, S::Returned, S::Reopened];

/// `action` is the catalogue key of the refused step.
pub(super) fn invalid(current: S, action: &'static str) -> AppError {
    AppError::InvalidTransition {
        message: msg!(NOT_IN_STATE).arg_key("action", action).arg_key("status", status_key(current)),
        current: current.as_str().into(),
    }
}

/// The catalogue key naming a record state.
fn status_key(s: S) -> &'static str {
    match s {
        S::NotStarted => key::STATUS_NOT_STARTED,
        S::Draft => key::STATUS_DRAFT,
        S::Submitted => key::STATUS_SUBMITTED,
        S::Returned => key::STATUS_RETURNED,
        S::Approved => key::STATUS_APPROVED,
        S::Reopened => key::STATUS_REOPENED,
    }
}

pub(super) fn conflict(current: &verification::Model) -> AppError {
    AppError::Conflict(msg!(CHANGED_MEANWHILE, version = current.version).arg_key("status", status_key(current.status)))
}

pub(super) fn snapshot(v: &verification::Model) -> serde_json::Value {
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

/// Writes `am` only if the row still has `cur`'s version, so a concurrent
/// change is never overwritten; CONFLICT otherwise.
async fn versioned_update(
    txn: &DatabaseTransaction,
    cur: &verification::Model,
    am: verification::ActiveModel,
) -> AppResult<verification::Model> {
    let res = verification::Entity::update_many()
        .set(am)
        .filter(verification::Column::Id.eq(cur.id))
        .filter(verification::Column::Version.eq(cur.version))
        .exec(txn)
        .await?;
    if res.rows_affected != 1 {
        return Err(conflict(cur));
    }
    verification::Entity::find_by_id(cur.id).one(txn).await?.ok_or_else(|| conflict(cur))
}

/// An idempotency key is 1–128 characters (the column's width).
pub(super) fn check_key(key: Option<&str>) -> AppResult<()> {
    if key.is_some_and(|k| k.is_empty() || k.len() > 128) {
        return Err(AppError::validation("idempotencyKey", msg!(IDEMPOTENCY_KEY_FORM)));
    }
    Ok(())
}

pub(super) async fn replay<C: ConnectionTrait>(
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
        return Err(AppError::validation("idempotencyKey", msg!(IDEMPOTENCY_KEY_REUSED)));
    }
    Ok(verification::Entity::find_by_id(row.verification_id).one(conn).await?)
}

/// A request that lost to an overlapping attempt with the same key (a resend
/// while the first was still running) gets the first attempt's answer: its
/// CONFLICT (a version moved on, or the key's unique index) is only the race.
pub(super) async fn settle<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    key: Option<&str>,
    operation: &str,
    result: AppResult<verification::Model>,
    same: impl Fn(&verification::Model) -> bool,
) -> AppResult<verification::Model> {
    match result {
        Err(AppError::Conflict(m)) if key.is_some() => match replay(db, viewer, key, operation).await? {
            Some(done) if same(&done) => Ok(done),
            _ => Err(AppError::Conflict(m)),
        },
        r => r,
    }
}

pub(super) async fn remember(
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
            created_at: Set(crate::domain::audit::now()),
        }
        .insert(txn)
        .await?;
    }
    Ok(())
}
