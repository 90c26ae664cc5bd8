//! Campaigns, their deadline milestones, and progress against them.

use crate::{
    auth::Viewer,
    error::{AppError, AppResult},
    graphql::CtxExt,
    ids,
    regions::RegionNode,
    types::{MilestoneMetric, MilestoneState},
};
use async_graphql::{Context, Object, ID};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{campaign, milestone, region};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect,
    RelationTrait,
};
use uuid::Uuid;

/// Campaigns whose county the viewer can see (inside or above their scope).
pub async fn campaigns(db: &DatabaseConnection, viewer: &Viewer) -> AppResult<Vec<campaign::Model>> {
    let scope = &viewer.scope.path;
    let rows = campaign::Entity::find()
        .join(JoinType::InnerJoin, campaign::Relation::County.def())
        .filter(
            Condition::any()
                .add(region::Column::Path.starts_with(scope))
                // the county is an ancestor of (or is) the viewer's region
                .add(region::Column::Path.is_in(crate::regions::ancestor_paths(scope))),
        )
        .order_by_desc(campaign::Column::StartsOn)
        .all(db)
        .await?;
    Ok(rows)
}

/// The given campaign if visible, else the most recent visible one.
pub async fn campaign_or_latest(
    db: &DatabaseConnection,
    viewer: &Viewer,
    id: Option<Uuid>,
) -> AppResult<campaign::Model> {
    let all = campaigns(db, viewer).await?;
    match id {
        Some(id) => all.into_iter().find(|c| c.id == id).ok_or_else(|| AppError::not_found("campaign")),
        None => all.into_iter().next().ok_or_else(|| AppError::NotFound("No campaign is set up yet.".into())),
    }
}

/// Households in a campaign and how many have reached each milestone metric
/// (practice entries never count).
pub struct CampaignCounts {
    pub households: u64,
    pub submitted: u64,
    pub approved: u64,
}

/// A campaign's figures for its whole county, from the counters.
pub async fn campaign_counts(db: &DatabaseConnection, campaign_id: Uuid) -> AppResult<CampaignCounts> {
    let Some(c) = campaign::Entity::find_by_id(campaign_id).one(db).await? else {
        return Ok(CampaignCounts { households: 0, submitted: 0, approved: 0 });
    };
    let figures = crate::counters::read(db, campaign_id, &[c.county_id]).await?;
    Ok(Figures(figures.get(&c.county_id).cloned().unwrap_or_default()).counts())
}

/// One region's counters.
#[derive(Clone, Debug, Default)]
pub struct Figures(pub std::collections::HashMap<String, i64>);

impl Figures {
    pub fn get(&self, k: &str) -> u64 {
        self.0.get(k).copied().unwrap_or(0).max(0) as u64
    }
    /// Submitted counts every record past submission (submitted, approved, reopened).
    pub fn counts(&self) -> CampaignCounts {
        CampaignCounts {
            households: self.get("households"),
            submitted: self.get("status:SUBMITTED") + self.get("status:APPROVED") + self.get("status:REOPENED"),
            approved: self.get("status:APPROVED"),
        }
    }
}

/// Percent of households reaching the milestone's metric.
pub fn actual_percent(metric: entity::MilestoneMetric, c: &CampaignCounts) -> Option<f64> {
    let n = match metric {
        entity::MilestoneMetric::None => return None,
        entity::MilestoneMetric::Submitted => c.submitted,
        entity::MilestoneMetric::Approved => c.approved,
    };
    Some(if c.households == 0 { 100.0 } else { n as f64 * 100.0 / c.households as f64 })
}

/// Expected percent by `now`, pro rata over the milestone's window.
pub fn expected_percent(m: &milestone::Model, now: DateTime<Utc>) -> f64 {
    let span = (m.ends_at - m.starts_at).num_seconds().max(1) as f64;
    let done = (now - m.starts_at).num_seconds().clamp(0, span as i64) as f64;
    m.target_percent * done / span
}

pub fn state(m: &milestone::Model, actual: Option<f64>, now: DateTime<Utc>) -> MilestoneState {
    match actual {
        None if now < m.starts_at => MilestoneState::Upcoming,
        None if now >= m.ends_at => MilestoneState::Met,
        None => MilestoneState::Active,
        Some(a) if a >= m.target_percent => MilestoneState::Met,
        Some(_) if now < m.starts_at => MilestoneState::Upcoming,
        Some(_) if now >= m.ends_at => MilestoneState::Missed,
        Some(a) if a < expected_percent(m, now) => MilestoneState::AtRisk,
        Some(_) => MilestoneState::Active,
    }
}

pub struct CampaignNode(pub campaign::Model);

#[Object(name = "Campaign")]
impl CampaignNode {
    async fn id(&self) -> ID {
        ids::encode("Campaign", self.0.id)
    }
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
    async fn county(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<RegionNode>> {
        Ok(ctx.loaders().regions.load_one(self.0.county_id).await?.map(Into::into))
    }
    async fn milestones(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<MilestoneNode>> {
        Ok(milestones_of(&ctx.state().db, &self.0).await?)
    }
    /// The county's progress in this campaign.
    async fn progress(&self, ctx: &Context<'_>) -> async_graphql::Result<ProgressNode> {
        let viewer = ctx.viewer()?;
        Ok(progress_for(&ctx.state().db, viewer, None, Some(self.0.id)).await?)
    }
}

pub async fn milestones_of(db: &DatabaseConnection, c: &campaign::Model) -> AppResult<Vec<MilestoneNode>> {
    let rows = milestone::Entity::find()
        .filter(milestone::Column::CampaignId.eq(c.id))
        .order_by_asc(milestone::Column::StartsAt)
        .all(db)
        .await?;
    let counts = campaign_counts(db, c.id).await?;
    let now = Utc::now();
    Ok(rows
        .into_iter()
        .map(|m| {
            let actual = actual_percent(m.target_metric, &counts);
            MilestoneNode { state: state(&m, actual, now), actual, expected: expected_percent(&m, now), model: m }
        })
        .collect())
}

/// A deadline of the campaign.
pub struct MilestoneNode {
    model: milestone::Model,
    state: MilestoneState,
    actual: Option<f64>,
    expected: f64,
}

#[Object(name = "Milestone")]
impl MilestoneNode {
    async fn id(&self) -> ID {
        ids::encode("Milestone", self.model.id)
    }
    /// TRAINING, VERIFICATION, LOOK_BACK or a custom kind.
    async fn kind(&self) -> &str {
        &self.model.kind
    }
    async fn title(&self) -> &str {
        &self.model.title
    }
    /// Start (UTC; the campaign's time zone says how people read it).
    async fn starts_at(&self) -> DateTime<Utc> {
        self.model.starts_at
    }
    /// End (UTC), exclusive.
    async fn ends_at(&self) -> DateTime<Utc> {
        self.model.ends_at
    }
    /// What the target counts.
    async fn target_metric(&self) -> MilestoneMetric {
        self.model.target_metric.into()
    }
    /// Percent of households that must reach `targetMetric` by `endsAt`.
    async fn target_percent(&self) -> f64 {
        self.model.target_percent
    }
    /// State now: UPCOMING, ACTIVE, MET, MISSED or AT_RISK (behind pro-rata pace).
    async fn state(&self) -> MilestoneState {
        self.state
    }
    /// Percent of the campaign's households reaching the metric now (null for NONE).
    async fn actual_percent(&self) -> Option<f64> {
        self.actual
    }
    /// Percent expected by now, pro rata over the window.
    async fn expected_percent(&self) -> f64 {
        self.expected
    }
}

/// Changes a milestone's title, window or target (ADMIN); audited before → after.
pub async fn update_milestone(
    state: &crate::AppState,
    viewer: &Viewer,
    id: Uuid,
    title: Option<String>,
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
    target_percent: Option<f64>,
    client_addr: Option<String>,
) -> AppResult<milestone::Model> {
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    viewer.require_role(&[entity::Role::Admin], "edit milestones")?;
    let m = milestone::Entity::find_by_id(id).one(&state.db).await?.ok_or_else(|| AppError::not_found("milestone"))?;
    let c = campaign_or_latest(&state.db, viewer, Some(m.campaign_id)).await?;
    require_county_team(&state.db, viewer, &c).await?;
    let starts = starts_at.unwrap_or(m.starts_at);
    let ends = ends_at.unwrap_or(m.ends_at);
    if ends <= starts {
        return Err(AppError::validation("endsAt", "A milestone must end after it starts."));
    }
    if target_percent.is_some_and(|p| !(0.0..=100.0).contains(&p)) {
        return Err(AppError::validation("targetPercent", "The target is a percent, 0 to 100."));
    }
    if let Some(t) = &title {
        if t.trim().is_empty() || t.chars().count() > 200 {
            return Err(AppError::validation("title", "A title has 1 to 200 characters."));
        }
    }
    let before = serde_json::json!({ "title": m.title, "startsAt": m.starts_at, "endsAt": m.ends_at, "targetPercent": m.target_percent });
    let (_w, txn) = state.begin().await?;
    let mut am: milestone::ActiveModel = m.clone().into();
    if let Some(t) = title {
        am.title = Set(t.trim().to_owned());
    }
    am.starts_at = Set(starts);
    am.ends_at = Set(ends);
    if let Some(p) = target_percent {
        am.target_percent = Set(p);
    }
    am.updated_at = Set(crate::audit::now());
    let saved = am.update(&txn).await?;
    crate::audit::append(
        &txn,
        &crate::audit::Actor::of(viewer, client_addr),
        crate::audit::NewEvent {
            action: "MILESTONE_UPDATED",
            entity_type: "Milestone",
            entity_id: Some(saved.id),
            region_id: Some(c.county_id),
            before: Some(before),
            after: Some(serde_json::json!({ "title": saved.title, "startsAt": saved.starts_at, "endsAt": saved.ends_at, "targetPercent": saved.target_percent })),
            ..Default::default()
        },
    )
    .await?;
    txn.commit().await?;
    Ok(saved)
}

/// Milestones belong to the county team of the campaign's county.
async fn require_county_team(db: &DatabaseConnection, viewer: &Viewer, c: &campaign::Model) -> AppResult<()> {
    let county = region::Entity::find_by_id(c.county_id).one(db).await?;
    if !county.is_some_and(|r| viewer.covers(&r)) {
        return Err(AppError::forbidden("Only the county's own team edits its milestones."));
    }
    Ok(())
}

/// Creates a campaign for a county (ADMIN of that county).
pub async fn create_campaign(
    state: &crate::AppState,
    viewer: &Viewer,
    name: &str,
    county_id: Uuid,
    time_zone: &str,
    starts_on: NaiveDate,
    ends_on: NaiveDate,
    client_addr: Option<String>,
) -> AppResult<campaign::Model> {
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    viewer.require_role(&[entity::Role::Admin], "create campaigns")?;
    let county = crate::regions::get(&state.db, viewer, county_id).await?;
    if !viewer.covers(&county) || county.level != entity::RegionLevel::County {
        return Err(AppError::validation("countyId", "A campaign belongs to a county in your region."));
    }
    if name.trim().is_empty() || name.chars().count() > 200 {
        return Err(AppError::validation("name", "A name has 1 to 200 characters."));
    }
    if time_zone.parse::<chrono_tz::Tz>().is_err() {
        return Err(AppError::validation("timeZone", "Use an IANA time zone such as Asia/Shanghai."));
    }
    if ends_on < starts_on {
        return Err(AppError::validation("endsOn", "A campaign must end on or after its first day."));
    }
    let (_w, txn) = state.begin().await?;
    let m = campaign::ActiveModel {
        id: Set(Uuid::new_v4()),
        name: Set(name.trim().into()),
        county_id: Set(county.id),
        time_zone: Set(time_zone.into()),
        starts_on: Set(starts_on),
        ends_on: Set(ends_on),
        created_at: Set(crate::audit::now()),
    }
    .insert(&txn)
    .await?;
    crate::audit::append(
        &txn,
        &crate::audit::Actor::of(viewer, client_addr),
        crate::audit::NewEvent {
            action: "CAMPAIGN_CREATED",
            entity_type: "Campaign",
            entity_id: Some(m.id),
            region_id: Some(county.id),
            after: Some(serde_json::json!({ "name": m.name, "startsOn": m.starts_on, "endsOn": m.ends_on })),
            ..Default::default()
        },
    )
    .await?;
    txn.commit().await?;
    Ok(m)
}

/// Adds a milestone to a campaign (ADMIN of its county); audited.
#[allow(clippy::too_many_arguments)]
pub async fn create_milestone(
    state: &crate::AppState,
    viewer: &Viewer,
    campaign_id: Uuid,
    kind: &str,
    title: &str,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    metric: entity::MilestoneMetric,
    target_percent: f64,
    client_addr: Option<String>,
) -> AppResult<milestone::Model> {
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    viewer.require_role(&[entity::Role::Admin], "create milestones")?;
    let c = campaign_or_latest(&state.db, viewer, Some(campaign_id)).await?;
    require_county_team(&state.db, viewer, &c).await?;
    let kind = kind.trim().to_uppercase();
    if kind.is_empty() || kind.len() > 32 || !kind.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
        return Err(AppError::validation(
            "kind",
            "A kind is TRAINING, VERIFICATION, LOOK_BACK or another WORD_LIKE_THIS.",
        ));
    }
    if title.trim().is_empty() || title.chars().count() > 200 {
        return Err(AppError::validation("title", "A title has 1 to 200 characters."));
    }
    if ends_at <= starts_at {
        return Err(AppError::validation("endsAt", "A milestone must end after it starts."));
    }
    if !(0.0..=100.0).contains(&target_percent) {
        return Err(AppError::validation("targetPercent", "The target is a percent, 0 to 100."));
    }
    let now = crate::audit::now();
    let (_w, txn) = state.begin().await?;
    let m = milestone::ActiveModel {
        id: Set(Uuid::new_v4()),
        campaign_id: Set(c.id),
        kind: Set(kind),
        title: Set(title.trim().into()),
        starts_at: Set(starts_at),
        ends_at: Set(ends_at),
        target_metric: Set(metric),
        target_percent: Set(target_percent),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    crate::audit::append(
        &txn,
        &crate::audit::Actor::of(viewer, client_addr),
        crate::audit::NewEvent {
            action: "MILESTONE_CREATED",
            entity_type: "Milestone",
            entity_id: Some(m.id),
            region_id: Some(c.county_id),
            after: Some(
                serde_json::json!({ "kind": m.kind, "title": m.title, "startsAt": m.starts_at, "endsAt": m.ends_at,
                "targetMetric": m.target_metric.as_str(), "targetPercent": m.target_percent }),
            ),
            ..Default::default()
        },
    )
    .await?;
    txn.commit().await?;
    Ok(m)
}

#[derive(Default)]
pub struct ProgressMutation;

#[Object]
impl ProgressMutation {
    /// Creates a verification campaign for a county (ADMIN): another county or year.
    async fn create_campaign(
        &self,
        ctx: &Context<'_>,
        name: String,
        county_id: ID,
        #[graphql(default = "Asia/Shanghai")] time_zone: String,
        starts_on: NaiveDate,
        ends_on: NaiveDate,
    ) -> async_graphql::Result<CampaignNode> {
        let viewer = ctx.viewer()?;
        let c = create_campaign(
            ctx.state(),
            viewer,
            &name,
            ids::decode("Region", &county_id)?,
            &time_zone,
            starts_on,
            ends_on,
            ctx.req().client_addr.clone(),
        )
        .await?;
        Ok(CampaignNode(c))
    }

    /// Adds a milestone to a campaign (ADMIN): kind, window and the target it measures.
    #[allow(clippy::too_many_arguments)]
    async fn create_milestone(
        &self,
        ctx: &Context<'_>,
        campaign_id: ID,
        kind: String,
        title: String,
        starts_at: DateTime<Utc>,
        ends_at: DateTime<Utc>,
        target_metric: MilestoneMetric,
        #[graphql(default = 100.0)] target_percent: f64,
    ) -> async_graphql::Result<MilestoneNode> {
        let viewer = ctx.viewer()?;
        let state = ctx.state();
        let m = create_milestone(
            state,
            viewer,
            ids::decode("Campaign", &campaign_id)?,
            &kind,
            &title,
            starts_at,
            ends_at,
            target_metric.into(),
            target_percent,
            ctx.req().client_addr.clone(),
        )
        .await?;
        let c = campaign_or_latest(&state.db, viewer, Some(m.campaign_id)).await?;
        Ok(milestones_of(&state.db, &c)
            .await?
            .into_iter()
            .find(|n| n.model.id == m.id)
            .ok_or_else(|| AppError::not_found("milestone"))?)
    }

    /// Edits or extends a milestone (ADMIN). Extending the look-back review reopens submissions.
    async fn update_milestone(
        &self,
        ctx: &Context<'_>,
        id: ID,
        title: Option<String>,
        starts_at: Option<DateTime<Utc>>,
        ends_at: Option<DateTime<Utc>>,
        target_percent: Option<f64>,
    ) -> async_graphql::Result<MilestoneNode> {
        let viewer = ctx.viewer()?;
        let state = ctx.state();
        let m = update_milestone(
            state,
            viewer,
            ids::decode("Milestone", &id)?,
            title,
            starts_at,
            ends_at,
            target_percent,
            ctx.req().client_addr.clone(),
        )
        .await?;
        let c = campaign_or_latest(&state.db, viewer, Some(m.campaign_id)).await?;
        Ok(milestones_of(&state.db, &c)
            .await?
            .into_iter()
            .find(|n| n.model.id == m.id)
            .ok_or_else(|| AppError::not_found("milestone"))?)
    }
}

#[derive(Default)]
pub struct ProgressQuery;

#[Object]
impl ProgressQuery {
    /// Campaigns in the viewer's part of the country, newest first.
    async fn campaigns(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<CampaignNode>> {
        let viewer = ctx.viewer()?;
        Ok(campaigns(&ctx.state().db, viewer).await?.into_iter().map(CampaignNode).collect())
    }

    /// Milestones of a campaign (default: the newest campaign), in date order.
    async fn milestones(
        &self,
        ctx: &Context<'_>,
        campaign_id: Option<ID>,
    ) -> async_graphql::Result<Vec<MilestoneNode>> {
        let viewer = ctx.viewer()?;
        let id = campaign_id.as_ref().map(|c| ids::decode("Campaign", c)).transpose()?;
        let db = &ctx.state().db;
        let c = campaign_or_latest(db, viewer, id).await?;
        Ok(milestones_of(db, &c).await?)
    }
}

// ------------------------------------------------------------------ progress boards

/// Everything a board shows for one region, read from the counters.
#[derive(Clone)]
pub struct ProgressNode {
    pub region: region::Model,
    pub campaign: campaign::Model,
    pub figures: Figures,
    pub milestones: Vec<milestone::Model>,
    pub viewer: Viewer,
}

/// Progress of a region (default: the viewer's own) in a campaign (default: the newest).
pub async fn progress_for(
    db: &DatabaseConnection,
    viewer: &Viewer,
    region_id: Option<Uuid>,
    campaign_id: Option<Uuid>,
) -> AppResult<ProgressNode> {
    let campaign = campaign_or_latest(db, viewer, campaign_id).await?;
    let region = match region_id {
        Some(id) => crate::regions::get(db, viewer, id).await?,
        None => {
            let own = crate::regions::get(db, viewer, viewer.scope.region_id).await?;
            // A province- or city-wide viewer: the campaign's county.
            if own.level.depth() < entity::RegionLevel::County.depth() {
                crate::regions::get(db, viewer, campaign.county_id).await?
            } else {
                own
            }
        }
    };
    if !viewer.covers(&region) {
        return Err(AppError::forbidden("Progress is shown for your own region and the regions below it."));
    }
    let figures = crate::counters::read(db, campaign.id, &[region.id]).await?.remove(&region.id).unwrap_or_default();
    let milestones = milestone::Entity::find()
        .filter(milestone::Column::CampaignId.eq(campaign.id))
        .order_by_asc(milestone::Column::StartsAt)
        .all(db)
        .await?;
    Ok(ProgressNode { region, campaign, figures: Figures(figures), milestones, viewer: viewer.clone() })
}

/// The milestone that sets the pace now: the active one with a target, else the
/// last one that ended, else the first.
pub fn pace_milestone(ms: &[milestone::Model], now: DateTime<Utc>) -> Option<&milestone::Model> {
    let with_target: Vec<&milestone::Model> =
        ms.iter().filter(|m| m.target_metric != entity::MilestoneMetric::None).collect();
    with_target
        .iter()
        .find(|m| m.starts_at <= now && now < m.ends_at)
        .or_else(|| with_target.iter().rev().find(|m| m.ends_at <= now))
        .or_else(|| with_target.first())
        .copied()
}

/// When the target will be reached at the pace since the milestone started.
pub fn projected_completion(m: &milestone::Model, actual: f64, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if actual >= m.target_percent {
        return None;
    }
    let elapsed = (now.min(m.ends_at.max(now)) - m.starts_at).num_seconds();
    if elapsed <= 0 || actual <= 0.0 {
        return None;
    }
    let total = elapsed as f64 * m.target_percent / actual;
    Some(m.starts_at + chrono::Duration::seconds(total as i64))
}

/// A milestone seen from one region.
#[derive(async_graphql::SimpleObject)]
pub struct MilestoneProgress {
    pub milestone_id: ID,
    pub kind: String,
    pub title: String,
    pub ends_at: DateTime<Utc>,
    pub state: MilestoneState,
    /// Percent of this region's households reaching the milestone's metric (null for NONE).
    pub actual_percent: Option<f64>,
    /// Percent expected by now, pro rata over the milestone's window.
    pub expected_percent: f64,
    /// When the target will be reached at the pace since the milestone started (null when reached or no pace yet).
    pub projected_completion: Option<DateTime<Utc>>,
}

#[derive(async_graphql::SimpleObject)]
pub struct StatusCount {
    pub status: crate::types::VerificationStatus,
    pub count: u64,
}

#[derive(async_graphql::SimpleObject)]
pub struct PathCount {
    pub path: crate::types::SafetyPath,
    pub count: u64,
}

/// One bucket of the burn-up chart: cumulative households submitted and approved by `at`.
#[derive(async_graphql::SimpleObject)]
pub struct ProgressPoint {
    /// Start of the bucket (UTC); buckets are days or hours in the campaign's time zone.
    pub at: DateTime<Utc>,
    /// The bucket's label in the campaign's time zone, e.g. 2020-05-17 or 2020-05-17 14:00.
    pub label: String,
    pub submitted: u64,
    pub approved: u64,
}

#[derive(async_graphql::Enum, Copy, Clone, PartialEq, Eq)]
pub enum Bucket {
    Day,
    Hour,
}

const STATUSES: [entity::VerificationStatus; 6] = [
    entity::VerificationStatus::NotStarted,
    entity::VerificationStatus::Draft,
    entity::VerificationStatus::Submitted,
    entity::VerificationStatus::Returned,
    entity::VerificationStatus::Approved,
    entity::VerificationStatus::Reopened,
];
const PATHS: [entity::SafetyPath; 3] =
    [entity::SafetyPath::Appraised, entity::SafetyPath::Renovated, entity::SafetyPath::Secured];

impl ProgressNode {
    fn percent(&self, n: u64) -> f64 {
        let total = self.figures.get("households");
        if total == 0 {
            0.0
        } else {
            (n as f64 * 10000.0 / total as f64).round() / 100.0
        }
    }
    fn actual(&self, metric: entity::MilestoneMetric) -> Option<f64> {
        let c = self.figures.counts();
        match metric {
            entity::MilestoneMetric::None => None,
            entity::MilestoneMetric::Submitted => Some(self.percent(c.submitted)),
            entity::MilestoneMetric::Approved => Some(self.percent(c.approved)),
        }
    }
    /// Percentage points behind the pace milestone's expected line (negative = ahead).
    fn gap(&self, now: DateTime<Utc>) -> f64 {
        match pace_milestone(&self.milestones, now) {
            Some(m) => expected_percent(m, now) - self.actual(m.target_metric).unwrap_or(0.0),
            None => 0.0,
        }
    }
}

#[Object(name = "Progress")]
impl ProgressNode {
    async fn region(&self) -> RegionNode {
        self.region.clone().into()
    }
    async fn campaign_id(&self) -> ID {
        ids::encode("Campaign", self.campaign.id)
    }
    /// Registered households in the region (practice entries never count anywhere here).
    async fn households(&self) -> u64 {
        self.figures.get("households")
    }
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
    async fn open_errors(&self) -> u64 {
        self.figures.get("errors")
    }
    async fn open_warnings(&self) -> u64 {
        self.figures.get("warnings")
    }
    /// Households submitted or further (submitted, approved, reopened).
    async fn submitted(&self) -> u64 {
        self.figures.counts().submitted
    }
    async fn approved(&self) -> u64 {
        self.figures.counts().approved
    }
    /// Percent, 0–100, two decimals.
    async fn submitted_percent(&self) -> f64 {
        self.percent(self.figures.counts().submitted)
    }
    async fn approved_percent(&self) -> f64 {
        self.percent(self.figures.counts().approved)
    }
    /// Each milestone as seen from this region: state, expected vs actual, projected finish.
    async fn milestones(&self) -> Vec<MilestoneProgress> {
        let now = Utc::now();
        self.milestones
            .iter()
            .map(|m| {
                let actual = self.actual(m.target_metric);
                MilestoneProgress {
                    milestone_id: ids::encode("Milestone", m.id),
                    kind: m.kind.clone(),
                    title: m.title.clone(),
                    ends_at: m.ends_at,
                    state: state(m, actual, now),
                    actual_percent: actual,
                    expected_percent: (expected_percent(m, now) * 100.0).round() / 100.0,
                    projected_completion: actual.and_then(|a| projected_completion(m, a, now)),
                }
            })
            .collect()
    }
    /// Percentage points this region is behind the current milestone's expected line (negative: ahead).
    async fn behind_by(&self) -> f64 {
        (self.gap(Utc::now()) * 100.0).round() / 100.0
    }
    /// The regions directly below that are behind pace, worst first.
    async fn behind_pace(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10)] first: i32,
    ) -> async_graphql::Result<Vec<ProgressNode>> {
        if !(0..=500).contains(&first) {
            return Err(AppError::validation("first", "`first` must be between 0 and 500.").into());
        }
        let db = &ctx.state().db;
        let children = region::Entity::find()
            .filter(region::Column::ParentId.eq(self.region.id))
            .all(db)
            .await
            .map_err(AppError::from)?;
        let ids: Vec<Uuid> = children.iter().map(|c| c.id).collect();
        let mut figures = crate::counters::read(db, self.campaign.id, &ids).await?;
        let now = Utc::now();
        let mut rows: Vec<(f64, ProgressNode)> = children
            .into_iter()
            .map(|r| {
                let f = Figures(figures.remove(&r.id).unwrap_or_default());
                let node = ProgressNode {
                    region: r,
                    campaign: self.campaign.clone(),
                    figures: f,
                    milestones: self.milestones.clone(),
                    viewer: self.viewer.clone(),
                };
                (node.gap(now), node)
            })
            .filter(|(gap, n)| *gap > 0.0 && n.figures.get("households") > 0)
            .collect();
        rows.sort_by(|a, b| {
            b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal).then(a.1.region.code.cmp(&b.1.region.code))
        });
        Ok(rows.into_iter().take(first as usize).map(|(_, n)| n).collect())
    }
    /// Burn-up: cumulative households first submitted and first approved, per day
    /// (or hour) in the campaign's time zone, from the audit trail.
    async fn series(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Bucket::Day")] bucket: Bucket,
    ) -> async_graphql::Result<Vec<ProgressPoint>> {
        Ok(series(&ctx.state().db, self, bucket).await?)
    }
}

async fn series(db: &DatabaseConnection, p: &ProgressNode, bucket: Bucket) -> AppResult<Vec<ProgressPoint>> {
    use chrono::TimeZone;
    use entity::audit_event;
    let tz: chrono_tz::Tz = p.campaign.time_zone.parse().unwrap_or(chrono_tz::Asia::Shanghai);
    let regions = crate::regions::subtree_ids(db, &p.region).await?;
    let households: std::collections::HashSet<Uuid> = entity::household::Entity::find()
        .select_only()
        .column(entity::household::Column::Id)
        .filter(entity::household::Column::CampaignId.eq(p.campaign.id))
        .filter(crate::auth::region_household_condition(p.region.id, p.region.level, &p.region.path))
        .into_tuple::<Uuid>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let mut events = Vec::new();
    for chunk in regions.chunks(500) {
        events.extend(
            audit_event::Entity::find()
                .filter(audit_event::Column::Action.is_in(["VERIFICATION_SUBMITTED", "VERIFICATION_APPROVED"]))
                .filter(audit_event::Column::RegionId.is_in(chunk.to_vec()))
                .all(db)
                .await?,
        );
    }
    events.sort_by_key(|e| e.seq);
    // First submission and first approval of each real (non-practice) household record.
    let mut first_sub: std::collections::HashMap<Uuid, DateTime<Utc>> = Default::default();
    let mut first_app: std::collections::HashMap<Uuid, DateTime<Utc>> = Default::default();
    for e in &events {
        let practice = e.after.as_ref().and_then(|a| a.get("practice")).and_then(|v| v.as_bool()).unwrap_or(false);
        let Some(h) = e.household_id.filter(|h| households.contains(h)) else { continue };
        if practice {
            continue;
        }
        let map = if e.action == "VERIFICATION_SUBMITTED" { &mut first_sub } else { &mut first_app };
        map.entry(h).or_insert(e.occurred_at);
    }
    let key = |t: DateTime<Utc>| -> (DateTime<Utc>, String) {
        let local = t.with_timezone(&tz);
        let (start, label) = match bucket {
            Bucket::Day => {
                let d = local.date_naive();
                (tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default()).earliest(), d.to_string())
            }
            Bucket::Hour => {
                let h = local
                    .date_naive()
                    .and_hms_opt(local.format("%H").to_string().parse().unwrap_or(0), 0, 0)
                    .unwrap_or_default();
                (tz.from_local_datetime(&h).earliest(), h.format("%Y-%m-%d %H:00").to_string())
            }
        };
        (start.map(|s| s.with_timezone(&Utc)).unwrap_or(t), label)
    };
    let mut buckets: std::collections::BTreeMap<DateTime<Utc>, (String, u64, u64)> = Default::default();
    for t in first_sub.values() {
        let (k, l) = key(*t);
        buckets.entry(k).or_insert((l, 0, 0)).1 += 1;
    }
    for t in first_app.values() {
        let (k, l) = key(*t);
        buckets.entry(k).or_insert((l, 0, 0)).2 += 1;
    }
    let (mut s, mut a) = (0, 0);
    Ok(buckets
        .into_iter()
        .map(|(at, (label, ds, da))| {
            s += ds;
            a += da;
            ProgressPoint { at, label, submitted: s, approved: a }
        })
        .collect())
}

#[derive(Default)]
pub struct ProgressBoardQuery;

#[Object]
impl ProgressBoardQuery {
    /// Progress of a region (default: the viewer's own) in a campaign (default: the newest).
    async fn progress(
        &self,
        ctx: &Context<'_>,
        region_id: Option<ID>,
        campaign_id: Option<ID>,
    ) -> async_graphql::Result<ProgressNode> {
        let viewer = ctx.viewer()?;
        let r = region_id.as_ref().map(|r| ids::decode("Region", r)).transpose()?;
        let c = campaign_id.as_ref().map(|c| ids::decode("Campaign", c)).transpose()?;
        Ok(progress_for(&ctx.state().db, viewer, r, c).await?)
    }
}

#[derive(Default)]
pub struct ProgressSubscription;

#[async_graphql::Subscription]
impl ProgressSubscription {
    /// The region's progress now, then again whenever it changes (at most every
    /// half second: a burst of saves becomes one update). Works across API processes.
    async fn progress_changed(
        &self,
        ctx: &Context<'_>,
        region_id: ID,
        campaign_id: Option<ID>,
    ) -> async_graphql::Result<impl futures_util::Stream<Item = async_graphql::Result<ProgressNode>>> {
        use futures_util::StreamExt;
        use tokio::sync::broadcast::error::RecvError;
        let viewer = ctx.viewer()?.clone();
        let state = ctx.state().clone();
        let rid = ids::decode("Region", &region_id)?;
        let cid = campaign_id.as_ref().map(|c| ids::decode("Campaign", c)).transpose()?;
        let first = progress_for(&state.db, &viewer, Some(rid), cid).await?;
        let rx = state.notifier.subscribe();
        let updates = futures_util::stream::unfold((rx, state, viewer), move |(mut rx, state, viewer)| async move {
            loop {
                match rx.recv().await {
                    Ok(regions) if regions.contains(&rid) => break,
                    Ok(_) => continue,
                    Err(RecvError::Lagged(_)) => break,
                    Err(RecvError::Closed) => return None,
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            while rx.try_recv().is_ok() {}
            let item = progress_for(&state.db, &viewer, Some(rid), cid).await.map_err(async_graphql::Error::from);
            Some((item, (rx, state, viewer)))
        });
        Ok(futures_util::stream::once(async move { Ok(first) }).chain(updates))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn cst(d: u32, h: u32, m: u32, s: u32) -> DateTime<Utc> {
        chrono_tz::Asia::Shanghai.with_ymd_and_hms(2020, 5, d, h, m, s).unwrap().with_timezone(&Utc)
    }

    /// Household verification, May 15–19 inclusive: [May 15 00:00, May 20 00:00) China time.
    fn verification() -> milestone::Model {
        milestone::Model {
            id: Uuid::nil(),
            campaign_id: Uuid::nil(),
            kind: "VERIFICATION".into(),
            title: "逐户核验".into(),
            starts_at: cst(15, 0, 0, 0),
            ends_at: cst(20, 0, 0, 0),
            target_metric: entity::MilestoneMetric::Submitted,
            target_percent: 100.0,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn states_around_the_boundaries_in_china_time() {
        let m = verification();
        assert_eq!(state(&m, Some(0.0), cst(14, 23, 59, 59)), MilestoneState::Upcoming);
        // At the first second nothing is expected yet: on pace.
        assert_eq!(state(&m, Some(0.0), cst(15, 0, 0, 0)), MilestoneState::Active);
        // Half-way (May 17 12:00) 50% is expected.
        assert!((expected_percent(&m, cst(17, 12, 0, 0)) - 50.0).abs() < 1e-9);
        assert_eq!(state(&m, Some(49.0), cst(17, 12, 0, 0)), MilestoneState::AtRisk);
        assert_eq!(state(&m, Some(50.0), cst(17, 12, 0, 0)), MilestoneState::Active);
        assert_eq!(state(&m, Some(100.0), cst(19, 23, 59, 59)), MilestoneState::Met);
        assert_eq!(state(&m, Some(99.9), cst(19, 23, 59, 59)), MilestoneState::AtRisk);
        // The end is exclusive: at May 20 00:00 China time it is over.
        assert_eq!(state(&m, Some(99.9), cst(20, 0, 0, 0)), MilestoneState::Missed);
        assert_eq!(state(&m, Some(100.0), cst(21, 0, 0, 0)), MilestoneState::Met);
        // A milestone without a target is met once it has ended.
        let mut training = verification();
        training.target_metric = entity::MilestoneMetric::None;
        assert_eq!(state(&training, None, cst(14, 0, 0, 0)), MilestoneState::Upcoming);
        assert_eq!(state(&training, None, cst(16, 0, 0, 0)), MilestoneState::Active);
        assert_eq!(state(&training, None, cst(20, 0, 0, 0)), MilestoneState::Met);
    }

    #[test]
    fn projected_completion_follows_the_pace_so_far() {
        let m = verification();
        // 25% done after a quarter of... one day of five: at that pace, 100% after 4 days.
        let p = projected_completion(&m, 25.0, cst(16, 0, 0, 0)).unwrap();
        assert_eq!(p, cst(19, 0, 0, 0));
        assert_eq!(projected_completion(&m, 0.0, cst(16, 0, 0, 0)), None);
        assert_eq!(projected_completion(&m, 100.0, cst(16, 0, 0, 0)), None);
    }
}

/// Progress counters and the database pool for `/metrics`: each campaign's
/// households, submitted and approved (practice never counts).
pub async fn render_metrics(state: &crate::AppState, out: &mut String) {
    use std::fmt::Write;
    let db = &state.db;
    let _ = writeln!(out, "# HELP hsv_campaign_households Households, submitted and approved records per campaign.");
    let _ = writeln!(out, "# TYPE hsv_campaign_households gauge");
    if let Ok(all) = campaign::Entity::find().all(db).await {
        for c in all {
            if let Ok(n) = campaign_counts(db, c.id).await {
                let name = c.name.replace('"', "'");
                let _ = writeln!(
                    out,
                    "hsv_campaign_households{{campaign=\"{name}\",figure=\"households\"}} {}",
                    n.households
                );
                let _ = writeln!(
                    out,
                    "hsv_campaign_households{{campaign=\"{name}\",figure=\"submitted\"}} {}",
                    n.submitted
                );
                let _ =
                    writeln!(out, "hsv_campaign_households{{campaign=\"{name}\",figure=\"approved\"}} {}", n.approved);
            }
        }
    }
}

/// The database pool's connections, for `/metrics` (no SQL).
pub fn render_pool(state: &crate::AppState, out: &mut String) {
    use std::fmt::Write;
    let db = &state.db;
    let pool = match db {
        sea_orm::DatabaseConnection::SqlxPostgresPoolConnection(_) => {
            let p = db.get_postgres_connection_pool();
            Some((p.size(), p.num_idle()))
        }
        sea_orm::DatabaseConnection::SqlxSqlitePoolConnection(_) => {
            let p = db.get_sqlite_connection_pool();
            Some((p.size(), p.num_idle()))
        }
        _ => None,
    };
    if let Some((size, idle)) = pool {
        let _ = writeln!(out, "# HELP hsv_db_pool_connections Database pool connections by state.");
        let _ = writeln!(out, "# TYPE hsv_db_pool_connections gauge");
        let _ = writeln!(out, "hsv_db_pool_connections{{state=\"idle\"}} {idle}");
        let _ = writeln!(out, "hsv_db_pool_connections{{state=\"in_use\"}} {}", size as usize - idle);
    }
}
