//! The summary of an export: one row per village, a total per township and
//! the grand total, in code order, from one read of the progress counters.

use super::{
    sheet::{Cell, Sink, Tally},
    ExportKind, Scope,
};
use crate::domain::{
    counters,
    error::{AppError, AppResult},
};
use entity::{region, RegionLevel};
use sea_orm::{DatabaseConnection, EntityTrait};
use uuid::Uuid;

/// Writes the summary where it belongs; returns its data rows (villages,
/// township totals `合计` and the grand total `总计`), whether written or not.
pub(super) async fn write(db: &DatabaseConnection, s: &Scope, kind: ExportKind, sink: &mut Sink) -> AppResult<i64> {
    let (root, subtree, campaign) = (&s.root, &s.subtree, &s.campaign);
    let ids: Vec<Uuid> = subtree.iter().map(|r| r.id).collect();
    let counters = counters::read(db, campaign.id, &ids).await?;
    let tally = |id: Uuid| Tally::from_counters(counters.get(&id));
    let mut summary_rows: Vec<Vec<Cell>> = Vec::new();
    for t in subtree.iter().filter(|r| r.level == RegionLevel::Township) {
        for v in subtree.iter().filter(|r| r.level == RegionLevel::Village && r.parent_id == Some(t.id)) {
            summary_rows.push(tally(v.id).row(&t.name, &v.name));
        }
        summary_rows.push(tally(t.id).row(&t.name, "合计"));
    }
    if root.level == RegionLevel::Village {
        let township = match root.parent_id {
            Some(id) => region::Entity::find_by_id(id).one(db).await?.map(|r| r.name).unwrap_or_default(),
            None => String::new(),
        };
        summary_rows.push(tally(root.id).row(&township, &root.name));
    }
    summary_rows.push(tally(root.id).row("总计", ""));
    // The summary goes to the xlsx summary sheet (in memory, written last), or
    // is the whole CSV for a SUMMARY export.
    let summary_here = match sink {
        Sink::Xlsx(x) => {
            (x.sheet, x.row) = (x.summary_sheet, 1);
            true
        }
        Sink::Csv(_) => kind == ExportKind::Summary,
    };
    if summary_here {
        for r in &summary_rows {
            sink.write(r).map_err(AppError::Internal)?;
        }
    }
    Ok(summary_rows.len() as i64)
}
