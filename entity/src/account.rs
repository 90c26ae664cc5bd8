use crate::Role;
use sea_orm::entity::prelude::*;

/// A sign-in account, bound to one role and one region.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "accounts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub username: String,
    pub display_name: String,
    pub phone: Option<String>,
    pub role: Role,
    pub region_id: Uuid,
    /// Argon2id PHC string. Never logged, never returned.
    pub password_hash: String,
    pub must_change_password: bool,
    pub disabled: bool,
    pub password_changed_at: Option<DateTimeUtc>,
    pub last_sign_in_at: Option<DateTimeUtc>,
    /// Moved when the account's sessions are ended; access tokens carry it.
    pub session_epoch: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
