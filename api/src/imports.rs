//! Reference imports: the official region list and the three offices'
//! spreadsheets (CSV in UTF-8, UTF-8 with BOM or GB18030, or .xlsx).
//!
//! A file that cannot be read as what it claims is refused whole, with every
//! bad row reported and the database unchanged. Data that reads fine but is
//! wrong or inconsistent is imported and flagged by the checks. Importing the
//! same content again changes nothing; a newer file supersedes older rows and
//! keeps them as history.

use crate::{
    audit::{self, Actor, NewEvent},
    auth::Viewer,
    checks,
    error::{AppError, AppResult},
    AppState,
};
use chrono::NaiveDate;
use entity::{household, reference_import, reference_record, region, ReferenceSource, RegionLevel, Role, SafetyPath};
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RowError {
    /// Row number as Excel shows it (the header is row 1); 0 for the file as a whole.
    pub row: i32,
    pub column: Option<String>,
    pub reason: String,
}

#[derive(Clone, Debug, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub kind: String,
    pub file_name: String,
    pub encoding: String,
    pub rows: i32,
    pub accepted: bool,
    pub already_imported: bool,
    pub created: i32,
    pub updated: i32,
    pub unchanged: i32,
    pub superseded: i32,
    pub errors: Vec<RowError>,
    /// Open ERROR findings in the campaign after the import, by rule.
    pub flagged: Vec<(String, u64)>,
    /// Rows whose household is not on the poverty list (no household to flag).
    pub not_on_poverty_list: Vec<String>,
}

fn err(row: i32, column: Option<&str>, reason: impl Into<String>) -> RowError {
    RowError { row, column: column.map(str::to_owned), reason: reason.into() }
}

// ------------------------------------------------------------------ reading

/// Decodes the bytes into rows of cells and names the encoding found.
pub fn read_table(bytes: &[u8]) -> Result<(Vec<Vec<String>>, &'static str), RowError> {
    if bytes.starts_with(b"PK\x03\x04") {
        return read_xlsx(bytes).map(|t| (t, "XLSX"));
    }
    let (text, encoding) = if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        (
            std::str::from_utf8(rest)
                .map_err(|_| err(0, None, "The file says UTF-8 but is not valid UTF-8."))?
                .to_owned(),
            "UTF-8-BOM",
        )
    } else if let Ok(t) = std::str::from_utf8(bytes) {
        (t.to_owned(), "UTF-8")
    } else {
        match encoding_rs::GB18030.decode_without_bom_handling_and_without_replacement(bytes) {
            Some(t) => (t.into_owned(), "GB18030"),
            None => {
                return Err(err(
                    0,
                    None,
                    "Unreadable encoding: save the file as CSV UTF-8, a GBK/GB18030 CSV, or .xlsx.",
                ))
            }
        }
    };
    let mut rdr = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| err(i as i32 + 1, None, format!("Not a well-formed CSV row: {e}")))?;
        rows.push(rec.iter().map(|c| c.trim().to_owned()).collect());
    }
    Ok((rows, encoding))
}

fn read_xlsx(bytes: &[u8]) -> Result<Vec<Vec<String>>, RowError> {
    use calamine::{Data, Reader, Xlsx};
    let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes))
        .map_err(|e| err(0, None, format!("Not a readable .xlsx workbook: {e}")))?;
    let range = wb
        .worksheet_range_at(0)
        .ok_or_else(|| err(0, None, "The workbook has no sheet."))?
        .map_err(|e| err(0, None, format!("The first sheet cannot be read: {e}")))?;
    Ok(range
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    Data::Empty => String::new(),
                    Data::String(s) => s.trim().to_owned(),
                    Data::Int(i) => i.to_string(),
                    Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
                    Data::Float(f) => f.to_string(),
                    Data::Bool(b) => b.to_string(),
                    Data::DateTime(d) => d.as_datetime().map(|d| d.date().to_string()).unwrap_or_default(),
                    Data::DateTimeIso(s) => s.chars().take(10).collect(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect())
}

/// Cells by column name, for one data row.
struct Row<'a> {
    number: i32,
    cells: &'a [String],
    cols: &'a HashMap<String, usize>,
}

impl Row<'_> {
    fn get(&self, col: &str) -> &str {
        self.cols.get(col).and_then(|i| self.cells.get(*i)).map(String::as_str).unwrap_or("")
    }
    fn required(&self, col: &str, errors: &mut Vec<RowError>) -> String {
        let v = self.get(col);
        if v.is_empty() {
            errors.push(err(self.number, Some(col), "Required value is empty."));
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
                errors.push(err(self.number, Some(col), "Required value is empty."));
            }
            return None;
        }
        match v.parse::<i64>() {
            Ok(n) if range.contains(&n) => Some(n),
            Ok(n) => {
                errors.push(err(self.number, Some(col), format!("{n} is outside {}–{}.", range.start(), range.end())));
                None
            }
            Err(_) => {
                errors.push(err(self.number, Some(col), format!("'{v}' is not a whole number.")));
                None
            }
        }
    }
    fn date(&self, col: &str, required: bool, errors: &mut Vec<RowError>) -> Option<NaiveDate> {
        let v = self.get(col);
        if v.is_empty() {
            if required {
                errors.push(err(self.number, Some(col), "Required value is empty."));
            }
            return None;
        }
        let parsed = ["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日"]
            .iter()
            .find_map(|f| NaiveDate::parse_from_str(v, f).ok());
        if parsed.is_none() {
            errors.push(err(self.number, Some(col), format!("'{v}' is not a date (YYYY-MM-DD).")));
        }
        parsed
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
pub fn parse(kind: ReferenceSource, table: &[Vec<String>]) -> Result<Parsed, Vec<RowError>> {
    let Some(header) = table.first() else { return Err(vec![err(0, None, "The file is empty.")]) };
    let cols: HashMap<String, usize> = header.iter().enumerate().map(|(i, h)| (h.trim().to_owned(), i)).collect();
    let (required, _optional) = columns(kind);
    let missing: Vec<RowError> = required
        .iter()
        .filter(|c| !cols.contains_key(**c))
        .map(|c| err(1, Some(c), format!("Required column '{c}' is missing.")))
        .collect();
    if !missing.is_empty() {
        return Err(missing);
    }
    let mut errors = Vec::new();
    let data: Vec<Row> = table[1..]
        .iter()
        .enumerate()
        .filter(|(_, cells)| cells.iter().any(|c| !c.is_empty()))
        .map(|(i, cells)| Row { number: i as i32 + 2, cells, cols: &cols })
        .collect();
    if data.is_empty() {
        return Err(vec![err(0, None, "The file has a header but no rows.")]);
    }
    let parsed = if kind == ReferenceSource::Regions {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        for r in &data {
            let code = r.required("区划代码", &mut errors);
            if !code.is_empty() && (code.len() != 12 || !code.bytes().all(|b| b.is_ascii_digit())) {
                errors.push(err(r.number, Some("区划代码"), format!("'{code}' is not a 12-digit region code.")));
            } else if !code.is_empty() && !seen.insert(code.clone()) {
                errors.push(err(r.number, Some("区划代码"), format!("Region code {code} appears twice in the file.")));
            }
            let name = r.required("名称", &mut errors);
            let level = match r.get("级别") {
                "省" => Some(RegionLevel::Province),
                "市" => Some(RegionLevel::City),
                "县" | "区" | "县级市" => Some(RegionLevel::County),
                "乡镇" | "乡" | "镇" | "街道" => Some(RegionLevel::Township),
                "村" | "行政村" | "社区" => Some(RegionLevel::Village),
                other => {
                    errors.push(err(r.number, Some("级别"), format!("'{other}' is not a level (县, 乡镇 or 村).")));
                    None
                }
            };
            if let Some(level) = level {
                out.push(RegionRow { row: r.number, code, name, level, parent: r.opt("上级区划代码") });
            }
        }
        Parsed::Regions(out)
    } else {
        let mut out = Vec::new();
        let mut seen: HashMap<String, i32> = HashMap::new();
        for r in &data {
            let code = r.required("户编号", &mut errors);
            if let Some(first) = seen.get(&code) {
                errors.push(err(r.number, Some("户编号"), format!("Household code {code} is also on row {first}.")));
            } else if !code.is_empty() {
                seen.insert(code.clone(), r.number);
            }
            let mut row = RefRow {
                row: r.number,
                head_name: r.required("户主姓名", &mut errors),
                id_number: r.required("证件号码", &mut errors).to_uppercase(),
                code,
                ..Default::default()
            };
            match kind {
                ReferenceSource::Poverty => {
                    row.township = Some(r.required("乡镇", &mut errors));
                    row.village = Some(r.required("行政村", &mut errors));
                    row.size = r.int("家庭人口数", 1..=30, true, &mut errors).map(|n| n as i32);
                    row.phone = r.opt("联系电话");
                    row.exit_year = r.int("脱贫年度", 2000..=2100, false, &mut errors).map(|n| n as i32);
                }
                ReferenceSource::Appraisal => {
                    let g = r.required("鉴定等级", &mut errors).to_uppercase();
                    if !g.is_empty() && !matches!(g.as_str(), "A" | "B" | "C" | "D") {
                        errors.push(err(r.number, Some("鉴定等级"), format!("'{g}' is not a grade (A, B, C or D).")));
                    }
                    row.grade = Some(g);
                    row.appraised_on = r.date("鉴定日期", true, &mut errors);
                    row.appraiser = r.opt("鉴定单位");
                }
                ReferenceSource::Renovation => {
                    row.renovation_year = r.int("改造年度", 1990..=2100, true, &mut errors).map(|n| n as i32);
                    let k = r.required("改造方式", &mut errors);
                    if !k.is_empty() && !matches!(k.as_str(), "拆除重建" | "修缮加固") {
                        errors.push(err(r.number, Some("改造方式"), format!("'{k}' is not 拆除重建 or 修缮加固.")));
                    }
                    row.renovation_kind = Some(k);
                    row.accepted_on = r.date("竣工验收日期", false, &mut errors);
                    row.subsidy = r.int("补助金额(元)", 0..=10_000_000, false, &mut errors);
                }
                ReferenceSource::Regions => {}
            }
            out.push(row);
        }
        Parsed::References(out)
    };
    if errors.is_empty() {
        Ok(parsed)
    } else {
        errors.sort_by_key(|e| e.row);
        Err(errors)
    }
}

// ------------------------------------------------------------------ applying

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

pub async fn import(
    state: &AppState,
    viewer: &Viewer,
    campaign_id: Uuid,
    kind: ReferenceSource,
    file_name: &str,
    bytes: &[u8],
    client_addr: Option<String>,
) -> AppResult<Report> {
    viewer.require_role(&[Role::Admin], "import reference data")?;
    let campaign = crate::progress::campaign_or_latest(&state.db, viewer, Some(campaign_id)).await?;
    let county = region::Entity::find_by_id(campaign.county_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::not_found("county"))?;
    if !viewer.covers(&county) {
        return Err(AppError::forbidden("Only the county's own team imports its reference data."));
    }
    let sha = hex::encode(Sha256::digest(bytes));
    let mut report = Report { kind: kind.as_str().into(), file_name: file_name.into(), ..Default::default() };
    if let Some(prev) = reference_import::Entity::find()
        .filter(reference_import::Column::CampaignId.eq(campaign.id))
        .filter(reference_import::Column::Kind.eq(kind))
        .filter(reference_import::Column::ContentSha256.eq(&sha))
        .one(&state.db)
        .await?
    {
        let mut r: Report = serde_json::from_value(prev.report).map(|r: StoredReport| r.into()).unwrap_or_default();
        r.already_imported = true;
        r.created = 0;
        r.updated = 0;
        r.superseded = 0;
        return Ok(r);
    }
    let (table, encoding) = match read_table(bytes) {
        Ok(t) => t,
        Err(e) => {
            report.errors = vec![e];
            return Ok(report);
        }
    };
    report.encoding = encoding.into();
    report.rows = table.len().saturating_sub(1) as i32;
    let parsed = match parse(kind, &table) {
        Ok(p) => p,
        Err(errors) => {
            report.errors = errors;
            return Ok(report);
        }
    };
    let (_w, txn) = state.begin().await?;
    let import_id = Uuid::new_v4();
    let now = audit::now();
    reference_import::ActiveModel {
        id: Set(import_id),
        campaign_id: Set(campaign.id),
        kind: Set(kind),
        file_name: Set(file_name.into()),
        content_sha256: Set(sha),
        encoding: Set(encoding.into()),
        row_count: Set(report.rows),
        report: Set(serde_json::json!({})),
        imported_by: Set(viewer.account_id()),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let outcome = match parsed {
        Parsed::Regions(rows) => apply_regions(&txn, viewer, &rows, &mut report).await,
        Parsed::References(rows) => {
            apply_references(&txn, &campaign, &county, kind, import_id, file_name, &rows, &mut report).await
        }
    };
    outcome?;
    if !report.errors.is_empty() {
        // Row problems found while applying (a township not on the list, a region
        // outside the county): the whole file is refused and the transaction rolled back.
        drop(txn);
        return Ok(report);
    }
    // Recompute expected paths and run every check over the campaign.
    if kind != ReferenceSource::Regions {
        refresh_expected_paths(&txn, campaign.id).await?;
    }
    let ids: Vec<Uuid> = {
        use sea_orm::QuerySelect;
        household::Entity::find()
            .select_only()
            .column(household::Column::Id)
            .filter(household::Column::CampaignId.eq(campaign.id))
            .into_tuple()
            .all(&txn)
            .await?
    };
    let summary = checks::run(&txn, campaign.id, &ids).await?;
    checks::audit(&txn, &Actor::of(viewer, client_addr.clone()), &summary, Some(county.id)).await?;
    let mut flagged: Vec<(String, u64)> = summary.open_errors_by_rule.into_iter().collect();
    flagged.sort();
    report.flagged = flagged;
    report.accepted = true;
    crate::counters::recount(&txn, campaign.id).await?;
    reference_import::Entity::update_many()
        .col_expr(
            reference_import::Column::Report,
            Expr::value(serde_json::to_value(StoredReport::from(&report)).unwrap_or_default()),
        )
        .filter(reference_import::Column::Id.eq(import_id))
        .exec(&txn)
        .await?;
    audit::append(
        &txn,
        &Actor::of(viewer, client_addr),
        NewEvent {
            action: "IMPORT_DONE",
            entity_type: "ReferenceImport",
            entity_id: Some(import_id),
            region_id: Some(county.id),
            after: Some(serde_json::json!({ "kind": kind.as_str(), "file": file_name, "rows": report.rows,
                "created": report.created, "updated": report.updated, "superseded": report.superseded })),
            ..Default::default()
        },
    )
    .await?;
    crate::webhooks::enqueue(
        &txn,
        county.id,
        crate::webhooks::WebhookEvent::ImportDone,
        serde_json::json!({ "kind": kind.as_str(), "file": file_name, "rows": report.rows, "created": report.created,
            "updated": report.updated, "superseded": report.superseded }),
        None,
    )
    .await?;
    txn.commit().await?;
    state.notifier.publish(&state.db, crate::regions::subtree_ids(&state.db, &county).await?).await;
    Ok(report)
}

/// The report as stored with the import (for an identical re-import).
#[derive(Serialize, serde::Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct StoredReport {
    kind: String,
    file_name: String,
    encoding: String,
    rows: i32,
    unchanged: i32,
    flagged: Vec<(String, u64)>,
    not_on_poverty_list: Vec<String>,
}

impl From<&Report> for StoredReport {
    fn from(r: &Report) -> Self {
        Self {
            kind: r.kind.clone(),
            file_name: r.file_name.clone(),
            encoding: r.encoding.clone(),
            rows: r.rows,
            unchanged: r.created + r.updated + r.unchanged,
            flagged: r.flagged.clone(),
            not_on_poverty_list: r.not_on_poverty_list.clone(),
        }
    }
}

impl From<StoredReport> for Report {
    fn from(s: StoredReport) -> Self {
        Report {
            kind: s.kind,
            file_name: s.file_name,
            encoding: s.encoding,
            rows: s.rows,
            accepted: true,
            unchanged: s.unchanged,
            flagged: s.flagged,
            not_on_poverty_list: s.not_on_poverty_list,
            ..Default::default()
        }
    }
}

async fn apply_regions<C: ConnectionTrait>(
    conn: &C,
    viewer: &Viewer,
    rows: &[RegionRow],
    report: &mut Report,
) -> AppResult<()> {
    let mut sorted: Vec<&RegionRow> = rows.iter().collect();
    sorted.sort_by_key(|r| r.level.depth());
    let existing: HashMap<String, region::Model> =
        region::Entity::find().all(conn).await?.into_iter().map(|r| (r.code.clone(), r)).collect();
    let mut known: HashMap<String, (Uuid, String)> =
        existing.values().map(|r| (r.code.clone(), (r.id, r.path.clone()))).collect();
    let now = audit::now();
    for r in sorted {
        let parent = r.parent.as_ref().and_then(|p| known.get(p).cloned());
        let path = match &parent {
            Some((_, ppath)) => format!("{ppath}{}/", r.code),
            None => format!("{}/", r.code),
        };
        // Only the viewer's own region and what lies below it.
        if !path.starts_with(&viewer.scope.path) {
            report.errors.push(err(r.row, Some("区划代码"), format!("{} is outside your region.", r.code)));
            continue;
        }
        if r.level.depth() > 2 && parent.is_none() {
            report.errors.push(err(r.row, Some("上级区划代码"), "The parent region is neither in the file nor known."));
            continue;
        }
        match existing.get(&r.code) {
            Some(e) if e.name == r.name && e.level == r.level && e.path == path => report.unchanged += 1,
            Some(e) => {
                let mut am: region::ActiveModel = e.clone().into();
                am.name = Set(r.name.clone());
                am.level = Set(r.level);
                am.parent_id = Set(parent.as_ref().map(|p| p.0));
                am.path = Set(path.clone());
                am.update(conn).await?;
                report.updated += 1;
            }
            None => {
                let id = Uuid::new_v4();
                region::ActiveModel {
                    id: Set(id),
                    code: Set(r.code.clone()),
                    name: Set(r.name.clone()),
                    level: Set(r.level),
                    parent_id: Set(parent.as_ref().map(|p| p.0)),
                    path: Set(path.clone()),
                    latitude: Set(None),
                    longitude: Set(None),
                    created_at: Set(now),
                }
                .insert(conn)
                .await?;
                known.insert(r.code.clone(), (id, path));
                report.created += 1;
            }
        }
    }
    Ok(())
}

fn same_record(old: &reference_record::Model, new: &RefRow) -> bool {
    old.head_name == new.head_name
        && old.id_number == new.id_number
        && old.township_name == new.township
        && old.village_name == new.village
        && old.household_size == new.size
        && old.phone == new.phone
        && old.exit_year == new.exit_year
        && old.grade == new.grade
        && old.appraised_on == new.appraised_on
        && old.appraiser == new.appraiser
        && old.renovation_year == new.renovation_year
        && old.renovation_kind == new.renovation_kind
        && old.accepted_on == new.accepted_on
        && old.subsidy_yuan == new.subsidy
}

#[allow(clippy::too_many_arguments)]
async fn apply_references<C: ConnectionTrait>(
    conn: &C,
    campaign: &entity::campaign::Model,
    county: &region::Model,
    kind: ReferenceSource,
    import_id: Uuid,
    file_name: &str,
    rows: &[RefRow],
    report: &mut Report,
) -> AppResult<()> {
    let now = audit::now();
    let mut households: HashMap<String, household::Model> = household::Entity::find()
        .filter(household::Column::CampaignId.eq(campaign.id))
        .all(conn)
        .await?
        .into_iter()
        .map(|h| (h.code.clone(), h))
        .collect();
    if kind == ReferenceSource::Poverty {
        // Townships and villages by name, from the official list.
        let regions = region::Entity::find().filter(region::Column::Path.starts_with(&county.path)).all(conn).await?;
        let townships: HashMap<&str, &region::Model> =
            regions.iter().filter(|r| r.level == RegionLevel::Township).map(|r| (r.name.as_str(), r)).collect();
        let villages: HashMap<(Uuid, &str), &region::Model> = regions
            .iter()
            .filter(|r| r.level == RegionLevel::Village)
            .filter_map(|r| r.parent_id.map(|p| ((p, r.name.as_str()), r)))
            .collect();
        let mut new_households = Vec::new();
        for r in rows {
            let tname = r.township.as_deref().unwrap_or("");
            let Some(t) = townships.get(tname) else {
                report.errors.push(err(
                    r.row,
                    Some("乡镇"),
                    format!("Township '{tname}' is not on the official region list."),
                ));
                continue;
            };
            let village = villages.get(&(t.id, r.village.as_deref().unwrap_or(""))).map(|v| v.id);
            match households.get(&r.code) {
                Some(h) => {
                    let changed = h.head_name != r.head_name
                        || h.id_number != r.id_number
                        || h.size != r.size
                        || h.phone != r.phone
                        || h.township_id != t.id
                        || h.village_id != village;
                    if changed {
                        let mut am: household::ActiveModel = h.clone().into();
                        am.head_name = Set(r.head_name.clone());
                        am.id_number = Set(r.id_number.clone());
                        am.size = Set(r.size);
                        am.phone = Set(r.phone.clone());
                        am.township_id = Set(t.id);
                        am.village_id = Set(village);
                        am.updated_at = Set(now);
                        let h2 = am.update(conn).await?;
                        households.insert(r.code.clone(), h2);
                    }
                }
                None => {
                    let h = household::Model {
                        id: Uuid::new_v4(),
                        campaign_id: campaign.id,
                        code: r.code.clone(),
                        head_name: r.head_name.clone(),
                        id_number: r.id_number.clone(),
                        size: r.size,
                        phone: r.phone.clone(),
                        county_id: county.id,
                        township_id: t.id,
                        village_id: village,
                        expected_path: None,
                        created_at: now,
                        updated_at: now,
                    };
                    new_households.push(household::ActiveModel::from(h.clone()));
                    households.insert(r.code.clone(), h);
                }
            }
        }
        if !report.errors.is_empty() {
            return Ok(());
        }
        for chunk in new_households.chunks(300) {
            household::Entity::insert_many(chunk.to_vec()).exec_without_returning(conn).await?;
        }
        // References imported earlier for households that now exist get linked.
        for chunk in rows.chunks(300) {
            for r in chunk {
                if let Some(h) = households.get(&r.code) {
                    reference_record::Entity::update_many()
                        .col_expr(reference_record::Column::HouseholdId, Expr::value(h.id))
                        .filter(reference_record::Column::CampaignId.eq(campaign.id))
                        .filter(reference_record::Column::HouseholdCode.eq(r.code.clone()))
                        .filter(reference_record::Column::HouseholdId.is_null())
                        .exec(conn)
                        .await?;
                }
            }
        }
    }
    // The current records of this source, by household code.
    let current: HashMap<String, reference_record::Model> = reference_record::Entity::find()
        .filter(reference_record::Column::CampaignId.eq(campaign.id))
        .filter(reference_record::Column::Source.eq(kind))
        .filter(reference_record::Column::Current.eq(true))
        .all(conn)
        .await?
        .into_iter()
        .map(|r| (r.household_code.clone(), r))
        .collect();
    let in_file: HashSet<&str> = rows.iter().map(|r| r.code.as_str()).collect();
    let mut inserts = Vec::new();
    let mut supersede = Vec::new();
    for r in rows {
        let household_id = households.get(&r.code).map(|h| h.id);
        if household_id.is_none() {
            report.not_on_poverty_list.push(r.code.clone());
        }
        match current.get(&r.code) {
            Some(old) if same_record(old, r) => {
                report.unchanged += 1;
                continue;
            }
            Some(old) => {
                supersede.push(old.id);
                report.updated += 1;
            }
            None => report.created += 1,
        }
        inserts.push(reference_record::ActiveModel {
            id: Set(Uuid::new_v4()),
            campaign_id: Set(campaign.id),
            import_id: Set(Some(import_id)),
            source: Set(kind),
            household_code: Set(r.code.clone()),
            household_id: Set(household_id),
            head_name: Set(r.head_name.clone()),
            id_number: Set(r.id_number.clone()),
            township_name: Set(r.township.clone()),
            village_name: Set(r.village.clone()),
            household_size: Set(r.size),
            phone: Set(r.phone.clone()),
            exit_year: Set(r.exit_year),
            grade: Set(r.grade.clone()),
            appraised_on: Set(r.appraised_on),
            appraiser: Set(r.appraiser.clone()),
            renovation_year: Set(r.renovation_year),
            renovation_kind: Set(r.renovation_kind.clone()),
            accepted_on: Set(r.accepted_on),
            subsidy_yuan: Set(r.subsidy),
            source_file: Set(file_name.into()),
            row_number: Set(r.row),
            current: Set(true),
            created_at: Set(now),
        });
    }
    // A newer list no longer holding a household: its old row becomes history.
    for (code, old) in &current {
        if !in_file.contains(code.as_str()) {
            supersede.push(old.id);
            report.superseded += 1;
        }
    }
    for chunk in supersede.chunks(300) {
        reference_record::Entity::update_many()
            .col_expr(reference_record::Column::Current, Expr::value(false))
            .filter(reference_record::Column::Id.is_in(chunk.to_vec()))
            .exec(conn)
            .await?;
    }
    for chunk in inserts.chunks(200) {
        reference_record::Entity::insert_many(chunk.to_vec()).exec_without_returning(conn).await?;
    }
    Ok(())
}

async fn refresh_expected_paths<C: ConnectionTrait>(conn: &C, campaign_id: Uuid) -> AppResult<()> {
    let refs = reference_record::Entity::find()
        .filter(reference_record::Column::CampaignId.eq(campaign_id))
        .filter(reference_record::Column::Current.eq(true))
        .filter(reference_record::Column::Source.is_in([ReferenceSource::Appraisal, ReferenceSource::Renovation]))
        .all(conn)
        .await?;
    let mut grade: HashMap<Uuid, String> = HashMap::new();
    let mut accepted: HashSet<Uuid> = HashSet::new();
    for r in &refs {
        let Some(h) = r.household_id else { continue };
        if r.source == ReferenceSource::Appraisal {
            if let Some(g) = &r.grade {
                grade.insert(h, g.clone());
            }
        } else if r.accepted_on.is_some() {
            accepted.insert(h);
        }
    }
    let households = household::Entity::find().filter(household::Column::CampaignId.eq(campaign_id)).all(conn).await?;
    let mut by_path: HashMap<Option<SafetyPath>, Vec<Uuid>> = HashMap::new();
    for h in households {
        let p = expected_path(grade.get(&h.id).map(String::as_str), accepted.contains(&h.id));
        if p != h.expected_path {
            by_path.entry(p).or_default().push(h.id);
        }
    }
    for (p, ids) in by_path {
        for chunk in ids.chunks(300) {
            household::Entity::update_many()
                .col_expr(household::Column::ExpectedPath, Expr::value(p.map(|p| p.as_str().to_owned())))
                .filter(household::Column::Id.is_in(chunk.to_vec()))
                .exec(conn)
                .await?;
        }
    }
    Ok(())
}

// ------------------------------------------------------------------ GraphQL

use crate::graphql::CtxExt;
use async_graphql::{Context, Enum, Object, SimpleObject, Upload, ID};

/// Which official list a file is.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ImportKind {
    /// 统计用区划代码: the region list (import it first).
    Regions,
    /// 建档立卡户名单: the poverty office's household list.
    Poverty,
    /// 房屋鉴定: the housing bureau's appraisals.
    Appraisal,
    /// 危房改造: the housing bureau's renovations.
    Renovation,
}

impl From<ImportKind> for ReferenceSource {
    fn from(k: ImportKind) -> Self {
        match k {
            ImportKind::Regions => Self::Regions,
            ImportKind::Poverty => Self::Poverty,
            ImportKind::Appraisal => Self::Appraisal,
            ImportKind::Renovation => Self::Renovation,
        }
    }
}

/// A bad row of a refused file.
#[derive(SimpleObject)]
pub struct ImportRowError {
    /// Row number as Excel shows it (header = 1); 0 for the file as a whole.
    pub row: i32,
    pub column: Option<String>,
    pub reason: String,
}

#[derive(SimpleObject)]
pub struct RuleTally {
    pub rule: String,
    pub count: u64,
}

/// What an import did. `accepted: false` means nothing was changed; `errors` says why.
#[derive(SimpleObject)]
pub struct ImportReport {
    pub kind: String,
    pub file_name: String,
    /// UTF-8, UTF-8-BOM, GB18030 or XLSX.
    pub encoding: String,
    pub rows: i32,
    pub accepted: bool,
    /// The same content was imported before; nothing changed.
    pub already_imported: bool,
    pub created: i32,
    pub updated: i32,
    pub unchanged: i32,
    /// Older rows no longer in this list, kept as history.
    pub superseded: i32,
    pub errors: Vec<ImportRowError>,
    /// Open ERROR findings in the campaign after the import, by rule.
    pub flagged: Vec<RuleTally>,
    /// Household codes in this file that are not on the poverty list.
    pub not_on_poverty_list: Vec<String>,
}

impl From<Report> for ImportReport {
    fn from(r: Report) -> Self {
        Self {
            kind: r.kind,
            file_name: r.file_name,
            encoding: r.encoding,
            rows: r.rows,
            accepted: r.accepted,
            already_imported: r.already_imported,
            created: r.created,
            updated: r.updated,
            unchanged: r.unchanged,
            superseded: r.superseded,
            errors: r
                .errors
                .into_iter()
                .map(|e| ImportRowError { row: e.row, column: e.column, reason: e.reason })
                .collect(),
            flagged: r.flagged.into_iter().map(|(rule, count)| RuleTally { rule, count }).collect(),
            not_on_poverty_list: r.not_on_poverty_list,
        }
    }
}

#[derive(Default)]
pub struct ImportsMutation;

#[Object]
impl ImportsMutation {
    /// Imports one official spreadsheet (GraphQL multipart upload; ADMIN). CSV in
    /// UTF-8 (with or without BOM) or GB18030/GBK, or .xlsx, detected automatically.
    async fn import_reference_file(
        &self,
        ctx: &Context<'_>,
        kind: ImportKind,
        file: Upload,
        campaign_id: Option<ID>,
    ) -> async_graphql::Result<ImportReport> {
        use std::io::Read;
        let viewer = ctx.viewer()?;
        viewer.require_role(&[Role::Admin], "import reference data")?;
        let state = ctx.state();
        let campaign = match campaign_id {
            Some(c) => crate::ids::decode("Campaign", &c)?,
            None => crate::progress::campaign_or_latest(&state.db, viewer, None).await?.id,
        };
        let value =
            file.value(ctx).map_err(|e| AppError::validation("file", format!("The upload cannot be read: {e}")))?;
        let name = value.filename.clone();
        let mut bytes = Vec::new();
        value.into_read().read_to_end(&mut bytes).map_err(|e| AppError::Internal(e.into()))?;
        let report = import(state, viewer, campaign, kind.into(), &name, &bytes, ctx.req().client_addr.clone()).await?;
        Ok(report.into())
    }
}
