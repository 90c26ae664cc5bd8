//! GraphQL for campaigns and their milestones.

use crate::{
    domain::progress::{
        campaign_or_latest, campaigns, counties_of, county_of, create_campaign, create_milestone, has_joined,
        join_campaign, milestone_rights, milestones_of, progress_for, tighten_milestone, update_milestone,
        MilestoneStatus, NewCampaign,
    },
    graphql::{
        enums::{MilestoneMetric, MilestoneState},
        ids,
        progress::ProgressNode,
        regions::RegionNode,
        CtxExt,
    },
};
use async_graphql::{Context, Object, ID};
use chrono::{DateTime, NaiveDate, Utc};
use entity::campaign;

crate::graphql::enums::api_enum!(
    /// The milestones a new campaign starts with: NONE, or PILOT_2020 (training
    /// days 1–2, household verification days 2–6, look-back review days 7–8,
    /// counted from the campaign's first day in its time zone).
    CampaignTemplate <=> crate::domain::progress::CampaignTemplate {
        /// No milestones; add them with `createMilestone`.
        None,
        /// The 2020 pilot's three: training (动员培训), household verification (逐户核验), look-back review (回头看).
        Pilot2020,
    }
);

pub struct CampaignNode {
    pub model: campaign::Model,
    /// What the viewer may do with its milestones (edit, tighten): read once
    /// for both fields.
    rights: tokio::sync::OnceCell<(bool, bool)>,
}

impl From<campaign::Model> for CampaignNode {
    fn from(model: campaign::Model) -> Self {
        Self { model, rights: tokio::sync::OnceCell::new() }
    }
}

impl CampaignNode {
    async fn rights(&self, ctx: &Context<'_>) -> async_graphql::Result<(bool, bool)> {
        let db = &ctx.state().db;
        let viewer = ctx.viewer()?;
        Ok(*self.rights.get_or_try_init(|| milestone_rights(db, viewer, &self.model)).await?)
    }
}

/// A verification campaign (住房安全有保障核验) over a region (a county, a city,
/// a province or the nation), with its dates, milestones and the counties taking part.
#[Object(name = "Campaign")]
impl CampaignNode {
    /// Global ID.
    async fn id(&self) -> ID {
        ids::encode("Campaign", self.model.id)
    }
    /// Campaign name.
    async fn name(&self) -> &str {
        &self.model.name
    }
    /// IANA time zone of the campaign's dates, e.g. Asia/Shanghai.
    async fn time_zone(&self) -> &str {
        &self.model.time_zone
    }
    /// First day, in the campaign's time zone.
    async fn starts_on(&self) -> NaiveDate {
        self.model.starts_on
    }
    /// Last day, in the campaign's time zone.
    async fn ends_on(&self) -> NaiveDate {
        self.model.ends_on
    }
    /// The region the campaign covers: a county, a city, a province or the nation.
    async fn region(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<RegionNode>> {
        Ok(ctx.loaders().regions.load_one(self.model.region_id).await?.map(Into::into))
    }
    /// The county (县) of a county's own campaign; null for a campaign above the county.
    #[graphql(deprecation = "Use `region`, which every campaign has.")]
    async fn county(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<RegionNode>> {
        let r = ctx.loaders().regions.load_one(self.model.region_id).await?;
        Ok(r.filter(|r| r.level == entity::RegionLevel::County).map(Into::into))
    }
    /// The counties taking part that the viewer may see, by code.
    async fn counties(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<RegionNode>> {
        let viewer = ctx.viewer()?;
        let all = counties_of(&ctx.state().db, self.model.id).await?;
        Ok(all.into_iter().filter(|r| viewer.can_see_region(r)).map(Into::into).collect())
    }
    /// Whether the viewer's county takes part (null for viewers above the county).
    async fn joined(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<bool>> {
        let db = &ctx.state().db;
        match county_of(db, ctx.viewer()?).await? {
            Some(county) => Ok(Some(has_joined(db, self.model.id, county.id).await?)),
            None => Ok(None),
        }
    }
    /// Whether the viewer may edit the milestones (`updateMilestone`, `createMilestone`):
    /// an ADMIN of the campaign's region or above.
    async fn can_edit_milestones(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        Ok(self.rights(ctx).await?.0)
    }
    /// Whether the viewer may tighten the milestones for their region (`tightenMilestone`):
    /// an ADMIN of a region below the campaign's, a county once it has joined.
    async fn can_tighten_milestones(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        Ok(self.rights(ctx).await?.1)
    }
    /// The milestones (deadlines) in date order, as they hold for the viewer's
    /// region (a county's tightening included).
    async fn milestones(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<MilestoneNode>> {
        let (db, viewer) = (&ctx.state().db, ctx.viewer()?);
        Ok(milestones_of(db, viewer, &self.model, ctx.caller().now()).await?.into_iter().map(MilestoneNode).collect())
    }
    /// Progress in this campaign of the viewer's region (or of the campaign's, for viewers above it).
    async fn progress(&self, ctx: &Context<'_>) -> async_graphql::Result<ProgressNode> {
        Ok(ProgressNode(progress_for(ctx.caller(), &ctx.state().db, None, Some(self.model.id)).await?))
    }
}

/// A deadline of the campaign.
pub struct MilestoneNode(pub MilestoneStatus);

/// A deadline of a campaign: a window and the share of households to reach by its end.
#[Object(name = "Milestone")]
impl MilestoneNode {
    /// Global ID.
    async fn id(&self) -> ID {
        ids::encode("Milestone", self.0.model.id)
    }
    /// TRAINING, VERIFICATION, LOOK_BACK or a custom kind.
    async fn kind(&self) -> &str {
        &self.0.model.kind
    }
    /// Title for people, e.g. 逐户核验 Household verification.
    async fn title(&self) -> &str {
        &self.0.model.title
    }
    /// Start (UTC; the campaign's time zone says how people read it).
    async fn starts_at(&self) -> DateTime<Utc> {
        self.0.model.starts_at
    }
    /// End (UTC), exclusive, as it holds for the region viewed (a tightening included).
    async fn ends_at(&self) -> DateTime<Utc> {
        self.0.model.ends_at
    }
    /// End (UTC) the campaign itself set; a lower level may only move it earlier.
    async fn campaign_ends_at(&self) -> DateTime<Utc> {
        self.0.base_ends_at
    }
    /// Target percent the campaign itself set; a lower level may only raise it.
    async fn campaign_target_percent(&self) -> f64 {
        self.0.base_target_percent
    }
    /// The region whose tightening (earlier end, higher target) is in force; null when none.
    async fn tightened_in(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<RegionNode>> {
        let Some(id) = self.0.tightened_in else { return Ok(None) };
        Ok(ctx.loaders().regions.load_one(id).await?.map(Into::into))
    }
    /// What the target counts.
    async fn target_metric(&self) -> MilestoneMetric {
        self.0.model.target_metric.into()
    }
    /// Percent of households that must reach `targetMetric` by `endsAt`, as it holds for the region viewed.
    async fn target_percent(&self) -> f64 {
        self.0.model.target_percent
    }
    /// State now: UPCOMING, ACTIVE, MET, MISSED or AT_RISK (behind pro-rata pace).
    async fn state(&self) -> MilestoneState {
        self.0.state.into()
    }
    /// Percent of the campaign's households reaching the metric now (null for NONE).
    async fn actual_percent(&self) -> Option<f64> {
        self.0.actual
    }
    /// Percent expected by now, pro rata over the window.
    async fn expected_percent(&self) -> f64 {
        self.0.expected
    }
}

#[derive(Default)]
pub struct CampaignsMutation;

#[Object]
impl CampaignsMutation {
    /// Creates a verification campaign (ADMIN) over a region in the viewer's
    /// scope: a county's own (its county takes part at once), or a city's,
    /// province's or the nation's, which counties then join with `joinCampaign`.
    #[allow(clippy::too_many_arguments)]
    async fn create_campaign(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Campaign name, at most 200 characters.")] name: String,
        #[graphql(desc = "The region covered (county, city, province or nation); inside the viewer's scope.")]
        region_id: Option<ID>,
        #[graphql(
            desc = "The county covered; the older name of `regionId`.",
            deprecation = "Use `regionId`, which takes a region of any level."
        )]
        county_id: Option<ID>,
        #[graphql(default = "Asia/Shanghai", desc = "IANA time zone of the campaign's dates.")] time_zone: String,
        #[graphql(desc = "First day, in the campaign's time zone.")] starts_on: NaiveDate,
        #[graphql(desc = "Last day, in the campaign's time zone; not before `startsOn`.")] ends_on: NaiveDate,
        #[graphql(default_with = "CampaignTemplate::None", desc = "Milestones to start with.")]
        template: CampaignTemplate,
    ) -> async_graphql::Result<CampaignNode> {
        let region = match (region_id, county_id) {
            (Some(r), None) | (None, Some(r)) => ids::decode("Region", &r)?,
            _ => {
                use crate::domain::error::{msg, AppError};
                return Err(AppError::validation("regionId", msg!(CAMPAIGN_ONE_REGION)).into());
            }
        };
        let new = NewCampaign {
            name: &name,
            region_id: region,
            time_zone: &time_zone,
            starts_on,
            ends_on,
            template: template.into(),
        };
        let c = create_campaign(ctx.caller(), ctx.state(), new).await?;
        Ok(c.into())
    }

    /// Adds a milestone to a campaign (ADMIN): kind, window and the target it measures.
    #[allow(clippy::too_many_arguments)]
    async fn create_milestone(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The campaign to add it to.")] campaign_id: ID,
        #[graphql(desc = "TRAINING, VERIFICATION, LOOK_BACK or a custom kind (A–Z and _).")] kind: String,
        #[graphql(desc = "Title for people, at most 200 characters.")] title: String,
        #[graphql(desc = "Start of the window (UTC).")] starts_at: DateTime<Utc>,
        #[graphql(desc = "End of the window (UTC), exclusive; after `startsAt`.")] ends_at: DateTime<Utc>,
        #[graphql(desc = "What the target counts.")] target_metric: MilestoneMetric,
        #[graphql(default = 100.0, desc = "Percent of households (0–100) to reach the metric by `endsAt`.")]
        target_percent: f64,
    ) -> async_graphql::Result<MilestoneNode> {
        let m = create_milestone(
            ctx.caller(),
            ctx.state(),
            ids::decode("Campaign", &campaign_id)?,
            &kind,
            &title,
            starts_at,
            ends_at,
            target_metric.into(),
            target_percent,
        )
        .await?;
        Ok(MilestoneNode(m))
    }

    /// Edits or extends a milestone (ADMIN). Extending the look-back review reopens submissions.
    async fn update_milestone(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The milestone to change.")] id: ID,
        #[graphql(desc = "New title; unchanged when null.")] title: Option<String>,
        #[graphql(desc = "New start (UTC); unchanged when null.")] starts_at: Option<DateTime<Utc>>,
        #[graphql(desc = "New end (UTC), exclusive; unchanged when null.")] ends_at: Option<DateTime<Utc>>,
        #[graphql(desc = "New target percent (0–100); unchanged when null.")] target_percent: Option<f64>,
    ) -> async_graphql::Result<MilestoneNode> {
        let m = update_milestone(
            ctx.caller(),
            ctx.state(),
            ids::decode("Milestone", &id)?,
            title,
            starts_at,
            ends_at,
            target_percent,
        )
        .await?;
        Ok(MilestoneNode(m))
    }

    /// The viewer's county takes part in a campaign of a region above it
    /// (county ADMIN); it can then import its lists and work in it. Joining
    /// again changes nothing.
    async fn join_campaign(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A campaign of the county's city, province or the nation.")] campaign_id: ID,
    ) -> async_graphql::Result<CampaignNode> {
        Ok(join_campaign(ctx.caller(), ctx.state(), ids::decode("Campaign", &campaign_id)?).await?.into())
    }

    /// Tightens a milestone for the viewer's own region and everything below it
    /// (ADMIN of a region inside the campaign's): an earlier end, a higher target,
    /// or both. Never looser than the levels above (VALIDATION on `endsAt` or
    /// `targetPercent`); setting it again replaces the region's earlier tightening.
    async fn tighten_milestone(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The milestone to tighten.")] id: ID,
        #[graphql(desc = "End (UTC), exclusive, no later than the level above sets; unchanged when null.")]
        ends_at: Option<DateTime<Utc>>,
        #[graphql(desc = "Target percent, no lower than the level above sets and at most 100; unchanged when null.")]
        target_percent: Option<f64>,
    ) -> async_graphql::Result<MilestoneNode> {
        let id = ids::decode("Milestone", &id)?;
        Ok(MilestoneNode(tighten_milestone(ctx.caller(), ctx.state(), id, ends_at, target_percent).await?))
    }
}

#[derive(Default)]
pub struct CampaignsQuery;

#[Object]
impl CampaignsQuery {
    /// Campaigns in the viewer's part of the country, newest first.
    async fn campaigns(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<CampaignNode>> {
        let viewer = ctx.viewer()?;
        Ok(campaigns(&ctx.state().db, viewer).await?.into_iter().map(CampaignNode::from).collect())
    }

    /// Milestones of a campaign (default: the newest campaign), in date order.
    async fn milestones(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The campaign; default: the newest one the viewer sees.")] campaign_id: Option<ID>,
    ) -> async_graphql::Result<Vec<MilestoneNode>> {
        let viewer = ctx.viewer()?;
        let id = campaign_id.as_ref().map(|c| ids::decode("Campaign", c)).transpose()?;
        let db = &ctx.state().db;
        let c = campaign_or_latest(db, viewer, id).await?;
        Ok(milestones_of(db, viewer, &c, ctx.caller().now()).await?.into_iter().map(MilestoneNode).collect())
    }
}
