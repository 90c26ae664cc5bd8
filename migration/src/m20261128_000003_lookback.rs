use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn a(s: &str) -> Alias {
    Alias::new(s)
}

fn fk(table: &str, column: &str, target: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_{column}"))
        .from(a(table), a(column))
        .to(a(target), a("id"))
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

/// Look-back review samples (回头看): which approved households are re-checked, by whom, with what result.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(a("lookback_samples"))
                .col(pk_uuid(a("id")))
                .col(uuid(a("campaign_id")))
                .col(uuid(a("region_id")))
                .col(big_integer(a("seed")))
                .col(double(a("percent")))
                .col(integer(a("min_per_village")))
                .col(uuid(a("created_by")))
                .col(timestamp_with_time_zone(a("created_at")))
                .foreign_key(&mut fk("lookback_samples", "campaign_id", "campaigns"))
                .foreign_key(&mut fk("lookback_samples", "region_id", "regions"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(a("lookback_items"))
                .col(pk_uuid(a("id")))
                .col(uuid(a("sample_id")))
                .col(uuid(a("household_id")))
                .col(uuid(a("assigned_to")))
                .col(string_len(a("status"), 24))
                .col(text_null(a("notes")))
                .col(timestamp_with_time_zone_null(a("checked_at")))
                .foreign_key(&mut fk("lookback_items", "sample_id", "lookback_samples"))
                .foreign_key(&mut fk("lookback_items", "household_id", "households"))
                .foreign_key(&mut fk("lookback_items", "assigned_to", "accounts"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_lookback_items_sample")
                .table(a("lookback_items"))
                .col(a("sample_id"))
                .col(a("status"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_lookback_items_assignee")
                .table(a("lookback_items"))
                .col(a("assigned_to"))
                .col(a("status"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(a("lookback_items")).to_owned()).await?;
        m.drop_table(Table::drop().table(a("lookback_samples")).to_owned()).await?;
        Ok(())
    }
}
