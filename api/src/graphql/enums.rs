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
    Role <=> entity::Role {
        /// County housing bureau team (县住房和城乡建设局业务专班): the whole county,
        /// accounts, reference imports, the look-back review.
        Admin,
        /// County leading group (县扶贫开发和脱贫工作领导小组): read-only progress and deadlines.
        Supervisor,
        /// Township specialist (乡镇业务专干): reviews, returns and approves the township's records.
        Township,
        /// Village verifier (核验人): enters and re-verifies the households of their own village.
        Verifier,
    }
);
api_enum!(
    /// Administrative level of a region (统计用区划代码 levels).
    RegionLevel <=> entity::RegionLevel {
        /// The nation (全国), above every province: the root for national campaigns.
        Nation,
        /// Province (省).
        Province,
        /// City (市).
        City,
        /// County (县).
        County,
        /// Township (乡镇).
        Township,
        /// Administrative village (行政村).
        Village,
    }
);
api_enum!(
    /// How a house counts as safe: APPRAISED 鉴定安全 (grade A/B), RENOVATED 改造安全
    /// (rebuilt, reinforced or relocated), SECURED 保障安全 (housed safely by other means).
    SafetyPath <=> entity::SafetyPath {
        /// Appraised safe (鉴定安全): the housing bureau graded the house A or B.
        Appraised,
        /// Renovated safe (改造安全): rebuilt or reinforced with an accepted renovation,
        /// or the family relocated or resettled.
        Renovated,
        /// Secured safe (保障安全): the family is housed safely by other documented means.
        Secured,
    }
);
api_enum!(
    /// Workflow state of a household's verification in a campaign.
    VerificationStatus <=> entity::VerificationStatus {
        /// Nothing entered yet (未开始).
        NotStarted,
        /// Saved by the verifier, not yet submitted (草稿).
        Draft,
        /// Submitted, waiting for the township's review (待审核).
        Submitted,
        /// Sent back to the verifier with a reason (已退回).
        Returned,
        /// Approved (已核准): the household's verification is complete.
        Approved,
        /// Approved, then reopened in the look-back review (回头看重开).
        Reopened,
    }
);
api_enum!(
    /// Kind of photo; FRONT_PANORAMA (现住房正面全景照片) is required to submit.
    PhotoKind <=> entity::PhotoKind {
        /// Front panoramic photo of the current house (现住房正面全景照片).
        FrontPanorama,
        /// A side of the house.
        Side,
        /// Inside the house.
        Interior,
        /// A document, e.g. an appraisal or an acceptance certificate.
        Document,
    }
);
api_enum!(
    /// ERROR blocks submission and approval; WARNING needs an acknowledgement.
    Severity <=> entity::Severity {
        /// Error (错误): blocks submission and approval until resolved.
        Error,
        /// Warning (提醒): blocks until acknowledged with a reason.
        Warning,
    }
);
api_enum!(
    /// What a milestone's target counts: households SUBMITTED or APPROVED, or NONE.
    MilestoneMetric <=> entity::MilestoneMetric {
        /// No target: the milestone only marks a period, e.g. training.
        None,
        /// Households submitted or further.
        Submitted,
        /// Households approved.
        Approved,
    }
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
