//! Reading the audit trail: events in the viewer's region, one household's history.

use crate::domain::accounts::regions_under;
use crate::domain::error::{key, msg};
use crate::domain::{
    ctx::Ctx,
    error::{AppError, AppResult},
};
use entity::audit_event;
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

// ---------------------------------------------------------------- audit query

/// Audit events in the viewer's region, newest first; ADMIN and TOWNSHIP only.
pub async fn audit_events(
    ctx: &Ctx,
    db: &DatabaseConnection,
    account_id: Option<Uuid>,
    household_id: Option<Uuid>,
    action: Option<String>,
    first: i32,
    before_seq: Option<i64>,
) -> AppResult<(Vec<audit_event::Model>, bool)> {
    let viewer = ctx.viewer()?;
    viewer.require_role(&[entity::Role::Admin, entity::Role::Township], key::ACT_READ_AUDIT)?;
    let mut c = Condition::all().add(audit_event::Column::RegionId.in_subquery(regions_under(&viewer.scope.path)));
    if let Some(a) = account_id {
        c = c.add(Condition::any().add(audit_event::Column::ActorId.eq(a)).add(audit_event::Column::EntityId.eq(a)));
    }
    if let Some(h) = household_id {
        c = c.add(audit_event::Column::HouseholdId.eq(h));
    }
    if let Some(a) = action {
        c = c.add(audit_event::Column::Action.eq(a));
    }
    page(db, c, first, before_seq).await
}

/// One page of events matching `c`, newest first, before `before_seq`; and whether more follow.
async fn page(
    db: &DatabaseConnection,
    c: Condition,
    first: i32,
    before_seq: Option<i64>,
) -> AppResult<(Vec<audit_event::Model>, bool)> {
    check_page(first)?;
    let c = match before_seq {
        Some(s) => c.add(audit_event::Column::Seq.lt(s)),
        None => c,
    };
    let mut rows = audit_event::Entity::find()
        .filter(c)
        .order_by_desc(audit_event::Column::Seq)
        .limit(first as u64 + 1)
        .all(db)
        .await?;
    let more = rows.len() > first as usize;
    rows.truncate(first as usize);
    Ok((rows, more))
}

/// A history page holds 0 to 500 events.
pub fn check_page(first: i32) -> AppResult<()> {
    if !(0..=500).contains(&first) {
        return Err(AppError::validation("first", msg!(FIRST_RANGE, max = 500)));
    }
    Ok(())
}
