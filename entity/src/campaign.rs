use sea_orm::entity::prelude::*;

/// One verification campaign: a region of any level (a county, a city, a
/// province, the nation) and a year. Counties join it (`campaign_counties`)
/// and import their own lists into it.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "campaigns")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    /// Written equal to `region_id`, for the release before campaigns above the
    /// county while both run side by side; dropped in a later release.
    pub county_id: Uuid,
    /// The region the campaign covers; a county's own campaign covers that county.
    pub region_id: Uuid,
    /// IANA time zone the campaign's dates are in, e.g. `Asia/Shanghai`.
    pub time_zone: String,
    pub starts_on: Date,
    pub ends_on: Date,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(belongs_to = "super::region::Entity", from = "Column::RegionId", to = "super::region::Column::Id")]
    Region,
}

impl ActiveModelBehavior for ActiveModel {}
