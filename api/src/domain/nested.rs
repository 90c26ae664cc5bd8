//! Nested lists for many parents at once. A region's households and children,
//! and a household's history and closed findings, asked for inside a list of
//! regions or households, cost one statement per relation whatever the number
//! of parents: counts are grouped by parent, pages are cut per parent with
//! `ROW_NUMBER() OVER (PARTITION BY parent …)`. The viewer's scope is part of
//! every statement, as in the single-parent paths.

use crate::domain::{
    auth::{region_household_condition, Viewer},
    error::AppResult,
    households::{self, HouseholdFilter, Page},
};
use entity::{audit_event, finding, household, region, RegionLevel};
use sea_orm::{
    sea_query::{Alias, Asterisk, Expr, Order, Query, SelectStatement},
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult, IdenStatic, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait,
};
use std::collections::HashMap;
use uuid::Uuid;

/// What of a connection the query selected: its count and its page are each
/// read only when asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Want {
    pub total: bool,
    pub rows: bool,
}

/// The household column that places a household under a region of `level`
/// (none above the county: those go through the county's path).
fn parent_column(level: RegionLevel) -> Option<household::Column> {
    match level {
        RegionLevel::County => Some(household::Column::CountyId),
        RegionLevel::Township => Some(household::Column::TownshipId),
        RegionLevel::Village => Some(household::Column::VillageId),
        RegionLevel::Nation | RegionLevel::Province | RegionLevel::City => None,
    }
}

fn parent_of(h: &household::Model, col: household::Column) -> Option<Uuid> {
    match col {
        household::Column::CountyId => Some(h.county_id),
        household::Column::TownshipId => Some(h.township_id),
        _ => h.village_id,
    }
}

/// `inner` numbered per `partition` in `order`, and only the first `keep` of
/// each partition: one statement for every parent's page.
fn first_per_parent(mut inner: SelectStatement, partition: &str, order: &str, keep: i64) -> SelectStatement {
    let number = format!("ROW_NUMBER() OVER (PARTITION BY \"{partition}\" ORDER BY {order})");
    inner.expr_as(Expr::cust(number), Alias::new("rn"));
    Query::select()
        .column(Asterisk)
        .from_subquery(inner, Alias::new("t"))
        .and_where(Expr::col(Alias::new("rn")).lte(keep))
        .order_by(Alias::new("rn"), Order::Asc)
        .to_owned()
}

/// Each region's households (its subtree ∩ the viewer's scope ∩ the filter),
/// paged by household code: one grouped count and one windowed page query
/// for all regions of a level; regions above the county one by one.
pub async fn region_households(
    db: &DatabaseConnection,
    viewer: &Viewer,
    regions: &[region::Model],
    filter: &HouseholdFilter,
    first: i32,
    after: Option<&str>,
    want: Want,
) -> AppResult<HashMap<Uuid, Page>> {
    let filter = HouseholdFilter { region_id: None, ..filter.clone() };
    let base = households::conditions(db, viewer, &filter).await?;
    let after = after.map(households::after_condition).transpose()?;
    let mut out: HashMap<Uuid, Page> = regions.iter().map(|r| (r.id, Page::default())).collect();
    for level in [RegionLevel::County, RegionLevel::Township, RegionLevel::Village] {
        let ids: Vec<Uuid> = regions.iter().filter(|r| r.level == level).map(|r| r.id).collect();
        let Some(col) = parent_column(level).filter(|_| !ids.is_empty()) else { continue };
        let cond = base.clone().add(col.is_in(ids.iter().copied()));
        // The total counts every page; the page starts after the cursor.
        if want.total {
            let counts: Vec<(Option<Uuid>, i64)> = household::Entity::find()
                .select_only()
                .column(col)
                .column_as(Expr::col(household::Column::Id).count(), "n")
                .filter(cond.clone())
                .group_by(col)
                .into_tuple()
                .all(db)
                .await?;
            for (parent, n) in counts {
                if let Some(p) = parent.and_then(|p| out.get_mut(&p)) {
                    p.total = n as u64;
                }
            }
        }
        if want.rows {
            let cond = match &after {
                Some(a) => cond.add(a.clone()),
                None => cond,
            };
            let inner = household::Entity::find().filter(cond).into_query();
            let q = first_per_parent(inner, col.as_str(), "\"code\", \"id\"", first as i64 + 1);
            let rows = household::Model::find_by_statement(db.get_database_backend().build(&q)).all(db).await?;
            for h in rows {
                if let Some(p) = parent_of(&h, col).and_then(|p| out.get_mut(&p)) {
                    p.rows.push(h);
                }
            }
            for id in &ids {
                if let Some(p) = out.get_mut(id) {
                    p.has_next = p.rows.len() > first as usize;
                    p.rows.truncate(first as usize);
                }
            }
        }
    }
    for r in regions.iter().filter(|r| parent_column(r.level).is_none()) {
        let cond = base.clone().add(region_household_condition(r.id, r.level, &r.path));
        out.insert(r.id, households::page_where(db, cond, after.clone(), first, want).await?);
    }
    Ok(out)
}

/// The visible children of each parent region, by code, in one statement.
pub async fn region_children(
    db: &DatabaseConnection,
    viewer: &Viewer,
    parents: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<region::Model>>> {
    let rows = region::Entity::find()
        .filter(crate::domain::regions::visible(viewer))
        .filter(region::Column::ParentId.is_in(parents.iter().copied()))
        .order_by_asc(region::Column::Code)
        .all(db)
        .await?;
    let mut out: HashMap<Uuid, Vec<region::Model>> = parents.iter().map(|p| (*p, Vec::new())).collect();
    for r in rows {
        if let Some(list) = r.parent_id.and_then(|p| out.get_mut(&p)) {
            list.push(r);
        }
    }
    Ok(out)
}

/// Households among `ids` that the viewer may see, as a subquery.
fn in_scope(viewer: &Viewer, ids: &[Uuid]) -> SelectStatement {
    household::Entity::find()
        .select_only()
        .column(household::Column::Id)
        .filter(household::Column::Id.is_in(ids.iter().copied()))
        .filter(viewer.household_condition())
        .into_query()
}

/// One page of each household's audit trail, newest first, before
/// `before_seq`, and whether more follow: one statement for all households.
pub async fn household_histories(
    db: &DatabaseConnection,
    viewer: &Viewer,
    ids: &[Uuid],
    first: i32,
    before_seq: Option<i64>,
) -> AppResult<HashMap<Uuid, (Vec<audit_event::Model>, bool)>> {
    crate::domain::audit::queries::check_page(first)?;
    let mut c = Condition::all().add(audit_event::Column::HouseholdId.in_subquery(in_scope(viewer, ids)));
    if let Some(s) = before_seq {
        c = c.add(audit_event::Column::Seq.lt(s));
    }
    let inner = audit_event::Entity::find().filter(c).into_query();
    let q = first_per_parent(inner, "household_id", "\"seq\" DESC", first as i64 + 1);
    let rows = audit_event::Model::find_by_statement(db.get_database_backend().build(&q)).all(db).await?;
    let mut out: HashMap<Uuid, (Vec<audit_event::Model>, bool)> =
        ids.iter().map(|id| (*id, (Vec::new(), false))).collect();
    for e in rows {
        if let Some(page) = e.household_id.and_then(|h| out.get_mut(&h)) {
            page.0.push(e);
        }
    }
    for (rows, more) in out.values_mut() {
        rows.sort_by(|a, b| b.seq.cmp(&a.seq));
        *more = rows.len() > first as usize;
        rows.truncate(first as usize);
    }
    Ok(out)
}

/// Closed findings of the households the viewer may see, in one statement.
pub async fn closed_findings(
    db: &DatabaseConnection,
    viewer: &Viewer,
    ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<finding::Model>>> {
    let rows = finding::Entity::find()
        .filter(finding::Column::HouseholdId.in_subquery(in_scope(viewer, ids)))
        .filter(finding::Column::Open.eq(false))
        .order_by_asc(finding::Column::CreatedAt)
        .all(db)
        .await?;
    let mut out: HashMap<Uuid, Vec<finding::Model>> = ids.iter().map(|id| (*id, Vec::new())).collect();
    for f in rows {
        if let Some(list) = out.get_mut(&f.household_id) {
            list.push(f);
        }
    }
    Ok(out)
}
