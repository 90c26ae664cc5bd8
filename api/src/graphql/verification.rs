//! GraphQL for verification records: the Verification object, its evidence,
//! the save input, and the workflow mutations (save, submit, approve, return,
//! reopen, acknowledge, check, place, clear practice).

use crate::{
    domain::{
        checks,
        privacy::Privacy,
        workflow::{self, Op},
    },
    graphql::{
        accounts::AccountNode,
        enums::{SafetyPath, Severity, VerificationStatus},
        findings::{CheckReport, FindingNode, RuleCount},
        households::HouseholdNode,
        ids, CtxExt,
    },
};
use async_graphql::{Context, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use entity::verification;

/// A household's verification (核验) in a campaign.
pub struct VerificationNode(pub verification::Model);

/// Facts about the house as found on site.
#[derive(SimpleObject, async_graphql::InputObject, Default)]
#[graphql(input_name = "HouseFactsInput")]
pub struct HouseFacts {
    /// Structure, e.g. 砖混 (brick-concrete), 砖木 (brick-wood), 框架 (frame).
    pub structure: Option<String>,
    /// Number of storeys.
    pub floors: Option<i32>,
    /// Floor area in square metres.
    pub floor_area: Option<f64>,
    /// Year the house was built.
    pub year_built: Option<i32>,
    /// People living in the house.
    pub occupants: Option<i32>,
}

/// A household's verification record (核验) in a campaign: path, evidence, facts and workflow state.
#[Object(name = "Verification")]
impl VerificationNode {
    /// Global ID.
    async fn id(&self) -> ID {
        ids::encode("Verification", self.0.id)
    }
    /// Workflow state: DRAFT → SUBMITTED → APPROVED or RETURNED.
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
    /// Facts about the house as found on site.
    async fn house_facts(&self) -> HouseFacts {
        HouseFacts {
            structure: self.0.structure.clone(),
            floors: self.0.floors,
            floor_area: self.0.floor_area,
            year_built: self.0.year_built,
            occupants: self.0.occupants,
        }
    }
    /// Path-specific evidence. Addresses and names are withheld from
    /// SUPERVISOR accounts and API tokens.
    async fn evidence(&self, ctx: &Context<'_>) -> async_graphql::Result<EvidenceNode> {
        Ok(evidence_node(checks::evidence_of(&self.0), ctx.privacy()?))
    }
    /// On-site position (WGS 84) recorded with the entry; rounded to 0.01°
    /// for SUPERVISOR accounts and API tokens.
    async fn latitude(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<f64>> {
        let p = ctx.privacy()?;
        Ok(self.0.latitude.map(|c| p.coordinate(c)))
    }
    /// On-site longitude (WGS 84), shown like `latitude`.
    async fn longitude(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<f64>> {
        let p = ctx.privacy()?;
        Ok(self.0.longitude.map(|c| p.coordinate(c)))
    }
    /// Free text; withheld from SUPERVISOR accounts and API tokens.
    async fn notes(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        let p = ctx.privacy()?;
        Ok(self.0.notes.as_deref().map(|n| p.text(n).into_owned()))
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
    /// When it was approved (UTC).
    async fn approved_at(&self) -> Option<DateTime<Utc>> {
        self.0.approved_at
    }
    /// Why the township returned it, when it did.
    /// The reviewer's reason; withheld from SUPERVISOR accounts and API tokens.
    async fn return_reason(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        let p = ctx.privacy()?;
        Ok(self.0.return_reason.as_deref().map(|n| p.text(n).into_owned()))
    }
    /// When it last changed (UTC).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
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

/// Evidence for APPRAISED (鉴定安全).
#[derive(async_graphql::SimpleObject)]
pub struct AppraisalEvidenceNode {
    /// The verifier confirmed the bureau's appraisal grade (A or B) on site.
    pub confirmed_on_site: bool,
}

/// Evidence for RENOVATED (改造安全).
#[derive(async_graphql::SimpleObject)]
pub struct RenovationEvidenceNode {
    /// How the house was made safe.
    pub kind: RenovationKind,
    /// Relocated or resettled: where the family lives now.
    pub new_address: Option<String>,
}

/// Evidence for SECURED (保障安全).
#[derive(async_graphql::SimpleObject)]
pub struct SecuredEvidenceNode {
    /// The arrangement that houses the family.
    pub arrangement: Arrangement,
    /// Where the family lives.
    pub address: String,
    /// With whom: the relatives, or the landlord.
    pub with_whom: Option<String>,
    /// The arrangement in words; required for OTHER.
    pub description: Option<String>,
}

crate::graphql::enums::api_enum!(
    /// How an unsafe house was made safe: 拆除重建 REBUILT, 修缮加固 REINFORCED,
    /// 易地扶贫搬迁 RELOCATED, other resettlement (生态移民, 水库移民, 避险搬迁) RESETTLED.
    RenovationKind <=> checks::RenovationKind {
        /// Demolished and rebuilt (拆除重建).
        Rebuilt,
        /// Repaired and reinforced (修缮加固).
        Reinforced,
        /// Relocated for poverty alleviation (易地扶贫搬迁).
        Relocated,
        /// Another resettlement (生态移民, 水库移民, 避险搬迁).
        Resettled,
    }
);
crate::graphql::enums::api_enum!(
    /// 保障安全 arrangements: 集体公租房 PUBLIC_RENTAL, 幸福大院 ELDERLY_HOME,
    /// 租赁闲置农房 RENTED_FARMHOUSE, 投亲靠友 RELATIVES, another documented way OTHER.
    Arrangement <=> checks::Arrangement {
        /// Collective public rental home (集体公租房).
        PublicRental,
        /// Shared home for the elderly (幸福大院).
        ElderlyHome,
        /// Rented idle farmhouse (租赁闲置农房).
        RentedFarmhouse,
        /// Living with relatives (投亲靠友).
        Relatives,
        /// Another documented way; describe it in `description`.
        Other,
    }
);

fn evidence_node(e: checks::Evidence, p: Privacy) -> EvidenceNode {
    let text = |s: String| p.text(&s).into_owned();
    EvidenceNode {
        appraisal: e.appraisal.map(|a| AppraisalEvidenceNode { confirmed_on_site: a.confirmed_on_site }),
        renovation: e
            .renovation
            .map(|r| RenovationEvidenceNode { kind: r.kind.into(), new_address: r.new_address.map(text) }),
        secured: e.secured.map(|s| SecuredEvidenceNode {
            arrangement: s.arrangement.into(),
            address: text(s.address),
            with_whom: s.with_whom.map(text),
            description: s.description.map(text),
        }),
    }
}

// ------------------------------------------------------------------ inputs

/// Evidence for APPRAISED (鉴定安全).
#[derive(async_graphql::InputObject)]
pub struct AppraisalEvidenceInput {
    /// The bureau's appraisal grade (A or B) was confirmed on site.
    pub confirmed_on_site: bool,
}

/// Evidence for RENOVATED (改造安全).
#[derive(async_graphql::InputObject)]
pub struct RenovationEvidenceInput {
    /// How the house was made safe.
    pub kind: RenovationKind,
    /// Relocated or resettled: where the family lives now (required for those).
    pub new_address: Option<String>,
}

/// Evidence for SECURED (保障安全).
#[derive(async_graphql::InputObject)]
pub struct SecuredEvidenceInput {
    /// The arrangement that houses the family.
    pub arrangement: Arrangement,
    /// Where the family lives.
    pub address: String,
    /// With whom: the relatives, or the landlord.
    pub with_whom: Option<String>,
    /// The arrangement in words; required for OTHER.
    pub description: Option<String>,
}

/// A draft save. Send the `version` you loaded (0 for the first save) and an
/// `idempotencyKey` per intended change, so a retry after a lost answer is harmless.
#[derive(async_graphql::InputObject)]
pub struct SaveVerificationInput {
    /// The household the record is for.
    pub household_id: ID,
    /// A practice entry (模拟录入): never counts.
    #[graphql(default = false)]
    pub practice: bool,
    /// The `version` last loaded (0 for the first save); a stale one gives CONFLICT.
    pub version: i32,
    /// One key per intended change: a retry with the same key is answered, not applied twice.
    pub idempotency_key: Option<String>,
    /// The safety path chosen.
    pub path: Option<SafetyPath>,
    /// Evidence for APPRAISED.
    pub appraisal: Option<AppraisalEvidenceInput>,
    /// Evidence for RENOVATED.
    pub renovation: Option<RenovationEvidenceInput>,
    /// Evidence for SECURED.
    pub secured: Option<SecuredEvidenceInput>,
    /// Facts about the house as found on site.
    pub house_facts: Option<HouseFacts>,
    /// On-site position (WGS 84), optional.
    pub latitude: Option<f64>,
    /// On-site longitude (WGS 84), optional.
    pub longitude: Option<f64>,
    /// Free-text notes.
    pub notes: Option<String>,
}
#[derive(Default)]
pub struct VerificationMutation;

/// One workflow step on a verification, as every step mutation resolves it.
async fn step(
    ctx: &Context<'_>,
    op: Op,
    id: &ID,
    version: i32,
    reason: Option<&str>,
    idempotency_key: Option<&str>,
) -> async_graphql::Result<VerificationNode> {
    let id = ids::decode("Verification", id)?;
    let step = workflow::Step { op, id, version, reason, idempotency_key };
    let r = workflow::transition(ctx.caller(), ctx.state(), step).await?;
    Ok(VerificationNode(r))
}

#[Object]
impl VerificationMutation {
    /// Saves a draft (VERIFIER of the household's village). Stale `version` → CONFLICT.
    async fn save_verification(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The draft's content.")] input: SaveVerificationInput,
    ) -> async_graphql::Result<VerificationNode> {
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
            facts: workflow::HouseFacts {
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
        Ok(VerificationNode(workflow::save(ctx.caller(), ctx.state(), save).await?))
    }

    /// Submits for review (复验; VERIFIER). Needs the path's evidence, the front photo,
    /// no open ERROR and every WARNING acknowledged.
    async fn submit_verification(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The verification.")] id: ID,
        #[graphql(desc = "The `version` last loaded; a stale one gives CONFLICT.")] version: i32,
        #[graphql(desc = "One key per intended submission, so a retry is harmless.")] idempotency_key: Option<String>,
    ) -> async_graphql::Result<VerificationNode> {
        step(ctx, Op::Submit, &id, version, None, idempotency_key.as_deref()).await
    }

    /// Approves a submitted record (核准; TOWNSHIP of its township, or ADMIN).
    async fn approve_verification(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The verification.")] id: ID,
        #[graphql(desc = "The `version` last loaded; a stale one gives CONFLICT.")] version: i32,
        #[graphql(desc = "One key per intended decision, so a retry after a lost answer is harmless.")]
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<VerificationNode> {
        step(ctx, Op::Approve, &id, version, None, idempotency_key.as_deref()).await
    }

    /// Returns a submitted record to the verifier with a reason (TOWNSHIP, ADMIN).
    async fn return_verification(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The verification.")] id: ID,
        #[graphql(desc = "The `version` last loaded; a stale one gives CONFLICT.")] version: i32,
        #[graphql(desc = "What the verifier must fix.")] reason: String,
        #[graphql(desc = "One key per intended decision, so a retry after a lost answer is harmless.")]
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<VerificationNode> {
        step(ctx, Op::Return, &id, version, Some(&reason), idempotency_key.as_deref()).await
    }

    /// Reopens an approved record in the look-back review (回头看), opening a LOOK_BACK finding (TOWNSHIP, ADMIN).
    async fn reopen_verification(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The verification.")] id: ID,
        #[graphql(desc = "The `version` last loaded; a stale one gives CONFLICT.")] version: i32,
        #[graphql(desc = "Why the record is reopened.")] reason: String,
        #[graphql(desc = "One key per intended decision, so a retry after a lost answer is harmless.")]
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<VerificationNode> {
        step(ctx, Op::Reopen, &id, version, Some(&reason), idempotency_key.as_deref()).await
    }

    /// Acknowledges a WARNING finding with a reason.
    async fn acknowledge_finding(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The WARNING finding.")] id: ID,
        #[graphql(desc = "Why the warning does not apply, at most 500 characters.")] reason: String,
    ) -> async_graphql::Result<FindingNode> {
        let f = workflow::acknowledge(ctx.caller(), ctx.state(), ids::decode("Finding", &id)?, &reason).await?;
        Ok(FindingNode { model: f, english: ctx.caller().english() })
    }

    /// Runs every check over a region now (ADMIN, TOWNSHIP).
    async fn check_region(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The region whose households are checked.")] region_id: ID,
    ) -> async_graphql::Result<CheckReport> {
        let s = workflow::check_region(ctx.caller(), ctx.state(), ids::decode("Region", &region_id)?).await?;
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
        #[graphql(desc = "The unplaced household.")] household_id: ID,
        #[graphql(desc = "A village (行政村) of the household's township.")] village_id: ID,
    ) -> async_graphql::Result<HouseholdNode> {
        let v = ctx.viewer()?;
        let h = workflow::place_household(
            ctx.caller(),
            ctx.state(),
            ids::decode("Household", &household_id)?,
            ids::decode("Region", &village_id)?,
        )
        .await?;
        Ok(HouseholdNode::new(h, v))
    }

    /// Deletes every practice entry under a region (ADMIN); returns how many.
    async fn clear_practice_entries(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The region whose practice entries are deleted.")] region_id: ID,
    ) -> async_graphql::Result<u64> {
        Ok(workflow::clear_practice(ctx.caller(), ctx.state(), ids::decode("Region", &region_id)?).await?)
    }
}
