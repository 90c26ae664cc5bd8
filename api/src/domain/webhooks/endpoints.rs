//! Webhook endpoints of a county: list, register, deactivate, and send a
//! delivery again; ADMIN only, each change audited.

use super::{check_url, new_secret, WebhookEvent};
use crate::domain::error::{key, msg};
use crate::{
    domain::{
        audit::NewEvent,
        auth::Viewer,
        ctx::Ctx,
        error::{AppError, AppResult},
        tx::Tx,
    },
    AppState,
};
use entity::{webhook_delivery as delivery, webhook_endpoint as endpoint};
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

fn admin(viewer: &Viewer) -> AppResult<()> {
    viewer.require_role(&[entity::Role::Admin], key::ACT_MANAGE_WEBHOOKS)
}

/// Endpoints of the viewer's county (ADMIN), newest first.
pub async fn list(ctx: &Ctx, state: &AppState) -> AppResult<Vec<endpoint::Model>> {
    let viewer = ctx.viewer()?;
    admin(viewer)?;
    Ok(endpoint::Entity::find()
        .filter(endpoint::Column::CountyId.eq(viewer.scope.region_id))
        .order_by_desc(endpoint::Column::CreatedAt)
        .all(&state.db)
        .await?)
}

/// Registers an endpoint; returns it with its signing secret (shown once),
/// `whsec_` and the base64 of its key as Standard Webhooks libraries expect.
pub async fn create(
    ctx: &Ctx,
    state: &AppState,
    url: &str,
    events: &[WebhookEvent],
) -> AppResult<(endpoint::Model, String)> {
    let viewer = ctx.viewer()?;
    admin(viewer)?;
    if events.is_empty() {
        return Err(AppError::validation("events", msg!(WEBHOOK_EVENTS)));
    }
    // Above the county only milestones are measured for the region (the worker's
    // milestone check); an event that would never come is refused, not kept.
    let above = viewer.scope.level.depth() < entity::RegionLevel::County.depth();
    if above && events.iter().any(|e| !matches!(e, WebhookEvent::MilestoneAtRisk | WebhookEvent::MilestoneMissed)) {
        return Err(AppError::validation("events", msg!(WEBHOOK_EVENTS_ABOVE_COUNTY)));
    }
    let (url, _, _) =
        check_url(state, url).await.map_err(|m| AppError::validation("url", msg!(WEBHOOK_URL, detail = m)))?;
    let secret = new_secret();
    let mut names: Vec<&str> = events.iter().map(|e| e.name()).collect();
    names.sort();
    names.dedup();
    let m = endpoint::ActiveModel {
        id: Set(Uuid::new_v4()),
        county_id: Set(viewer.scope.region_id),
        url: Set(url.to_string()),
        secret: Set(secret.clone()),
        events: Set(names.join(",")),
        active: Set(true),
        created_by: Set(viewer.account_id()),
        created_at: Set(ctx.now()),
    };
    let tx = Tx::begin(state, ctx.actor()?).await?;
    let m = endpoint::Entity::insert(m).exec_with_returning(tx.conn()).await?;
    tx.audit(NewEvent {
        action: "WEBHOOK_CREATED",
        entity_type: "Webhook",
        entity_id: Some(m.id),
        region_id: Some(m.county_id),
        after: Some(serde_json::json!({ "url": m.url, "events": m.events })),
        ..Default::default()
    })
    .await?;
    tx.commit(state).await?;
    Ok((m, secret))
}

async fn owned(state: &AppState, viewer: &Viewer, id: Uuid) -> AppResult<endpoint::Model> {
    admin(viewer)?;
    endpoint::Entity::find_by_id(id)
        .filter(endpoint::Column::CountyId.eq(viewer.scope.region_id))
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::not_found(key::THING_WEBHOOK))
}

/// Stops deliveries to an endpoint; pending ones are given up.
pub async fn deactivate(ctx: &Ctx, state: &AppState, id: Uuid) -> AppResult<endpoint::Model> {
    let m = owned(state, ctx.viewer()?, id).await?;
    let mut am: endpoint::ActiveModel = m.into();
    am.active = Set(false);
    let tx = Tx::begin(state, ctx.actor()?).await?;
    let m = endpoint::Entity::update(am).exec(tx.conn()).await?;
    tx.audit(NewEvent {
        action: "WEBHOOK_DELETED",
        entity_type: "Webhook",
        entity_id: Some(m.id),
        region_id: Some(m.county_id),
        ..Default::default()
    })
    .await?;
    tx.commit(state).await?;
    Ok(m)
}

/// Sends a delivery again, e.g. after the receiver was fixed.
pub async fn redeliver(ctx: &Ctx, state: &AppState, delivery_id: Uuid) -> AppResult<delivery::Model> {
    let viewer = ctx.viewer()?;
    admin(viewer)?;
    let d = delivery::Entity::find_by_id(delivery_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::not_found(key::THING_DELIVERY))?;
    let ep = owned(state, viewer, d.endpoint_id).await?;
    let mut am: delivery::ActiveModel = d.into();
    am.status = Set("PENDING".into());
    am.next_attempt_at = Set(ctx.now());
    let tx = Tx::begin(state, ctx.actor()?).await?;
    let d = delivery::Entity::update(am).exec(tx.conn()).await?;
    tx.audit(NewEvent {
        action: "WEBHOOK_REDELIVERED",
        entity_type: "WebhookDelivery",
        entity_id: Some(d.id),
        region_id: Some(ep.county_id),
        ..Default::default()
    })
    .await?;
    tx.commit(state).await?;
    Ok(d)
}

/// Recent deliveries of an endpoint the caller already holds, newest first.
pub async fn deliveries(db: &DatabaseConnection, endpoint_id: Uuid, first: i32) -> AppResult<Vec<delivery::Model>> {
    Ok(delivery::Entity::find()
        .filter(delivery::Column::EndpointId.eq(endpoint_id))
        .order_by_desc(delivery::Column::CreatedAt)
        .limit(first.clamp(0, 200) as u64)
        .all(db)
        .await?)
}
