//! GraphQL for accounts, sessions, API tokens and the audit trail.

use crate::domain::error::msg;
use crate::{
    domain::{
        accounts::{
            create_account, create_api_token, issue_accounts, list_accounts, list_api_tokens, printable_sheet, qr_svg,
            revoke_api_token, revoke_sessions, sign_in_url, NewAccount,
        },
        audit::queries::audit_events,
        auth::{
            mask_phone,
            sessions::{change_password, refresh, sign_in, sign_out, Tokens},
        },
        error::AppError,
    },
    graphql::{enums::Role, ids, regions::RegionNode, CtxExt},
};
use async_graphql::{
    connection::{Connection, Edge, EmptyFields},
    Context, Object, SimpleObject, ID,
};
use chrono::{DateTime, Utc};
use entity::{account, api_token, audit_event};
use uuid::Uuid;

/// A sign-in account.
pub struct AccountNode(pub account::Model);

impl AccountNode {
    pub async fn load(ctx: &Context<'_>, id: Option<Uuid>) -> async_graphql::Result<Option<AccountNode>> {
        let Some(id) = id else { return Ok(None) };
        Ok(ctx.loaders().accounts.load_one(id).await?.map(AccountNode))
    }
}

impl AccountNode {
    /// Account details are for ADMIN (not a token) and the account itself.
    fn details_for(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let viewer = ctx.viewer_pending_password()?;
        Ok(viewer.role == entity::Role::Admin && !viewer.is_api_token() || viewer.account_id() == Some(self.0.id))
    }
}

/// A sign-in account: a person, or a township or village post.
#[Object(name = "Account")]
impl AccountNode {
    /// Global ID.
    async fn id(&self) -> ID {
        ids::encode("Account", self.0.id)
    }
    /// Sign-in name.
    async fn username(&self) -> &str {
        &self.0.username
    }
    /// Person or post, e.g. 张后寨核验员.
    async fn display_name(&self) -> &str {
        &self.0.display_name
    }
    /// What the account may do.
    async fn role(&self) -> Role {
        self.0.role.into()
    }
    /// The region the account works in.
    async fn region(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<RegionNode>> {
        Ok(ctx.loaders().regions.load_one(self.0.region_id).await?.map(Into::into))
    }
    /// Contact phone: in full for ADMIN and the account itself, masked for others.
    async fn phone(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        let full = self.details_for(ctx)?;
        Ok(self.0.phone.as_ref().map(|p| if full { p.clone() } else { mask_phone(p) }))
    }
    /// True until the initial password has been changed. Shown to ADMIN and
    /// the account itself; null for others.
    async fn must_change_password(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<bool>> {
        Ok(self.details_for(ctx)?.then_some(self.0.must_change_password))
    }
    /// Shown to ADMIN and the account itself; null for others.
    async fn last_sign_in_at(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<DateTime<Utc>>> {
        Ok(self.details_for(ctx)?.then_some(self.0.last_sign_in_at).flatten())
    }
}

/// Tokens from signing in. Send `accessToken` as `Authorization: Bearer …`;
/// trade `refreshToken` for a new pair before the access token expires.
pub struct SignInResult(Tokens);

/// Tokens from signing in. Send `accessToken` as `Authorization: Bearer …`;
/// trade `refreshToken` for a new pair before the access token expires.
#[Object]
impl SignInResult {
    /// JWT, valid until `accessTokenExpiresAt`.
    async fn access_token(&self) -> &str {
        &self.0.access_token
    }
    /// When the access token stops working.
    async fn access_token_expires_at(&self) -> DateTime<Utc> {
        self.0.access_expires_at
    }
    /// Opaque, single-use: each `refresh` returns a new one.
    async fn refresh_token(&self) -> &str {
        &self.0.refresh_token
    }
    /// When the refresh token stops working; sign in again after it.
    async fn refresh_token_expires_at(&self) -> DateTime<Utc> {
        self.0.refresh_expires_at
    }
    /// When true, every operation but `changePassword` is refused (PASSWORD_CHANGE_REQUIRED).
    async fn must_change_password(&self) -> bool {
        self.0.account.must_change_password
    }
    /// The signed-in account.
    async fn account(&self) -> AccountNode {
        AccountNode(self.0.account.clone())
    }
}

/// One account of a bulk issue, with its initial password (shown only here, once).
#[derive(SimpleObject)]
pub struct IssuedAccount {
    /// The township or village the account is for.
    pub region: RegionNode,
    /// Sign-in name.
    pub username: String,
    /// TOWNSHIP for a township, VERIFIER for a village.
    pub role: Role,
    /// Initial password (初始密码); must be changed at the first sign-in.
    pub initial_password: String,
    /// True when the account existed and its password was reset.
    pub reset: bool,
    /// Opens the web app's sign-in page with the username filled in.
    pub sign_in_url: String,
    /// The sign-in URL as a QR code (SVG).
    pub qr_svg: String,
}

/// The result of a bulk issue: print it, hand it out, do not store it.
#[derive(SimpleObject)]
pub struct AccountSheet {
    /// When the sheet was made.
    pub generated_at: DateTime<Utc>,
    /// One entry per township and village account.
    pub accounts: Vec<IssuedAccount>,
    /// The same as a printable HTML page (one card per account).
    pub printable_html: String,
}

pub struct ApiTokenNode(pub api_token::Model);

/// A read-only token for a third-party dashboard.
#[Object(name = "ApiToken")]
impl ApiTokenNode {
    /// Global ID.
    async fn id(&self) -> ID {
        ids::encode("ApiToken", self.0.id)
    }
    /// Name given at creation, e.g. the dashboard's owner.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// First characters of the secret, to tell tokens apart.
    async fn prefix(&self) -> &str {
        &self.0.token_prefix
    }
    /// The region subtree the token can read.
    async fn region(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<RegionNode>> {
        Ok(ctx.loaders().regions.load_one(self.0.region_id).await?.map(Into::into))
    }
    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it stops working; null = never.
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at
    }
    /// When it was revoked; null while in force.
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
    /// Last request made with it (to the minute).
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }
}

/// A new API token: `token` is shown this once and never stored.
#[derive(SimpleObject)]
pub struct ApiTokenSecret {
    /// The secret: send it as `Authorization: Bearer …`.
    pub token: String,
    /// The token's record.
    pub api_token: ApiTokenNode,
}

/// One entry of the audit trail.
pub struct AuditEventNode(pub audit_event::Model);

/// One entry of the audit trail: who changed what, when, before → after.
#[Object(name = "AuditEvent")]
impl AuditEventNode {
    /// Global ID.
    async fn id(&self) -> ID {
        ids::encode("AuditEvent", self.0.id)
    }
    /// Position in the hash chain.
    async fn seq(&self) -> i64 {
        self.0.seq
    }
    /// When it happened.
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }
    /// e.g. SIGN_IN, SIGN_IN_FAILED, PASSWORD_CHANGED, ACCOUNT_ISSUED, API_TOKEN_CREATED.
    async fn action(&self) -> &str {
        &self.0.action
    }
    /// Who did it: the account's username or the API token's name; null for the system.
    async fn actor_name(&self) -> Option<&str> {
        self.0.actor_name.as_deref()
    }
    /// The actor's role at the time, e.g. VERIFIER.
    async fn actor_role(&self) -> Option<&str> {
        self.0.actor_role.as_deref()
    }
    /// Where the change was made from; only for ADMIN, TOWNSHIP and VERIFIER.
    async fn client_addr(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<&str>> {
        Ok(ctx.privacy()?.client_addr(self.0.client_addr.as_deref()))
    }
    /// Type of the object changed, e.g. Verification, Photo, Account.
    async fn entity_type(&self) -> &str {
        &self.0.entity_type
    }
    /// Global ID of the object changed, where there is one.
    async fn entity_id(&self) -> Option<ID> {
        self.0.entity_id.map(|id| ids::encode(&self.0.entity_type, id))
    }
    /// State before the change (JSON), where it applies. For SUPERVISOR
    /// accounts and API tokens: free text withheld, IDs and phones masked,
    /// positions rounded, links to stored files left out.
    async fn before(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<async_graphql::Json<serde_json::Value>>> {
        let p = ctx.privacy()?;
        Ok(self.0.before.as_ref().map(|v| async_graphql::Json(p.json(v))))
    }
    /// State after the change, shown as `before` is.
    async fn after(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<async_graphql::Json<serde_json::Value>>> {
        let p = ctx.privacy()?;
        Ok(self.0.after.as_ref().map(|v| async_graphql::Json(p.json(v))))
    }
    /// This event's hash (SHA-256 over the previous hash and the event).
    async fn hash(&self) -> &str {
        &self.0.hash
    }
}

pub type AuditEventConnection = Connection<String, AuditEventNode, EmptyFields, EmptyFields>;
pub type AccountConnection = Connection<String, AccountNode, EmptyFields, EmptyFields>;

/// A new personal account and its initial password (shown only here, once).
#[derive(SimpleObject)]
pub struct NewAccountResult {
    /// The new account.
    pub account: AccountNode,
    /// Initial password (初始密码); must be changed at the first sign-in.
    pub initial_password: String,
    /// Opens the web app's sign-in page with the username filled in.
    pub sign_in_url: String,
    /// The sign-in URL as a QR code (SVG).
    pub qr_svg: String,
}

#[derive(Default)]
pub struct AccountsQuery;

#[Object]
impl AccountsQuery {
    /// The accounts in use that `issueAccounts` on this region would reset (ADMIN).
    async fn accounts_to_reset(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The region `issueAccounts` would be called on.")] region_id: ID,
    ) -> async_graphql::Result<Vec<String>> {
        let region = ids::decode("Region", &region_id)?;
        Ok(crate::domain::accounts::accounts_to_reset(ctx.caller(), ctx.state(), region).await?)
    }

    /// The signed-in account (null for an API token). Works before the initial password is changed.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<AccountNode>> {
        let viewer = ctx.viewer_pending_password()?;
        AccountNode::load(ctx, viewer.account_id()).await
    }

    /// Accounts in the viewer's region, by username (ADMIN).
    async fn accounts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 0–500 (default 100).")] first: Option<i32>,
        #[graphql(desc = "Cursor: the `endCursor` of the previous page.")] after: Option<String>,
    ) -> async_graphql::Result<AccountConnection> {
        let (rows, more) = list_accounts(ctx.caller(), &ctx.state().db, first.unwrap_or(100), after.as_deref()).await?;
        let mut conn = Connection::new(after.is_some(), more);
        conn.edges.extend(rows.into_iter().map(|a| Edge::new(a.username.clone(), AccountNode(a))));
        Ok(conn)
    }

    /// API tokens in the viewer's region (ADMIN).
    async fn api_tokens(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ApiTokenNode>> {
        Ok(list_api_tokens(ctx.caller(), &ctx.state().db).await?.into_iter().map(ApiTokenNode).collect())
    }

    /// The audit trail in the viewer's region, newest first (ADMIN, TOWNSHIP).
    async fn audit_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only events by or about this account.")] account_id: Option<ID>,
        #[graphql(desc = "Only events about this household.")] household_id: Option<ID>,
        #[graphql(desc = "Only this action, e.g. VERIFICATION_APPROVED.")] action: Option<String>,
        #[graphql(desc = "Page size, 0–500 (default 50).")] first: Option<i32>,
        #[graphql(desc = "Cursor: the `endCursor` of the previous page.")] after: Option<String>,
    ) -> async_graphql::Result<AuditEventConnection> {
        let account_id = account_id.as_ref().map(|a| ids::decode("Account", a)).transpose()?;
        let household_id = household_id.as_ref().map(|h| ids::decode("Household", h)).transpose()?;
        let before_seq = after
            .as_deref()
            .map(|a| a.parse::<i64>().map_err(|_| AppError::validation("after", msg!(BAD_CURSOR))))
            .transpose()?;
        let (rows, more) = audit_events(
            ctx.caller(),
            &ctx.state().db,
            account_id,
            household_id,
            action,
            first.unwrap_or(50),
            before_seq,
        )
        .await?;
        let mut conn = Connection::new(after.is_some(), more);
        conn.edges.extend(rows.into_iter().map(|e| Edge::new(e.seq.to_string(), AuditEventNode(e))));
        Ok(conn)
    }
}

#[derive(Default)]
pub struct AccountsMutation;

#[Object]
impl AccountsMutation {
    /// Signs in. Wrong username and wrong password give the same UNAUTHENTICATED error;
    /// repeated failures (per username and per client address) give RATE_LIMITED.
    async fn sign_in(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Sign-in name.")] username: String,
        #[graphql(desc = "Password (the initial one until changed).")] password: String,
    ) -> async_graphql::Result<SignInResult> {
        Ok(SignInResult(sign_in(ctx.caller(), ctx.state(), &username, &password).await?))
    }

    /// Trades a refresh token for a new pair. Each refresh token works once.
    async fn refresh(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The refresh token from the last sign-in or refresh.")] refresh_token: String,
    ) -> async_graphql::Result<SignInResult> {
        Ok(SignInResult(refresh(ctx.caller(), ctx.state(), &refresh_token).await?))
    }

    /// Ends the session the refresh token belongs to. Always true.
    async fn sign_out(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The session's current refresh token.")] refresh_token: String,
    ) -> async_graphql::Result<bool> {
        sign_out(ctx.state(), &refresh_token).await?;
        Ok(true)
    }

    /// Changes the viewer's password and ends their other sessions; returns new tokens.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The current password.")] current: String,
        #[graphql(desc = "10–128 characters of two kinds or more, not containing the username.")] new: String,
    ) -> async_graphql::Result<SignInResult> {
        Ok(SignInResult(change_password(ctx.caller(), ctx.state(), &current, &new).await?))
    }

    /// Issues an account for every township and village under the region (ADMIN);
    /// existing ones get a new initial password and every session of theirs ends
    /// (access tokens too). When any exists (see `accountsToReset`), `confirm`
    /// must be the region's 12-digit code, else CONFLICT (`ISSUE_CONFIRM_RESET`).
    /// The passwords are shown only here.
    async fn issue_accounts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "County or township whose townships and villages get accounts.")] region_id: ID,
        #[graphql(desc = "The region's 12-digit code, when accounts would be reset.")] confirm: Option<String>,
    ) -> async_graphql::Result<AccountSheet> {
        let state = ctx.state();
        let region = ids::decode("Region", &region_id)?;
        let entries = issue_accounts(ctx.caller(), state, region, confirm.as_deref()).await?;
        let html = printable_sheet(&entries, &state.cfg.web_url)?;
        let mut accounts = Vec::with_capacity(entries.len());
        for e in entries {
            let url = sign_in_url(&state.cfg.web_url, &e.username);
            accounts.push(IssuedAccount {
                qr_svg: qr_svg(&url)?,
                sign_in_url: url,
                region: e.region.into(),
                username: e.username,
                role: e.role.into(),
                initial_password: e.password,
                reset: e.reset,
            });
        }
        Ok(AccountSheet { generated_at: Utc::now(), accounts, printable_html: html })
    }

    /// Creates a personal account (ADMIN). ADMIN and SUPERVISOR accounts belong to a
    /// county, TOWNSHIP to a township, VERIFIER to a village.
    async fn create_account(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Sign-in name.")] username: String,
        #[graphql(desc = "Person or post, e.g. 张后寨核验员.")] display_name: String,
        #[graphql(desc = "Contact phone.")] phone: Option<String>,
        #[graphql(desc = "What the account may do.")] role: Role,
        #[graphql(desc = "The region it works in, at the role's level.")] region_id: ID,
    ) -> async_graphql::Result<NewAccountResult> {
        let state = ctx.state();
        let new = NewAccount {
            username,
            display_name,
            phone,
            role: role.into(),
            region_id: ids::decode("Region", &region_id)?,
        };
        let (account, _region, initial_password) = create_account(ctx.caller(), state, new).await?;
        let url = sign_in_url(&state.cfg.web_url, &account.username);
        Ok(NewAccountResult {
            qr_svg: qr_svg(&url)?,
            sign_in_url: url,
            account: AccountNode(account),
            initial_password,
        })
    }

    /// Creates a read-only API token for a dashboard, scoped to a region subtree (ADMIN).
    async fn create_api_token(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A name to tell it apart, at most 100 characters.")] name: String,
        #[graphql(desc = "The region subtree it may read, inside the viewer's.")] region_id: ID,
        #[graphql(desc = "When it stops working (in the future); null = never.")] expires_at: Option<DateTime<Utc>>,
    ) -> async_graphql::Result<ApiTokenSecret> {
        let (token, model) =
            create_api_token(ctx.caller(), ctx.state(), &name, ids::decode("Region", &region_id)?, expires_at).await?;
        Ok(ApiTokenSecret { token, api_token: ApiTokenNode(model) })
    }

    /// Revokes an API token at once (ADMIN).
    async fn revoke_api_token(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The token to revoke.")] id: ID,
    ) -> async_graphql::Result<ApiTokenNode> {
        let t = revoke_api_token(ctx.caller(), ctx.state(), ids::decode("ApiToken", &id)?).await?;
        Ok(ApiTokenNode(t))
    }

    /// Ends every session of an account; it must sign in again (ADMIN).
    async fn revoke_sessions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account whose sessions end.")] account_id: ID,
    ) -> async_graphql::Result<bool> {
        revoke_sessions(ctx.caller(), ctx.state(), ids::decode("Account", &account_id)?).await?;
        Ok(true)
    }
}
