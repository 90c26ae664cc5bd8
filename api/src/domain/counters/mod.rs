//! Per-region progress counters. A household contributes a small vector of
//! figures (households, status:S, path:P, expected:P, errors, warnings) to
//! every region above it; a change is the difference of its vector before and
//! after, applied in the same transaction. Bulk operations recount one
//! county of a campaign from scratch (`recount`), which is also the drift check.

use crate::domain::error::AppResult;
use entity::{finding, household, region, region_counter, verification, Severity, VerificationStatus};
use sea_orm::{
    sea_query::{Expr, OnConflict, Query},
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

pub type Vector = BTreeMap<(Uuid, String), i64>;

/// Regions a household counts in: its village (if placed), township, county and above.
async fn ancestors<C: ConnectionTrait>(conn: &C, h: &household::Model) -> AppResult<Vec<Uuid>> {
    let Some(township) = region::Entity::find_by_id(h.township_id).one(conn).await? else { return Ok(vec![]) };
    let mut ids: Vec<Uuid> = region::Entity::find()
        .filter(region::Column::Path.is_in(crate::domain::regions::ancestor_paths(&township.path)))
        .all(conn)
        .await?
        .into_iter()
        .map(|r| r.id)
        .collect();
    if let Some(v) = h.village_id {
        ids.push(v);
    }
    Ok(ids)
}

pub(super) fn figures(
    status: Option<VerificationStatus>,
    v: Option<&verification::Model>,
    h: &household::Model,
    errors: i64,
    warnings: i64,
) -> Vec<(String, i64)> {
    let mut f = vec![
        ("households".to_string(), 1),
        (format!("status:{}", status.unwrap_or(VerificationStatus::NotStarted).as_str()), 1),
        ("errors".to_string(), errors),
        ("warnings".to_string(), warnings),
    ];
    if let Some(p) = v.and_then(|v| v.path) {
        f.push((format!("path:{}", p.as_str()), 1));
    }
    if let Some(p) = h.expected_path {
        f.push((format!("expected:{}", p.as_str()), 1));
    }
    f
}

/// The household's contribution to every region above it, as of now.
pub async fn vector<C: ConnectionTrait>(conn: &C, household_id: Uuid) -> AppResult<Vector> {
    let Some(h) = household::Entity::find_by_id(household_id).one(conn).await? else { return Ok(Vector::new()) };
    let v = verification::Entity::find()
        .filter(verification::Column::HouseholdId.eq(h.id))
        .filter(verification::Column::Practice.eq(false))
        .one(conn)
        .await?;
    let open = finding::Entity::find()
        .filter(finding::Column::HouseholdId.eq(h.id))
        .filter(finding::Column::Practice.eq(false))
        .filter(finding::Column::Open.eq(true))
        .all(conn)
        .await?;
    let errors = open.iter().filter(|f| f.severity == Severity::Error).count() as i64;
    let warnings = open.len() as i64 - errors;
    let mut out = Vector::new();
    for r in ancestors(conn, &h).await? {
        for (metric, n) in figures(v.as_ref().map(|v| v.status), v.as_ref(), &h, errors, warnings) {
            *out.entry((r, metric)).or_default() += n;
        }
    }
    Ok(out)
}

/// Remembers a household's figures before a change; `finish` applies the difference.
pub struct Tracker {
    campaign_id: Uuid,
    household_id: Uuid,
    before: Vector,
}

pub async fn track<C: ConnectionTrait>(conn: &C, campaign_id: Uuid, household_id: Uuid) -> AppResult<Tracker> {
    Ok(Tracker { campaign_id, household_id, before: vector(conn, household_id).await? })
}

impl Tracker {
    /// Applies the change, commits, then tells every API process which regions
    /// moved (live boards). The one way a tracked write transaction ends.
    pub async fn commit(self, state: &crate::AppState, txn: sea_orm::DatabaseTransaction) -> AppResult<()> {
        let moved = self.finish(&txn).await?;
        txn.commit().await?;
        state.notifier.publish(&state.db, moved).await;
        Ok(())
    }

    /// Applies the change; returns the regions whose figures moved.
    pub async fn finish<C: ConnectionTrait>(self, conn: &C) -> AppResult<Vec<Uuid>> {
        let after = vector(conn, self.household_id).await?;
        let mut deltas: BTreeMap<(Uuid, String), i64> = BTreeMap::new();
        for (k, n) in &after {
            *deltas.entry(k.clone()).or_default() += n;
        }
        for (k, n) in &self.before {
            *deltas.entry(k.clone()).or_default() -= n;
        }
        deltas.retain(|_, d| *d != 0);
        apply(conn, self.campaign_id, &deltas).await?;
        let mut regions: Vec<Uuid> = deltas.keys().map(|(r, _)| *r).collect();
        regions.dedup();
        Ok(regions)
    }
}

/// Adds the deltas to the stored counters (inserting missing ones).
pub(super) async fn apply<C: ConnectionTrait>(
    conn: &C,
    campaign_id: Uuid,
    deltas: &BTreeMap<(Uuid, String), i64>,
) -> AppResult<()> {
    for ((region_id, metric), d) in deltas {
        let stmt = Query::insert()
            .into_table(region_counter::Entity)
            .columns([
                region_counter::Column::CampaignId,
                region_counter::Column::RegionId,
                region_counter::Column::Metric,
                region_counter::Column::N,
            ])
            .values_panic([campaign_id.into(), (*region_id).into(), metric.clone().into(), (*d).into()])
            .on_conflict(
                OnConflict::columns([
                    region_counter::Column::CampaignId,
                    region_counter::Column::RegionId,
                    region_counter::Column::Metric,
                ])
                .value(region_counter::Column::N, Expr::cust("region_counters.n + excluded.n"))
                .to_owned(),
            )
            .to_owned();
        conn.execute(conn.get_database_backend().build(&stmt)).await?;
    }
    Ok(())
}

mod recount;
pub use recount::{campaign_counties, recount, recount_county, Drift};

/// The stored figures of some regions.
pub async fn read<C: ConnectionTrait>(
    conn: &C,
    campaign_id: Uuid,
    regions: &[Uuid],
) -> AppResult<HashMap<Uuid, HashMap<String, i64>>> {
    let mut out: HashMap<Uuid, HashMap<String, i64>> = regions.iter().map(|r| (*r, HashMap::new())).collect();
    for c in region_counter::Entity::find()
        .filter(region_counter::Column::CampaignId.eq(campaign_id))
        .filter(region_counter::Column::RegionId.is_in(regions.iter().copied()))
        .all(conn)
        .await?
    {
        out.entry(c.region_id).or_default().insert(c.metric, c.n);
    }
    Ok(out)
}
