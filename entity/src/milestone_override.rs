use sea_orm::entity::prelude::*;

/// A milestone tightened for one region and everything below it: an earlier
/// end or a higher target than the level above set (never looser).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "milestone_overrides")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub milestone_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub region_id: Uuid,
    pub ends_at: DateTimeUtc,
    pub target_percent: f64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
