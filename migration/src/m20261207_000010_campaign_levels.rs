use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn a(s: &str) -> Alias {
    Alias::new(s)
}

/// A foreign key named after table and column, as in the first migration.
fn fk(table: &str, column: &str, target: &str, delete: ForeignKeyAction) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_{column}"))
        .from(a(table), a(column))
        .to(a(target), a("id"))
        .on_delete(delete)
        .to_owned()
}

/// Campaigns above the county (a city, a province, the nation): a campaign
/// covers a region of any level, counties join it, and a lower level may
/// tighten (never loosen) its milestones. Reference lists and imports are kept
/// per county inside a campaign, since each county imports its own lists.
/// Every existing campaign is a county's own: it becomes a campaign of that
/// region which its county has joined, so nothing changes for it.
///
/// Additive only, so the previous release keeps serving while this runs (a
/// rolling upgrade): `campaigns.county_id` stays, written equal to `region_id`
/// until a later release drops it.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table(a("campaigns")).add_column(uuid_null(a("region_id"))).to_owned()).await?;
        m.get_connection().execute_unprepared("UPDATE campaigns SET region_id = county_id").await?;
        m.create_index(
            Index::create().name("ix_campaigns_region").table(a("campaigns")).col(a("region_id")).to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(a("campaign_counties"))
                .col(uuid(a("campaign_id")))
                .col(uuid(a("county_id")))
                .col(timestamp_with_time_zone(a("joined_at")))
                .primary_key(Index::create().col(a("campaign_id")).col(a("county_id")))
                .foreign_key(&mut fk("campaign_counties", "campaign_id", "campaigns", ForeignKeyAction::Cascade))
                .foreign_key(&mut fk("campaign_counties", "county_id", "regions", ForeignKeyAction::Restrict))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_campaign_counties_county")
                .table(a("campaign_counties"))
                .col(a("county_id"))
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        db.execute_unprepared(
            "INSERT INTO campaign_counties (campaign_id, county_id, joined_at) SELECT id, region_id, created_at FROM campaigns",
        )
        .await?;
        for t in ["reference_imports", "reference_records"] {
            m.alter_table(Table::alter().table(a(t)).add_column(uuid_null(a("county_id"))).to_owned()).await?;
            db.execute_unprepared(&format!(
                "UPDATE {t} SET county_id = (SELECT region_id FROM campaigns WHERE campaigns.id = {t}.campaign_id)"
            ))
            .await?;
        }
        m.create_index(
            Index::create()
                .name("ix_reference_records_county")
                .table(a("reference_records"))
                .col(a("campaign_id"))
                .col(a("county_id"))
                .col(a("source"))
                .col(a("current"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(a("milestone_overrides"))
                .col(uuid(a("milestone_id")))
                .col(uuid(a("region_id")))
                .col(timestamp_with_time_zone(a("ends_at")))
                .col(double(a("target_percent")))
                .col(timestamp_with_time_zone(a("created_at")))
                .col(timestamp_with_time_zone(a("updated_at")))
                .primary_key(Index::create().col(a("milestone_id")).col(a("region_id")))
                .foreign_key(&mut fk("milestone_overrides", "milestone_id", "milestones", ForeignKeyAction::Cascade))
                .foreign_key(&mut fk("milestone_overrides", "region_id", "regions", ForeignKeyAction::Restrict))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(a("milestone_overrides")).to_owned()).await?;
        m.drop_index(Index::drop().name("ix_reference_records_county").table(a("reference_records")).to_owned())
            .await?;
        for t in ["reference_imports", "reference_records"] {
            m.alter_table(Table::alter().table(a(t)).drop_column(a("county_id")).to_owned()).await?;
        }
        m.drop_table(Table::drop().table(a("campaign_counties")).to_owned()).await?;
        m.drop_index(Index::drop().name("ix_campaigns_region").table(a("campaigns")).to_owned()).await?;
        m.alter_table(Table::alter().table(a("campaigns")).drop_column(a("region_id")).to_owned()).await
    }
}
