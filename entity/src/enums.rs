use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $value:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
        #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        pub enum $name {
            $(#[sea_orm(string_value = $value)] $variant,)+
        }

        impl $name {
            pub fn as_str(&self) -> &'static str {
                match self { $(Self::$variant => $value,)+ }
            }
        }
    };
}

string_enum!(
    /// Administrative level of a region (统计用区划代码 levels).
    RegionLevel { Nation = "NATION", Province = "PROVINCE", City = "CITY", County = "COUNTY", Township = "TOWNSHIP", Village = "VILLAGE" }
);

string_enum!(
    /// The three ways a house counts as safe: 鉴定安全 / 改造安全 / 保障安全.
    SafetyPath { Appraised = "APPRAISED", Renovated = "RENOVATED", Secured = "SECURED" }
);

string_enum!(
    VerificationStatus {
        NotStarted = "NOT_STARTED",
        Draft = "DRAFT",
        Submitted = "SUBMITTED",
        Returned = "RETURNED",
        Approved = "APPROVED",
        Reopened = "REOPENED",
    }
);

string_enum!(
    Role { Admin = "ADMIN", Supervisor = "SUPERVISOR", Township = "TOWNSHIP", Verifier = "VERIFIER" }
);

string_enum!(
    /// Which office a reference record comes from.
    ReferenceSource { Poverty = "POVERTY", Appraisal = "APPRAISAL", Renovation = "RENOVATION", Regions = "REGIONS" }
);

string_enum!(
    PhotoKind { FrontPanorama = "FRONT_PANORAMA", Side = "SIDE", Interior = "INTERIOR", Document = "DOCUMENT" }
);

string_enum!(Severity { Error = "ERROR", Warning = "WARNING" });

string_enum!(
    /// What a milestone's target measures.
    MilestoneMetric { None = "NONE", Submitted = "SUBMITTED", Approved = "APPROVED" }
);

impl RegionLevel {
    /// Depth below the root of the tree: province 0 … village 4; the nation,
    /// above every province, is -1.
    pub fn depth(&self) -> i32 {
        match self {
            Self::Nation => -1,
            Self::Province => 0,
            Self::City => 1,
            Self::County => 2,
            Self::Township => 3,
            Self::Village => 4,
        }
    }
}
