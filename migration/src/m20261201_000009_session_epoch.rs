use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A per-account session epoch, carried in every access token: ending an
/// account's sessions (re-issued password, "end sessions") moves it, so the
/// access tokens already handed out stop working at once, not at expiry.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Alias::new("accounts"))
                .add_column(ColumnDef::new(Alias::new("session_epoch")).integer().not_null().default(0))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table(Alias::new("accounts")).drop_column(Alias::new("session_epoch")).to_owned())
            .await
    }
}
