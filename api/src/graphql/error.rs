//! The one place errors get their `extensions.code`: domain errors by their
//! variant, engine errors (parse, validation, limits) by their kind.

use crate::domain::{ctx::Ctx, error::msg, error::AppError};
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

/// Gives every error in a response its `extensions.code`, in one place, and
/// its message in the caller's language with the catalogue key as
/// `extensions.reason` (and `extensions.args`). Internal details are logged
/// here and replaced by a neutral message.
pub fn classify(err: &mut ServerError, english: bool) {
    if err.extensions.as_ref().is_some_and(|e| e.get("code").is_some()) {
        return;
    }
    let mut ext = err.extensions.take().unwrap_or_default();
    let mut hide = false;
    let mut message = None;
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
            AppError::Unavailable => ext.set("retryAfterSeconds", crate::domain::error::UNAVAILABLE_RETRY_SECS),
            _ => {}
        }
        if let Some(m) = app.msg() {
            message = Some(m.render(english));
            ext.set("reason", m.key);
            if !m.args.is_empty() {
                let args: async_graphql::indexmap::IndexMap<async_graphql::Name, Value> =
                    m.args(english).into_iter().map(|(n, v)| (async_graphql::Name::new(n), Value::String(v))).collect();
                ext.set("args", Value::Object(args));
            }
        }
        app.code()
    } else if err.source.is_some() {
        tracing::error!(message = %err.message, path = ?err.path, "unclassified error");
        hide = true;
        "INTERNAL"
    } else {
        if let Some(m) = syntax_error(&err.message) {
            ext.set("reason", m.key);
            message = Some(m.render(english));
        }
        engine_code(&err.message)
    };
    if let Some(m) = message {
        err.message = m;
    }
    if hide {
        err.message = msg!(INTERNAL).render(english);
    }
    ext.set("code", Value::String(code.into()));
    err.extensions = Some(ext);
}

/// The parser's report (` --> 1:14`, the whole source line, a caret, and
/// `= expected …`) as one short sentence: the report repeats the line, which
/// for a one-line document of 10 KB made a 10 KB message.
fn syntax_error(message: &str) -> Option<crate::domain::error::Msg> {
    let at = message.trim_start().strip_prefix("--> ")?.lines().next()?;
    let (line, column) = at.trim().split_once(':')?;
    let expected = message.lines().find_map(|l| l.trim().strip_prefix("= "))?;
    let expected: String = expected.trim_start_matches("expected ").chars().take(200).collect();
    Some(msg!(SYNTAX_ERROR, line = line.to_owned(), column = column.to_owned(), expected = expected))
}

pub struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodesExt::default())
    }
}

/// Per request: the caller's language, read from the request's `Ctx` while it
/// is prepared (the request hook itself cannot see request data).
#[derive(Default)]
struct ErrorCodesExt {
    english: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl Extension for ErrorCodesExt {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: async_graphql::Request,
        next: async_graphql::extensions::NextPrepareRequest<'_>,
    ) -> async_graphql::ServerResult<async_graphql::Request> {
        let english = request
            .data
            .get(&std::any::TypeId::of::<Ctx>())
            .and_then(|d| d.downcast_ref::<Ctx>())
            .is_some_and(Ctx::english);
        self.english.store(english, std::sync::atomic::Ordering::Relaxed);
        next.run(ctx, request).await
    }

    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut resp = next.run(ctx).await;
        let english =
            self.english.load(std::sync::atomic::Ordering::Relaxed) || ctx.data_opt::<Ctx>().is_some_and(Ctx::english);
        for e in &mut resp.errors {
            classify(e, english);
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
        let english = ctx.data_opt::<Ctx>().is_some_and(Ctx::english);
        next.run(ctx, stream)
            .map(move |mut r| {
                for e in &mut r.errors {
                    classify(e, english);
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

/// The same body for a domain error, in the caller's language.
pub fn app_error_body(e: &AppError, english: bool) -> serde_json::Value {
    let mut ext = serde_json::json!({ "code": e.code() });
    if let Some(m) = e.msg() {
        ext["reason"] = m.key.into();
    }
    serde_json::json!({ "errors": [ { "message": e.message(english), "extensions": ext } ] })
}
