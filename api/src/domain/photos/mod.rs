//! Photos: upload tickets, the streamed upload, validation on confirmation.
//! A photo row exists only for an object that passed validation; a refused
//! upload leaves neither row nor object.

mod inspect;
mod links;

pub use inspect::*;
pub use links::*;

use crate::domain::error::{key, msg};
use crate::{
    domain::{
        audit::NewEvent,
        auth::Viewer,
        checks,
        ctx::Ctx,
        error::{AppError, AppResult},
        evidence, households,
        tx::Tx,
    },
    AppState,
};
use chrono::Duration;
use entity::{household, photo, photo_upload, verification, Role};
use futures_util::{Stream, StreamExt};
use object_store::{path::Path as ObjectPath, ObjectStoreExt, PutPayload};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

pub const TICKET_MINUTES: i64 = 15;
/// How long a presigned upload link is valid.
pub const PRESIGN_MINUTES: i64 = 5;

fn extension(content_type: &str) -> Option<&'static str> {
    match content_type {
        "image/jpeg" => Some("jpg"),
        "image/png" => Some("png"),
        "image/webp" => Some("webp"),
        _ => None,
    }
}

/// A ticket and where to send the bytes: straight to the bucket on S3
/// (presigned for this key, type and length), through the API otherwise.
pub struct UploadTicket {
    pub ticket: photo_upload::Model,
    pub upload_url: String,
}

pub async fn request_upload(
    ctx: &Ctx,
    state: &AppState,
    household_id: Uuid,
    kind: entity::PhotoKind,
    content_type: &str,
    size: i64,
    practice: bool,
) -> AppResult<UploadTicket> {
    let viewer = ctx.viewer()?;
    viewer.require_role(&[Role::Verifier], key::ACT_UPLOAD_PHOTOS)?;
    let h = households::get(&state.db, viewer, household_id).await?;
    let ext = extension(content_type).ok_or_else(|| AppError::validation("contentType", msg!(PHOTO_TYPE)))?;
    let max = state.cfg.max_photo_bytes;
    if !(1..=max).contains(&size) {
        return Err(AppError::validation("size", msg!(PHOTO_SIZE, mb = max / 1024 / 1024)));
    }
    let now = ctx.now();
    let id = Uuid::new_v4();
    let ticket = photo_upload::Model {
        id,
        household_id: h.id,
        practice,
        kind,
        object_key: format!("{}/{}/{}.{ext}", h.campaign_id, h.id, id),
        content_type: content_type.into(),
        size_bytes: size,
        requested_by: viewer.account_id().unwrap_or_default(),
        expires_at: now + Duration::minutes(TICKET_MINUTES),
        confirmed_at: None,
        created_at: now,
    };
    {
        let _turn = state.write_turn().await;
        photo_upload::ActiveModel::from(ticket.clone()).insert(&state.db).await?;
    }
    // The link itself lasts a few minutes (an upload that started in time
    // finishes); the ticket's longer life is for confirming.
    let ttl = std::time::Duration::from_secs(PRESIGN_MINUTES as u64 * 60);
    let presigned =
        state.storage.presigned_put(&ticket.object_key, &ticket.content_type, ttl).await.map_err(AppError::Internal)?;
    let upload_url =
        presigned.unwrap_or_else(|| format!("{}/uploads/{}", state.cfg.public_url.trim_end_matches('/'), ticket.id));
    Ok(UploadTicket { ticket, upload_url })
}

/// A ticket the viewer may use now.
async fn usable_ticket(state: &AppState, viewer: &Viewer, id: Uuid) -> AppResult<photo_upload::Model> {
    let t = photo_upload::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::not_found(key::THING_UPLOAD_TICKET))?;
    if Some(t.requested_by) != viewer.account_id() {
        return Err(AppError::not_found(key::THING_UPLOAD_TICKET));
    }
    if t.confirmed_at.is_some() {
        return Err(AppError::Conflict(msg!(UPLOAD_CONFIRMED)));
    }
    if t.expires_at <= crate::domain::audit::now() {
        return Err(AppError::validation("ticketId", msg!(TICKET_EXPIRED)));
    }
    Ok(t)
}

/// Streams an upload body into storage, chunk by chunk, refusing it as soon
/// as it exceeds the size granted by the ticket.
pub async fn receive<S, E>(
    ctx: &Ctx,
    state: &AppState,
    ticket_id: Uuid,
    content_type: Option<&str>,
    mut stream: S,
) -> AppResult<i64>
where
    S: Stream<Item = Result<bytes::Bytes, E>> + Unpin,
{
    let viewer = ctx.viewer()?;
    let t = usable_ticket(state, viewer, ticket_id).await?;
    if content_type != Some(t.content_type.as_str()) {
        return Err(AppError::validation("contentType", msg!(UPLOAD_CONTENT_TYPE, contentType = &t.content_type)));
    }
    let path = ObjectPath::from(t.object_key.as_str());
    state.storage.note("put");
    let mut upload = state.storage.store.put_multipart(&path).await.map_err(AppError::storage)?;
    let mut total: i64 = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(_) => {
                let _ = upload.abort().await;
                return Err(AppError::validation("body", msg!(UPLOAD_INTERRUPTED)));
            }
        };
        total += chunk.len() as i64;
        if total > t.size_bytes {
            let _ = upload.abort().await;
            return Err(AppError::validation("body", msg!(UPLOAD_TOO_LARGE, bytes = t.size_bytes)));
        }
        if let Err(e) = upload.put_part(PutPayload::from_bytes(chunk)).await {
            let _ = upload.abort().await;
            return Err(AppError::storage(e));
        }
    }
    upload.complete().await.map_err(AppError::storage)?;
    Ok(total)
}

/// What confirmation learned from the bytes, before anything is recorded.
struct Examined {
    size: i64,
    inspected_sha256: String,
    width: u32,
    height: u32,
    exif: evidence::Exif,
    phash: i64,
    luma: f64,
    sharpness: f64,
    thumb: Vec<u8>,
    /// The bytes examined: these, not whatever is at the upload key later, are kept.
    bytes: bytes::Bytes,
}

/// Validates the uploaded bytes (type sniffed, size, full decode within a
/// pixel limit) and, only if they pass, records the photo.
pub async fn confirm(ctx: &Ctx, state: &AppState, ticket_id: Uuid) -> AppResult<photo::Model> {
    let viewer = ctx.viewer()?;
    viewer.require_role(&[Role::Verifier], key::ACT_UPLOAD_PHOTOS)?;
    let t = usable_ticket(state, viewer, ticket_id).await?;
    let h = households::get(&state.db, viewer, t.household_id).await?;
    let x = match examine(state, &t, &h).await? {
        Ok(x) => x,
        Err(reason) => {
            // Nothing is kept of a refused upload.
            state.storage.note("delete");
            let _ = state.storage.store.delete(&ObjectPath::from(t.object_key.as_str())).await;
            let _turn = state.write_turn().await;
            let _ = photo_upload::Entity::delete_by_id(t.id).exec(&state.db).await;
            return Err(AppError::validation("ticketId", msg!(PHOTO_REFUSED, detail = reason)));
        }
    };
    // The examined bytes go to a fresh key that no upload link names, so a
    // still-valid presigned PUT cannot swap a checked photo afterwards. Both
    // objects are stored before the row, so a row never points at nothing.
    let key = kept_key(&t.object_key);
    let thumb_key = format!("{key}.thumb.jpg");
    let store = &state.storage.store;
    let put = |k: &str, b: bytes::Bytes| {
        state.storage.note("put");
        let path = ObjectPath::from(k);
        async move { store.put(&path, PutPayload::from(b)).await }
    };
    let stored = async {
        put(&key, x.bytes.clone()).await?;
        put(&thumb_key, bytes::Bytes::from(x.thumb.clone())).await
    }
    .await;
    let recorded = match stored {
        Ok(_) => record(ctx, state, &t, &h, x, key.clone(), thumb_key.clone()).await,
        Err(e) => Err(AppError::storage(e)),
    };
    if recorded.is_err() {
        // Nothing half-written: the copies go, the ticket stays for a retry.
        let _ = store.delete(&ObjectPath::from(key.as_str())).await;
        let _ = store.delete(&ObjectPath::from(thumb_key.as_str())).await;
    } else {
        state.storage.note("delete");
        let _ = store.delete(&ObjectPath::from(t.object_key.as_str())).await;
    }
    recorded
}

/// `c/h/<ticket>.jpg` → `c/h/<fresh id>.jpg`: where a confirmed photo is
/// kept (no longer than the upload key: some S3 servers store keys as file names).
fn kept_key(upload_key: &str) -> String {
    let (dir, name) = upload_key.rsplit_once('/').unwrap_or(("", upload_key));
    let ext = name.rsplit_once('.').map(|(_, e)| format!(".{e}")).unwrap_or_default();
    let fresh = Uuid::new_v4().simple().to_string();
    if dir.is_empty() {
        format!("{fresh}{ext}")
    } else {
        format!("{dir}/{fresh}{ext}")
    }
}

/// Reads and inspects the uploaded object. Ok(Err(reason)) refuses the photo.
async fn examine(
    state: &AppState,
    t: &photo_upload::Model,
    h: &household::Model,
) -> AppResult<Result<Examined, String>> {
    let store = &state.storage.store;
    // Reading and decoding take memory in proportion to the photo: a few at a
    // time, whatever the burst, so memory stays bounded (docs/benchmarks.md).
    let slot = state.photo_slots.acquire().await.map_err(|e| AppError::Internal(e.into()))?;
    state.storage.note("head");
    let meta = match store.head(&ObjectPath::from(t.object_key.as_str())).await {
        Ok(m) => m,
        Err(object_store::Error::NotFound { .. }) => {
            return Err(AppError::validation("ticketId", msg!(NOTHING_UPLOADED)))
        }
        Err(e) => return Err(AppError::storage(e)),
    };
    // Exactly the size asked for: a presigned S3 PUT cannot bind the length itself.
    if meta.size as i64 != t.size_bytes || meta.size as i64 > state.cfg.max_photo_bytes {
        return Ok(Err(format!("{} bytes were uploaded, {} were granted", meta.size, t.size_bytes)));
    }
    let bytes = store
        .get(&ObjectPath::from(t.object_key.as_str()))
        .await
        .map_err(AppError::storage)?
        .bytes()
        .await
        .map_err(AppError::storage)?;
    let ct = t.content_type.clone();
    let campaign = entity::campaign::Entity::find_by_id(h.campaign_id).one(&state.db).await?;
    let tz: chrono_tz::Tz =
        campaign.map(|c| c.time_zone).and_then(|z| z.parse().ok()).unwrap_or(chrono_tz::Asia::Shanghai);
    let kept = bytes.clone();
    let examined = tokio::task::spawn_blocking(move || -> Result<_, String> {
        let i = inspect(&bytes, &ct)?;
        let exif = evidence::read_exif(&bytes, tz);
        // Judged and shown as a person sees it: turned upright, transparency on white.
        let image = evidence::upright(i.image, exif.orientation);
        let phash = evidence::dhash(&image);
        let (luma, sharpness) = evidence::quality(&image);
        let thumb = evidence::thumbnail(&image)?;
        Ok((i.sha256, i.width, i.height, exif, phash, luma, sharpness, thumb))
    })
    .await;
    drop(slot);
    let size = meta.size as i64;
    Ok(match examined {
        Ok(Ok((inspected_sha256, width, height, exif, phash, luma, sharpness, thumb))) => {
            Ok(Examined { size, inspected_sha256, width, height, exif, phash, luma, sharpness, thumb, bytes: kept })
        }
        Ok(Err(reason)) => Err(reason),
        Err(e) => return Err(AppError::Internal(e.into())),
    })
}

/// Records an examined photo, its audit event and the checks it triggers.
async fn record(
    ctx: &Ctx,
    state: &AppState,
    t: &photo_upload::Model,
    h: &household::Model,
    x: Examined,
    object_key: String,
    thumb_key: String,
) -> AppResult<photo::Model> {
    let now = ctx.now();
    let tx = Tx::begin(state, ctx.actor()?).await?;
    let txn = tx.conn();
    // The ticket is marked, not deleted: a phone resending a confirmation
    // whose answer it lost learns it went through (UPLOAD_CONFIRMED), and of
    // two confirmations at once only the first records a photo.
    let marked = photo_upload::Entity::update_many()
        .col_expr(photo_upload::Column::ConfirmedAt, sea_orm::sea_query::Expr::value(now))
        .filter(photo_upload::Column::Id.eq(t.id))
        .filter(photo_upload::Column::ConfirmedAt.is_null())
        .exec(txn)
        .await?;
    if marked.rows_affected != 1 {
        return Err(AppError::Conflict(msg!(UPLOAD_CONFIRMED)));
    }
    tx.track(h.campaign_id, h.id).await?;
    let v = verification::Entity::find()
        .filter(verification::Column::HouseholdId.eq(h.id))
        .filter(verification::Column::Practice.eq(t.practice))
        .one(txn)
        .await?;
    let p = photo::ActiveModel {
        id: Set(Uuid::new_v4()),
        household_id: Set(h.id),
        verification_id: Set(v.map(|v| v.id)),
        kind: Set(t.kind),
        object_key: Set(object_key),
        thumbnail_key: Set(Some(thumb_key)),
        content_type: Set(t.content_type.clone()),
        size_bytes: Set(x.size),
        sha256: Set(x.inspected_sha256),
        phash: Set(Some(x.phash)),
        width: Set(x.width as i32),
        height: Set(x.height as i32),
        taken_at: Set(x.exif.taken_at),
        latitude: Set(x.exif.latitude),
        longitude: Set(x.exif.longitude),
        practice: Set(t.practice),
        mean_luma: Set(Some(x.luma)),
        sharpness: Set(Some(x.sharpness)),
        uploaded_by: Set(t.requested_by),
        uploaded_at: Set(now),
    }
    .insert(txn)
    .await?;
    tx.audit(NewEvent {
        action: "PHOTO_ADDED",
        entity_type: "Photo",
        entity_id: Some(p.id),
        household_id: Some(h.id),
        region_id: h.village_id.or(Some(h.township_id)),
        before: None,
        after: Some(serde_json::json!({ "kind": p.kind.as_str(), "sha256": p.sha256, "practice": p.practice })),
    })
    .await?;
    let summary = checks::run(txn, h.campaign_id, &[h.id]).await?;
    checks::audit(txn, tx.actor(), &summary, None).await?;
    tx.commit(state).await?;
    Ok(p)
}
