//! "These regions' progress changed": in-process on SQLite, and through
//! PostgreSQL LISTEN/NOTIFY so that every API process hears every change.

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use tokio::sync::broadcast;
use uuid::Uuid;

pub const CHANNEL: &str = "hsv_progress";

#[derive(Clone)]
pub struct Notifier {
    tx: broadcast::Sender<Vec<Uuid>>,
    postgres: bool,
}

impl Notifier {
    pub fn new(postgres: bool) -> Self {
        Self { tx: broadcast::channel(1024).0, postgres }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Vec<Uuid>> {
        self.tx.subscribe()
    }

    /// Call after the change committed. On PostgreSQL every process (this one
    /// too) hears it through its listener; on SQLite there is only this process.
    pub async fn publish(&self, db: &DatabaseConnection, regions: Vec<Uuid>) {
        if regions.is_empty() {
            return;
        }
        if !self.postgres {
            let _ = self.tx.send(regions);
            return;
        }
        // NOTIFY payloads are limited to 8000 bytes: 100 IDs a message.
        for chunk in regions.chunks(100) {
            let payload = chunk.iter().map(Uuid::to_string).collect::<Vec<_>>().join(",");
            let stmt = Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_notify($1, $2)",
                [CHANNEL.into(), payload.into()],
            );
            if let Err(e) = db.execute(stmt).await {
                tracing::warn!(error = %e, "progress notification not sent");
            }
        }
    }

    /// On PostgreSQL: listens for every process's notifications, reconnecting on failure.
    pub fn listen(&self, db: &DatabaseConnection) {
        if !self.postgres {
            return;
        }
        let pool = db.get_postgres_connection_pool().clone();
        let tx = self.tx.clone();
        tokio::spawn(async move {
            loop {
                match sea_orm::sqlx::postgres::PgListener::connect_with(&pool).await {
                    Ok(mut l) => {
                        if l.listen(CHANNEL).await.is_ok() {
                            while let Ok(n) = l.recv().await {
                                let ids: Vec<Uuid> =
                                    n.payload().split(',').filter_map(|s| Uuid::parse_str(s).ok()).collect();
                                let _ = tx.send(ids);
                            }
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "progress listener cannot connect; retrying"),
                }
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        });
    }
}
