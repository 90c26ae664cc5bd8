//! DataLoaders, one per relation, created per request: a page of N households
//! costs one query per relation, not N.

use async_graphql::dataloader::{DataLoader, Loader};
use entity::{account, photo, reference_record, region, verification};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use std::collections::HashMap;
use uuid::Uuid;

type LoadResult<V> = Result<HashMap<Uuid, V>, async_graphql::Error>;

fn db_err(e: sea_orm::DbErr) -> async_graphql::Error {
    crate::error::AppError::from(e).into()
}

pub struct Loaders {
    pub regions: DataLoader<RegionLoader>,
    pub accounts: DataLoader<AccountLoader>,
    pub verifications: DataLoader<VerificationLoader>,
    pub photos: DataLoader<PhotosLoader>,
    pub references: DataLoader<ReferencesLoader>,
}

impl Loaders {
    pub fn new(db: &DatabaseConnection) -> Self {
        let d = || db.clone();
        Self {
            regions: DataLoader::new(RegionLoader(d()), tokio::spawn),
            accounts: DataLoader::new(AccountLoader(d()), tokio::spawn),
            verifications: DataLoader::new(VerificationLoader(d()), tokio::spawn),
            photos: DataLoader::new(PhotosLoader(d()), tokio::spawn),
            references: DataLoader::new(ReferencesLoader(d()), tokio::spawn),
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

/// Key: (household id, practice). One verification per household and mode.
pub struct VerificationLoader(DatabaseConnection);
impl Loader<(Uuid, bool)> for VerificationLoader {
    type Value = verification::Model;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[(Uuid, bool)]) -> Result<HashMap<(Uuid, bool), Self::Value>, Self::Error> {
        let rows = verification::Entity::find()
            .filter(verification::Column::HouseholdId.is_in(keys.iter().map(|k| k.0)))
            .all(&self.0)
            .await
            .map_err(db_err)?;
        Ok(rows.into_iter().map(|r| ((r.household_id, r.practice), r)).collect())
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
