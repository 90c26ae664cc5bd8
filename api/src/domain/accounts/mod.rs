//! Accounts: personal accounts made by an ADMIN, listing, ending sessions.
//! Bulk issuing and API tokens are in their own files.

mod issuing;
mod tokens;

pub use issuing::*;
pub use tokens::*;

use crate::domain::error::{key, msg};
use crate::{
    domain::{
        audit::{self, NewEvent},
        auth::{
            password,
            sessions::{normalize_username, revoke_all_sessions},
        },
        ctx::Ctx,
        error::{AppError, AppResult},
        regions,
        tx::Tx,
    },
    AppState,
};
use entity::{account, region, RegionLevel};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

/// The levels an account's region may have for its role, and how they are
/// named in a refusal. ADMIN and SUPERVISOR serve a county or the city,
/// province or nation above counties (boards, findings, exports of a subtree).
fn levels_for(role: entity::Role) -> (&'static [RegionLevel], &'static str) {
    match role {
        entity::Role::Admin | entity::Role::Supervisor => (
            &[RegionLevel::Nation, RegionLevel::Province, RegionLevel::City, RegionLevel::County],
            "COUNTY/CITY/PROVINCE/NATION",
        ),
        entity::Role::Township => (&[RegionLevel::Township], "TOWNSHIP"),
        entity::Role::Verifier => (&[RegionLevel::Village], "VILLAGE"),
    }
}

/// A username as stored: trimmed and lower case, 3 to 64 letters, digits, '.', '_' or '-'.
pub(crate) fn checked_username(raw: &str, field: &str) -> AppResult<String> {
    let username = normalize_username(raw);
    if !(3..=64).contains(&username.len())
        || !username.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        return Err(AppError::validation(field, msg!(USERNAME_FORM)));
    }
    Ok(username)
}

/// A new account that must change its initial password at first sign-in.
pub(crate) fn fresh(
    username: String,
    display_name: String,
    role: entity::Role,
    region_id: Uuid,
    password_hash: String,
    now: chrono::DateTime<chrono::Utc>,
) -> account::Model {
    account::Model {
        id: Uuid::new_v4(),
        username,
        display_name,
        phone: None,
        role,
        region_id,
        password_hash,
        must_change_password: true,
        disabled: false,
        password_changed_at: None,
        last_sign_in_at: None,
        session_epoch: 0,
        created_at: now,
        updated_at: now,
    }
}

/// Inserts a new account and records ACCOUNT_ISSUED, in the write's transaction.
pub(crate) async fn insert_issued(tx: &Tx, model: account::Model) -> AppResult<account::Model> {
    let model = account::ActiveModel::from(model).insert(tx.conn()).await?;
    tx.audit(NewEvent {
        action: "ACCOUNT_ISSUED",
        entity_type: "Account",
        entity_id: Some(model.id),
        region_id: Some(model.region_id),
        after: Some(serde_json::json!({ "username": model.username, "role": model.role.as_str() })),
        ..Default::default()
    })
    .await?;
    Ok(model)
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
    ctx: &Ctx,
    state: &AppState,
    new: NewAccount,
) -> AppResult<(account::Model, region::Model, String)> {
    let viewer = ctx.viewer()?;
    viewer.require_role(&[entity::Role::Admin], key::ACT_CREATE_ACCOUNTS)?;
    let username = checked_username(&new.username, "username")?;
    let display_name = new.display_name.trim().to_owned();
    if display_name.is_empty() || display_name.chars().count() > 100 {
        return Err(AppError::validation(
            "displayName",
            msg!(TEXT_LENGTH, max = 100).arg_key("what", key::FIELD_DISPLAY_NAME),
        ));
    }
    if let Some(p) = &new.phone {
        if !(5..=20).contains(&p.len()) || !p.chars().all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ')) {
            return Err(AppError::validation("phone", msg!(PHONE_FORM)));
        }
    }
    let region = regions::get(&state.db, viewer, new.region_id).await?;
    if !viewer.covers(&region) {
        return Err(AppError::forbidden(msg!(REGION_OUTSIDE)));
    }
    let (levels, named) = levels_for(new.role);
    if !levels.contains(&region.level) {
        return Err(AppError::validation("regionId", msg!(ROLE_LEVEL, role = new.role.as_str(), level = named)));
    }
    let password = initial_password();
    let hash = password::hash(password.clone()).await?;
    let now = audit::now();
    let mut model = fresh(username, display_name, new.role, region.id, hash, now);
    model.phone = new.phone;
    let tx = Tx::begin(state, ctx.actor()?).await?;
    if account::Entity::find().filter(account::Column::Username.eq(&model.username)).one(tx.conn()).await?.is_some() {
        return Err(AppError::Conflict(msg!(USERNAME_TAKEN, username = &model.username)));
    }
    let model = insert_issued(&tx, model).await?;
    tx.commit(state).await?;
    Ok((model, region, password))
}

/// Accounts whose region is inside the viewer's (ADMIN), by username.
pub async fn list_accounts(
    ctx: &Ctx,
    db: &DatabaseConnection,
    first: i32,
    after: Option<&str>,
) -> AppResult<(Vec<account::Model>, bool)> {
    let viewer = ctx.viewer()?;
    viewer.require_role(&[entity::Role::Admin], key::ACT_LIST_ACCOUNTS)?;
    if !(0..=500).contains(&first) {
        return Err(AppError::validation("first", msg!(FIRST_RANGE, max = 500)));
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
pub(crate) fn regions_under(path: &str) -> sea_orm::sea_query::SelectStatement {
    sea_orm::sea_query::Query::select()
        .column(region::Column::Id)
        .from(region::Entity)
        .and_where(region::Column::Path.starts_with(path))
        .to_owned()
}

/// Ends every session of an account in the viewer's region.
pub async fn revoke_sessions(ctx: &Ctx, state: &AppState, account_id: Uuid) -> AppResult<()> {
    let viewer = ctx.viewer()?;
    viewer.require_role(&[entity::Role::Admin], key::ACT_END_SESSIONS)?;
    let account = account::Entity::find_by_id(account_id)
        .filter(account::Column::RegionId.in_subquery(regions_under(&viewer.scope.path)))
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::not_found(key::THING_ACCOUNT))?;
    let tx = Tx::begin(state, ctx.actor()?).await?;
    let txn = tx.conn();
    revoke_all_sessions(txn, account.id).await?;
    tx.audit(NewEvent {
        action: "SESSIONS_REVOKED",
        entity_type: "Account",
        entity_id: Some(account.id),
        region_id: Some(account.region_id),
        ..Default::default()
    })
    .await?;
    tx.commit(state).await?;
    Ok(())
}
