//! Verification records and their photos as the API shows them. The workflow
//! (save, submit, approve, return, reopen) builds on these types.

use crate::{
    accounts::AccountNode,
    auth::Viewer,
    checks,
    error::{AppError, AppResult},
    graphql::CtxExt,
    households::HouseholdNode,
    ids,
    types::{PhotoKind, SafetyPath, Severity, VerificationStatus},
    workflow::{self, Op},
};
use async_graphql::{
    connection::{Connection, Edge, EmptyFields},
    Context, Object, SimpleObject, ID,
};
use chrono::{DateTime, Utc};
use entity::{finding, household, photo, verification};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

/// A household's verification (核验) in a campaign.
pub struct VerificationNode(pub verification::Model);

/// Facts about the house as found on site.
#[derive(SimpleObject)]
pub struct HouseFacts {
    /// Structure, e.g. 砖混 (brick-concrete), 砖木 (brick-wood), 框架 (frame).
    pub structure: Option<String>,
    pub floors: Option<i32>,
    /// Floor area in square metres.
    pub floor_area: Option<f64>,
    pub year_built: Option<i32>,
    /// People living in the house.
    pub occupants: Option<i32>,
}

#[Object(name = "Verification")]
impl VerificationNode {
    async fn id(&self) -> ID {
        ids::encode("Verification", self.0.id)
    }
    async fn status(&self) -> VerificationStatus {
        self.0.status.into()
    }
    /// The safety path chosen by the verifier.
    async fn path(&self) -> Option<SafetyPath> {
        self.0.path.map(Into::into)
    }
    /// A practice entry (模拟录入): never counts in any figure.
    async fn practice(&self) -> bool {
        self.0.practice
    }
    /// Send it back with every change (optimistic locking).
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn house_facts(&self) -> HouseFacts {
        HouseFacts {
            structure: self.0.structure.clone(),
            floors: self.0.floors,
            floor_area: self.0.floor_area,
            year_built: self.0.year_built,
            occupants: self.0.occupants,
        }
    }
    /// Path-specific evidence.
    async fn evidence(&self) -> EvidenceNode {
        evidence_node(checks::evidence_of(&self.0))
    }
    /// On-site position (WGS 84) recorded with the entry.
    async fn latitude(&self) -> Option<f64> {
        self.0.latitude
    }
    async fn longitude(&self) -> Option<f64> {
        self.0.longitude
    }
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }
    /// Who entered it (核验人).
    async fn verified_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<AccountNode>> {
        AccountNode::load(ctx, self.0.verified_by).await
    }
    /// Who approved it (核准).
    async fn approved_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<AccountNode>> {
        AccountNode::load(ctx, self.0.approved_by).await
    }
    /// When it was submitted (UTC).
    async fn submitted_at(&self) -> Option<DateTime<Utc>> {
        self.0.submitted_at
    }
    async fn approved_at(&self) -> Option<DateTime<Utc>> {
        self.0.approved_at
    }
    /// Why the township returned it, when it did.
    async fn return_reason(&self) -> Option<&str> {
        self.0.return_reason.as_deref()
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// A photo's metadata; the image itself is in object storage.
pub struct PhotoNode(pub photo::Model);

#[Object(name = "Photo")]
impl PhotoNode {
    async fn id(&self) -> ID {
        ids::encode("Photo", self.0.id)
    }
    async fn kind(&self) -> PhotoKind {
        self.0.kind.into()
    }
    /// Short-lived link to the photo (10 minutes): presigned on S3, signed by the API otherwise.
    async fn url(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        Ok(crate::photos::url_for(ctx.state(), &self.0, false).await?)
    }
    /// Short-lived link to the 320 px thumbnail.
    async fn thumbnail_url(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        Ok(crate::photos::url_for(ctx.state(), &self.0, true).await?)
    }
    /// 64-bit perceptual hash (dHash), 16 hex digits, for near-duplicate checks.
    async fn perceptual_hash(&self) -> Option<String> {
        self.0.phash.map(|h| format!("{:016x}", h as u64))
    }
    /// Mean brightness 0–255 measured on acceptance.
    async fn brightness(&self) -> Option<f64> {
        self.0.mean_luma
    }
    /// Sharpness (variance of the Laplacian) measured on acceptance; low means blurred.
    async fn sharpness(&self) -> Option<f64> {
        self.0.sharpness
    }
    async fn practice(&self) -> bool {
        self.0.practice
    }
    /// Capture time from EXIF (UTC), when the camera recorded one.
    async fn taken_at(&self) -> Option<DateTime<Utc>> {
        self.0.taken_at
    }
    /// GPS position from EXIF (WGS 84), when present.
    async fn latitude(&self) -> Option<f64> {
        self.0.latitude
    }
    async fn longitude(&self) -> Option<f64> {
        self.0.longitude
    }
    /// Pixel size.
    async fn width(&self) -> i32 {
        self.0.width
    }
    async fn height(&self) -> i32 {
        self.0.height
    }
    async fn size_bytes(&self) -> i64 {
        self.0.size_bytes
    }
    /// SHA-256 of the stored file, hex.
    async fn sha256(&self) -> &str {
        &self.0.sha256
    }
    async fn uploaded_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<AccountNode>> {
        AccountNode::load(ctx, Some(self.0.uploaded_by)).await
    }
    async fn uploaded_at(&self) -> DateTime<Utc> {
        self.0.uploaded_at
    }
}

// ------------------------------------------------------------------ evidence output

/// Path-specific evidence as recorded by the verifier.
#[derive(async_graphql::SimpleObject)]
pub struct EvidenceNode {
    /// APPRAISED: the bureau's grade confirmed on site.
    pub appraisal: Option<AppraisalEvidenceNode>,
    /// RENOVATED: rebuilt, reinforced, or relocated / resettled.
    pub renovation: Option<RenovationEvidenceNode>,
    /// SECURED: the arrangement that houses the family safely.
    pub secured: Option<SecuredEvidenceNode>,
}

#[derive(async_graphql::SimpleObject)]
pub struct AppraisalEvidenceNode {
    pub confirmed_on_site: bool,
}

#[derive(async_graphql::SimpleObject)]
pub struct RenovationEvidenceNode {
    pub kind: RenovationKind,
    pub new_address: Option<String>,
}

#[derive(async_graphql::SimpleObject)]
pub struct SecuredEvidenceNode {
    pub arrangement: Arrangement,
    pub address: String,
    pub with_whom: Option<String>,
    pub description: Option<String>,
}

/// How an unsafe house was made safe: 拆除重建 REBUILT, 修缮加固 REINFORCED,
/// 易地扶贫搬迁 RELOCATED, other resettlement (生态移民, 水库移民, 避险搬迁) RESETTLED.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum RenovationKind {
    Rebuilt,
    Reinforced,
    Relocated,
    Resettled,
}

/// 保障安全 arrangements: 集体公租房 PUBLIC_RENTAL, 幸福大院 ELDERLY_HOME,
/// 租赁闲置农房 RENTED_FARMHOUSE, 投亲靠友 RELATIVES, another documented way OTHER.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum Arrangement {
    PublicRental,
    ElderlyHome,
    RentedFarmhouse,
    Relatives,
    Other,
}

impl From<checks::RenovationKind> for RenovationKind {
    fn from(k: checks::RenovationKind) -> Self {
        match k {
            checks::RenovationKind::Rebuilt => Self::Rebuilt,
            checks::RenovationKind::Reinforced => Self::Reinforced,
            checks::RenovationKind::Relocated => Self::Relocated,
            checks::RenovationKind::Resettled => Self::Resettled,
        }
    }
}
impl From<RenovationKind> for checks::RenovationKind {
    fn from(k: RenovationKind) -> Self {
        match k {
            RenovationKind::Rebuilt => Self::Rebuilt,
            RenovationKind::Reinforced => Self::Reinforced,
            RenovationKind::Relocated => Self::Relocated,
            RenovationKind::Resettled => Self::Resettled,
        }
    }
}
impl From<checks::Arrangement> for Arrangement {
    fn from(a: checks::Arrangement) -> Self {
        match a {
            checks::Arrangement::PublicRental => Self::PublicRental,
            checks::Arrangement::ElderlyHome => Self::ElderlyHome,
            checks::Arrangement::RentedFarmhouse => Self::RentedFarmhouse,
            checks::Arrangement::Relatives => Self::Relatives,
            checks::Arrangement::Other => Self::Other,
        }
    }
}
impl From<Arrangement> for checks::Arrangement {
    fn from(a: Arrangement) -> Self {
        match a {
            Arrangement::PublicRental => Self::PublicRental,
            Arrangement::ElderlyHome => Self::ElderlyHome,
            Arrangement::RentedFarmhouse => Self::RentedFarmhouse,
            Arrangement::Relatives => Self::Relatives,
            Arrangement::Other => Self::Other,
        }
    }
}

fn evidence_node(e: checks::Evidence) -> EvidenceNode {
    EvidenceNode {
        appraisal: e.appraisal.map(|a| AppraisalEvidenceNode { confirmed_on_site: a.confirmed_on_site }),
        renovation: e.renovation.map(|r| RenovationEvidenceNode { kind: r.kind.into(), new_address: r.new_address }),
        secured: e.secured.map(|s| SecuredEvidenceNode {
            arrangement: s.arrangement.into(),
            address: s.address,
            with_whom: s.with_whom,
            description: s.description,
        }),
    }
}

// ------------------------------------------------------------------ inputs

#[derive(async_graphql::InputObject)]
pub struct AppraisalEvidenceInput {
    pub confirmed_on_site: bool,
}

#[derive(async_graphql::InputObject)]
pub struct RenovationEvidenceInput {
    pub kind: RenovationKind,
    pub new_address: Option<String>,
}

#[derive(async_graphql::InputObject)]
pub struct SecuredEvidenceInput {
    pub arrangement: Arrangement,
    pub address: String,
    pub with_whom: Option<String>,
    pub description: Option<String>,
}

#[derive(async_graphql::InputObject, Default)]
pub struct HouseFactsInput {
    pub structure: Option<String>,
    pub floors: Option<i32>,
    /// Square metres.
    pub floor_area: Option<f64>,
    pub year_built: Option<i32>,
    pub occupants: Option<i32>,
}

/// A draft save. Send the `version` you loaded (0 for the first save) and an
/// `idempotencyKey` per intended change, so a retry after a lost answer is harmless.
#[derive(async_graphql::InputObject)]
pub struct SaveVerificationInput {
    pub household_id: ID,
    /// A practice entry (模拟录入): never counts.
    #[graphql(default = false)]
    pub practice: bool,
    pub version: i32,
    pub idempotency_key: Option<String>,
    pub path: Option<SafetyPath>,
    pub appraisal: Option<AppraisalEvidenceInput>,
    pub renovation: Option<RenovationEvidenceInput>,
    pub secured: Option<SecuredEvidenceInput>,
    pub house_facts: Option<HouseFactsInput>,
    /// On-site position (WGS 84), optional.
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub notes: Option<String>,
}

// ------------------------------------------------------------------ findings

/// A problem found by a check.
pub struct FindingNode {
    pub model: finding::Model,
    pub english: bool,
}

#[Object(name = "Finding")]
impl FindingNode {
    async fn id(&self) -> ID {
        ids::encode("Finding", self.model.id)
    }
    /// Stable rule code, e.g. ID_CHECKSUM, NAME_MISMATCH, UNSAFE_HOUSE, PHOTO_MISSING.
    async fn rule(&self) -> &str {
        &self.model.rule
    }
    async fn severity(&self) -> Severity {
        self.model.severity.into()
    }
    /// For people, in the viewer's language (`Accept-Language: en` for English; zh-CN otherwise).
    async fn message(&self) -> String {
        checks::message(&self.model.rule, &self.model.details, self.english)
    }
    /// The sources that disagree: POVERTY, APPRAISAL, RENOVATION, REGIONS, VERIFICATION, PHOTOS, LOOK_BACK.
    async fn sources(&self) -> Vec<String> {
        serde_json::from_value(self.model.sources.clone()).unwrap_or_default()
    }
    async fn details(&self) -> async_graphql::Json<serde_json::Value> {
        async_graphql::Json(self.model.details.clone())
    }
    async fn open(&self) -> bool {
        self.model.open
    }
    async fn practice(&self) -> bool {
        self.model.practice
    }
    async fn acknowledged(&self) -> bool {
        self.model.acknowledged_at.is_some()
    }
    async fn ack_reason(&self) -> Option<&str> {
        self.model.ack_reason.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }
    async fn resolved_at(&self) -> Option<DateTime<Utc>> {
        self.model.resolved_at
    }
    /// The household it is about.
    async fn household(&self, ctx: &Context<'_>) -> async_graphql::Result<HouseholdNode> {
        let viewer = ctx.viewer()?;
        let h = ctx.loaders().households.load_one(self.model.household_id).await?;
        Ok(HouseholdNode::new(h.ok_or_else(|| AppError::not_found("household"))?, viewer))
    }
}

/// Open findings counted by rule.
#[derive(async_graphql::SimpleObject)]
pub struct RuleCount {
    pub rule: String,
    pub severity: Severity,
    pub count: u64,
}

/// What an on-demand check did.
#[derive(async_graphql::SimpleObject)]
pub struct CheckReport {
    pub households: u64,
    pub opened: u64,
    pub resolved: u64,
    /// Open ERROR findings by rule after the run.
    pub open_errors: Vec<RuleCount>,
}

/// IDs of the households the viewer sees, under a region when one is given.
async fn households_seen_under(
    db: &sea_orm::DatabaseConnection,
    viewer: &Viewer,
    region_id: Option<Uuid>,
) -> AppResult<sea_orm::sea_query::SelectStatement> {
    let mut hc = viewer.household_condition();
    if let Some(r) = region_id {
        let region = crate::regions::get(db, viewer, r).await?;
        if viewer.covers(&region) {
            hc = hc.add(crate::auth::region_household_condition(region.id, region.level, &region.path));
        }
    }
    Ok(sea_orm::sea_query::Query::select()
        .column(household::Column::Id)
        .from(household::Entity)
        .cond_where(hc)
        .to_owned())
}

pub async fn findings_for(
    db: &sea_orm::DatabaseConnection,
    viewer: &Viewer,
    region_id: Option<Uuid>,
    severity: Option<Severity>,
    rule: Option<String>,
    open: bool,
    first: i32,
    after: Option<&str>,
) -> AppResult<(Vec<finding::Model>, bool)> {
    if !(0..=500).contains(&first) {
        return Err(AppError::validation("first", "`first` must be between 0 and 500."));
    }
    let sub = households_seen_under(db, viewer, region_id).await?;
    let mut q = finding::Entity::find()
        .filter(finding::Column::HouseholdId.in_subquery(sub))
        .filter(finding::Column::Open.eq(open))
        .filter(finding::Column::Practice.eq(false));
    if let Some(s) = severity {
        q = q.filter(finding::Column::Severity.eq(entity::Severity::from(s)));
    }
    if let Some(r) = rule {
        q = q.filter(finding::Column::Rule.eq(r));
    }
    if let Some(a) = after {
        let id = Uuid::parse_str(a)
            .map_err(|_| AppError::validation("after", "The cursor is not one this API returned."))?;
        q = q.filter(finding::Column::Id.gt(id));
    }
    let mut rows = q.order_by_asc(finding::Column::Id).limit(first as u64 + 1).all(db).await?;
    let more = rows.len() > first as usize;
    rows.truncate(first as usize);
    Ok((rows, more))
}

pub type FindingConnection = Connection<String, FindingNode, EmptyFields, EmptyFields>;

#[derive(Default)]
pub struct VerificationQuery;

#[Object]
impl VerificationQuery {
    /// Findings on households in the viewer's region (practice ones excluded).
    #[allow(clippy::too_many_arguments)]
    async fn findings(
        &self,
        ctx: &Context<'_>,
        region_id: Option<ID>,
        severity: Option<Severity>,
        rule: Option<String>,
        #[graphql(default = true)] open: bool,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<FindingConnection> {
        let viewer = ctx.viewer()?;
        let region = region_id.as_ref().map(|r| ids::decode("Region", r)).transpose()?;
        let (rows, more) =
            findings_for(&ctx.state().db, viewer, region, severity, rule, open, first.unwrap_or(50), after.as_deref())
                .await?;
        // Load every selected household in one query, not one per finding.
        if ctx.look_ahead().field("edges").field("node").field("household").exists() {
            let ids: Vec<Uuid> = rows.iter().map(|f| f.household_id).collect();
            ctx.loaders().households.load_many(ids).await?;
        }
        let english = ctx.req().english;
        let mut conn = Connection::new(after.is_some(), more);
        conn.edges.extend(rows.into_iter().map(|f| Edge::new(f.id.to_string(), FindingNode { model: f, english })));
        Ok(conn)
    }

    /// Open findings under a region counted by rule (practice ones excluded).
    async fn finding_counts(&self, ctx: &Context<'_>, region_id: Option<ID>) -> async_graphql::Result<Vec<RuleCount>> {
        let viewer = ctx.viewer()?;
        let region = region_id.as_ref().map(|r| ids::decode("Region", r)).transpose()?;
        let (rows, _) = findings_for(&ctx.state().db, viewer, region, None, None, true, 0, None).await?;
        debug_assert!(rows.is_empty());
        Ok(count_findings(&ctx.state().db, viewer, region).await?)
    }
}

async fn count_findings(
    db: &sea_orm::DatabaseConnection,
    viewer: &Viewer,
    region_id: Option<Uuid>,
) -> AppResult<Vec<RuleCount>> {
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
    Ok(rows.into_iter().map(|(rule, s, n)| RuleCount { rule, severity: s.into(), count: n as u64 }).collect())
}

#[derive(Default)]
pub struct VerificationMutation;

fn vid(id: &ID) -> AppResult<Uuid> {
    ids::decode("Verification", id)
}

#[Object]
impl VerificationMutation {
    /// Saves a draft (VERIFIER of the household's village). Stale `version` → CONFLICT.
    async fn save_verification(
        &self,
        ctx: &Context<'_>,
        input: SaveVerificationInput,
    ) -> async_graphql::Result<VerificationNode> {
        let viewer = ctx.viewer()?;
        let f = input.house_facts.unwrap_or_default();
        let save = workflow::SaveInput {
            household_id: ids::decode("Household", &input.household_id)?,
            practice: input.practice,
            version: input.version,
            idempotency_key: input.idempotency_key,
            path: input.path.map(Into::into),
            evidence: checks::Evidence {
                appraisal: input
                    .appraisal
                    .map(|a| checks::AppraisalEvidence { confirmed_on_site: a.confirmed_on_site }),
                renovation: input
                    .renovation
                    .map(|r| checks::RenovationEvidence { kind: r.kind.into(), new_address: r.new_address }),
                secured: input.secured.map(|s| checks::SecuredEvidence {
                    arrangement: s.arrangement.into(),
                    address: s.address,
                    with_whom: s.with_whom,
                    description: s.description,
                }),
            },
            facts: workflow::HouseFactsInput {
                structure: f.structure,
                floors: f.floors,
                floor_area: f.floor_area,
                year_built: f.year_built,
                occupants: f.occupants,
            },
            latitude: input.latitude,
            longitude: input.longitude,
            notes: input.notes,
        };
        Ok(VerificationNode(workflow::save(ctx.state(), viewer, save, ctx.req().client_addr.clone()).await?))
    }

    /// Submits for review (复验; VERIFIER). Needs the path's evidence, the front photo,
    /// no open ERROR and every WARNING acknowledged.
    async fn submit_verification(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<VerificationNode> {
        let v = ctx.viewer()?;
        let r = workflow::transition(
            ctx.state(),
            v,
            Op::Submit,
            vid(&id)?,
            version,
            None,
            idempotency_key.as_deref(),
            ctx.req().client_addr.clone(),
        )
        .await?;
        Ok(VerificationNode(r))
    }

    /// Approves a submitted record (核准; TOWNSHIP of its township, or ADMIN).
    async fn approve_verification(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
    ) -> async_graphql::Result<VerificationNode> {
        let v = ctx.viewer()?;
        let r = workflow::transition(
            ctx.state(),
            v,
            Op::Approve,
            vid(&id)?,
            version,
            None,
            None,
            ctx.req().client_addr.clone(),
        )
        .await?;
        Ok(VerificationNode(r))
    }

    /// Returns a submitted record to the verifier with a reason (TOWNSHIP, ADMIN).
    async fn return_verification(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        reason: String,
    ) -> async_graphql::Result<VerificationNode> {
        let v = ctx.viewer()?;
        let r = workflow::transition(
            ctx.state(),
            v,
            Op::Return,
            vid(&id)?,
            version,
            Some(&reason),
            None,
            ctx.req().client_addr.clone(),
        )
        .await?;
        Ok(VerificationNode(r))
    }

    /// Reopens an approved record in the look-back review (回头看), opening a LOOK_BACK finding (TOWNSHIP, ADMIN).
    async fn reopen_verification(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        reason: String,
    ) -> async_graphql::Result<VerificationNode> {
        let v = ctx.viewer()?;
        let r = workflow::transition(
            ctx.state(),
            v,
            Op::Reopen,
            vid(&id)?,
            version,
            Some(&reason),
            None,
            ctx.req().client_addr.clone(),
        )
        .await?;
        Ok(VerificationNode(r))
    }

    /// Acknowledges a WARNING finding with a reason.
    async fn acknowledge_finding(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: String,
    ) -> async_graphql::Result<FindingNode> {
        let v = ctx.viewer()?;
        let f =
            workflow::acknowledge(ctx.state(), v, ids::decode("Finding", &id)?, &reason, ctx.req().client_addr.clone())
                .await?;
        Ok(FindingNode { model: f, english: ctx.req().english })
    }

    /// Runs every check over a region now (ADMIN, TOWNSHIP).
    async fn check_region(&self, ctx: &Context<'_>, region_id: ID) -> async_graphql::Result<CheckReport> {
        let v = ctx.viewer()?;
        let s = workflow::check_region(ctx.state(), v, ids::decode("Region", &region_id)?).await?;
        let mut open_errors: Vec<RuleCount> = s
            .open_errors_by_rule
            .into_iter()
            .map(|(rule, count)| RuleCount { rule, severity: Severity::Error, count })
            .collect();
        open_errors.sort_by(|a, b| a.rule.cmp(&b.rule));
        Ok(CheckReport { households: s.households, opened: s.opened, resolved: s.resolved, open_errors })
    }

    /// Places an unplaced household in a village of its township (ADMIN).
    async fn place_household(
        &self,
        ctx: &Context<'_>,
        household_id: ID,
        village_id: ID,
    ) -> async_graphql::Result<HouseholdNode> {
        let v = ctx.viewer()?;
        let h = workflow::place_household(
            ctx.state(),
            v,
            ids::decode("Household", &household_id)?,
            ids::decode("Region", &village_id)?,
            ctx.req().client_addr.clone(),
        )
        .await?;
        Ok(HouseholdNode::new(h, v))
    }

    /// Deletes every practice entry under a region (ADMIN); returns how many.
    async fn clear_practice_entries(&self, ctx: &Context<'_>, region_id: ID) -> async_graphql::Result<u64> {
        let v = ctx.viewer()?;
        Ok(workflow::clear_practice(ctx.state(), v, ids::decode("Region", &region_id)?, ctx.req().client_addr.clone())
            .await?)
    }
}
