//! Signed, expiring links to photos (presigned on S3, served by the API on a
//! local store), and the sweeper of what unconfirmed uploads left behind.

use crate::domain::error::{key, msg};
use crate::{
    domain::{
        audit,
        error::{AppError, AppResult},
    },
    AppState,
};
use entity::{photo, photo_upload};
use object_store::{path::Path as ObjectPath, ObjectStoreExt};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

/// Removes what unconfirmed uploads left behind: tickets that expired more than
/// `grace` ago, and their objects (never the object of a recorded photo).
pub async fn sweep(state: &AppState, grace: chrono::Duration) -> AppResult<u64> {
    let cutoff = audit::now() - grace;
    let stale = photo_upload::Entity::find()
        .filter(photo_upload::Column::ExpiresAt.lt(cutoff))
        .filter(photo_upload::Column::ConfirmedAt.is_null())
        .all(&state.db)
        .await?;
    let mut n = 0;
    for t in stale {
        let recorded =
            photo::Entity::find().filter(photo::Column::ObjectKey.eq(&t.object_key)).one(&state.db).await?.is_some();
        if !recorded {
            state.storage.note("delete");
            match state.storage.store.delete(&ObjectPath::from(t.object_key.as_str())).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "sweeper could not delete an orphan; will retry");
                    continue;
                }
            }
            n += 1;
        }
        let _turn = state.write_turn().await;
        photo_upload::Entity::delete_by_id(t.id).exec(&state.db).await?;
    }
    // Confirmed tickets answer a resent confirmation for a week past their
    // expiry (a phone may come back online days later), then go.
    let _turn = state.write_turn().await;
    photo_upload::Entity::delete_many()
        .filter(photo_upload::Column::ConfirmedAt.is_not_null())
        .filter(photo_upload::Column::ExpiresAt.lt(cutoff - chrono::Duration::days(7)))
        .exec(&state.db)
        .await?;
    Ok(n)
}

/// Runs the sweeper every ten minutes with a one-hour grace period.
pub fn spawn_sweeper(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
        loop {
            tick.tick().await;
            match sweep(&state, chrono::Duration::hours(1)).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(removed = n, "orphan uploads removed"),
                Err(e) => tracing::warn!(error = %e, "sweeper failed"),
            }
            match crate::domain::exports::sweep(&state).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(removed = n, "old exports removed"),
                Err(e) => tracing::warn!(error = %e, "export sweeper failed"),
            }
        }
    });
}

pub const URL_SECONDS: i64 = 600;

/// A signed, expiring link to a photo (or its thumbnail): presigned on S3, served by the API otherwise.
pub async fn url_for(state: &AppState, p: &photo::Model, thumb: bool) -> AppResult<String> {
    let key =
        if thumb { p.thumbnail_key.clone().unwrap_or_else(|| p.object_key.clone()) } else { p.object_key.clone() };
    let ttl = std::time::Duration::from_secs(URL_SECONDS as u64);
    if let Some(u) = state.storage.presigned_get(&key, ttl).await.map_err(AppError::Internal)? {
        return Ok(u);
    }
    let exp = audit::now().timestamp() + URL_SECONDS;
    let variant = if thumb { "thumb" } else { "file" };
    let sig = state.jwt.mac(&format!("{}|{variant}|{exp}", p.id));
    Ok(format!("{}/photos/{}/{variant}?exp={exp}&sig={sig}", state.cfg.public_url.trim_end_matches('/'), p.id))
}

/// Serves a photo by a link from `url_for` (local store): signature and expiry are the permission,
/// and only viewers who may see the household are ever given one.
pub async fn serve(
    state: &AppState,
    id: Uuid,
    variant: &str,
    exp: i64,
    sig: &str,
) -> AppResult<(String, bytes::Bytes)> {
    if !state.jwt.verify_mac(&format!("{id}|{variant}|{exp}"), sig) {
        return Err(AppError::forbidden(msg!(PHOTO_LINK_INVALID)));
    }
    if exp < audit::now().timestamp() {
        return Err(AppError::forbidden(msg!(PHOTO_LINK_EXPIRED)));
    }
    let p = photo::Entity::find_by_id(id).one(&state.db).await?.ok_or_else(|| AppError::not_found(key::THING_PHOTO))?;
    let (key, ct) = match variant {
        "thumb" => (p.thumbnail_key.clone().unwrap_or(p.object_key.clone()), "image/jpeg".to_string()),
        _ => (p.object_key.clone(), p.content_type.clone()),
    };
    state.storage.note("get");
    let bytes = state
        .storage
        .store
        .get(&ObjectPath::from(key.as_str()))
        .await
        .map_err(AppError::storage)?
        .bytes()
        .await
        .map_err(AppError::storage)?;
    Ok((ct, bytes))
}
