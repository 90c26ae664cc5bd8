//! Loaders for nested lists (`domain::nested`) and the prefetch that fills
//! them: a list resolver reads each nested selection's own arguments and
//! loads every parent's part in one call, so the children's resolvers find
//! their answers cached. Time-window batching alone would split a long list
//! on a multi-threaded runtime; this does not depend on timing.

use crate::domain::error::{AppError, AppResult};
use crate::domain::{
    auth::Viewer,
    households::{self as service, Page},
    nested::{self, Want},
};
use crate::graphql::households::HouseholdFilter;
use crate::graphql::{households, CtxExt};
use async_graphql::{dataloader::Loader, Context, InputType, Lookahead, Value};
use entity::{audit_event, finding, household, region};
use futures_util::future::BoxFuture;
use sea_orm::DatabaseConnection;
use std::{
    collections::HashMap,
    hash::{Hash, Hasher},
    sync::Arc,
};
use uuid::Uuid;

type LoadResult<K, V> = Result<HashMap<K, V>, async_graphql::Error>;

/// What a connection selection asked for: the count, the page, or both.
pub fn want(look: &Lookahead<'_>) -> Want {
    Want {
        total: look.field("totalCount").exists(),
        rows: look.field("edges").exists() || look.field("nodes").exists() || look.field("pageInfo").exists(),
    }
}

/// The two ways a connection selection reaches its nodes: `edges { node }`
/// (Relay) and the `nodes` shortcut.
pub fn node_selections<'a>(conn: &Lookahead<'a>) -> [Lookahead<'a>; 2] {
    [conn.field("edges").field("node"), conn.field("nodes")]
}

/// A `households` selection's arguments, resolved as its resolver sees them.
#[derive(Clone, Debug)]
pub struct PageArgs {
    pub first: i32,
    pub after: Option<String>,
    pub filter: service::HouseholdFilter,
    pub want: Want,
    /// Equality of two selections' arguments.
    key: String,
}

impl PageArgs {
    pub fn new(
        first: Option<i32>,
        after: Option<String>,
        filter: Option<HouseholdFilter>,
        want: Want,
    ) -> AppResult<Self> {
        let first = service::page_size(first)?;
        let filter = service::HouseholdFilter { region_id: None, ..filter.unwrap_or_default().decode()? };
        let key = format!("{first}|{after:?}|{filter:?}|{want:?}");
        Ok(Self { first, after, filter, want, key })
    }
}

/// Key: a region and the page of its households a selection asked for.
#[derive(Clone)]
pub struct RegionPageKey {
    pub region: Arc<region::Model>,
    pub args: Arc<PageArgs>,
}
impl PartialEq for RegionPageKey {
    fn eq(&self, o: &Self) -> bool {
        self.region.id == o.region.id && self.args.key == o.args.key
    }
}
impl Eq for RegionPageKey {}
impl Hash for RegionPageKey {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.region.id.hash(h);
        self.args.key.hash(h);
    }
}

/// Each region's households, grouped by selection, one call per selection.
pub struct RegionHouseholdsLoader(pub DatabaseConnection, pub Option<Viewer>);
impl Loader<RegionPageKey> for RegionHouseholdsLoader {
    type Value = Page;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[RegionPageKey]) -> LoadResult<RegionPageKey, Page> {
        let Some(viewer) = &self.1 else { return Ok(HashMap::new()) };
        let mut groups: HashMap<&str, Vec<&RegionPageKey>> = HashMap::new();
        for k in keys {
            groups.entry(k.args.key.as_str()).or_default().push(k);
        }
        let mut out = HashMap::new();
        for group in groups.into_values() {
            let a = group[0].args.clone();
            let regions: Vec<region::Model> = group.iter().map(|k| (*k.region).clone()).collect();
            let mut pages =
                nested::region_households(&self.0, viewer, &regions, &a.filter, a.first, a.after.as_deref(), a.want)
                    .await?;
            for k in group {
                out.insert(k.clone(), pages.remove(&k.region.id).unwrap_or_default());
            }
        }
        Ok(out)
    }
}

/// Key: parent region; value: its visible children by code.
pub struct ChildrenLoader(pub DatabaseConnection, pub Option<Viewer>);
impl Loader<Uuid> for ChildrenLoader {
    type Value = Vec<region::Model>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[Uuid]) -> LoadResult<Uuid, Self::Value> {
        let Some(viewer) = &self.1 else { return Ok(HashMap::new()) };
        Ok(nested::region_children(&self.0, viewer, keys).await?)
    }
}

/// Key: a household and a history page (size, before which event).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct HistoryKey {
    pub household: Uuid,
    pub first: i32,
    pub before: Option<i64>,
}

pub struct HistoryLoader(pub DatabaseConnection, pub Option<Viewer>);
impl Loader<HistoryKey> for HistoryLoader {
    type Value = (Vec<audit_event::Model>, bool);
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[HistoryKey]) -> LoadResult<HistoryKey, Self::Value> {
        let Some(viewer) = &self.1 else { return Ok(HashMap::new()) };
        let mut groups: HashMap<(i32, Option<i64>), Vec<Uuid>> = HashMap::new();
        for k in keys {
            groups.entry((k.first, k.before)).or_default().push(k.household);
        }
        let mut out = HashMap::new();
        for ((first, before), ids) in groups {
            for (household, page) in nested::household_histories(&self.0, viewer, &ids, first, before).await? {
                out.insert(HistoryKey { household, first, before }, page);
            }
        }
        Ok(out)
    }
}

/// Key: household; value: its closed findings (real and practice).
pub struct ClosedFindingsLoader(pub DatabaseConnection, pub Option<Viewer>);
impl Loader<Uuid> for ClosedFindingsLoader {
    type Value = Vec<finding::Model>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[Uuid]) -> LoadResult<Uuid, Self::Value> {
        let Some(viewer) = &self.1 else { return Ok(HashMap::new()) };
        Ok(nested::closed_findings(&self.0, viewer, keys).await?)
    }
}

/// An argument of a selection, as given (variables resolved), if present.
fn arg(args: &[(async_graphql::Name, Value)], name: &str) -> Option<Value> {
    args.iter().find(|(n, _)| n.as_str() == name).map(|(_, v)| v.clone()).filter(|v| *v != Value::Null)
}

/// The page arguments of every `households` selection under `look`; a
/// selection whose arguments are wrong is left to its resolver to report.
pub fn household_selections<'a>(look: &Lookahead<'a>) -> Vec<(PageArgs, Lookahead<'a>)> {
    let mut out = Vec::new();
    for sf in look.field("households").selection_fields() {
        let Ok(args) = sf.arguments() else { continue };
        let first = arg(&args, "first").and_then(|v| match v {
            Value::Number(n) => n.as_i64().and_then(|n| i32::try_from(n).ok()),
            _ => None,
        });
        let after = arg(&args, "after").and_then(|v| match v {
            Value::String(s) => Some(s),
            _ => None,
        });
        let filter = match arg(&args, "filter") {
            Some(v) => match HouseholdFilter::parse(Some(v)) {
                Ok(f) => Some(f),
                Err(_) => continue,
            },
            None => None,
        };
        let look: Lookahead<'a> = sf.into();
        if let Ok(a) = PageArgs::new(first, after, filter, want(&look)) {
            out.push((a, look));
        }
    }
    out
}

/// The (size, before) of every `history` selection under `look`.
pub fn history_selections(look: &Lookahead<'_>) -> Vec<(i32, Option<i64>)> {
    let mut out = Vec::new();
    for sf in look.field("history").selection_fields() {
        let Ok(args) = sf.arguments() else { continue };
        let first = match arg(&args, "first") {
            Some(Value::Number(n)) => n.as_i64().and_then(|n| i32::try_from(n).ok()),
            Some(_) => continue,
            None => Some(50),
        };
        let before = match arg(&args, "after") {
            Some(Value::String(s)) => match s.parse::<i64>() {
                Ok(n) => Some(n),
                Err(_) => continue,
            },
            Some(_) => continue,
            None => None,
        };
        if let Some(first) = first.filter(|f| (0..=500).contains(f)) {
            out.push((first, before));
        }
    }
    out
}

/// Whether any `findings` selection under `look` asks for closed ones.
pub fn wants_closed_findings(look: &Lookahead<'_>) -> bool {
    look.field("findings")
        .selection_fields()
        .iter()
        .any(|sf| sf.arguments().map(|a| arg(&a, "open") == Some(Value::Boolean(false))).unwrap_or(false))
}

/// Loads, for all `regions` at once, what the selection `look` asks of each:
/// their households' pages (and those households' relations) and their
/// children, recursively, so nested lists cost the same for 1 or 1000.
pub fn prefetch_regions<'a>(
    ctx: &'a Context<'a>,
    regions: Vec<region::Model>,
    look: Lookahead<'a>,
) -> BoxFuture<'a, AppResult<()>> {
    Box::pin(async move {
        if regions.is_empty() {
            return Ok(());
        }
        let l = ctx.loaders();
        let err = |e: async_graphql::Error| AppError::Internal(anyhow::anyhow!(e.message));
        let shared: Vec<Arc<region::Model>> = regions.into_iter().map(Arc::new).collect();
        for (args, sel) in household_selections(&look) {
            let args = Arc::new(args);
            let keys = shared.iter().map(|r| RegionPageKey { region: r.clone(), args: args.clone() });
            let pages = l.region_households.load_many(keys).await.map_err(err)?;
            let rows: Vec<household::Model> = pages.into_values().flat_map(|p| p.rows).collect();
            households::prefetch_page(ctx, &sel, &rows).await?;
        }
        let children = look.field("children");
        if children.exists() {
            let found = l.children.load_many(shared.iter().map(|r| r.id)).await.map_err(err)?;
            prefetch_regions(ctx, found.into_values().flatten().collect(), children).await?;
        }
        Ok(())
    })
}
