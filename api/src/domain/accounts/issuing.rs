//! Bulk issuing: one account per township and village with a random initial
//! password, and the printable sheet of QR codes handed out at the meeting.

use crate::domain::error::{key, msg};
use crate::{
    domain::{
        audit::NewEvent,
        auth::{password, sessions::revoke_all_sessions},
        ctx::Ctx,
        error::{AppError, AppResult},
        regions,
        tx::Tx,
    },
    AppState,
};
use chrono::{DateTime, Utc};
use entity::{account, region, RegionLevel};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
};
use std::collections::HashMap;
use uuid::Uuid;

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
/// Re-issuing resets live accounts (their passwords and every session), so it
/// needs `confirm` to be the region's code, typed by the person; issuing where
/// no account exists yet needs nothing.
pub async fn issue_accounts(
    ctx: &Ctx,
    state: &AppState,
    region_id: Uuid,
    confirm: Option<&str>,
) -> AppResult<Vec<IssuedEntry>> {
    let root = issuing_root(ctx, state, region_id).await?;
    let mut entries = choose_posts(state, &root).await?;
    if entries.is_empty() {
        return Ok(entries);
    }
    let live = existing_accounts(state, &entries).await?;
    if !live.is_empty() && confirm.map(str::trim) != Some(root.code.as_str()) {
        return Err(AppError::Conflict(msg!(ISSUE_CONFIRM_RESET, count = live.len(), code = &root.code)));
    }
    // Hashed before the transaction opens: hashing is slow and needs no rows.
    let hashes = hash_passwords(&entries).await?;
    let now = ctx.now();
    let tx = Tx::begin(state, ctx.actor()?).await?;
    write_accounts(&tx, &mut entries, hashes, now).await?;
    tx.commit(state).await?;
    Ok(entries)
}

/// The accounts a re-issue under `region_id` would reset (usernames, in code order).
pub async fn accounts_to_reset(ctx: &Ctx, state: &AppState, region_id: Uuid) -> AppResult<Vec<String>> {
    let root = issuing_root(ctx, state, region_id).await?;
    let entries = choose_posts(state, &root).await?;
    Ok(existing_accounts(state, &entries).await?.into_iter().map(|a| a.username).collect())
}

async fn issuing_root(ctx: &Ctx, state: &AppState, region_id: Uuid) -> AppResult<region::Model> {
    let viewer = ctx.viewer()?;
    viewer.require_role(&[entity::Role::Admin], key::ACT_ISSUE_ACCOUNTS)?;
    let root = regions::get(&state.db, viewer, region_id).await?;
    if !viewer.covers(&root) {
        return Err(AppError::forbidden(msg!(REGION_OUTSIDE)));
    }
    Ok(root)
}

/// The posts' accounts that already exist, in the posts' order.
async fn existing_accounts(state: &AppState, entries: &[IssuedEntry]) -> AppResult<Vec<account::Model>> {
    let mut found = Vec::new();
    for chunk in entries.chunks(500) {
        let names: Vec<String> = chunk.iter().map(|e| e.username.clone()).collect();
        found.extend(account::Entity::find().filter(account::Column::Username.is_in(names)).all(&state.db).await?);
    }
    let order: HashMap<&str, usize> = entries.iter().enumerate().map(|(i, e)| (e.username.as_str(), i)).collect();
    found.sort_by_key(|a| order.get(a.username.as_str()).copied().unwrap_or(usize::MAX));
    Ok(found)
}

/// Every township and village under `root`, in code order, each with a new initial password.
async fn choose_posts(state: &AppState, root: &region::Model) -> AppResult<Vec<IssuedEntry>> {
    let posts = region::Entity::find()
        .filter(region::Column::Path.starts_with(&root.path))
        .filter(region::Column::Level.is_in([RegionLevel::Township, RegionLevel::Village]))
        .order_by_asc(region::Column::Code)
        .all(&state.db)
        .await?;
    Ok(posts
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
        .collect())
}

/// One hash per entry, in the same order. On the blocking pool, a few at a time
/// (Argon2id is memory-hard).
async fn hash_passwords(entries: &[IssuedEntry]) -> AppResult<Vec<String>> {
    let mut hashes = Vec::with_capacity(entries.len());
    for chunk in entries.chunks(8) {
        let jobs: Vec<_> = chunk.iter().map(|e| password::hash(e.password.clone())).collect();
        for h in futures_util::future::join_all(jobs).await {
            hashes.push(h?);
        }
    }
    Ok(hashes)
}

/// Resets the posts' accounts that exist and creates the others, one audit event each.
async fn write_accounts(
    tx: &Tx,
    entries: &mut [IssuedEntry],
    hashes: Vec<String>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let txn = tx.conn();
    let existing: HashMap<String, account::Model> = account::Entity::find()
        .filter(account::Column::Username.is_in(entries.iter().map(|e| e.username.clone())))
        .all(txn)
        .await?
        .into_iter()
        .map(|a| (a.username.clone(), a))
        .collect();
    for (e, hash) in entries.iter_mut().zip(hashes) {
        if let Some(a) = existing.get(&e.username) {
            e.reset = true;
            reset_post_account(txn, a, hash, now).await?;
            tx.audit(NewEvent {
                action: "ACCOUNT_RESET",
                entity_type: "Account",
                entity_id: Some(a.id),
                region_id: Some(e.region.id),
                after: Some(serde_json::json!({ "username": e.username, "role": e.role.as_str() })),
                ..Default::default()
            })
            .await?;
        } else {
            let model = super::fresh(e.username.clone(), post_display_name(&e.region), e.role, e.region.id, hash, now);
            super::insert_issued(tx, model).await?;
        }
    }
    Ok(())
}

/// A re-issue: the new password, enabled again, and every session of the old one ended.
async fn reset_post_account(
    txn: &DatabaseTransaction,
    a: &account::Model,
    hash: String,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let mut am: account::ActiveModel = a.clone().into();
    am.password_hash = Set(hash);
    am.must_change_password = Set(true);
    am.disabled = Set(false);
    am.updated_at = Set(now);
    am.update(txn).await?;
    revoke_all_sessions(txn, a.id).await?;
    Ok(())
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
