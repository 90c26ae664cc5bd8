//! Accounts, sign-in, sessions, bulk issuing with QR sheets, API tokens, and
//! the audit trail query.

use crate::{
    audit::{self, Actor, NewEvent},
    auth::{self, jwt::Claims, password, Principal, Viewer},
    error::{AppError, AppResult},
    graphql::CtxExt,
    ids,
    regions::{self, RegionNode},
    types::Role,
    AppState,
};
use async_graphql::{
    connection::{Connection, Edge, EmptyFields},
    Context, Object, SimpleObject, ID,
};
use chrono::{DateTime, Duration, Utc};
use entity::{account, api_token, audit_event, refresh_token, region, sign_in_throttle, RegionLevel};
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

// ---------------------------------------------------------------- sign-in

pub struct Tokens {
    pub access_token: String,
    pub access_expires_at: DateTime<Utc>,
    pub refresh_token: String,
    pub refresh_expires_at: DateTime<Utc>,
    pub account: account::Model,
}

fn normalize_username(u: &str) -> String {
    u.trim().to_lowercase()
}

/// Throttle state for one key; returns the seconds left on a lock.
async fn locked_for<C: ConnectionTrait>(conn: &C, key: &str, now: DateTime<Utc>) -> AppResult<Option<i64>> {
    let row = sign_in_throttle::Entity::find_by_id(key.to_owned()).one(conn).await?;
    Ok(row.and_then(|r| r.locked_until).filter(|t| *t > now).map(|t| (t - now).num_seconds().max(1)))
}

/// Counts a failure; after the free ones, locks for 30 s, doubling up to the cap.
async fn record_failure<C: ConnectionTrait>(conn: &C, cfg: &crate::config::Config, key: &str) -> AppResult<()> {
    let now = audit::now();
    let row = sign_in_throttle::Entity::find_by_id(key.to_owned()).one(conn).await?;
    // Failures older than the longest lock are forgiven.
    let failures = match &row {
        Some(r) if (now - r.last_failure_at).num_seconds() < cfg.sign_in_max_lock => r.failures + 1,
        _ => 1,
    };
    let over = failures - cfg.sign_in_free_failures;
    let locked_until = (over >= 0).then(|| {
        let secs = (30i64 << over.min(20)).min(cfg.sign_in_max_lock);
        now + Duration::seconds(secs)
    });
    let am = sign_in_throttle::ActiveModel {
        key: Set(key.to_owned()),
        failures: Set(failures),
        last_failure_at: Set(now),
        locked_until: Set(locked_until),
    };
    if row.is_some() {
        am.update(conn).await?;
    } else {
        am.insert(conn).await?;
    }
    Ok(())
}

pub async fn sign_in(state: &AppState, username: &str, pw: &str, client_addr: Option<String>) -> AppResult<Tokens> {
    let db = &state.db;
    let now = audit::now();
    let username = normalize_username(username);
    let user_key = format!("user:{username}");
    let addr_key = format!("addr:{}", client_addr.as_deref().unwrap_or("unknown"));
    for key in [&user_key, &addr_key] {
        if let Some(secs) = locked_for(db, key, now).await? {
            return Err(AppError::RateLimited { retry_after_secs: secs });
        }
    }
    let account = account::Entity::find().filter(account::Column::Username.eq(&username)).one(db).await?;
    // Verify against a dummy hash when there is no account, so timing tells nothing.
    let hash = account.as_ref().map(|a| a.password_hash.clone()).unwrap_or_else(|| password::dummy_hash().into());
    let ok = password::verify(pw.to_owned(), hash).await;
    let account = match account {
        Some(a) if ok && !a.disabled => a,
        found => {
            let (_w, txn) = state.begin().await?;
            record_failure(&txn, &state.cfg, &user_key).await?;
            record_failure(&txn, &state.cfg, &addr_key).await?;
            let actor = Actor {
                id: found.as_ref().map(|a| a.id),
                name: found.as_ref().map(|a| a.username.clone()),
                role: found.as_ref().map(|a| a.role.as_str().into()),
                client_addr: client_addr.clone(),
            };
            audit::append(
                &txn,
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
            txn.commit().await?;
            return Err(AppError::Unauthenticated("The username or password is incorrect.".into()));
        }
    };
    let (_w, txn) = state.begin().await?;
    sign_in_throttle::Entity::delete_by_id(user_key).exec(&txn).await?;
    account::Entity::update_many()
        .col_expr(account::Column::LastSignInAt, Expr::value(now))
        .filter(account::Column::Id.eq(account.id))
        .exec(&txn)
        .await?;
    let tokens = issue_tokens(&txn, state, account, Uuid::new_v4()).await?;
    audit::append(
        &txn,
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
    txn.commit().await?;
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

async fn revoke_all_sessions<C: ConnectionTrait>(conn: &C, account_id: Uuid) -> AppResult<()> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(audit::now()))
        .filter(refresh_token::Column::AccountId.eq(account_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

/// Rotates a refresh token. A token presented a second time means it leaked:
/// the whole family (every token descended from that sign-in) is revoked.
pub async fn refresh(state: &AppState, token: &str, client_addr: Option<String>) -> AppResult<Tokens> {
    let refused = || AppError::Unauthenticated("The refresh token is not valid; sign in again.".into());
    let (_w, txn) = state.begin().await?;
    let Some(row) = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(auth::token_hash(token)))
        .one(&txn)
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
        .exec(&txn)
        .await?
        .rows_affected
        == 1;
    let account = account::Entity::find_by_id(row.account_id).one(&txn).await?.ok_or_else(refused)?;
    if !claimed {
        revoke_family(&txn, row.family_id).await?;
        audit::append(
            &txn,
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
        txn.commit().await?;
        return Err(AppError::Unauthenticated(
            "This refresh token was already used, so every session from that sign-in has been ended. Sign in again."
                .into(),
        ));
    }
    if account.disabled {
        return Err(refused());
    }
    let tokens = issue_tokens(&txn, state, account, row.family_id).await?;
    txn.commit().await?;
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

pub async fn change_password(
    state: &AppState,
    viewer: &Viewer,
    current: &str,
    new: &str,
    client_addr: Option<String>,
) -> AppResult<Tokens> {
    let Some(id) = viewer.account_id() else {
        return Err(AppError::forbidden("API tokens have no password."));
    };
    let account =
        account::Entity::find_by_id(id).one(&state.db).await?.ok_or_else(|| AppError::not_found("account"))?;
    if !password::verify(current.to_owned(), account.password_hash.clone()).await {
        return Err(AppError::validation("current", "The current password is incorrect."));
    }
    password::check_policy(new, &account.username, Some(current))?;
    let hash = password::hash(new.to_owned()).await?;
    let now = audit::now();
    let (_w, txn) = state.begin().await?;
    let mut am: account::ActiveModel = account.into();
    am.password_hash = Set(hash);
    am.must_change_password = Set(false);
    am.password_changed_at = Set(Some(now));
    am.updated_at = Set(now);
    let account = am.update(&txn).await?;
    revoke_all_sessions(&txn, account.id).await?;
    audit::append(
        &txn,
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
    let tokens = issue_tokens(&txn, state, account, Uuid::new_v4()).await?;
    txn.commit().await?;
    Ok(tokens)
}

/// The viewer behind an `Authorization: Bearer` value: a JWT, or an API token (`hsv_…`).
pub async fn viewer_for_token(state: &AppState, token: &str) -> Result<Viewer, String> {
    if token.starts_with("hsv_") {
        let now = audit::now();
        let row = api_token::Entity::find()
            .filter(api_token::Column::TokenHash.eq(auth::token_hash(token)))
            .one(&state.db)
            .await
            .map_err(|_| "token lookup failed".to_string())?
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
            .map_err(|_| "token lookup failed".to_string())?
            .ok_or("token region missing")?;
        // Record last use at most once a minute, so polling dashboards don't write on every request.
        if row.last_used_at.is_none_or(|t| (now - t).num_seconds() >= 60) {
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
    Ok(Viewer {
        principal: Principal::Account { id: c.sub, username: c.usr },
        role: c.role,
        scope: auth::Scope { region_id: c.rgn, level: c.lvl, path: c.rpath },
        must_change_password: c.pwc,
    })
}

// ---------------------------------------------------------------- bulk issuing

const PASSWORD_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789";

/// A random initial password: 12 characters, letters and digits, no look-alikes (0/O, 1/l/I).
pub fn initial_password() -> String {
    use rand::Rng;
    let mut rng = rand::rngs::OsRng;
    loop {
        let p: String = (0..12).map(|_| PASSWORD_ALPHABET[rng.gen_range(0..PASSWORD_ALPHABET.len())] as char).collect();
        if p.chars().any(|c| c.is_ascii_digit()) && p.chars().any(|c| c.is_ascii_alphabetic()) {
            return p;
        }
    }
}

/// The username of a region's post account: `t` + 9-digit township code, `v` + 12-digit village code.
pub fn post_username(r: &region::Model) -> Option<String> {
    match r.level {
        RegionLevel::Township => Some(format!("t{}", &r.code[..9.min(r.code.len())])),
        RegionLevel::Village => Some(format!("v{}", r.code)),
        _ => None,
    }
}

pub fn post_role(r: &region::Model) -> entity::Role {
    if r.level == RegionLevel::Township {
        entity::Role::Township
    } else {
        entity::Role::Verifier
    }
}

pub fn post_display_name(r: &region::Model) -> String {
    if r.level == RegionLevel::Township {
        format!("{}业务专干", r.name)
    } else {
        format!("{}核验员", r.name)
    }
}

pub fn sign_in_url(web_url: &str, username: &str) -> String {
    format!("{}/sign-in?u={}", web_url.trim_end_matches('/'), username)
}

pub fn qr_svg(text: &str) -> AppResult<String> {
    let code = qrcode::QrCode::new(text.as_bytes()).map_err(|e| AppError::Internal(anyhow::anyhow!("qr: {e}")))?;
    Ok(code.render::<qrcode::render::svg::Color>().min_dimensions(160, 160).build())
}

pub struct IssuedEntry {
    pub region: region::Model,
    pub username: String,
    pub role: entity::Role,
    pub password: String,
    pub reset: bool,
}

/// Issues (or re-issues) one account per township and village under `region_id`,
/// each with a fresh random initial password that must be changed at first sign-in.
pub async fn issue_accounts(
    state: &AppState,
    viewer: &Viewer,
    region_id: Uuid,
    client_addr: Option<String>,
) -> AppResult<Vec<IssuedEntry>> {
    viewer.require_role(&[entity::Role::Admin], "issue accounts")?;
    let root = regions::get(&state.db, viewer, region_id).await?;
    if !viewer.covers(&root) {
        return Err(AppError::forbidden("That region is outside your own."));
    }
    let posts = region::Entity::find()
        .filter(region::Column::Path.starts_with(&root.path))
        .filter(region::Column::Level.is_in([RegionLevel::Township, RegionLevel::Village]))
        .order_by_asc(region::Column::Code)
        .all(&state.db)
        .await?;
    let mut entries: Vec<IssuedEntry> = posts
        .into_iter()
        .filter_map(|r| {
            Some(IssuedEntry {
                username: post_username(&r)?,
                role: post_role(&r),
                password: initial_password(),
                reset: false,
                region: r,
            })
        })
        .collect();
    // Hash on the blocking pool, a few at a time (Argon2id is memory-hard).
    let mut hashes = Vec::with_capacity(entries.len());
    for chunk in entries.chunks(8) {
        let jobs: Vec<_> = chunk.iter().map(|e| password::hash(e.password.clone())).collect();
        for h in futures_util::future::join_all(jobs).await {
            hashes.push(h?);
        }
    }
    let now = audit::now();
    let actor = Actor::of(viewer, client_addr);
    let (_w, txn) = state.begin().await?;
    let existing: std::collections::HashMap<String, account::Model> = account::Entity::find()
        .filter(account::Column::Username.is_in(entries.iter().map(|e| e.username.clone())))
        .all(&txn)
        .await?
        .into_iter()
        .map(|a| (a.username.clone(), a))
        .collect();
    for (e, hash) in entries.iter_mut().zip(hashes) {
        let (id, action) = if let Some(a) = existing.get(&e.username) {
            e.reset = true;
            let mut am: account::ActiveModel = a.clone().into();
            am.password_hash = Set(hash);
            am.must_change_password = Set(true);
            am.disabled = Set(false);
            am.updated_at = Set(now);
            am.update(&txn).await?;
            revoke_all_sessions(&txn, a.id).await?;
            (a.id, "ACCOUNT_RESET")
        } else {
            let id = Uuid::new_v4();
            account::ActiveModel {
                id: Set(id),
                username: Set(e.username.clone()),
                display_name: Set(post_display_name(&e.region)),
                phone: Set(None),
                role: Set(e.role),
                region_id: Set(e.region.id),
                password_hash: Set(hash),
                must_change_password: Set(true),
                disabled: Set(false),
                password_changed_at: Set(None),
                last_sign_in_at: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(&txn)
            .await?;
            (id, "ACCOUNT_ISSUED")
        };
        audit::append(
            &txn,
            &actor,
            NewEvent {
                action,
                entity_type: "Account",
                entity_id: Some(id),
                region_id: Some(e.region.id),
                after: Some(serde_json::json!({ "username": e.username, "role": e.role.as_str() })),
                ..Default::default()
            },
        )
        .await?;
    }
    txn.commit().await?;
    Ok(entries)
}

/// A printable page: one card per account with region, username, initial password and QR code.
pub fn printable_sheet(entries: &[IssuedEntry], web_url: &str) -> AppResult<String> {
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let mut html = String::from(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>账号与初始密码 Accounts</title>\
         <style>body{font-family:sans-serif}.card{display:inline-block;width:230px;margin:6px;padding:8px;\
         border:1px dashed #888;page-break-inside:avoid;vertical-align:top}.pw{font-family:monospace;font-size:1.2em}\
         </style></head><body><h1>住房安全有保障核验 · 账号与初始密码</h1>\
         <p>首次登录须修改初始密码。The initial password must be changed at first sign-in.</p>",
    );
    for e in entries {
        html.push_str(&format!(
            "<div class=\"card\"><div>{}（{}）</div><div>用户名 <b>{}</b></div><div>初始密码 <span class=\"pw\">{}</span></div>{}</div>",
            esc(&e.region.name),
            esc(&e.region.code),
            esc(&e.username),
            esc(&e.password),
            qr_svg(&sign_in_url(web_url, &e.username))?
        ));
    }
    html.push_str("</body></html>");
    Ok(html)
}

/// The level an account's region must have for its role.
fn level_for(role: entity::Role) -> RegionLevel {
    match role {
        entity::Role::Admin | entity::Role::Supervisor => RegionLevel::County,
        entity::Role::Township => RegionLevel::Township,
        entity::Role::Verifier => RegionLevel::Village,
    }
}

pub struct NewAccount {
    pub username: String,
    pub display_name: String,
    pub phone: Option<String>,
    pub role: entity::Role,
    pub region_id: Uuid,
}

/// Creates a personal account (ADMIN) with a random initial password that
/// must be changed at first sign-in; the password is returned once.
pub async fn create_account(
    state: &AppState,
    viewer: &Viewer,
    new: NewAccount,
    client_addr: Option<String>,
) -> AppResult<(account::Model, region::Model, String)> {
    viewer.require_role(&[entity::Role::Admin], "create accounts")?;
    let username = normalize_username(&new.username);
    if !(3..=64).contains(&username.len())
        || !username.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        return Err(AppError::validation("username", "Use 3 to 64 letters, digits, '.', '_' or '-'."));
    }
    let display_name = new.display_name.trim().to_owned();
    if display_name.is_empty() || display_name.chars().count() > 100 {
        return Err(AppError::validation("displayName", "Give a display name of 1 to 100 characters."));
    }
    if let Some(p) = &new.phone {
        if !(5..=20).contains(&p.len()) || !p.chars().all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ')) {
            return Err(AppError::validation("phone", "A phone number has 5 to 20 digits."));
        }
    }
    let region = regions::get(&state.db, viewer, new.region_id).await?;
    if !viewer.covers(&region) {
        return Err(AppError::forbidden("That region is outside your own."));
    }
    let want = level_for(new.role);
    if region.level != want {
        return Err(AppError::validation(
            "regionId",
            format!("A {} account belongs to a {} region.", new.role.as_str(), want.as_str()),
        ));
    }
    let password = initial_password();
    let hash = password::hash(password.clone()).await?;
    let now = audit::now();
    let model = account::Model {
        id: Uuid::new_v4(),
        username,
        display_name,
        phone: new.phone,
        role: new.role,
        region_id: region.id,
        password_hash: hash,
        must_change_password: true,
        disabled: false,
        password_changed_at: None,
        last_sign_in_at: None,
        created_at: now,
        updated_at: now,
    };
    let (_w, txn) = state.begin().await?;
    if account::Entity::find().filter(account::Column::Username.eq(&model.username)).one(&txn).await?.is_some() {
        return Err(AppError::Conflict(format!("The username '{}' is taken.", model.username)));
    }
    account::ActiveModel::from(model.clone()).insert(&txn).await?;
    audit::append(
        &txn,
        &Actor::of(viewer, client_addr),
        NewEvent {
            action: "ACCOUNT_ISSUED",
            entity_type: "Account",
            entity_id: Some(model.id),
            region_id: Some(region.id),
            after: Some(serde_json::json!({ "username": model.username, "role": model.role.as_str() })),
            ..Default::default()
        },
    )
    .await?;
    txn.commit().await?;
    Ok((model, region, password))
}

/// Accounts whose region is inside the viewer's (ADMIN), by username.
pub async fn list_accounts(
    db: &DatabaseConnection,
    viewer: &Viewer,
    first: i32,
    after: Option<&str>,
) -> AppResult<(Vec<account::Model>, bool)> {
    viewer.require_role(&[entity::Role::Admin], "list accounts")?;
    if !(0..=500).contains(&first) {
        return Err(AppError::validation("first", "`first` must be between 0 and 500."));
    }
    let mut q =
        account::Entity::find().filter(account::Column::RegionId.in_subquery(regions_under(&viewer.scope.path)));
    if let Some(a) = after {
        q = q.filter(account::Column::Username.gt(a));
    }
    let mut rows = q.order_by_asc(account::Column::Username).limit(first as u64 + 1).all(db).await?;
    let more = rows.len() > first as usize;
    rows.truncate(first as usize);
    Ok((rows, more))
}

// ---------------------------------------------------------------- API tokens

pub async fn create_api_token(
    state: &AppState,
    viewer: &Viewer,
    name: &str,
    region_id: Uuid,
    expires_at: Option<DateTime<Utc>>,
    client_addr: Option<String>,
) -> AppResult<(String, api_token::Model)> {
    viewer.require_role(&[entity::Role::Admin], "create API tokens")?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::validation("name", "Give the token a name of 1 to 100 characters."));
    }
    let region = regions::get(&state.db, viewer, region_id).await?;
    if !viewer.covers(&region) {
        return Err(AppError::forbidden("A token cannot reach beyond your own region."));
    }
    let now = audit::now();
    if expires_at.is_some_and(|e| e <= now) {
        return Err(AppError::validation("expiresAt", "The expiry must be in the future."));
    }
    let secret = auth::random_token("hsv_");
    let model = api_token::Model {
        id: Uuid::new_v4(),
        name: name.into(),
        region_id: region.id,
        token_hash: auth::token_hash(&secret),
        token_prefix: secret.chars().take(12).collect(),
        created_by: viewer.account_id().unwrap_or_default(),
        expires_at,
        revoked_at: None,
        last_used_at: None,
        created_at: now,
    };
    let (_w, txn) = state.begin().await?;
    api_token::ActiveModel::from(model.clone()).insert(&txn).await?;
    audit::append(
        &txn,
        &Actor::of(viewer, client_addr),
        NewEvent {
            action: "API_TOKEN_CREATED",
            entity_type: "ApiToken",
            entity_id: Some(model.id),
            region_id: Some(region.id),
            after: Some(serde_json::json!({ "name": model.name, "prefix": model.token_prefix })),
            ..Default::default()
        },
    )
    .await?;
    txn.commit().await?;
    Ok((secret, model))
}

/// Tokens whose region is inside the viewer's; admins only.
pub async fn list_api_tokens(db: &DatabaseConnection, viewer: &Viewer) -> AppResult<Vec<api_token::Model>> {
    viewer.require_role(&[entity::Role::Admin], "list API tokens")?;
    Ok(api_token::Entity::find()
        .filter(api_token::Column::RegionId.in_subquery(regions_under(&viewer.scope.path)))
        .order_by_desc(api_token::Column::CreatedAt)
        .all(db)
        .await?)
}

fn regions_under(path: &str) -> sea_orm::sea_query::SelectStatement {
    sea_orm::sea_query::Query::select()
        .column(region::Column::Id)
        .from(region::Entity)
        .and_where(region::Column::Path.starts_with(path))
        .to_owned()
}

pub async fn revoke_api_token(
    state: &AppState,
    viewer: &Viewer,
    id: Uuid,
    client_addr: Option<String>,
) -> AppResult<api_token::Model> {
    let token = list_api_tokens(&state.db, viewer)
        .await?
        .into_iter()
        .find(|t| t.id == id)
        .ok_or_else(|| AppError::not_found("API token"))?;
    let (_w, txn) = state.begin().await?;
    let mut am: api_token::ActiveModel = token.clone().into();
    am.revoked_at = Set(Some(token.revoked_at.unwrap_or_else(audit::now)));
    let token = am.update(&txn).await?;
    audit::append(
        &txn,
        &Actor::of(viewer, client_addr),
        NewEvent {
            action: "API_TOKEN_REVOKED",
            entity_type: "ApiToken",
            entity_id: Some(token.id),
            region_id: Some(token.region_id),
            ..Default::default()
        },
    )
    .await?;
    txn.commit().await?;
    Ok(token)
}

/// Ends every session of an account in the viewer's region.
pub async fn revoke_sessions(
    state: &AppState,
    viewer: &Viewer,
    account_id: Uuid,
    client_addr: Option<String>,
) -> AppResult<()> {
    viewer.require_role(&[entity::Role::Admin], "end other accounts' sessions")?;
    let account = account::Entity::find_by_id(account_id)
        .filter(account::Column::RegionId.in_subquery(regions_under(&viewer.scope.path)))
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::not_found("account"))?;
    let (_w, txn) = state.begin().await?;
    revoke_all_sessions(&txn, account.id).await?;
    audit::append(
        &txn,
        &Actor::of(viewer, client_addr),
        NewEvent {
            action: "SESSIONS_REVOKED",
            entity_type: "Account",
            entity_id: Some(account.id),
            region_id: Some(account.region_id),
            ..Default::default()
        },
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

// ---------------------------------------------------------------- audit query

/// Audit events in the viewer's region, newest first; ADMIN and TOWNSHIP only.
pub async fn audit_events(
    db: &DatabaseConnection,
    viewer: &Viewer,
    account_id: Option<Uuid>,
    household_id: Option<Uuid>,
    action: Option<String>,
    first: i32,
    before_seq: Option<i64>,
) -> AppResult<(Vec<audit_event::Model>, bool)> {
    viewer.require_role(&[entity::Role::Admin, entity::Role::Township], "read the audit trail")?;
    if !(0..=500).contains(&first) {
        return Err(AppError::validation("first", "`first` must be between 0 and 500."));
    }
    let mut c = Condition::all().add(audit_event::Column::RegionId.in_subquery(regions_under(&viewer.scope.path)));
    if let Some(a) = account_id {
        c = c.add(Condition::any().add(audit_event::Column::ActorId.eq(a)).add(audit_event::Column::EntityId.eq(a)));
    }
    if let Some(h) = household_id {
        c = c.add(audit_event::Column::HouseholdId.eq(h));
    }
    if let Some(a) = action {
        c = c.add(audit_event::Column::Action.eq(a));
    }
    if let Some(s) = before_seq {
        c = c.add(audit_event::Column::Seq.lt(s));
    }
    let mut rows = audit_event::Entity::find()
        .filter(c)
        .order_by_desc(audit_event::Column::Seq)
        .limit(first as u64 + 1)
        .all(db)
        .await?;
    let more = rows.len() > first as usize;
    rows.truncate(first as usize);
    Ok((rows, more))
}

/// Audit events of one household the viewer can already see, newest first.
pub async fn household_history(
    db: &DatabaseConnection,
    viewer: &Viewer,
    household_id: Uuid,
    first: i32,
    before_seq: Option<i64>,
) -> AppResult<(Vec<audit_event::Model>, bool)> {
    crate::households::get(db, viewer, household_id).await?;
    if !(0..=500).contains(&first) {
        return Err(AppError::validation("first", "`first` must be between 0 and 500."));
    }
    let mut c = Condition::all().add(audit_event::Column::HouseholdId.eq(household_id));
    if let Some(s) = before_seq {
        c = c.add(audit_event::Column::Seq.lt(s));
    }
    let mut rows = audit_event::Entity::find()
        .filter(c)
        .order_by_desc(audit_event::Column::Seq)
        .limit(first as u64 + 1)
        .all(db)
        .await?;
    let more = rows.len() > first as usize;
    rows.truncate(first as usize);
    Ok((rows, more))
}

// ---------------------------------------------------------------- GraphQL

/// A sign-in account.
pub struct AccountNode(pub account::Model);

impl AccountNode {
    pub async fn load(ctx: &Context<'_>, id: Option<Uuid>) -> async_graphql::Result<Option<AccountNode>> {
        let Some(id) = id else { return Ok(None) };
        Ok(ctx.loaders().accounts.load_one(id).await?.map(AccountNode))
    }
}

#[Object(name = "Account")]
impl AccountNode {
    async fn id(&self) -> ID {
        ids::encode("Account", self.0.id)
    }
    async fn username(&self) -> &str {
        &self.0.username
    }
    /// Person or post, e.g. 张后寨核验员.
    async fn display_name(&self) -> &str {
        &self.0.display_name
    }
    async fn role(&self) -> Role {
        self.0.role.into()
    }
    /// The region the account works in.
    async fn region(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<RegionNode>> {
        Ok(ctx.loaders().regions.load_one(self.0.region_id).await?.map(Into::into))
    }
    /// Contact phone: in full for ADMIN and the account itself, masked for others.
    async fn phone(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        let viewer = ctx.viewer_pending_password()?;
        let full =
            viewer.role == entity::Role::Admin && !viewer.is_api_token() || viewer.account_id() == Some(self.0.id);
        Ok(self.0.phone.as_ref().map(|p| if full { p.clone() } else { auth::mask_phone(p) }))
    }
    /// True until the initial password has been changed.
    async fn must_change_password(&self) -> bool {
        self.0.must_change_password
    }
    async fn last_sign_in_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_sign_in_at
    }
}

/// Tokens from signing in. Send `accessToken` as `Authorization: Bearer …`;
/// trade `refreshToken` for a new pair before the access token expires.
pub struct SignInResult(Tokens);

#[Object]
impl SignInResult {
    /// JWT, valid until `accessTokenExpiresAt`.
    async fn access_token(&self) -> &str {
        &self.0.access_token
    }
    async fn access_token_expires_at(&self) -> DateTime<Utc> {
        self.0.access_expires_at
    }
    /// Opaque, single-use: each `refresh` returns a new one.
    async fn refresh_token(&self) -> &str {
        &self.0.refresh_token
    }
    async fn refresh_token_expires_at(&self) -> DateTime<Utc> {
        self.0.refresh_expires_at
    }
    /// When true, every operation but `changePassword` is refused (PASSWORD_CHANGE_REQUIRED).
    async fn must_change_password(&self) -> bool {
        self.0.account.must_change_password
    }
    async fn account(&self) -> AccountNode {
        AccountNode(self.0.account.clone())
    }
}

/// One account of a bulk issue, with its initial password (shown only here, once).
#[derive(SimpleObject)]
pub struct IssuedAccount {
    pub region: RegionNode,
    pub username: String,
    pub role: Role,
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
    pub generated_at: DateTime<Utc>,
    pub accounts: Vec<IssuedAccount>,
    /// The same as a printable HTML page (one card per account).
    pub printable_html: String,
}

pub struct ApiTokenNode(pub api_token::Model);

/// A read-only token for a third-party dashboard.
#[Object(name = "ApiToken")]
impl ApiTokenNode {
    async fn id(&self) -> ID {
        ids::encode("ApiToken", self.0.id)
    }
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
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at
    }
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
    pub token: String,
    pub api_token: ApiTokenNode,
}

/// One entry of the audit trail.
pub struct AuditEventNode(pub audit_event::Model);

#[Object(name = "AuditEvent")]
impl AuditEventNode {
    async fn id(&self) -> ID {
        ids::encode("AuditEvent", self.0.id)
    }
    /// Position in the hash chain.
    async fn seq(&self) -> i64 {
        self.0.seq
    }
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }
    /// e.g. SIGN_IN, SIGN_IN_FAILED, PASSWORD_CHANGED, ACCOUNT_ISSUED, API_TOKEN_CREATED.
    async fn action(&self) -> &str {
        &self.0.action
    }
    async fn actor_name(&self) -> Option<&str> {
        self.0.actor_name.as_deref()
    }
    async fn actor_role(&self) -> Option<&str> {
        self.0.actor_role.as_deref()
    }
    async fn client_addr(&self) -> Option<&str> {
        self.0.client_addr.as_deref()
    }
    async fn entity_type(&self) -> &str {
        &self.0.entity_type
    }
    async fn entity_id(&self) -> Option<ID> {
        self.0.entity_id.map(|id| ids::encode(&self.0.entity_type, id))
    }
    /// State before the change (JSON), where it applies.
    async fn before(&self) -> Option<async_graphql::Json<serde_json::Value>> {
        self.0.before.clone().map(async_graphql::Json)
    }
    async fn after(&self) -> Option<async_graphql::Json<serde_json::Value>> {
        self.0.after.clone().map(async_graphql::Json)
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
    pub account: AccountNode,
    pub initial_password: String,
    pub sign_in_url: String,
    pub qr_svg: String,
}

#[derive(Default)]
pub struct AccountsQuery;

#[Object]
impl AccountsQuery {
    /// The signed-in account (null for an API token). Works before the initial password is changed.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<AccountNode>> {
        let viewer = ctx.viewer_pending_password()?;
        AccountNode::load(ctx, viewer.account_id()).await
    }

    /// Accounts in the viewer's region, by username (ADMIN).
    async fn accounts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<AccountConnection> {
        let viewer = ctx.viewer()?;
        let (rows, more) = list_accounts(&ctx.state().db, viewer, first.unwrap_or(100), after.as_deref()).await?;
        let mut conn = Connection::new(after.is_some(), more);
        conn.edges.extend(rows.into_iter().map(|a| Edge::new(a.username.clone(), AccountNode(a))));
        Ok(conn)
    }

    /// API tokens in the viewer's region (ADMIN).
    async fn api_tokens(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ApiTokenNode>> {
        let viewer = ctx.viewer()?;
        Ok(list_api_tokens(&ctx.state().db, viewer).await?.into_iter().map(ApiTokenNode).collect())
    }

    /// The audit trail in the viewer's region, newest first (ADMIN, TOWNSHIP).
    async fn audit_events(
        &self,
        ctx: &Context<'_>,
        account_id: Option<ID>,
        household_id: Option<ID>,
        action: Option<String>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<AuditEventConnection> {
        let viewer = ctx.viewer()?;
        let account_id = account_id.as_ref().map(|a| ids::decode("Account", a)).transpose()?;
        let household_id = household_id.as_ref().map(|h| ids::decode("Household", h)).transpose()?;
        let before_seq = after
            .as_deref()
            .map(|a| {
                a.parse::<i64>().map_err(|_| AppError::validation("after", "The cursor is not one this API returned."))
            })
            .transpose()?;
        let (rows, more) =
            audit_events(&ctx.state().db, viewer, account_id, household_id, action, first.unwrap_or(50), before_seq)
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
        username: String,
        password: String,
    ) -> async_graphql::Result<SignInResult> {
        let addr = ctx.req().client_addr.clone();
        Ok(SignInResult(sign_in(ctx.state(), &username, &password, addr).await?))
    }

    /// Trades a refresh token for a new pair. Each refresh token works once.
    async fn refresh(&self, ctx: &Context<'_>, refresh_token: String) -> async_graphql::Result<SignInResult> {
        let addr = ctx.req().client_addr.clone();
        Ok(SignInResult(refresh(ctx.state(), &refresh_token, addr).await?))
    }

    /// Ends the session the refresh token belongs to. Always true.
    async fn sign_out(&self, ctx: &Context<'_>, refresh_token: String) -> async_graphql::Result<bool> {
        sign_out(ctx.state(), &refresh_token).await?;
        Ok(true)
    }

    /// Changes the viewer's password and ends their other sessions; returns new tokens.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current: String,
        new: String,
    ) -> async_graphql::Result<SignInResult> {
        let viewer = ctx.viewer_pending_password()?;
        let addr = ctx.req().client_addr.clone();
        Ok(SignInResult(change_password(ctx.state(), viewer, &current, &new, addr).await?))
    }

    /// Issues an account for every township and village under the region (ADMIN);
    /// existing ones get a new initial password. The passwords are shown only here.
    async fn issue_accounts(&self, ctx: &Context<'_>, region_id: ID) -> async_graphql::Result<AccountSheet> {
        let viewer = ctx.viewer()?;
        let state = ctx.state();
        let entries =
            issue_accounts(state, viewer, ids::decode("Region", &region_id)?, ctx.req().client_addr.clone()).await?;
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
        username: String,
        display_name: String,
        phone: Option<String>,
        role: Role,
        region_id: ID,
    ) -> async_graphql::Result<NewAccountResult> {
        let viewer = ctx.viewer()?;
        let state = ctx.state();
        let new = NewAccount {
            username,
            display_name,
            phone,
            role: role.into(),
            region_id: ids::decode("Region", &region_id)?,
        };
        let (account, _region, initial_password) =
            create_account(state, viewer, new, ctx.req().client_addr.clone()).await?;
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
        name: String,
        region_id: ID,
        expires_at: Option<DateTime<Utc>>,
    ) -> async_graphql::Result<ApiTokenSecret> {
        let viewer = ctx.viewer()?;
        let (token, model) = create_api_token(
            ctx.state(),
            viewer,
            &name,
            ids::decode("Region", &region_id)?,
            expires_at,
            ctx.req().client_addr.clone(),
        )
        .await?;
        Ok(ApiTokenSecret { token, api_token: ApiTokenNode(model) })
    }

    /// Revokes an API token at once (ADMIN).
    async fn revoke_api_token(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<ApiTokenNode> {
        let viewer = ctx.viewer()?;
        let t =
            revoke_api_token(ctx.state(), viewer, ids::decode("ApiToken", &id)?, ctx.req().client_addr.clone()).await?;
        Ok(ApiTokenNode(t))
    }

    /// Ends every session of an account; it must sign in again (ADMIN).
    async fn revoke_sessions(&self, ctx: &Context<'_>, account_id: ID) -> async_graphql::Result<bool> {
        let viewer = ctx.viewer()?;
        revoke_sessions(ctx.state(), viewer, ids::decode("Account", &account_id)?, ctx.req().client_addr.clone())
            .await?;
        Ok(true)
    }
}
