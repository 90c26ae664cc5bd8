use sea_orm::entity::prelude::*;

/// Append-only audit trail. `seq` orders events; each carries the hash of the
/// previous one, so an edited or deleted event breaks the chain.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub seq: i64,
    pub occurred_at: DateTimeUtc,
    pub actor_id: Option<Uuid>,
    pub actor_role: Option<String>,
    pub actor_name: Option<String>,
    pub client_addr: Option<String>,
    /// e.g. SIGN_IN, SIGN_IN_FAILED, PASSWORD_CHANGED, VERIFICATION_SUBMITTED.
    pub action: String,
    pub entity_type: String,
    pub entity_id: Option<Uuid>,
    pub household_id: Option<Uuid>,
    pub region_id: Option<Uuid>,
    pub before: Option<Json>,
    pub after: Option<Json>,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
