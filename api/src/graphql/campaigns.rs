//! GraphQL for campaigns and their milestones.

use crate::{
    domain::progress::{
        campaign_or_latest, campaigns, create_campaign, create_milestone, milestones_of, progress_for,
        update_milestone, MilestoneStatus, NewCampaign,
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

pub struct CampaignNode(pub campaign::Model);

/// A verification campaign (住房安全有保障核验) of one county, with its dates and milestones.
#[Object(name = "Campaign")]
impl CampaignNode {
    /// Global ID.
    async fn id(&self) -> ID {
        ids::encode("Campaign", self.0.id)
    }
    /// Campaign name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// IANA time zone of the campaign's dates, e.g. Asia/Shanghai.
    async fn time_zone(&self) -> &str {
        &self.0.time_zone
    }
    /// First day, in the campaign's time zone.
    async fn starts_on(&self) -> NaiveDate {
        self.0.starts_on
    }
    /// Last day, in the campaign's time zone.
    async fn ends_on(&self) -> NaiveDate {
        self.0.ends_on
    }
    /// The county (县) the campaign covers.
    async fn county(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<RegionNode>> {
        Ok(ctx.loaders().regions.load_one(self.0.county_id).await?.map(Into::into))
    }
    /// The campaign's milestones (deadlines), in date order.
    async fn milestones(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<MilestoneNode>> {
        Ok(milestones_of(&ctx.state().db, &self.0, ctx.caller().now()).await?.into_iter().map(MilestoneNode).collect())
    }
    /// The county's progress in this campaign.
    async fn progress(&self, ctx: &Context<'_>) -> async_graphql::Result<ProgressNode> {
        Ok(ProgressNode(progress_for(ctx.caller(), &ctx.state().db, None, Some(self.0.id)).await?))
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
    /// End (UTC), exclusive.
    async fn ends_at(&self) -> DateTime<Utc> {
        self.0.model.ends_at
    }
    /// What the target counts.
    async fn target_metric(&self) -> MilestoneMetric {
        self.0.model.target_metric.into()
    }
    /// Percent of households that must reach `targetMetric` by `endsAt`.
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
    /// Creates a verification campaign for a county (ADMIN): another county or year.
    async fn create_campaign(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Campaign name, at most 200 characters.")] name: String,
        #[graphql(desc = "The county (县) region; must be inside the viewer's scope.")] county_id: ID,
        #[graphql(default = "Asia/Shanghai", desc = "IANA time zone of the campaign's dates.")] time_zone: String,
        #[graphql(desc = "First day, in the campaign's time zone.")] starts_on: NaiveDate,
        #[graphql(desc = "Last day, in the campaign's time zone; not before `startsOn`.")] ends_on: NaiveDate,
        #[graphql(default_with = "CampaignTemplate::None", desc = "Milestones to start with.")]
        template: CampaignTemplate,
    ) -> async_graphql::Result<CampaignNode> {
        let new = NewCampaign {
            name: &name,
            county_id: ids::decode("Region", &county_id)?,
            time_zone: &time_zone,
            starts_on,
            ends_on,
            template: template.into(),
        };
        let c = create_campaign(ctx.caller(), ctx.state(), new).await?;
        Ok(CampaignNode(c))
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
}

#[derive(Default)]
pub struct CampaignsQuery;

#[Object]
impl CampaignsQuery {
    /// Campaigns in the viewer's part of the country, newest first.
    async fn campaigns(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<CampaignNode>> {
        let viewer = ctx.viewer()?;
        Ok(campaigns(&ctx.state().db, viewer).await?.into_iter().map(CampaignNode).collect())
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
        Ok(milestones_of(db, &c, ctx.caller().now()).await?.into_iter().map(MilestoneNode).collect())
    }
}
