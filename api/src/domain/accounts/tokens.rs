//! Read-only API tokens for other offices' dashboards: shown once, stored
//! hashed, scoped to a region, revocable.

use super::regions_under;
use crate::domain::error::{key, msg};
use crate::{
    domain::{
        audit::{self, NewEvent},
        auth::{self},
        ctx::Ctx,
        error::{AppError, AppResult},
        regions,
        tx::Tx,
    },
    AppState,
};
use chrono::{DateTime, Utc};
use entity::api_token;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
};
use uuid::Uuid;

// ---------------------------------------------------------------- API tokens

pub async fn create_api_token(
    ctx: &Ctx,
    state: &AppState,
    name: &str,
    region_id: Uuid,
    expires_at: Option<DateTime<Utc>>,
) -> AppResult<(String, api_token::Model)> {
    let viewer = ctx.viewer()?;
    viewer.require_role(&[entity::Role::Admin], key::ACT_CREATE_TOKENS)?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::validation("name", msg!(TEXT_LENGTH, max = 100).arg_key("what", key::FIELD_TOKEN_NAME)));
    }
    let region = regions::get(&state.db, viewer, region_id).await?;
    if !viewer.covers(&region) {
        return Err(AppError::forbidden(msg!(TOKEN_BEYOND_REGION)));
    }
    let now = audit::now();
    if expires_at.is_some_and(|e| e <= now) {
        return Err(AppError::validation("expiresAt", msg!(EXPIRY_IN_PAST)));
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
    let tx = Tx::begin(state, ctx.actor()?).await?;
    let txn = tx.conn();
    api_token::ActiveModel::from(model.clone()).insert(txn).await?;
    tx.audit(NewEvent {
        action: "API_TOKEN_CREATED",
        entity_type: "ApiToken",
        entity_id: Some(model.id),
        region_id: Some(region.id),
        after: Some(serde_json::json!({ "name": model.name, "prefix": model.token_prefix })),
        ..Default::default()
    })
    .await?;
    tx.commit(state).await?;
    Ok((secret, model))
}

/// Tokens whose region is inside the viewer's; admins only.
pub async fn list_api_tokens(ctx: &Ctx, db: &DatabaseConnection) -> AppResult<Vec<api_token::Model>> {
    let viewer = ctx.viewer()?;
    viewer.require_role(&[entity::Role::Admin], key::ACT_LIST_TOKENS)?;
    Ok(api_token::Entity::find()
        .filter(api_token::Column::RegionId.in_subquery(regions_under(&viewer.scope.path)))
        .order_by_desc(api_token::Column::CreatedAt)
        .all(db)
        .await?)
}

pub async fn revoke_api_token(ctx: &Ctx, state: &AppState, id: Uuid) -> AppResult<api_token::Model> {
    let token = list_api_tokens(ctx, &state.db)
        .await?
        .into_iter()
        .find(|t| t.id == id)
        .ok_or_else(|| AppError::not_found(key::THING_API_TOKEN))?;
    let tx = Tx::begin(state, ctx.actor()?).await?;
    let txn = tx.conn();
    let mut am: api_token::ActiveModel = token.clone().into();
    am.revoked_at = Set(Some(token.revoked_at.unwrap_or_else(audit::now)));
    let token = am.update(txn).await?;
    tx.audit(NewEvent {
        action: "API_TOKEN_REVOKED",
        entity_type: "ApiToken",
        entity_id: Some(token.id),
        region_id: Some(token.region_id),
        ..Default::default()
    })
    .await?;
    tx.commit(state).await?;
    Ok(token)
}
