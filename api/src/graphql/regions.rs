//! GraphQL for the region tree: a region, its parent and children, its
//! households and its progress.

use crate::{
    domain::{
        progress::progress_for,
        regions::{get, list},
    },
    graphql::{
        enums::RegionLevel,
        households::{self, HouseholdConnection, HouseholdFilter},
        ids,
        nested::{self, PageArgs, RegionPageKey},
        progress::ProgressNode,
        CtxExt,
    },
};
use async_graphql::{ComplexObject, Context, Object, SimpleObject, ID};
use entity::region;
use std::sync::Arc;

/// A region as the API shows it.
#[derive(SimpleObject, Clone)]
#[graphql(name = "Region", complex)]
pub struct RegionNode {
    #[graphql(skip)]
    pub model: region::Model,
    /// 12-digit administrative code (统计用区划代码), e.g. 131126000000.
    pub code: String,
    /// Official name, e.g. 郑口镇.
    pub name: String,
    /// Administrative level.
    pub level: RegionLevel,
}

impl From<region::Model> for RegionNode {
    fn from(m: region::Model) -> Self {
        Self { code: m.code.clone(), name: m.name.clone(), level: m.level.into(), model: m }
    }
}

#[ComplexObject]
impl RegionNode {
    /// Global ID.
    pub async fn id(&self) -> ID {
        ids::encode("Region", self.model.id)
    }
    /// Recorded location of the village centre (WGS 84), when known.
    async fn latitude(&self) -> Option<f64> {
        self.model.latitude
    }
    /// Longitude of the same point (WGS 84), when known.
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
        ctx.viewer()?;
        let found = ctx.loaders().children.load_one(self.model.id).await?.unwrap_or_default();
        nested::prefetch_regions(ctx, found.clone(), ctx.look_ahead()).await?;
        Ok(found.into_iter().map(Into::into).collect())
    }
    /// Progress of this region in a campaign (default: the newest).
    async fn progress(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The campaign (default: the newest).")] campaign_id: Option<ID>,
    ) -> async_graphql::Result<ProgressNode> {
        let c = campaign_id.as_ref().map(|c| ids::decode("Campaign", c)).transpose()?;
        Ok(ProgressNode(progress_for(ctx.caller(), &ctx.state().db, Some(self.model.id), c).await?))
    }
    /// Households in this region's subtree that the viewer may see.
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity + 2")]
    async fn households(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 0–500 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor: the `endCursor` of the previous page.")] after: Option<String>,
        #[graphql(desc = "Which households; default: all in the subtree.")] filter: Option<HouseholdFilter>,
    ) -> async_graphql::Result<HouseholdConnection> {
        ctx.viewer()?;
        let args = PageArgs::new(first, after, filter, nested::want(&ctx.look_ahead()))?;
        let after = args.after.is_some();
        let key = RegionPageKey { region: Arc::new(self.model.clone()), args: Arc::new(args) };
        let page = ctx.loaders().region_households.load_one(key).await?.unwrap_or_default();
        Ok(households::page_connection(ctx, after, page).await?)
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
        #[graphql(desc = "Only this level.")] level: Option<RegionLevel>,
        #[graphql(desc = "Only the regions directly below this one.")] parent_id: Option<ID>,
    ) -> async_graphql::Result<Vec<RegionNode>> {
        let parent = parent_id.as_ref().map(|p| ids::decode("Region", p)).transpose()?;
        let found = list(ctx.caller(), &ctx.state().db, level.map(Into::into), parent).await?;
        nested::prefetch_regions(ctx, found.clone(), ctx.look_ahead()).await?;
        Ok(found.into_iter().map(Into::into).collect())
    }

    /// One region; NOT_FOUND when it does not exist or is outside the viewer's view.
    async fn region(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The region's global ID.")] id: ID,
    ) -> async_graphql::Result<Option<RegionNode>> {
        let viewer = ctx.viewer()?;
        Ok(Some(get(&ctx.state().db, viewer, ids::decode("Region", &id)?).await?.into()))
    }
}
