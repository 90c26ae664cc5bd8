use sea_orm::entity::prelude::*;

/// One verification campaign (a county and a year), so the system serves other counties and years.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "campaigns")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub county_id: Uuid,
    /// IANA time zone the campaign's dates are in, e.g. `Asia/Shanghai`.
    pub time_zone: String,
    pub starts_on: Date,
    pub ends_on: Date,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(belongs_to = "super::region::Entity", from = "Column::CountyId", to = "super::region::Column::Id")]
    County,
}

impl ActiveModelBehavior for ActiveModel {}
