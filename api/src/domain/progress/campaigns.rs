//! Campaigns and their deadline milestones: who may create and edit them,
//! and each milestone's state against its target (expected vs actual).

use crate::domain::error::{key, msg};
use crate::{
    domain::{
        audit::NewEvent,
        auth::Viewer,
        ctx::Ctx,
        error::{AppError, AppResult},
        tx::Tx,
    },
    AppState,
};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{campaign, milestone, region};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect,
    RelationTrait,
};
use uuid::Uuid;

/// State of a milestone at a moment.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum MilestoneState {
    /// Not started yet.
    Upcoming,
    /// In its window and on pace.
    Active,
    /// Target reached.
    Met,
    /// Ended without reaching its target.
    Missed,
    /// In its window and behind the pace needed to finish on time.
    AtRisk,
}

/// A milestone with its state, now, for one region (its end and target as
/// they hold there: see `Effective`).
pub struct MilestoneStatus {
    pub model: milestone::Model,
    pub state: MilestoneState,
    pub actual: Option<f64>,
    pub expected: f64,
    pub base_ends_at: DateTime<Utc>,
    pub base_target_percent: f64,
    pub tightened_in: Option<Uuid>,
}

/// Campaigns whose region the viewer can see (inside or above their scope).
pub async fn campaigns(db: &DatabaseConnection, viewer: &Viewer) -> AppResult<Vec<campaign::Model>> {
    let scope = &viewer.scope.path;
    let rows = campaign::Entity::find()
        .join(JoinType::InnerJoin, campaign::Relation::Region.def())
        .filter(
            Condition::any()
                .add(region::Column::Path.starts_with(scope))
                // the campaign's region is an ancestor of (or is) the viewer's region
                .add(region::Column::Path.is_in(crate::domain::regions::ancestor_paths(scope))),
        )
        .order_by_desc(campaign::Column::StartsOn)
        .all(db)
        .await?;
    Ok(rows)
}

/// The given campaign if visible, else the most recent one in force for the
/// viewer: for someone in a county, the newest their county has joined (a
/// wider campaign it has not joined yet is only offered); for those above,
/// the newest they see.
pub async fn campaign_or_latest(
    db: &DatabaseConnection,
    viewer: &Viewer,
    id: Option<Uuid>,
) -> AppResult<campaign::Model> {
    let all = campaigns(db, viewer).await?;
    if let Some(id) = id {
        return all.into_iter().find(|c| c.id == id).ok_or_else(|| AppError::not_found(key::THING_CAMPAIGN));
    }
    // One campaign seen, as for most counties: no need to ask what was joined.
    if all.len() > 1 {
        if let Some(county) = super::reach::county_of(db, viewer).await? {
            let joined = super::reach::joined_by(db, county.id).await?;
            if let Some(c) = all.iter().find(|c| joined.contains(&c.id)) {
                return Ok(c.clone());
            }
        }
    }
    all.into_iter().next().ok_or_else(|| AppError::NotFound(msg!(NO_CAMPAIGN)))
}

/// Households in a campaign and how many have reached each milestone metric
/// (practice entries never count).
pub struct CampaignCounts {
    pub households: u64,
    pub submitted: u64,
    pub approved: u64,
}

/// Every campaign with its figures over its whole region, for the operator's `/metrics`
/// (a system view: no viewer, figures only, read from the counters).
pub async fn all_campaign_counts(db: &DatabaseConnection) -> AppResult<Vec<(campaign::Model, CampaignCounts)>> {
    let mut out = Vec::new();
    for c in campaign::Entity::find().all(db).await? {
        // One read of the region's counters per campaign (the campaign is in hand);
        // one failing leaves the others on the page.
        if let Ok(mut f) = crate::domain::counters::read(db, c.id, &[c.region_id]).await {
            let n = Figures(f.remove(&c.region_id).unwrap_or_default()).counts();
            out.push((c, n));
        }
    }
    Ok(out)
}

/// A campaign's figures for one region, from the counters.
pub async fn campaign_counts(db: &DatabaseConnection, campaign_id: Uuid, region_id: Uuid) -> AppResult<CampaignCounts> {
    let figures = crate::domain::counters::read(db, campaign_id, &[region_id]).await?;
    Ok(Figures(figures.get(&region_id).cloned().unwrap_or_default()).counts())
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

/// One milestone with its state in `region` at `now`.
pub(super) async fn status_in(
    db: &DatabaseConnection,
    c: &campaign::Model,
    region: &region::Model,
    milestone_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<MilestoneStatus> {
    statuses_in(db, c, region, now)
        .await?
        .into_iter()
        .find(|s| s.model.id == milestone_id)
        .ok_or_else(|| AppError::not_found(key::THING_MILESTONE))
}

/// Every milestone of the campaign with its state in `region` at `now`.
async fn statuses_in(
    db: &DatabaseConnection,
    c: &campaign::Model,
    region: &region::Model,
    now: DateTime<Utc>,
) -> AppResult<Vec<MilestoneStatus>> {
    let counts = campaign_counts(db, c.id, region.id).await?;
    Ok(super::reach::milestones_for(db, c.id, region)
        .await?
        .into_iter()
        .map(|e| {
            let m = e.model;
            let actual = actual_percent(m.target_metric, &counts);
            MilestoneStatus {
                state: state(&m, actual, now),
                actual,
                expected: expected_percent(&m, now),
                model: m,
                base_ends_at: e.base_ends_at,
                base_target_percent: e.base_target_percent,
                tightened_in: e.tightened_in,
            }
        })
        .collect())
}

/// A campaign's milestones as the viewer's region sees them (see `home_region`).
pub async fn milestones_of(
    db: &DatabaseConnection,
    viewer: &Viewer,
    c: &campaign::Model,
    now: DateTime<Utc>,
) -> AppResult<Vec<MilestoneStatus>> {
    let home = super::reach::home_region(db, viewer, c).await?;
    statuses_in(db, c, &home, now).await
}

/// Changes a milestone's title, window or target (ADMIN); audited before → after.
pub async fn update_milestone(
    ctx: &Ctx,
    state: &AppState,
    id: Uuid,
    title: Option<String>,
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
    target_percent: Option<f64>,
) -> AppResult<MilestoneStatus> {
    let viewer = ctx.viewer()?;
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    viewer.require_role(&[entity::Role::Admin], key::ACT_EDIT_MILESTONES)?;
    let m = milestone::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::not_found(key::THING_MILESTONE))?;
    let c = campaign_or_latest(&state.db, viewer, Some(m.campaign_id)).await?;
    let campaign_region = require_campaign_team(&state.db, viewer, &c).await?;
    let starts = starts_at.unwrap_or(m.starts_at);
    let ends = ends_at.unwrap_or(m.ends_at);
    if ends <= starts {
        return Err(AppError::validation("endsAt", msg!(MILESTONE_ORDER)));
    }
    if target_percent.is_some_and(|p| !(0.0..=100.0).contains(&p)) {
        return Err(AppError::validation("targetPercent", msg!(TARGET_PERCENT)));
    }
    if let Some(t) = &title {
        if t.trim().is_empty() || t.chars().count() > 200 {
            return Err(AppError::validation("title", msg!(TEXT_LENGTH, max = 200).arg_key("what", key::FIELD_TITLE)));
        }
    }
    let before = serde_json::json!({ "title": m.title, "startsAt": m.starts_at, "endsAt": m.ends_at, "targetPercent": m.target_percent });
    let tx = Tx::begin(state, ctx.actor()?).await?;
    let txn = tx.conn();
    let mut am: milestone::ActiveModel = m.clone().into();
    if let Some(t) = title {
        am.title = Set(t.trim().to_owned());
    }
    am.starts_at = Set(starts);
    am.ends_at = Set(ends);
    if let Some(p) = target_percent {
        am.target_percent = Set(p);
    }
    am.updated_at = Set(ctx.now());
    let saved = am.update(txn).await?;
    tx.audit(
        NewEvent {
            action: "MILESTONE_UPDATED",
            entity_type: "Milestone",
            entity_id: Some(saved.id),
            region_id: Some(c.region_id),
            before: Some(before),
            after: Some(serde_json::json!({ "title": saved.title, "startsAt": saved.starts_at, "endsAt": saved.ends_at, "targetPercent": saved.target_percent })),
            ..Default::default()
        },
    )
    .await?;
    tx.commit(state).await?;
    status_in(&state.db, &c, &campaign_region, saved.id, ctx.now()).await
}

/// A campaign's own milestones belong to the team of the campaign's region
/// (or above); the levels below tighten them with `tighten_milestone`.
async fn require_campaign_team(
    db: &DatabaseConnection,
    viewer: &Viewer,
    c: &campaign::Model,
) -> AppResult<region::Model> {
    match region::Entity::find_by_id(c.region_id).one(db).await? {
        Some(r) if viewer.covers(&r) => Ok(r),
        _ => Err(AppError::forbidden(msg!(MILESTONE_CAMPAIGN_TEAM))),
    }
}

/// A campaign to create, over a region of any level down to the county.
pub struct NewCampaign<'a> {
    pub name: &'a str,
    pub region_id: Uuid,
    pub time_zone: &'a str,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub template: super::CampaignTemplate,
}

pub async fn create_campaign(ctx: &Ctx, state: &AppState, new: NewCampaign<'_>) -> AppResult<campaign::Model> {
    let NewCampaign { name, region_id, time_zone, starts_on, ends_on, template } = new;
    let viewer = ctx.viewer()?;
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    viewer.require_role(&[entity::Role::Admin], key::ACT_CREATE_CAMPAIGNS)?;
    let region = crate::domain::regions::get(&state.db, viewer, region_id).await?;
    if !viewer.covers(&region) || region.level.depth() > entity::RegionLevel::County.depth() {
        return Err(AppError::validation("regionId", msg!(CAMPAIGN_REGION)));
    }
    if name.trim().is_empty() || name.chars().count() > 200 {
        return Err(AppError::validation("name", msg!(TEXT_LENGTH, max = 200).arg_key("what", key::FIELD_NAME)));
    }
    let Ok(tz) = time_zone.parse::<chrono_tz::Tz>() else {
        return Err(AppError::validation("timeZone", msg!(TIME_ZONE)));
    };
    if ends_on < starts_on {
        return Err(AppError::validation("endsOn", msg!(CAMPAIGN_DATES)));
    }
    let tx = Tx::begin(state, ctx.actor()?).await?;
    let txn = tx.conn();
    let m = campaign::ActiveModel {
        id: Set(Uuid::new_v4()),
        name: Set(name.trim().into()),
        county_id: Set(region.id),
        region_id: Set(region.id),
        time_zone: Set(time_zone.into()),
        starts_on: Set(starts_on),
        ends_on: Set(ends_on),
        created_at: Set(ctx.now()),
    }
    .insert(txn)
    .await?;
    tx.audit(NewEvent {
        action: "CAMPAIGN_CREATED",
        entity_type: "Campaign",
        entity_id: Some(m.id),
        region_id: Some(region.id),
        after: Some(serde_json::json!({ "name": m.name, "startsOn": m.starts_on, "endsOn": m.ends_on,
            "region": region.code, "level": region.level.as_str() })),
        ..Default::default()
    })
    .await?;
    // A county's own campaign: the county takes part from the start.
    if region.level == entity::RegionLevel::County {
        entity::campaign_county::ActiveModel {
            campaign_id: Set(m.id),
            county_id: Set(region.id),
            joined_at: Set(ctx.now()),
        }
        .insert(txn)
        .await?;
    }
    super::templates::insert(&tx, &m, template.milestones(starts_on, tz), ctx.now()).await?;
    tx.commit(state).await?;
    Ok(m)
}

/// Adds a milestone to a campaign (ADMIN of its region); audited.
#[allow(clippy::too_many_arguments)]
pub async fn create_milestone(
    ctx: &Ctx,
    state: &AppState,
    campaign_id: Uuid,
    kind: &str,
    title: &str,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    metric: entity::MilestoneMetric,
    target_percent: f64,
) -> AppResult<MilestoneStatus> {
    let viewer = ctx.viewer()?;
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    viewer.require_role(&[entity::Role::Admin], key::ACT_CREATE_MILESTONES)?;
    let c = campaign_or_latest(&state.db, viewer, Some(campaign_id)).await?;
    let campaign_region = require_campaign_team(&state.db, viewer, &c).await?;
    let kind = kind.trim().to_uppercase();
    if kind.is_empty() || kind.len() > 32 || !kind.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
        return Err(AppError::validation("kind", msg!(MILESTONE_KIND)));
    }
    if title.trim().is_empty() || title.chars().count() > 200 {
        return Err(AppError::validation("title", msg!(TEXT_LENGTH, max = 200).arg_key("what", key::FIELD_TITLE)));
    }
    if ends_at <= starts_at {
        return Err(AppError::validation("endsAt", msg!(MILESTONE_ORDER)));
    }
    if !(0.0..=100.0).contains(&target_percent) {
        return Err(AppError::validation("targetPercent", msg!(TARGET_PERCENT)));
    }
    let now = ctx.now();
    let tx = Tx::begin(state, ctx.actor()?).await?;
    let txn = tx.conn();
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
    .insert(txn)
    .await?;
    tx.audit(NewEvent {
        action: "MILESTONE_CREATED",
        entity_type: "Milestone",
        entity_id: Some(m.id),
        region_id: Some(c.region_id),
        after: Some(
            serde_json::json!({ "kind": m.kind, "title": m.title, "startsAt": m.starts_at, "endsAt": m.ends_at,
                "targetMetric": m.target_metric.as_str(), "targetPercent": m.target_percent }),
        ),
        ..Default::default()
    })
    .await?;
    tx.commit(state).await?;
    status_in(&state.db, &c, &campaign_region, m.id, ctx.now()).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::progress::projected_completion;
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
