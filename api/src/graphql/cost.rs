//! What a query may cost, judged before it runs. async-graphql's own limits
//! price a list field as one field unless told its size, so nesting
//! `regions { children { parent { children … } } }` grew exponentially and
//! aliases hidden in fragments went uncounted. Here the document is walked
//! with fragments expanded, every list multiplies what is under it by the
//! most it can hold (regions by how many regions exist at that level,
//! `children` by the largest fan-out, connections by `first`), and the
//! aliases, directives and depth are counted on the same walk.
//!
//! Introspection is priced apart: it reads no data, and the standard
//! introspection query of every GraphQL tool must pass, so it is held to a
//! depth and to how often type members may be listed inside one another.

use crate::domain::{
    ctx::Ctx,
    error::{msg, Msg},
};
use async_graphql::{
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery},
    parser::types::{
        BaseType, DocumentOperations, ExecutableDocument, FragmentDefinition, Selection, SelectionSet, ServiceDocument,
        TypeKind, TypeSystemDefinition,
    },
    Name, ServerError, ServerResult, Value, Variables,
};
use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
};

/// Sizes the data can have, refreshed from the database now and then.
#[derive(Debug)]
pub struct Bounds {
    /// Regions at each level: province, city, county, township, village.
    pub by_level: [AtomicU64; 5],
    pub total: AtomicU64,
    /// The most children any one region has.
    pub fan_out: AtomicU64,
    refreshed_at: tokio::sync::Mutex<Option<std::time::Instant>>,
}

impl Default for Bounds {
    /// Before the first refresh: a large county (12 provinces' worth is not a county).
    fn default() -> Self {
        Self {
            by_level: [1, 1, 1, 30, 600].map(AtomicU64::new),
            total: AtomicU64::new(633),
            fan_out: AtomicU64::new(600),
            refreshed_at: Default::default(),
        }
    }
}

impl Bounds {
    fn level(&self, level: &str) -> u64 {
        let i = ["PROVINCE", "CITY", "COUNTY", "TOWNSHIP", "VILLAGE"].iter().position(|l| *l == level);
        i.map_or_else(|| self.total.load(Ordering::Relaxed), |i| self.by_level[i].load(Ordering::Relaxed))
    }
}

/// A field as the schema declares it.
#[derive(Debug, Clone)]
struct FieldType {
    list: bool,
    inner: String,
    /// The default of a `first` argument, if the field takes one.
    first_default: Option<u64>,
}

/// Object and interface fields by type name, from the schema's SDL.
#[derive(Debug, Default)]
pub struct Types(HashMap<String, HashMap<String, FieldType>>);

impl Types {
    pub fn from_sdl(sdl: &str) -> Self {
        let Ok(doc) = async_graphql::parser::parse_schema(sdl) else { return Self::default() };
        Self(type_fields(&doc))
    }
}

fn type_fields(doc: &ServiceDocument) -> HashMap<String, HashMap<String, FieldType>> {
    let mut out = HashMap::new();
    for def in &doc.definitions {
        let TypeSystemDefinition::Type(t) = def else { continue };
        let fields = match &t.node.kind {
            TypeKind::Object(o) => &o.fields,
            TypeKind::Interface(i) => &i.fields,
            _ => continue,
        };
        let map = fields
            .iter()
            .map(|f| {
                let f = &f.node;
                let (list, inner) = unwrap_type(&f.ty.node.base);
                let first_default = f
                    .arguments
                    .iter()
                    .find(|a| a.node.name.node == "first")
                    .map(|a| a.node.default_value.as_ref().and_then(|d| as_u64(&d.node)).unwrap_or(20));
                (f.name.node.to_string(), FieldType { list, inner, first_default })
            })
            .collect();
        out.insert(t.node.name.node.to_string(), map);
    }
    out
}

fn unwrap_type(t: &BaseType) -> (bool, String) {
    match t {
        BaseType::Named(n) => (false, n.to_string()),
        BaseType::List(inner) => (true, unwrap_type(&inner.base).1),
    }
}

fn as_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

/// The limits a document is held to.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub budget: u64,
    pub max_depth: usize,
    pub max_aliases: usize,
    pub max_directives: usize,
}

/// What the walk found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Cost {
    pub cost: u64,
    pub depth: usize,
    pub aliases: usize,
    pub directives: usize,
    /// Type member lists (`fields`, `inputFields`…) nested in one another.
    pub introspection_nesting: usize,
    pub introspection_depth: usize,
}

/// Lists without a `first` or a known size: at most this many per parent.
const DEFAULT_LIST: u64 = 20;
/// The most a `first` may ask for anywhere in the API.
const MAX_FIRST: u64 = 500;

/// Fields that compute over many rows cost more than one node.
fn weight(field: &str) -> u64 {
    match field {
        "series" => 200,
        "progress" | "behindPace" | "board" => 20,
        "findingCounts" | "checkRegion" | "checkHousehold" => 10,
        _ => 1,
    }
}

/// Lists whose size is known better than by the default.
fn list_bound(field: &str, bounds: &Bounds, args: &dyn Fn(&str) -> Option<Value>) -> u64 {
    match field {
        "regions" => match (args("level"), args("parentId")) {
            (_, Some(Value::String(_))) => bounds.fan_out.load(Ordering::Relaxed),
            (Some(Value::Enum(l)), _) => bounds.level(l.as_str()),
            _ => bounds.total.load(Ordering::Relaxed),
        },
        "children" => bounds.fan_out.load(Ordering::Relaxed),
        // Points between the first and last event of a campaign of up to about a year.
        "series" => match args("bucket") {
            Some(Value::Enum(b)) if b.as_str() == "HOUR" => 400 * 24,
            _ => 400,
        },
        "byStatus" | "byPath" | "byExpectedPath" => 6,
        "findings" | "photos" | "milestones" | "sources" => 10,
        _ => DEFAULT_LIST,
    }
}

struct Walk<'a> {
    doc: &'a ExecutableDocument,
    types: &'a Types,
    bounds: &'a Bounds,
    vars: HashMap<Name, Value>,
    out: Cost,
    /// Fragments being expanded, to stop a cycle (validation reports it later).
    open: Vec<Name>,
}

impl Walk<'_> {
    /// An argument's value with variables put in (None when not given or unknown).
    fn arg(&self, f: &async_graphql::parser::types::Field, name: &str) -> Option<Value> {
        let (_, v) = f.arguments.iter().find(|(n, _)| n.node == name)?;
        v.node.clone().into_const_with(|var| self.vars.get(&var).cloned().ok_or(())).ok()
    }

    fn set(&mut self, set: &SelectionSet, ty: &str, page: u64, depth: usize) -> u64 {
        let mut total = 0u64;
        for sel in &set.items {
            let c = match &sel.node {
                Selection::Field(f) => {
                    let f = &f.node;
                    self.out.aliases += usize::from(f.alias.is_some());
                    self.out.directives += f.directives.len();
                    self.field(f, ty, page, depth)
                }
                Selection::InlineFragment(i) => {
                    self.out.directives += i.node.directives.len();
                    let on = i.node.type_condition.as_ref().map(|t| t.node.on.node.to_string());
                    self.set(&i.node.selection_set.node, on.as_deref().unwrap_or(ty), page, depth)
                }
                Selection::FragmentSpread(s) => {
                    self.out.directives += s.node.directives.len();
                    self.spread(&s.node.fragment_name.node, page, depth)
                }
            };
            total = total.saturating_add(c);
        }
        total
    }

    fn spread(&mut self, name: &Name, page: u64, depth: usize) -> u64 {
        let doc = self.doc;
        let Some(frag) = doc.fragments.get(name) else { return 0 };
        if self.open.contains(name) {
            return 0;
        }
        self.open.push(name.clone());
        let FragmentDefinition { type_condition, selection_set, directives } = &frag.node;
        self.out.directives += directives.len();
        let on = type_condition.node.on.node.to_string();
        let c = self.set(&selection_set.node, &on, page, depth);
        self.open.pop();
        c
    }

    fn field(&mut self, f: &async_graphql::parser::types::Field, ty: &str, page: u64, depth: usize) -> u64 {
        let name = f.name.node.as_str();
        if name == "__typename" {
            return 0;
        }
        if name == "__schema" || name == "__type" {
            return self.introspection(&f.selection_set.node, 1, 0);
        }
        self.out.depth = self.out.depth.max(depth);
        let Some(info) = self.types.0.get(ty).and_then(|t| t.get(name)).cloned() else { return 1 };
        let first =
            info.first_default.map(|d| self.arg(f, "first").as_ref().and_then(as_u64).unwrap_or(d).min(MAX_FIRST));
        let children = if f.selection_set.node.items.is_empty() {
            0
        } else {
            self.set(&f.selection_set.node, &info.inner, first.unwrap_or(page), depth + 1)
        };
        if !info.list {
            return weight(name).saturating_add(children);
        }
        let n = if matches!(name, "edges" | "nodes") && ty.ends_with("Connection") {
            page
        } else if let Some(first) = first {
            first
        } else {
            list_bound(name, self.bounds, &|a| self.arg(f, a))
        };
        weight(name).saturating_add(n.saturating_mul(children.max(1)))
    }

    /// Introspection costs one per field; what is bounded is how deep it goes
    /// and how often member lists nest (the standard query nests three:
    /// types → fields → args).
    fn introspection(&mut self, set: &SelectionSet, depth: usize, nesting: usize) -> u64 {
        self.out.introspection_depth = self.out.introspection_depth.max(depth);
        self.out.introspection_nesting = self.out.introspection_nesting.max(nesting);
        let mut total = 0u64;
        let visit = |w: &mut Self, name: Option<&str>, inner: &SelectionSet| {
            let member = name.is_some_and(|n| {
                matches!(
                    n,
                    "types"
                        | "fields"
                        | "inputFields"
                        | "args"
                        | "enumValues"
                        | "interfaces"
                        | "possibleTypes"
                        | "directives"
                )
            });
            1 + w.introspection(inner, depth + 1, nesting + usize::from(member))
        };
        for sel in &set.items {
            let c = match &sel.node {
                Selection::Field(f) => {
                    self.out.aliases += usize::from(f.node.alias.is_some());
                    self.out.directives += f.node.directives.len();
                    if f.node.selection_set.node.items.is_empty() {
                        1
                    } else {
                        visit(self, Some(f.node.name.node.as_str()), &f.node.selection_set.node)
                    }
                }
                Selection::InlineFragment(i) => visit(self, None, &i.node.selection_set.node) - 1,
                Selection::FragmentSpread(s) => {
                    let doc = self.doc;
                    let name = &s.node.fragment_name.node;
                    match doc.fragments.get(name) {
                        Some(frag) if !self.open.contains(name) => {
                            self.open.push(name.clone());
                            let c = self.introspection(&frag.node.selection_set.node, depth, nesting);
                            self.open.pop();
                            c
                        }
                        _ => 0,
                    }
                }
            };
            total = total.saturating_add(c);
        }
        total
    }
}

/// The cost of the document's most expensive operation (the request's
/// `operationName` is not known at parse time; every operation must fit).
pub fn measure(doc: &ExecutableDocument, variables: &Variables, types: &Types, bounds: &Bounds) -> Cost {
    let ops: Vec<_> = match &doc.operations {
        DocumentOperations::Single(op) => vec![op],
        DocumentOperations::Multiple(m) => m.values().collect(),
    };
    let mut worst = Cost::default();
    let mut aliases = 0;
    let mut directives = 0;
    for op in ops {
        let mut vars: HashMap<Name, Value> = HashMap::new();
        for d in &op.node.variable_definitions {
            if let Some(v) = &d.node.default_value {
                vars.insert(d.node.name.node.clone(), v.node.clone());
            }
        }
        for (k, v) in variables.iter() {
            vars.insert(k.clone(), v.clone());
        }
        let root = match op.node.ty {
            async_graphql::parser::types::OperationType::Query => "QueryRoot",
            async_graphql::parser::types::OperationType::Mutation => "MutationRoot",
            async_graphql::parser::types::OperationType::Subscription => "SubscriptionRoot",
        };
        let mut w = Walk { doc, types, bounds, vars, out: Cost::default(), open: Vec::new() };
        w.out.directives = op.node.directives.len();
        w.out.cost = w.set(&op.node.selection_set.node, root, 20, 1);
        aliases += w.out.aliases;
        directives += w.out.directives;
        if w.out.cost >= worst.cost {
            worst = Cost { aliases: 0, directives: 0, ..w.out };
        }
    }
    Cost { aliases, directives, ..worst }
}

/// Why a document is refused, if it is: the message naming the limit.
pub fn refusal(c: &Cost, l: &Limits) -> Option<Msg> {
    Some(if c.aliases > l.max_aliases {
        msg!(TOO_MANY_ALIASES, count = c.aliases, max = l.max_aliases)
    } else if c.directives > l.max_directives {
        msg!(TOO_MANY_DIRECTIVES, count = c.directives, max = l.max_directives)
    } else if c.depth > l.max_depth || c.introspection_depth > INTROSPECTION_DEPTH {
        msg!(QUERY_TOO_DEEP, depth = c.depth.max(c.introspection_depth), max = l.max_depth)
    } else if c.introspection_nesting > INTROSPECTION_NESTING {
        msg!(INTROSPECTION_TOO_NESTED, count = c.introspection_nesting, max = INTROSPECTION_NESTING)
    } else if c.cost > l.budget {
        msg!(QUERY_TOO_COSTLY, cost = c.cost, budget = l.budget)
    } else {
        return None;
    })
}

/// graphql-js's IntrospectionQuery nests `ofType` up to 9 deep under
/// types → fields → type: about 14 levels.
const INTROSPECTION_DEPTH: usize = 20;
const INTROSPECTION_NESTING: usize = 3;

/// Measures every document after parsing and refuses it with
/// QUERY_TOO_COMPLEX, naming the figure and the limit, before it runs.
pub struct QueryCost {
    pub types: Arc<Types>,
    pub bounds: Arc<Bounds>,
    pub limits: Limits,
}

impl ExtensionFactory for QueryCost {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(QueryCostExt { types: self.types.clone(), bounds: self.bounds.clone(), limits: self.limits })
    }
}

struct QueryCostExt {
    types: Arc<Types>,
    bounds: Arc<Bounds>,
    limits: Limits,
}

#[async_trait::async_trait]
impl Extension for QueryCostExt {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        if let Some(state) = ctx.data_opt::<crate::AppState>() {
            self.bounds.ensure_fresh(&state.db).await;
        }
        let cost = measure(&doc, variables, &self.types, &self.bounds);
        if let Some(m) = refusal(&cost, &self.limits) {
            let english = ctx.data_opt::<Ctx>().is_some_and(Ctx::english);
            let mut e = ServerError::new(m.render(english), None);
            let mut ext = async_graphql::ErrorExtensionValues::default();
            ext.set("code", "QUERY_TOO_COMPLEX");
            ext.set("reason", m.key);
            ext.set("cost", cost.cost);
            ext.set("budget", self.limits.budget);
            e.extensions = Some(ext);
            return Err(e);
        }
        Ok(doc)
    }
}

impl Bounds {
    /// Re-reads the sizes when they are older than ten seconds (imports add
    /// regions); one request refreshes while the others use the last figures.
    pub async fn ensure_fresh(&self, db: &sea_orm::DatabaseConnection) {
        let Ok(mut at) = self.refreshed_at.try_lock() else { return };
        if at.is_some_and(|t| t.elapsed() < std::time::Duration::from_secs(10)) {
            return;
        }
        match refresh(db, self).await {
            Ok(()) => *at = Some(std::time::Instant::now()),
            Err(e) => tracing::warn!(error = %e, "could not refresh the query cost bounds"),
        }
    }
}

pub async fn refresh(db: &sea_orm::DatabaseConnection, bounds: &Bounds) -> Result<(), sea_orm::DbErr> {
    use sea_orm::{ConnectionTrait, Statement};
    let backend = db.get_database_backend();
    let rows =
        db.query_all(Statement::from_string(backend, "SELECT level, COUNT(*) FROM regions GROUP BY level")).await?;
    let mut total = 0;
    for (i, level) in ["PROVINCE", "CITY", "COUNTY", "TOWNSHIP", "VILLAGE"].iter().enumerate() {
        let n = rows
            .iter()
            .find(|r| r.try_get_by_index::<String>(0).is_ok_and(|l| l == *level))
            .and_then(|r| r.try_get_by_index::<i64>(1).ok())
            .unwrap_or(0)
            .max(1) as u64;
        bounds.by_level[i].store(n, Ordering::Relaxed);
        total += n;
    }
    bounds.total.store(total, Ordering::Relaxed);
    let fan = db
        .query_one(Statement::from_string(
            backend,
            "SELECT MAX(n) FROM (SELECT COUNT(*) AS n FROM regions GROUP BY parent_id) AS c",
        ))
        .await?
        .and_then(|r| r.try_get_by_index::<Option<i64>>(0).ok().flatten())
        .unwrap_or(1);
    bounds.fan_out.store(fan.max(1) as u64, Ordering::Relaxed);
    Ok(())
}

#[cfg(test)]
mod tests;
