//! The one catalogue of what the service says to people: every refusal,
//! validation message and import reason has a stable key, a zh-CN text and an
//! English text. The API sends the key (`extensions.reason`, an import row's
//! `code`) with the text in the caller's language; the web app asks in the
//! language it shows and branches on the same keys (it does not ship the
//! texts: its download size is budgeted).
//!
//! Texts hold `{name}` placeholders filled from the message's arguments.

#![no_std]
extern crate alloc;

use alloc::string::String;

mod errors;
mod imports;

/// Declares a table of messages and a constant per key, so a key used in code
/// that the catalogue lacks does not compile.
macro_rules! catalogue {
    ($table:ident: $($key:ident => $zh:literal, $en:literal;)*) => {
        $(pub const $key: &str = stringify!($key);)*
        pub(crate) static $table: &[(&str, &str, &str)] = &[$((stringify!($key), $zh, $en)),*];
    };
}
pub(crate) use catalogue;

/// Every key, by area: `key::SUBMISSIONS_CLOSED`.
pub mod key {
    pub use crate::errors::*;
    pub use crate::imports::*;
}

fn tables() -> [&'static [(&'static str, &'static str, &'static str)]; 3] {
    [errors::ERRORS, errors::NAMES, imports::IMPORTS]
}

/// The text of `key` in one language, with its placeholders still in.
pub fn template(key: &str, english: bool) -> Option<&'static str> {
    tables().into_iter().flatten().find(|(k, _, _)| *k == key).map(|(_, zh, en)| if english { *en } else { *zh })
}

/// The message `key` in one language with its arguments filled in; `None` for
/// a key this catalogue does not know (a newer server than the app).
pub fn render<'a>(
    key: &str,
    args: impl IntoIterator<Item = (&'a str, &'a str)> + Clone,
    english: bool,
) -> Option<String> {
    let text = template(key, english)?;
    Some(fill(text, args))
}

/// Replaces each `{name}` with its argument; an unknown name stays as written.
pub fn fill<'a>(text: &str, args: impl IntoIterator<Item = (&'a str, &'a str)> + Clone) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                match args.clone().into_iter().find(|(n, _)| *n == name) {
                    Some((_, v)) => out.push_str(v),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use alloc::{collections::BTreeSet, vec::Vec};

    fn placeholders(t: &str) -> BTreeSet<&str> {
        t.split('{').skip(1).filter_map(|s| s.split_once('}').map(|(n, _)| n)).collect()
    }

    #[test]
    fn every_message_has_both_languages_with_the_same_placeholders() {
        let mut seen = BTreeSet::new();
        for (key, zh, en) in tables().into_iter().flatten() {
            assert!(seen.insert(*key), "{key} is in the catalogue twice");
            assert!(!zh.is_empty() && !en.is_empty(), "{key} lacks a text");
            assert!(zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{key}: the zh-CN text has no Chinese");
            assert_eq!(placeholders(zh), placeholders(en), "{key}: zh and en use different placeholders");
        }
    }

    #[test]
    fn fills_arguments_and_keeps_unknown_ones() {
        let args: Vec<(&str, &str)> = alloc::vec![("row", "7"), ("column", "证件号码")];
        assert_eq!(fill("第{row}行“{column}”{x}", args.iter().copied()), "第7行“证件号码”{x}");
        assert_eq!(fill("no braces", args.iter().copied()), "no braces");
        assert_eq!(fill("open { only", args.iter().copied()), "open { only");
    }
}
