//! Parsing a table as one official list: the columns each list needs, and
//! each row checked and typed; every bad row is reported.

use super::{normalize, read::err, RowError};
use crate::domain::error::{msg, Msg};
use chrono::NaiveDate;
use entity::{ReferenceSource, RegionLevel, SafetyPath};
use std::collections::{HashMap, HashSet};

/// Cells by column name, for one data row.
struct Row<'a> {
    number: i32,
    cells: &'a [String],
    cols: &'a HashMap<String, usize>,
    /// The header row as the file has it, so a reason names the column as the user sees it.
    header: &'a [String],
}

impl Row<'_> {
    /// The column's header text in the file (e.g. 身份证号码 for 证件号码).
    fn label(&self, col: &str) -> String {
        label(self.header, self.cols, col)
    }
    fn err(&self, col: &str, m: Msg) -> RowError {
        err(self.number, Some(&self.label(col)), m)
    }
    fn get(&self, col: &str) -> &str {
        self.cols.get(col).and_then(|i| self.cells.get(*i)).map(|s| s.trim()).unwrap_or("")
    }
    /// A code, ID number or grade: half-width, and refused when Excel stored it as a number.
    fn code(&self, col: &str, id_number: bool, errors: &mut Vec<RowError>) -> String {
        let v = normalize::halfwidth(&self.required(col, errors)).trim().to_owned();
        if let Some(why) = normalize::number_damage(&v, id_number) {
            errors.push(self.err(col, Msg::new(why).arg("value", &v).arg("column", self.label(col))));
        }
        v
    }
    /// A name with zero-width and control characters removed (noted when any were).
    /// A name (every cell was already cleaned of invisible characters, and noted).
    fn name(&self, col: &str, errors: &mut Vec<RowError>, _notices: &mut Vec<RowError>) -> String {
        self.required(col, errors).trim().to_owned()
    }
    fn required(&self, col: &str, errors: &mut Vec<RowError>) -> String {
        let v = self.get(col);
        if v.is_empty() {
            errors.push(self.err(col, msg!(IMPORT_REQUIRED)));
        }
        v.to_owned()
    }
    fn opt(&self, col: &str) -> Option<String> {
        Some(self.get(col).to_owned()).filter(|s| !s.is_empty())
    }
    fn int(
        &self,
        col: &str,
        range: std::ops::RangeInclusive<i64>,
        required: bool,
        errors: &mut Vec<RowError>,
    ) -> Option<i64> {
        let v = self.get(col);
        if v.is_empty() {
            if required {
                errors.push(self.err(col, msg!(IMPORT_REQUIRED)));
            }
            return None;
        }
        match normalize::whole(v) {
            Some(n) if range.contains(&n) => Some(n),
            Some(n) => {
                errors
                    .push(self.err(col, msg!(IMPORT_OUT_OF_RANGE, value = n, min = range.start(), max = range.end())));
                None
            }
            None => {
                errors.push(self.err(col, msg!(IMPORT_NOT_WHOLE, value = v)));
                None
            }
        }
    }
    fn date(&self, col: &str, required: bool, errors: &mut Vec<RowError>) -> Option<NaiveDate> {
        let v = self.get(col);
        if v.is_empty() {
            if required {
                errors.push(self.err(col, msg!(IMPORT_REQUIRED)));
            }
            return None;
        }
        let Some(d) = normalize::date(v) else {
            errors.push(self.err(col, msg!(IMPORT_NOT_DATE, value = v)));
            return None;
        };
        // `%Y` reads "19-05-01" as the year 19: refused, as are dates no list can hold.
        use chrono::Datelike;
        let why = if d.year() < 100 {
            msg!(IMPORT_TWO_DIGIT_YEAR, value = v)
        } else if d.year() < 1950 {
            msg!(IMPORT_DATE_TOO_EARLY, value = v)
        } else if d > chrono::Utc::now().date_naive() + chrono::Duration::days(1) {
            msg!(IMPORT_FUTURE_DATE, value = v)
        } else {
            return Some(d);
        };
        errors.push(self.err(col, why));
        None
    }
}

fn columns(kind: ReferenceSource) -> (&'static [&'static str], &'static [&'static str]) {
    match kind {
        ReferenceSource::Regions => (&["区划代码", "名称", "级别", "上级区划代码"], &[]),
        ReferenceSource::Poverty => {
            (&["户编号", "户主姓名", "证件号码", "乡镇", "行政村", "家庭人口数"], &["联系电话", "脱贫年度"])
        }
        ReferenceSource::Appraisal => (&["户编号", "户主姓名", "证件号码", "鉴定等级", "鉴定日期"], &["鉴定单位"]),
        ReferenceSource::Renovation => {
            (&["户编号", "户主姓名", "证件号码", "改造年度", "改造方式"], &["竣工验收日期", "补助金额(元)"])
        }
    }
}

/// One parsed reference row.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct RefRow {
    pub row: i32,
    pub code: String,
    pub head_name: String,
    pub id_number: String,
    pub township: Option<String>,
    pub village: Option<String>,
    pub size: Option<i32>,
    pub phone: Option<String>,
    pub exit_year: Option<i32>,
    pub grade: Option<String>,
    pub appraised_on: Option<NaiveDate>,
    pub appraiser: Option<String>,
    pub renovation_year: Option<i32>,
    pub renovation_kind: Option<String>,
    pub accepted_on: Option<NaiveDate>,
    pub subsidy: Option<i64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RegionRow {
    pub row: i32,
    pub code: String,
    pub name: String,
    pub level: RegionLevel,
    pub parent: Option<String>,
}

pub enum Parsed {
    Regions(Vec<RegionRow>),
    References(Vec<RefRow>),
}

/// Parses and validates the whole table; every malformed row is reported.
/// Besides the rows, returns what was skipped or cleaned on the way (title
/// and total rows, unused columns, invisible characters), for the report.
pub fn parse(kind: ReferenceSource, table: &[Vec<String>]) -> Result<(Parsed, Vec<RowError>), Vec<RowError>> {
    let mut notices = Vec::new();
    let (table, cleaned) = clean(table);
    let table = &table[..];
    let (at, cols) = header(kind, table, &mut notices)?;
    let data = data_rows(table, at, &cols, &mut notices)?;
    let mut errors = Vec::new();
    for r in &data {
        cell_checks(r, &cleaned, &mut errors, &mut notices);
    }
    let parsed = if kind == ReferenceSource::Regions {
        Parsed::Regions(region_rows(&data, &mut errors))
    } else {
        Parsed::References(reference_rows(kind, &data, &mut errors, &mut notices))
    };
    if errors.is_empty() {
        Ok((parsed, notices))
    } else {
        errors.sort_by_key(|e| e.row);
        Err(errors)
    }
}

/// The longest text a cell of an office list holds (an address, a unit's name).
const MAX_CELL_CHARS: usize = 200;

/// Every cell without control, zero-width or direction-changing characters,
/// and where such were removed: (row index, column index) → how many.
fn clean(table: &[Vec<String>]) -> (Vec<Vec<String>>, HashMap<(usize, usize), usize>) {
    let mut removed = HashMap::new();
    let table = table
        .iter()
        .enumerate()
        .map(|(ri, row)| {
            row.iter()
                .enumerate()
                .map(|(ci, cell)| {
                    // A line break inside a quoted cell separates words: keep a space.
                    let spaced = cell.replace(['\r', '\n'], " ");
                    let (v, n) = normalize::strip_invisible(&spaced);
                    let breaks = cell.matches(['\r', '\n']).count();
                    if n + breaks > 0 {
                        removed.insert((ri, ci), n + breaks);
                    }
                    v.split_whitespace().collect::<Vec<_>>().join(" ")
                })
                .collect()
        })
        .collect();
    (table, removed)
}

/// A row's cells: too long is refused; what cleaning removed is noted.
fn cell_checks(
    r: &Row,
    cleaned: &HashMap<(usize, usize), usize>,
    errors: &mut Vec<RowError>,
    notices: &mut Vec<RowError>,
) {
    let ri = r.number as usize - 1;
    for (ci, cell) in r.cells.iter().enumerate() {
        let label = r.header.get(ci).map(|h| h.split_whitespace().collect::<String>()).filter(|h| !h.is_empty());
        let n = cell.chars().count();
        if n > MAX_CELL_CHARS {
            errors.push(err(r.number, label.as_deref(), msg!(IMPORT_TOO_LONG, count = n, max = MAX_CELL_CHARS)));
        } else if let Some(count) = cleaned.get(&(ri, ci)) {
            notices.push(err(r.number, label.as_deref(), msg!(IMPORT_INVISIBLE, count = count, value = cell)));
        }
    }
}

/// How many rows from the top may hold titles before the header.
const HEADER_SEARCH: usize = 10;

/// A column's header text as the file shows it (line breaks and runs of
/// spaces collapsed), or its canonical name when the file has none.
fn label(header: &[String], cols: &HashMap<String, usize>, col: &str) -> String {
    let text = cols.get(col).and_then(|i| header.get(*i)).map(|h| h.split_whitespace().collect::<Vec<_>>().join(""));
    text.filter(|t| !t.is_empty()).unwrap_or_else(|| col.to_owned())
}

fn names(row: &[String]) -> Vec<String> {
    row.iter().map(|c| normalize::header_name(c)).collect()
}

/// Excel's letter for a column (0 → A, 26 → AA).
fn letter(mut i: usize) -> String {
    let mut s = String::new();
    loop {
        s.insert(0, (b'A' + (i % 26) as u8) as char);
        if i < 26 {
            return s;
        }
        i = i / 26 - 1;
    }
}

/// Finds the header among the first rows: the first that holds every column
/// the list needs; the title rows above it are skipped and named. A missing
/// or doubled column refuses the file, by name.
fn header(
    kind: ReferenceSource,
    table: &[Vec<String>],
    notices: &mut Vec<RowError>,
) -> Result<(usize, HashMap<String, usize>), Vec<RowError>> {
    if table.iter().all(|r| r.iter().all(|c| c.trim().is_empty())) {
        return Err(vec![err(0, None, msg!(IMPORT_EMPTY))]);
    }
    let (required, optional) = columns(kind);
    let holds = |n: &[String]| required.iter().filter(|c| n.iter().any(|h| h == *c)).count();
    let Some(at) = table.iter().take(HEADER_SEARCH).position(|r| holds(&names(r)) == required.len()) else {
        return Err(missing_columns(table, required, holds));
    };
    for (i, row) in table[..at].iter().enumerate() {
        let text: Vec<&str> = row.iter().map(|c| c.trim()).filter(|c| !c.is_empty()).collect();
        if !text.is_empty() {
            notices.push(err(i as i32 + 1, None, msg!(IMPORT_TITLE_ROW, text = text.join(" "))));
        }
    }
    let mut cols: HashMap<String, usize> = HashMap::new();
    let mut errors = Vec::new();
    for (i, h) in names(&table[at]).into_iter().enumerate().filter(|(_, h)| !h.is_empty()) {
        let known = required.contains(&h.as_str()) || optional.contains(&h.as_str());
        match cols.get(&h) {
            Some(first) if known => errors.push(err(
                at as i32 + 1,
                Some(&h),
                msg!(IMPORT_COLUMN_TWICE, column = &h, first = letter(*first), second = letter(i)),
            )),
            Some(_) => {}
            None => {
                if !known {
                    let text = label(&table[at], &HashMap::from([(h.clone(), i)]), &h);
                    notices.push(err(at as i32 + 1, Some(&text), msg!(IMPORT_COLUMN_IGNORED, column = &text)));
                }
                cols.insert(h, i);
            }
        }
    }
    if errors.is_empty() {
        Ok((at, cols))
    } else {
        Err(errors)
    }
}

/// Names every required column the closest header row lacks.
fn missing_columns(table: &[Vec<String>], required: &[&str], holds: impl Fn(&[String]) -> usize) -> Vec<RowError> {
    let (best, n) = table
        .iter()
        .take(HEADER_SEARCH)
        .enumerate()
        .map(|(i, r)| (i, names(r)))
        .max_by_key(|(i, n)| (holds(n), std::cmp::Reverse(*i)))
        .unwrap_or_default();
    required
        .iter()
        .filter(|c| !n.iter().any(|h| h == *c))
        .map(|c| {
            err(
                best as i32 + 1,
                Some(c),
                msg!(IMPORT_COLUMN_MISSING, column = c, search = HEADER_SEARCH, row = best + 1),
            )
        })
        .collect()
}

/// The rows below the header that hold anything, numbered as Excel shows
/// them; total rows (合计, 总计, 小计) are skipped and noted.
fn data_rows<'a>(
    table: &'a [Vec<String>],
    at: usize,
    cols: &'a HashMap<String, usize>,
    notices: &mut Vec<RowError>,
) -> Result<Vec<Row<'a>>, Vec<RowError>> {
    let mut data = Vec::new();
    for (i, cells) in table.iter().enumerate().skip(at + 1) {
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if normalize::is_total_row(cells) {
            notices.push(err(i as i32 + 1, None, msg!(IMPORT_TOTAL_ROW)));
            continue;
        }
        data.push(Row { number: i as i32 + 1, cells, cols, header: &table[at] });
    }
    if data.is_empty() {
        return Err(vec![err(0, None, msg!(IMPORT_NO_ROWS))]);
    }
    Ok(data)
}

/// The official region list: 12-digit codes, each once, and a known level.
fn region_rows(data: &[Row], errors: &mut Vec<RowError>) -> Vec<RegionRow> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for r in data {
        let code = r.code("区划代码", false, errors);
        if !code.is_empty() && (code.len() != 12 || !code.bytes().all(|b| b.is_ascii_digit())) {
            errors.push(r.err("区划代码", msg!(IMPORT_REGION_CODE, value = &code)));
        } else if !code.is_empty() && !seen.insert(code.clone()) {
            errors.push(r.err("区划代码", msg!(IMPORT_REGION_TWICE, value = &code)));
        }
        let name = r.required("名称", errors);
        if let Some(level) = region_level(r, errors) {
            out.push(RegionRow { row: r.number, code, name, level, parent: r.opt("上级区划代码") });
        }
    }
    out
}

/// The level as the official list spells it (several names per level).
fn region_level(r: &Row, errors: &mut Vec<RowError>) -> Option<RegionLevel> {
    match r.get("级别") {
        "全国" | "国家" => Some(RegionLevel::Nation),
        "省" => Some(RegionLevel::Province),
        "市" => Some(RegionLevel::City),
        "县" | "区" | "县级市" => Some(RegionLevel::County),
        "乡镇" | "乡" | "镇" | "街道" => Some(RegionLevel::Township),
        "村" | "行政村" | "社区" => Some(RegionLevel::Village),
        other => {
            errors.push(r.err("级别", msg!(IMPORT_LEVEL, value = other)));
            None
        }
    }
}

/// An office's list: the household columns all share, each code once, then
/// the columns of that list.
fn reference_rows(
    kind: ReferenceSource,
    data: &[Row],
    errors: &mut Vec<RowError>,
    notices: &mut Vec<RowError>,
) -> Vec<RefRow> {
    let mut out = Vec::new();
    let mut seen: HashMap<String, i32> = HashMap::new();
    for r in data {
        let code = r.code("户编号", false, errors);
        if let Some(first) = seen.get(&code) {
            errors.push(r.err("户编号", msg!(IMPORT_CODE_TWICE, value = &code, row = first)));
        } else if !code.is_empty() {
            seen.insert(code.clone(), r.number);
        }
        let mut row = RefRow {
            row: r.number,
            head_name: r.name("户主姓名", errors, notices),
            id_number: r.code("证件号码", true, errors).to_uppercase(),
            code,
            ..Default::default()
        };
        match kind {
            ReferenceSource::Poverty => poverty_fields(r, &mut row, errors),
            ReferenceSource::Appraisal => appraisal_fields(r, &mut row, errors),
            ReferenceSource::Renovation => renovation_fields(r, &mut row, errors),
            ReferenceSource::Regions => {}
        }
        out.push(row);
    }
    out
}

fn poverty_fields(r: &Row, row: &mut RefRow, errors: &mut Vec<RowError>) {
    row.township = Some(r.required("乡镇", errors));
    row.village = Some(r.required("行政村", errors));
    row.size = r.int("家庭人口数", 1..=30, true, errors).map(|n| n as i32);
    row.phone = r.opt("联系电话");
    row.exit_year = r.int("脱贫年度", 2000..=2100, false, errors).map(|n| n as i32);
}

fn appraisal_fields(r: &Row, row: &mut RefRow, errors: &mut Vec<RowError>) {
    let g = normalize::halfwidth(&r.required("鉴定等级", errors)).trim().to_uppercase();
    if !g.is_empty() && !matches!(g.as_str(), "A" | "B" | "C" | "D") {
        errors.push(r.err("鉴定等级", msg!(IMPORT_GRADE, value = &g)));
    }
    row.grade = Some(g);
    row.appraised_on = r.date("鉴定日期", true, errors);
    row.appraiser = r.opt("鉴定单位");
}

fn renovation_fields(r: &Row, row: &mut RefRow, errors: &mut Vec<RowError>) {
    row.renovation_year = r.int("改造年度", 1990..=2100, true, errors).map(|n| n as i32);
    let k = r.required("改造方式", errors);
    if !k.is_empty() && !matches!(k.as_str(), "拆除重建" | "修缮加固") {
        errors.push(r.err("改造方式", msg!(IMPORT_RENOVATION_KIND, value = &k)));
    }
    row.renovation_kind = Some(k);
    row.accepted_on = r.date("竣工验收日期", false, errors);
    if let (Some(on), Some(year)) = (row.accepted_on, row.renovation_year) {
        if chrono::Datelike::year(&on) < year {
            errors.push(r.err("竣工验收日期", msg!(IMPORT_ACCEPTED_BEFORE_RENOVATION, accepted = on, year = year)));
        }
    }
    row.subsidy = r.int("补助金额(元)", 0..=10_000_000, false, errors);
}

/// The path the reference data points to: an accepted renovation → RENOVATED;
/// else grade A/B → APPRAISED; else (C/D, no accepted renovation) → SECURED.
pub fn expected_path(grade: Option<&str>, renovation_accepted: bool) -> Option<SafetyPath> {
    if renovation_accepted {
        Some(SafetyPath::Renovated)
    } else {
        match grade {
            Some("A" | "B") => Some(SafetyPath::Appraised),
            Some(_) => Some(SafetyPath::Secured),
            None => None,
        }
    }
}
