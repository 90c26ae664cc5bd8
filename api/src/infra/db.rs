//! Database connection, with a statement counter for `/metrics` (and for the
//! test that proves list pages cost a fixed number of queries).

use crate::config::Config;
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};
use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc,
};
use std::time::Duration;

#[derive(Default, Debug)]
pub struct DbStats {
    pub statements: AtomicU64,
    pub failed: AtomicU64,
    pub micros: AtomicU64,
}

pub async fn connect(cfg: &Config) -> anyhow::Result<(DatabaseConnection, Arc<DbStats>)> {
    if cfg.is_sqlite() {
        std::fs::create_dir_all(&cfg.data_dir)?;
    }
    let mut opts = ConnectOptions::new(cfg.database_url.expose().to_owned());
    opts.max_connections(if cfg.is_sqlite() { 8 } else { 20 })
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(15))
        // Statements can carry ID numbers; they are never logged.
        .sqlx_logging(false);
    if cfg.is_sqlite() {
        opts.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .busy_timeout(Duration::from_secs(15))
                .foreign_keys(true)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                // SQLite keeps each cached statement's compiled program in the
                // process: 100 per connection (sqlx's default), many of them
                // DataLoader `IN (…)` lists of every length, held 40 MB per
                // connection after a county's entry run. 24 keeps the hot ones.
                .statement_cache_capacity(24)
        });
    }
    let mut db = Database::connect(opts).await.map_err(|e| anyhow::anyhow!("cannot connect to the database: {e}"))?;
    let stats = Arc::new(DbStats::default());
    let s = stats.clone();
    db.set_metric_callback(move |info| {
        s.statements.fetch_add(1, Ordering::Relaxed);
        s.micros.fetch_add(info.elapsed.as_micros() as u64, Ordering::Relaxed);
        if info.failed {
            s.failed.fetch_add(1, Ordering::Relaxed);
        }
    });
    Ok((db, stats))
}

pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None).await.map_err(|e| anyhow::anyhow!("migration failed: {e}"))?;
    Ok(())
}

pub async fn ping(db: &DatabaseConnection) -> bool {
    db.execute_unprepared("SELECT 1").await.is_ok()
}

pub fn is_postgres(db: &DatabaseConnection) -> bool {
    matches!(db.get_database_backend(), sea_orm::DbBackend::Postgres)
}
