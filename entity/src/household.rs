use crate::SafetyPath;
use sea_orm::entity::prelude::*;

/// A registered poor household (建档立卡贫困户) in one campaign.
///
/// The ancestor columns (`county_id`, `township_id`, `village_id`) make "every
/// household under region X" a single indexed equality, whatever the level.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "households")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub campaign_id: Uuid,
    /// 户编号, unique within a campaign.
    pub code: String,
    pub head_name: String,
    /// 18-character resident ID number. Personal data: never logged.
    pub id_number: String,
    pub size: Option<i32>,
    pub phone: Option<String>,
    pub county_id: Uuid,
    pub township_id: Uuid,
    /// None while the household's village is not on the official list (unplaced).
    pub village_id: Option<Uuid>,
    /// The path the reference data points to (derived on import).
    pub expected_path: Option<SafetyPath>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The import whose poverty list first placed the household (none for the demo).
    pub created_by_import: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(belongs_to = "super::campaign::Entity", from = "Column::CampaignId", to = "super::campaign::Column::Id")]
    Campaign,
}

impl ActiveModelBehavior for ActiveModel {}
