use crate::ReferenceSource;
use sea_orm::entity::prelude::*;

/// A row as one office holds it: poverty list, housing appraisal or renovation.
/// Superseded rows are kept (`current = false`) so history survives re-imports.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "reference_records")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub campaign_id: Uuid,
    /// The county whose import brought the row; each county keeps its own lists.
    pub county_id: Uuid,
    pub import_id: Option<Uuid>,
    pub source: ReferenceSource,
    pub household_code: String,
    pub household_id: Option<Uuid>,
    pub head_name: String,
    pub id_number: String,
    // poverty list
    pub township_name: Option<String>,
    pub village_name: Option<String>,
    pub household_size: Option<i32>,
    pub phone: Option<String>,
    pub exit_year: Option<i32>,
    // appraisal
    pub grade: Option<String>,
    pub appraised_on: Option<Date>,
    pub appraiser: Option<String>,
    // renovation
    pub renovation_year: Option<i32>,
    pub renovation_kind: Option<String>,
    pub accepted_on: Option<Date>,
    pub subsidy_yuan: Option<i64>,
    /// Where it came from: file name and the row number as Excel shows it.
    pub source_file: String,
    pub row_number: i32,
    pub current: bool,
    /// The import that superseded this row (so undoing it makes the row current again).
    pub superseded_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
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
