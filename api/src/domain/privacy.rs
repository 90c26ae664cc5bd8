//! The one rule for personal data: those who work on a household (ADMIN, and
//! the TOWNSHIP and VERIFIER of its area, who see nothing outside it anyway)
//! see it in full; SUPERVISOR accounts and dashboards' API tokens see it
//! masked. Every field that can hold it goes through here: ID numbers and
//! phones, free text (where people write names, IDs and phones), positions,
//! photo originals (their EXIF carries the home's GPS), the audit history,
//! staff addresses and account details.

use crate::domain::auth::{mask_id_number, mask_phone, Viewer};
use serde_json::Value;

/// What free text shows when it is withheld.
pub const WITHHELD: &str = "［已隐去］";

/// Positions are rounded to 0.01° (about 1 km): the village, not the house.
const GRID: f64 = 100.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Privacy {
    full: bool,
}

impl Privacy {
    pub fn of(viewer: &Viewer) -> Self {
        Self { full: viewer.sees_personal_data() }
    }

    pub fn full() -> Self {
        Self { full: true }
    }

    pub fn masked() -> Self {
        Self { full: false }
    }

    pub fn is_full(&self) -> bool {
        self.full
    }

    pub fn id_number(&self, id: &str) -> String {
        if self.full {
            id.to_owned()
        } else {
            mask_id_number(id)
        }
    }

    pub fn phone(&self, p: &str) -> String {
        if self.full {
            p.to_owned()
        } else {
            mask_phone(p)
        }
    }

    /// Free text (notes, who the family lives with, addresses, reasons):
    /// withheld, since names cannot be told from other words reliably.
    pub fn text<'a>(&self, s: &'a str) -> std::borrow::Cow<'a, str> {
        if self.full {
            s.into()
        } else {
            WITHHELD.into()
        }
    }

    pub fn coordinate(&self, c: f64) -> f64 {
        if self.full {
            c
        } else {
            (c * GRID).round() / GRID
        }
    }

    /// Where staff worked from: not for those outside the work.
    pub fn client_addr<'a>(&self, a: Option<&'a str>) -> Option<&'a str> {
        a.filter(|_| self.full)
    }

    /// A stored JSON document (audit history, finding details) as this
    /// viewer may see it: personal keys masked or withheld, links to
    /// originals dropped, and IDs or phones inside any other text masked.
    pub fn json(&self, v: &Value) -> Value {
        if self.full {
            return v.clone();
        }
        self.walk(None, v)
    }

    fn walk(&self, key: Option<&str>, v: &Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.iter().filter(|(k, _)| !is_link(k)).map(|(k, v)| (k.clone(), self.walk(Some(k), v))).collect(),
            ),
            Value::Array(a) => Value::Array(a.iter().map(|x| self.walk(key, x)).collect()),
            Value::String(s) => Value::String(match key.map(normalise).as_deref() {
                Some("idnumber") => mask_id_number(s),
                Some("phone") => mask_phone(s),
                Some(k) if FREE_TEXT.contains(&k) => WITHHELD.to_owned(),
                // Household and region codes are long digit runs too, and not personal.
                Some(k) if k.ends_with("code") || k.ends_with("codes") => s.clone(),
                _ => mask_in_text(s),
            }),
            Value::Number(n) if key.map(normalise).is_some_and(|k| k == "latitude" || k == "longitude") => {
                n.as_f64().map(|c| Value::from(self.coordinate(c))).unwrap_or(Value::Null)
            }
            other => other.clone(),
        }
    }
}

/// Keys whose value is free text people type.
const FREE_TEXT: [&str; 8] =
    ["notes", "withwhom", "description", "address", "newaddress", "returnreason", "reason", "ackreason"];

/// `withWhom`, `with_whom` → `withwhom`.
fn normalise(k: &str) -> String {
    k.chars().filter(|c| *c != '_').flat_map(char::to_lowercase).collect()
}

/// Object keys and URLs of stored files: an original photo carries EXIF GPS.
fn is_link(k: &str) -> bool {
    let k = normalise(k);
    k.ends_with("url") || k == "objectkey" || k == "thumbnailkey"
}

/// Masks what looks like an ID number (15 or 18 characters of digits, the
/// last maybe X) or a mobile number (11 digits from 1) inside any text.
pub fn mask_in_text(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || matches!(chars[i], 'X' | 'x')) {
                i += 1;
            }
            let run: String = chars[start..i].iter().collect();
            out += &match run.len() {
                15 | 18 => mask_id_number(&run),
                11 if run.starts_with('1') => mask_phone(&run),
                n if n >= 7 => format!("{}{}{}", &run[..3], "*".repeat(n - 7), &run[n - 4..]),
                _ => run,
            };
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masked_json_keeps_nothing_that_names_or_locates_a_person() {
        let stored = json!({
            "notes": "住在女儿张三家",
            "evidence": { "secured": { "withWhom": "女儿 13112619800101123X 电话 13912345678", "address": "张庄 5 号" } },
            "latitude": 38.123456, "longitude": 115.987654,
            "photo": { "url": "https://x/y.jpg", "objectKey": "c/h/p.jpg", "sha256": "ab" },
            "comment": "户主身份证 131126193607050855，手机 17995289078",
            "otherCodes": ["131126100200015"],
        });
        let m = Privacy::masked().json(&stored);
        assert_eq!(m["notes"], WITHHELD);
        assert_eq!(m["evidence"]["secured"]["withWhom"], WITHHELD);
        assert_eq!(m["latitude"], 38.12);
        assert!(m["photo"].get("url").is_none() && m["photo"].get("objectKey").is_none());
        let text = m.to_string();
        assert!(!text.contains("131126193607050855") && !text.contains("17995289078"), "{text}");
        assert!(text.contains("131126********0855"));
        assert_eq!(m["otherCodes"][0], "131126100200015", "household codes are not personal");
        assert_eq!(Privacy::full().json(&stored), stored);
    }
}
