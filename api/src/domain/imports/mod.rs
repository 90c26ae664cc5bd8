//! Reference imports: the official region list and the three offices'
//! spreadsheets (CSV in UTF-8, UTF-8 with BOM or GB18030, or .xlsx).
//!
//! A file that cannot be read as what it claims is refused whole, with every
//! bad row reported and the database unchanged. Data that reads fine but is
//! wrong or inconsistent is imported and flagged by the checks. Importing the
//! same content again changes nothing; a newer file supersedes older rows and
//! keeps them as history.

mod apply;
mod changes;
mod normalize;
mod parse;
mod read;
mod undo;
mod worse;

pub use apply::regions as apply_regions;
pub use changes::FieldChange;
pub use parse::{expected_path, parse, Parsed, RefRow, RegionRow};
pub use read::read_table;
pub use undo::{undo, Undone};

use crate::domain::error::{key, msg};
use crate::{
    domain::{
        audit::NewEvent,
        auth::Viewer,
        checks,
        ctx::Ctx,
        error::{AppError, AppResult, Msg},
        progress,
        tx::Tx,
        webhooks::{self, WebhookEvent},
    },
    AppState,
};
use entity::{campaign, household, reference_import, region, ReferenceSource};
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RowError {
    /// Row number as Excel shows it (the header is row 1); 0 for the file as a whole.
    pub row: i32,
    /// The column by its header text in the file.
    pub column: Option<String>,
    /// The catalogue key of the reason (stable, for scripts).
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub args: Vec<(String, String)>,
    /// The reason in zh-CN as written when the import ran (all that older stored reports hold).
    #[serde(default)]
    pub reason: String,
}

impl RowError {
    pub fn new(row: i32, column: Option<&str>, m: Msg) -> Self {
        Self { row, column: column.map(str::to_owned), code: m.key.into(), args: owned(&m), reason: m.render(false) }
    }
    /// The reason in the reader's language.
    pub fn text(&self, english: bool) -> String {
        let args = self.args.iter().map(|(n, v)| (n.as_str(), v.as_str()));
        messages::render(&self.code, args, english).unwrap_or_else(|| self.reason.clone())
    }
}

fn owned(m: &Msg) -> Vec<(String, String)> {
    m.args(false).into_iter().map(|(n, v)| (n.to_owned(), v)).collect()
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
    /// What was skipped or cleaned while reading: title and total rows, unused
    /// columns, invisible characters in names.
    pub notices: Vec<RowError>,
    /// A preview: the figures are what the import would do; nothing was written.
    pub dry_run: bool,
    /// Fields of existing households the import changes (the first 50).
    pub changes: Vec<FieldChange>,
    /// How many existing households it changes.
    pub changed_households: i32,
    /// More than a fifth of the existing households would change: check the file.
    pub large_change: bool,
    /// The applied import (to undo it); none for a preview or a refused file.
    pub import_id: Option<Uuid>,
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
            changes: Vec::new(),
            changed_households: 0,
            large_change: false,
            ..self.clone()
        }
    }
}

/// What one import works on; handed to each step instead of a long argument list.
struct Job<'a> {
    campaign: &'a campaign::Model,
    county: &'a region::Model,
    kind: ReferenceSource,
    import_id: Uuid,
    file_name: &'a str,
}

/// Imports one official spreadsheet into a campaign (ADMIN of its county).
pub async fn import(
    ctx: &Ctx,
    state: &AppState,
    campaign_id: Uuid,
    kind: ReferenceSource,
    file_name: &str,
    bytes: &[u8],
    dry_run: bool,
) -> AppResult<Report> {
    let viewer = ctx.viewer()?;
    let (campaign, county) = authorise(state, viewer, campaign_id, None).await?;
    let sha = hex::encode(Sha256::digest(bytes));
    if let Some(r) = already_imported(state, (campaign.id, county.id), kind, &sha).await? {
        return Ok(r);
    }
    let mut report = Report { kind: kind.as_str().into(), file_name: file_name.into(), dry_run, ..Default::default() };
    let Some((parsed, encoding)) = read_and_parse(kind, bytes, &mut report) else { return Ok(report) };
    // Everything from here on is one transaction: a refused file leaves no trace.
    let tx = Tx::begin(state, ctx.actor()?).await?;
    let job = Job { campaign: &campaign, county: &county, kind, import_id: Uuid::new_v4(), file_name };
    record(&tx, ctx, viewer, &job, sha, encoding, report.rows).await?;
    match parsed {
        Parsed::Regions(rows) => apply::regions(tx.conn(), &viewer.scope.path, &rows, &mut report).await?,
        Parsed::References(rows) => apply::references(tx.conn(), &job, &rows, &mut report).await?,
    }
    if !report.errors.is_empty() {
        // Row problems found while applying (a township not on the list, a region
        // outside the county): the whole file is refused and the transaction rolled back.
        drop(tx);
        return Ok(report);
    }
    finish(state, tx, &job, &mut report).await?;
    Ok(report)
}

/// The campaign and the county whose lists an import changes: the campaign's
/// own county, or in a wider campaign the importing ADMIN's county (or the
/// import's, for an undo), which must have joined it; the viewer's team must
/// cover that county.
async fn authorise(
    state: &AppState,
    viewer: &Viewer,
    campaign_id: Uuid,
    county_id: Option<Uuid>,
) -> AppResult<(campaign::Model, region::Model)> {
    viewer.require_role(&[entity::Role::Admin], key::ACT_IMPORT)?;
    let campaign = progress::campaign_or_latest(&state.db, viewer, Some(campaign_id)).await?;
    let campaign_region = region::Entity::find_by_id(campaign.region_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::not_found(key::THING_COUNTY))?;
    let county = match county_id {
        Some(id) => region::Entity::find_by_id(id).one(&state.db).await?,
        None if campaign_region.level == entity::RegionLevel::County => Some(campaign_region),
        None => progress::county_of(&state.db, viewer).await?,
    }
    .ok_or_else(|| AppError::validation("campaignId", msg!(IMPORT_BY_COUNTY)))?;
    if !viewer.covers(&county) {
        return Err(AppError::forbidden(msg!(IMPORT_COUNTY_TEAM)));
    }
    if !progress::has_joined(&state.db, campaign.id, county.id).await? {
        return Err(AppError::Conflict(msg!(CAMPAIGN_NOT_JOINED, campaign = &campaign.name)));
    }
    Ok((campaign, county))
}

/// The stored answer when this exact content is the campaign's current list
/// of that kind (its latest import), so a repeated upload changes nothing. The
/// same content imported before a later file changed the data is applied
/// again: that is how a good file repairs a bad import.
async fn already_imported(
    state: &AppState,
    (campaign_id, county_id): (Uuid, Uuid),
    kind: ReferenceSource,
    sha: &str,
) -> AppResult<Option<Report>> {
    let Some(prev) = reference_import::Entity::find()
        .filter(reference_import::Column::CampaignId.eq(campaign_id))
        .filter(reference_import::Column::CountyId.eq(county_id))
        .filter(reference_import::Column::Kind.eq(kind))
        .filter(reference_import::Column::UndoneAt.is_null())
        .order_by_desc(reference_import::Column::CreatedAt)
        .one(&state.db)
        .await?
        .filter(|latest| latest.content_sha256 == sha)
    else {
        return Ok(None);
    };
    let mut r: Report = serde_json::from_value::<Report>(prev.report).unwrap_or_default().stored();
    r.import_id = Some(prev.id);
    r.accepted = true;
    r.already_imported = true;
    Ok(Some(r))
}

/// Reads and parses the file, noting encoding and row count in the report;
/// `None` when the file is refused (the errors are then in the report).
fn read_and_parse(kind: ReferenceSource, bytes: &[u8], report: &mut Report) -> Option<(Parsed, &'static str)> {
    let (table, encoding) = match read_table(bytes) {
        Ok(t) => t,
        Err(e) => {
            report.errors = vec![e];
            return None;
        }
    };
    report.encoding = encoding.into();
    report.rows = table.len().saturating_sub(1) as i32;
    match parse(kind, &table) {
        Ok((p, notices)) => {
            report.rows = match &p {
                Parsed::Regions(r) => r.len(),
                Parsed::References(r) => r.len(),
            } as i32;
            report.notices = notices;
            Some((p, encoding))
        }
        Err(errors) => {
            report.errors = errors;
            None
        }
    }
}

/// Records the import itself; its report is filled in once it is accepted.
async fn record(
    tx: &Tx,
    ctx: &Ctx,
    viewer: &Viewer,
    job: &Job<'_>,
    sha: String,
    encoding: &str,
    rows: i32,
) -> AppResult<()> {
    reference_import::ActiveModel {
        id: Set(job.import_id),
        campaign_id: Set(job.campaign.id),
        county_id: Set(job.county.id),
        kind: Set(job.kind),
        file_name: Set(job.file_name.into()),
        content_sha256: Set(sha),
        encoding: Set(encoding.into()),
        row_count: Set(rows),
        report: Set(serde_json::json!({})),
        imported_by: Set(viewer.account_id()),
        created_at: Set(ctx.now()),
        undone_at: Set(None),
    }
    .insert(tx.conn())
    .await?;
    Ok(())
}

/// After an accepted file: expected paths, every check, the counters, the
/// stored report, the audit event and webhook; then commits.
async fn finish(state: &AppState, tx: Tx, job: &Job<'_>, report: &mut Report) -> AppResult<()> {
    let txn = tx.conn();
    // Recompute expected paths and run every check over the campaign.
    if job.kind != ReferenceSource::Regions {
        apply::refresh_expected_paths(txn, job.campaign.id, job.county.id).await?;
    }
    report.flagged = run_checks(&tx, job).await?;
    report.accepted = true;
    crate::domain::counters::recount_county(txn, job.campaign.id, job.county).await?;
    reference_import::Entity::update_many()
        .col_expr(
            reference_import::Column::Report,
            Expr::value(serde_json::to_value(report.stored()).unwrap_or_default()),
        )
        .filter(reference_import::Column::Id.eq(job.import_id))
        .exec(txn)
        .await?;
    announce(&tx, job, report).await?;
    if report.dry_run {
        // A preview: everything was applied and checked, then rolled back.
        drop(tx);
        return Ok(());
    }
    report.import_id = Some(job.import_id);
    tx.moved_subtree(job.county);
    tx.commit(state).await
}

/// Runs every check over the campaign's households and audits the outcome;
/// returns the open ERROR findings by rule.
async fn run_checks(tx: &Tx, job: &Job<'_>) -> AppResult<Vec<(String, u64)>> {
    let txn = tx.conn();
    let ids: Vec<Uuid> = household::Entity::find()
        .select_only()
        .column(household::Column::Id)
        .filter(household::Column::CampaignId.eq(job.campaign.id))
        .filter(household::Column::CountyId.eq(job.county.id))
        .into_tuple()
        .all(txn)
        .await?;
    let summary = checks::run(txn, job.campaign.id, &ids).await?;
    checks::audit(txn, tx.actor(), &summary, Some(job.county.id)).await?;
    let mut flagged: Vec<(String, u64)> = summary.open_errors_by_rule.into_iter().collect();
    flagged.sort();
    Ok(flagged)
}

/// The IMPORT_DONE audit event and webhook, with the same figures.
async fn announce(tx: &Tx, job: &Job<'_>, report: &Report) -> AppResult<()> {
    let figures = serde_json::json!({ "kind": job.kind.as_str(), "file": job.file_name, "rows": report.rows,
        "created": report.created, "updated": report.updated, "superseded": report.superseded });
    tx.audit(NewEvent {
        action: "IMPORT_DONE",
        entity_type: "ReferenceImport",
        entity_id: Some(job.import_id),
        region_id: Some(job.county.id),
        after: Some(figures.clone()),
        ..Default::default()
    })
    .await?;
    webhooks::enqueue(tx.conn(), job.county.id, WebhookEvent::ImportDone, figures, None).await?;
    Ok(())
}
