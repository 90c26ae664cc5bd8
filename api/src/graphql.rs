//! Schema assembly: the root Query and Mutation merge each domain's parts;
//! per-request context (viewer, loaders); the one place errors get their codes.

use crate::{
    accounts::{AccountsMutation, AccountsQuery},
    auth::Viewer,
    error::{classify, AppError, AppResult},
    exports::ExportsMutation,
    households::HouseholdsQuery,
    imports::ImportsMutation,
    loaders::Loaders,
    lookback::{LookBackMutation, LookBackQuery},
    photos::PhotosMutation,
    progress::{ProgressBoardQuery, ProgressMutation, ProgressQuery, ProgressSubscription},
    regions::RegionsQuery,
    verification::{VerificationMutation, VerificationQuery},
    webhooks::{WebhooksMutation, WebhooksQuery},
    AppState,
};
use async_graphql::{
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextRequest},
    Context, MergedObject, MergedSubscription, Response, Schema,
};
use std::sync::Arc;

#[derive(MergedObject, Default)]
pub struct QueryRoot(
    RegionsQuery,
    HouseholdsQuery,
    VerificationQuery,
    LookBackQuery,
    ProgressQuery,
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
    ProgressMutation,
    AccountsMutation,
    ExportsMutation,
    WebhooksMutation,
);

#[derive(MergedSubscription, Default)]
pub struct SubscriptionRoot(ProgressSubscription);

pub type AppSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Everything one request knows about its caller.
#[derive(Clone, Debug, Default)]
pub struct RequestCtx {
    pub viewer: Option<Viewer>,
    /// Why a presented token was refused, told to the caller when they need a viewer.
    pub token_error: Option<String>,
    pub client_addr: Option<String>,
    /// The caller asked for English (`Accept-Language: en…`); Chinese otherwise.
    pub english: bool,
}

pub fn build_schema(state: Option<AppState>, max_depth: usize, max_complexity: usize, max_aliases: usize) -> AppSchema {
    let mut b = Schema::build(QueryRoot::default(), MutationRoot::default(), SubscriptionRoot::default())
        .limit_depth(max_depth)
        .limit_complexity(max_complexity)
        .extension(crate::limits::AliasLimit(max_aliases))
        // A span per resolver, for any `tracing` subscriber (OpenTelemetry included).
        .extension(async_graphql::extensions::Tracing)
        .extension(ErrorCodes);
    if let Some(s) = state {
        b = b.data(s);
    }
    b.finish()
}

/// The schema in SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    build_schema(None, 12, 20_000, 50).sdl()
}

pub trait CtxExt {
    fn state(&self) -> &AppState;
    fn req(&self) -> &RequestCtx;
    fn loaders(&self) -> &Loaders;
    /// The viewer, who must have changed an initial password.
    fn viewer(&self) -> AppResult<&Viewer>;
    /// The viewer, even one who still has to change the initial password.
    fn viewer_pending_password(&self) -> AppResult<&Viewer>;
}

impl CtxExt for Context<'_> {
    fn state(&self) -> &AppState {
        self.data_unchecked::<AppState>()
    }
    fn req(&self) -> &RequestCtx {
        self.data_unchecked::<RequestCtx>()
    }
    fn loaders(&self) -> &Loaders {
        self.data_unchecked::<Loaders>()
    }
    fn viewer(&self) -> AppResult<&Viewer> {
        let v = self.viewer_pending_password()?;
        if v.must_change_password {
            return Err(AppError::PasswordChangeRequired);
        }
        Ok(v)
    }
    fn viewer_pending_password(&self) -> AppResult<&Viewer> {
        let req = self.req();
        req.viewer.as_ref().ok_or_else(|| {
            AppError::Unauthenticated(match &req.token_error {
                Some(e) => format!("The access token was refused ({e}); refresh it or sign in again."),
                None => "Sign in first: send `Authorization: Bearer <token>`.".into(),
            })
        })
    }
}

struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodesExt)
    }
}

struct ErrorCodesExt;

#[async_trait::async_trait]
impl Extension for ErrorCodesExt {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut resp = next.run(ctx).await;
        for e in &mut resp.errors {
            classify(e);
        }
        resp
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: futures_util::stream::BoxStream<'s, Response>,
        next: async_graphql::extensions::NextSubscribe<'_>,
    ) -> futures_util::stream::BoxStream<'s, Response> {
        use futures_util::StreamExt;
        next.run(ctx, stream)
            .map(|mut r| {
                for e in &mut r.errors {
                    classify(e);
                }
                r
            })
            .boxed()
    }
}
