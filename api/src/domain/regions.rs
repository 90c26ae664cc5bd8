//! The region tree (统计用区划代码): what a viewer may see of it, lookups,
//! ancestors and subtrees.

use crate::domain::error::key;
use crate::domain::{
    auth::Viewer,
    ctx::Ctx,
    error::{AppError, AppResult},
};
use entity::{region, RegionLevel};
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

/// Paths of the scope region and all its ancestors: the nation (``, when the
/// tree has one), then `a/`, `a/b/`, ….
pub fn ancestor_paths(path: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut acc = String::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        acc.push_str(part);
        acc.push('/');
        out.push(acc.clone());
    }
    out
}

/// Regions the viewer may see: their subtree, and their ancestors for breadcrumbs.
pub(crate) fn visible(viewer: &Viewer) -> Condition {
    Condition::any()
        .add(region::Column::Path.starts_with(&viewer.scope.path))
        .add(region::Column::Path.is_in(ancestor_paths(&viewer.scope.path)))
}

pub async fn list(
    ctx: &Ctx,
    db: &DatabaseConnection,
    level: Option<RegionLevel>,
    parent: Option<Uuid>,
) -> AppResult<Vec<region::Model>> {
    let mut q = region::Entity::find().filter(visible(ctx.viewer()?));
    if let Some(l) = level {
        q = q.filter(region::Column::Level.eq(l));
    }
    if let Some(p) = parent {
        q = q.filter(region::Column::ParentId.eq(p));
    }
    Ok(q.order_by_asc(region::Column::Code).all(db).await?)
}

/// IDs of a region and everything below it (for change notifications).
pub async fn subtree_ids(db: &DatabaseConnection, r: &region::Model) -> AppResult<Vec<Uuid>> {
    use sea_orm::QuerySelect;
    Ok(region::Entity::find()
        .select_only()
        .column(region::Column::Id)
        .filter(region::Column::Path.starts_with(&r.path))
        .into_tuple()
        .all(db)
        .await?)
}

pub async fn get(db: &DatabaseConnection, viewer: &Viewer, id: Uuid) -> AppResult<region::Model> {
    region::Entity::find_by_id(id)
        .filter(visible(viewer))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found(key::THING_REGION))
}
