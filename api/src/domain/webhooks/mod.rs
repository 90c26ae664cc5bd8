//! Webhooks: an ADMIN registers HTTPS endpoints for events of their county.
//! Each event is written to an outbox (`webhook_deliveries`) in the same
//! transaction as the change it reports, so a change that rolls back sends
//! nothing and a committed one is never lost. A background worker in every
//! API process delivers due rows (claiming each with a lease so two
//! processes do not send it twice), signs the body with the endpoint's secret
//! (HMAC-SHA256 over `timestamp.body`), retries with exponential back-off and
//! records every attempt. Deliveries never run on a request's path.

mod endpoints;
mod worker;

pub use endpoints::*;
pub use worker::{deliver_due, spawn_worker};

use crate::{domain::error::AppResult, AppState};
use entity::{webhook_delivery as delivery, webhook_endpoint as endpoint};
use sea_orm::{sea_query::OnConflict, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::{json, Value};
use std::net::{IpAddr, SocketAddr};
use uuid::Uuid;

#[derive(Copy, Clone, Eq, PartialEq, Debug)]
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
    pub fn parse(s: &str) -> Option<Self> {
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
    let now = crate::domain::audit::now();
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
    format!(
        "sha256={}",
        crate::domain::auth::hmac_sha256_hex(secret.as_bytes(), format!("{timestamp}.{body}").as_bytes())
    )
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
