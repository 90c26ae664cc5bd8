//! Campaigns above the county: which region a viewer looks at in a campaign,
//! counties joining a wider campaign, and milestones that a lower level
//! tightens (an earlier end, a higher target) but may never loosen.

use super::campaigns::{campaign_or_latest, status_in, MilestoneStatus};
use crate::domain::error::{key, msg};
use crate::{
    domain::{
        audit::NewEvent,
        auth::Viewer,
        ctx::Ctx,
        error::{AppError, AppResult},
        regions,
        tx::Tx,
    },
    AppState,
};
use chrono::{DateTime, Utc};
use entity::{campaign, campaign_county, milestone, milestone_override, region, RegionLevel};
use sea_orm::{
    sea_query::Query, ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, QueryOrder,
};
use std::collections::HashMap;
use uuid::Uuid;

/// The region a viewer looks at in a campaign: their own region when the
/// campaign covers it, else (a viewer above the campaign) the campaign's region.
pub async fn home_region(db: &DatabaseConnection, viewer: &Viewer, c: &campaign::Model) -> AppResult<region::Model> {
    let campaign_region = regions::get(db, viewer, c.region_id).await?;
    if viewer.scope.path.starts_with(&campaign_region.path) {
        regions::get(db, viewer, viewer.scope.region_id).await
    } else {
        Ok(campaign_region)
    }
}

/// The county a viewer at county level or below belongs to.
pub async fn county_of<C: ConnectionTrait>(conn: &C, viewer: &Viewer) -> AppResult<Option<region::Model>> {
    if viewer.scope.level.depth() < RegionLevel::County.depth() {
        return Ok(None);
    }
    Ok(region::Entity::find()
        .filter(region::Column::Level.eq(RegionLevel::County))
        .filter(region::Column::Path.is_in(regions::ancestor_paths(&viewer.scope.path)))
        .one(conn)
        .await?)
}

/// Whether a county takes part in a campaign.
pub async fn has_joined<C: ConnectionTrait>(conn: &C, campaign_id: Uuid, county_id: Uuid) -> AppResult<bool> {
    Ok(campaign_county::Entity::find_by_id((campaign_id, county_id)).one(conn).await?.is_some())
}

/// Campaign ids a county takes part in.
pub async fn joined_by(db: &DatabaseConnection, county_id: Uuid) -> AppResult<Vec<Uuid>> {
    Ok(campaign_county::Entity::find()
        .filter(campaign_county::Column::CountyId.eq(county_id))
        .all(db)
        .await?
        .into_iter()
        .map(|j| j.campaign_id)
        .collect())
}

/// Campaign ids that any county within `region` (itself, for a county) takes part in.
pub async fn joined_within(db: &DatabaseConnection, region: &region::Model) -> AppResult<Vec<Uuid>> {
    let counties = Query::select()
        .column(region::Column::Id)
        .from(region::Entity)
        .and_where(region::Column::Level.eq(RegionLevel::County))
        .and_where(region::Column::Path.starts_with(&region.path))
        .to_owned();
    let mut ids: Vec<Uuid> = campaign_county::Entity::find()
        .filter(campaign_county::Column::CountyId.in_subquery(counties))
        .all(db)
        .await?
        .into_iter()
        .map(|j| j.campaign_id)
        .collect();
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// The counties taking part in a campaign, by code.
pub use crate::domain::counters::campaign_counties as counties_of;

/// The viewer's county joins a campaign of a region above it (its county
/// ADMIN); joining again changes nothing.
pub async fn join_campaign(ctx: &Ctx, state: &AppState, campaign_id: Uuid) -> AppResult<campaign::Model> {
    let viewer = ctx.viewer()?;
    viewer.require_role(&[entity::Role::Admin], key::ACT_JOIN_CAMPAIGN)?;
    if viewer.scope.level != RegionLevel::County {
        return Err(AppError::forbidden(msg!(CAMPAIGN_JOIN_COUNTY)));
    }
    let c = campaign_or_latest(&state.db, viewer, Some(campaign_id)).await?;
    let county = regions::get(&state.db, viewer, viewer.scope.region_id).await?;
    let campaign_region = regions::get(&state.db, viewer, c.region_id).await?;
    if !county.path.starts_with(&campaign_region.path) {
        return Err(AppError::validation("campaignId", msg!(CAMPAIGN_NOT_ABOVE)));
    }
    if has_joined(&state.db, c.id, county.id).await? {
        return Ok(c);
    }
    let tx = Tx::begin(state, ctx.actor()?).await?;
    campaign_county::ActiveModel { campaign_id: Set(c.id), county_id: Set(county.id), joined_at: Set(ctx.now()) }
        .insert(tx.conn())
        .await?;
    tx.audit(NewEvent {
        action: "CAMPAIGN_JOINED",
        entity_type: "Campaign",
        entity_id: Some(c.id),
        region_id: Some(county.id),
        after: Some(serde_json::json!({ "campaign": c.name, "county": county.code })),
        ..Default::default()
    })
    .await?;
    tx.commit(state).await?;
    Ok(c)
}

/// What the viewer may do with a campaign's milestones: edit them (an ADMIN of
/// the campaign's region or above) or tighten them (an ADMIN of a region below
/// it, a county once it has joined). Neither for anyone else.
pub async fn milestone_rights(
    db: &DatabaseConnection,
    viewer: &Viewer,
    c: &campaign::Model,
) -> AppResult<(bool, bool)> {
    if viewer.is_api_token() || viewer.role != entity::Role::Admin {
        return Ok((false, false));
    }
    let campaign_region = regions::get(db, viewer, c.region_id).await?;
    if viewer.covers(&campaign_region) {
        return Ok((true, false));
    }
    let below = viewer.scope.path.starts_with(&campaign_region.path);
    let joined = viewer.scope.level != RegionLevel::County || has_joined(db, c.id, viewer.scope.region_id).await?;
    Ok((false, below && joined))
}

/// A milestone as it holds for one region: the tightest end and target set
/// on the region or any region above it.
#[derive(Clone, Debug)]
pub struct Effective {
    /// The milestone with the end and target in force for the region.
    pub model: milestone::Model,
    /// The end and target the campaign itself set.
    pub base_ends_at: DateTime<Utc>,
    pub base_target_percent: f64,
    /// The region whose tightening is in force, when one is.
    pub tightened_in: Option<Uuid>,
}

/// A campaign's milestones, in date order, as they hold for `region`.
pub async fn milestones_for<C: ConnectionTrait>(
    conn: &C,
    campaign_id: Uuid,
    region: &region::Model,
) -> AppResult<Vec<Effective>> {
    let base = milestone::Entity::find()
        .filter(milestone::Column::CampaignId.eq(campaign_id))
        .order_by_asc(milestone::Column::StartsAt)
        .all(conn)
        .await?;
    let overrides = overrides_on(conn, campaign_id, &region.path, &[]).await?;
    Ok(base.into_iter().map(|m| tighten(m, overrides.iter())).collect())
}

/// The milestones as they hold for each of `children` (regions directly below
/// `parent`, whose milestones are `parent_ms`), in one statement.
pub async fn milestones_for_children<C: ConnectionTrait>(
    conn: &C,
    parent_ms: &[milestone::Model],
    children: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<milestone::Model>>> {
    let mut out: HashMap<Uuid, Vec<milestone::Model>> = HashMap::new();
    if children.is_empty() {
        return Ok(out);
    }
    let own = milestone_override::Entity::find()
        .filter(milestone_override::Column::RegionId.is_in(children.to_vec()))
        .filter(milestone_override::Column::MilestoneId.is_in(parent_ms.iter().map(|m| m.id)))
        .all(conn)
        .await?;
    for o in own {
        let ms = out.entry(o.region_id).or_insert_with(|| parent_ms.to_vec());
        if let Some(m) = ms.iter_mut().find(|m| m.id == o.milestone_id) {
            m.ends_at = m.ends_at.min(o.ends_at);
            m.target_percent = m.target_percent.max(o.target_percent);
        }
    }
    Ok(out)
}

/// Overrides of the campaign's milestones set on the region at `path` or above it
/// (leaving out `except`), in one statement.
async fn overrides_on<C: ConnectionTrait>(
    conn: &C,
    campaign_id: Uuid,
    path: &str,
    except: &[Uuid],
) -> AppResult<Vec<milestone_override::Model>> {
    let chain = Query::select()
        .column(region::Column::Id)
        .from(region::Entity)
        .and_where(region::Column::Path.is_in(regions::ancestor_paths(path)))
        .to_owned();
    let of_campaign = Query::select()
        .column(milestone::Column::Id)
        .from(milestone::Entity)
        .and_where(milestone::Column::CampaignId.eq(campaign_id))
        .to_owned();
    Ok(milestone_override::Entity::find()
        .filter(milestone_override::Column::RegionId.in_subquery(chain))
        .filter(milestone_override::Column::MilestoneId.in_subquery(of_campaign))
        .filter(milestone_override::Column::RegionId.is_not_in(except.to_vec()))
        .all(conn)
        .await?)
}

/// Applies every override of `m` among `overrides` (all on one chain of regions).
fn tighten<'a>(m: milestone::Model, overrides: impl Iterator<Item = &'a milestone_override::Model>) -> Effective {
    let mut e =
        Effective { base_ends_at: m.ends_at, base_target_percent: m.target_percent, tightened_in: None, model: m };
    for o in overrides.filter(|o| o.milestone_id == e.model.id) {
        if o.ends_at < e.model.ends_at || o.target_percent > e.model.target_percent {
            e.tightened_in = Some(o.region_id);
        }
        e.model.ends_at = e.model.ends_at.min(o.ends_at);
        e.model.target_percent = e.model.target_percent.max(o.target_percent);
    }
    e
}

/// Tightens a milestone for the viewer's own region (its ADMIN, below the
/// campaign's region): an earlier end, a higher target, or both. What the
/// levels above set is the limit; a looser value is refused.
pub async fn tighten_milestone(
    ctx: &Ctx,
    state: &AppState,
    milestone_id: Uuid,
    ends_at: Option<DateTime<Utc>>,
    target_percent: Option<f64>,
) -> AppResult<MilestoneStatus> {
    let viewer = ctx.viewer()?;
    viewer.require_role(&[entity::Role::Admin], key::ACT_TIGHTEN_MILESTONES)?;
    let db = &state.db;
    let m = milestone::Entity::find_by_id(milestone_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found(key::THING_MILESTONE))?;
    let c = campaign_or_latest(db, viewer, Some(m.campaign_id)).await?;
    let own = regions::get(db, viewer, viewer.scope.region_id).await?;
    let campaign_region = regions::get(db, viewer, c.region_id).await?;
    if own.id == campaign_region.id || !own.path.starts_with(&campaign_region.path) {
        return Err(AppError::forbidden(msg!(MILESTONE_TIGHTEN_BELOW)));
    }
    if own.level == RegionLevel::County && !has_joined(db, c.id, own.id).await? {
        return Err(AppError::Conflict(msg!(CAMPAIGN_NOT_JOINED, campaign = &c.name)));
    }
    // The limit: what the campaign and the levels above this one set.
    let above = overrides_on(db, c.id, &own.path, &[own.id]).await?;
    let limit = tighten(m.clone(), above.iter()).model;
    let ends = ends_at.unwrap_or(limit.ends_at);
    let target = target_percent.unwrap_or(limit.target_percent);
    check_tighter(&c, &limit, ends, target)?;
    let before = milestone_override::Entity::find_by_id((m.id, own.id)).one(db).await?;
    let now = ctx.now();
    let tx = Tx::begin(state, ctx.actor()?).await?;
    let row = milestone_override::ActiveModel {
        milestone_id: Set(m.id),
        region_id: Set(own.id),
        ends_at: Set(ends),
        target_percent: Set(target),
        created_at: Set(before.as_ref().map_or(now, |b| b.created_at)),
        updated_at: Set(now),
    };
    if before.is_some() {
        row.update(tx.conn()).await?;
    } else {
        row.insert(tx.conn()).await?;
    }
    tx.audit(NewEvent {
        action: "MILESTONE_TIGHTENED",
        entity_type: "Milestone",
        entity_id: Some(m.id),
        region_id: Some(own.id),
        before: Some(serde_json::json!({ "endsAt": limit.ends_at, "targetPercent": limit.target_percent })),
        after: Some(serde_json::json!({ "endsAt": ends, "targetPercent": target, "region": own.code })),
        ..Default::default()
    })
    .await?;
    tx.commit(state).await?;
    status_in(db, &c, &own, m.id, now).await
}

/// A tightening must end no later and aim no lower than the limit, and still
/// end after the milestone starts.
fn check_tighter(c: &campaign::Model, limit: &milestone::Model, ends: DateTime<Utc>, target: f64) -> AppResult<()> {
    if ends <= limit.starts_at {
        return Err(AppError::validation("endsAt", msg!(MILESTONE_ORDER)));
    }
    if ends > limit.ends_at {
        let tz: chrono_tz::Tz = c.time_zone.parse().unwrap_or(chrono_tz::Asia::Shanghai);
        let shown = limit.ends_at.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string();
        return Err(AppError::validation("endsAt", msg!(MILESTONE_LOOSEN_END, limit = format!("{shown} ({tz})"))));
    }
    if !(0.0..=100.0).contains(&target) {
        return Err(AppError::validation("targetPercent", msg!(TARGET_PERCENT)));
    }
    if target < limit.target_percent {
        return Err(AppError::validation("targetPercent", msg!(MILESTONE_LOOSEN_TARGET, limit = limit.target_percent)));
    }
    Ok(())
}
