//! GraphQL enums and shared scalars. They mirror the stored enums but are API
//! types of their own, so the database can change without changing the API.

/// A GraphQL enum mirroring a domain or stored enum variant by variant, with
/// `From` both ways, so a new variant on either side fails to compile here.
macro_rules! api_enum {
    ($(#[$m:meta])* $name:ident <=> $db:path { $($(#[$vm:meta])* $v:ident),+ $(,)? }) => {
        $(#[$m])*
        #[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq)]
        pub enum $name { $($(#[$vm])* $v),+ }

        impl From<$db> for $name {
            fn from(v: $db) -> Self { match v { $(<$db>::$v => Self::$v),+ } }
        }
        impl From<$name> for $db {
            fn from(v: $name) -> Self { match v { $($name::$v => <$db>::$v),+ } }
        }
    };
}

pub(crate) use api_enum;

api_enum!(
    /// Role of an account: ADMIN (county housing bureau team), SUPERVISOR (leading group,
    /// read-only), TOWNSHIP (township specialist), VERIFIER (village account).
    Role <=> entity::Role { Admin, Supervisor, Township, Verifier }
);
api_enum!(
    /// Administrative level of a region.
    RegionLevel <=> entity::RegionLevel { Province, City, County, Township, Village }
);
api_enum!(
    /// How a house counts as safe: APPRAISED 鉴定安全 (grade A/B), RENOVATED 改造安全
    /// (rebuilt, reinforced or relocated), SECURED 保障安全 (housed safely by other means).
    SafetyPath <=> entity::SafetyPath { Appraised, Renovated, Secured }
);
api_enum!(
    /// Workflow state of a household's verification in a campaign.
    VerificationStatus <=> entity::VerificationStatus { NotStarted, Draft, Submitted, Returned, Approved, Reopened }
);
api_enum!(
    /// Kind of photo; FRONT_PANORAMA (现住房正面全景照片) is required to submit.
    PhotoKind <=> entity::PhotoKind { FrontPanorama, Side, Interior, Document }
);
api_enum!(
    /// ERROR blocks submission and approval; WARNING needs an acknowledgement.
    Severity <=> entity::Severity { Error, Warning }
);
api_enum!(
    /// What a milestone's target counts: households SUBMITTED or APPROVED, or NONE.
    MilestoneMetric <=> entity::MilestoneMetric { None, Submitted, Approved }
);

api_enum!(
    /// State of a milestone at the moment of the query.
    MilestoneState <=> crate::domain::progress::MilestoneState {
    /// Not started yet.
    Upcoming,
    /// In its window and on pace.
    Active,
    /// Target reached.
    Met,
    /// Ended without reaching its target.
    Missed,
    /// In its window and behind the pace needed to finish on time.
    AtRisk,
}
);
