//! GraphQL for households: the connection with its prefetch, the Household
//! object with its relations, what the three offices hold, and `node`.

use crate::domain::error::{key, msg};
use crate::{
    domain::{
        audit::queries::check_page,
        auth::{mask_id_number, mask_phone, Viewer},
        error::{AppError, AppResult},
        households::{self as service, encode_cursor, get},
        regions,
    },
    graphql::{
        accounts::{AuditEventConnection, AuditEventNode},
        enums::{SafetyPath, VerificationStatus},
        findings::FindingNode,
        ids, nested,
        photos::PhotoNode,
        regions::RegionNode,
        verification::VerificationNode,
        CtxExt,
    },
};
use async_graphql::{
    connection::{Connection, Edge, EmptyFields},
    ComplexObject, Context, InputObject, Lookahead, Object, SimpleObject, ID,
};
use entity::{household, reference_record, ReferenceSource};
use uuid::Uuid;

/// Narrows a household list; every field given must match.
#[derive(InputObject, Default, Clone, Debug)]
pub struct HouseholdFilter {
    /// Only this campaign's households (default: every campaign the viewer sees).
    pub campaign_id: Option<ID>,
    /// The whole subtree under this region (intersected with the viewer's scope).
    pub region_id: Option<ID>,
    /// Workflow states of the (non-practice) verification; NOT_STARTED means none yet.
    pub status: Option<Vec<VerificationStatus>>,
    /// Safety path chosen in the (non-practice) verification.
    pub path: Option<Vec<SafetyPath>>,
    /// Safety path the reference data points to (see `Household.expectedPath`).
    pub expected_path: Option<Vec<SafetyPath>>,
    /// Only households with (true) or without (false) open ERROR findings.
    pub has_open_errors: Option<bool>,
    /// Part of the head of household's name, or the start of the household code.
    pub search: Option<String>,
}

impl HouseholdFilter {
    pub(crate) fn decode(self) -> AppResult<service::HouseholdFilter> {
        let ids = |v: Option<Vec<SafetyPath>>| v.map(|v| v.into_iter().map(Into::into).collect());
        Ok(service::HouseholdFilter {
            campaign_id: self.campaign_id.as_ref().map(|c| ids::decode("Campaign", c)).transpose()?,
            region_id: self.region_id.as_ref().map(|r| ids::decode("Region", r)).transpose()?,
            status: self.status.map(|v| v.into_iter().map(Into::into).collect()),
            path: ids(self.path),
            expected_path: ids(self.expected_path),
            has_open_errors: self.has_open_errors,
            search: self.search,
        })
    }
}

/// Extra fields of a household connection.
#[derive(SimpleObject)]
pub struct ConnectionTotals {
    /// Number of households matching the filter, across all pages.
    pub total_count: u64,
}

pub type HouseholdConnection = Connection<String, HouseholdNode, ConnectionTotals, EmptyFields>;

pub async fn connection(
    ctx: &Context<'_>,
    first: Option<i32>,
    after: Option<String>,
    filter: HouseholdFilter,
) -> AppResult<HouseholdConnection> {
    ctx.viewer()?;
    // The page size is checked before the filter's IDs, as the API always answered.
    service::page_size(first)?;
    let want = nested::want(&ctx.look_ahead());
    let page = service::list(ctx.caller(), &ctx.state().db, &filter.decode()?, first, after.as_deref(), want).await?;
    page_connection(ctx, after.is_some(), page).await
}

/// A page of households as a connection, its selected relations prefetched.
pub async fn page_connection(ctx: &Context<'_>, after: bool, page: service::Page) -> AppResult<HouseholdConnection> {
    let viewer = ctx.viewer()?;
    prefetch_page(ctx, &ctx.look_ahead(), &page.rows).await?;
    let mut conn =
        Connection::with_additional_fields(after, page.has_next, ConnectionTotals { total_count: page.total });
    conn.edges.extend(page.rows.into_iter().map(|h| Edge::new(encode_cursor(&h), HouseholdNode::new(h, viewer))));
    Ok(conn)
}

/// Prefetches for both ways a connection hands out its households:
/// `edges { node }` (Relay) and the `nodes` shortcut dashboards prefer.
pub async fn prefetch_page(ctx: &Context<'_>, conn: &Lookahead<'_>, rows: &[household::Model]) -> AppResult<()> {
    for node in nested::node_selections(conn) {
        if node.exists() {
            prefetch(ctx, &node, rows).await?;
        }
    }
    Ok(())
}

/// Loads, in one query each, the relations the page's selection asks for, so
/// a page costs the same number of statements whatever its size.
/// `node` is the selection of a household in the page.
pub async fn prefetch(ctx: &Context<'_>, node: &Lookahead<'_>, rows: &[household::Model]) -> AppResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let l = ctx.loaders();
    let err = |e: async_graphql::Error| AppError::Internal(anyhow::anyhow!(e.message));
    let ids: Vec<Uuid> = rows.iter().map(|h| h.id).collect();
    if node.field("village").exists() || node.field("township").exists() {
        let mut regions: Vec<Uuid> = rows.iter().flat_map(|h| [Some(h.township_id), h.village_id]).flatten().collect();
        regions.sort();
        regions.dedup();
        let found = l.regions.load_many(regions).await.map_err(err)?;
        // What the selection asks of those regions, for all of them at once.
        for (name, level) in [("township", entity::RegionLevel::Township), ("village", entity::RegionLevel::Village)] {
            let look = node.field(name);
            if look.exists() {
                let of: Vec<entity::region::Model> = found.values().filter(|r| r.level == level).cloned().collect();
                nested::prefetch_regions(ctx, of, look).await?;
            }
        }
    }
    if node.field("findings").exists() {
        l.findings.load_many(ids.iter().copied()).await.map_err(err)?;
        if nested::wants_closed_findings(node) {
            l.closed_findings.load_many(ids.iter().copied()).await.map_err(err)?;
        }
    }
    for (first, before) in nested::history_selections(node) {
        let keys = ids.iter().map(|&household| nested::HistoryKey { household, first, before });
        l.history.load_many(keys).await.map_err(err)?;
    }
    if node.field("references").exists() {
        l.references.load_many(ids.iter().copied()).await.map_err(err)?;
    }
    if node.field("photos").exists() {
        let photos = l.photos.load_many(ids.iter().copied()).await.map_err(err)?;
        if node.field("photos").field("uploadedBy").exists() {
            let who: Vec<Uuid> = photos.values().flatten().map(|p| p.uploaded_by).collect();
            l.accounts.load_many(who).await.map_err(err)?;
        }
    }
    let v = node.field("verification");
    if v.exists() {
        // Both modes: one statement reads them all, and `verification(practice: true)` is a common alias.
        let keys = ids.iter().flat_map(|id| [(*id, false), (*id, true)]);
        let found = l.verifications.load_many(keys).await.map_err(err)?;
        if v.field("verifiedBy").exists() || v.field("approvedBy").exists() {
            let who: Vec<Uuid> =
                found.values().flatten().flat_map(|v| [v.verified_by, v.approved_by]).flatten().collect();
            if !who.is_empty() {
                l.accounts.load_many(who).await.map_err(err)?;
            }
        }
    }
    Ok(())
}

/// A registered poor household (建档立卡贫困户).
#[derive(SimpleObject)]
#[graphql(name = "Household", complex)]
pub struct HouseholdNode {
    #[graphql(skip)]
    pub model: household::Model,
    #[graphql(skip)]
    pub full_personal_data: bool,
    /// Household code (户编号) from the national poverty information system.
    pub code: String,
    /// Head of household (户主姓名).
    pub head_name: String,
    /// Number of people in the household (家庭人口数).
    pub size: Option<i32>,
    /// The safety path the reference data points to: an accepted renovation →
    /// RENOVATED; else appraisal grade A/B → APPRAISED; else SECURED (a house graded
    /// C/D with no accepted renovation needs another safe arrangement).
    pub expected_path: Option<SafetyPath>,
}

impl HouseholdNode {
    pub fn new(model: household::Model, viewer: &Viewer) -> Self {
        Self {
            code: model.code.clone(),
            head_name: model.head_name.clone(),
            size: model.size,
            expected_path: model.expected_path.map(Into::into),
            full_personal_data: viewer.sees_personal_data(),
            model,
        }
    }
}

#[ComplexObject]
impl HouseholdNode {
    /// Global ID.
    pub async fn id(&self) -> ID {
        ids::encode("Household", self.model.id)
    }
    /// Resident ID number (证件号码): in full for ADMIN and the household's own
    /// TOWNSHIP and VERIFIER; masked (131126********123X) for everyone else.
    async fn id_number(&self) -> String {
        if self.full_personal_data {
            self.model.id_number.clone()
        } else {
            mask_id_number(&self.model.id_number)
        }
    }
    /// Contact phone, masked like `idNumber`.
    async fn phone(&self) -> Option<String> {
        self.model.phone.as_ref().map(|p| if self.full_personal_data { p.clone() } else { mask_phone(p) })
    }
    /// The administrative village (行政村); null while the household is unplaced
    /// (its village is not on the official region list).
    async fn village(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<RegionNode>> {
        let Some(v) = self.model.village_id else { return Ok(None) };
        Ok(ctx.loaders().regions.load_one(v).await?.map(Into::into))
    }
    /// The township (乡镇).
    async fn township(&self, ctx: &Context<'_>) -> async_graphql::Result<RegionNode> {
        let r = ctx.loaders().regions.load_one(self.model.township_id).await?;
        Ok(r.ok_or_else(|| AppError::Internal(anyhow::anyhow!("household without township")))?.into())
    }
    /// The campaign this household record belongs to.
    async fn campaign_id(&self) -> ID {
        ids::encode("Campaign", self.model.campaign_id)
    }
    /// What the three offices hold about this household.
    async fn references(&self, ctx: &Context<'_>) -> async_graphql::Result<ReferenceRecords> {
        let rows = ctx.loaders().references.load_one(self.model.id).await?.unwrap_or_default();
        let pick = |s: ReferenceSource| {
            rows.iter()
                .find(|r| r.source == s)
                .map(|r| ReferenceRecord { model: r.clone(), full_personal_data: self.full_personal_data })
        };
        Ok(ReferenceRecords {
            poverty: pick(ReferenceSource::Poverty),
            appraisal: pick(ReferenceSource::Appraisal),
            renovation: pick(ReferenceSource::Renovation),
        })
    }
    /// The household's verification in its campaign; `practice: true` gives the
    /// practice entry (模拟录入) instead, which never counts.
    async fn verification(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = false, desc = "The practice entry (模拟录入) instead of the real one.")] practice: bool,
    ) -> async_graphql::Result<Option<VerificationNode>> {
        Ok(ctx.loaders().verifications.load_one((self.model.id, practice)).await?.flatten().map(VerificationNode))
    }
    /// Findings on this household: open ones by default; `practice: true` for the practice entry's.
    async fn findings(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = true, desc = "Open findings (default) or resolved ones.")] open: bool,
        #[graphql(default = false, desc = "The practice entry's findings instead of the real ones.")] practice: bool,
    ) -> async_graphql::Result<Vec<FindingNode>> {
        let english = ctx.caller().english();
        ctx.viewer()?;
        let loaders = ctx.loaders();
        let rows = if open {
            loaders.findings.load_one(self.model.id).await?.unwrap_or_default()
        } else {
            loaders.closed_findings.load_one(self.model.id).await?.unwrap_or_default()
        };
        Ok(rows.into_iter().filter(|f| f.practice == practice).map(|model| FindingNode { model, english }).collect())
    }
    /// The household's audit trail, newest first: every change to its
    /// verification, photos and findings, with who, when and before → after.
    async fn history(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 0–500 (default 50).")] first: Option<i32>,
        #[graphql(desc = "Cursor: the `endCursor` of the previous page.")] after: Option<String>,
    ) -> async_graphql::Result<AuditEventConnection> {
        let before_seq = after
            .as_deref()
            .map(|a| a.parse::<i64>().map_err(|_| AppError::validation("after", msg!(BAD_CURSOR))))
            .transpose()?;
        let first = first.unwrap_or(50);
        check_page(first)?;
        ctx.viewer()?;
        let key = nested::HistoryKey { household: self.model.id, first, before: before_seq };
        let (rows, more) = ctx.loaders().history.load_one(key).await?.unwrap_or_default();
        let mut conn = Connection::new(after.is_some(), more);
        conn.edges.extend(rows.into_iter().map(|e| Edge::new(e.seq.to_string(), AuditEventNode(e))));
        Ok(conn)
    }
    /// Photos of the house, oldest first.
    async fn photos(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<PhotoNode>> {
        Ok(ctx.loaders().photos.load_one(self.model.id).await?.unwrap_or_default().into_iter().map(PhotoNode).collect())
    }
}

/// The current records of the three offices; null where an office has none.
#[derive(SimpleObject)]
pub struct ReferenceRecords {
    /// Poverty office list (建档立卡户名单, 国扶系统).
    pub poverty: Option<ReferenceRecord>,
    /// Housing bureau appraisal (房屋鉴定).
    pub appraisal: Option<ReferenceRecord>,
    /// Housing bureau renovation (危房改造).
    pub renovation: Option<ReferenceRecord>,
}

/// One office's row about a household, with where it came from.
pub struct ReferenceRecord {
    model: reference_record::Model,
    full_personal_data: bool,
}

/// One office's row about a household, with the file and row it came from.
#[Object]
impl ReferenceRecord {
    /// Which office: POVERTY, APPRAISAL or RENOVATION.
    async fn source(&self) -> &str {
        self.model.source.as_str()
    }
    /// Household code (户编号) as the office wrote it.
    async fn household_code(&self) -> &str {
        &self.model.household_code
    }
    /// Head of household (户主姓名) as the office wrote it.
    async fn head_name(&self) -> &str {
        &self.model.head_name
    }
    /// Masked like `Household.idNumber`.
    async fn id_number(&self) -> String {
        if self.full_personal_data {
            self.model.id_number.clone()
        } else {
            mask_id_number(&self.model.id_number)
        }
    }
    /// Poverty list: township and village names as the office wrote them.
    async fn township_name(&self) -> Option<&str> {
        self.model.township_name.as_deref()
    }
    /// Poverty list: the village (行政村) name as the office wrote it.
    async fn village_name(&self) -> Option<&str> {
        self.model.village_name.as_deref()
    }
    /// Poverty list: household size (家庭人口数).
    async fn household_size(&self) -> Option<i32> {
        self.model.household_size
    }
    /// Poverty list: year lifted out of poverty (脱贫年度).
    async fn exit_year(&self) -> Option<i32> {
        self.model.exit_year
    }
    /// Appraisal grade (房屋鉴定等级) A, B (safe), C or D (unsafe).
    async fn grade(&self) -> Option<&str> {
        self.model.grade.as_deref()
    }
    /// Appraisal date (YYYY-MM-DD).
    async fn appraised_on(&self) -> Option<chrono::NaiveDate> {
        self.model.appraised_on
    }
    /// Appraisal: who appraised the house.
    async fn appraiser(&self) -> Option<&str> {
        self.model.appraiser.as_deref()
    }
    /// Renovation year (改造年度).
    async fn renovation_year(&self) -> Option<i32> {
        self.model.renovation_year
    }
    /// 拆除重建 (rebuilt) or 修缮加固 (reinforced).
    async fn renovation_kind(&self) -> Option<&str> {
        self.model.renovation_kind.as_deref()
    }
    /// Completion acceptance date (竣工验收日期); null = not yet accepted.
    async fn accepted_on(&self) -> Option<chrono::NaiveDate> {
        self.model.accepted_on
    }
    /// Renovation subsidy in yuan (补助金额).
    async fn subsidy_yuan(&self) -> Option<i64> {
        self.model.subsidy_yuan
    }
    /// File the row was imported from.
    async fn source_file(&self) -> &str {
        &self.model.source_file
    }
    /// Row number in that file, as Excel shows it (header is row 1).
    async fn row_number(&self) -> i32 {
        self.model.row_number
    }
}

#[derive(Default)]
pub struct HouseholdsQuery;

#[Object]
impl HouseholdsQuery {
    /// Households the viewer may see, by household code, as a Relay connection.
    /// `first` defaults to 20 and may be at most 500.
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity + 2")]
    async fn households(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 0–500 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor: the `endCursor` of the previous page.")] after: Option<String>,
        #[graphql(desc = "Which households; default: all the viewer may see.")] filter: Option<HouseholdFilter>,
    ) -> async_graphql::Result<HouseholdConnection> {
        Ok(connection(ctx, first, after, filter.unwrap_or_default()).await?)
    }

    /// One household; NOT_FOUND when it does not exist or is outside the viewer's region.
    async fn household(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The household's global ID.")] id: ID,
    ) -> async_graphql::Result<Option<HouseholdNode>> {
        let viewer = ctx.viewer()?;
        let h = get(&ctx.state().db, viewer, ids::decode("Household", &id)?).await?;
        Ok(Some(HouseholdNode::new(h, viewer)))
    }

    /// Any object by its global ID (Relay `Node`).
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A global ID (a Household or a Region).")] id: ID,
    ) -> async_graphql::Result<Option<Node>> {
        let viewer = ctx.viewer()?;
        let db = &ctx.state().db;
        let (kind, uuid) = ids::parse(&id)?;
        Ok(Some(match kind {
            "Household" => Node::Household(HouseholdNode::new(get(db, viewer, uuid).await?, viewer)),
            "Region" => Node::Region(regions::get(db, viewer, uuid).await?.into()),
            _ => return Err(AppError::not_found(key::THING_OBJECT).into()),
        }))
    }
}

/// An object with a global ID.
#[derive(async_graphql::Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Global ID (Type:uuid); treat it as opaque."))]
pub enum Node {
    Household(HouseholdNode),
    Region(RegionNode),
}
