//! Sessions: sign-in with throttling, refresh-token rotation, sign-out,
//! password change, and the viewer behind a bearer token.

use crate::domain::error::{key, msg};
use crate::{
    domain::{
        audit::{self, Actor, NewEvent},
        auth::{self, jwt::Claims, password, Principal, Viewer},
        ctx::Ctx,
        error::{AppError, AppResult},
        tx::Tx,
    },
    AppState,
};
use chrono::{DateTime, Duration, Utc};
use entity::{account, api_token, refresh_token, region, sign_in_throttle};
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QuerySelect,
};
use uuid::Uuid;

pub struct Tokens {
    pub access_token: String,
    pub access_expires_at: DateTime<Utc>,
    pub refresh_token: String,
    pub refresh_expires_at: DateTime<Utc>,
    pub account: account::Model,
}

pub(crate) fn normalize_username(u: &str) -> String {
    u.trim().to_lowercase()
}

/// Counts an attempt in one statement (insert or increment) and returns the row.
async fn reserve_attempt_unchecked<C: ConnectionTrait>(
    conn: &C,
    cfg: &crate::config::Config,
    key: &str,
    now: DateTime<Utc>,
) -> AppResult<sign_in_throttle::Model> {
    use sea_orm::sea_query::{Expr as E, OnConflict};
    use sign_in_throttle::Column as C;
    let stale = now - Duration::seconds(cfg.sign_in_max_lock);
    let row = sign_in_throttle::ActiveModel {
        key: Set(key.to_owned()),
        failures: Set(1),
        last_failure_at: Set(now),
        locked_until: Set(None),
    };
    // Failures older than the longest lock are forgiven.
    let failures = E::case(E::col((sign_in_throttle::Entity, C::LastFailureAt)).lt(stale), E::val(1))
        .finally(E::col((sign_in_throttle::Entity, C::Failures)).add(1));
    let on_conflict =
        OnConflict::column(C::Key).value(C::Failures, failures).value(C::LastFailureAt, E::val(now)).to_owned();
    Ok(sign_in_throttle::Entity::insert(row).on_conflict(on_conflict).exec_with_returning(conn).await?)
}

/// Counts an attempt before its password is checked, so that concurrent
/// attempts cannot all pass a check made before any was recorded: the
/// counter holds failures plus attempts still being checked. Refused (with
/// the seconds to wait) when the key is locked, or when the free attempts
/// are all in use; a refused attempt is not counted.
async fn reserve_attempt<C: ConnectionTrait>(
    conn: &C,
    cfg: &crate::config::Config,
    key: &str,
    now: DateTime<Utc>,
) -> AppResult<Result<(), i64>> {
    let r = reserve_attempt_unchecked(conn, cfg, key, now).await?;
    let locked = r.locked_until.filter(|t| *t > now).map(|t| (t - now).num_seconds().max(1));
    if locked.is_some() || r.failures > cfg.sign_in_free_failures {
        release_attempt(conn, key).await?;
        return Ok(Err(locked.unwrap_or(1)));
    }
    Ok(Ok(()))
}

/// Seconds left on a key's lock, if it is locked.
async fn locked_for<C: ConnectionTrait>(conn: &C, key: &str, now: DateTime<Utc>) -> AppResult<Option<i64>> {
    let row = sign_in_throttle::Entity::find_by_id(key.to_owned()).one(conn).await?;
    Ok(row.and_then(|r| r.locked_until).filter(|t| *t > now).map(|t| (t - now).num_seconds().max(1)))
}

/// Takes back a reserved attempt (it was refused, or the password was right).
async fn release_attempt<C: ConnectionTrait>(conn: &C, key: &str) -> AppResult<()> {
    use sea_orm::sea_query::Expr as E;
    sign_in_throttle::Entity::update_many()
        .col_expr(sign_in_throttle::Column::Failures, E::col(sign_in_throttle::Column::Failures).sub(1))
        .filter(sign_in_throttle::Column::Key.eq(key))
        .filter(sign_in_throttle::Column::Failures.gt(0))
        .exec(conn)
        .await?;
    Ok(())
}

/// A failed attempt: counted (a reserved one already is), and once the free
/// ones are used up the key is locked for 30 s, doubling up to the cap.
async fn record_failure<C: ConnectionTrait>(
    conn: &C,
    cfg: &crate::config::Config,
    key: &str,
    reserved: bool,
) -> AppResult<()> {
    let now = audit::now();
    if !reserved {
        // Counted the same way as a reservation, in one statement.
        let _ = reserve_attempt_unchecked(conn, cfg, key, now).await?;
    }
    let Some(row) = sign_in_throttle::Entity::find_by_id(key.to_owned()).one(conn).await? else { return Ok(()) };
    let over = row.failures - cfg.sign_in_free_failures;
    if over >= 0 {
        let secs = (30i64 << over.min(20)).min(cfg.sign_in_max_lock);
        sign_in_throttle::Entity::update_many()
            .col_expr(sign_in_throttle::Column::LockedUntil, Expr::value(Some(now + Duration::seconds(secs))))
            .filter(sign_in_throttle::Column::Key.eq(key))
            .exec(conn)
            .await?;
    }
    Ok(())
}

/// One account's sign-ins take turns within a process (64 stripes by name):
/// a burst for one account then meets the throttle one attempt at a time,
/// so right passwords are not refused for being many at once, and wrong ones
/// are still counted before the next is checked. Across processes the
/// atomic reservation below keeps the limit.
fn account_turn(username: &str) -> &'static tokio::sync::Mutex<()> {
    use std::hash::{Hash, Hasher};
    static STRIPES: std::sync::LazyLock<[tokio::sync::Mutex<()>; 64]> =
        std::sync::LazyLock::new(|| std::array::from_fn(|_| tokio::sync::Mutex::new(())));
    let mut h = std::collections::hash_map::DefaultHasher::new();
    username.hash(&mut h);
    &STRIPES[(h.finish() % 64) as usize]
}

pub async fn sign_in(ctx: &Ctx, state: &AppState, username: &str, pw: &str) -> AppResult<Tokens> {
    let _turn = account_turn(&normalize_username(username)).lock().await;
    sign_in_now(ctx, state, username, pw).await
}

async fn sign_in_now(ctx: &Ctx, state: &AppState, username: &str, pw: &str) -> AppResult<Tokens> {
    let db = &state.db;
    let now = ctx.now();
    let client_addr = ctx.client_addr.clone();
    let username = normalize_username(username);
    let user_key = format!("user:{username}");
    let addr_key = format!("addr:{}", client_addr.as_deref().unwrap_or("unknown"));
    // The account's attempts are reserved atomically (no burst of guesses
    // slips past its limit); the address is only checked for a lock, since
    // a village office's colleagues sign in at once from one address.
    {
        let _turn = state.write_turn().await;
        if let Err(secs) = reserve_attempt(db, &state.cfg, &user_key, now).await? {
            return Err(AppError::RateLimited { retry_after_secs: secs });
        }
    }
    if let Some(secs) = locked_for(db, &addr_key, now).await? {
        let _turn = state.write_turn().await;
        release_attempt(db, &user_key).await?;
        return Err(AppError::RateLimited { retry_after_secs: secs });
    }
    let account = account::Entity::find().filter(account::Column::Username.eq(&username)).one(db).await?;
    // Verify against a dummy hash when there is no account, so timing tells nothing.
    let hash = account.as_ref().map(|a| a.password_hash.clone()).unwrap_or_else(|| password::dummy_hash().into());
    let ok = password::verify(pw.to_owned(), hash).await;
    let account = match account {
        Some(a) if ok && !a.disabled => a,
        found => {
            let tx = Tx::begin(state, Actor::default()).await?;
            record_failure(tx.conn(), &state.cfg, &user_key, true).await?;
            record_failure(tx.conn(), &state.cfg, &addr_key, false).await?;
            let actor = Actor {
                id: found.as_ref().map(|a| a.id),
                name: found.as_ref().map(|a| a.username.clone()),
                role: found.as_ref().map(|a| a.role.as_str().into()),
                client_addr: client_addr.clone(),
            };
            tx.audit_as(
                &actor,
                NewEvent {
                    action: "SIGN_IN_FAILED",
                    entity_type: "Account",
                    entity_id: found.as_ref().map(|a| a.id),
                    region_id: found.as_ref().map(|a| a.region_id),
                    ..Default::default()
                },
            )
            .await?;
            tx.commit(state).await?;
            return Err(AppError::Unauthenticated(msg!(BAD_CREDENTIALS)));
        }
    };
    let tx = Tx::begin(state, Actor::default()).await?;
    let txn = tx.conn();
    sign_in_throttle::Entity::delete_by_id(user_key).exec(txn).await?;
    account::Entity::update_many()
        .col_expr(account::Column::LastSignInAt, Expr::value(now))
        .filter(account::Column::Id.eq(account.id))
        .exec(txn)
        .await?;
    let tokens = issue_tokens(txn, state, account, Uuid::new_v4()).await?;
    tx.audit_as(
        &account_actor(&tokens.account, client_addr),
        NewEvent {
            action: "SIGN_IN",
            entity_type: "Account",
            entity_id: Some(tokens.account.id),
            region_id: Some(tokens.account.region_id),
            ..Default::default()
        },
    )
    .await?;
    tx.commit(state).await?;
    Ok(tokens)
}

fn account_actor(a: &account::Model, client_addr: Option<String>) -> Actor {
    Actor { id: Some(a.id), role: Some(a.role.as_str().into()), name: Some(a.username.clone()), client_addr }
}

async fn issue_tokens<C: ConnectionTrait>(
    conn: &C,
    state: &AppState,
    account: account::Model,
    family: Uuid,
) -> AppResult<Tokens> {
    let region = region::Entity::find_by_id(account.region_id)
        .one(conn)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("account region missing")))?;
    let now = audit::now();
    let access_expires_at = now + Duration::seconds(state.cfg.access_token_ttl);
    let claims = Claims {
        iss: state.jwt.issuer().into(),
        aud: state.jwt.audience().into(),
        sub: account.id,
        exp: access_expires_at.timestamp(),
        iat: now.timestamp(),
        jti: Uuid::new_v4(),
        usr: account.username.clone(),
        role: account.role,
        rgn: region.id,
        lvl: region.level,
        rpath: region.path.clone(),
        pwc: account.must_change_password,
        ep: account.session_epoch,
        sid: Some(family),
    };
    let access_token = state.jwt.sign(&claims)?;
    let refresh_token = auth::random_token("rt_");
    let refresh_expires_at = now + Duration::seconds(state.cfg.refresh_token_ttl);
    refresh_token::ActiveModel {
        id: Set(Uuid::new_v4()),
        account_id: Set(account.id),
        family_id: Set(family),
        token_hash: Set(auth::token_hash(&refresh_token)),
        expires_at: Set(refresh_expires_at),
        used_at: Set(None),
        revoked_at: Set(None),
        created_at: Set(now),
    }
    .insert(conn)
    .await?;
    Ok(Tokens { access_token, access_expires_at, refresh_token, refresh_expires_at, account })
}

async fn revoke_family<C: ConnectionTrait>(conn: &C, family: Uuid) -> AppResult<()> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(audit::now()))
        .filter(refresh_token::Column::FamilyId.eq(family))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

/// Ends every session of an account: its refresh tokens are revoked and its
/// session epoch moves, so its access tokens are refused too. Returns the new epoch.
pub(crate) async fn revoke_all_sessions<C: ConnectionTrait>(conn: &C, account_id: Uuid) -> AppResult<i32> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(audit::now()))
        .filter(refresh_token::Column::AccountId.eq(account_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    bump_epoch(conn, account_id).await
}

/// Moves the account's session epoch: every access token issued before is refused.
async fn bump_epoch<C: ConnectionTrait>(conn: &C, account_id: Uuid) -> AppResult<i32> {
    account::Entity::update_many()
        .col_expr(account::Column::SessionEpoch, Expr::col(account::Column::SessionEpoch).add(1))
        .filter(account::Column::Id.eq(account_id))
        .exec(conn)
        .await?;
    let a = account::Entity::find_by_id(account_id).one(conn).await?;
    Ok(a.map_or(0, |a| a.session_epoch))
}

/// Rotates a refresh token. A token presented a second time means it leaked:
/// the whole family (every token descended from that sign-in) is revoked.
pub async fn refresh(ctx: &Ctx, state: &AppState, token: &str) -> AppResult<Tokens> {
    let refused = || AppError::Unauthenticated(msg!(REFRESH_INVALID));
    let client_addr = ctx.client_addr.clone();
    let tx = Tx::begin(state, Actor::default()).await?;
    let txn = tx.conn();
    let Some(row) = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(auth::token_hash(token)))
        .one(txn)
        .await?
    else {
        return Err(refused());
    };
    let now = audit::now();
    if row.revoked_at.is_some() || row.expires_at <= now {
        return Err(refused());
    }
    // Mark used only if nobody else did: a concurrent second use is reuse too.
    let claimed = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
        .filter(refresh_token::Column::Id.eq(row.id))
        .filter(refresh_token::Column::UsedAt.is_null())
        .exec(txn)
        .await?
        .rows_affected
        == 1;
    let account = account::Entity::find_by_id(row.account_id).one(txn).await?.ok_or_else(refused)?;
    if !claimed {
        // A leaked token: its family ends, and so does every access token
        // already out (other devices refresh into the new epoch).
        revoke_family(txn, row.family_id).await?;
        bump_epoch(txn, account.id).await?;
        tx.audit_as(
            &account_actor(&account, client_addr),
            NewEvent {
                action: "REFRESH_TOKEN_REUSED",
                entity_type: "Account",
                entity_id: Some(account.id),
                region_id: Some(account.region_id),
                ..Default::default()
            },
        )
        .await?;
        tx.commit(state).await?;
        return Err(AppError::Unauthenticated(msg!(REFRESH_REUSED)));
    }
    if account.disabled {
        return Err(refused());
    }
    let tokens = issue_tokens(txn, state, account, row.family_id).await?;
    // Rotation is bookkeeping: the sign-in it continues was recorded.
    tx.commit_bookkeeping(state).await?;
    Ok(tokens)
}

pub async fn sign_out(state: &AppState, token: &str) -> AppResult<()> {
    if let Some(row) = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(auth::token_hash(token)))
        .one(&state.db)
        .await?
    {
        revoke_family(&state.db, row.family_id).await?;
    }
    Ok(())
}

pub async fn change_password(ctx: &Ctx, state: &AppState, current: &str, new: &str) -> AppResult<Tokens> {
    let viewer = ctx.viewer_pending_password()?;
    let client_addr = ctx.client_addr.clone();
    let Some(id) = viewer.account_id() else {
        return Err(AppError::forbidden(msg!(TOKEN_HAS_NO_PASSWORD)));
    };
    let account =
        account::Entity::find_by_id(id).one(&state.db).await?.ok_or_else(|| AppError::not_found(key::THING_ACCOUNT))?;
    if !password::verify(current.to_owned(), account.password_hash.clone()).await {
        return Err(AppError::validation("current", msg!(CURRENT_PASSWORD_WRONG)));
    }
    password::check_policy(new, &account.username, Some(current))?;
    let hash = password::hash(new.to_owned()).await?;
    let now = ctx.now();
    let tx = Tx::begin(state, Actor::default()).await?;
    let txn = tx.conn();
    let mut am: account::ActiveModel = account.into();
    am.password_hash = Set(hash);
    am.must_change_password = Set(false);
    am.password_changed_at = Set(Some(now));
    am.updated_at = Set(now);
    let account = am.update(txn).await?;
    // Other sessions end; the tokens issued below carry the new epoch.
    let session_epoch = revoke_all_sessions(txn, account.id).await?;
    let account = account::Model { session_epoch, ..account };
    tx.audit_as(
        &account_actor(&account, client_addr),
        NewEvent {
            action: "PASSWORD_CHANGED",
            entity_type: "Account",
            entity_id: Some(account.id),
            region_id: Some(account.region_id),
            ..Default::default()
        },
    )
    .await?;
    let tokens = issue_tokens(txn, state, account, Uuid::new_v4()).await?;
    tx.commit(state).await?;
    Ok(tokens)
}

/// The viewer behind an `Authorization: Bearer` value: a JWT, or an API token (`hsv_…`).
/// Why a token gave no viewer.
#[derive(Debug, PartialEq)]
pub enum TokenError {
    /// Refused (expired, forged, revoked, signed out): the reason is told to the caller.
    Refused(String),
    /// The database did not answer the check: not a refusal of the token; the
    /// caller retries (the web app must not sign the person out).
    Unavailable,
}

impl From<String> for TokenError {
    fn from(reason: String) -> Self {
        Self::Refused(reason)
    }
}

impl From<&str> for TokenError {
    fn from(reason: &str) -> Self {
        Self::Refused(reason.to_owned())
    }
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Refused(reason) => f.write_str(reason),
            Self::Unavailable => f.write_str("the database did not answer the token check; try again"),
        }
    }
}

pub async fn viewer_for_token(state: &AppState, token: &str) -> Result<Viewer, TokenError> {
    if token.starts_with("hsv_") {
        let now = audit::now();
        let row = api_token::Entity::find()
            .filter(api_token::Column::TokenHash.eq(auth::token_hash(token)))
            .one(&state.db)
            .await
            .map_err(|_| TokenError::Unavailable)?
            .ok_or("unknown API token")?;
        if row.revoked_at.is_some() {
            return Err("API token revoked".into());
        }
        if row.expires_at.is_some_and(|e| e <= now) {
            return Err("API token expired".into());
        }
        let region = region::Entity::find_by_id(row.region_id)
            .one(&state.db)
            .await
            .map_err(|_| TokenError::Unavailable)?
            .ok_or("token region missing")?;
        // Record last use at most once a minute, so polling dashboards don't write on every request.
        if row.last_used_at.is_none_or(|t| (now - t).num_seconds() >= 60) {
            let _turn = state.write_turn().await;
            let _ = api_token::Entity::update_many()
                .col_expr(api_token::Column::LastUsedAt, Expr::value(now))
                .filter(api_token::Column::Id.eq(row.id))
                .exec(&state.db)
                .await;
        }
        return Ok(Viewer {
            principal: Principal::ApiToken { id: row.id, name: row.name },
            role: entity::Role::Supervisor,
            scope: auth::Scope { region_id: region.id, level: region.level, path: region.path },
            must_change_password: false,
        });
    }
    let c = state.jwt.verify(token)?;
    // One indexed read per request: a disabled account, one whose sessions
    // were ended after this token was issued, or a signed-out sign-in (its
    // refresh family revoked) is refused at once.
    let signed_out = match c.sid {
        Some(sid) => Expr::exists(
            sea_orm::sea_query::Query::select()
                .expr(Expr::val(1))
                .from(refresh_token::Entity)
                .and_where(refresh_token::Column::FamilyId.eq(sid))
                .and_where(refresh_token::Column::RevokedAt.is_not_null())
                .to_owned(),
        ),
        None => Expr::val(false).into(),
    };
    let current = account::Entity::find_by_id(c.sub)
        .select_only()
        .column(account::Column::SessionEpoch)
        .column(account::Column::Disabled)
        .expr(signed_out)
        .into_tuple::<(i32, bool, bool)>()
        .one(&state.db)
        .await
        .map_err(|_| TokenError::Unavailable)?;
    match current {
        None | Some((_, true, _)) => return Err("the account is disabled".into()),
        Some((ep, _, _)) if ep != c.ep => return Err("the session was ended; sign in again".into()),
        Some((_, _, true)) => return Err("this sign-in was signed out; sign in again".into()),
        _ => {}
    }
    Ok(Viewer {
        principal: Principal::Account { id: c.sub, username: c.usr },
        role: c.role,
        scope: auth::Scope { region_id: c.rgn, level: c.lvl, path: c.rpath },
        must_change_password: c.pwc,
    })
}
