//! Per-region progress counters. A household contributes a small vector of
//! figures (households, status:S, path:P, expected:P, errors, warnings) to
//! every region above it; a change is the difference of its vector before and
//! after, applied in the same transaction. Bulk operations recount a campaign
//! (one county) from scratch, which is also the drift check.

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

fn figures(
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
async fn apply<C: ConnectionTrait>(
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

/// A counter that did not match a recount.
#[derive(Debug, Clone, PartialEq)]
pub struct Drift {
    pub region_id: Uuid,
    pub metric: String,
    pub stored: i64,
    pub actual: i64,
}

type Counts = BTreeMap<(Uuid, String), i64>;

/// Recomputes a campaign's counters from its households; stores them and
/// returns every counter that differed (the drift).
pub async fn recount<C: ConnectionTrait>(conn: &C, campaign_id: Uuid) -> AppResult<Vec<Drift>> {
    let households = household::Entity::find().filter(household::Column::CampaignId.eq(campaign_id)).all(conn).await?;
    let verifications: HashMap<Uuid, verification::Model> = verification::Entity::find()
        .filter(verification::Column::CampaignId.eq(campaign_id))
        .filter(verification::Column::Practice.eq(false))
        .all(conn)
        .await?
        .into_iter()
        .map(|v| (v.household_id, v))
        .collect();
    let open = open_findings(conn, campaign_id).await?;
    let actual = tally(conn, campaign_id, &households, &verifications, &open).await?;
    let stored: Counts = region_counter::Entity::find()
        .filter(region_counter::Column::CampaignId.eq(campaign_id))
        .all(conn)
        .await?
        .into_iter()
        .map(|c| ((c.region_id, c.metric), c.n))
        .collect();
    let drift = drift(&actual, &stored);
    replace(conn, campaign_id, actual).await?;
    Ok(drift)
}

/// Open (errors, warnings) per household, leaving practice findings out.
async fn open_findings<C: ConnectionTrait>(conn: &C, campaign_id: Uuid) -> AppResult<HashMap<Uuid, (i64, i64)>> {
    let mut open: HashMap<Uuid, (i64, i64)> = HashMap::new();
    for f in finding::Entity::find()
        .filter(finding::Column::CampaignId.eq(campaign_id))
        .filter(finding::Column::Practice.eq(false))
        .filter(finding::Column::Open.eq(true))
        .all(conn)
        .await?
    {
        let e = open.entry(f.household_id).or_default();
        if f.severity == Severity::Error {
            e.0 += 1;
        } else {
            e.1 += 1;
        }
    }
    Ok(open)
}

/// What the counters should be: every household's figures added to each
/// region it counts in.
async fn tally<C: ConnectionTrait>(
    conn: &C,
    campaign_id: Uuid,
    households: &[household::Model],
    verifications: &HashMap<Uuid, verification::Model>,
    open: &HashMap<Uuid, (i64, i64)>,
) -> AppResult<Counts> {
    // Ancestors of every township, from the region tree (one query).
    let campaign = entity::campaign::Entity::find_by_id(campaign_id).one(conn).await?;
    let county = match campaign {
        Some(c) => region::Entity::find_by_id(c.county_id).one(conn).await?,
        None => None,
    };
    let mut actual = Counts::new();
    let Some(county) = county else { return Ok(actual) };
    let mut wanted = crate::domain::regions::ancestor_paths(&county.path);
    wanted.pop(); // the county itself comes with the subtree below
    let above: Vec<Uuid> = region::Entity::find()
        .filter(region::Column::Path.is_in(wanted))
        .all(conn)
        .await?
        .into_iter()
        .map(|r| r.id)
        .collect();
    let townships: HashMap<Uuid, region::Model> = region::Entity::find()
        .filter(region::Column::ParentId.eq(county.id))
        .all(conn)
        .await?
        .into_iter()
        .map(|r| (r.id, r))
        .collect();
    for h in households {
        let v = verifications.get(&h.id);
        let (errors, warnings) = open.get(&h.id).copied().unwrap_or_default();
        let mut regions = above.clone();
        regions.push(county.id);
        if townships.contains_key(&h.township_id) {
            regions.push(h.township_id);
        }
        if let Some(vid) = h.village_id {
            regions.push(vid);
        }
        for r in regions {
            for (metric, n) in figures(v.map(|v| v.status), v, h, errors, warnings) {
                *actual.entry((r, metric)).or_default() += n;
            }
        }
    }
    Ok(actual)
}

/// Every counter whose stored value differs from the recount.
fn drift(actual: &Counts, stored: &Counts) -> Vec<Drift> {
    let mut drift = Vec::new();
    for (k, n) in actual {
        let s = stored.get(k).copied().unwrap_or(0);
        if s != *n {
            drift.push(Drift { region_id: k.0, metric: k.1.clone(), stored: s, actual: *n });
        }
    }
    for (k, s) in stored {
        if !actual.contains_key(k) && *s != 0 {
            drift.push(Drift { region_id: k.0, metric: k.1.clone(), stored: *s, actual: 0 });
        }
    }
    drift
}

/// Replaces the campaign's stored counters with the recount (zeros left out).
async fn replace<C: ConnectionTrait>(conn: &C, campaign_id: Uuid, actual: Counts) -> AppResult<()> {
    region_counter::Entity::delete_many().filter(region_counter::Column::CampaignId.eq(campaign_id)).exec(conn).await?;
    let rows: Vec<region_counter::ActiveModel> = actual
        .into_iter()
        .filter(|(_, n)| *n != 0)
        .map(|((region_id, metric), n)| region_counter::ActiveModel {
            campaign_id: sea_orm::ActiveValue::Set(campaign_id),
            region_id: sea_orm::ActiveValue::Set(region_id),
            metric: sea_orm::ActiveValue::Set(metric),
            n: sea_orm::ActiveValue::Set(n),
        })
        .collect();
    for chunk in rows.chunks(500) {
        region_counter::Entity::insert_many(chunk.to_vec()).exec_without_returning(conn).await?;
    }
    Ok(())
}

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
