//! GraphQL for exports: the report kinds and formats, and `exportReport`.

use crate::{
    domain::exports::{self as service, export},
    graphql::{ids, CtxExt},
};
use async_graphql::{Context, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

crate::graphql::enums::api_enum!(
    /// What a report contains.
    ExportKind <=> service::ExportKind {
        /// One row per household (核验明细表), with a summary sheet in .xlsx.
        Households,
        /// Counts by township and village (汇总表).
        Summary,
    }
);

crate::graphql::enums::api_enum!(
    /// File format of a report.
    ExportFormat <=> service::ExportFormat {
        /// Excel workbook (.xlsx).
        Xlsx,
        /// UTF-8 with a byte-order mark, so Excel shows the Chinese right.
        Csv,
    }
);

/// A generated report: download it from `url` before `expiresAt`.
#[derive(SimpleObject)]
pub struct ExportFile {
    /// Suggested file name for saving.
    pub file_name: String,
    /// What the report contains.
    pub kind: ExportKind,
    /// The file format.
    pub format: ExportFormat,
    /// Data rows written: households, or every summary row (villages, township totals, the county total).
    pub rows: i64,
    /// Short-lived download link.
    pub url: String,
    /// When the link stops working (10 minutes after generation).
    pub expires_at: DateTime<Utc>,
}

impl From<service::ExportFile> for ExportFile {
    fn from(f: service::ExportFile) -> Self {
        Self {
            file_name: f.file_name,
            kind: f.kind.into(),
            format: f.format.into(),
            rows: f.rows,
            url: f.url,
            expires_at: f.expires_at,
        }
    }
}

#[derive(Default)]
pub struct ExportsMutation;

#[Object]
impl ExportsMutation {
    /// Generates a report of a region in the viewer's scope (default: their
    /// own) for a campaign (default: the newest): HOUSEHOLDS is one row per
    /// household (ID numbers masked as in the API) plus a summary sheet;
    /// SUMMARY counts by township and village. Practice entries never appear.
    /// The link expires in 10 minutes. Signed-in accounts only.
    async fn export_report(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The region (default: the viewer's own).")] region_id: Option<ID>,
        #[graphql(desc = "The campaign (default: the newest).")] campaign_id: Option<ID>,
        #[graphql(desc = "What the report contains.")] kind: ExportKind,
        #[graphql(desc = "The file format.")] format: ExportFormat,
    ) -> async_graphql::Result<ExportFile> {
        let region = region_id.as_ref().map(|id| ids::decode("Region", id)).transpose()?;
        let campaign = campaign_id.as_ref().map(|id| ids::decode("Campaign", id)).transpose()?;
        Ok(export(ctx.caller(), ctx.state(), region, campaign, kind.into(), format.into()).await?.into())
    }
}
