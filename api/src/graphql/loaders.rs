//! DataLoaders, one per relation, created per request: a page of N households
//! costs one query per relation, not N.
//!
//! Batching by time window alone splits batches on a multi-threaded runtime
//! (the window closes while a large page is still resolving), so lists also
//! prefetch each selected relation in one query into the per-request cache
//! (see `households::prefetch`). Every loader therefore answers for every key
//! it was asked, so that a missing value is cached too.

use crate::domain::{auth::Viewer, batch};
use crate::graphql::nested::{ChildrenLoader, ClosedFindingsLoader, HistoryLoader, RegionHouseholdsLoader};
use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use entity::{account, finding, household, photo, reference_record, region, verification};
use sea_orm::DatabaseConnection;
use std::collections::HashMap;
use uuid::Uuid;

type LoadResult<V> = Result<HashMap<Uuid, V>, async_graphql::Error>;

/// Groups child rows by their parent, with an empty list for every key asked.
fn grouped<V>(keys: &[Uuid], rows: Vec<V>, parent: impl Fn(&V) -> Option<Uuid>) -> HashMap<Uuid, Vec<V>> {
    let mut out: HashMap<Uuid, Vec<V>> = keys.iter().map(|k| (*k, Vec::new())).collect();
    for r in rows {
        if let Some(p) = parent(&r) {
            out.entry(p).or_default().push(r);
        }
    }
    out
}

pub struct Loaders {
    pub regions: DataLoader<RegionLoader, HashMapCache>,
    pub accounts: DataLoader<AccountLoader, HashMapCache>,
    pub verifications: DataLoader<VerificationLoader, HashMapCache>,
    pub photos: DataLoader<PhotosLoader, HashMapCache>,
    pub references: DataLoader<ReferencesLoader, HashMapCache>,
    pub findings: DataLoader<FindingsLoader, HashMapCache>,
    /// Households by ID, only those the request's viewer may see.
    pub households: DataLoader<HouseholdLoader, HashMapCache>,
    /// Household codes → whether the viewer may see that household.
    pub visible_codes: DataLoader<VisibleCodeLoader, HashMapCache>,
    /// Nested lists (`graphql::nested`): a region's households and children,
    /// a household's history and closed findings.
    pub region_households: DataLoader<RegionHouseholdsLoader, HashMapCache>,
    pub children: DataLoader<ChildrenLoader, HashMapCache>,
    pub history: DataLoader<HistoryLoader, HashMapCache>,
    pub closed_findings: DataLoader<ClosedFindingsLoader, HashMapCache>,
}

impl Loaders {
    pub fn new(db: &DatabaseConnection, viewer: Option<&Viewer>) -> Self {
        let d = || db.clone();
        // The cache lives as long as the request: one GraphQL response sees one state.
        Self {
            regions: DataLoader::with_cache(RegionLoader(d()), tokio::spawn, HashMapCache::default()),
            accounts: DataLoader::with_cache(AccountLoader(d()), tokio::spawn, HashMapCache::default()),
            verifications: DataLoader::with_cache(VerificationLoader(d()), tokio::spawn, HashMapCache::default()),
            photos: DataLoader::with_cache(PhotosLoader(d()), tokio::spawn, HashMapCache::default()),
            references: DataLoader::with_cache(ReferencesLoader(d()), tokio::spawn, HashMapCache::default()),
            findings: DataLoader::with_cache(FindingsLoader(d()), tokio::spawn, HashMapCache::default()),
            households: DataLoader::with_cache(
                HouseholdLoader(d(), viewer.cloned()),
                tokio::spawn,
                HashMapCache::default(),
            ),
            visible_codes: DataLoader::with_cache(
                VisibleCodeLoader(d(), viewer.cloned()),
                tokio::spawn,
                HashMapCache::default(),
            ),
            region_households: DataLoader::with_cache(
                RegionHouseholdsLoader(d(), viewer.cloned()),
                tokio::spawn,
                HashMapCache::default(),
            ),
            children: DataLoader::with_cache(
                ChildrenLoader(d(), viewer.cloned()),
                tokio::spawn,
                HashMapCache::default(),
            ),
            history: DataLoader::with_cache(HistoryLoader(d(), viewer.cloned()), tokio::spawn, HashMapCache::default()),
            closed_findings: DataLoader::with_cache(
                ClosedFindingsLoader(d(), viewer.cloned()),
                tokio::spawn,
                HashMapCache::default(),
            ),
        }
    }
}

pub struct RegionLoader(DatabaseConnection);
impl Loader<Uuid> for RegionLoader {
    type Value = region::Model;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[Uuid]) -> LoadResult<Self::Value> {
        Ok(batch::regions(&self.0, keys).await?.into_iter().map(|r| (r.id, r)).collect())
    }
}

pub struct AccountLoader(DatabaseConnection);
impl Loader<Uuid> for AccountLoader {
    type Value = account::Model;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[Uuid]) -> LoadResult<Self::Value> {
        Ok(batch::accounts(&self.0, keys).await?.into_iter().map(|r| (r.id, r)).collect())
    }
}

/// Key: (household id, practice). One verification per household and mode;
/// None (cached too) when there is none yet.
pub struct VerificationLoader(DatabaseConnection);
impl Loader<(Uuid, bool)> for VerificationLoader {
    type Value = Option<verification::Model>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[(Uuid, bool)]) -> Result<HashMap<(Uuid, bool), Self::Value>, Self::Error> {
        let households: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = batch::verifications(&self.0, &households).await?;
        let mut out: HashMap<(Uuid, bool), Self::Value> = keys.iter().map(|k| (*k, None)).collect();
        for r in rows {
            out.insert((r.household_id, r.practice), Some(r));
        }
        Ok(out)
    }
}

/// Key: household id; value: its photos, oldest first.
pub struct PhotosLoader(DatabaseConnection);
impl Loader<Uuid> for PhotosLoader {
    type Value = Vec<photo::Model>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[Uuid]) -> LoadResult<Self::Value> {
        Ok(grouped(keys, batch::photos(&self.0, keys).await?, |p| Some(p.household_id)))
    }
}

/// Key: household id; value: its current reference records from all offices.
pub struct ReferencesLoader(DatabaseConnection);
impl Loader<Uuid> for ReferencesLoader {
    type Value = Vec<reference_record::Model>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[Uuid]) -> LoadResult<Self::Value> {
        Ok(grouped(keys, batch::current_references(&self.0, keys).await?, |r| r.household_id))
    }
}

/// Key: household id; value: its open findings (real and practice).
pub struct FindingsLoader(DatabaseConnection);
impl Loader<Uuid> for FindingsLoader {
    type Value = Vec<finding::Model>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[Uuid]) -> LoadResult<Self::Value> {
        Ok(grouped(keys, batch::open_findings(&self.0, keys).await?, |f| Some(f.household_id)))
    }
}

/// Key: household id. The viewer's scope is part of the query: a household
/// outside it is simply not found. No viewer (anonymous): nothing is found.
pub struct HouseholdLoader(DatabaseConnection, Option<Viewer>);
impl Loader<Uuid> for HouseholdLoader {
    type Value = household::Model;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[Uuid]) -> LoadResult<Self::Value> {
        Ok(batch::households(&self.0, self.1.as_ref(), keys).await?.into_iter().map(|h| (h.id, h)).collect())
    }
}

/// Key: a household code; value: whether the viewer's scope includes it.
pub struct VisibleCodeLoader(DatabaseConnection, Option<Viewer>);
impl Loader<String> for VisibleCodeLoader {
    type Value = bool;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[String]) -> Result<HashMap<String, bool>, Self::Error> {
        let seen: std::collections::HashSet<String> =
            batch::visible_codes(&self.0, self.1.as_ref(), keys).await?.into_iter().collect();
        Ok(keys.iter().map(|k| (k.clone(), seen.contains(k))).collect())
    }
}
