//! Housing-safety verification API: library behind the `api` binary and the tests.

pub mod cli;
pub mod config;
pub mod demo;
pub mod domain;
pub mod graphql;
pub mod http;
pub mod infra;
pub mod operator;

/// Facts fixed at build time (`build.rs`): the web app's operation names, the commit.
pub mod build {
    include!(concat!(env!("OUT_DIR"), "/build_facts.rs"));
}

use std::sync::Arc;

/// Shared by every request: configuration, database, keys, schema.
#[derive(Clone)]
pub struct AppState {
    pub cfg: Arc<config::Config>,
    pub db: sea_orm::DatabaseConnection,
    /// A streaming standby for read-only work, when `DATABASE_READ_URL` is set.
    pub replica: Option<Arc<infra::replica::Replica>>,
    pub db_stats: Arc<infra::db::DbStats>,
    pub jwt: domain::auth::jwt::JwtKeys,
    pub storage: infra::storage::Storage,
    /// SQLite has one writer: write transactions queue here instead of failing
    /// with SQLITE_BUSY when two upgrade at once. None on PostgreSQL.
    pub write_gate: Option<Arc<tokio::sync::Mutex<()>>>,
    pub notifier: infra::notify::Notifier,
    /// Photos decoded at once (decoding takes memory in proportion to pixels).
    pub photo_slots: Arc<tokio::sync::Semaphore>,
    pub limiter: Arc<infra::ratelimit::RateLimiter>,
    pub metrics: Arc<infra::metrics::Metrics>,
}

impl AppState {
    /// Waits for SQLite's write gate (None on PostgreSQL): every write of any
    /// kind, a one-statement one too, queues here rather than meeting another
    /// writer inside SQLite, where a busy answer would fail a person's save.
    pub async fn write_turn(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        match &self.write_gate {
            Some(g) => Some(g.clone().lock_owned().await),
            None => None,
        }
    }
}
