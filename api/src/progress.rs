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
use entity::{campaign, household, milestone, region, verification, VerificationStatus as VS};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, JoinType, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, RelationTrait,
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

pub async fn campaign_counts(db: &DatabaseConnection, campaign_id: Uuid) -> AppResult<CampaignCounts> {
    let households = household::Entity::find().filter(household::Column::CampaignId.eq(campaign_id)).count(db).await?;
    let base = || {
        verification::Entity::find()
            .filter(verification::Column::CampaignId.eq(campaign_id))
            .filter(verification::Column::Practice.eq(false))
    };
    let submitted = base()
        .filter(verification::Column::Status.is_in([VS::Submitted, VS::Approved, VS::Reopened]))
        .count(db)
        .await?;
    let approved = base().filter(verification::Column::Status.eq(VS::Approved)).count(db).await?;
    Ok(CampaignCounts { households, submitted, approved })
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
    let county = region::Entity::find_by_id(c.county_id).one(&state.db).await?;
    if !county.is_some_and(|r| viewer.covers(&r)) {
        return Err(AppError::forbidden("Only the county's own team edits its milestones."));
    }
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
