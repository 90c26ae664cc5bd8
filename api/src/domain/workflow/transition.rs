//! Submit, approve, return or reopen: load the record the viewer may act on,
//! guard role, state, version and window, apply the change, emit the event.

use super::{check_key, conflict, invalid, remember, replay, settle, snapshot, versioned_update};
use crate::domain::error::{key, msg};
use crate::domain::{
    audit::NewEvent,
    auth::Viewer,
    checks,
    ctx::Ctx,
    error::{AppError, AppResult},
    global_id, households,
    tx::Tx,
    webhooks::{self, WebhookEvent},
};
use crate::AppState;
use chrono::{DateTime, Utc};
use entity::{finding, household, milestone, verification, Role, VerificationStatus as S};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Submit,
    Approve,
    Return,
    Reopen,
}

impl Op {
    pub fn name(self) -> &'static str {
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
    /// The catalogue key naming the step, for refusals.
    fn act(self) -> &'static str {
        match self {
            Op::Submit => key::ACT_SUBMIT,
            Op::Approve => key::ACT_APPROVE,
            Op::Return => key::ACT_RETURN,
            Op::Reopen => key::ACT_REOPEN,
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

/// Submission closes when the campaign's look-back review ends (unless extended).
async fn check_window<C: ConnectionTrait>(conn: &C, campaign_id: Uuid, now: DateTime<Utc>) -> AppResult<()> {
    let look_back = milestone::Entity::find()
        .filter(milestone::Column::CampaignId.eq(campaign_id))
        .filter(milestone::Column::Kind.eq("LOOK_BACK"))
        .one(conn)
        .await?;
    if let Some(m) = look_back {
        if now >= m.ends_at {
            return Err(AppError::InvalidTransition {
                message: msg!(SUBMISSIONS_CLOSED, ended = m.ends_at.to_rfc3339()),
                current: "CLOSED".into(),
            });
        }
    }
    Ok(())
}

/// The record and its household, if the viewer may see it and has the role for `op`.
async fn load_authorised(
    db: &DatabaseConnection,
    viewer: &Viewer,
    op: Op,
    id: Uuid,
) -> AppResult<(verification::Model, household::Model)> {
    let cur = verification::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found(key::THING_VERIFICATION))?;
    // Scope first: a record outside the viewer's region does not exist for them.
    let h: household::Model = households::get(db, viewer, cur.household_id).await?;
    viewer.require_role(op.roles(), op.act())?;
    Ok((cur, h))
}

/// State, version, reason and window; returns the trimmed reason.
async fn guard<'a>(
    db: &DatabaseConnection,
    op: Op,
    cur: &verification::Model,
    version: i32,
    reason: Option<&'a str>,
    now: DateTime<Utc>,
) -> AppResult<Option<&'a str>> {
    if !op.from_states().contains(&cur.status) {
        return Err(invalid(cur.status, op.act()));
    }
    if cur.version != version {
        return Err(conflict(cur));
    }
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if matches!(op, Op::Return | Op::Reopen) {
        match reason {
            None => return Err(AppError::validation("reason", msg!(RETURN_NEEDS_REASON))),
            Some(r) if r.chars().count() > 500 => {
                return Err(AppError::validation(
                    "reason",
                    msg!(TEXT_TOO_LONG, max = 500).arg_key("what", key::FIELD_REASON),
                ))
            }
            _ => {}
        }
    }
    if op == Op::Submit && !cur.practice {
        check_window(db, cur.campaign_id, now).await?;
    }
    Ok(reason)
}

/// One workflow step as a client asks for it.
pub struct Step<'a> {
    pub op: Op,
    pub id: Uuid,
    /// The version the client last loaded.
    pub version: i32,
    pub reason: Option<&'a str>,
    pub idempotency_key: Option<&'a str>,
}

/// Submit, approve, return or reopen: right role, right state, right version.
pub async fn transition(ctx: &Ctx, state: &AppState, step: Step<'_>) -> AppResult<verification::Model> {
    let (op, id, key) = (step.op, step.id, step.idempotency_key);
    let result = transition_once(ctx, state, step).await;
    settle(&state.db, ctx.viewer()?, key, op.name(), result, |v| v.id == id).await
}

async fn transition_once(ctx: &Ctx, state: &AppState, step: Step<'_>) -> AppResult<verification::Model> {
    let Step { op, id, version, reason, idempotency_key } = step;
    let viewer = ctx.viewer()?;
    check_key(idempotency_key)?;
    let (cur, h) = load_authorised(&state.db, viewer, op, id).await?;
    if let Some(done) = replay(&state.db, viewer, idempotency_key, op.name()).await? {
        // The key already decided another record: using it here is a client's mistake, not a retry.
        if done.id != cur.id {
            return Err(AppError::validation("idempotencyKey", msg!(IDEMPOTENCY_KEY_REUSED)));
        }
        return Ok(done);
    }
    let now = ctx.now();
    let reason = guard(&state.db, op, &cur, version, reason, now).await?;
    let tx = Tx::begin(state, ctx.actor()?).await?;
    tx.track(h.campaign_id, h.id).await?;
    if matches!(op, Op::Submit | Op::Approve) {
        let blocking = blocking_findings(&tx, &h, &cur).await?;
        if !blocking.is_empty() {
            // The checks' findings are kept (and were audited by the checks) even though the step is refused.
            tx.commit_bookkeeping(state).await?;
            return Err(AppError::Blocked {
                message: msg!(FIX_FINDINGS_FIRST, rules = blocking.join(", ")),
                rules: blocking,
            });
        }
    }
    let saved = apply(&tx, viewer, op, &cur, &h, reason, now).await?;
    tx.audit(NewEvent {
        action: op.action(),
        entity_type: "Verification",
        entity_id: Some(saved.id),
        household_id: Some(h.id),
        region_id: h.village_id.or(Some(h.township_id)),
        before: Some(snapshot(&cur)),
        after: Some(snapshot(&saved)),
    })
    .await?;
    remember(tx.conn(), viewer, idempotency_key, op.name(), &saved).await?;
    tx.commit(state).await?;
    Ok(saved)
}

/// Runs the checks; the rules that still block the step (errors, unacknowledged warnings).
async fn blocking_findings(tx: &Tx, h: &household::Model, cur: &verification::Model) -> AppResult<Vec<String>> {
    let txn = tx.conn();
    let summary = checks::run(txn, h.campaign_id, &[h.id]).await?;
    checks::audit(txn, tx.actor(), &summary, None).await?;
    let open = finding::Entity::find()
        .filter(finding::Column::HouseholdId.eq(h.id))
        .filter(finding::Column::Practice.eq(cur.practice))
        .filter(finding::Column::Open.eq(true))
        .all(txn)
        .await?;
    Ok(open.iter().filter(|f| crate::domain::findings::blocks_approval(f)).map(|f| f.rule.clone()).collect())
}

/// The change itself: new state and version, the webhook event, the look-back finding.
async fn apply(
    tx: &Tx,
    viewer: &Viewer,
    op: Op,
    cur: &verification::Model,
    h: &household::Model,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<verification::Model> {
    let txn = tx.conn();
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
        emit(txn, op, cur, h).await?;
    }
    let saved = versioned_update(txn, cur, am).await?;
    if op == Op::Reopen {
        // The look-back finding stays open until the verifier acknowledges what they fixed.
        checks::open_look_back(txn, h, Some(saved.id), saved.practice, json!({ "reason": reason })).await?;
    }
    Ok(saved)
}

/// The webhook event for a real (non-practice) change.
async fn emit(
    txn: &sea_orm::DatabaseTransaction,
    op: Op,
    cur: &verification::Model,
    h: &household::Model,
) -> AppResult<()> {
    let event = match op {
        Op::Submit => WebhookEvent::VerificationSubmitted,
        Op::Approve => WebhookEvent::VerificationApproved,
        Op::Return => WebhookEvent::VerificationReturned,
        Op::Reopen => WebhookEvent::VerificationReopened,
    };
    let data = json!({
        "householdId": global_id("Household", h.id),
        "householdCode": h.code,
        "verificationId": global_id("Verification", cur.id),
        "status": op.to_state().as_str(),
        "version": cur.version + 1,
        "townshipId": global_id("Region", h.township_id),
        "villageId": h.village_id.map(|v| global_id("Region", v)),
    });
    webhooks::enqueue(txn, h.county_id, event, data, None).await?;
    Ok(())
}
