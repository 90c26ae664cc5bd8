//! Reference imports: the official region list and the three offices'
//! spreadsheets (CSV in UTF-8, UTF-8 with BOM or GB18030, or .xlsx).
//!
//! A file that cannot be read as what it claims is refused whole, with every
//! bad row reported and the database unchanged. Data that reads fine but is
//! wrong or inconsistent is imported and flagged by the checks. Importing the
//! same content again changes nothing; a newer file supersedes older rows and
//! keeps them as history.

mod apply;
mod parse;
mod read;

pub use parse::{expected_path, parse, Parsed, RefRow, RegionRow};
pub use read::read_table;

use crate::{
    domain::{
        audit::NewEvent,
        checks,
        ctx::Ctx,
        error::{AppError, AppResult},
        progress, regions,
        tx::Tx,
        webhooks::{self, WebhookEvent},
    },
    AppState,
};
use entity::{household, reference_import, region, ReferenceSource};
use sea_orm::{sea_query::Expr, ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RowError {
    /// Row number as Excel shows it (the header is row 1); 0 for the file as a whole.
    pub row: i32,
    pub column: Option<String>,
    pub reason: String,
}

/// What an import did; also what is stored with it, so an identical
/// re-import answers with the same figures.
#[derive(Clone, Debug, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Report {
    pub kind: String,
    pub file_name: String,
    pub encoding: String,
    pub rows: i32,
    pub accepted: bool,
    pub already_imported: bool,
    pub created: i32,
    pub updated: i32,
    pub unchanged: i32,
    pub superseded: i32,
    pub errors: Vec<RowError>,
    /// Open ERROR findings in the campaign after the import, by rule.
    pub flagged: Vec<(String, u64)>,
    /// Rows whose household is not on the poverty list (no household to flag).
    pub not_on_poverty_list: Vec<String>,
}

impl Report {
    /// The report kept with an accepted import: every row now stands as is.
    fn stored(&self) -> Report {
        Report {
            unchanged: self.created + self.updated + self.unchanged,
            created: 0,
            updated: 0,
            superseded: 0,
            errors: Vec::new(),
            ..self.clone()
        }
    }
}

/// Imports one official spreadsheet into a campaign (ADMIN of its county).
pub async fn import(
    ctx: &Ctx,
    state: &AppState,
    campaign_id: Uuid,
    kind: ReferenceSource,
    file_name: &str,
    bytes: &[u8],
) -> AppResult<Report> {
    let viewer = ctx.viewer()?;
    let campaign = progress::campaign_or_latest(&state.db, viewer, Some(campaign_id)).await?;
    let county = region::Entity::find_by_id(campaign.county_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::not_found("county"))?;
    if !viewer.covers(&county) {
        return Err(AppError::forbidden("Only the county's own team imports its reference data."));
    }
    let sha = hex::encode(Sha256::digest(bytes));
    let mut report = Report { kind: kind.as_str().into(), file_name: file_name.into(), ..Default::default() };
    if let Some(prev) = reference_import::Entity::find()
        .filter(reference_import::Column::CampaignId.eq(campaign.id))
        .filter(reference_import::Column::Kind.eq(kind))
        .filter(reference_import::Column::ContentSha256.eq(&sha))
        .one(&state.db)
        .await?
    {
        let mut r: Report = serde_json::from_value::<Report>(prev.report).unwrap_or_default().stored();
        r.accepted = true;
        r.already_imported = true;
        return Ok(r);
    }
    let (table, encoding) = match read_table(bytes) {
        Ok(t) => t,
        Err(e) => {
            report.errors = vec![e];
            return Ok(report);
        }
    };
    report.encoding = encoding.into();
    report.rows = table.len().saturating_sub(1) as i32;
    let parsed = match parse(kind, &table) {
        Ok(p) => p,
        Err(errors) => {
            report.errors = errors;
            return Ok(report);
        }
    };
    let tx = Tx::begin(state, ctx.actor()?).await?;
    let txn = tx.conn();
    let import_id = Uuid::new_v4();
    let now = ctx.now();
    reference_import::ActiveModel {
        id: Set(import_id),
        campaign_id: Set(campaign.id),
        kind: Set(kind),
        file_name: Set(file_name.into()),
        content_sha256: Set(sha),
        encoding: Set(encoding.into()),
        row_count: Set(report.rows),
        report: Set(serde_json::json!({})),
        imported_by: Set(viewer.account_id()),
        created_at: Set(now),
    }
    .insert(txn)
    .await?;
    let outcome = match parsed {
        Parsed::Regions(rows) => apply::regions(txn, viewer, &rows, &mut report).await,
        Parsed::References(rows) => {
            apply::references(txn, &campaign, &county, kind, import_id, file_name, &rows, &mut report).await
        }
    };
    outcome?;
    if !report.errors.is_empty() {
        // Row problems found while applying (a township not on the list, a region
        // outside the county): the whole file is refused and the transaction rolled back.
        drop(tx);
        return Ok(report);
    }
    // Recompute expected paths and run every check over the campaign.
    if kind != ReferenceSource::Regions {
        apply::refresh_expected_paths(txn, campaign.id).await?;
    }
    let ids: Vec<Uuid> = {
        use sea_orm::QuerySelect;
        household::Entity::find()
            .select_only()
            .column(household::Column::Id)
            .filter(household::Column::CampaignId.eq(campaign.id))
            .into_tuple()
            .all(txn)
            .await?
    };
    let summary = checks::run(txn, campaign.id, &ids).await?;
    checks::audit(txn, tx.actor(), &summary, Some(county.id)).await?;
    let mut flagged: Vec<(String, u64)> = summary.open_errors_by_rule.into_iter().collect();
    flagged.sort();
    report.flagged = flagged;
    report.accepted = true;
    crate::domain::counters::recount(txn, campaign.id).await?;
    reference_import::Entity::update_many()
        .col_expr(
            reference_import::Column::Report,
            Expr::value(serde_json::to_value(report.stored()).unwrap_or_default()),
        )
        .filter(reference_import::Column::Id.eq(import_id))
        .exec(txn)
        .await?;
    tx.audit(NewEvent {
        action: "IMPORT_DONE",
        entity_type: "ReferenceImport",
        entity_id: Some(import_id),
        region_id: Some(county.id),
        after: Some(serde_json::json!({ "kind": kind.as_str(), "file": file_name, "rows": report.rows,
                "created": report.created, "updated": report.updated, "superseded": report.superseded })),
        ..Default::default()
    })
    .await?;
    webhooks::enqueue(
        txn,
        county.id,
        WebhookEvent::ImportDone,
        serde_json::json!({ "kind": kind.as_str(), "file": file_name, "rows": report.rows, "created": report.created,
            "updated": report.updated, "superseded": report.superseded }),
        None,
    )
    .await?;
    tx.moved(regions::subtree_ids(&state.db, &county).await?);
    tx.commit(state).await?;
    Ok(report)
}
