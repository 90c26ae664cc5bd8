//! Publishing an export: the file goes to the object store under `exports/`,
//! the caller gets an expiring link (presigned on S3, HMAC-signed to the API
//! otherwise), and files older than a day are swept.

use super::LINK_SECONDS;
use crate::domain::error::{key, msg};
use crate::{
    domain::{
        audit,
        error::{AppError, AppResult},
    },
    AppState,
};
use object_store::{path::Path as ObjectPath, ObjectStoreExt, PutPayload};
use uuid::Uuid;

/// Streams a finished file into the object store in 8 MB parts.
pub(super) async fn put_file(state: &AppState, key: &str, file: &std::path::Path) -> AppResult<()> {
    use tokio::io::AsyncReadExt;
    let internal = |e: std::io::Error| AppError::Internal(e.into());
    let mut f = tokio::fs::File::open(file).await.map_err(internal)?;
    state.storage.note("put");
    let mut upload =
        state.storage.store.put_multipart(&ObjectPath::from(key)).await.map_err(|e| AppError::Internal(e.into()))?;
    let mut buf = vec![0u8; 8 << 20];
    loop {
        let mut n = 0;
        while n < buf.len() {
            let m = f.read(&mut buf[n..]).await.map_err(internal)?;
            if m == 0 {
                break;
            }
            n += m;
        }
        if n == 0 {
            break;
        }
        if let Err(e) = upload.put_part(PutPayload::from(buf[..n].to_vec())).await {
            let _ = upload.abort().await;
            return Err(AppError::Internal(e.into()));
        }
        if n < buf.len() {
            break;
        }
    }
    upload.complete().await.map_err(|e| AppError::Internal(e.into()))?;
    Ok(())
}

/// Presigned on S3; an HMAC-signed link to the API on the local store.
pub(super) async fn link(state: &AppState, id: Uuid, ext: &str, file_name: &str) -> AppResult<String> {
    let key = format!("exports/{id}.{ext}");
    let ttl = std::time::Duration::from_secs(LINK_SECONDS as u64);
    if let Some(u) = state.storage.presigned_get(&key, ttl).await.map_err(AppError::Internal)? {
        return Ok(u);
    }
    let exp = audit::now().timestamp() + LINK_SECONDS;
    let name = urlencode(file_name);
    let sig = state.jwt.mac(&format!("export|{id}.{ext}|{exp}|{file_name}"));
    Ok(format!("{}/exports/{id}.{ext}?exp={exp}&name={name}&sig={sig}", state.cfg.public_url.trim_end_matches('/')))
}

/// Percent-encodes all but unreserved ASCII (for a file name in a URL or header).
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The bytes behind a link from `link`: its signature and expiry are the permission.
pub async fn serve(state: &AppState, file: &str, exp: i64, name: &str, sig: &str) -> AppResult<bytes::Bytes> {
    if !state.jwt.verify_mac(&format!("export|{file}|{exp}|{name}"), sig) {
        return Err(AppError::forbidden(msg!(EXPORT_LINK_INVALID)));
    }
    if exp < audit::now().timestamp() {
        return Err(AppError::forbidden(msg!(EXPORT_LINK_EXPIRED)));
    }
    state.storage.note("get");
    let bytes = state
        .storage
        .store
        .get(&ObjectPath::from(format!("exports/{file}")))
        .await
        .map_err(|e| match e {
            object_store::Error::NotFound { .. } => AppError::not_found(key::THING_EXPORT),
            e => AppError::Internal(e.into()),
        })?
        .bytes()
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(bytes)
}

/// Deletes exports older than a day (links live ten minutes; a day covers retries).
pub async fn sweep(state: &AppState) -> anyhow::Result<usize> {
    use futures_util::StreamExt;
    let cutoff = audit::now() - chrono::Duration::days(1);
    let mut old = Vec::new();
    let mut list = state.storage.store.list(Some(&ObjectPath::from("exports")));
    while let Some(m) = list.next().await {
        let m = m?;
        if m.last_modified < cutoff {
            old.push(m.location);
        }
    }
    for p in &old {
        state.storage.note("delete");
        state.storage.store.delete(p).await?;
    }
    Ok(old.len())
}
