//! Reports upward in Excel: the household verification table (one row per
//! household) and the summary by township and village, as .xlsx or CSV.
//!
//! Households are read in batches of 1000 by household code and written as
//! they come (the xlsx sheet in constant-memory mode, CSV straight to a file),
//! so a province-sized export never holds all of them. The summary comes from
//! the progress counters, one query whatever the size. The file goes to the
//! object store under `exports/`; the caller gets an expiring link. Practice
//! entries never appear. Removed after a day by the sweeper.

mod publish;
mod rows;
mod sheet;
mod summary;

pub use publish::{serve, sweep, urlencode};

use crate::domain::error::{key, msg};
use crate::{
    domain::{
        audit::NewEvent,
        auth::region_household_condition,
        ctx::Ctx,
        error::{AppError, AppResult},
        progress, regions,
        tx::Tx,
    },
    AppState,
};
use chrono::{DateTime, Utc};
use entity::{campaign, household, region};
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use sheet::{header_sheet, Sink, XlsxSink, HOUSEHOLD_HEADERS, SUMMARY_HEADERS};
use std::collections::HashMap;
use uuid::Uuid;

pub const LINK_SECONDS: i64 = 600;

#[derive(Copy, Clone, Eq, PartialEq, Debug)]
pub enum ExportKind {
    /// One row per household (核验明细表), with a summary sheet in .xlsx.
    Households,
    /// Counts by township and village (汇总表).
    Summary,
}

#[derive(Copy, Clone, Eq, PartialEq, Debug)]
pub enum ExportFormat {
    Xlsx,
    /// UTF-8 with a byte-order mark, so Excel shows the Chinese right.
    Csv,
}

/// A generated report: download it from `url` before `expires_at`.
pub struct ExportFile {
    pub file_name: String,
    pub kind: ExportKind,
    pub format: ExportFormat,
    /// Data rows written below the header: households, or for the summary
    /// every row of it (villages, township totals and the grand total).
    pub rows: i64,
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// What an export covers: one campaign, a region in the viewer's scope, and
/// whether ID numbers are shown in full.
pub(crate) struct Scope {
    pub campaign: campaign::Model,
    pub root: region::Model,
    /// The region and everything below it, in code order.
    pub subtree: Vec<region::Model>,
    pub names: HashMap<Uuid, String>,
    pub households: Condition,
    pub privacy: crate::domain::privacy::Privacy,
}

async fn scope(
    ctx: &Ctx,
    db: &DatabaseConnection,
    region_id: Option<Uuid>,
    campaign_id: Option<Uuid>,
) -> AppResult<Scope> {
    let viewer = ctx.viewer()?;
    if viewer.is_api_token() {
        return Err(AppError::forbidden(msg!(EXPORT_ACCOUNTS_ONLY)));
    }
    let campaign = progress::campaign_or_latest(db, viewer, campaign_id).await?;
    let root = match region_id {
        Some(id) => regions::get(db, viewer, id).await?,
        None => regions::get(db, viewer, viewer.scope.region_id).await?,
    };
    if !viewer.covers(&root) {
        return Err(AppError::not_found(key::THING_REGION));
    }
    // Names of every region below (villages and townships): bounded by the region list, not households.
    let subtree = region::Entity::find()
        .filter(region::Column::Path.starts_with(&root.path))
        .order_by_asc(region::Column::Code)
        .all(db)
        .await?;
    let names: HashMap<Uuid, String> = subtree.iter().map(|r| (r.id, r.name.clone())).collect();
    let cond = Condition::all()
        .add(viewer.household_condition())
        .add(region_household_condition(root.id, root.level, &root.path))
        .add(household::Column::CampaignId.eq(campaign.id));
    Ok(Scope { campaign, root, subtree, names, households: cond, privacy: crate::domain::privacy::Privacy::of(viewer) })
}

fn sink(kind: ExportKind, format: ExportFormat, tmp: &tempfile::NamedTempFile) -> AppResult<Sink> {
    Ok(match format {
        ExportFormat::Xlsx => {
            // The household sheet first and active: spreadsheet tools (and
            // pandas.read_excel) open sheet 0.
            let mut wb = rust_xlsxwriter::Workbook::new();
            if kind == ExportKind::Households {
                let ws = wb.add_worksheet_with_constant_memory().map_err(|e| AppError::Internal(e.into()))?;
                header_sheet(
                    ws,
                    "核验明细",
                    &HOUSEHOLD_HEADERS,
                    &[18.0, 10.0, 21.0, 10.0, 12.0, 10.0, 10.0, 26.0, 10.0, 14.0, 14.0, 18.0, 18.0, 8.0, 30.0, 40.0],
                )
                .map_err(AppError::Internal)?;
                ws.set_active(true);
            }
            let summary_sheet = usize::from(kind == ExportKind::Households);
            let summary = wb.add_worksheet();
            header_sheet(
                summary,
                "汇总",
                &SUMMARY_HEADERS,
                &[12.0, 14.0, 8.0, 8.0, 8.0, 8.0, 8.0, 8.0, 10.0, 9.0, 9.0, 9.0, 9.0, 9.0],
            )
            .map_err(AppError::Internal)?;
            Sink::Xlsx(Box::new(XlsxSink::new(wb, summary_sheet)))
        }
        ExportFormat::Csv => {
            let mut f = tmp.reopen().map_err(|e| AppError::Internal(e.into()))?;
            use std::io::Write;
            f.write_all("\u{feff}".as_bytes()).map_err(|e| AppError::Internal(e.into()))?;
            let mut w = csv::Writer::from_writer(f);
            let headers: &[&str] = if kind == ExportKind::Households { &HOUSEHOLD_HEADERS } else { &SUMMARY_HEADERS };
            w.write_record(headers).map_err(|e| AppError::Internal(e.into()))?;
            Sink::Csv(w)
        }
    })
}

/// Generates a report of a region in the viewer's scope (default: their own)
/// for a campaign (default: the newest), stores it and returns a link.
pub async fn export(
    ctx: &Ctx,
    state: &AppState,
    region_id: Option<Uuid>,
    campaign_id: Option<Uuid>,
    kind: ExportKind,
    format: ExportFormat,
) -> AppResult<ExportFile> {
    let s = scope(ctx, &state.db, region_id, campaign_id).await?;
    // The file's name tells the time as its cells do: in the campaign's zone.
    let zone: chrono_tz::Tz = s.campaign.time_zone.parse().unwrap_or(chrono_tz::Asia::Shanghai);
    let stamp = ctx.now().with_timezone(&zone).format("%Y%m%d-%H%M%S");
    let (label, ext) = (
        match kind {
            ExportKind::Households => "核验明细",
            ExportKind::Summary => "汇总",
        },
        match format {
            ExportFormat::Xlsx => "xlsx",
            ExportFormat::Csv => "csv",
        },
    );
    let file_name = format!("{}-{label}-{stamp}.{ext}", s.root.name);
    let tmp =
        tempfile::Builder::new().suffix(&format!(".{ext}")).tempfile().map_err(|e| AppError::Internal(e.into()))?;
    let mut out = sink(kind, format, &tmp)?;
    // The count reported is the rows written to the export's main sheet or file.
    let rows = match kind {
        ExportKind::Households => {
            let n = rows::write(&state.db, &s, &state.cfg.web_url, &mut out).await?;
            summary::write(&state.db, &s, kind, &mut out).await?;
            n
        }
        ExportKind::Summary => summary::write(&state.db, &s, kind, &mut out).await?,
    };
    out.finish(tmp.path())?;
    let id = Uuid::new_v4();
    publish::put_file(state, &format!("exports/{id}.{ext}"), tmp.path()).await?;
    let tx = Tx::begin(state, ctx.actor()?).await?;
    tx.audit(NewEvent {
        action: "EXPORT_CREATED",
        entity_type: "export",
        entity_id: Some(id),
        household_id: None,
        region_id: Some(s.root.id),
        before: None,
        after: Some(serde_json::json!({ "file": file_name, "kind": format!("{kind:?}"), "format": ext, "rows": rows })),
    })
    .await?;
    tx.commit(state).await?;
    let expires_at = ctx.now() + chrono::Duration::seconds(LINK_SECONDS);
    let url = publish::link(state, id, ext, &file_name).await?;
    Ok(ExportFile { file_name, kind, format, rows, url, expires_at })
}
