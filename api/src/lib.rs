//! Housing-safety verification API: library behind the `api` binary and the tests.

pub mod accounts;
pub mod app;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod error;
pub mod graphql;
pub mod households;
pub mod idnumber;
pub mod ids;
pub mod loaders;
pub mod progress;
pub mod regions;
pub mod storage;
pub mod types;
pub mod verification;

use std::sync::Arc;

/// Shared by every request: configuration, database, keys, schema.
#[derive(Clone)]
pub struct AppState {
    pub cfg: Arc<config::Config>,
    pub db: sea_orm::DatabaseConnection,
    pub db_stats: Arc<db::DbStats>,
    pub jwt: auth::jwt::JwtKeys,
    pub storage: storage::Storage,
}
