//! Database tables, one module each. Only table shapes live here: the API's
//! types are separate (see `api`), so the database can change shape without
//! changing the public API.
//!
//! Portability rules (SQLite and PostgreSQL through the same code): UUID keys,
//! UTC timestamps, enums stored as short strings.

pub mod account;
pub mod api_token;
pub mod audit_event;
pub mod campaign;
pub mod campaign_county;
pub mod enums;
pub mod finding;
pub mod household;
pub mod idempotency_key;
pub mod lookback;
pub mod milestone;
pub mod milestone_override;
pub mod photo;
pub mod photo_upload;
pub mod reference_import;
pub mod reference_record;
pub mod refresh_token;
pub mod region;
pub mod region_counter;
pub mod sign_in_throttle;
pub mod verification;
pub mod webhook_delivery;
pub mod webhook_endpoint;

pub use enums::*;
