use sea_orm_migration::prelude::*;

/// `migration up`, `migration down`, `migration status`, … against `DATABASE_URL`.
#[tokio::main]
async fn main() {
    cli::run_cli(migration::Migrator).await;
}
