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

/// A photo of a household's house (metadata; the image itself is in object storage).
#[Object(name = "Photo")]
impl PhotoNode {
    /// Global ID.
    async fn id(&self) -> ID {
        ids::encode("Photo", self.0.id)
    }
    /// What it shows, e.g. FRONT_PANORAMA (现住房正面全景照片).
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
    /// Taken for the practice entry (模拟录入); never counts.
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
    /// GPS longitude from EXIF, shown like `latitude`.
    async fn longitude(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<f64>> {
        let p = ctx.privacy()?;
        Ok(self.0.longitude.map(|c| p.coordinate(c)))
    }
    /// Pixel size.
    async fn width(&self) -> i32 {
        self.0.width
    }
    /// Pixel height.
    async fn height(&self) -> i32 {
        self.0.height
    }
    /// Size of the stored file in bytes.
    async fn size_bytes(&self) -> i64 {
        self.0.size_bytes
    }
    /// SHA-256 of the stored file, hex.
    async fn sha256(&self) -> &str {
        &self.0.sha256
    }
    /// The account that uploaded it.
    async fn uploaded_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<AccountNode>> {
        AccountNode::load(ctx, Some(self.0.uploaded_by)).await
    }
    /// When the upload was confirmed.
    async fn uploaded_at(&self) -> DateTime<Utc> {
        self.0.uploaded_at
    }
}

/// Where and how to send the photo's bytes.
#[derive(SimpleObject)]
pub struct PhotoUploadTicket {
    /// Ticket ID, for `confirmPhotoUpload`.
    pub id: ID,
    /// PUT the bytes here, with the same `Authorization` header and `Content-Type`.
    pub upload_url: String,
    /// HTTP method to use: PUT.
    pub method: String,
    /// The `Content-Type` to send, as requested.
    pub content_type: String,
    /// Largest body accepted, in bytes.
    pub max_bytes: i64,
    /// Confirm the upload before this time.
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
        #[graphql(desc = "The household the photo is of.")] household_id: ID,
        #[graphql(desc = "What the photo shows.")] kind: PhotoKind,
        #[graphql(desc = "image/jpeg, image/png or image/webp.")] content_type: String,
        #[graphql(desc = "File size in bytes, within the server's limit.")] size: i64,
        #[graphql(default = false, desc = "For the practice entry (模拟录入).")] practice: bool,
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
    async fn confirm_photo_upload(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "`PhotoUploadTicket.id` from `requestPhotoUpload`.")] ticket_id: ID,
    ) -> async_graphql::Result<PhotoNode> {
        let p = confirm(ctx.caller(), ctx.state(), ids::decode("PhotoUpload", &ticket_id)?).await?;
        Ok(PhotoNode(p))
    }
}
