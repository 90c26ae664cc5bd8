//! Housing-safety verification API: library behind the `api` binary and the tests.

pub mod accounts;
pub mod app;
pub mod audit;
pub mod auth;
pub mod checks;
pub mod cli;
pub mod config;
pub mod counters;
pub mod db;
pub mod demo;
pub mod error;
pub mod evidence;
pub mod exports;
pub mod graphql;
pub mod households;
pub mod idnumber;
pub mod ids;
pub mod imports;
pub mod limits;
pub mod loaders;
pub mod lookback;
pub mod metrics;
pub mod notify;
pub mod photos;
pub mod progress;
pub mod regions;
pub mod rng;
pub mod storage;
pub mod types;
pub mod verification;
pub mod web;
pub mod webhooks;
pub mod workflow;

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
    pub limiter: Arc<limits::RateLimiter>,
    pub metrics: Arc<metrics::Metrics>,
}

impl AppState {
    /// Begins a write transaction. Keep the returned guard alive until commit.
    pub async fn begin(
        &self,
    ) -> Result<(Option<tokio::sync::OwnedMutexGuard<()>>, sea_orm::DatabaseTransaction), sea_orm::DbErr> {
        use sea_orm::TransactionTrait;
        let guard = match &self.write_gate {
            Some(gate) => Some(gate.clone().lock_owned().await),
            None => None,
        };
        Ok((guard, self.db.begin().await?))
    }
}
