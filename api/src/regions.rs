//! The region tree (统计用区划代码): service functions and GraphQL types.

use crate::{
    auth::Viewer,
    error::{AppError, AppResult},
    graphql::CtxExt,
    households::{self, HouseholdConnection, HouseholdFilter},
    ids,
    types::RegionLevel,
};
use async_graphql::{ComplexObject, Context, Object, SimpleObject, ID};
use entity::region;
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

/// Paths of the scope region and all its ancestors (`a/`, `a/b/`, …).
pub fn ancestor_paths(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut acc = String::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        acc.push_str(part);
        acc.push('/');
        out.push(acc.clone());
    }
    out
}

/// Regions the viewer may see: their subtree, and their ancestors for breadcrumbs.
fn visible(viewer: &Viewer) -> Condition {
    Condition::any()
        .add(region::Column::Path.starts_with(&viewer.scope.path))
        .add(region::Column::Path.is_in(ancestor_paths(&viewer.scope.path)))
}

pub async fn list(
    db: &DatabaseConnection,
    viewer: &Viewer,
    level: Option<RegionLevel>,
    parent: Option<Uuid>,
) -> AppResult<Vec<region::Model>> {
    let mut q = region::Entity::find().filter(visible(viewer));
    if let Some(l) = level {
        q = q.filter(region::Column::Level.eq(entity::RegionLevel::from(l)));
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
    region::Entity::find_by_id(id).filter(visible(viewer)).one(db).await?.ok_or_else(|| AppError::not_found("region"))
}

/// A region as the API shows it.
#[derive(SimpleObject, Clone)]
#[graphql(name = "Region", complex)]
pub struct RegionNode {
    #[graphql(skip)]
    pub model: region::Model,
    /// 12-digit administrative code (统计用区划代码), e.g. 131126000000.
    pub code: String,
    pub name: String,
    pub level: RegionLevel,
}

impl From<region::Model> for RegionNode {
    fn from(m: region::Model) -> Self {
        Self { code: m.code.clone(), name: m.name.clone(), level: m.level.into(), model: m }
    }
}

#[ComplexObject]
impl RegionNode {
    pub async fn id(&self) -> ID {
        ids::encode("Region", self.model.id)
    }
    /// Recorded location of the village centre (WGS 84), when known.
    async fn latitude(&self) -> Option<f64> {
        self.model.latitude
    }
    async fn longitude(&self) -> Option<f64> {
        self.model.longitude
    }
    /// The region above; null at the top, or above what the viewer may see.
    async fn parent(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<RegionNode>> {
        let viewer = ctx.viewer()?;
        let Some(pid) = self.model.parent_id else { return Ok(None) };
        let parent = ctx.loaders().regions.load_one(pid).await?;
        Ok(parent.filter(|p| viewer.can_see_region(p)).map(Into::into))
    }
    /// The regions directly below, ordered by code.
    async fn children(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<RegionNode>> {
        let viewer = ctx.viewer()?;
        Ok(list(&ctx.state().db, viewer, None, Some(self.model.id)).await?.into_iter().map(Into::into).collect())
    }
    /// Progress of this region in a campaign (default: the newest).
    async fn progress(
        &self,
        ctx: &Context<'_>,
        campaign_id: Option<ID>,
    ) -> async_graphql::Result<crate::progress::ProgressNode> {
        let viewer = ctx.viewer()?;
        let c = campaign_id.as_ref().map(|c| ids::decode("Campaign", c)).transpose()?;
        Ok(crate::progress::progress_for(&ctx.state().db, viewer, Some(self.model.id), c).await?)
    }
    /// Households in this region's subtree that the viewer may see.
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity + 2")]
    async fn households(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<HouseholdFilter>,
    ) -> async_graphql::Result<HouseholdConnection> {
        let viewer = ctx.viewer()?;
        let mut filter = filter.unwrap_or_default();
        filter.region_id = Some(ids::encode("Region", self.model.id));
        Ok(households::connection(ctx, viewer, first, after, filter).await?)
    }
}

#[derive(Default)]
pub struct RegionsQuery;

#[Object]
impl RegionsQuery {
    /// Regions the viewer may see (their own subtree and its ancestors), by code.
    async fn regions(
        &self,
        ctx: &Context<'_>,
        level: Option<RegionLevel>,
        parent_id: Option<ID>,
    ) -> async_graphql::Result<Vec<RegionNode>> {
        let viewer = ctx.viewer()?;
        let parent = parent_id.as_ref().map(|p| ids::decode("Region", p)).transpose()?;
        Ok(list(&ctx.state().db, viewer, level, parent).await?.into_iter().map(Into::into).collect())
    }

    /// One region; NOT_FOUND when it does not exist or is outside the viewer's view.
    async fn region(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<RegionNode>> {
        let viewer = ctx.viewer()?;
        Ok(Some(get(&ctx.state().db, viewer, ids::decode("Region", &id)?).await?.into()))
    }
}
