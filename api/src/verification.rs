//! Verification records and their photos as the API shows them. The workflow
//! (save, submit, approve, return, reopen) builds on these types.

use crate::{
    accounts::AccountNode,
    ids,
    types::{PhotoKind, SafetyPath, VerificationStatus},
};
use async_graphql::{Context, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use entity::{photo, verification};

/// A household's verification (核验) in a campaign.
pub struct VerificationNode(pub verification::Model);

/// Facts about the house as found on site.
#[derive(SimpleObject)]
pub struct HouseFacts {
    /// Structure, e.g. 砖混 (brick-concrete), 砖木 (brick-wood), 框架 (frame).
    pub structure: Option<String>,
    pub floors: Option<i32>,
    /// Floor area in square metres.
    pub floor_area: Option<f64>,
    pub year_built: Option<i32>,
    /// People living in the house.
    pub occupants: Option<i32>,
}

#[Object(name = "Verification")]
impl VerificationNode {
    async fn id(&self) -> ID {
        ids::encode("Verification", self.0.id)
    }
    async fn status(&self) -> VerificationStatus {
        self.0.status.into()
    }
    /// The safety path chosen by the verifier.
    async fn path(&self) -> Option<SafetyPath> {
        self.0.path.map(Into::into)
    }
    /// A practice entry (模拟录入): never counts in any figure.
    async fn practice(&self) -> bool {
        self.0.practice
    }
    /// Send it back with every change (optimistic locking).
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn house_facts(&self) -> HouseFacts {
        HouseFacts {
            structure: self.0.structure.clone(),
            floors: self.0.floors,
            floor_area: self.0.floor_area,
            year_built: self.0.year_built,
            occupants: self.0.occupants,
        }
    }
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }
    /// Who entered it (核验人).
    async fn verified_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<AccountNode>> {
        AccountNode::load(ctx, self.0.verified_by).await
    }
    /// Who approved it (核准).
    async fn approved_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<AccountNode>> {
        AccountNode::load(ctx, self.0.approved_by).await
    }
    /// When it was submitted (UTC).
    async fn submitted_at(&self) -> Option<DateTime<Utc>> {
        self.0.submitted_at
    }
    async fn approved_at(&self) -> Option<DateTime<Utc>> {
        self.0.approved_at
    }
    /// Why the township returned it, when it did.
    async fn return_reason(&self) -> Option<&str> {
        self.0.return_reason.as_deref()
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

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
    /// Capture time from EXIF (UTC), when the camera recorded one.
    async fn taken_at(&self) -> Option<DateTime<Utc>> {
        self.0.taken_at
    }
    /// GPS position from EXIF (WGS 84), when present.
    async fn latitude(&self) -> Option<f64> {
        self.0.latitude
    }
    async fn longitude(&self) -> Option<f64> {
        self.0.longitude
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
