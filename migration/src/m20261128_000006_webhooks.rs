use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn a(s: &str) -> Alias {
    Alias::new(s)
}

/// Webhooks: endpoints an ADMIN registers, and the outbox of deliveries,
/// written in the same transaction as the change each one reports.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(a("webhook_endpoints"))
                .col(uuid(a("id")).primary_key())
                .col(uuid(a("county_id")))
                .col(string_len(a("url"), 2048))
                .col(string_len(a("secret"), 128))
                .col(string(a("events")))
                .col(boolean(a("active")))
                .col(uuid_null(a("created_by")))
                .col(timestamp_with_time_zone(a("created_at")))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_webhook_endpoints_county_id")
                        .from(a("webhook_endpoints"), a("county_id"))
                        .to(a("regions"), a("id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_webhook_endpoints_county")
                .table(a("webhook_endpoints"))
                .col(a("county_id"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(a("webhook_deliveries"))
                .col(uuid(a("id")).primary_key())
                .col(uuid(a("endpoint_id")))
                .col(string_len(a("event"), 48))
                .col(text(a("payload")))
                .col(string_len(a("status"), 16))
                .col(integer(a("attempts")))
                .col(timestamp_with_time_zone(a("next_attempt_at")))
                .col(integer_null(a("last_status")))
                .col(text_null(a("last_error")))
                .col(string_len_null(a("dedupe_key"), 160))
                .col(timestamp_with_time_zone(a("created_at")))
                .col(timestamp_with_time_zone_null(a("delivered_at")))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_webhook_deliveries_endpoint_id")
                        .from(a("webhook_deliveries"), a("endpoint_id"))
                        .to(a("webhook_endpoints"), a("id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // The worker's scan: pending deliveries that are due.
        m.create_index(
            Index::create()
                .name("ix_webhook_deliveries_due")
                .table(a("webhook_deliveries"))
                .col(a("status"))
                .col(a("next_attempt_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_webhook_deliveries_endpoint")
                .table(a("webhook_deliveries"))
                .col(a("endpoint_id"))
                .col(a("created_at"))
                .to_owned(),
        )
        .await?;
        // A time-derived event (a milestone at risk) is reported once per endpoint.
        m.create_index(
            Index::create()
                .name("ux_webhook_deliveries_dedupe")
                .table(a("webhook_deliveries"))
                .col(a("endpoint_id"))
                .col(a("dedupe_key"))
                .unique()
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(a("webhook_deliveries")).to_owned()).await?;
        m.drop_table(Table::drop().table(a("webhook_endpoints")).to_owned()).await
    }
}
