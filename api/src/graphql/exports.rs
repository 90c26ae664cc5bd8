//! GraphQL for exports: the report kinds and formats, and `exportReport`.

use crate::{
    domain::exports::{self as service, export},
    graphql::{ids, CtxExt},
};
use async_graphql::{Context, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

crate::graphql::enums::api_enum!(
    ExportKind <=> service::ExportKind {
        /// One row per household (核验明细表), with a summary sheet in .xlsx.
        Households,
        /// Counts by township and village (汇总表).
        Summary,
    }
);

crate::graphql::enums::api_enum!(
    ExportFormat <=> service::ExportFormat {
        Xlsx,
        /// UTF-8 with a byte-order mark, so Excel shows the Chinese right.
        Csv,
    }
);

/// A generated report: download it from `url` before `expiresAt`.
#[derive(SimpleObject)]
pub struct ExportFile {
    pub file_name: String,
    pub kind: ExportKind,
    pub format: ExportFormat,
    /// Data rows written (households, or villages for the summary).
    pub rows: i64,
    pub url: String,
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
        region_id: Option<ID>,
        campaign_id: Option<ID>,
        kind: ExportKind,
        format: ExportFormat,
    ) -> async_graphql::Result<ExportFile> {
        let region = region_id.as_ref().map(|id| ids::decode("Region", id)).transpose()?;
        let campaign = campaign_id.as_ref().map(|id| ids::decode("Campaign", id)).transpose()?;
        Ok(export(ctx.caller(), ctx.state(), region, campaign, kind.into(), format.into()).await?.into())
    }
}
