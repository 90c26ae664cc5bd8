//! A cap on aliases: one query asking for the same expensive field many times
//! passes the depth and complexity limits, so aliases are counted apart.

use crate::domain::{ctx::Ctx, error::msg};
use async_graphql::{
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery},
    parser::types::{ExecutableDocument, Selection, SelectionSet},
    ServerError, ServerResult, Variables,
};
use std::sync::Arc;

fn aliases(set: &SelectionSet) -> usize {
    set.items
        .iter()
        .map(|s| match &s.node {
            Selection::Field(f) => usize::from(f.node.alias.is_some()) + aliases(&f.node.selection_set.node),
            Selection::InlineFragment(i) => aliases(&i.node.selection_set.node),
            Selection::FragmentSpread(_) => 0,
        })
        .sum()
}

pub fn count_aliases(doc: &ExecutableDocument) -> usize {
    doc.operations.iter().map(|(_, op)| aliases(&op.node.selection_set.node)).sum::<usize>()
        + doc.fragments.values().map(|f| aliases(&f.node.selection_set.node)).sum::<usize>()
}

/// Refuses documents with more than `max` aliases (QUERY_TOO_COMPLEX).
pub struct AliasLimit(pub usize);

impl ExtensionFactory for AliasLimit {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(AliasLimitExt(self.0))
    }
}

struct AliasLimitExt(usize);

#[async_trait::async_trait]
impl Extension for AliasLimitExt {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        let n = count_aliases(&doc);
        if n > self.0 {
            let m = msg!(TOO_MANY_ALIASES, count = n, max = self.0);
            let mut e = ServerError::new(m.render(ctx.data_opt::<Ctx>().is_some_and(Ctx::english)), None);
            let mut ext = async_graphql::ErrorExtensionValues::default();
            ext.set("code", "QUERY_TOO_COMPLEX");
            ext.set("reason", m.key);
            e.extensions = Some(ext);
            return Err(e);
        }
        Ok(doc)
    }
}
