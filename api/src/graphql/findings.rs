//! GraphQL for findings: the Finding object, lists and counts by rule, and
//! the on-demand check report.

use crate::domain::error::key;
use crate::{
    domain::{
        checks,
        error::AppError,
        findings::{self, FindingFilter},
    },
    graphql::{enums::Severity, households::HouseholdNode, ids, CtxExt},
};
use async_graphql::{
    connection::{Connection, Edge, EmptyFields},
    Context, Object, SimpleObject, ID,
};
use chrono::{DateTime, Utc};
use entity::finding;
use uuid::Uuid;

/// A problem found by a check.
pub struct FindingNode {
    pub model: finding::Model,
    pub english: bool,
}

impl FindingNode {
    /// The details with other households' codes outside the viewer's scope
    /// taken out (a duplicate ID in another township is counted, not named).
    async fn scoped_details(&self, ctx: &Context<'_>) -> async_graphql::Result<serde_json::Value> {
        let mut details = ctx.privacy()?.json(&self.model.details);
        let Some(codes) = details.get("otherCodes").and_then(|v| v.as_array()) else { return Ok(details) };
        let codes: Vec<String> = codes.iter().filter_map(|c| c.as_str().map(str::to_owned)).collect();
        let seen = ctx.loaders().visible_codes.load_many(codes.iter().cloned()).await?;
        let shown: Vec<&String> = codes.iter().filter(|c| seen.get(*c).copied().unwrap_or(false)).collect();
        let hidden = codes.len() - shown.len();
        details["otherCodes"] = serde_json::json!(shown);
        if hidden > 0 {
            details["otherOutsideScope"] = serde_json::json!(hidden);
        }
        Ok(details)
    }
}

/// A finding: the result of a rule check that found a problem with a household's record.
#[Object(name = "Finding")]
impl FindingNode {
    /// Global ID.
    async fn id(&self) -> ID {
        ids::encode("Finding", self.model.id)
    }
    /// Stable rule code, e.g. ID_CHECKSUM, NAME_MISMATCH, UNSAFE_HOUSE, PHOTO_MISSING.
    async fn rule(&self) -> &str {
        &self.model.rule
    }
    /// ERROR or WARNING.
    async fn severity(&self) -> Severity {
        self.model.severity.into()
    }
    /// For people, in the viewer's language (`Accept-Language: en` for English; zh-CN otherwise).
    async fn message(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        Ok(checks::message(&self.model.rule, &self.scoped_details(ctx).await?, self.english))
    }
    /// The sources that disagree: POVERTY, APPRAISAL, RENOVATION, REGIONS, VERIFICATION, PHOTOS, LOOK_BACK.
    async fn sources(&self) -> Vec<String> {
        serde_json::from_value(self.model.sources.clone()).unwrap_or_default()
    }
    /// Rule-specific facts. `otherCodes` lists only households the viewer may
    /// see; `otherOutsideScope` counts the rest.
    async fn details(&self, ctx: &Context<'_>) -> async_graphql::Result<async_graphql::Json<serde_json::Value>> {
        Ok(async_graphql::Json(self.scoped_details(ctx).await?))
    }
    /// True until the problem is gone (the check passes again).
    async fn open(&self) -> bool {
        self.model.open
    }
    /// About the practice entry (模拟录入); never counts.
    async fn practice(&self) -> bool {
        self.model.practice
    }
    /// A WARNING acknowledged with a reason (see `ackReason`).
    async fn acknowledged(&self) -> bool {
        self.model.acknowledged_at.is_some()
    }
    /// Whether it stops the record from being submitted or approved (the
    /// server's one approval rule): an open ERROR, or an open WARNING not acknowledged.
    async fn blocks_approval(&self) -> bool {
        crate::domain::findings::blocks_approval(&self.model)
    }
    /// Free text; withheld from SUPERVISOR accounts and API tokens.
    async fn ack_reason(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        let p = ctx.privacy()?;
        Ok(self.model.ack_reason.as_deref().map(|n| p.text(n).into_owned()))
    }
    /// When the check first found it.
    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }
    /// When it was resolved; null while open.
    async fn resolved_at(&self) -> Option<DateTime<Utc>> {
        self.model.resolved_at
    }
    /// The household it is about.
    async fn household(&self, ctx: &Context<'_>) -> async_graphql::Result<HouseholdNode> {
        let viewer = ctx.viewer()?;
        let h = ctx.loaders().households.load_one(self.model.household_id).await?;
        Ok(HouseholdNode::new(h.ok_or_else(|| AppError::not_found(key::THING_HOUSEHOLD))?, viewer))
    }
}

/// Open findings counted by rule.
#[derive(SimpleObject)]
pub struct RuleCount {
    /// Rule code, e.g. ID_CHECKSUM.
    pub rule: String,
    /// The rule's severity.
    pub severity: Severity,
    /// Open findings of this rule.
    pub count: u64,
}

/// What an on-demand check did.
#[derive(SimpleObject)]
pub struct CheckReport {
    /// Households checked.
    pub households: u64,
    /// Findings the run opened.
    pub opened: u64,
    /// Findings the run resolved.
    pub resolved: u64,
    /// Open ERROR findings by rule after the run.
    pub open_errors: Vec<RuleCount>,
}

impl From<findings::RuleCount> for RuleCount {
    fn from(r: findings::RuleCount) -> Self {
        Self { rule: r.rule, severity: r.severity.into(), count: r.count }
    }
}

pub type FindingConnection = Connection<String, FindingNode, EmptyFields, EmptyFields>;

#[derive(Default)]
pub struct FindingsQuery;

#[Object]
impl FindingsQuery {
    /// Findings on households in the viewer's region (practice ones excluded).
    #[allow(clippy::too_many_arguments)]
    async fn findings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only under this region (default: the viewer's whole region).")] region_id: Option<ID>,
        #[graphql(desc = "Only this severity.")] severity: Option<Severity>,
        #[graphql(desc = "Only this rule code, e.g. ID_CHECKSUM.")] rule: Option<String>,
        #[graphql(default = true, desc = "Open findings (default) or resolved ones.")] open: bool,
        #[graphql(desc = "Page size, 0–500 (default 50).")] first: Option<i32>,
        #[graphql(desc = "Cursor: the `endCursor` of the previous page.")] after: Option<String>,
    ) -> async_graphql::Result<FindingConnection> {
        let region_id = region_id.as_ref().map(|r| ids::decode("Region", r)).transpose()?;
        let filter = FindingFilter { region_id, severity: severity.map(Into::into), rule, open };
        let (rows, more) =
            findings::findings_for(ctx.caller(), &ctx.state().db, filter, first.unwrap_or(50), after.as_deref())
                .await?;
        // Load every selected household in one query, not one per finding.
        if crate::graphql::nested::node_selections(&ctx.look_ahead()).iter().any(|n| n.field("household").exists()) {
            let ids: Vec<Uuid> = rows.iter().map(|f| f.household_id).collect();
            ctx.loaders().households.load_many(ids).await?;
        }
        let english = ctx.caller().english();
        let mut conn = Connection::new(after.is_some(), more);
        conn.edges.extend(rows.into_iter().map(|f| Edge::new(f.id.to_string(), FindingNode { model: f, english })));
        Ok(conn)
    }

    /// Open findings under a region counted by rule (practice ones excluded).
    async fn finding_counts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The region (default: the viewer's own).")] region_id: Option<ID>,
    ) -> async_graphql::Result<Vec<RuleCount>> {
        let region = region_id.as_ref().map(|r| ids::decode("Region", r)).transpose()?;
        let counts = findings::count_findings(ctx.caller(), &ctx.state().db, region).await?;
        Ok(counts.into_iter().map(Into::into).collect())
    }
}
