use crate::PhotoKind;
use sea_orm::entity::prelude::*;

/// Photo metadata; the bytes live in object storage under `object_key`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "photos")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub household_id: Uuid,
    pub verification_id: Option<Uuid>,
    pub kind: PhotoKind,
    pub object_key: String,
    pub thumbnail_key: Option<String>,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    /// 64-bit perceptual hash, for near-duplicate detection.
    pub phash: Option<i64>,
    pub width: i32,
    pub height: i32,
    pub taken_at: Option<DateTimeUtc>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub practice: bool,
    /// Mean luminance 0–255 of the image (very dark photos get a hint).
    pub mean_luma: Option<f64>,
    /// Variance of the Laplacian (low = blurred).
    pub sharpness: Option<f64>,
    pub uploaded_by: Uuid,
    pub uploaded_at: DateTimeUtc,
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
