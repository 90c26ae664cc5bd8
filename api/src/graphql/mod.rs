//! Schema assembly: the root Query and Mutation merge each domain's parts;
//! per-request context (viewer, loaders); the one place errors get their codes.

use crate::{
    domain::{auth::Viewer, ctx::Ctx, error::AppResult},
    AppState,
};
use async_graphql::{Context, MergedObject, MergedSubscription, Schema};
use std::sync::Arc;

pub mod accounts;
pub mod campaigns;
pub mod cost;
pub mod enums;
pub mod error;
pub mod exports;
pub mod findings;
pub mod guard;
pub mod households;
pub mod ids;
pub mod imports;
pub mod loaders;
pub mod lookback;
pub mod nested;
pub mod photos;
pub mod progress;
pub mod regions;
mod spans;
pub mod subscription;
pub mod verification;
pub mod webhooks;

use accounts::{AccountsMutation, AccountsQuery};
use campaigns::{CampaignsMutation, CampaignsQuery};
use exports::ExportsMutation;
use findings::FindingsQuery;
use households::HouseholdsQuery;
use imports::ImportsMutation;
use loaders::Loaders;
use lookback::{LookBackMutation, LookBackQuery};
use photos::PhotosMutation;
use progress::ProgressBoardQuery;
use regions::RegionsQuery;
use subscription::ProgressSubscription;
use verification::VerificationMutation;
use webhooks::{WebhooksMutation, WebhooksQuery};

use error::ErrorCodes;

#[derive(MergedObject, Default)]
pub struct QueryRoot(
    RegionsQuery,
    HouseholdsQuery,
    FindingsQuery,
    LookBackQuery,
    CampaignsQuery,
    ProgressBoardQuery,
    AccountsQuery,
    WebhooksQuery,
);

#[derive(MergedObject, Default)]
pub struct MutationRoot(
    VerificationMutation,
    PhotosMutation,
    ImportsMutation,
    LookBackMutation,
    CampaignsMutation,
    AccountsMutation,
    ExportsMutation,
    WebhooksMutation,
);

#[derive(MergedSubscription, Default)]
pub struct SubscriptionRoot(ProgressSubscription);

pub type AppSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

fn bare_schema() -> async_graphql::SchemaBuilder<QueryRoot, MutationRoot, SubscriptionRoot> {
    Schema::build(QueryRoot::default(), MutationRoot::default(), SubscriptionRoot::default())
}

pub fn build_schema(state: Option<AppState>, limits: cost::Limits) -> AppSchema {
    // The cost model reads list sizes off the schema's own SDL.
    let types = Arc::new(cost::Types::from_sdl(&bare_schema().finish().sdl()));
    let bounds = Arc::new(cost::Bounds::default());
    let mut b = bare_schema()
        .extension(cost::QueryCost { types, bounds, limits })
        // A span per resolver, for any `tracing` subscriber (OpenTelemetry included).
        .extension(spans::Spans)
        .extension(guard::SignedIn)
        .extension(ErrorCodes);
    if let Some(s) = state {
        b = b.data(s);
    }
    b.finish()
}

/// The schema in SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    bare_schema().finish().sdl()
}

/// What resolvers pull from the GraphQL context: the shared state, the
/// caller's `Ctx` (put there by the HTTP layer) and the per-request loaders.
pub trait CtxExt {
    fn state(&self) -> &AppState;
    fn caller(&self) -> &Ctx;
    fn loaders(&self) -> &Loaders;
    /// The viewer, who must have changed an initial password.
    fn viewer(&self) -> AppResult<&Viewer>;
    /// The viewer, even one who still has to change the initial password.
    fn viewer_pending_password(&self) -> AppResult<&Viewer>;
    /// How much personal data the viewer may see (the one rule, `domain::privacy`).
    fn privacy(&self) -> AppResult<crate::domain::privacy::Privacy> {
        self.viewer().map(crate::domain::privacy::Privacy::of)
    }
}

impl CtxExt for Context<'_> {
    fn state(&self) -> &AppState {
        self.data_unchecked::<AppState>()
    }
    fn caller(&self) -> &Ctx {
        self.data_unchecked::<Ctx>()
    }
    fn loaders(&self) -> &Loaders {
        self.data_unchecked::<Loaders>()
    }
    fn viewer(&self) -> AppResult<&Viewer> {
        self.caller().viewer()
    }
    fn viewer_pending_password(&self) -> AppResult<&Viewer> {
        self.caller().viewer_pending_password()
    }
}
