//! What the HTTP layer needs to know about a request after the schema ran it:
//! whether execution began (a request that failed before it — parse,
//! validation, variables, cost — is a request error: 400 and no `data` under
//! GraphQL over HTTP), and the operation the document really named (the
//! metrics label must not depend on the optional JSON `operationName`).
//! Variables of our own scalars are checked here too, before anything runs:
//! async-graphql checks them only when a field reads them, so a bad
//! `DateTime` let the fields before it run.

use crate::domain::{ctx::Ctx, error::msg};
use async_graphql::{
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery},
    parser::types::{BaseType, DocumentOperations, ExecutableDocument, Type},
    Response, ServerError, ServerResult, Value, Variables,
};
use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc, Mutex,
};

/// The schema's description (`__schema { description }` and `schema.graphql`).
pub const SCHEMA_DESCRIPTION: &str = "住房安全核验（农村建档立卡贫困户住房安全有保障核验）接口：\
按户核验每户住房是否安全（鉴定安全、改造安全、保障安全），并按时间节点证明进度。 \
Housing-safety verification API: county housing bureaus verify, household by household, \
that every registered poor household lives in a safe home (appraised, renovated or \
otherwise secured), and prove their progress against the campaign's deadlines.";

/// Put into each request's data by the HTTP layer; filled in as the request runs.
#[derive(Default)]
pub struct RequestInfo {
    started: AtomicBool,
    /// The names of the document's operations (None for an anonymous one).
    operations: Mutex<Vec<Option<String>>>,
}

impl RequestInfo {
    /// True once execution began; false when the request failed before.
    pub fn started(&self) -> bool {
        self.started.load(Ordering::Relaxed)
    }

    /// The name of the operation that runs: `requested` when the document has
    /// it, else the document's only operation's name; None when anonymous or
    /// the document did not parse.
    pub fn operation(&self, requested: Option<&str>) -> Option<String> {
        let ops = self.operations.lock().unwrap_or_else(|e| e.into_inner());
        match requested {
            Some(r) => ops.iter().flatten().find(|n| n.as_str() == r).cloned(),
            None if ops.len() == 1 => ops[0].clone(),
            None => None,
        }
    }
}

pub struct Observe;

impl ExtensionFactory for Observe {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ObserveExt)
    }
}

struct ObserveExt;

#[async_trait::async_trait]
impl Extension for ObserveExt {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        check_scalar_variables(ctx, &doc, variables)?;
        if let Some(info) = ctx.data_opt::<Arc<RequestInfo>>() {
            let names = match &doc.operations {
                DocumentOperations::Single(_) => vec![None],
                DocumentOperations::Multiple(m) => m.keys().map(|k| Some(k.to_string())).collect(),
            };
            *info.operations.lock().unwrap_or_else(|e| e.into_inner()) = names;
        }
        Ok(doc)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        if let Some(info) = ctx.data_opt::<Arc<RequestInfo>>() {
            info.started.store(true, Ordering::Relaxed);
        }
        next.run(ctx, operation_name).await
    }
}

/// Refuses a request whose `DateTime` variables do not parse, as the spec
/// has every variable coerced before execution.
fn check_scalar_variables(ctx: &ExtensionContext<'_>, doc: &ExecutableDocument, vars: &Variables) -> ServerResult<()> {
    for (_, op) in doc.operations.iter() {
        for def in &op.node.variable_definitions {
            let name = def.node.name.node.as_str();
            let Some(value) = vars.get(name) else { continue };
            if let Some(detail) = bad_datetime(&def.node.var_type.node, value) {
                let m = msg!(BAD_VARIABLE, name = name, detail = detail);
                let english = ctx.data_opt::<Ctx>().is_some_and(Ctx::english);
                let mut e = ServerError::new(m.render(english), Some(def.pos));
                let mut ext = async_graphql::ErrorExtensionValues::default();
                ext.set("code", "VALIDATION");
                ext.set("reason", m.key);
                ext.set("field", name);
                e.extensions = Some(ext);
                return Err(e);
            }
        }
    }
    Ok(())
}

/// Why `value` is not a `DateTime` where `ty` wants one (lists included).
fn bad_datetime(ty: &Type, value: &Value) -> Option<String> {
    match (&ty.base, value) {
        (_, Value::Null) => None,
        (BaseType::List(inner), Value::List(items)) => items.iter().find_map(|v| bad_datetime(inner, v)),
        (BaseType::List(inner), v) => bad_datetime(inner, v),
        (BaseType::Named(n), Value::String(s)) if n.as_str() == "DateTime" => {
            s.parse::<chrono::DateTime<chrono::Utc>>().err().map(|_| format!("“{s}” is not an RFC 3339 date-time"))
        }
        (BaseType::Named(n), v) if n.as_str() == "DateTime" => Some(format!("{v} is not a string")),
        _ => None,
    }
}

/// The type of the operation a request runs (`operationName`, else the
/// document's only one); None when the document does not parse or names no
/// such operation, which the schema then reports. Used where the transport
/// decides before the schema runs (GET: queries only; WebSocket:
/// subscriptions only).
pub fn operation_type(r: &async_graphql::Request) -> Option<async_graphql::parser::types::OperationType> {
    root_fields(r).map(|(t, _)| t)
}

/// The selected operation's type and the names of its root fields (fragments
/// at the root count as unknown, `…`).
pub fn root_fields(r: &async_graphql::Request) -> Option<(async_graphql::parser::types::OperationType, Vec<String>)> {
    use async_graphql::parser::types::Selection;
    let doc = async_graphql::parser::parse_query(&r.query).ok()?;
    let op = match (&doc.operations, r.operation_name.as_deref()) {
        (DocumentOperations::Single(op), _) => op,
        (DocumentOperations::Multiple(m), Some(name)) => m.get(name)?,
        (DocumentOperations::Multiple(m), None) if m.len() == 1 => m.values().next()?,
        _ => return None,
    };
    let fields = op
        .node
        .selection_set
        .node
        .items
        .iter()
        .map(|s| match &s.node {
            Selection::Field(f) => f.node.name.node.to_string(),
            _ => "…".to_owned(),
        })
        .collect();
    Some((op.node.ty, fields))
}
