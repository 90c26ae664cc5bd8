//! Recounting from scratch: one county of a campaign at a time (what an
//! import or a check run changes), so memory and time follow the county, not
//! the campaign; regions above the county move by the county's difference.
//! A whole-campaign recount redoes every county, then sums the counties into
//! the regions above them, which is also the drift check for those.

use super::{apply, figures};
use crate::domain::error::AppResult;
use entity::{campaign_county, finding, household, region, region_counter, verification, Severity};
use sea_orm::{sea_query::Query, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// A counter that did not match a recount.
#[derive(Debug, Clone, PartialEq)]
pub struct Drift {
    pub region_id: Uuid,
    pub metric: String,
    pub stored: i64,
    pub actual: i64,
}

type Counts = BTreeMap<(Uuid, String), i64>;

/// Recomputes every counter of a campaign: each county's subtree from its
/// households, then the regions above the counties as their sums. Returns
/// every counter that differed (the drift); stores the recount.
pub async fn recount<C: ConnectionTrait>(conn: &C, campaign_id: Uuid) -> AppResult<Vec<Drift>> {
    let counties = campaign_counties(conn, campaign_id).await?;
    let mut drift = Vec::new();
    let mut county_totals: Vec<(region::Model, HashMap<String, i64>)> = Vec::new();
    for county in counties {
        let (d, actual, _) = recount_subtree(conn, campaign_id, &county).await?;
        drift.extend(d);
        county_totals.push((county, actual));
    }
    drift.extend(recount_above(conn, campaign_id, &county_totals).await?);
    Ok(drift)
}

/// Recomputes one county's counters in a campaign and moves the regions above
/// it by the county's difference; returns the county subtree's drift.
pub async fn recount_county<C: ConnectionTrait>(
    conn: &C,
    campaign_id: Uuid,
    county: &region::Model,
) -> AppResult<Vec<Drift>> {
    let (drift, actual, stored) = recount_subtree(conn, campaign_id, county).await?;
    let mut deltas: BTreeMap<(Uuid, String), i64> = BTreeMap::new();
    for r in above_ids(conn, std::slice::from_ref(county)).await?.remove(&county.id).unwrap_or_default() {
        for (metric, n) in &actual {
            *deltas.entry((r, metric.clone())).or_default() += n;
        }
        for (metric, n) in &stored {
            *deltas.entry((r, metric.clone())).or_default() -= n;
        }
    }
    deltas.retain(|_, d| *d != 0);
    apply(conn, campaign_id, &deltas).await?;
    Ok(drift)
}

/// The counties taking part in a campaign, by code.
pub async fn campaign_counties<C: ConnectionTrait>(conn: &C, campaign_id: Uuid) -> AppResult<Vec<region::Model>> {
    Ok(region::Entity::find()
        .filter(
            region::Column::Id.in_subquery(
                Query::select()
                    .column(campaign_county::Column::CountyId)
                    .from(campaign_county::Entity)
                    .and_where(campaign_county::Column::CampaignId.eq(campaign_id))
                    .to_owned(),
            ),
        )
        .order_by_asc(region::Column::Code)
        .all(conn)
        .await?)
}

/// Each county's ancestors (province, city), by id, in one query.
async fn above_ids<C: ConnectionTrait>(conn: &C, counties: &[region::Model]) -> AppResult<HashMap<Uuid, Vec<Uuid>>> {
    let mut wanted: Vec<String> = Vec::new();
    for c in counties {
        let mut paths = crate::domain::regions::ancestor_paths(&c.path);
        paths.pop(); // the county itself
        wanted.extend(paths);
    }
    wanted.sort();
    wanted.dedup();
    let mut by_path: HashMap<String, Uuid> = HashMap::new();
    for chunk in wanted.chunks(500) {
        for r in region::Entity::find().filter(region::Column::Path.is_in(chunk.to_vec())).all(conn).await? {
            by_path.insert(r.path, r.id);
        }
    }
    Ok(counties
        .iter()
        .map(|c| {
            let mut paths = crate::domain::regions::ancestor_paths(&c.path);
            paths.pop();
            (c.id, paths.iter().filter_map(|p| by_path.get(p).copied()).collect())
        })
        .collect())
}

/// Recounts a county's subtree (county, townships, villages) and replaces its
/// stored counters; returns the drift and the county's own figures, recounted
/// and as they were stored.
async fn recount_subtree<C: ConnectionTrait>(
    conn: &C,
    campaign_id: Uuid,
    county: &region::Model,
) -> AppResult<(Vec<Drift>, HashMap<String, i64>, HashMap<String, i64>)> {
    let in_county = || {
        Query::select()
            .column(household::Column::Id)
            .from(household::Entity)
            .and_where(household::Column::CampaignId.eq(campaign_id))
            .and_where(household::Column::CountyId.eq(county.id))
            .to_owned()
    };
    let households = household::Entity::find()
        .filter(household::Column::CampaignId.eq(campaign_id))
        .filter(household::Column::CountyId.eq(county.id))
        .all(conn)
        .await?;
    let verifications: HashMap<Uuid, verification::Model> = verification::Entity::find()
        .filter(verification::Column::CampaignId.eq(campaign_id))
        .filter(verification::Column::Practice.eq(false))
        .filter(verification::Column::HouseholdId.in_subquery(in_county()))
        .all(conn)
        .await?
        .into_iter()
        .map(|v| (v.household_id, v))
        .collect();
    let mut open: HashMap<Uuid, (i64, i64)> = HashMap::new();
    for f in finding::Entity::find()
        .filter(finding::Column::CampaignId.eq(campaign_id))
        .filter(finding::Column::Practice.eq(false))
        .filter(finding::Column::Open.eq(true))
        .filter(finding::Column::HouseholdId.in_subquery(in_county()))
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
    let subtree: Vec<Uuid> = region::Entity::find()
        .select_only()
        .column(region::Column::Id)
        .filter(region::Column::Path.starts_with(&county.path))
        .into_tuple()
        .all(conn)
        .await?;
    let mut actual = Counts::new();
    for h in &households {
        let v = verifications.get(&h.id);
        let (errors, warnings) = open.get(&h.id).copied().unwrap_or_default();
        let mut regions = vec![county.id, h.township_id];
        regions.extend(h.village_id);
        for r in regions {
            for (metric, n) in figures(v.map(|v| v.status), v, h, errors, warnings) {
                *actual.entry((r, metric)).or_default() += n;
            }
        }
    }
    let stored = stored_counts(conn, campaign_id, &subtree).await?;
    let drift = drift(&actual, &stored);
    let own = |c: &Counts| -> HashMap<String, i64> {
        c.iter().filter(|((r, _), _)| *r == county.id).map(|((_, m), n)| (m.clone(), *n)).collect()
    };
    let (county_actual, county_stored) = (own(&actual), own(&stored));
    replace(conn, campaign_id, &subtree, actual).await?;
    Ok((drift, county_actual, county_stored))
}

/// The regions above the campaign's counties get the sums of their counties.
async fn recount_above<C: ConnectionTrait>(
    conn: &C,
    campaign_id: Uuid,
    county_totals: &[(region::Model, HashMap<String, i64>)],
) -> AppResult<Vec<Drift>> {
    let counties: Vec<region::Model> = county_totals.iter().map(|(c, _)| c.clone()).collect();
    let above = above_ids(conn, &counties).await?;
    let mut actual = Counts::new();
    for (county, totals) in county_totals {
        for r in above.get(&county.id).into_iter().flatten() {
            for (metric, n) in totals {
                *actual.entry((*r, metric.clone())).or_default() += n;
            }
        }
    }
    let mut ids: Vec<Uuid> = above.values().flatten().copied().collect();
    ids.sort();
    ids.dedup();
    let stored = stored_counts(conn, campaign_id, &ids).await?;
    let drift = drift(&actual, &stored);
    replace(conn, campaign_id, &ids, actual).await?;
    Ok(drift)
}

async fn stored_counts<C: ConnectionTrait>(conn: &C, campaign_id: Uuid, regions: &[Uuid]) -> AppResult<Counts> {
    let mut out = Counts::new();
    for chunk in regions.chunks(500) {
        for c in region_counter::Entity::find()
            .filter(region_counter::Column::CampaignId.eq(campaign_id))
            .filter(region_counter::Column::RegionId.is_in(chunk.to_vec()))
            .all(conn)
            .await?
        {
            out.insert((c.region_id, c.metric), c.n);
        }
    }
    Ok(out)
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

/// Replaces the stored counters of `regions` with the recount (zeros left out).
async fn replace<C: ConnectionTrait>(conn: &C, campaign_id: Uuid, regions: &[Uuid], actual: Counts) -> AppResult<()> {
    for chunk in regions.chunks(500) {
        region_counter::Entity::delete_many()
            .filter(region_counter::Column::CampaignId.eq(campaign_id))
            .filter(region_counter::Column::RegionId.is_in(chunk.to_vec()))
            .exec(conn)
            .await?;
    }
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
