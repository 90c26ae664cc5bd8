//! DataLoaders, one per relation, created per request: a page of N households
//! costs one query per relation, not N.
//!
//! Batching by time window alone splits batches on a multi-threaded runtime
//! (the window closes while a large page is still resolving), so lists also
//! prefetch each selected relation in one query into the per-request cache
//! (see `households::prefetch`). Every loader therefore answers for every key
//! it was asked, so that a missing value is cached too.

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use entity::{account, finding, household, photo, reference_record, region, verification};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use std::collections::HashMap;
use uuid::Uuid;

type LoadResult<V> = Result<HashMap<Uuid, V>, async_graphql::Error>;

fn db_err(e: sea_orm::DbErr) -> async_graphql::Error {
    crate::error::AppError::from(e).into()
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
}

impl Loaders {
    pub fn new(db: &DatabaseConnection, viewer: Option<&crate::auth::Viewer>) -> Self {
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
                HouseholdLoader(d(), viewer.map(|v| v.household_condition())),
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
        let rows = region::Entity::find()
            .filter(region::Column::Id.is_in(keys.iter().copied()))
            .all(&self.0)
            .await
            .map_err(db_err)?;
        Ok(rows.into_iter().map(|r| (r.id, r)).collect())
    }
}

pub struct AccountLoader(DatabaseConnection);
impl Loader<Uuid> for AccountLoader {
    type Value = account::Model;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[Uuid]) -> LoadResult<Self::Value> {
        let rows = account::Entity::find()
            .filter(account::Column::Id.is_in(keys.iter().copied()))
            .all(&self.0)
            .await
            .map_err(db_err)?;
        Ok(rows.into_iter().map(|r| (r.id, r)).collect())
    }
}

/// Key: (household id, practice). One verification per household and mode;
/// None (cached too) when there is none yet.
pub struct VerificationLoader(DatabaseConnection);
impl Loader<(Uuid, bool)> for VerificationLoader {
    type Value = Option<verification::Model>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[(Uuid, bool)]) -> Result<HashMap<(Uuid, bool), Self::Value>, Self::Error> {
        let rows = verification::Entity::find()
            .filter(verification::Column::HouseholdId.is_in(keys.iter().map(|k| k.0)))
            .all(&self.0)
            .await
            .map_err(db_err)?;
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
        let rows = photo::Entity::find()
            .filter(photo::Column::HouseholdId.is_in(keys.iter().copied()))
            .order_by_asc(photo::Column::UploadedAt)
            .all(&self.0)
            .await
            .map_err(db_err)?;
        let mut out: HashMap<Uuid, Vec<photo::Model>> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for r in rows {
            out.entry(r.household_id).or_default().push(r);
        }
        Ok(out)
    }
}

/// Key: household id; value: its current reference records from all offices.
pub struct ReferencesLoader(DatabaseConnection);
impl Loader<Uuid> for ReferencesLoader {
    type Value = Vec<reference_record::Model>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[Uuid]) -> LoadResult<Self::Value> {
        let rows = reference_record::Entity::find()
            .filter(reference_record::Column::HouseholdId.is_in(keys.iter().copied()))
            .filter(reference_record::Column::Current.eq(true))
            .all(&self.0)
            .await
            .map_err(db_err)?;
        let mut out: HashMap<Uuid, Vec<reference_record::Model>> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for r in rows {
            if let Some(h) = r.household_id {
                out.entry(h).or_default().push(r);
            }
        }
        Ok(out)
    }
}

/// Key: household id; value: its open findings (real and practice).
pub struct FindingsLoader(DatabaseConnection);
impl Loader<Uuid> for FindingsLoader {
    type Value = Vec<finding::Model>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[Uuid]) -> LoadResult<Self::Value> {
        let rows = finding::Entity::find()
            .filter(finding::Column::HouseholdId.is_in(keys.iter().copied()))
            .filter(finding::Column::Open.eq(true))
            .order_by_asc(finding::Column::CreatedAt)
            .all(&self.0)
            .await
            .map_err(db_err)?;
        let mut out: HashMap<Uuid, Vec<finding::Model>> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for r in rows {
            out.entry(r.household_id).or_default().push(r);
        }
        Ok(out)
    }
}

/// Key: household id. The viewer's scope is part of the query: a household
/// outside it is simply not found. No viewer (anonymous): nothing is found.
pub struct HouseholdLoader(DatabaseConnection, Option<sea_orm::Condition>);
impl Loader<Uuid> for HouseholdLoader {
    type Value = household::Model;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[Uuid]) -> LoadResult<Self::Value> {
        let Some(scope) = &self.1 else { return Ok(HashMap::new()) };
        let rows = household::Entity::find()
            .filter(household::Column::Id.is_in(keys.iter().copied()))
            .filter(scope.clone())
            .all(&self.0)
            .await
            .map_err(db_err)?;
        Ok(rows.into_iter().map(|h| (h.id, h)).collect())
    }
}
