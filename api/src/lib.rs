//! Housing-safety verification API: library behind the `api` binary and the tests.

pub mod cli;
pub mod config;
pub mod demo;
pub mod domain;
pub mod graphql;
pub mod http;
pub mod infra;

// Short paths for the layers below GraphQL (`crate::audit`, `api::config`…).
pub use domain::{
    accounts, audit, auth, checks, counters, error, evidence, exports, households, idnumber, imports, lookback, photos,
    progress, regions, rng, webhooks, workflow,
};
pub use graphql::{enums as types, ids, loaders};
pub use http as app;
pub use http::web;
pub use infra::{db, metrics, notify, storage};

use std::sync::Arc;

/// Shared by every request: configuration, database, keys, schema.
#[derive(Clone)]
pub struct AppState {
    pub cfg: Arc<config::Config>,
    pub db: sea_orm::DatabaseConnection,
    pub db_stats: Arc<db::DbStats>,
    pub jwt: auth::jwt::JwtKeys,
    pub storage: storage::Storage,
    /// SQLite has one writer: write transactions queue here instead of failing
    /// with SQLITE_BUSY when two upgrade at once. None on PostgreSQL.
    pub write_gate: Option<Arc<tokio::sync::Mutex<()>>>,
    pub notifier: notify::Notifier,
    /// Photos decoded at once (decoding takes memory in proportion to pixels).
    pub photo_slots: Arc<tokio::sync::Semaphore>,
    pub limiter: Arc<infra::ratelimit::RateLimiter>,
    pub metrics: Arc<metrics::Metrics>,
}
