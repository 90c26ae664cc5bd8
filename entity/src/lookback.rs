//! Look-back review samples (回头看) and their items.

pub mod sample {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "lookback_samples")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub campaign_id: Uuid,
        /// The region sampled (its subtree).
        pub region_id: Uuid,
        /// Drawing again with the same seed over the same data gives the same sample.
        pub seed: i64,
        pub percent: f64,
        pub min_per_village: i32,
        pub created_by: Uuid,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod item {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "lookback_items")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub sample_id: Uuid,
        pub household_id: Uuid,
        /// The checker: never the person who entered the record.
        pub assigned_to: Uuid,
        /// PENDING, AGREES or DISAGREES.
        pub status: String,
        pub notes: Option<String>,
        pub checked_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
