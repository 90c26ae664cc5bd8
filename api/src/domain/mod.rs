//! The domain layer: services, rules, SQL and events. It knows nothing of
//! GraphQL or HTTP; every service takes a `Ctx` (who asks, from where, in which
//! language, at what time) and applies region scope inside its SQL.

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod batch;
pub mod checks;
pub mod counters;
pub mod ctx;
pub mod error;
pub mod evidence;
pub mod exif;
pub mod exports;
pub mod findings;
pub mod households;
pub mod idnumber;
pub mod imports;
pub mod lookback;
pub mod nested;
pub mod photos;
pub mod privacy;
pub mod progress;
pub mod regions;
pub mod rng;
pub mod setup;
pub mod tx;
pub mod webhooks;
pub mod workflow;

/// A record's global ID as the API shows it (`Type:uuid`), for links and
/// webhook payloads written below the API layer.
pub fn global_id(kind: &str, id: uuid::Uuid) -> String {
    format!("{kind}:{id}")
}
