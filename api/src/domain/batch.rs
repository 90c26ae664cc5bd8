//! Batch reads for the API's loaders: one query for many parents, so a
//! nested list costs the same statements for 1 or 1000 of them. Region scope
//! is applied here where the rows are personal (households); the other rows
//! are reached only through a household or region the caller already holds.

use crate::domain::{auth::Viewer, error::AppResult};
use entity::{account, finding, household, photo, reference_record, region, verification};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

pub async fn regions(db: &DatabaseConnection, ids: &[Uuid]) -> AppResult<Vec<region::Model>> {
    Ok(region::Entity::find().filter(region::Column::Id.is_in(ids.iter().copied())).all(db).await?)
}

pub async fn accounts(db: &DatabaseConnection, ids: &[Uuid]) -> AppResult<Vec<account::Model>> {
    Ok(account::Entity::find().filter(account::Column::Id.is_in(ids.iter().copied())).all(db).await?)
}

/// Every verification (real and practice) of the households.
pub async fn verifications(db: &DatabaseConnection, households: &[Uuid]) -> AppResult<Vec<verification::Model>> {
    Ok(verification::Entity::find()
        .filter(verification::Column::HouseholdId.is_in(households.iter().copied()))
        .all(db)
        .await?)
}

/// Photos of the households, oldest first.
pub async fn photos(db: &DatabaseConnection, households: &[Uuid]) -> AppResult<Vec<photo::Model>> {
    Ok(photo::Entity::find()
        .filter(photo::Column::HouseholdId.is_in(households.iter().copied()))
        .order_by_asc(photo::Column::UploadedAt)
        .all(db)
        .await?)
}

/// The offices' current records about the households.
pub async fn current_references(
    db: &DatabaseConnection,
    households: &[Uuid],
) -> AppResult<Vec<reference_record::Model>> {
    Ok(reference_record::Entity::find()
        .filter(reference_record::Column::HouseholdId.is_in(households.iter().copied()))
        .filter(reference_record::Column::Current.eq(true))
        .all(db)
        .await?)
}

/// Open findings (real and practice) of the households, oldest first.
pub async fn open_findings(db: &DatabaseConnection, households: &[Uuid]) -> AppResult<Vec<finding::Model>> {
    Ok(finding::Entity::find()
        .filter(finding::Column::HouseholdId.is_in(households.iter().copied()))
        .filter(finding::Column::Open.eq(true))
        .order_by_asc(finding::Column::CreatedAt)
        .all(db)
        .await?)
}

/// Households by ID, only those inside the viewer's scope; none without a viewer.
pub async fn households(
    db: &DatabaseConnection,
    viewer: Option<&Viewer>,
    ids: &[Uuid],
) -> AppResult<Vec<household::Model>> {
    let Some(viewer) = viewer else { return Ok(Vec::new()) };
    Ok(household::Entity::find()
        .filter(household::Column::Id.is_in(ids.iter().copied()))
        .filter(viewer.household_condition())
        .all(db)
        .await?)
}

/// Which of these household codes the viewer may see (one statement): other
/// households named in a finding's details are shown only when in scope.
pub async fn visible_codes(
    db: &DatabaseConnection,
    viewer: Option<&Viewer>,
    codes: &[String],
) -> AppResult<Vec<String>> {
    let Some(viewer) = viewer else { return Ok(Vec::new()) };
    Ok(household::Entity::find()
        .select_only()
        .column(household::Column::Code)
        .filter(household::Column::Code.is_in(codes.iter().cloned()))
        .filter(viewer.household_condition())
        .into_tuple::<String>()
        .all(db)
        .await?)
}
