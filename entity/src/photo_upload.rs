use crate::PhotoKind;
use sea_orm::entity::prelude::*;

/// A granted upload: the client may put exactly one object at `object_key`,
/// of at most `size_bytes`, before `expires_at`; confirming turns it into a photo.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "photo_uploads")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub household_id: Uuid,
    pub practice: bool,
    pub kind: PhotoKind,
    pub object_key: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub requested_by: Uuid,
    pub expires_at: DateTimeUtc,
    pub confirmed_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
