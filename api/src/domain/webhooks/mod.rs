//! Webhooks: an ADMIN registers HTTPS endpoints for events of their county.
//! Each event is written to an outbox (`webhook_deliveries`) in the same
//! transaction as the change it reports, so a change that rolls back sends
//! nothing and a committed one is never lost. A background worker in every
//! API process delivers due rows (claiming each with a lease so two
//! processes do not send it twice), signs it the Standard Webhooks way
//! (<https://www.standardwebhooks.com/>: `webhook-id`, `webhook-timestamp`,
//! `webhook-signature: v1,<base64 HMAC-SHA256>` over `{id}.{timestamp}.{body}`),
//! so receivers verify it with a stock library, retries with exponential
//! back-off and records every attempt. Deliveries never run on a request's path.

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

/// Bytes of randomness in a new endpoint secret: 24 encode to 32 base64
/// characters without padding, which every decoder reads the same way.
const SECRET_BYTES: usize = 24;

/// A new endpoint secret in the Standard Webhooks shape: `whsec_` and the
/// standard base64 of 24 random bytes (the signing key).
pub fn new_secret() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut key = [0u8; SECRET_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut key);
    format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(key))
}

/// The signing key of a stored secret: the base64-decoded part after
/// `whsec_`. Secrets issued before Standard Webhooks (`whsec_` and 43
/// URL-safe characters without padding) are not canonical standard base64;
/// their whole text, prefix included, is the key, as it was before, so those
/// endpoints keep working (receivers pass it to their library as raw bytes).
pub fn signing_key(secret: &str) -> Vec<u8> {
    use base64::Engine;
    secret
        .strip_prefix("whsec_")
        .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .filter(|key| !key.is_empty())
        .unwrap_or_else(|| secret.as_bytes().to_vec())
}

/// The `webhook-signature` value: `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`.
pub fn signature(secret: &str, id: &str, timestamp: i64, body: &str) -> String {
    use base64::Engine;
    let mac = crate::domain::auth::hmac_sha256(&signing_key(secret), format!("{id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac))
}

#[cfg(test)]
mod signature_tests {
    use super::{new_secret, signature, signing_key};
    use base64::Engine;

    #[test]
    fn signs_like_the_standard_webhooks_reference() {
        // The test vector of the Standard Webhooks reference libraries.
        let sig = signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn new_secrets_decode_and_old_ones_sign_with_their_text() {
        let s = new_secret();
        let b64 = s.strip_prefix("whsec_").unwrap_or_default();
        assert_eq!(base64::engine::general_purpose::STANDARD.decode(b64).map(|k| k.len()).ok(), Some(24));
        assert_eq!(signing_key(&s).len(), 24);
        let old = "whsec_q-8Xl0h_3pY1eQmZ7bV2cN4tR6uW9yA0sD5fG8hJ1kL";
        assert_eq!(signing_key(old), old.as_bytes());
        assert_eq!(
            signature("whsec_abc-_def", "id1", 1700000000, "body"),
            "v1,pJnedX0KqnJ0Atcfi6hYzRdFOOfvs0s64NWmNqA0Gzw="
        );
    }
}

/// Not a globally routable unicast address. An allow-list, not a deny-list:
/// IPv6 must be global unicast (2000::/3) outside the special blocks, and an
/// IPv4 address carried inside IPv6 (mapped, NAT64, 6to4) is judged as itself.
fn private(ip: IpAddr) -> bool {
    !globally_routable(ip)
}

fn globally_routable(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v) => global_v4(v),
        IpAddr::V6(v) => {
            let s = v.segments();
            let o = v.octets();
            let embedded = |at: usize| std::net::Ipv4Addr::new(o[at], o[at + 1], o[at + 2], o[at + 3]);
            if let Some(m) = v.to_ipv4_mapped() {
                return global_v4(m);
            }
            if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                return global_v4(embedded(12)); // NAT64 well-known prefix
            }
            if s[0] == 0x2002 {
                return global_v4(embedded(2)); // 6to4
            }
            (s[0] & 0xe000) == 0x2000 // global unicast 2000::/3 ...
                && !(s[0] == 0x2001 && s[1] < 0x0200) // ... but not 2001::/23 (Teredo, benchmarking, ORCHID…)
                && !(s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                && !(s[0] == 0x3fff && s[1] < 0x1000) // documentation (RFC 9637)
        }
    }
}

fn global_v4(v: std::net::Ipv4Addr) -> bool {
    let [a, b, c, _] = v.octets();
    !(a == 0 // "this network"
        || a == 10
        || a == 127
        || a >= 224 // multicast, reserved 240/4, broadcast
        || (a == 100 && (b & 0xc0) == 64) // carrier-grade NAT
        || (a == 169 && b == 254)
        || (a == 172 && (b & 0xf0) == 16)
        || (a == 192 && b == 168)
        || (a == 192 && b == 0 && (c == 0 || c == 2)) // protocol assignments, documentation
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
        || (a == 198 && (b & 0xfe) == 18) // benchmarking
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113))
}

#[cfg(test)]
mod address_tests {
    use super::private;

    #[test]
    fn only_globally_routable_unicast_is_public() {
        for bad in [
            "::127.0.0.1",
            "64:ff9b::7f00:1",
            "2002:7f00:1::",
            "0.0.0.1",
            "198.18.0.1",
            "240.0.0.1",
            "fec0::1",
            "::ffff:10.0.0.1",
            "127.0.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "fd00::1",
            "fe80::1",
            "::1",
            "::",
            "2001:db8::1",
            "2001::1",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.0.8",
            "ff02::1",
        ] {
            assert!(private(bad.parse().unwrap()), "{bad} must be refused");
        }
        for good in ["8.8.8.8", "1.1.1.1", "2400:3200::1", "64:ff9b::808:808", "2002:808:808::1", "::ffff:8.8.4.4"] {
            assert!(!private(good.parse().unwrap()), "{good} must be allowed");
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
