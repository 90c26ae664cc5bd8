//! GraphQL for progress boards: a region's figures, milestones seen from it,
//! who is behind pace, and the burn-up series.

use crate::{
    domain::progress::{self as progress, behind_pace, progress_for, series, Board, PATHS, STATUSES},
    graphql::{
        enums::{MilestoneState, SafetyPath, VerificationStatus},
        ids,
        regions::RegionNode,
        CtxExt,
    },
};
use async_graphql::{Context, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

/// A board; its figures come from the domain's `Board`.
pub struct ProgressNode(pub Board);

impl std::ops::Deref for ProgressNode {
    type Target = Board;
    fn deref(&self) -> &Board {
        &self.0
    }
}

/// A milestone seen from one region.
#[derive(SimpleObject)]
pub struct MilestoneProgress {
    /// The milestone's global ID.
    pub milestone_id: ID,
    /// TRAINING, VERIFICATION, LOOK_BACK or a custom kind.
    pub kind: String,
    /// Title for people.
    pub title: String,
    /// End of the window (UTC), exclusive.
    pub ends_at: DateTime<Utc>,
    /// State for this region now.
    pub state: MilestoneState,
    /// Percent of this region's households reaching the milestone's metric (null for NONE).
    pub actual_percent: Option<f64>,
    /// Percent expected by now, pro rata over the milestone's window.
    pub expected_percent: f64,
    /// When the target will be reached at the pace since the milestone started (null when reached or no pace yet).
    pub projected_completion: Option<DateTime<Utc>>,
}

/// Households in one verification status.
#[derive(SimpleObject)]
pub struct StatusCount {
    /// The status.
    pub status: VerificationStatus,
    /// Households in it.
    pub count: u64,
}

/// Households on one safety path.
#[derive(SimpleObject)]
pub struct PathCount {
    /// The safety path.
    pub path: SafetyPath,
    /// Households on it.
    pub count: u64,
}

/// One bucket of the burn-up chart: cumulative households submitted and approved by `at`.
#[derive(SimpleObject)]
pub struct ProgressPoint {
    /// Start of the bucket (UTC); buckets are days or hours in the campaign's time zone.
    pub at: DateTime<Utc>,
    /// The bucket's label in the campaign's time zone, e.g. 2020-05-17 or 2020-05-17 14:00.
    pub label: String,
    /// Households first submitted by the end of the bucket, cumulative.
    pub submitted: u64,
    /// Households first approved by the end of the bucket, cumulative.
    pub approved: u64,
}
crate::graphql::enums::api_enum!(
    /// Size of a burn-up bucket, in the campaign's time zone.
    Bucket <=> progress::Bucket {
        /// One point per day.
        Day,
        /// One point per hour.
        Hour,
    }
);

/// A progress board: a region's verification figures in a campaign, against its milestones.
#[Object(name = "Progress")]
impl ProgressNode {
    /// The region the figures are for.
    async fn region(&self) -> RegionNode {
        self.region.clone().into()
    }
    /// The campaign's global ID.
    async fn campaign_id(&self) -> ID {
        ids::encode("Campaign", self.campaign.id)
    }
    /// Registered households in the region (practice entries never count anywhere here).
    async fn households(&self) -> u64 {
        self.figures.get("households")
    }
    /// Households by verification status.
    async fn by_status(&self) -> Vec<StatusCount> {
        STATUSES
            .iter()
            .map(|s| StatusCount { status: (*s).into(), count: self.figures.get(&format!("status:{}", s.as_str())) })
            .collect()
    }
    /// By the path chosen in the verification.
    async fn by_path(&self) -> Vec<PathCount> {
        PATHS
            .iter()
            .map(|p| PathCount { path: (*p).into(), count: self.figures.get(&format!("path:{}", p.as_str())) })
            .collect()
    }
    /// By the path the reference data points to.
    async fn by_expected_path(&self) -> Vec<PathCount> {
        PATHS
            .iter()
            .map(|p| PathCount { path: (*p).into(), count: self.figures.get(&format!("expected:{}", p.as_str())) })
            .collect()
    }
    /// Open ERROR findings.
    async fn open_errors(&self) -> u64 {
        self.figures.get("errors")
    }
    /// Open WARNING findings.
    async fn open_warnings(&self) -> u64 {
        self.figures.get("warnings")
    }
    /// Households submitted or further (submitted, approved, reopened).
    async fn submitted(&self) -> u64 {
        self.figures.counts().submitted
    }
    /// Households approved (已核准).
    async fn approved(&self) -> u64 {
        self.figures.counts().approved
    }
    /// Percent, 0–100, two decimals.
    async fn submitted_percent(&self) -> f64 {
        self.percent(self.figures.counts().submitted)
    }
    /// Approved households as a percent of `households`, 0–100, two decimals.
    async fn approved_percent(&self) -> f64 {
        self.percent(self.figures.counts().approved)
    }
    /// Each milestone as seen from this region: state, expected vs actual, projected finish.
    async fn milestones(&self, ctx: &Context<'_>) -> Vec<MilestoneProgress> {
        self.milestone_progress(ctx.caller().now())
            .into_iter()
            .map(|p| MilestoneProgress {
                milestone_id: ids::encode("Milestone", p.milestone.id),
                kind: p.milestone.kind,
                title: p.milestone.title,
                ends_at: p.milestone.ends_at,
                state: p.state.into(),
                actual_percent: p.actual_percent,
                expected_percent: p.expected_percent,
                projected_completion: p.projected_completion,
            })
            .collect()
    }
    /// Percentage points this region is behind the current milestone's expected line (negative: ahead).
    async fn behind_by(&self, ctx: &Context<'_>) -> f64 {
        (self.gap(ctx.caller().now()) * 100.0).round() / 100.0
    }
    /// The regions directly below that are behind pace, worst first.
    async fn behind_pace(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10, desc = "How many regions at most.")] first: i32,
    ) -> async_graphql::Result<Vec<ProgressNode>> {
        let rows = behind_pace(&ctx.state().db, &self.0, first, ctx.caller().now()).await?;
        Ok(rows.into_iter().map(ProgressNode).collect())
    }
    /// Burn-up: cumulative households first submitted and first approved, per day
    /// (or hour) in the campaign's time zone, from the audit trail.
    async fn series(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Bucket::Day", desc = "Days (default) or hours.")] bucket: Bucket,
    ) -> async_graphql::Result<Vec<ProgressPoint>> {
        Ok(series(&ctx.state().db, &self.0, bucket.into())
            .await?
            .into_iter()
            .map(|p| ProgressPoint { at: p.at, label: p.label, submitted: p.submitted, approved: p.approved })
            .collect())
    }
}

#[derive(Default)]
pub struct ProgressBoardQuery;

#[Object]
impl ProgressBoardQuery {
    /// Progress of a region (default: the viewer's own) in a campaign (default: the newest).
    async fn progress(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The region (default: the viewer's own).")] region_id: Option<ID>,
        #[graphql(desc = "The campaign (default: the newest).")] campaign_id: Option<ID>,
    ) -> async_graphql::Result<ProgressNode> {
        let r = region_id.as_ref().map(|r| ids::decode("Region", r)).transpose()?;
        let c = campaign_id.as_ref().map(|c| ids::decode("Campaign", c)).transpose()?;
        Ok(ProgressNode(progress_for(ctx.caller(), &ctx.state().db, r, c).await?))
    }
}
