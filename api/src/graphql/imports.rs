//! GraphQL for reference imports: the kinds, the report, and the upload.

use crate::domain::error::{key, msg};
use crate::{
    domain::{
        error::AppError,
        imports::{import, Report, RowError},
        progress,
    },
    graphql::{ids, CtxExt},
};
use async_graphql::{Context, Object, SimpleObject, Upload, ID};
use entity::{ReferenceSource, Role};

crate::graphql::enums::api_enum!(
    /// Which official list a file is.
    ImportKind <=> ReferenceSource {
        /// 统计用区划代码: the region list (import it first).
        Regions,
        /// 建档立卡户名单: the poverty office's household list.
        Poverty,
        /// 房屋鉴定: the housing bureau's appraisals.
        Appraisal,
        /// 危房改造: the housing bureau's renovations.
        Renovation,
    }
);

/// A bad row of a refused file, or a notice about what was skipped or cleaned.
#[derive(SimpleObject)]
pub struct ImportRowError {
    /// Row number as Excel shows it (header = 1); 0 for the file as a whole.
    pub row: i32,
    /// The column by its header text in the file.
    pub column: Option<String>,
    /// What is wrong, for people: zh-CN unless the request asks for English (`Accept-Language: en`).
    pub reason: String,
    /// The same as a stable code for scripts, e.g. `IMPORT_ID_AS_NUMBER` (the shared message catalogue's key).
    pub code: String,
}

/// A count under a key: a rule code (an import's `flagged`) or an item status (a look-back sample's `counts`).
#[derive(SimpleObject)]
pub struct RuleTally {
    /// The key: a rule code such as ID_CHECKSUM, or PENDING, AGREES, DISAGREES.
    pub rule: String,
    /// How many.
    pub count: u64,
}

/// What an import did. `accepted: false` means nothing was changed; `errors` says why.
#[derive(SimpleObject)]
pub struct ImportReport {
    /// Which list: REGIONS, POVERTY, APPRAISAL or RENOVATION.
    pub kind: String,
    /// The uploaded file's name.
    pub file_name: String,
    /// UTF-8, UTF-8-BOM, GB18030 or XLSX.
    pub encoding: String,
    /// Data rows read.
    pub rows: i32,
    /// True when the file was applied (or, for a preview, would be).
    pub accepted: bool,
    /// The same content was imported before; nothing changed.
    pub already_imported: bool,
    /// Rows that are new.
    pub created: i32,
    /// Rows that change a current record (the old one is kept as history).
    pub updated: i32,
    /// Rows identical to the current ones.
    pub unchanged: i32,
    /// Older rows no longer in this list, kept as history.
    pub superseded: i32,
    /// Why the file was refused, by row and column; empty when accepted.
    pub errors: Vec<ImportRowError>,
    /// Open ERROR findings in the campaign after the import, by rule.
    pub flagged: Vec<RuleTally>,
    /// Household codes in this file that are not on the poverty list.
    pub not_on_poverty_list: Vec<String>,
    /// What was skipped or cleaned while reading (title and total rows, unused
    /// columns, invisible characters in names), by row and column.
    pub notices: Vec<ImportRowError>,
    /// A preview (`dryRun: true`): the figures say what the import would do;
    /// nothing was written.
    pub dry_run: bool,
    /// Fields of existing households the import changes, old → new (the first
    /// 50; ID numbers masked).
    pub changes: Vec<HouseholdChange>,
    /// How many existing households the import changes.
    pub changed_households: i32,
    /// More than a fifth of the existing households would change: a file for
    /// another place, or a damaged one? Check before applying.
    pub large_change: bool,
    /// The applied import, for `undoImport`; null for a preview or a refused file.
    pub import_id: Option<ID>,
}

/// What `undoImport` did.
#[derive(SimpleObject)]
pub struct ImportUndone {
    /// Rows of the import taken out of the current lists (kept as history).
    pub withdrawn: u64,
    /// Older rows that are current again.
    pub restored: u64,
    /// Households given back the details of the restored poverty list.
    pub households_restored: u64,
    /// Households the import had added, removed again.
    pub households_removed: u64,
}

/// One field of an existing household that an import changes.
#[derive(SimpleObject)]
pub struct HouseholdChange {
    /// Household code (户编号).
    pub household_code: String,
    /// The column as the office's header names it, e.g. 户主姓名.
    pub field: String,
    /// Value before the import.
    pub old: Option<String>,
    /// Value after the import.
    pub new: Option<String>,
}

fn row_error(e: RowError, english: bool) -> ImportRowError {
    ImportRowError { reason: e.text(english), row: e.row, column: e.column, code: e.code }
}

impl ImportReport {
    /// The report with its reasons in the reader's language.
    fn new(r: Report, english: bool) -> Self {
        Self {
            kind: r.kind,
            file_name: r.file_name,
            encoding: r.encoding,
            rows: r.rows,
            accepted: r.accepted,
            already_imported: r.already_imported,
            created: r.created,
            updated: r.updated,
            unchanged: r.unchanged,
            superseded: r.superseded,
            errors: r.errors.into_iter().map(|e| row_error(e, english)).collect(),
            flagged: r.flagged.into_iter().map(|(rule, count)| RuleTally { rule, count }).collect(),
            not_on_poverty_list: r.not_on_poverty_list,
            notices: r.notices.into_iter().map(|e| row_error(e, english)).collect(),
            dry_run: r.dry_run,
            changes: r
                .changes
                .into_iter()
                .map(|c| HouseholdChange { household_code: c.household_code, field: c.field, old: c.old, new: c.new })
                .collect(),
            changed_households: r.changed_households,
            large_change: r.large_change,
            import_id: r.import_id.map(|id| ids::encode("ReferenceImport", id)),
        }
    }
}

#[derive(Default)]
pub struct ImportsMutation;

#[Object]
impl ImportsMutation {
    /// Imports one official spreadsheet (GraphQL multipart upload; ADMIN). CSV in
    /// UTF-8 (with or without BOM) or GB18030/GBK, .xlsx or .xls, detected automatically.
    /// `dryRun: true` previews: the file is read, applied and checked, the report says
    /// what it would do, and nothing is written.
    async fn import_reference_file(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which official list the file is.")] kind: ImportKind,
        #[graphql(desc = "The spreadsheet (multipart upload).")] file: Upload,
        #[graphql(desc = "The campaign it is for (default: the newest).")] campaign_id: Option<ID>,
        #[graphql(default = false, desc = "Preview only: report, write nothing.")] dry_run: bool,
    ) -> async_graphql::Result<ImportReport> {
        use std::io::Read;
        let viewer = ctx.viewer()?;
        viewer.require_role(&[Role::Admin], key::ACT_IMPORT)?;
        let state = ctx.state();
        let campaign = match campaign_id {
            Some(c) => ids::decode("Campaign", &c)?,
            None => progress::campaign_or_latest(&state.db, viewer, None).await?.id,
        };
        let value = file.value(ctx).map_err(|e| AppError::validation("file", msg!(UPLOAD_UNREADABLE, detail = e)))?;
        let name = value.filename.clone();
        let mut bytes = Vec::new();
        value.into_read().read_to_end(&mut bytes).map_err(|e| AppError::Internal(e.into()))?;
        let report = import(ctx.caller(), state, campaign, kind.into(), &name, &bytes, dry_run).await?;
        Ok(ImportReport::new(report, ctx.caller().english()))
    }

    /// Undoes an applied import (ADMIN of its county): its rows leave the current
    /// lists, the rows it superseded are current again, households get back the
    /// values it replaced, and households it added are removed (refused when
    /// someone has already worked on one). Only the latest import of each kind
    /// can be undone; audited as IMPORT_UNDONE.
    async fn undo_import(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The import to undo (`ImportReport.importId`).")] id: ID,
    ) -> async_graphql::Result<ImportUndone> {
        let id = ids::decode("ReferenceImport", &id)?;
        let u = crate::domain::imports::undo(ctx.caller(), ctx.state(), id).await?;
        Ok(ImportUndone {
            withdrawn: u.withdrawn,
            restored: u.restored,
            households_restored: u.households_restored,
            households_removed: u.households_removed,
        })
    }
}
