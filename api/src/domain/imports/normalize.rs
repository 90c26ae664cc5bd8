//! What real office spreadsheets look like, turned into the one shape the
//! parser checks: header cells with line breaks, full-width forms and other
//! names for the same column; total rows; dates and numbers in Excel's
//! shapes; invisible characters in names; and ID numbers that Excel turned
//! into numbers (and so rounded), which must be refused, never imported.

use chrono::NaiveDate;

/// Full-width ASCII forms (Ｘ, １, （) as ASCII; the ideographic space as a space.
pub fn halfwidth(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .collect()
}

/// Removes zero-width and control characters; returns the text and how many went.
pub fn strip_invisible(s: &str) -> (String, usize) {
    // Control characters (NUL, BEL, ESC, line breaks), zero-width ones, and
    // the bidirectional overrides that make text read backwards (U+202E).
    let invisible = |c: &char| {
        c.is_control()
            || matches!(
                *c,
                '\u{200B}'..='\u{200F}'
                    | '\u{202A}'..='\u{202E}'
                    | '\u{2060}'..='\u{2069}'
                    | '\u{061C}'
                    | '\u{FEFF}'
                    | '\u{00AD}'
                    | '\u{FFF9}'..='\u{FFFB}'
            )
    };
    let removed = s.chars().filter(invisible).count();
    (s.chars().filter(|c| !invisible(c)).collect(), removed)
}

/// Other names offices give the same column, and the official one.
const SYNONYMS: &[(&str, &str)] = &[
    ("身份证号码", "证件号码"),
    ("身份证号", "证件号码"),
    ("证件号", "证件号码"),
    ("户主", "户主姓名"),
    ("户主名称", "户主姓名"),
    ("行政村名称", "行政村"),
    ("所在村", "行政村"),
    ("乡镇(街道)", "乡镇"),
    ("乡(镇)", "乡镇"),
    ("所在乡镇", "乡镇"),
    ("家庭人口", "家庭人口数"),
    ("人口数", "家庭人口数"),
    ("补助金额", "补助金额(元)"),
    ("补助资金(元)", "补助金额(元)"),
    ("竣工验收时间", "竣工验收日期"),
    ("验收日期", "竣工验收日期"),
    ("鉴定时间", "鉴定日期"),
    ("房屋鉴定等级", "鉴定等级"),
    ("危房等级", "鉴定等级"),
    ("改造年份", "改造年度"),
    ("脱贫年份", "脱贫年度"),
    ("联系方式", "联系电话"),
    ("电话", "联系电话"),
];

/// A header cell as the parser knows it: no whitespace or line breaks,
/// half-width forms, and the official name for a known synonym.
pub fn header_name(cell: &str) -> String {
    let (visible, _) = strip_invisible(&halfwidth(cell));
    let compact: String = visible.chars().filter(|c| !c.is_whitespace()).collect();
    SYNONYMS.iter().find(|(other, _)| *other == compact).map(|(_, name)| (*name).to_owned()).unwrap_or(compact)
}

/// A 合计 / 总计 / 小计 row: offices end their lists with one.
pub fn is_total_row(cells: &[String]) -> bool {
    cells.iter().map(|c| header_name(c)).filter(|c| !c.is_empty()).take(2).any(|c| {
        let c = c.replace([':', '：'], "");
        matches!(c.as_str(), "合计" | "总计" | "小计" | "共计") || c.starts_with("合计") || c.starts_with("总计")
    })
}

/// A date in any of Excel's shapes: 2019-05-01, 2019/5/1, 2019.5.1, 2019年5月1日,
/// 20190501, "2019-05-01 00:00", or a serial number (days since 1899-12-30).
pub fn date(v: &str) -> Option<NaiveDate> {
    let v = halfwidth(v.trim());
    let day = v.split_whitespace().next().unwrap_or("");
    if let Some(d) = ["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(day, f).ok())
    {
        return Some(d);
    }
    // Serial numbers of the years an office list can hold (1954–2119).
    let serial = whole(day).filter(|n| (20_000..=80_000).contains(n))?;
    NaiveDate::from_ymd_opt(1899, 12, 30)?.checked_add_signed(chrono::Duration::days(serial))
}

/// A whole number as Excel writes it: "14000", "14000.00", "2019.0", "1,400".
pub fn whole(v: &str) -> Option<i64> {
    let v = halfwidth(v.trim()).replace(',', "");
    if let Ok(n) = v.parse::<i64>() {
        return Some(n);
    }
    let (int, frac) = v.split_once('.')?;
    if !frac.is_empty() && frac.bytes().all(|b| b == b'0') {
        return int.parse::<i64>().ok();
    }
    None
}

/// Why a code or ID number cannot be trusted because Excel stored it as a
/// number (the catalogue key): written in scientific notation (1.31126E+17),
/// or 18 digits ending in 000 with a wrong check character (Excel keeps 15
/// significant digits).
pub fn number_damage(v: &str, id_number: bool) -> Option<&'static str> {
    let v = v.trim();
    let scientific = v.contains(['E', 'e'])
        && v.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | 'E' | 'e' | '+' | '-'))
        && v.chars().next().is_some_and(|c| c.is_ascii_digit());
    if scientific {
        return Some(messages::key::IMPORT_SCIENTIFIC);
    }
    let cut = id_number
        && v.len() == 18
        && v.bytes().all(|b| b.is_ascii_digit())
        && v.ends_with("000")
        && !crate::domain::idnumber::is_valid(v);
    cut.then_some(messages::key::IMPORT_EXCEL_CUT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_of_real_files() {
        assert_eq!(header_name("户主\n姓名"), "户主姓名");
        assert_eq!(header_name(" 补助金额（元） "), "补助金额(元)");
        assert_eq!(header_name("身份证号码"), "证件号码");
        assert_eq!(halfwidth("１３１１２６Ｘ"), "131126X");
        assert_eq!(strip_invisible("张\u{200B}三"), ("张三".to_owned(), 1));
        assert!(is_total_row(&["合计".into(), "".into(), "120".into()]));
        assert!(!is_total_row(&["1311261001010001".into(), "张三".into()]));
        let may_first = NaiveDate::from_ymd_opt(2019, 5, 1);
        for v in ["2019-05-01", "2019/5/1", "2019.5.1", "2019年5月1日", "20190501", "2019-05-01 00:00", "43586"] {
            assert_eq!(date(v), may_first, "{v}");
        }
        assert_eq!(whole("14000.00"), Some(14000));
        assert_eq!(whole("2019.0"), Some(2019));
        assert_eq!(whole("1.5"), None);
        assert!(number_damage("1.31126E+17", true).is_some());
        assert!(number_damage("131126196111189000", true).is_some());
        assert!(number_damage("13112619360705085X", true).is_none());
        assert!(number_damage("1311261001010001", false).is_none());
    }
}
