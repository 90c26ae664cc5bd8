//! Schema history. The same migrations run on SQLite (embedded default) and
//! PostgreSQL (database of record); the server applies them at start-up and
//! the `migration` binary applies or rolls them back by hand.

pub use sea_orm_migration::prelude::*;

mod m20261128_000001_init;
mod m20261128_000002_workflow;
mod m20261128_000003_lookback;
mod m20261128_000004_counters;
mod m20261128_000005_photo_evidence;
mod m20261128_000006_webhooks;
mod m20261201_000007_reimport;
mod m20261201_000008_import_undo;
mod m20261201_000009_session_epoch;
mod m20261207_000010_campaign_levels;
mod m20261208_000011_region_path_pattern;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_init::Migration),
            Box::new(m20261128_000002_workflow::Migration),
            Box::new(m20261128_000003_lookback::Migration),
            Box::new(m20261128_000004_counters::Migration),
            Box::new(m20261128_000005_photo_evidence::Migration),
            Box::new(m20261128_000006_webhooks::Migration),
            Box::new(m20261201_000007_reimport::Migration),
            Box::new(m20261201_000008_import_undo::Migration),
            Box::new(m20261201_000009_session_epoch::Migration),
            Box::new(m20261207_000010_campaign_levels::Migration),
            Box::new(m20261208_000011_region_path_pattern::Migration),
        ]
    }
}
