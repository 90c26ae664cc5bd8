//! Global object IDs for `Node`: `Type:uuid`. Clients treat them as opaque.

use crate::domain::{error::msg, error::AppError, global_id};
use async_graphql::ID;
use uuid::Uuid;

pub fn encode(kind: &str, id: Uuid) -> ID {
    ID(global_id(kind, id))
}

/// Splits a global ID into its type and UUID.
pub fn parse(id: &ID) -> Result<(&str, Uuid), AppError> {
    let (kind, raw) = id.split_once(':').ok_or_else(|| AppError::validation("id", msg!(BAD_ID, id = id.as_str())))?;
    let uuid = Uuid::parse_str(raw).map_err(|_| AppError::validation("id", msg!(BAD_ID, id = id.as_str())))?;
    Ok((kind, uuid))
}

/// Decodes an ID that must be of one type.
pub fn decode(kind: &str, id: &ID) -> Result<Uuid, AppError> {
    let (k, uuid) = parse(id)?;
    if k != kind {
        return Err(AppError::validation("id", msg!(WRONG_ID_KIND, expected = kind, got = k)));
    }
    Ok(uuid)
}
