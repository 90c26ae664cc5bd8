//! Findings as lists: the open (or closed) findings under a region the
//! viewer may see, and open findings counted by rule.

use crate::domain::error::msg;
use crate::domain::{
    auth::{region_household_condition, Viewer},
    ctx::Ctx,
    error::{AppError, AppResult},
    regions,
};
use entity::{finding, household, Severity};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

/// Open findings counted by rule.
pub struct RuleCount {
    pub rule: String,
    pub severity: Severity,
    pub count: u64,
}

/// Which findings a list shows.
#[derive(Default)]
pub struct FindingFilter {
    pub region_id: Option<Uuid>,
    pub severity: Option<Severity>,
    pub rule: Option<String>,
    pub open: bool,
}

/// IDs of the households the viewer sees, under a region when one is given.
async fn households_seen_under(
    db: &DatabaseConnection,
    viewer: &Viewer,
    region_id: Option<Uuid>,
) -> AppResult<sea_orm::sea_query::SelectStatement> {
    let mut hc = viewer.household_condition();
    if let Some(r) = region_id {
        let region = regions::get(db, viewer, r).await?;
        if viewer.covers(&region) {
            hc = hc.add(region_household_condition(region.id, region.level, &region.path));
        }
    }
    Ok(sea_orm::sea_query::Query::select()
        .column(household::Column::Id)
        .from(household::Entity)
        .cond_where(hc)
        .to_owned())
}

/// The approval rule, in one place: an open ERROR, or an open WARNING nobody
/// acknowledged, stops a record from being submitted or approved. The
/// workflow applies it; the API shows it per finding (`blocksApproval`), so a
/// review screen never offers a bulk approval the server will refuse.
pub fn blocks_approval(f: &entity::finding::Model) -> bool {
    f.open && (f.severity == entity::Severity::Error || f.acknowledged_at.is_none())
}

/// A page of findings on households the viewer sees (practice ones excluded), by ID.
pub async fn findings_for(
    ctx: &Ctx,
    db: &DatabaseConnection,
    f: FindingFilter,
    first: i32,
    after: Option<&str>,
) -> AppResult<(Vec<finding::Model>, bool)> {
    let viewer = ctx.viewer()?;
    if !(0..=500).contains(&first) {
        return Err(AppError::validation("first", msg!(FIRST_RANGE, max = 500)));
    }
    let sub = households_seen_under(db, viewer, f.region_id).await?;
    let mut q = finding::Entity::find()
        .filter(finding::Column::HouseholdId.in_subquery(sub))
        .filter(finding::Column::Open.eq(f.open))
        .filter(finding::Column::Practice.eq(false));
    if let Some(s) = f.severity {
        q = q.filter(finding::Column::Severity.eq(s));
    }
    if let Some(r) = f.rule {
        q = q.filter(finding::Column::Rule.eq(r));
    }
    if let Some(a) = after {
        let id = Uuid::parse_str(a).map_err(|_| AppError::validation("after", msg!(BAD_CURSOR)))?;
        q = q.filter(finding::Column::Id.gt(id));
    }
    let mut rows = q.order_by_asc(finding::Column::Id).limit(first as u64 + 1).all(db).await?;
    let more = rows.len() > first as usize;
    rows.truncate(first as usize);
    Ok((rows, more))
}

/// Open findings under a region (default: the viewer's) counted by rule.
pub async fn count_findings(ctx: &Ctx, db: &DatabaseConnection, region_id: Option<Uuid>) -> AppResult<Vec<RuleCount>> {
    let viewer = ctx.viewer()?;
    let sub = households_seen_under(db, viewer, region_id).await?;
    let rows: Vec<(String, entity::Severity, i64)> = finding::Entity::find()
        .select_only()
        .column(finding::Column::Rule)
        .column(finding::Column::Severity)
        .column_as(finding::Column::Id.count(), "n")
        .filter(finding::Column::HouseholdId.in_subquery(sub))
        .filter(finding::Column::Open.eq(true))
        .filter(finding::Column::Practice.eq(false))
        .group_by(finding::Column::Rule)
        .group_by(finding::Column::Severity)
        .order_by_asc(finding::Column::Rule)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|(rule, s, n)| RuleCount { rule, severity: s, count: n as u64 }).collect())
}
