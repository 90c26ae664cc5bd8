//! Who may reach a root field, checked once before its resolver runs: every
//! query, mutation and subscription needs a signed-in viewer who has changed
//! the initial password, except signing in itself and the two fields an
//! account uses to change that password. Checking here, before arguments are
//! decoded, also makes "who are you" the first answer a caller gets.
//! API tokens (dashboards) are read-only: every mutation refuses them here,
//! signing in and out included, so no resolver can forget.

use crate::domain::{
    ctx::Ctx,
    error::{msg, AppError},
};
use async_graphql::{
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextResolve, ResolveInfo},
    PathSegment, ServerError, ServerResult, Value,
};
use std::sync::Arc;

/// Root fields anyone may call.
const PUBLIC: [&str; 3] = ["signIn", "refresh", "signOut"];
/// Root fields an account that must still change its initial password may call.
const BEFORE_PASSWORD_CHANGE: [&str; 2] = ["me", "changePassword"];

/// The name of the mutation root type in the schema.
const MUTATION: &str = "MutationRoot";

/// A refusal at the root field's path, without the document's locations.
fn refusal(e: AppError, info: &ResolveInfo<'_>) -> ServerError {
    let mut err: ServerError = async_graphql::Error::from(e).into_server_error(Default::default());
    err.locations.clear();
    err.path = vec![PathSegment::Field(info.alias.unwrap_or(info.name).to_owned())];
    err
}

pub struct SignedIn;

impl ExtensionFactory for SignedIn {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(SignedInExt)
    }
}

struct SignedInExt;

#[async_trait::async_trait]
impl Extension for SignedInExt {
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        // async-graphql hard-codes a generic schema description; ours is told here
        // (this hook runs for every field anyway, so it costs no extra layer).
        if info.parent_type == "__Schema" && info.name == "description" {
            return Ok(Some(Value::String(super::observe::SCHEMA_DESCRIPTION.to_owned())));
        }
        // The schema is for signed-in callers: an anonymous `__schema` gets the
        // same "sign in first" as any field, not a silent null (tools stall on it).
        if info.path_node.parent.is_none() && info.name == "__schema" {
            if let Some(Err(e)) = ctx.data_opt::<Ctx>().map(Ctx::viewer_pending_password) {
                return Err(refusal(e, &info));
            }
        }
        let root = info.path_node.parent.is_none() && !info.is_for_introspection && !info.name.starts_with("__");
        let token = ctx.data_opt::<Ctx>().and_then(|c| c.viewer.as_ref()).is_some_and(|v| v.is_api_token());
        if root && token && info.parent_type == MUTATION {
            let m = msg!(TOKEN_READ_ONLY, field = info.name);
            return Err(refusal(AppError::forbidden(m), &info));
        }
        if root && !PUBLIC.contains(&info.name) {
            if let Some(caller) = ctx.data_opt::<Ctx>() {
                let allowed = if BEFORE_PASSWORD_CHANGE.contains(&info.name) {
                    caller.viewer_pending_password().map(|_| ())
                } else {
                    caller.viewer().map(|_| ())
                };
                if let Err(e) = allowed {
                    return Err(refusal(e, &info));
                }
            }
        }
        next.run(ctx, info).await
    }
}
