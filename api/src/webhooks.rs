//! Webhooks: an ADMIN registers HTTPS endpoints for events of their county.
//! Each event is written to an outbox (`webhook_deliveries`) in the same
//! transaction as the change it reports, so a change that rolls back sends
//! nothing and a committed one is never lost. A background worker in every
//! API process delivers due rows (claiming each with a lease so two
//! processes do not send it twice), signs the body with the endpoint's secret
//! (HMAC-SHA256 over `timestamp.body`), retries with exponential back-off and
//! records every attempt. Deliveries never run on a request's path.

use crate::{
    auth::{random_token, Viewer},
    error::{AppError, AppResult},
    graphql::CtxExt,
    ids, AppState,
};
use async_graphql::{ComplexObject, Context, Enum, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use entity::{webhook_delivery as delivery, webhook_endpoint as endpoint};
use sea_orm::{
    sea_query::OnConflict, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde_json::{json, Value};
use std::net::{IpAddr, SocketAddr};
use uuid::Uuid;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum WebhookEvent {
    VerificationSubmitted,
    VerificationApproved,
    VerificationReturned,
    VerificationReopened,
    MilestoneAtRisk,
    MilestoneMissed,
    ImportDone,
}

impl WebhookEvent {
    pub fn name(self) -> &'static str {
        match self {
            Self::VerificationSubmitted => "VERIFICATION_SUBMITTED",
            Self::VerificationApproved => "VERIFICATION_APPROVED",
            Self::VerificationReturned => "VERIFICATION_RETURNED",
            Self::VerificationReopened => "VERIFICATION_REOPENED",
            Self::MilestoneAtRisk => "MILESTONE_AT_RISK",
            Self::MilestoneMissed => "MILESTONE_MISSED",
            Self::ImportDone => "IMPORT_DONE",
        }
    }
    const ALL: [WebhookEvent; 7] = [
        Self::VerificationSubmitted,
        Self::VerificationApproved,
        Self::VerificationReturned,
        Self::VerificationReopened,
        Self::MilestoneAtRisk,
        Self::MilestoneMissed,
        Self::ImportDone,
    ];
    fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.name() == s)
    }
}

/// Writes one delivery per active endpoint of the county that wants `event`.
/// Call it inside the transaction of the change. `dedupe` makes a repeated
/// time-derived event (a milestone at risk) a no-op.
pub async fn enqueue<C: ConnectionTrait>(
    conn: &C,
    county_id: Uuid,
    event: WebhookEvent,
    data: Value,
    dedupe: Option<String>,
) -> AppResult<usize> {
    let endpoints = endpoint::Entity::find()
        .filter(endpoint::Column::CountyId.eq(county_id))
        .filter(endpoint::Column::Active.eq(true))
        .all(conn)
        .await?;
    let now = crate::audit::now();
    let mut n = 0;
    for e in endpoints.iter().filter(|e| e.events.split(',').any(|x| x == event.name())) {
        let id = Uuid::new_v4();
        let body = json!({ "id": id, "event": event.name(), "occurredAt": now, "data": data });
        let row = delivery::ActiveModel {
            id: Set(id),
            endpoint_id: Set(e.id),
            event: Set(event.name().into()),
            payload: Set(body.to_string()),
            status: Set("PENDING".into()),
            attempts: Set(0),
            next_attempt_at: Set(now),
            last_status: Set(None),
            last_error: Set(None),
            dedupe_key: Set(dedupe.clone()),
            created_at: Set(now),
            delivered_at: Set(None),
        };
        let r = delivery::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([delivery::Column::EndpointId, delivery::Column::DedupeKey])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(conn)
            .await?;
        n += r as usize;
    }
    Ok(n)
}

/// `sha256=<hex>` of HMAC-SHA256(secret, "<timestamp>.<body>").
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    format!("sha256={}", crate::auth::hmac_sha256_hex(secret.as_bytes(), format!("{timestamp}.{body}").as_bytes()))
}

fn private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v) => {
            v.is_loopback()
                || v.is_private()
                || v.is_link_local()
                || v.is_unspecified()
                || v.is_broadcast()
                || v.is_multicast()
                || v.is_documentation()
                || (v.octets()[0] == 100 && (v.octets()[1] & 0xC0) == 64) // 100.64/10, carrier NAT
        }
        IpAddr::V6(v) => {
            v.is_loopback()
                || v.is_unspecified()
                || v.is_multicast()
                || (v.segments()[0] & 0xfe00) == 0xfc00 // unique local
                || (v.segments()[0] & 0xffc0) == 0xfe80 // link local
                || v.to_ipv4_mapped().is_some_and(|m| private(IpAddr::V4(m)))
        }
    }
}

/// Checks an endpoint URL and resolves it: HTTPS only and public addresses
/// only, unless configuration allows otherwise (so a webhook cannot be turned
/// against the internal network). Returns the host and the addresses to use.
pub async fn check_url(state: &AppState, raw: &str) -> Result<(reqwest::Url, String, Vec<SocketAddr>), String> {
    let url =
        reqwest::Url::parse(raw.trim()).map_err(|_| "Give a full URL, e.g. https://example.org/hook.".to_string())?;
    match url.scheme() {
        "https" => {}
        "http" if state.cfg.webhook_allow_http => {}
        _ => return Err("Webhook URLs must use https.".into()),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("Put no credentials in the URL; deliveries are signed instead.".into());
    }
    let host = url.host_str().ok_or("The URL has no host.")?.trim_matches(|c| c == '[' || c == ']').to_owned();
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|_| format!("The host {host} could not be resolved."))?
        .collect();
    if addrs.is_empty() {
        return Err(format!("The host {host} could not be resolved."));
    }
    if !state.cfg.webhook_allow_private && addrs.iter().any(|a| private(a.ip())) {
        return Err(format!("{host} is a private, loopback or link-local address; webhooks go to public addresses."));
    }
    Ok((url, host, addrs))
}

fn backoff(base_ms: u64, attempts: i32) -> chrono::Duration {
    let ms = base_ms.saturating_mul(1u64 << (attempts.clamp(1, 20) - 1) as u32).min(3_600_000);
    chrono::Duration::milliseconds(ms as i64)
}

/// Sends one delivery and records the attempt.
async fn deliver(state: &AppState, d: delivery::Model) -> anyhow::Result<()> {
    let db = &state.db;
    let ep = endpoint::Entity::find_by_id(d.endpoint_id).one(db).await?;
    let now = crate::audit::now();
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
                match client
                    .post(url)
                    .header("content-type", "application/json")
                    .header("user-agent", "hsv-webhooks/1")
                    .header("x-hsv-event", d.event.as_str())
                    .header("x-hsv-delivery", d.id.to_string())
                    .header("x-hsv-timestamp", ts.to_string())
                    .header("x-hsv-signature", signature(&ep.secret, ts, &d.payload))
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
    let (_gate, txn) = state.begin().await?;
    delivery::Entity::update(am).exec(&txn).await?;
    txn.commit().await?;
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
    let now = crate::audit::now();
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
    let (_gate, txn) = state.begin().await?;
    for d in due {
        // The lease: only the process whose update matched sends it.
        let r = delivery::Entity::update_many()
            .col_expr(delivery::Column::NextAttemptAt, sea_orm::sea_query::Expr::value(lease))
            .filter(delivery::Column::Id.eq(d.id))
            .filter(delivery::Column::NextAttemptAt.eq(d.next_attempt_at))
            .filter(delivery::Column::Status.eq("PENDING"))
            .exec(&txn)
            .await?;
        if r.rows_affected == 1 {
            claimed.push(d);
        }
    }
    txn.commit().await?;
    drop(_gate);
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
    let counties: Vec<Uuid> = endpoint::Entity::find()
        .filter(endpoint::Column::Active.eq(true))
        .select_only()
        .column(endpoint::Column::CountyId)
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    let now = crate::audit::now();
    for county in counties {
        let campaigns =
            entity::campaign::Entity::find().filter(entity::campaign::Column::CountyId.eq(county)).all(db).await?;
        for c in campaigns {
            let counts = crate::progress::campaign_counts(db, c.id).await?;
            for m in
                entity::milestone::Entity::find().filter(entity::milestone::Column::CampaignId.eq(c.id)).all(db).await?
            {
                let actual = crate::progress::actual_percent(m.target_metric, &counts);
                let st = crate::progress::state(&m, actual, now);
                let event = match st {
                    crate::types::MilestoneState::AtRisk => WebhookEvent::MilestoneAtRisk,
                    crate::types::MilestoneState::Missed => WebhookEvent::MilestoneMissed,
                    _ => continue,
                };
                let data = json!({ "milestoneId": ids::encode("Milestone", m.id).0, "title": m.title, "kind": m.kind,
                    "endsAt": m.ends_at, "actualPercent": actual, "campaign": c.name });
                // Keyed by the milestone's end, so an extended window that slips again is told again.
                let key = format!("milestone:{}:{}:{}", m.id, event.name(), m.ends_at.timestamp());
                let (_gate, txn) = state.begin().await?;
                enqueue(&txn, county, event, data, Some(key)).await?;
                txn.commit().await?;
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

// ------------------------------------------------------------------ GraphQL

/// A registered endpoint.
#[derive(SimpleObject)]
#[graphql(name = "Webhook", complex)]
pub struct WebhookNode {
    #[graphql(skip)]
    pub model: endpoint::Model,
    pub url: String,
    pub events: Vec<WebhookEvent>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

impl From<endpoint::Model> for WebhookNode {
    fn from(m: endpoint::Model) -> Self {
        Self {
            url: m.url.clone(),
            events: m.events.split(',').filter_map(WebhookEvent::parse).collect(),
            active: m.active,
            created_at: m.created_at,
            model: m,
        }
    }
}

#[ComplexObject]
impl WebhookNode {
    async fn id(&self) -> ID {
        ids::encode("Webhook", self.model.id)
    }
    /// Recent deliveries, newest first.
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
    ) -> async_graphql::Result<Vec<DeliveryNode>> {
        let rows = delivery::Entity::find()
            .filter(delivery::Column::EndpointId.eq(self.model.id))
            .order_by_desc(delivery::Column::CreatedAt)
            .limit(first.clamp(0, 200) as u64)
            .all(&ctx.state().db)
            .await
            .map_err(AppError::from)?;
        Ok(rows.into_iter().map(DeliveryNode::from).collect())
    }
}

/// One event sent (or being sent) to one endpoint.
#[derive(SimpleObject)]
#[graphql(name = "WebhookDelivery", complex)]
pub struct DeliveryNode {
    #[graphql(skip)]
    pub model: delivery::Model,
    pub event: String,
    /// PENDING, DELIVERED or FAILED (gave up after the last retry).
    pub status: String,
    pub attempts: i32,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

impl From<delivery::Model> for DeliveryNode {
    fn from(m: delivery::Model) -> Self {
        Self {
            event: m.event.clone(),
            status: m.status.clone(),
            attempts: m.attempts,
            last_status: m.last_status,
            last_error: m.last_error.clone(),
            next_attempt_at: m.next_attempt_at,
            created_at: m.created_at,
            delivered_at: m.delivered_at,
            model: m,
        }
    }
}

#[ComplexObject]
impl DeliveryNode {
    async fn id(&self) -> ID {
        ids::encode("WebhookDelivery", self.model.id)
    }
    /// The body as sent (and signed).
    async fn payload(&self) -> String {
        self.model.payload.clone()
    }
}

/// A new endpoint and its signing secret, shown only here.
#[derive(SimpleObject)]
pub struct WebhookSecret {
    pub secret: String,
    pub webhook: WebhookNode,
}

fn admin(viewer: &Viewer) -> AppResult<()> {
    viewer.require_role(&[entity::Role::Admin], "manage webhooks")
}

pub async fn list(state: &AppState, viewer: &Viewer) -> AppResult<Vec<endpoint::Model>> {
    admin(viewer)?;
    Ok(endpoint::Entity::find()
        .filter(endpoint::Column::CountyId.eq(viewer.scope.region_id))
        .order_by_desc(endpoint::Column::CreatedAt)
        .all(&state.db)
        .await?)
}

pub async fn create(
    state: &AppState,
    viewer: &Viewer,
    url: &str,
    events: &[WebhookEvent],
) -> AppResult<(endpoint::Model, String)> {
    admin(viewer)?;
    if events.is_empty() {
        return Err(AppError::validation("events", "Choose at least one event."));
    }
    let (url, _, _) = check_url(state, url).await.map_err(|m| AppError::validation("url", m))?;
    let secret = random_token("whsec_");
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
        created_at: Set(crate::audit::now()),
    };
    let (_gate, txn) = state.begin().await?;
    let m = endpoint::Entity::insert(m).exec_with_returning(&txn).await?;
    txn.commit().await?;
    Ok((m, secret))
}

async fn owned(state: &AppState, viewer: &Viewer, id: Uuid) -> AppResult<endpoint::Model> {
    admin(viewer)?;
    endpoint::Entity::find_by_id(id)
        .filter(endpoint::Column::CountyId.eq(viewer.scope.region_id))
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::not_found("webhook"))
}

#[derive(Default)]
pub struct WebhooksQuery;

#[Object]
impl WebhooksQuery {
    /// Webhook endpoints of the viewer's county (ADMIN).
    async fn webhooks(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<WebhookNode>> {
        Ok(list(ctx.state(), ctx.viewer()?).await?.into_iter().map(WebhookNode::from).collect())
    }
}

#[derive(Default)]
pub struct WebhooksMutation;

#[Object]
impl WebhooksMutation {
    /// Registers an endpoint for events of the viewer's county (ADMIN). HTTPS
    /// and public addresses only (unless the server allows otherwise). The
    /// secret that signs deliveries is shown only in this answer.
    async fn create_webhook(
        &self,
        ctx: &Context<'_>,
        url: String,
        events: Vec<WebhookEvent>,
    ) -> async_graphql::Result<WebhookSecret> {
        let (m, secret) = create(ctx.state(), ctx.viewer()?, &url, &events).await?;
        Ok(WebhookSecret { secret, webhook: m.into() })
    }

    /// Stops deliveries to an endpoint (ADMIN); pending ones are given up.
    async fn delete_webhook(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<WebhookNode> {
        let state = ctx.state();
        let m = owned(state, ctx.viewer()?, ids::decode("Webhook", &id)?).await?;
        let mut am: endpoint::ActiveModel = m.into();
        am.active = Set(false);
        let (_gate, txn) = state.begin().await.map_err(AppError::from)?;
        let m = endpoint::Entity::update(am).exec(&txn).await.map_err(AppError::from)?;
        txn.commit().await.map_err(AppError::from)?;
        Ok(m.into())
    }

    /// Sends a delivery again (ADMIN), e.g. after the receiver was fixed.
    async fn redeliver_webhook(&self, ctx: &Context<'_>, delivery_id: ID) -> async_graphql::Result<DeliveryNode> {
        let state = ctx.state();
        let viewer = ctx.viewer()?;
        admin(viewer)?;
        let d = delivery::Entity::find_by_id(ids::decode("WebhookDelivery", &delivery_id)?)
            .one(&state.db)
            .await
            .map_err(AppError::from)?
            .ok_or_else(|| AppError::not_found("delivery"))?;
        owned(state, viewer, d.endpoint_id).await?;
        let mut am: delivery::ActiveModel = d.into();
        am.status = Set("PENDING".into());
        am.next_attempt_at = Set(crate::audit::now());
        let (_gate, txn) = state.begin().await.map_err(AppError::from)?;
        let d = delivery::Entity::update(am).exec(&txn).await.map_err(AppError::from)?;
        txn.commit().await.map_err(AppError::from)?;
        Ok(d.into())
    }
}
