//! GraphQL for webhooks: endpoints, their deliveries, and the mutations.

use crate::{
    domain::webhooks::{self as service, create, deactivate, deliveries, list, redeliver},
    graphql::{ids, CtxExt},
};
use async_graphql::{ComplexObject, Context, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use entity::{webhook_delivery as delivery, webhook_endpoint as endpoint};

crate::graphql::enums::api_enum!(
    /// An event a webhook endpoint can be sent.
    WebhookEvent <=> service::WebhookEvent {
        /// A verification was submitted for review (待审核).
        VerificationSubmitted,
        /// A verification was approved (核准).
        VerificationApproved,
        /// A verification was returned to its verifier (已退回).
        VerificationReturned,
        /// An approved verification was reopened in the look-back review (回头看).
        VerificationReopened,
        /// A milestone fell behind the pace needed to finish on time.
        MilestoneAtRisk,
        /// A milestone ended without reaching its target.
        MilestoneMissed,
        /// A reference file was imported.
        ImportDone,
    }
);

// ------------------------------------------------------------------ GraphQL

/// A registered endpoint.
#[derive(SimpleObject)]
#[graphql(name = "Webhook", complex)]
pub struct WebhookNode {
    #[graphql(skip)]
    pub model: endpoint::Model,
    /// The HTTPS address deliveries are POSTed to.
    pub url: String,
    /// The events it is sent.
    pub events: Vec<WebhookEvent>,
    /// False once deleted: nothing more is sent.
    pub active: bool,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
}

impl From<endpoint::Model> for WebhookNode {
    fn from(m: endpoint::Model) -> Self {
        Self {
            url: m.url.clone(),
            events: m.events.split(',').filter_map(service::WebhookEvent::parse).map(Into::into).collect(),
            active: m.active,
            created_at: m.created_at,
            model: m,
        }
    }
}

#[ComplexObject]
impl WebhookNode {
    /// Global ID.
    async fn id(&self) -> ID {
        ids::encode("Webhook", self.model.id)
    }
    /// Recent deliveries, newest first.
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20, desc = "How many at most (up to 200).")] first: i32,
    ) -> async_graphql::Result<Vec<DeliveryNode>> {
        let rows = deliveries(&ctx.state().db, self.model.id, first).await?;
        Ok(rows.into_iter().map(DeliveryNode::from).collect())
    }
}

/// One event sent (or being sent) to one endpoint.
#[derive(SimpleObject)]
#[graphql(name = "WebhookDelivery", complex)]
pub struct DeliveryNode {
    #[graphql(skip)]
    pub model: delivery::Model,
    /// The event's name, e.g. VERIFICATION_APPROVED.
    pub event: String,
    /// PENDING, DELIVERED or FAILED (gave up after the last retry).
    pub status: String,
    /// Attempts made so far.
    pub attempts: i32,
    /// HTTP status of the last attempt, when there was an answer.
    pub last_status: Option<i32>,
    /// What went wrong on the last attempt; null after a success.
    pub last_error: Option<String>,
    /// When the next attempt is due (while PENDING).
    pub next_attempt_at: DateTime<Utc>,
    /// When the event was queued.
    pub created_at: DateTime<Utc>,
    /// When the receiver accepted it.
    pub delivered_at: Option<DateTime<Utc>>,
}

impl From<delivery::Model> for DeliveryNode {
    fn from(m: delivery::Model) -> Self {
        Self {
            event: m.event.clone(),
            status: m.status.clone(),
            attempts: m.attempts,
            last_status: m.last_status,
            last_error: m.last_error.clone(),
            next_attempt_at: m.next_attempt_at,
            created_at: m.created_at,
            delivered_at: m.delivered_at,
            model: m,
        }
    }
}

#[ComplexObject]
impl DeliveryNode {
    /// Global ID.
    async fn id(&self) -> ID {
        ids::encode("WebhookDelivery", self.model.id)
    }
    /// The body as sent (and signed).
    async fn payload(&self) -> String {
        self.model.payload.clone()
    }
}

/// A new endpoint and its signing secret, shown only here.
#[derive(SimpleObject)]
pub struct WebhookSecret {
    /// The signing secret (`whsec_<base64>`, Standard Webhooks): each delivery carries `webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>`; shown only here.
    pub secret: String,
    /// The new endpoint.
    pub webhook: WebhookNode,
}
#[derive(Default)]
pub struct WebhooksQuery;

#[Object]
impl WebhooksQuery {
    /// Webhook endpoints of the viewer's county (ADMIN).
    async fn webhooks(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<WebhookNode>> {
        Ok(list(ctx.caller(), ctx.state()).await?.into_iter().map(WebhookNode::from).collect())
    }
}

#[derive(Default)]
pub struct WebhooksMutation;

#[Object]
impl WebhooksMutation {
    /// Registers an endpoint for events of the viewer's county (ADMIN). HTTPS
    /// and public addresses only (unless the server allows otherwise). The
    /// secret that signs deliveries is shown only in this answer.
    async fn create_webhook(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The HTTPS address to POST deliveries to.")] url: String,
        #[graphql(desc = "The events to send.")] events: Vec<WebhookEvent>,
    ) -> async_graphql::Result<WebhookSecret> {
        let events: Vec<service::WebhookEvent> = events.into_iter().map(Into::into).collect();
        let (m, secret) = create(ctx.caller(), ctx.state(), &url, &events).await?;
        Ok(WebhookSecret { secret, webhook: m.into() })
    }

    /// Stops deliveries to an endpoint (ADMIN); pending ones are given up.
    async fn delete_webhook(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The endpoint to stop.")] id: ID,
    ) -> async_graphql::Result<WebhookNode> {
        Ok(deactivate(ctx.caller(), ctx.state(), ids::decode("Webhook", &id)?).await?.into())
    }

    /// Sends a delivery again (ADMIN), e.g. after the receiver was fixed.
    async fn redeliver_webhook(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The delivery to send again.")] delivery_id: ID,
    ) -> async_graphql::Result<DeliveryNode> {
        Ok(redeliver(ctx.caller(), ctx.state(), ids::decode("WebhookDelivery", &delivery_id)?).await?.into())
    }
}
