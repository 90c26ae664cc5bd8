//! The delivery worker: claims due rows with a lease, sends them signed with
//! Standard Webhooks headers, records each attempt with back-off, and reports
//! milestones that turned AT_RISK or MISSED once per endpoint.

use super::{check_url, enqueue, signature, WebhookEvent};
use crate::{
    domain::{audit::Actor, progress, tx::Tx},
    AppState,
};
use entity::{webhook_delivery as delivery, webhook_endpoint as endpoint};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::json;
use uuid::Uuid;

fn backoff(base_ms: u64, attempts: i32) -> chrono::Duration {
    let ms = base_ms.saturating_mul(1u64 << (attempts.clamp(1, 20) - 1) as u32).min(3_600_000);
    chrono::Duration::milliseconds(ms as i64)
}

/// Sends one delivery and records the attempt.
async fn deliver(state: &AppState, d: delivery::Model) -> anyhow::Result<()> {
    let db = &state.db;
    let ep = endpoint::Entity::find_by_id(d.endpoint_id).one(db).await?;
    let now = crate::domain::audit::now();
    let ts = now.timestamp();
    let outcome: Result<u16, String> = match &ep {
        None => Err("The endpoint was removed.".into()),
        Some(ep) if !ep.active => Err("The endpoint was removed.".into()),
        Some(ep) => match check_url(state, &ep.url).await {
            Err(e) => Err(e),
            Ok((url, host, addrs)) => {
                // Connect to the address just checked, not whatever DNS says a moment later.
                let client = reqwest::Client::builder()
                    .timeout(std::time::Duration::from_millis(state.cfg.webhook_timeout_ms))
                    .redirect(reqwest::redirect::Policy::none())
                    .resolve(&host, addrs[0])
                    .build()?;
                // Standard Webhooks headers; the id is the delivery's, the same on every retry.
                let id = d.id.to_string();
                match client
                    .post(url)
                    .header("content-type", "application/json")
                    .header("user-agent", "hsv-webhooks/2")
                    .header("x-hsv-event", d.event.as_str())
                    .header("webhook-id", id.as_str())
                    .header("webhook-timestamp", ts.to_string())
                    .header("webhook-signature", signature(&ep.secret, &id, ts, &d.payload))
                    .body(d.payload.clone())
                    .send()
                    .await
                {
                    Ok(r) if r.status().is_success() => Ok(r.status().as_u16()),
                    Ok(r) => Err(format!("HTTP {}", r.status().as_u16())),
                    Err(e) if e.is_timeout() => Err("Timed out.".into()),
                    Err(_) => Err("Could not connect.".into()),
                }
            }
        },
    };
    let attempts = d.attempts + 1;
    let mut am: delivery::ActiveModel = d.clone().into();
    am.attempts = Set(attempts);
    let result = match outcome {
        Ok(status) => {
            am.status = Set("DELIVERED".into());
            am.last_status = Set(Some(status as i32));
            am.last_error = Set(None);
            am.delivered_at = Set(Some(now));
            "delivered"
        }
        Err(e) => {
            am.last_status = Set(e.strip_prefix("HTTP ").and_then(|s| s.parse().ok()));
            am.last_error = Set(Some(e));
            if attempts >= state.cfg.webhook_max_attempts as i32 {
                am.status = Set("FAILED".into());
                "failed"
            } else {
                am.next_attempt_at = Set(now + backoff(state.cfg.webhook_retry_base_ms, attempts));
                "retry"
            }
        }
    };
    // Through the write gate: on SQLite a write outside it would make a request's transaction fail.
    let tx = Tx::begin(state, Actor::default()).await?;
    delivery::Entity::update(am).exec(tx.conn()).await?;
    tx.commit_bookkeeping(state).await?;
    *state
        .metrics
        .webhook_deliveries
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry((d.event.clone(), result.to_owned()))
        .or_default() += 1;
    Ok(())
}

/// Claims and sends what is due; a slow endpoint holds only its own rows.
pub async fn deliver_due(state: &AppState) -> anyhow::Result<usize> {
    let db = &state.db;
    let now = crate::domain::audit::now();
    let due = delivery::Entity::find()
        .filter(delivery::Column::Status.eq("PENDING"))
        .filter(delivery::Column::NextAttemptAt.lte(now))
        .order_by_asc(delivery::Column::NextAttemptAt)
        .limit(32)
        .all(db)
        .await?;
    let lease = now + chrono::Duration::milliseconds(state.cfg.webhook_timeout_ms as i64 + 30_000);
    if due.is_empty() {
        return Ok(0);
    }
    let mut claimed = Vec::new();
    let tx = Tx::begin(state, Actor::default()).await?;
    let txn = tx.conn();
    for d in due {
        // The lease: only the process whose update matched sends it.
        let r = delivery::Entity::update_many()
            .col_expr(delivery::Column::NextAttemptAt, sea_orm::sea_query::Expr::value(lease))
            .filter(delivery::Column::Id.eq(d.id))
            .filter(delivery::Column::NextAttemptAt.eq(d.next_attempt_at))
            .filter(delivery::Column::Status.eq("PENDING"))
            .exec(txn)
            .await?;
        if r.rows_affected == 1 {
            claimed.push(d);
        }
    }
    tx.commit_bookkeeping(state).await?;
    let n = claimed.len();
    let sends = claimed.into_iter().map(|d| {
        let state = state.clone();
        tokio::spawn(async move {
            if let Err(e) = deliver(&state, d).await {
                tracing::warn!(error = %e, "webhook delivery bookkeeping failed");
            }
        })
    });
    futures_util::future::join_all(sends).await;
    Ok(n)
}

/// Milestones that turned AT_RISK or MISSED, reported once per endpoint.
async fn milestone_events(state: &AppState) -> anyhow::Result<()> {
    let db = &state.db;
    // An endpoint's "county" is the region of the ADMIN who made it: a county, or a city or province above.
    let regions: Vec<Uuid> = endpoint::Entity::find()
        .filter(endpoint::Column::Active.eq(true))
        .select_only()
        .column(endpoint::Column::CountyId)
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    let now = crate::domain::audit::now();
    for region_id in regions {
        let Some(region) = entity::region::Entity::find_by_id(region_id).one(db).await? else { continue };
        // Every campaign the region's counties take part in, measured on the
        // region's own figures against its milestones as they hold there.
        let joined = progress::joined_within(db, &region).await?;
        let campaigns =
            entity::campaign::Entity::find().filter(entity::campaign::Column::Id.is_in(joined)).all(db).await?;
        for c in campaigns {
            let counts = progress::campaign_counts(db, c.id, region_id).await?;
            for m in progress::milestones_for(db, c.id, &region).await?.into_iter().map(|e| e.model) {
                let actual = progress::actual_percent(m.target_metric, &counts);
                let st = progress::state(&m, actual, now);
                let event = match st {
                    progress::MilestoneState::AtRisk => WebhookEvent::MilestoneAtRisk,
                    progress::MilestoneState::Missed => WebhookEvent::MilestoneMissed,
                    _ => continue,
                };
                let data = json!({ "milestoneId": crate::domain::global_id("Milestone", m.id), "title": m.title, "kind": m.kind,
                    "endsAt": m.ends_at, "actualPercent": actual, "campaign": c.name });
                // Keyed by the milestone's end, so an extended window that slips again is told again.
                let key = format!("milestone:{}:{}:{}", m.id, event.name(), m.ends_at.timestamp());
                let tx = Tx::begin(state, Actor::default()).await?;
                enqueue(tx.conn(), region_id, event, data, Some(key)).await?;
                tx.commit_bookkeeping(state).await?;
            }
        }
    }
    Ok(())
}

pub fn spawn_worker(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(state.cfg.webhook_poll_ms));
        let mut rounds: u64 = 0;
        loop {
            tick.tick().await;
            if rounds % 120 == 0 {
                if let Err(e) = milestone_events(&state).await {
                    tracing::warn!(error = %e, "milestone webhook check failed");
                }
            }
            rounds += 1;
            if let Err(e) = deliver_due(&state).await {
                // The pool closes only at shutdown: stop with it.
                if matches!(
                    e.downcast_ref::<sea_orm::DbErr>(),
                    Some(sea_orm::DbErr::ConnectionAcquire(sea_orm::error::ConnAcquireErr::ConnectionClosed))
                ) {
                    return;
                }
                tracing::warn!(error = %e, "webhook worker failed");
            }
        }
    });
}
