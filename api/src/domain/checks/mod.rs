//! Cross-source checks (一个问题不能有、一个错误不能出): rules that compare what the
//! three offices hold with each other and with the verifier's entry, producing
//! findings. They run right after an import (reference data alone), on every
//! save, submit and approval, and on demand over a region.
//!
//! This file holds the evidence the verifier records, which callers build and
//! read; the rules, their messages, the run and the writing of findings live in
//! the sub-modules and are re-exported here, so callers keep saying `checks::…`.

mod messages;
mod rules;
mod run;
mod sync;

pub use messages::message;
pub use rules::{entry_rules, photo_rules, reference_rules, Draft, Facts, PhotoFacts, FAR_METRES, NEAR_DUPLICATE_BITS};
pub use run::{run, CheckSummary};
pub use sync::{audit, open_look_back};

use entity::verification;
use serde::{Deserialize, Serialize};

/// What the verifier recorded for the chosen path (stored as JSON).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    pub appraisal: Option<AppraisalEvidence>,
    pub renovation: Option<RenovationEvidence>,
    pub secured: Option<SecuredEvidence>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AppraisalEvidence {
    /// The grade on site agrees with the bureau's appraisal.
    pub confirmed_on_site: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RenovationKind {
    Rebuilt,
    Reinforced,
    Relocated,
    Resettled,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RenovationEvidence {
    pub kind: RenovationKind,
    /// For relocation: where the family lives now.
    pub new_address: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Arrangement {
    PublicRental,
    ElderlyHome,
    RentedFarmhouse,
    Relatives,
    Other,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SecuredEvidence {
    pub arrangement: Arrangement,
    /// Where the family lives.
    pub address: String,
    /// With whom (for living with relatives, or a landlord).
    pub with_whom: Option<String>,
    /// Required for OTHER.
    pub description: Option<String>,
}

pub fn evidence_of(v: &verification::Model) -> Evidence {
    v.evidence.clone().and_then(|j| serde_json::from_value(j).ok()).unwrap_or_default()
}
