//! Who may reach a root field, checked once before its resolver runs: every
//! query, mutation and subscription needs a signed-in viewer who has changed
//! the initial password, except signing in itself and the two fields an
//! account uses to change that password. Checking here, before arguments are
//! decoded, also makes "who are you" the first answer a caller gets.

use crate::domain::ctx::Ctx;
use async_graphql::{
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextResolve, ResolveInfo},
    PathSegment, ServerError, ServerResult, Value,
};
use std::sync::Arc;

/// Root fields anyone may call.
const PUBLIC: [&str; 3] = ["signIn", "refresh", "signOut"];
/// Root fields an account that must still change its initial password may call.
const BEFORE_PASSWORD_CHANGE: [&str; 2] = ["me", "changePassword"];

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
        let root = info.path_node.parent.is_none() && !info.is_for_introspection && !info.name.starts_with("__");
        if root && !PUBLIC.contains(&info.name) {
            if let Some(caller) = ctx.data_opt::<Ctx>() {
                let allowed = if BEFORE_PASSWORD_CHANGE.contains(&info.name) {
                    caller.viewer_pending_password().map(|_| ())
                } else {
                    caller.viewer().map(|_| ())
                };
                if let Err(e) = allowed {
                    let mut err: ServerError = async_graphql::Error::from(e).into_server_error(Default::default());
                    err.locations.clear();
                    err.path = vec![PathSegment::Field(info.alias.unwrap_or(info.name).to_owned())];
                    return Err(err);
                }
            }
        }
        next.run(ctx, info).await
    }
}
