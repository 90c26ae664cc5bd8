//! Look-back review sampling (回头看): besides re-checking every record, an ADMIN
//! draws a reproducible random sample of approved households (a percentage per
//! township, at least N per village) for an independent re-check by someone
//! other than the person who entered the record. Results and disagreements are
//! recorded; a disagreement opens a LOOK_BACK finding on the household.

use crate::domain::error::{key, msg};
use crate::{
    domain::{
        audit::NewEvent,
        auth::{region_household_condition, Viewer},
        checks,
        ctx::Ctx,
        error::{AppError, AppResult},
        progress, regions,
        rng::Rng,
        tx::Tx,
    },
    AppState,
};
use entity::{
    account, household,
    lookback::{item, sample},
    region, verification, RegionLevel, Role, VerificationStatus,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

/// Which households to re-check: per township ⌈percent⌉ of its approved
/// households, topped up to `min_per_village` in every village that has any.
/// Input is (household, township, village) sorted by code; the result is sorted too.
pub fn choose(
    candidates: &[(household::Model, Uuid, Option<Uuid>)],
    percent: f64,
    min_per_village: usize,
    seed: i64,
) -> Vec<usize> {
    let mut by_township: BTreeMap<Uuid, Vec<usize>> = BTreeMap::new();
    for (i, c) in candidates.iter().enumerate() {
        by_township.entry(c.1).or_default().push(i);
    }
    let mut chosen = Vec::new();
    for (township, mut idx) in by_township {
        let want = ((idx.len() as f64) * percent / 100.0).ceil() as usize;
        Rng(seed as u64 ^ fnv(&township.to_string())).shuffle(&mut idx);
        let mut picked: Vec<usize> = idx.iter().take(want).copied().collect();
        let mut per_village: HashMap<Option<Uuid>, usize> = HashMap::new();
        for i in &picked {
            *per_village.entry(candidates[*i].2).or_default() += 1;
        }
        for i in idx.iter().skip(want) {
            let v = candidates[*i].2;
            let n = per_village.entry(v).or_default();
            if *n < min_per_village {
                *n += 1;
                picked.push(*i);
            }
        }
        chosen.extend(picked);
    }
    chosen.sort();
    chosen
}

fn account_covers(region: &region::Model, h: &household::Model) -> bool {
    match region.level {
        RegionLevel::County => h.county_id == region.id,
        RegionLevel::Township => h.township_id == region.id,
        RegionLevel::Village => h.village_id == Some(region.id),
        _ => false,
    }
}

/// What a draw asks for.
pub struct DrawSpec {
    pub region_id: Uuid,
    pub campaign_id: Option<Uuid>,
    pub percent: f64,
    pub min_per_village: i32,
    pub seed: i64,
    pub checker_ids: Vec<Uuid>,
}

/// Draws a reproducible sample of approved households under a region and
/// assigns each to a checker who can see it and did not enter it (ADMIN).
pub async fn draw(ctx: &Ctx, state: &AppState, spec: DrawSpec) -> AppResult<sample::Model> {
    let viewer = ctx.viewer()?;
    viewer.require_role(&[Role::Admin], key::ACT_DRAW_SAMPLES)?;
    let DrawSpec { region_id, campaign_id, percent, min_per_village, seed, checker_ids } = spec;
    if !(percent > 0.0 && percent <= 100.0) {
        return Err(AppError::validation("percent", msg!(LOOKBACK_PERCENT)));
    }
    if !(0..=100).contains(&min_per_village) {
        return Err(AppError::validation("minPerVillage", msg!(LOOKBACK_PER_VILLAGE)));
    }
    if checker_ids.is_empty() {
        return Err(AppError::validation("checkerIds", msg!(LOOKBACK_CHECKERS)));
    }
    let db = &state.db;
    let region = regions::get(db, viewer, region_id).await?;
    if !viewer.covers(&region) {
        return Err(AppError::forbidden(msg!(REGION_OUTSIDE)));
    }
    let campaign = progress::campaign_or_latest(db, viewer, campaign_id).await?;
    let usable = checkers(db, viewer, &checker_ids).await?;
    let rows = approved_under(db, viewer, &region, campaign.id).await?;
    let candidates: Vec<(household::Model, Uuid, Option<Uuid>)> =
        rows.iter().map(|(h, _)| (h.clone(), h.township_id, h.village_id)).collect();
    if candidates.is_empty() {
        return Err(AppError::validation("regionId", msg!(LOOKBACK_NOTHING)));
    }
    let chosen = choose(&candidates, percent, min_per_village as usize, seed);
    let sample = sample::Model {
        id: Uuid::new_v4(),
        campaign_id: campaign.id,
        region_id: region.id,
        seed,
        percent,
        min_per_village,
        created_by: viewer.account_id().unwrap_or_default(),
        created_at: ctx.now(),
    };
    let items = assign(&sample, &rows, &chosen, &usable)?;
    let tx = Tx::begin(state, ctx.actor()?).await?;
    let txn = tx.conn();
    sample::ActiveModel::from(sample.clone()).insert(txn).await?;
    let n = items.len();
    for chunk in items.chunks(300) {
        item::Entity::insert_many(chunk.to_vec()).exec_without_returning(txn).await?;
    }
    tx.audit(NewEvent {
        action: "LOOKBACK_SAMPLE_DRAWN",
        entity_type: "LookBackSample",
        entity_id: Some(sample.id),
        region_id: Some(region.id),
        after: Some(json!({ "seed": seed, "percent": percent, "minPerVillage": min_per_village, "items": n })),
        ..Default::default()
    })
    .await?;
    tx.commit(state).await?;
    Ok(sample)
}

/// Checkers: accounts of the viewer's region that may work on records (not SUPERVISOR).
async fn checkers(
    db: &DatabaseConnection,
    viewer: &Viewer,
    checker_ids: &[Uuid],
) -> AppResult<Vec<(account::Model, region::Model)>> {
    let found = account::Entity::find().filter(account::Column::Id.is_in(checker_ids.iter().copied())).all(db).await?;
    let checker_regions: HashMap<Uuid, region::Model> = region::Entity::find()
        .filter(region::Column::Id.is_in(found.iter().map(|c| c.region_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.id, r))
        .collect();
    let mut usable = Vec::new();
    for id in checker_ids {
        let c = found.iter().find(|c| c.id == *id).ok_or_else(|| AppError::not_found(key::THING_ACCOUNT))?;
        let r = checker_regions.get(&c.region_id).ok_or_else(|| AppError::not_found(key::THING_ACCOUNT))?;
        if !viewer.covers(r) {
            return Err(AppError::not_found(key::THING_ACCOUNT));
        }
        if c.role == entity::Role::Supervisor || c.disabled {
            return Err(AppError::validation("checkerIds", msg!(LOOKBACK_CHECKER_ROLE, username = &c.username)));
        }
        usable.push((c.clone(), r.clone()));
    }
    Ok(usable)
}

/// Approved (non-practice) households under `region` in the viewer's scope, by code.
async fn approved_under(
    db: &DatabaseConnection,
    viewer: &Viewer,
    region: &region::Model,
    campaign_id: Uuid,
) -> AppResult<Vec<(household::Model, Option<verification::Model>)>> {
    let approved: HashMap<Uuid, verification::Model> = verification::Entity::find()
        .filter(verification::Column::CampaignId.eq(campaign_id))
        .filter(verification::Column::Practice.eq(false))
        .filter(verification::Column::Status.eq(VerificationStatus::Approved))
        .all(db)
        .await?
        .into_iter()
        .map(|v| (v.household_id, v))
        .collect();
    Ok(household::Entity::find()
        .filter(household::Column::CampaignId.eq(campaign_id))
        .filter(viewer.household_condition())
        .filter(region_household_condition(region.id, region.level, &region.path))
        .filter(household::Column::Id.is_in(approved.keys().copied()))
        .order_by_asc(household::Column::Code)
        .all(db)
        .await?
        .into_iter()
        .map(|h| {
            let v = approved.get(&h.id).cloned();
            (h, v)
        })
        .collect())
}

/// Round robin over checkers who can see the household and did not enter it.
fn assign(
    sample: &sample::Model,
    rows: &[(household::Model, Option<verification::Model>)],
    chosen: &[usize],
    usable: &[(account::Model, region::Model)],
) -> AppResult<Vec<item::ActiveModel>> {
    let mut items = Vec::new();
    let mut turn = 0usize;
    for i in chosen {
        let (h, v) = &rows[*i];
        let entered_by = v.as_ref().and_then(|v| v.verified_by);
        // Round robin over checkers who can see the household and did not enter it.
        let pick = (0..usable.len())
            .map(|k| (turn + k) % usable.len())
            .find(|k| Some(usable[*k].0.id) != entered_by && account_covers(&usable[*k].1, h))
            .ok_or_else(|| AppError::validation("checkerIds", msg!(LOOKBACK_NO_OTHER_CHECKER, code = &h.code)))?;
        turn = pick + 1;
        items.push(item::ActiveModel {
            id: Set(Uuid::new_v4()),
            sample_id: Set(sample.id),
            household_id: Set(h.id),
            assigned_to: Set(usable[pick].0.id),
            status: Set("PENDING".into()),
            notes: Set(None),
            checked_at: Set(None),
        });
    }
    Ok(items)
}

/// Records a checker's result; a disagreement opens a LOOK_BACK finding.
pub async fn record(
    ctx: &Ctx,
    state: &AppState,
    item_id: Uuid,
    agrees: bool,
    notes: Option<String>,
) -> AppResult<item::Model> {
    let viewer = ctx.viewer()?;
    let it = item::Entity::find_by_id(item_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::not_found(key::THING_LOOKBACK_ITEM))?;
    if Some(it.assigned_to) != viewer.account_id() {
        return Err(AppError::not_found(key::THING_LOOKBACK_ITEM));
    }
    if it.status != "PENDING" {
        return Err(AppError::InvalidTransition { message: msg!(LOOKBACK_DONE), current: it.status.clone() });
    }
    let notes = notes.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if !agrees && notes.is_none() {
        return Err(AppError::validation("notes", msg!(LOOKBACK_SAY_WHAT)));
    }
    if notes.as_ref().is_some_and(|n| n.chars().count() > 1000) {
        return Err(AppError::validation("notes", msg!(TEXT_TOO_LONG, max = 1000).arg_key("what", key::FIELD_NOTES)));
    }
    let h = household::Entity::find_by_id(it.household_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::not_found(key::THING_HOUSEHOLD))?;
    let now = ctx.now();
    let tx = Tx::begin(state, ctx.actor()?).await?;
    let txn = tx.conn();
    tx.track(h.campaign_id, h.id).await?;
    let mut am: item::ActiveModel = it.clone().into();
    am.status = Set(if agrees { "AGREES" } else { "DISAGREES" }.into());
    am.notes = Set(notes.clone());
    am.checked_at = Set(Some(now));
    let saved = am.update(txn).await?;
    if !agrees {
        checks::open_look_back(txn, &h, None, false, json!({ "reason": notes, "sample": it.sample_id })).await?;
    }
    tx.audit(NewEvent {
        action: "LOOKBACK_CHECKED",
        entity_type: "LookBackItem",
        entity_id: Some(it.id),
        household_id: Some(h.id),
        region_id: h.village_id.or(Some(h.township_id)),
        before: None,
        after: Some(json!({ "agrees": agrees, "notes": notes })),
    })
    .await?;
    tx.commit(state).await?;
    Ok(saved)
}

/// A sample's items whose household is inside the viewer's region.
pub async fn visible_items(ctx: &Ctx, db: &DatabaseConnection, sample_id: Uuid) -> AppResult<Vec<item::Model>> {
    let viewer = ctx.viewer()?;
    let mine = sea_orm::sea_query::Query::select()
        .column(household::Column::Id)
        .from(household::Entity)
        .cond_where(viewer.household_condition())
        .to_owned();
    Ok(item::Entity::find()
        .filter(item::Column::SampleId.eq(sample_id))
        .filter(item::Column::HouseholdId.in_subquery(mine))
        .all(db)
        .await?)
}

/// Items in the viewer's region by status: PENDING, AGREES, DISAGREES.
pub async fn status_counts(ctx: &Ctx, db: &DatabaseConnection, sample_id: Uuid) -> AppResult<BTreeMap<String, u64>> {
    let rows = visible_items(ctx, db, sample_id).await?;
    let mut by: BTreeMap<String, u64> = ["AGREES", "DISAGREES", "PENDING"].iter().map(|s| (s.to_string(), 0)).collect();
    for r in rows {
        *by.entry(r.status).or_default() += 1;
    }
    Ok(by)
}

/// Samples over the viewer's region, or over a region containing it (ADMIN, TOWNSHIP), newest first.
pub async fn samples(ctx: &Ctx, db: &DatabaseConnection) -> AppResult<Vec<sample::Model>> {
    let viewer = ctx.viewer()?;
    viewer.require_role(&[Role::Admin, Role::Township], key::ACT_SEE_SAMPLES)?;
    let regions: Vec<Uuid> = region::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(region::Column::Path.starts_with(&viewer.scope.path))
                .add(region::Column::Path.is_in(regions::ancestor_paths(&viewer.scope.path))),
        )
        .all(db)
        .await?
        .into_iter()
        .map(|r| r.id)
        .collect();
    Ok(sample::Entity::find()
        .filter(sample::Column::RegionId.is_in(regions))
        .order_by_desc(sample::Column::CreatedAt)
        .all(db)
        .await?)
}

/// Re-checks assigned to the viewer, pending first.
pub async fn my_items(ctx: &Ctx, db: &DatabaseConnection) -> AppResult<Vec<item::Model>> {
    let viewer = ctx.viewer()?;
    let Some(me) = viewer.account_id() else { return Ok(Vec::new()) };
    let mut rows = item::Entity::find().filter(item::Column::AssignedTo.eq(me)).all(db).await?;
    rows.sort_by_key(|r| (r.status != "PENDING", r.id));
    Ok(rows)
}
