use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn a(s: &str) -> Alias {
    Alias::new(s)
}

/// Idempotency keys of mutations (offline clients retry after a lost answer),
/// photo upload tickets, and look-back samples.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(a("idempotency_keys"))
                .col(pk_uuid(a("id")))
                .col(uuid(a("account_id")))
                .col(string_len(a("key"), 128))
                .col(string_len(a("operation"), 48))
                .col(uuid(a("verification_id")))
                .col(integer(a("result_version")))
                .col(timestamp_with_time_zone(a("created_at")))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_idempotency_keys_account_id")
                        .from(a("idempotency_keys"), a("account_id"))
                        .to(a("accounts"), a("id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_idempotency_keys_account_key")
                .table(a("idempotency_keys"))
                .col(a("account_id"))
                .col(a("key"))
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(a("photo_uploads"))
                .col(pk_uuid(a("id")))
                .col(uuid(a("household_id")))
                .col(boolean(a("practice")))
                .col(string_len(a("kind"), 24))
                .col(string(a("object_key")).unique_key())
                .col(string_len(a("content_type"), 64))
                .col(big_integer(a("size_bytes")))
                .col(uuid(a("requested_by")))
                .col(timestamp_with_time_zone(a("expires_at")))
                .col(timestamp_with_time_zone_null(a("confirmed_at")))
                .col(timestamp_with_time_zone(a("created_at")))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_photo_uploads_household_id")
                        .from(a("photo_uploads"), a("household_id"))
                        .to(a("households"), a("id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("ix_photo_uploads_expires").table(a("photo_uploads")).col(a("expires_at")).to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(a("photo_uploads")).to_owned()).await?;
        m.drop_table(Table::drop().table(a("idempotency_keys")).to_owned()).await?;
        Ok(())
    }
}
