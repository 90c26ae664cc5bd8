use crate::Severity;
use sea_orm::entity::prelude::*;

/// A problem a check found on a household: a rule, a severity and the sources that disagree.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "findings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub campaign_id: Uuid,
    pub household_id: Uuid,
    pub verification_id: Option<Uuid>,
    /// Stable rule code, e.g. ID_CHECKSUM, NAME_MISMATCH, UNSAFE_HOUSE.
    pub rule: String,
    pub severity: Severity,
    /// Parameters of the message, so it can be shown in the viewer's language.
    pub details: Json,
    pub sources: Json,
    pub practice: bool,
    pub open: bool,
    pub acknowledged_by: Option<Uuid>,
    pub acknowledged_at: Option<DateTimeUtc>,
    pub ack_reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub resolved_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
