//! GraphQL for photos: the Photo object with its signed links, and the
//! upload mutations (ticket, then confirmation).

use crate::{
    domain::photos::{confirm, request_upload, url_for},
    graphql::{accounts::AccountNode, enums::PhotoKind, ids, CtxExt},
};
use async_graphql::{Context, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use entity::photo;

/// A photo's metadata; the image itself is in object storage.
pub struct PhotoNode(pub photo::Model);

#[Object(name = "Photo")]
impl PhotoNode {
    async fn id(&self) -> ID {
        ids::encode("Photo", self.0.id)
    }
    async fn kind(&self) -> PhotoKind {
        self.0.kind.into()
    }
    /// Short-lived link to the photo (10 minutes): presigned on S3, signed by
    /// the API otherwise. SUPERVISOR accounts and API tokens get the thumbnail:
    /// the original's EXIF holds the home's position.
    async fn url(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        let original = ctx.privacy()?.is_full();
        Ok(url_for(ctx.state(), &self.0, !original).await?)
    }
    /// Short-lived link to the 320 px thumbnail.
    async fn thumbnail_url(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        Ok(url_for(ctx.state(), &self.0, true).await?)
    }
    /// 64-bit perceptual hash (dHash), 16 hex digits, for near-duplicate checks.
    async fn perceptual_hash(&self) -> Option<String> {
        self.0.phash.map(|h| format!("{:016x}", h as u64))
    }
    /// Mean brightness 0–255 measured on acceptance.
    async fn brightness(&self) -> Option<f64> {
        self.0.mean_luma
    }
    /// Sharpness (variance of the Laplacian) measured on acceptance; low means blurred.
    async fn sharpness(&self) -> Option<f64> {
        self.0.sharpness
    }
    async fn practice(&self) -> bool {
        self.0.practice
    }
    /// Capture time from EXIF (UTC), when the camera recorded one.
    async fn taken_at(&self) -> Option<DateTime<Utc>> {
        self.0.taken_at
    }
    /// GPS position from EXIF (WGS 84), when present; rounded to 0.01° for
    /// SUPERVISOR accounts and API tokens.
    async fn latitude(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<f64>> {
        let p = ctx.privacy()?;
        Ok(self.0.latitude.map(|c| p.coordinate(c)))
    }
    async fn longitude(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<f64>> {
        let p = ctx.privacy()?;
        Ok(self.0.longitude.map(|c| p.coordinate(c)))
    }
    /// Pixel size.
    async fn width(&self) -> i32 {
        self.0.width
    }
    async fn height(&self) -> i32 {
        self.0.height
    }
    async fn size_bytes(&self) -> i64 {
        self.0.size_bytes
    }
    /// SHA-256 of the stored file, hex.
    async fn sha256(&self) -> &str {
        &self.0.sha256
    }
    async fn uploaded_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<AccountNode>> {
        AccountNode::load(ctx, Some(self.0.uploaded_by)).await
    }
    async fn uploaded_at(&self) -> DateTime<Utc> {
        self.0.uploaded_at
    }
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
        let u = request_upload(
            ctx.caller(),
            ctx.state(),
            ids::decode("Household", &household_id)?,
            kind.into(),
            &content_type,
            size,
            practice,
        )
        .await?;
        let t = u.ticket;
        Ok(PhotoUploadTicket {
            id: ids::encode("PhotoUpload", t.id),
            upload_url: u.upload_url,
            method: "PUT".into(),
            content_type: t.content_type,
            max_bytes: t.size_bytes,
            expires_at: t.expires_at,
        })
    }

    /// Validates the uploaded bytes (type sniffed, size, full decode within a
    /// pixel limit) and, only if they pass, records the photo.
    async fn confirm_photo_upload(&self, ctx: &Context<'_>, ticket_id: ID) -> async_graphql::Result<PhotoNode> {
        let p = confirm(ctx.caller(), ctx.state(), ids::decode("PhotoUpload", &ticket_id)?).await?;
        Ok(PhotoNode(p))
    }
}
