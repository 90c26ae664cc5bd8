//! Milestone templates: a new campaign can start with a known set of
//! deadlines laid out from its first day instead of adding them one by one.

use crate::domain::{audit::NewEvent, error::AppResult, tx::Tx};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use entity::{campaign, milestone, MilestoneMetric};
use sea_orm::{ActiveModelTrait, ActiveValue::Set};
use uuid::Uuid;

/// Which milestones a new campaign starts with.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum CampaignTemplate {
    /// None: milestones are added one by one.
    #[default]
    None,
    /// The 2020 pilot's three: training, household verification, look-back review.
    Pilot2020,
}

/// A milestone a template lays out from the campaign's first day.
pub struct MilestoneSpec {
    pub kind: &'static str,
    pub title: &'static str,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub metric: MilestoneMetric,
    pub target_percent: f64,
}

/// The 2020 pilot's three milestones, moved to start on `first_day` (local
/// midnight in `tz`): training days 1–2, household verification days 2–6,
/// look-back review days 7–8; ends are exclusive.
pub fn pilot_2020(first_day: NaiveDate, tz: chrono_tz::Tz) -> Vec<MilestoneSpec> {
    let at = |days: i64| {
        let d = first_day + chrono::Duration::days(days);
        tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    };
    vec![
        MilestoneSpec {
            kind: "TRAINING",
            title: "动员培训 Mobilisation and training",
            starts_at: at(0),
            ends_at: at(2),
            metric: MilestoneMetric::None,
            target_percent: 0.0,
        },
        MilestoneSpec {
            kind: "VERIFICATION",
            title: "逐户核验 Household verification",
            starts_at: at(1),
            ends_at: at(6),
            metric: MilestoneMetric::Submitted,
            target_percent: 100.0,
        },
        MilestoneSpec {
            kind: "LOOK_BACK",
            title: "回头看 Look-back review",
            starts_at: at(6),
            ends_at: at(8),
            metric: MilestoneMetric::Approved,
            target_percent: 100.0,
        },
    ]
}

impl CampaignTemplate {
    pub fn milestones(self, first_day: NaiveDate, tz: chrono_tz::Tz) -> Vec<MilestoneSpec> {
        match self {
            Self::None => Vec::new(),
            Self::Pilot2020 => pilot_2020(first_day, tz),
        }
    }
}

/// Inserts the template's milestones into a new campaign, each audited.
pub(super) async fn insert(
    tx: &Tx,
    c: &campaign::Model,
    specs: Vec<MilestoneSpec>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    for s in specs {
        let m = milestone::ActiveModel {
            id: Set(Uuid::new_v4()),
            campaign_id: Set(c.id),
            kind: Set(s.kind.into()),
            title: Set(s.title.into()),
            starts_at: Set(s.starts_at),
            ends_at: Set(s.ends_at),
            target_metric: Set(s.metric),
            target_percent: Set(s.target_percent),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(tx.conn())
        .await?;
        tx.audit(NewEvent {
            action: "MILESTONE_CREATED",
            entity_type: "Milestone",
            entity_id: Some(m.id),
            region_id: Some(c.region_id),
            after: Some(serde_json::json!({ "kind": m.kind, "title": m.title, "startsAt": m.starts_at,
                "endsAt": m.ends_at, "targetMetric": m.target_metric.as_str(), "targetPercent": m.target_percent })),
            ..Default::default()
        })
        .await?;
    }
    Ok(())
}
