use crate::ReferenceSource;
use sea_orm::entity::prelude::*;

/// One imported spreadsheet; re-importing identical content is a no-op (keyed by hash).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "reference_imports")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub campaign_id: Uuid,
    /// The county that imported the file.
    pub county_id: Uuid,
    pub kind: ReferenceSource,
    pub file_name: String,
    pub content_sha256: String,
    /// Detected encoding: UTF-8, UTF-8-BOM, GB18030 or XLSX.
    pub encoding: String,
    pub row_count: i32,
    pub report: Json,
    pub imported_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    /// When the import was undone (its rows withdrawn and the rows it superseded restored).
    pub undone_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
