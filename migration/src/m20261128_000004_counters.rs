use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn a(s: &str) -> Alias {
    Alias::new(s)
}

/// Per-region progress counters, kept in the same transaction as the changes
/// that move them, so a board is a few indexed reads at any scale.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(a("region_counters"))
                .col(uuid(a("campaign_id")))
                .col(uuid(a("region_id")))
                .col(string_len(a("metric"), 48))
                .col(big_integer(a("n")))
                .primary_key(Index::create().col(a("campaign_id")).col(a("region_id")).col(a("metric")))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_region_counters_campaign_id")
                        .from(a("region_counters"), a("campaign_id"))
                        .to(a("campaigns"), a("id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_region_counters_region_id")
                        .from(a("region_counters"), a("region_id"))
                        .to(a("regions"), a("id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(a("region_counters")).to_owned()).await
    }
}
