//! The shapes of an export: headers, Chinese labels for codes, summary
//! tallies, and the sink that writes rows to an xlsx sheet (times as Excel
//! dates, record links as hyperlinks) or a CSV file.

use crate::domain::checks::{self, Arrangement, RenovationKind};
use crate::domain::error::{AppError, AppResult};
use crate::domain::privacy::Privacy;
use chrono::{DateTime, Datelike, Timelike, Utc};
use entity::{verification, SafetyPath, VerificationStatus};
use std::collections::HashMap;

/// Excel's limit of hyperlinks in one worksheet; rows past it carry the link
/// as text. It also bounds memory: the writer keeps every link until saving.
pub const MAX_LINKS: u32 = 65_530;
/// How times show in Excel (China Standard Time; CSV has the same as text).
const DATE_FORMAT: &str = "yyyy-mm-dd hh:mm";

pub const HOUSEHOLD_HEADERS: [&str; 16] = [
    "户编号",
    "户主姓名",
    "证件号码",
    "乡镇",
    "村",
    "参考类型",
    "核验类型",
    "佐证",
    "状态",
    "核验人",
    "核准人",
    "提交时间",
    "核准时间",
    "未解决问题数",
    "未解决问题",
    "记录链接",
];
pub const SUMMARY_HEADERS: [&str; 14] = [
    "乡镇",
    "村",
    "户数",
    "未开始",
    "草稿",
    "待审核",
    "已退回",
    "已核准",
    "回头看重开",
    "鉴定安全",
    "改造安全",
    "保障安全",
    "已提交%",
    "已核准%",
];

pub(super) fn status_zh(s: Option<VerificationStatus>) -> &'static str {
    match s {
        None | Some(VerificationStatus::NotStarted) => "未开始",
        Some(VerificationStatus::Draft) => "草稿",
        Some(VerificationStatus::Submitted) => "待审核",
        Some(VerificationStatus::Returned) => "已退回",
        Some(VerificationStatus::Approved) => "已核准",
        Some(VerificationStatus::Reopened) => "回头看重开",
    }
}

pub(super) fn path_zh(p: Option<SafetyPath>) -> &'static str {
    match p {
        Some(SafetyPath::Appraised) => "鉴定安全",
        Some(SafetyPath::Renovated) => "改造安全",
        Some(SafetyPath::Secured) => "保障安全",
        None => "",
    }
}

/// The evidence in words; addresses are free text, so they follow the one
/// rule for personal data (withheld from SUPERVISOR accounts), as in the API.
pub(super) fn evidence_zh(v: &verification::Model, privacy: Privacy) -> String {
    let e = checks::evidence_of(v);
    match v.path {
        Some(SafetyPath::Appraised) => match e.appraisal {
            Some(a) if a.confirmed_on_site => "鉴定结论已现场核实".into(),
            _ => "鉴定结论未核实".into(),
        },
        Some(SafetyPath::Renovated) => e
            .renovation
            .map(|r| {
                let kind = match r.kind {
                    RenovationKind::Rebuilt => "拆除重建",
                    RenovationKind::Reinforced => "修缮加固",
                    RenovationKind::Relocated => "易地扶贫搬迁",
                    RenovationKind::Resettled => "其他移民搬迁",
                };
                match r.new_address {
                    Some(a) if !a.is_empty() => format!("{kind}；新址：{}", privacy.text(&a)),
                    _ => kind.to_owned(),
                }
            })
            .unwrap_or_default(),
        Some(SafetyPath::Secured) => e
            .secured
            .map(|s| {
                let how = match s.arrangement {
                    Arrangement::PublicRental => "集体公租房",
                    Arrangement::ElderlyHome => "幸福大院",
                    Arrangement::RentedFarmhouse => "租赁闲置农房",
                    Arrangement::Relatives => "投亲靠友",
                    Arrangement::Other => "其他",
                };
                format!("{how}；{}", privacy.text(&s.address))
            })
            .unwrap_or_default(),
        None => String::new(),
    }
}

/// Counts for one region in the summary, read from the progress counters
/// (kept in every writing transaction; practice never counts).
#[derive(Default, Clone)]
pub(super) struct Tally {
    households: i64,
    by_status: [i64; 6],
    by_path: [i64; 3],
}

impl Tally {
    pub fn from_counters(c: Option<&HashMap<String, i64>>) -> Self {
        let get = |k: &str| c.and_then(|c| c.get(k)).copied().unwrap_or(0);
        let statuses = ["NOT_STARTED", "DRAFT", "SUBMITTED", "RETURNED", "APPROVED", "REOPENED"];
        let paths = [SafetyPath::Appraised, SafetyPath::Renovated, SafetyPath::Secured];
        Self {
            households: get("households"),
            by_status: statuses.map(|st| get(&format!("status:{st}"))),
            by_path: paths.map(|p| get(&format!("path:{}", p.as_str()))),
        }
    }
    pub fn row(&self, township: &str, village: &str) -> Vec<Cell> {
        let submitted = self.by_status[2] + self.by_status[4];
        let pct = |n: i64| {
            if self.households == 0 {
                0.0
            } else {
                (n as f64 * 1000.0 / self.households as f64).round() / 10.0
            }
        };
        let mut r = vec![Cell::Text(township.into()), Cell::Text(village.into()), Cell::Num(self.households as f64)];
        r.extend(self.by_status.iter().map(|n| Cell::Num(*n as f64)));
        r.extend(self.by_path.iter().map(|n| Cell::Num(*n as f64)));
        r.push(Cell::Pct(pct(submitted)));
        r.push(Cell::Pct(pct(self.by_status[4])));
        r
    }
}

pub(super) enum Cell {
    Text(String),
    Num(f64),
    /// A percentage with one decimal (`0.0`, `4.3`), as the docs promise.
    Pct(f64),
    /// A moment, shown in China Standard Time: an Excel date in .xlsx.
    Time(DateTime<Utc>),
    /// A web address: a hyperlink in .xlsx.
    Link(String),
}

fn china(t: DateTime<Utc>) -> DateTime<chrono_tz::Tz> {
    t.with_timezone(&chrono_tz::Asia::Shanghai)
}

/// The China-time wall clock of `t` as an Excel date and time.
fn excel_time(t: DateTime<Utc>) -> Result<rust_xlsxwriter::ExcelDateTime, rust_xlsxwriter::XlsxError> {
    let l = china(t);
    rust_xlsxwriter::ExcelDateTime::from_ymd(l.year() as u16, l.month() as u8, l.day() as u8)?.and_hms(
        l.hour() as u16,
        l.minute() as u8,
        l.second(),
    )
}

impl Cell {
    /// Spreadsheet programs run a CSV cell starting with `= + - @`, tab or CR
    /// as a formula (a head's name `=HYPERLINK(…)` would be live), so such
    /// text gets a leading `'`, which they show as plain text.
    fn csv(&self) -> String {
        match self {
            Cell::Text(s) if s.starts_with(['=', '+', '-', '@', '\t', '\r']) => format!("'{s}"),
            Cell::Text(s) | Cell::Link(s) => s.clone(),
            Cell::Num(n) => n.to_string(),
            Cell::Pct(n) => format!("{n:.1}"),
            Cell::Time(t) => china(*t).format("%Y-%m-%d %H:%M").to_string(),
        }
    }
}

/// Where rows go: an xlsx sheet or a CSV file.
pub(super) enum Sink {
    Xlsx(Box<XlsxSink>),
    Csv(csv::Writer<std::fs::File>),
}

/// A workbook being written: the sheet and row the next data row goes to.
pub(super) struct XlsxSink {
    pub wb: rust_xlsxwriter::Workbook,
    pub sheet: usize,
    pub row: u32,
    /// The index of the summary sheet (`汇总`).
    pub summary_sheet: usize,
    /// Hyperlinks written so far (at most MAX_LINKS).
    pub links: u32,
    pub date: rust_xlsxwriter::Format,
    pub one_decimal: rust_xlsxwriter::Format,
}

impl XlsxSink {
    pub fn new(wb: rust_xlsxwriter::Workbook, summary_sheet: usize) -> Self {
        let date = rust_xlsxwriter::Format::new().set_num_format(DATE_FORMAT);
        let one_decimal = rust_xlsxwriter::Format::new().set_num_format("0.0");
        Self { wb, sheet: 0, row: 1, summary_sheet, links: 0, date, one_decimal }
    }

    fn write(&mut self, cells: &[Cell]) -> anyhow::Result<()> {
        let row = self.row;
        let ws = self.wb.worksheet_from_index(self.sheet)?;
        for (c, cell) in cells.iter().enumerate() {
            let col = c as u16;
            match cell {
                // A blank cell, not an empty string: a date column stays all dates.
                Cell::Text(s) if s.is_empty() => continue,
                Cell::Text(s) => ws.write_string(row, col, s)?,
                Cell::Num(n) => ws.write_number(row, col, *n)?,
                Cell::Pct(n) => ws.write_number_with_format(row, col, *n, &self.one_decimal)?,
                Cell::Time(t) => ws.write_datetime_with_format(row, col, excel_time(*t)?, &self.date)?,
                Cell::Link(u) if self.links < MAX_LINKS && (u.starts_with("https://") || u.starts_with("http://")) => {
                    self.links += 1;
                    ws.write_url(row, col, rust_xlsxwriter::Url::new(u.as_str()))?
                }
                Cell::Link(u) => ws.write_string(row, col, u)?,
            };
        }
        self.row += 1;
        Ok(())
    }
}

impl Sink {
    pub fn write(&mut self, cells: &[Cell]) -> anyhow::Result<()> {
        match self {
            Sink::Xlsx(x) => x.write(cells)?,
            Sink::Csv(w) => w.write_record(cells.iter().map(Cell::csv))?,
        }
        Ok(())
    }
}

pub(super) fn header_sheet(
    ws: &mut rust_xlsxwriter::Worksheet,
    name: &str,
    headers: &[&str],
    widths: &[f64],
) -> anyhow::Result<()> {
    let bold = rust_xlsxwriter::Format::new().set_bold().set_background_color("D9E1F2");
    ws.set_name(name)?;
    for (i, w) in widths.iter().enumerate() {
        ws.set_column_width(i as u16, *w)?;
    }
    for (i, h) in headers.iter().enumerate() {
        ws.write_string_with_format(0, i as u16, *h, &bold)?;
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}

impl Sink {
    /// Saves the workbook (written last: the summary sheet is in memory) or flushes the CSV.
    pub fn finish(self, path: &std::path::Path) -> AppResult<()> {
        match self {
            Sink::Xlsx(mut x) => x.wb.save(path).map_err(|e| AppError::Internal(e.into())),
            Sink::Csv(mut w) => w.flush().map_err(|e| AppError::Internal(e.into())),
        }
    }
}
