//! An optional PostgreSQL streaming standby (`DATABASE_READ_URL`) for read-only
//! work, dashboard tokens' queries and progress boards, so that the primary
//! keeps its capacity for saves. Its lag behind the primary is measured once a
//! second and stated in each response it serves; when it lags too far or
//! cannot be reached, the primary answers instead, so a broken standby costs
//! capacity, never an answer.

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Beyond this lag the standby is not used (a board minutes old misleads).
pub const MAX_LAG_MS: i64 = 10_000;
const UNKNOWN: i64 = -1;

pub struct Replica {
    pub db: DatabaseConnection,
    /// Milliseconds behind the primary at the last probe; -1 when unknown.
    lag_ms: AtomicI64,
}

impl Replica {
    pub async fn connect(url: &str) -> anyhow::Result<Arc<Self>> {
        let mut opts = ConnectOptions::new(url.to_owned());
        opts.max_connections(20)
            .min_connections(1)
            .connect_timeout(Duration::from_secs(5))
            .acquire_timeout(Duration::from_secs(5))
            .sqlx_logging(false);
        let db =
            Database::connect(opts).await.map_err(|e| anyhow::anyhow!("cannot connect to the read replica: {e}"))?;
        if db.get_database_backend() != DbBackend::Postgres {
            anyhow::bail!("DATABASE_READ_URL must be a PostgreSQL standby");
        }
        Ok(Arc::new(Self { db, lag_ms: AtomicI64::new(UNKNOWN) }))
    }

    /// The lag to state when the standby may serve now.
    pub fn usable(&self) -> Option<i64> {
        let lag = self.lag_ms.load(Ordering::Relaxed);
        (0..=MAX_LAG_MS).contains(&lag).then_some(lag)
    }

    /// Stops using the standby until the next probe finds it answering.
    pub fn mark_down(&self) {
        self.lag_ms.store(UNKNOWN, Ordering::Relaxed);
    }

    /// The last measured lag (-1: unknown), for `/metrics`.
    pub fn lag_ms(&self) -> i64 {
        self.lag_ms.load(Ordering::Relaxed)
    }

    /// Measures the lag every second for as long as the process runs.
    pub fn spawn_probe(self: &Arc<Self>, primary: DatabaseConnection) {
        let me = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                let lag = me.probe(&primary).await.unwrap_or(UNKNOWN);
                me.lag_ms.store(lag, Ordering::Relaxed);
            }
        });
    }

    /// Zero when the standby has replayed all the primary has written;
    /// otherwise the time since the last transaction it replayed (an upper
    /// bound, which errs towards using the primary).
    async fn probe(&self, primary: &DatabaseConnection) -> Option<i64> {
        let pg = DbBackend::Postgres;
        let head =
            primary.query_one(Statement::from_string(pg, "SELECT pg_current_wal_lsn()::text AS lsn")).await.ok()??;
        let lsn: String = head.try_get("", "lsn").ok()?;
        let sql = "SELECT pg_is_in_recovery() AS standby, \
             COALESCE(pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn()), 0)::bigint AS behind, \
             COALESCE((EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) * 1000)::bigint, 0) AS since";
        let row = self.db.query_one(Statement::from_sql_and_values(pg, sql, [lsn.into()])).await.ok()??;
        let standby: bool = row.try_get("", "standby").ok()?;
        let behind: i64 = row.try_get("", "behind").ok()?;
        let since: i64 = row.try_get("", "since").ok()?;
        // A promoted or mistaken URL (not a standby) is not a replica of ours.
        if !standby {
            return None;
        }
        Some(if behind <= 0 { 0 } else { since.max(1) })
    }
}
