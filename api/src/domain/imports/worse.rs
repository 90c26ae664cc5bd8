//! An import never silently replaces a good value with a worse one: a valid
//! ID number is not replaced by one with a wrong check character or one
//! masked with asterisks, and a value is not erased by an empty cell. The
//! stored value is kept and the report says so (row, column, old and new).

use super::{read::err, RefRow, RowError};
use crate::domain::{auth::mask_id_number, error::msg, idnumber};
use entity::reference_record;
use std::fmt::Display;

/// The new row with the old row's better values kept; each one kept is noted.
pub(super) fn keep_better(old: &reference_record::Model, new: &RefRow, notices: &mut Vec<RowError>) -> RefRow {
    let mut r = new.clone();
    let masked = |v: &str| mask_id_number(v);
    if idnumber::is_valid(&old.id_number) && old.id_number != new.id_number {
        let m = if new.id_number.contains('*') {
            Some(msg!(IMPORT_KEPT_UNMASKED, old = masked(&old.id_number), new = &new.id_number))
        } else if !idnumber::is_valid(&new.id_number) {
            Some(msg!(IMPORT_KEPT_VALID_ID, old = masked(&old.id_number), new = masked(&new.id_number)))
        } else {
            None
        };
        if let Some(m) = m {
            notices.push(err(new.row, Some("证件号码"), m));
            r.id_number = old.id_number.clone();
        }
    }
    let mut n =
        |col: &str, shown: String| notices.push(err(new.row, Some(col), msg!(IMPORT_KEPT_ON_EMPTY, old = shown)));
    keep(&mut r.village, &old.village_name, "行政村", &mut n);
    keep(&mut r.size, &old.household_size, "家庭人口数", &mut n);
    keep(&mut r.phone, &old.phone, "联系电话", &mut n);
    keep(&mut r.exit_year, &old.exit_year, "脱贫年度", &mut n);
    keep(&mut r.grade, &old.grade, "鉴定等级", &mut n);
    keep(&mut r.appraised_on, &old.appraised_on, "鉴定日期", &mut n);
    keep(&mut r.appraiser, &old.appraiser, "鉴定单位", &mut n);
    keep(&mut r.renovation_year, &old.renovation_year, "改造年度", &mut n);
    keep(&mut r.renovation_kind, &old.renovation_kind, "改造方式", &mut n);
    keep(&mut r.accepted_on, &old.accepted_on, "竣工验收日期", &mut n);
    keep(&mut r.subsidy, &old.subsidy_yuan, "补助金额(元)", &mut n);
    r
}

/// An empty new cell keeps the old value (phones are shown masked).
fn keep<T: Clone + Display>(new: &mut Option<T>, old: &Option<T>, col: &str, note: &mut impl FnMut(&str, String)) {
    if let (None, Some(o)) = (&new, old) {
        let shown = o.to_string();
        let shown = if col == "联系电话" && shown.len() > 7 {
            format!("{}****{}", &shown[..3], &shown[shown.len() - 4..])
        } else {
            shown
        };
        note(col, shown);
        *new = Some(o.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn old() -> reference_record::Model {
        reference_record::Model {
            id: uuid::Uuid::nil(),
            campaign_id: uuid::Uuid::nil(),
            county_id: uuid::Uuid::nil(),
            import_id: None,
            source: entity::ReferenceSource::Poverty,
            household_code: "1311261002001001".into(),
            household_id: None,
            head_name: "张三".into(),
            id_number: "110101199003074477".into(),
            township_name: Some("郑口镇".into()),
            village_name: Some("东街村".into()),
            household_size: Some(3),
            phone: Some("13812345678".into()),
            exit_year: None,
            grade: None,
            appraised_on: None,
            appraiser: None,
            renovation_year: None,
            renovation_kind: None,
            accepted_on: None,
            subsidy_yuan: None,
            source_file: "a.csv".into(),
            row_number: 2,
            current: true,
            superseded_by: None,
            created_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn keeps_a_valid_id_an_unmasked_id_and_values_an_empty_cell_would_erase() {
        let o = old();
        assert!(idnumber::is_valid(&o.id_number));
        let new =
            RefRow { row: 7, id_number: "110101199003074470".into(), phone: None, size: Some(4), ..Default::default() };
        let mut notes = Vec::new();
        let r = keep_better(&o, &new, &mut notes);
        assert_eq!(
            (r.id_number.as_str(), r.phone.as_deref(), r.size),
            ("110101199003074477", Some("13812345678"), Some(4))
        );
        assert_eq!(r.village.as_deref(), Some("东街村"));
        let codes: Vec<&str> = notes.iter().map(|n| n.code.as_str()).collect();
        assert_eq!(codes, ["IMPORT_KEPT_VALID_ID", "IMPORT_KEPT_ON_EMPTY", "IMPORT_KEPT_ON_EMPTY"]);
        assert!(notes
            .iter()
            .all(|n| n.row == 7 && !n.reason.contains("13812345678") && !n.reason.contains("199003074477")));

        let masked = RefRow { id_number: "110101********4477".into(), ..new.clone() };
        let r = keep_better(&o, &masked, &mut notes);
        assert_eq!(r.id_number, o.id_number);
        // A better (valid, different) ID is taken: that is a correction, shown in the preview.
        let fixed = RefRow { id_number: "110101199003074493".into(), ..new };
        let mut none = Vec::new();
        let r = keep_better(&o, &fixed, &mut none);
        assert_eq!(r.id_number, fixed.id_number);
    }
}
