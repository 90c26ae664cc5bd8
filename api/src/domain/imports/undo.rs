//! Undoing an applied import: its rows are withdrawn, the rows it superseded
//! become current again, households it changed get back the values of the
//! restored poverty list, households it created (and nobody has worked on
//! yet) are removed; then every check and counter is brought up to date, in
//! one audited transaction.

use super::{authorise, run_checks, Job};
use crate::{
    domain::{
        audit::NewEvent,
        ctx::Ctx,
        error::{key, msg, AppError, AppResult},
        tx::Tx,
    },
    AppState,
};
use entity::{
    finding, household, lookback, photo, photo_upload, reference_import, reference_record, region, verification,
    ReferenceSource,
};
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder,
};
use std::collections::HashMap;
use uuid::Uuid;

/// What an undo did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Undone {
    /// Rows of the import taken out of the current lists.
    pub withdrawn: u64,
    /// Older rows current again.
    pub restored: u64,
    /// Households given back their earlier details.
    pub households_restored: u64,
    /// Households the import had created, removed.
    pub households_removed: u64,
}

/// Undoes an applied import (ADMIN of its county), if it is the latest of its
/// kind in the campaign and was not undone before.
pub async fn undo(ctx: &Ctx, state: &AppState, import_id: Uuid) -> AppResult<Undone> {
    let viewer = ctx.viewer()?;
    viewer.require_role(&[entity::Role::Admin], key::ACT_UNDO_IMPORT)?;
    let imp = reference_import::Entity::find_by_id(import_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::not_found(key::THING_IMPORT))?;
    let (campaign, county) = authorise(state, viewer, imp.campaign_id, Some(imp.county_id)).await?;
    refuse_unless_undoable(&state.db, &imp).await?;
    let tx = Tx::begin(state, ctx.actor()?).await?;
    let txn = tx.conn();
    let mut done = Undone { withdrawn: withdraw(txn, imp.id).await?, ..Default::default() };
    done.restored = reference_record::Entity::update_many()
        .col_expr(reference_record::Column::Current, Expr::value(true))
        .col_expr(reference_record::Column::SupersededBy, Expr::value(Option::<Uuid>::None))
        .filter(reference_record::Column::SupersededBy.eq(imp.id))
        .exec(txn)
        .await?
        .rows_affected;
    if imp.kind == ReferenceSource::Poverty {
        done.households_removed = remove_created(txn, imp.id).await?;
        done.households_restored = restore_households(txn, campaign.id, &county, ctx).await?;
    }
    let job =
        Job { campaign: &campaign, county: &county, kind: imp.kind, import_id: imp.id, file_name: &imp.file_name };
    super::apply::refresh_expected_paths(txn, campaign.id, county.id).await?;
    run_checks(&tx, &job).await?;
    crate::domain::counters::recount_county(txn, campaign.id, &county).await?;
    let mut am: reference_import::ActiveModel = imp.clone().into();
    am.undone_at = Set(Some(ctx.now()));
    am.update(txn).await?;
    tx.audit(NewEvent {
        action: "IMPORT_UNDONE",
        entity_type: "ReferenceImport",
        entity_id: Some(imp.id),
        region_id: Some(county.id),
        after: Some(serde_json::json!({ "kind": imp.kind.as_str(), "file": imp.file_name,
            "withdrawn": done.withdrawn, "restored": done.restored,
            "householdsRestored": done.households_restored, "householdsRemoved": done.households_removed })),
        ..Default::default()
    })
    .await?;
    tx.moved_subtree(&county);
    tx.commit(state).await?;
    Ok(done)
}

/// Only the latest import of its kind that is still in force can be undone,
/// and not a region list (regions carry accounts and households).
async fn refuse_unless_undoable<C: ConnectionTrait>(conn: &C, imp: &reference_import::Model) -> AppResult<()> {
    if imp.undone_at.is_some() {
        return Err(AppError::Conflict(msg!(IMPORT_UNDO_DONE)));
    }
    if imp.kind == ReferenceSource::Regions {
        return Err(AppError::validation("id", msg!(IMPORT_UNDO_REGIONS)));
    }
    let later = reference_import::Entity::find()
        .filter(reference_import::Column::CampaignId.eq(imp.campaign_id))
        .filter(reference_import::Column::CountyId.eq(imp.county_id))
        .filter(reference_import::Column::Kind.eq(imp.kind))
        .filter(reference_import::Column::UndoneAt.is_null())
        .filter(reference_import::Column::CreatedAt.gt(imp.created_at))
        .order_by_desc(reference_import::Column::CreatedAt)
        .one(conn)
        .await?;
    if let Some(l) = later {
        return Err(AppError::Conflict(msg!(IMPORT_UNDO_LATER, file = &l.file_name)));
    }
    Ok(())
}

/// The import's own rows leave the current lists (kept as history).
async fn withdraw<C: ConnectionTrait>(conn: &C, import_id: Uuid) -> AppResult<u64> {
    Ok(reference_record::Entity::update_many()
        .col_expr(reference_record::Column::Current, Expr::value(false))
        .filter(reference_record::Column::ImportId.eq(import_id))
        .filter(reference_record::Column::Current.eq(true))
        .exec(conn)
        .await?
        .rows_affected)
}

/// Removes the households the import created; refused when anyone has
/// started work on one (a record, a photo, a look-back item).
async fn remove_created<C: ConnectionTrait>(conn: &C, import_id: Uuid) -> AppResult<u64> {
    let ids: Vec<Uuid> = household::Entity::find()
        .filter(household::Column::CreatedByImport.eq(import_id))
        .all(conn)
        .await?
        .into_iter()
        .map(|h| h.id)
        .collect();
    if ids.is_empty() {
        return Ok(0);
    }
    let mut worked = 0;
    for chunk in ids.chunks(300) {
        let c = chunk.to_vec();
        worked +=
            verification::Entity::find().filter(verification::Column::HouseholdId.is_in(c.clone())).count(conn).await?;
        worked += photo::Entity::find().filter(photo::Column::HouseholdId.is_in(c.clone())).count(conn).await?;
        worked +=
            photo_upload::Entity::find().filter(photo_upload::Column::HouseholdId.is_in(c.clone())).count(conn).await?;
        worked +=
            lookback::item::Entity::find().filter(lookback::item::Column::HouseholdId.is_in(c)).count(conn).await?;
    }
    if worked > 0 {
        return Err(AppError::Conflict(msg!(IMPORT_UNDO_WORKED_ON)));
    }
    for chunk in ids.chunks(300) {
        let c = chunk.to_vec();
        finding::Entity::delete_many().filter(finding::Column::HouseholdId.is_in(c.clone())).exec(conn).await?;
        reference_record::Entity::update_many()
            .col_expr(reference_record::Column::HouseholdId, Expr::value(Option::<Uuid>::None))
            .filter(reference_record::Column::HouseholdId.is_in(c.clone()))
            .exec(conn)
            .await?;
        household::Entity::delete_many().filter(household::Column::Id.is_in(c)).exec(conn).await?;
    }
    Ok(ids.len() as u64)
}

/// Gives each household the details of its current poverty row again.
async fn restore_households<C: ConnectionTrait>(
    conn: &C,
    campaign_id: Uuid,
    county: &region::Model,
    ctx: &Ctx,
) -> AppResult<u64> {
    let places = super::apply::Places::load(conn, county).await?;
    let rows: HashMap<Uuid, reference_record::Model> = reference_record::Entity::find()
        .filter(reference_record::Column::CampaignId.eq(campaign_id))
        .filter(reference_record::Column::CountyId.eq(county.id))
        .filter(reference_record::Column::Source.eq(ReferenceSource::Poverty))
        .filter(reference_record::Column::Current.eq(true))
        .all(conn)
        .await?
        .into_iter()
        .filter_map(|r| r.household_id.map(|h| (h, r)))
        .collect();
    let mut restored = 0;
    for h in household::Entity::find()
        .filter(household::Column::CampaignId.eq(campaign_id))
        .filter(household::Column::CountyId.eq(county.id))
        .all(conn)
        .await?
    {
        let Some(r) = rows.get(&h.id) else { continue };
        let t = r.township_name.as_deref().and_then(|n| places.township(n)).unwrap_or(h.township_id);
        let v = r.village_name.as_deref().and_then(|n| places.village(t, n));
        let same = h.head_name == r.head_name
            && h.id_number == r.id_number
            && h.size == r.household_size
            && h.phone == r.phone
            && h.township_id == t
            && h.village_id == v;
        if same {
            continue;
        }
        let mut am: household::ActiveModel = h.into();
        am.head_name = Set(r.head_name.clone());
        am.id_number = Set(r.id_number.clone());
        am.size = Set(r.household_size);
        am.phone = Set(r.phone.clone());
        am.township_id = Set(t);
        am.village_id = Set(v);
        am.updated_at = Set(ctx.now());
        am.update(conn).await?;
        restored += 1;
    }
    Ok(restored)
}
