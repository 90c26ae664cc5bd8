//! The one place errors get their `extensions.code`: domain errors by their
//! variant, engine errors (parse, validation, limits) by their kind.

use crate::domain::error::AppError;
use async_graphql::{
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextRequest},
    Response, ServerError, Value,
};
use std::sync::Arc;

/// The code an error without an `AppError` source gets: these come from the
/// GraphQL engine itself (parse, validation, limits, argument coercion).
fn engine_code(message: &str) -> &'static str {
    if message.contains("nested too deep") || message.contains("too complex") || message.contains("too many") {
        "QUERY_TOO_COMPLEX"
    } else {
        "VALIDATION"
    }
}

/// Gives every error in a response its `extensions.code`, in one place.
/// Internal details are logged here and replaced by a neutral message.
pub fn classify(err: &mut ServerError) {
    if err.extensions.as_ref().is_some_and(|e| e.get("code").is_some()) {
        return;
    }
    let mut ext = err.extensions.take().unwrap_or_default();
    let mut hide = false;
    let code = if let Some(app) = err.source::<AppError>() {
        match app {
            AppError::Internal(inner) => {
                tracing::error!(error = ?inner, path = ?err.path, "internal error");
                hide = true;
            }
            AppError::Validation { field: Some(f), .. } => ext.set("field", f.clone()),
            AppError::InvalidTransition { current, .. } => ext.set("currentState", current.clone()),
            AppError::Blocked { rules, .. } => ext.set("rules", rules.clone()),
            AppError::RateLimited { retry_after_secs } => ext.set("retryAfterSeconds", *retry_after_secs),
            _ => {}
        }
        app.code()
    } else if err.source.is_some() {
        tracing::error!(message = %err.message, path = ?err.path, "unclassified error");
        hide = true;
        "INTERNAL"
    } else {
        engine_code(&err.message)
    };
    if hide {
        err.message = "Internal error; it has been logged. Please try again later.".into();
    }
    ext.set("code", Value::String(code.into()));
    err.extensions = Some(ext);
}

pub struct ErrorCodes;

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

/// An error body for requests that never reached the GraphQL engine.
pub fn request_error_body(code: &str, message: &str) -> serde_json::Value {
    serde_json::json!({ "errors": [ { "message": message, "extensions": { "code": code } } ] })
}
