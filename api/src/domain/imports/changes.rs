//! What an import changes in households that already exist, so a preview can
//! show it before anything is written: each field old → new (the first
//! `SHOWN`, with the total), and whether the file would change more than a
//! fifth of the households (a file meant for another place, or a damaged one).

use super::{RefRow, Report};
use crate::domain::auth::mask_id_number;
use entity::household;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use uuid::Uuid;

/// Changes listed in a report; the count covers all of them.
pub const SHOWN: usize = 50;

/// One field of one existing household that the import changes.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FieldChange {
    pub household_code: String,
    /// The column, as the office's header names it (户主姓名, 证件号码, …).
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// Adds the differences between a stored household and its row to the report.
pub(super) fn note(
    report: &mut Report,
    h: &household::Model,
    r: &RefRow,
    place: (Uuid, Option<Uuid>),
    names: &HashMap<Uuid, String>,
) {
    let name = |id: Option<Uuid>| id.and_then(|i| names.get(&i).cloned());
    let size = |s: Option<i32>| s.map(|n| n.to_string());
    let fields = [
        ("户主姓名", Some(h.head_name.clone()), Some(r.head_name.clone())),
        ("证件号码", Some(mask_id_number(&h.id_number)), Some(mask_id_number(&r.id_number))),
        ("家庭人口数", size(h.size), size(r.size)),
        ("联系电话", h.phone.clone(), r.phone.clone()),
        ("乡镇", name(Some(h.township_id)), name(Some(place.0))),
        ("行政村", name(h.village_id), name(place.1)),
    ];
    // The ID number is compared in full: two numbers can share a masked form.
    let mut any = false;
    for (field, old, new) in fields {
        let differs = if field == "证件号码" { h.id_number != r.id_number } else { old != new };
        if !differs {
            continue;
        }
        any = true;
        if report.changes.len() < SHOWN {
            report.changes.push(FieldChange { household_code: h.code.clone(), field: field.into(), old, new });
        }
    }
    if any {
        report.changed_households += 1;
    }
}

/// True when more than a fifth of the households that existed would change.
pub(super) fn large(changed: i32, existing: usize) -> bool {
    existing > 0 && changed as usize * 5 > existing
}
