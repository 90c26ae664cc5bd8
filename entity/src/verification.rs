use crate::{SafetyPath, VerificationStatus};
use sea_orm::entity::prelude::*;

/// One household's verification in a campaign. Practice entries (模拟录入) are
/// separate rows with `practice = true` and never count.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "verifications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub campaign_id: Uuid,
    pub household_id: Uuid,
    pub practice: bool,
    pub status: VerificationStatus,
    pub path: Option<SafetyPath>,
    /// Optimistic-locking version, bumped by every change.
    pub version: i32,
    /// Path-specific evidence as JSON (grade, renovation record, arrangement …).
    pub evidence: Option<Json>,
    pub structure: Option<String>,
    pub floors: Option<i32>,
    pub floor_area: Option<f64>,
    pub year_built: Option<i32>,
    pub occupants: Option<i32>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub notes: Option<String>,
    pub verified_by: Option<Uuid>,
    pub submitted_at: Option<DateTimeUtc>,
    pub approved_by: Option<Uuid>,
    pub approved_at: Option<DateTimeUtc>,
    pub return_reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::household::Entity",
        from = "Column::HouseholdId",
        to = "super::household::Column::Id"
    )]
    Household,
}

impl ActiveModelBehavior for ActiveModel {}
