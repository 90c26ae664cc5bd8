use sea_orm::entity::prelude::*;

/// One progress figure of one region in one campaign, e.g. `status:SUBMITTED` → 312.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "region_counters")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub campaign_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub region_id: Uuid,
    /// households, status:S, path:P, expected:P, errors, warnings.
    #[sea_orm(primary_key, auto_increment = false)]
    pub metric: String,
    pub n: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
