//! Request limits beyond depth and complexity: a token bucket per account,
//! per API token and per client address (anonymous callers), and a cap on
//! aliases (one query asking for the same expensive field many times).
//!
//! Buckets live in each API process: with N processes behind a balancer a
//! caller gets up to N times the rate, which is acceptable for a fairness
//! limit; sign-in throttling, which is a security limit, is in the database.

use async_graphql::{
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery},
    parser::types::{ExecutableDocument, Selection, SelectionSet},
    ServerError, ServerResult, Variables,
};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Instant,
};

struct Bucket {
    tokens: f64,
    at: Instant,
}

#[derive(Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// Takes one request from `key`'s bucket (`per_minute` capacity, refilled
    /// evenly). Err(seconds until the next request is allowed). 0 = no limit.
    pub fn check(&self, key: &str, per_minute: u32) -> Result<(), i64> {
        if per_minute == 0 {
            return Ok(());
        }
        let cap = per_minute as f64;
        let rate = cap / 60.0;
        let now = Instant::now();
        let mut m = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if m.len() > 50_000 {
            // Idle buckets are full again; forgetting them changes nothing.
            m.retain(|_, b| now.duration_since(b.at).as_secs_f64() * rate < cap);
        }
        let b = m.entry(key.to_owned()).or_insert(Bucket { tokens: cap, at: now });
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * rate).min(cap);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - b.tokens) / rate).ceil().max(1.0) as i64)
        }
    }
}

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
            return Err(ServerError::new(
                format!("The query has too many aliases ({n}; at most {}): split it into several requests.", self.0),
                None,
            ));
        }
        Ok(doc)
    }
}
