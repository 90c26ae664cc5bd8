//! Other workflow steps: acknowledging a warning, running the checks over a
//! region, clearing practice entries, placing an unplaced household.

use crate::domain::error::{key, msg};
use crate::{
    domain::{
        audit::{Actor, NewEvent},
        auth::region_household_condition,
        checks,
        ctx::Ctx,
        error::{AppError, AppResult},
        households, regions,
        tx::Tx,
    },
    AppState,
};
use entity::{finding, household, verification, Role, Severity};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

/// Acknowledges a WARNING with a reason (an ERROR cannot be acknowledged away).
pub async fn acknowledge(ctx: &Ctx, state: &AppState, finding_id: Uuid, reason: &str) -> AppResult<finding::Model> {
    let viewer = ctx.viewer()?;
    viewer.require_role(&[Role::Verifier, Role::Township, Role::Admin], key::ACT_ACK_FINDINGS)?;
    let f = finding::Entity::find_by_id(finding_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::not_found(key::THING_FINDING))?;
    let h = households::get(&state.db, viewer, f.household_id).await?;
    if f.severity == Severity::Error {
        return Err(AppError::validation("id", msg!(ONLY_WARNINGS_ACK)));
    }
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(AppError::validation("reason", msg!(TEXT_LENGTH, max = 500).arg_key("what", key::FIELD_REASON)));
    }
    let tx = Tx::begin(state, ctx.actor()?).await?;
    let txn = tx.conn();
    tx.track(h.campaign_id, h.id).await?;
    let mut am: finding::ActiveModel = f.clone().into();
    am.acknowledged_by = Set(viewer.account_id());
    am.acknowledged_at = Set(Some(ctx.now()));
    am.ack_reason = Set(Some(reason.into()));
    if f.rule == "LOOK_BACK" {
        // A person opened it; acknowledging what was fixed closes it.
        am.open = Set(false);
        am.resolved_at = Set(Some(ctx.now()));
    }
    let saved = am.update(txn).await?;
    tx.audit(NewEvent {
        action: "FINDING_ACKNOWLEDGED",
        entity_type: "Finding",
        entity_id: Some(f.id),
        household_id: Some(h.id),
        region_id: h.village_id.or(Some(h.township_id)),
        before: None,
        after: Some(json!({ "rule": f.rule, "reason": reason })),
    })
    .await?;
    tx.commit(state).await?;
    Ok(saved)
}

/// Runs every check over the viewer's households under a region (ADMIN, TOWNSHIP).
pub async fn check_region(ctx: &Ctx, state: &AppState, region_id: Uuid) -> AppResult<checks::CheckSummary> {
    let viewer = ctx.viewer()?;
    viewer.require_role(&[Role::Admin, Role::Township], key::ACT_RUN_CHECKS)?;
    let region = regions::get(&state.db, viewer, region_id).await?;
    let cond = if viewer.covers(&region) {
        region_household_condition(region.id, region.level, &region.path)
    } else {
        viewer.household_condition()
    };
    use sea_orm::QuerySelect;
    let rows: Vec<(Uuid, Uuid, Uuid)> = household::Entity::find()
        .select_only()
        .columns([household::Column::Id, household::Column::CampaignId, household::Column::CountyId])
        .filter(viewer.household_condition())
        .filter(cond)
        .into_tuple()
        .all(&state.db)
        .await?;
    let mut by_campaign: std::collections::HashMap<Uuid, (Vec<Uuid>, std::collections::BTreeSet<Uuid>)> =
        Default::default();
    for (h, c, county) in rows {
        let e = by_campaign.entry(c).or_default();
        e.0.push(h);
        e.1.insert(county);
    }
    let mut total = checks::CheckSummary::default();
    for (campaign, (ids, counties)) in by_campaign {
        let tx = Tx::begin(state, Actor::of(viewer, None)).await?;
        let txn = tx.conn();
        let s = checks::run(txn, campaign, &ids).await?;
        checks::audit(txn, tx.actor(), &s, Some(region.id)).await?;
        // Only the counties the run touched are recounted, however wide the campaign.
        for county in entity::region::Entity::find().filter(entity::region::Column::Id.is_in(counties)).all(txn).await?
        {
            crate::domain::counters::recount_county(txn, campaign, &county).await?;
        }
        tx.moved_subtree(&region);
        // The findings the run changed were audited by `checks::audit`.
        tx.commit_bookkeeping(state).await?;
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
pub async fn clear_practice(ctx: &Ctx, state: &AppState, region_id: Uuid) -> AppResult<u64> {
    let viewer = ctx.viewer()?;
    viewer.require_role(&[Role::Admin], key::ACT_CLEAR_PRACTICE)?;
    let region = regions::get(&state.db, viewer, region_id).await?;
    if !viewer.covers(&region) {
        return Err(AppError::forbidden(msg!(REGION_OUTSIDE)));
    }
    let sub = sea_orm::sea_query::Query::select()
        .column(household::Column::Id)
        .from(household::Entity)
        .cond_where(region_household_condition(region.id, region.level, &region.path))
        .to_owned();
    let tx = Tx::begin(state, ctx.actor()?).await?;
    let txn = tx.conn();
    finding::Entity::delete_many()
        .filter(finding::Column::Practice.eq(true))
        .filter(finding::Column::HouseholdId.in_subquery(sub.clone()))
        .exec(txn)
        .await?;
    entity::photo::Entity::delete_many()
        .filter(entity::photo::Column::Practice.eq(true))
        .filter(entity::photo::Column::HouseholdId.in_subquery(sub.clone()))
        .exec(txn)
        .await?;
    let n = verification::Entity::delete_many()
        .filter(verification::Column::Practice.eq(true))
        .filter(verification::Column::HouseholdId.in_subquery(sub))
        .exec(txn)
        .await?
        .rows_affected;
    tx.audit(NewEvent {
        action: "PRACTICE_CLEARED",
        entity_type: "Region",
        entity_id: Some(region.id),
        region_id: Some(region.id),
        after: Some(json!({ "deleted": n })),
        ..Default::default()
    })
    .await?;
    tx.commit(state).await?;
    Ok(n)
}

/// Places an unplaced household (its village was not on the official list) in a
/// village of its township, or moves it (ADMIN); audited, and the checks rerun.
pub async fn place_household(
    ctx: &Ctx,
    state: &AppState,
    household_id: Uuid,
    village_id: Uuid,
) -> AppResult<household::Model> {
    let viewer = ctx.viewer()?;
    viewer.require_role(&[Role::Admin], key::ACT_PLACE_HOUSEHOLDS)?;
    let h = households::get(&state.db, viewer, household_id).await?;
    let village = regions::get(&state.db, viewer, village_id).await?;
    if village.level != entity::RegionLevel::Village || village.parent_id != Some(h.township_id) {
        return Err(AppError::validation("villageId", msg!(VILLAGE_OF_TOWNSHIP)));
    }
    let tx = Tx::begin(state, ctx.actor()?).await?;
    let txn = tx.conn();
    tx.track(h.campaign_id, h.id).await?;
    let before = json!({ "villageId": h.village_id });
    let mut am: household::ActiveModel = h.clone().into();
    am.village_id = Set(Some(village.id));
    am.updated_at = Set(ctx.now());
    let saved = am.update(txn).await?;
    tx.audit(NewEvent {
        action: "HOUSEHOLD_PLACED",
        entity_type: "Household",
        entity_id: Some(h.id),
        household_id: Some(h.id),
        region_id: Some(village.id),
        before: Some(before),
        after: Some(json!({ "villageId": village.id, "village": village.name })),
    })
    .await?;
    let summary = checks::run(txn, h.campaign_id, &[h.id]).await?;
    checks::audit(txn, tx.actor(), &summary, None).await?;
    tx.commit(state).await?;
    Ok(saved)
}
