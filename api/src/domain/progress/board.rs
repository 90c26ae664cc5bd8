//! A region's progress board, read from the per-region counters: figures by
//! status and path, each milestone seen from the region, who is behind pace,
//! and the burn-up series from the audit trail.

use super::campaigns::{campaign_or_latest, expected_percent, state, CampaignCounts, Figures, MilestoneState};
use crate::domain::error::msg;
use crate::domain::{
    auth::region_household_condition,
    counters,
    ctx::Ctx,
    error::{AppError, AppResult},
    regions,
};
use chrono::{DateTime, Utc};
use entity::{campaign, milestone, region};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

/// Everything a board shows for one region, read from the counters.
#[derive(Clone)]
pub struct Board {
    pub region: region::Model,
    pub campaign: campaign::Model,
    pub figures: Figures,
    pub milestones: Vec<milestone::Model>,
}

/// A milestone seen from one region.
pub struct MilestoneProgress {
    pub milestone: milestone::Model,
    pub state: MilestoneState,
    pub actual_percent: Option<f64>,
    pub expected_percent: f64,
    pub projected_completion: Option<DateTime<Utc>>,
}

/// One bucket of the burn-up chart: cumulative households submitted and approved by `at`.
pub struct ProgressPoint {
    pub at: DateTime<Utc>,
    pub label: String,
    pub submitted: u64,
    pub approved: u64,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Bucket {
    Day,
    Hour,
}

pub const STATUSES: [entity::VerificationStatus; 6] = [
    entity::VerificationStatus::NotStarted,
    entity::VerificationStatus::Draft,
    entity::VerificationStatus::Submitted,
    entity::VerificationStatus::Returned,
    entity::VerificationStatus::Approved,
    entity::VerificationStatus::Reopened,
];
pub const PATHS: [entity::SafetyPath; 3] =
    [entity::SafetyPath::Appraised, entity::SafetyPath::Renovated, entity::SafetyPath::Secured];

/// Progress of a region (default: the viewer's own) in a campaign (default: the newest).
pub async fn progress_for(
    ctx: &Ctx,
    db: &DatabaseConnection,
    region_id: Option<Uuid>,
    campaign_id: Option<Uuid>,
) -> AppResult<Board> {
    let viewer = ctx.viewer()?;
    let campaign = campaign_or_latest(db, viewer, campaign_id).await?;
    let region = match region_id {
        Some(id) => regions::get(db, viewer, id).await?,
        // A viewer above the campaign's region sees the campaign's region.
        None => super::reach::home_region(db, viewer, &campaign).await?,
    };
    if !viewer.covers(&region) {
        return Err(AppError::forbidden(msg!(PROGRESS_OWN_REGION)));
    }
    let figures = counters::read(db, campaign.id, &[region.id]).await?.remove(&region.id).unwrap_or_default();
    let milestones =
        super::reach::milestones_for(db, campaign.id, &region).await?.into_iter().map(|e| e.model).collect();
    Ok(Board { region, campaign, figures: Figures(figures), milestones })
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

impl Board {
    pub fn percent(&self, n: u64) -> f64 {
        let total = self.figures.get("households");
        if total == 0 {
            0.0
        } else {
            (n as f64 * 10000.0 / total as f64).round() / 100.0
        }
    }
    pub fn actual(&self, metric: entity::MilestoneMetric) -> Option<f64> {
        let c = self.figures.counts();
        match metric {
            entity::MilestoneMetric::None => None,
            entity::MilestoneMetric::Submitted => Some(self.percent(c.submitted)),
            entity::MilestoneMetric::Approved => Some(self.percent(c.approved)),
        }
    }
    /// Percentage points behind the pace milestone's expected line (negative = ahead).
    pub fn gap(&self, now: DateTime<Utc>) -> f64 {
        match pace_milestone(&self.milestones, now) {
            Some(m) => expected_percent(m, now) - self.actual(m.target_metric).unwrap_or(0.0),
            None => 0.0,
        }
    }
}

impl Board {
    pub fn counts(&self) -> CampaignCounts {
        self.figures.counts()
    }

    /// Each milestone as seen from this region: state, expected vs actual, projected finish.
    pub fn milestone_progress(&self, now: DateTime<Utc>) -> Vec<MilestoneProgress> {
        self.milestones
            .iter()
            .map(|m| {
                let actual = self.actual(m.target_metric);
                MilestoneProgress {
                    milestone: m.clone(),
                    state: state(m, actual, now),
                    actual_percent: actual,
                    expected_percent: (expected_percent(m, now) * 100.0).round() / 100.0,
                    projected_completion: actual.and_then(|a| projected_completion(m, a, now)),
                }
            })
            .collect()
    }
}

/// The regions directly below `board`'s that are behind pace, worst first.
pub async fn behind_pace(
    db: &DatabaseConnection,
    board: &Board,
    first: i32,
    now: DateTime<Utc>,
) -> AppResult<Vec<Board>> {
    if !(0..=500).contains(&first) {
        return Err(AppError::validation("first", msg!(FIRST_RANGE, max = 500)));
    }
    let children = region::Entity::find().filter(region::Column::ParentId.eq(board.region.id)).all(db).await?;
    let ids: Vec<Uuid> = children.iter().map(|c| c.id).collect();
    let mut figures = counters::read(db, board.campaign.id, &ids).await?;
    // A child that tightened a milestone is measured against its own deadline.
    let mut tightened = super::reach::milestones_for_children(db, &board.milestones, &ids).await?;
    let mut rows: Vec<(f64, Board)> = children
        .into_iter()
        .map(|r| {
            let f = Figures(figures.remove(&r.id).unwrap_or_default());
            let milestones = tightened.remove(&r.id).unwrap_or_else(|| board.milestones.clone());
            let node = Board { region: r, campaign: board.campaign.clone(), figures: f, milestones };
            (node.gap(now), node)
        })
        .filter(|(gap, n)| *gap > 0.0 && n.figures.get("households") > 0)
        .collect();
    rows.sort_by(|a, b| {
        b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal).then(a.1.region.code.cmp(&b.1.region.code))
    });
    Ok(rows.into_iter().take(first as usize).map(|(_, n)| n).collect())
}

pub async fn series(db: &DatabaseConnection, p: &Board, bucket: Bucket) -> AppResult<Vec<ProgressPoint>> {
    use chrono::TimeZone;
    use entity::audit_event;
    let tz: chrono_tz::Tz = p.campaign.time_zone.parse().unwrap_or(chrono_tz::Asia::Shanghai);
    let regions = regions::subtree_ids(db, &p.region).await?;
    let households: std::collections::HashSet<Uuid> = entity::household::Entity::find()
        .select_only()
        .column(entity::household::Column::Id)
        .filter(entity::household::Column::CampaignId.eq(p.campaign.id))
        .filter(region_household_condition(p.region.id, p.region.level, &p.region.path))
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
