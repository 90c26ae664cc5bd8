//! Photos: upload tickets, the streamed upload, validation on confirmation.
//! A photo row exists only for an object that passed validation; a refused
//! upload leaves neither row nor object.

use crate::{
    audit::{self, Actor, NewEvent},
    auth::Viewer,
    checks,
    error::{AppError, AppResult},
    graphql::CtxExt,
    households, ids,
    types::PhotoKind,
    verification::PhotoNode,
    AppState,
};
use async_graphql::{Context, Object, SimpleObject, ID};
use chrono::{DateTime, Duration, Utc};
use entity::{photo, photo_upload, verification, Role};
use futures_util::StreamExt;
use object_store::{path::Path as ObjectPath, ObjectStoreExt, PutPayload};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Decoding is refused above this many pixels (decompression bombs).
pub const MAX_PIXELS: u64 = 50_000_000;
pub const TICKET_MINUTES: i64 = 15;

fn extension(content_type: &str) -> Option<&'static str> {
    match content_type {
        "image/jpeg" => Some("jpg"),
        "image/png" => Some("png"),
        "image/webp" => Some("webp"),
        _ => None,
    }
}

pub async fn request_upload(
    state: &AppState,
    viewer: &Viewer,
    household_id: Uuid,
    kind: entity::PhotoKind,
    content_type: &str,
    size: i64,
    practice: bool,
) -> AppResult<photo_upload::Model> {
    viewer.require_role(&[Role::Verifier], "upload photos")?;
    let h = households::get(&state.db, viewer, household_id).await?;
    let ext = extension(content_type)
        .ok_or_else(|| AppError::validation("contentType", "Photos must be JPEG, PNG or WebP."))?;
    let max = state.cfg.max_photo_bytes;
    if !(1..=max).contains(&size) {
        return Err(AppError::validation("size", format!("A photo must be 1 byte to {} MB.", max / 1024 / 1024)));
    }
    let now = audit::now();
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
    photo_upload::ActiveModel::from(ticket.clone()).insert(&state.db).await?;
    Ok(ticket)
}

/// A ticket the viewer may use now.
async fn usable_ticket(state: &AppState, viewer: &Viewer, id: Uuid) -> AppResult<photo_upload::Model> {
    let t = photo_upload::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::not_found("upload ticket"))?;
    if Some(t.requested_by) != viewer.account_id() {
        return Err(AppError::not_found("upload ticket"));
    }
    if t.confirmed_at.is_some() {
        return Err(AppError::Conflict("This upload was already confirmed.".into()));
    }
    if t.expires_at <= audit::now() {
        return Err(AppError::validation("ticketId", "The upload ticket has expired; ask for a new one."));
    }
    Ok(t)
}

/// Streams an upload body into storage, chunk by chunk, refusing it as soon
/// as it exceeds the size granted by the ticket.
pub async fn receive(
    state: &AppState,
    viewer: &Viewer,
    ticket_id: Uuid,
    content_type: Option<&str>,
    body: axum::body::Body,
) -> AppResult<i64> {
    let t = usable_ticket(state, viewer, ticket_id).await?;
    if content_type != Some(t.content_type.as_str()) {
        return Err(AppError::validation(
            "contentType",
            format!("Send the body as {}, as the ticket says.", t.content_type),
        ));
    }
    let path = ObjectPath::from(t.object_key.as_str());
    state.storage.note("put");
    let mut upload = state.storage.store.put_multipart(&path).await.map_err(|e| AppError::Internal(e.into()))?;
    let mut stream = body.into_data_stream();
    let mut total: i64 = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(_) => {
                let _ = upload.abort().await;
                return Err(AppError::validation("body", "The upload was interrupted; try again."));
            }
        };
        total += chunk.len() as i64;
        if total > t.size_bytes {
            let _ = upload.abort().await;
            return Err(AppError::validation(
                "body",
                format!("The body is larger than the {} bytes granted.", t.size_bytes),
            ));
        }
        if let Err(e) = upload.put_part(PutPayload::from_bytes(chunk)).await {
            let _ = upload.abort().await;
            return Err(AppError::Internal(e.into()));
        }
    }
    upload.complete().await.map_err(|e| AppError::Internal(e.into()))?;
    Ok(total)
}

/// What validation learned about an accepted image.
pub struct Inspected {
    pub sha256: String,
    pub width: u32,
    pub height: u32,
    pub image: image::DynamicImage,
}

/// Sniffs, bounds and fully decodes the bytes; anything else is refused.
pub fn inspect(bytes: &[u8], declared: &str) -> Result<Inspected, String> {
    let format = image::guess_format(bytes).map_err(|_| "not an image (JPEG, PNG or WebP)".to_string())?;
    let actual = match format {
        image::ImageFormat::Jpeg => "image/jpeg",
        image::ImageFormat::Png => "image/png",
        image::ImageFormat::WebP => "image/webp",
        _ => return Err("only JPEG, PNG and WebP photos are accepted".into()),
    };
    if actual != declared {
        return Err(format!("the file is {actual}, not {declared} as declared"));
    }
    // Decoders fill a cut-off JPEG with grey; a complete one ends with the EOI marker.
    if format == image::ImageFormat::Jpeg {
        let end = bytes.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
        if end < 2 || bytes[end - 2..end] != [0xFF, 0xD9] {
            return Err("the JPEG is truncated (it has no end marker)".into());
        }
    }
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes));
    reader.set_format(format);
    let (w, h) = reader.into_dimensions().map_err(|e| format!("unreadable image: {e}"))?;
    if (w as u64) * (h as u64) > MAX_PIXELS {
        return Err(format!("{w}×{h} pixels is more than the {} megapixels allowed", MAX_PIXELS / 1_000_000));
    }
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes));
    reader.set_format(format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(w);
    limits.max_image_height = Some(h);
    limits.max_alloc = Some(MAX_PIXELS * 4 + 1024 * 1024);
    reader.limits(limits);
    let image = reader.decode().map_err(|e| format!("the image is damaged or truncated: {e}"))?;
    Ok(Inspected { sha256: hex::encode(Sha256::digest(bytes)), width: w, height: h, image })
}

pub async fn confirm(
    state: &AppState,
    viewer: &Viewer,
    ticket_id: Uuid,
    client_addr: Option<String>,
) -> AppResult<photo::Model> {
    viewer.require_role(&[Role::Verifier], "upload photos")?;
    let t = usable_ticket(state, viewer, ticket_id).await?;
    let h = households::get(&state.db, viewer, t.household_id).await?;
    let path = ObjectPath::from(t.object_key.as_str());
    let store = &state.storage.store;
    let refuse = |reason: String| async move {
        // Nothing is kept of a refused upload.
        state.storage.note("delete");
        let _ = store.delete(&path).await;
        let _ = photo_upload::Entity::delete_by_id(t.id).exec(&state.db).await;
        Err(AppError::validation("ticketId", format!("The photo was refused: {reason}.")))
    };
    // Reading and decoding take memory in proportion to the photo: a few at a
    // time, whatever the burst, so memory stays bounded (docs/benchmarks.md).
    let slot = state.photo_slots.acquire().await.map_err(|e| AppError::Internal(e.into()))?;
    state.storage.note("head");
    let meta = match store.head(&ObjectPath::from(t.object_key.as_str())).await {
        Ok(m) => m,
        Err(object_store::Error::NotFound { .. }) => {
            return Err(AppError::validation("ticketId", "Nothing was uploaded for this ticket yet."))
        }
        Err(e) => return Err(AppError::Internal(e.into())),
    };
    // Exactly the size asked for: a presigned S3 PUT cannot bind the length itself.
    if meta.size as i64 != t.size_bytes || meta.size as i64 > state.cfg.max_photo_bytes {
        return refuse(format!("{} bytes were uploaded, {} were granted", meta.size, t.size_bytes)).await;
    }
    let bytes = store
        .get(&ObjectPath::from(t.object_key.as_str()))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .bytes()
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let ct = t.content_type.clone();
    let campaign = entity::campaign::Entity::find_by_id(h.campaign_id).one(&state.db).await?;
    let tz: chrono_tz::Tz =
        campaign.map(|c| c.time_zone).and_then(|z| z.parse().ok()).unwrap_or(chrono_tz::Asia::Shanghai);
    let examined = tokio::task::spawn_blocking(move || -> Result<_, String> {
        let i = inspect(&bytes, &ct)?;
        let exif = crate::evidence::read_exif(&bytes, tz);
        let phash = crate::evidence::dhash(&i.image);
        let (luma, sharpness) = crate::evidence::quality(&i.image);
        let thumb = crate::evidence::thumbnail(&i.image)?;
        Ok((i.sha256, i.width, i.height, exif, phash, luma, sharpness, thumb))
    })
    .await;
    drop(slot);
    let (sha256, width, height, exif, phash, luma, sharpness, thumb) = match examined {
        Ok(Ok(x)) => x,
        Ok(Err(reason)) => return refuse(reason).await,
        Err(e) => return Err(AppError::Internal(e.into())),
    };
    // The thumbnail is stored before the row, so a row never points at nothing.
    let thumb_key = format!("{}.thumb.jpg", t.object_key);
    store
        .put(&ObjectPath::from(thumb_key.as_str()), PutPayload::from(thumb))
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let now = audit::now();
    let (_w, txn) = state.begin().await?;
    let tracker = crate::counters::track(&txn, h.campaign_id, h.id).await?;
    let v = verification::Entity::find()
        .filter(verification::Column::HouseholdId.eq(h.id))
        .filter(verification::Column::Practice.eq(t.practice))
        .one(&txn)
        .await?;
    let p = photo::ActiveModel {
        id: Set(Uuid::new_v4()),
        household_id: Set(h.id),
        verification_id: Set(v.map(|v| v.id)),
        kind: Set(t.kind),
        object_key: Set(t.object_key.clone()),
        thumbnail_key: Set(Some(thumb_key)),
        content_type: Set(t.content_type.clone()),
        size_bytes: Set(meta.size as i64),
        sha256: Set(sha256),
        phash: Set(Some(phash)),
        width: Set(width as i32),
        height: Set(height as i32),
        taken_at: Set(exif.taken_at),
        latitude: Set(exif.latitude),
        longitude: Set(exif.longitude),
        practice: Set(t.practice),
        mean_luma: Set(Some(luma)),
        sharpness: Set(Some(sharpness)),
        uploaded_by: Set(t.requested_by),
        uploaded_at: Set(now),
    }
    .insert(&txn)
    .await?;
    photo_upload::Entity::delete_by_id(t.id).exec(&txn).await?;
    audit::append(
        &txn,
        &Actor::of(viewer, client_addr.clone()),
        NewEvent {
            action: "PHOTO_ADDED",
            entity_type: "Photo",
            entity_id: Some(p.id),
            household_id: Some(h.id),
            region_id: h.village_id.or(Some(h.township_id)),
            before: None,
            after: Some(serde_json::json!({ "kind": p.kind.as_str(), "sha256": p.sha256, "practice": p.practice })),
        },
    )
    .await?;
    let summary = checks::run(&txn, h.campaign_id, &[h.id]).await?;
    checks::audit(&txn, &Actor::of(viewer, client_addr), &summary, None).await?;
    tracker.commit(state, txn).await?;
    Ok(p)
}

/// Where and how to send the photo's bytes.
#[derive(SimpleObject)]
pub struct PhotoUploadTicket {
    pub id: ID,
    /// PUT the bytes here, with the same `Authorization` header and `Content-Type`.
    pub upload_url: String,
    pub method: String,
    pub content_type: String,
    /// Largest body accepted, in bytes.
    pub max_bytes: i64,
    pub expires_at: DateTime<Utc>,
}

#[derive(Default)]
pub struct PhotosMutation;

#[Object]
impl PhotosMutation {
    /// Asks to upload a photo of a household (VERIFIER). Then PUT the bytes to
    /// `uploadUrl` and call `confirmPhotoUpload`.
    async fn request_photo_upload(
        &self,
        ctx: &Context<'_>,
        household_id: ID,
        kind: PhotoKind,
        content_type: String,
        size: i64,
        #[graphql(default = false)] practice: bool,
    ) -> async_graphql::Result<PhotoUploadTicket> {
        let viewer = ctx.viewer()?;
        let state = ctx.state();
        let t = request_upload(
            state,
            viewer,
            ids::decode("Household", &household_id)?,
            kind.into(),
            &content_type,
            size,
            practice,
        )
        .await?;
        let ttl = std::time::Duration::from_secs(TICKET_MINUTES as u64 * 60);
        let presigned =
            state.storage.presigned_put(&t.object_key, &t.content_type, ttl).await.map_err(AppError::Internal)?;
        Ok(PhotoUploadTicket {
            id: ids::encode("PhotoUpload", t.id),
            // S3: straight to the bucket, signed for this key, type and length. Local: through the API.
            upload_url: presigned
                .unwrap_or_else(|| format!("{}/uploads/{}", state.cfg.public_url.trim_end_matches('/'), t.id)),
            method: "PUT".into(),
            content_type: t.content_type,
            max_bytes: t.size_bytes,
            expires_at: t.expires_at,
        })
    }

    /// Validates the uploaded bytes (type sniffed, size, full decode within a
    /// pixel limit) and, only if they pass, records the photo.
    async fn confirm_photo_upload(&self, ctx: &Context<'_>, ticket_id: ID) -> async_graphql::Result<PhotoNode> {
        let viewer = ctx.viewer()?;
        let p = confirm(ctx.state(), viewer, ids::decode("PhotoUpload", &ticket_id)?, ctx.req().client_addr.clone())
            .await?;
        Ok(PhotoNode(p))
    }
}

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
        photo_upload::Entity::delete_by_id(t.id).exec(&state.db).await?;
    }
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
            match crate::exports::sweep(&state).await {
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
        return Err(AppError::forbidden("This photo link is not valid."));
    }
    if exp < audit::now().timestamp() {
        return Err(AppError::forbidden("This photo link has expired; reload the page for a new one."));
    }
    let p = photo::Entity::find_by_id(id).one(&state.db).await?.ok_or_else(|| AppError::not_found("photo"))?;
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
        .map_err(|e| AppError::Internal(e.into()))?
        .bytes()
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok((ct, bytes))
}
