//! One Rust enum per GraphQL enum the app uses, shared by every operation
//! (graphql_client's `extern_enums`, so each is generated and deserialized
//! once, not once per operation), plus the outbox's own item kinds and states.
//! Code compares them with `==` or `matches!` and labels them by a match in
//! `i18n`; on the wire and in storage they are the same strings as before, so
//! drafts and queued items an older version left in a browser still read.

use serde::{de::Error, Deserialize, Deserializer, Serialize, Serializer};

/// An enum written as a fixed string per variant. (The lookups are shared,
/// not generated per enum: the app's size is budgeted.)
pub trait StrEnum: Copy + Send + Sync + 'static {
    /// Every variant the app knows, in the schema's order, and their strings.
    const ALL: &'static [Self];
    const NAMES: &'static [&'static str];
    /// What an unknown string reads as: `Other` for GraphQL enums (a value
    /// newer than this app), nothing (an error) for the app's own.
    const UNKNOWN: Option<Self>;
    fn as_str(self) -> &'static str;
    fn parse(s: &str) -> Option<Self> {
        find(Self::NAMES, s).map(|i| Self::ALL[i])
    }
}

fn find(names: &[&str], s: &str) -> Option<usize> {
    names.iter().position(|n| *n == s)
}

fn read<'de, D: Deserializer<'de>>(d: D, names: &[&str]) -> Result<Option<usize>, D::Error> {
    Ok(find(names, &String::deserialize(d)?))
}

pub fn serialize<T: StrEnum, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(v.as_str())
}

pub fn deserialize<'de, T: StrEnum, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
    match read(d, T::NAMES)? {
        Some(i) => Ok(T::ALL[i]),
        None => T::UNKNOWN.ok_or_else(|| D::Error::custom("unknown value")),
    }
}

/// For an optional enum kept as a string where "" means none (the entry
/// form's draft): the stored format stays what it was.
pub mod blank {
    use super::StrEnum;
    use serde::{Deserializer, Serializer};

    pub fn serialize<T: StrEnum, S: Serializer>(v: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(v.map_or("", T::as_str))
    }

    pub fn deserialize<'de, T: StrEnum, D: Deserializer<'de>>(d: D) -> Result<Option<T>, D::Error> {
        Ok(super::read(d, T::NAMES)?.map(|i| T::ALL[i]))
    }
}

macro_rules! str_enum {
    ($name:ident, $unknown:expr, [$($v:ident = $s:expr),*] $(, $other:ident)?) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        pub enum $name {
            $($v,)*
            $($other,)?
        }

        impl StrEnum for $name {
            const ALL: &'static [Self] = &[$(Self::$v),*];
            const NAMES: &'static [&'static str] = &[$($s),*];
            const UNKNOWN: Option<Self> = $unknown;
            fn as_str(self) -> &'static str {
                // `Other`, last, has no string.
                Self::NAMES.get(self as usize).copied().unwrap_or("")
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                serialize(self, s)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                deserialize(d)
            }
        }
    };
}

/// A GraphQL enum: variants named as in the schema, and `Other` for a value
/// the API added after this app was built (the page still shows).
macro_rules! gql_enum {
    ($name:ident { $($v:ident),* $(,)? }) => {
        str_enum!($name, Some(Self::Other), [$($v = stringify!($v)),*], Other);
    };
}

gql_enum!(Role { ADMIN, SUPERVISOR, TOWNSHIP, VERIFIER });
gql_enum!(RegionLevel { NATION, PROVINCE, CITY, COUNTY, TOWNSHIP, VILLAGE });
gql_enum!(VerificationStatus { NOT_STARTED, DRAFT, SUBMITTED, RETURNED, APPROVED, REOPENED });
gql_enum!(SafetyPath { APPRAISED, RENOVATED, SECURED });
gql_enum!(RenovationKind { REBUILT, REINFORCED, RELOCATED, RESETTLED });
gql_enum!(Arrangement { PUBLIC_RENTAL, ELDERLY_HOME, RENTED_FARMHOUSE, RELATIVES, OTHER });
gql_enum!(Severity { ERROR, WARNING });
gql_enum!(MilestoneState { UPCOMING, ACTIVE, MET, MISSED, AT_RISK });
gql_enum!(MilestoneMetric { NONE, SUBMITTED, APPROVED });
gql_enum!(PhotoKind { FRONT_PANORAMA, SIDE, INTERIOR, DOCUMENT });
gql_enum!(ImportKind { REGIONS, POVERTY, APPRAISAL, RENOVATION });
gql_enum!(ExportKind { HOUSEHOLDS, SUMMARY });
gql_enum!(ExportFormat { XLSX, CSV });
gql_enum!(CampaignTemplate { NONE, PILOT_2020 });

// What an outbox item does, and where it is; stored as these lower-case words.
str_enum!(Kind, None, [Save = "save", Submit = "submit", Photo = "photo"]);
str_enum!(State, None, [Waiting = "waiting", Sending = "sending", Sent = "sent", Refused = "refused"]);

impl VerificationStatus {
    /// A household without a verification has not been started.
    pub fn of(v: Option<Self>) -> Self {
        v.unwrap_or(Self::NOT_STARTED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_and_read_as_the_same_strings_as_before() {
        assert_eq!(serde_json::to_string(&State::Waiting).unwrap(), r#""waiting""#);
        assert_eq!(serde_json::to_string(&Kind::Submit).unwrap(), r#""submit""#);
        assert_eq!(serde_json::from_str::<State>(r#""refused""#).unwrap(), State::Refused);
        assert_eq!(serde_json::to_string(&Arrangement::PUBLIC_RENTAL).unwrap(), r#""PUBLIC_RENTAL""#);
        let v: VerificationStatus = serde_json::from_value(serde_json::json!("NOT_STARTED")).unwrap();
        assert_eq!(v, VerificationStatus::NOT_STARTED);
    }

    #[test]
    fn a_value_newer_than_the_app_is_other_but_a_bad_outbox_word_is_an_error() {
        assert_eq!(serde_json::from_str::<Severity>(r#""INFO""#).unwrap(), Severity::Other);
        assert!(serde_json::from_str::<State>(r#""lost""#).is_err());
        assert_eq!(SafetyPath::parse(""), None);
    }
}
