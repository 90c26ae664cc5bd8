//! GraphQL for webhooks: endpoints, their deliveries, and the mutations.

use crate::{
    domain::webhooks::{self as service, create, deactivate, deliveries, list, redeliver},
    graphql::{ids, CtxExt},
};
use async_graphql::{ComplexObject, Context, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use entity::{webhook_delivery as delivery, webhook_endpoint as endpoint};

crate::graphql::enums::api_enum!(
    WebhookEvent <=> service::WebhookEvent {
        VerificationSubmitted,
        VerificationApproved,
        VerificationReturned,
        VerificationReopened,
        MilestoneAtRisk,
        MilestoneMissed,
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
    pub url: String,
    pub events: Vec<WebhookEvent>,
    pub active: bool,
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
    async fn id(&self) -> ID {
        ids::encode("Webhook", self.model.id)
    }
    /// Recent deliveries, newest first.
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
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
    pub event: String,
    /// PENDING, DELIVERED or FAILED (gave up after the last retry).
    pub status: String,
    pub attempts: i32,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
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
    pub secret: String,
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
        url: String,
        events: Vec<WebhookEvent>,
    ) -> async_graphql::Result<WebhookSecret> {
        let events: Vec<service::WebhookEvent> = events.into_iter().map(Into::into).collect();
        let (m, secret) = create(ctx.caller(), ctx.state(), &url, &events).await?;
        Ok(WebhookSecret { secret, webhook: m.into() })
    }

    /// Stops deliveries to an endpoint (ADMIN); pending ones are given up.
    async fn delete_webhook(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<WebhookNode> {
        Ok(deactivate(ctx.caller(), ctx.state(), ids::decode("Webhook", &id)?).await?.into())
    }

    /// Sends a delivery again (ADMIN), e.g. after the receiver was fixed.
    async fn redeliver_webhook(&self, ctx: &Context<'_>, delivery_id: ID) -> async_graphql::Result<DeliveryNode> {
        Ok(redeliver(ctx.caller(), ctx.state(), ids::decode("WebhookDelivery", &delivery_id)?).await?.into())
    }
}
