use crate::RegionLevel;
use sea_orm::entity::prelude::*;

/// The statistics bureau's region tree: province > city > county > township > village.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "regions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// 12-digit 统计用区划代码.
    #[sea_orm(unique)]
    pub code: String,
    pub name: String,
    pub level: RegionLevel,
    pub parent_id: Option<Uuid>,
    /// Materialised path of codes from the root, e.g. `130000000000/131100000000/131126000000/`;
    /// a subtree is a prefix match.
    pub path: String,
    /// Recorded location (village centre), used by the photo-distance check.
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(belongs_to = "Entity", from = "Column::ParentId", to = "Column::Id")]
    Parent,
}

impl ActiveModelBehavior for ActiveModel {}
