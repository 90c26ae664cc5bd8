//! Tracing spans for GraphQL requests, for OpenTelemetry: request, parse,
//! validation, execute and object fields, named by operation and path only.
//! async-graphql's own `Tracing` extension recorded the whole query with its
//! variables filled in, so passwords and refresh tokens went to the collector.

use async_graphql::{
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextRequest, NextResolve,
        NextValidation, ResolveInfo,
    },
    parser::types::ExecutableDocument,
    Response, ServerError, ServerResult, ValidationResult, Value, Variables,
};
use std::sync::Arc;
use tracing::{info_span, Instrument};

pub struct Spans;

impl ExtensionFactory for Spans {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(SpansExt)
    }
}

struct SpansExt;

#[async_trait::async_trait]
impl Extension for SpansExt {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        next.run(ctx).instrument(info_span!(target: "async_graphql::graphql", "request")).await
    }

    /// The operations' names and kinds only: never the text, never the variables.
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let span = info_span!(target: "async_graphql::graphql", "parse", operations = tracing::field::Empty);
        async move {
            let res = next.run(ctx, query, variables).await;
            if let Ok(doc) = &res {
                let names: Vec<String> = doc
                    .operations
                    .iter()
                    .map(|(name, op)| format!("{} {}", op.node.ty, name.map(|n| n.as_str()).unwrap_or("(anonymous)")))
                    .collect();
                tracing::Span::current().record("operations", names.join(", ").as_str());
            }
            res
        }
        .instrument(span)
        .await
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).instrument(info_span!(target: "async_graphql::graphql", "validation")).await
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let span = info_span!(target: "async_graphql::graphql", "execute", operation = operation_name.unwrap_or(""));
        next.run(ctx, operation_name).instrument(span).await
    }

    /// Object fields by path and type; leaf fields (most of them) are not traced.
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        // Without a subscriber for these spans (no OpenTelemetry export), not
        // even the type lookup below: this runs for every field of every row.
        if !tracing::span_enabled!(target: "async_graphql::graphql", tracing::Level::INFO) {
            return next.run(ctx, info).await;
        }
        let leaf = info.is_for_introspection
            || !info.return_type.trim_end_matches('!').ends_with(']') && is_leaf(ctx, info.return_type);
        if leaf {
            return next.run(ctx, info).await;
        }
        let span = info_span!(target: "async_graphql::graphql", "field", path = %info.path_node, return_type = %info.return_type);
        next.run(ctx, info).instrument(span).await
    }
}

fn is_leaf(ctx: &ExtensionContext<'_>, ty: &str) -> bool {
    let name = ty.trim_matches(|c| c == '[' || c == ']' || c == '!');
    ctx.schema_env.registry.types.get(name).is_some_and(|t| t.is_leaf())
}
