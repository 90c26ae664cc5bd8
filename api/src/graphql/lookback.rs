//! GraphQL for the look-back review: samples, their items, and recording results.

use crate::{
    domain::{
        error::AppResult,
        lookback::{draw, my_items, record, samples, status_counts, visible_items, DrawSpec},
    },
    graphql::{accounts::AccountNode, households::HouseholdNode, ids, imports::RuleTally, regions::RegionNode, CtxExt},
};
use async_graphql::{Context, Object, ID};
use chrono::{DateTime, Utc};
use entity::lookback::{item, sample};

pub struct LookBackSampleNode(pub sample::Model);

/// A drawn look-back (回头看) sample and its progress.
#[Object(name = "LookBackSample")]
impl LookBackSampleNode {
    /// Global ID.
    async fn id(&self) -> ID {
        ids::encode("LookBackSample", self.0.id)
    }
    /// The region it was drawn under.
    async fn region(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<RegionNode>> {
        Ok(ctx.loaders().regions.load_one(self.0.region_id).await?.map(Into::into))
    }
    /// Random seed: the same seed over the same records draws the same sample.
    async fn seed(&self) -> i64 {
        self.0.seed
    }
    /// Percent of approved households drawn per township.
    async fn percent(&self) -> f64 {
        self.0.percent
    }
    /// Fewest households drawn per village.
    async fn min_per_village(&self) -> i32 {
        self.0.min_per_village
    }
    /// When it was drawn.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The sampled households in the viewer's region, with their checker and result.
    async fn items(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<LookBackItemNode>> {
        Ok(visible_items(ctx.caller(), &ctx.state().db, self.0.id).await?.into_iter().map(LookBackItemNode).collect())
    }
    /// Items in the viewer's region by status: PENDING, AGREES, DISAGREES.
    async fn counts(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<RuleTally>> {
        let by = status_counts(ctx.caller(), &ctx.state().db, self.0.id).await?;
        Ok(by.into_iter().map(|(rule, count)| RuleTally { rule, count }).collect())
    }
}

pub struct LookBackItemNode(pub item::Model);

/// One household to re-check.
#[Object(name = "LookBackItem")]
impl LookBackItemNode {
    /// Global ID.
    async fn id(&self) -> ID {
        ids::encode("LookBackItem", self.0.id)
    }
    /// PENDING, AGREES or DISAGREES.
    async fn status(&self) -> &str {
        &self.0.status
    }
    /// Free text; withheld from SUPERVISOR accounts and API tokens.
    async fn notes(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        let p = ctx.privacy()?;
        Ok(self.0.notes.as_deref().map(|n| p.text(n).into_owned()))
    }
    /// When the result was recorded; null while pending.
    async fn checked_at(&self) -> Option<DateTime<Utc>> {
        self.0.checked_at
    }
    /// The account that re-checks it.
    async fn assigned_to(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<AccountNode>> {
        AccountNode::load(ctx, Some(self.0.assigned_to)).await
    }
    /// The household (null if outside the viewer's region).
    async fn household(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<HouseholdNode>> {
        let viewer = ctx.viewer()?;
        Ok(ctx.loaders().households.load_one(self.0.household_id).await?.map(|h| HouseholdNode::new(h, viewer)))
    }
}

#[derive(Default)]
pub struct LookBackQuery;
#[Object]
impl LookBackQuery {
    /// Look-back samples drawn in the viewer's region (ADMIN, TOWNSHIP), newest first.
    async fn look_back_samples(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<LookBackSampleNode>> {
        Ok(samples(ctx.caller(), &ctx.state().db).await?.into_iter().map(LookBackSampleNode).collect())
    }

    /// Re-checks assigned to the viewer, pending first.
    async fn my_look_back_items(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<LookBackItemNode>> {
        Ok(my_items(ctx.caller(), &ctx.state().db).await?.into_iter().map(LookBackItemNode).collect())
    }
}

#[derive(Default)]
pub struct LookBackMutation;

#[Object]
impl LookBackMutation {
    /// Draws a reproducible sample of approved households under a region for an
    /// independent re-check (ADMIN): `percent` per township, at least
    /// `minPerVillage` per village, assigned round-robin to `checkerIds`, never
    /// to the person who entered the record.
    #[allow(clippy::too_many_arguments)]
    async fn draw_look_back_sample(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Draw among approved households under this region.")] region_id: ID,
        #[graphql(desc = "The campaign (default: the newest).")] campaign_id: Option<ID>,
        #[graphql(desc = "Percent of approved households to draw per township.")] percent: f64,
        #[graphql(default = 1, desc = "Fewest households to draw per village.")] min_per_village: i32,
        #[graphql(desc = "Random seed; the same seed draws the same sample.")] seed: i64,
        #[graphql(desc = "Accounts that do the re-checks, assigned in turn.")] checker_ids: Vec<ID>,
    ) -> async_graphql::Result<LookBackSampleNode> {
        let spec = DrawSpec {
            region_id: ids::decode("Region", &region_id)?,
            campaign_id: campaign_id.as_ref().map(|c| ids::decode("Campaign", c)).transpose()?,
            percent,
            min_per_village,
            seed,
            checker_ids: checker_ids.iter().map(|c| ids::decode("Account", c)).collect::<AppResult<Vec<_>>>()?,
        };
        let s = draw(ctx.caller(), ctx.state(), spec).await?;
        Ok(LookBackSampleNode(s))
    }

    /// Records the result of a re-check assigned to the viewer. A disagreement
    /// (with notes) opens a LOOK_BACK finding on the household.
    async fn record_look_back_result(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The look-back item.")] item_id: ID,
        #[graphql(desc = "Whether the record agrees with what the re-check found.")] agrees: bool,
        #[graphql(desc = "What was found; needed when it disagrees.")] notes: Option<String>,
    ) -> async_graphql::Result<LookBackItemNode> {
        let it = record(ctx.caller(), ctx.state(), ids::decode("LookBackItem", &item_id)?, agrees, notes).await?;
        Ok(LookBackItemNode(it))
    }
}
