//! Reports upward in Excel: the household verification table (one row per
//! household) and the summary by township and village, as .xlsx or CSV.
//!
//! Households are read in batches of 1000 by household code and written as
//! they come (the xlsx sheet in constant-memory mode, CSV straight to a file),
//! so a province-sized export never holds all of them. The summary comes from
//! the progress counters, one query whatever the size. The file goes to the
//! object store under `exports/`; the caller gets an expiring link. Practice
//! entries never appear. Removed after a day by the sweeper.

use crate::{
    audit::{self, Actor, NewEvent},
    auth::{mask_id_number, region_household_condition, Viewer},
    checks::{self, Arrangement, RenovationKind},
    error::{AppError, AppResult},
    graphql::CtxExt,
    ids, progress, regions, AppState,
};
use async_graphql::{Context, Enum, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use entity::{account, finding, household, region, verification, RegionLevel, SafetyPath, VerificationStatus};
use object_store::{path::Path as ObjectPath, ObjectStoreExt, PutPayload};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::HashMap;
use uuid::Uuid;

const BATCH: u64 = 1000;
pub const LINK_SECONDS: i64 = 600;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ExportKind {
    /// One row per household (核验明细表), with a summary sheet in .xlsx.
    Households,
    /// Counts by township and village (汇总表).
    Summary,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ExportFormat {
    Xlsx,
    /// UTF-8 with a byte-order mark, so Excel shows the Chinese right.
    Csv,
}

/// A generated report: download it from `url` before `expiresAt`.
#[derive(SimpleObject)]
pub struct ExportFile {
    pub file_name: String,
    pub kind: ExportKind,
    pub format: ExportFormat,
    /// Data rows written (households, or villages for the summary).
    pub rows: i64,
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

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

fn status_zh(s: Option<VerificationStatus>) -> &'static str {
    match s {
        None | Some(VerificationStatus::NotStarted) => "未开始",
        Some(VerificationStatus::Draft) => "草稿",
        Some(VerificationStatus::Submitted) => "待审核",
        Some(VerificationStatus::Returned) => "已退回",
        Some(VerificationStatus::Approved) => "已核准",
        Some(VerificationStatus::Reopened) => "回头看重开",
    }
}

fn path_zh(p: Option<SafetyPath>) -> &'static str {
    match p {
        Some(SafetyPath::Appraised) => "鉴定安全",
        Some(SafetyPath::Renovated) => "改造安全",
        Some(SafetyPath::Secured) => "保障安全",
        None => "",
    }
}

fn evidence_zh(v: &verification::Model) -> String {
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
                    Some(a) if !a.is_empty() => format!("{kind}；新址：{a}"),
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
                format!("{how}；{}", s.address)
            })
            .unwrap_or_default(),
        None => String::new(),
    }
}

/// Counts for one region in the summary, read from the progress counters
/// (kept in every writing transaction; practice never counts).
#[derive(Default, Clone)]
struct Tally {
    households: i64,
    by_status: [i64; 6],
    by_path: [i64; 3],
}

impl Tally {
    fn from_counters(c: Option<&HashMap<String, i64>>) -> Self {
        let get = |k: &str| c.and_then(|c| c.get(k)).copied().unwrap_or(0);
        let statuses = ["NOT_STARTED", "DRAFT", "SUBMITTED", "RETURNED", "APPROVED", "REOPENED"];
        let paths = [SafetyPath::Appraised, SafetyPath::Renovated, SafetyPath::Secured];
        Self {
            households: get("households"),
            by_status: statuses.map(|st| get(&format!("status:{st}"))),
            by_path: paths.map(|p| get(&format!("path:{}", p.as_str()))),
        }
    }
    fn row(&self, township: &str, village: &str) -> Vec<Cell> {
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
        r.push(Cell::Num(pct(submitted)));
        r.push(Cell::Num(pct(self.by_status[4])));
        r
    }
}

enum Cell {
    Text(String),
    Num(f64),
}

impl Cell {
    fn csv(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Num(n) => n.to_string(),
        }
    }
}

/// Where rows go: an xlsx sheet or a CSV file.
enum Sink {
    Xlsx { wb: Box<rust_xlsxwriter::Workbook>, sheet: usize, row: u32 },
    Csv(csv::Writer<std::fs::File>),
}

impl Sink {
    fn write(&mut self, cells: &[Cell]) -> anyhow::Result<()> {
        match self {
            Sink::Xlsx { wb, sheet, row } => {
                let ws = wb.worksheet_from_index(*sheet)?;
                for (c, cell) in cells.iter().enumerate() {
                    match cell {
                        Cell::Text(s) => ws.write_string(*row, c as u16, s)?,
                        Cell::Num(n) => ws.write_number(*row, c as u16, *n)?,
                    };
                }
                *row += 1;
            }
            Sink::Csv(w) => w.write_record(cells.iter().map(Cell::csv))?,
        }
        Ok(())
    }
}

fn header_sheet(
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

pub async fn export(
    state: &AppState,
    viewer: &Viewer,
    client_addr: Option<String>,
    region_id: Option<Uuid>,
    campaign_id: Option<Uuid>,
    kind: ExportKind,
    format: ExportFormat,
) -> AppResult<ExportFile> {
    if viewer.is_api_token() {
        return Err(AppError::forbidden("Exports are for signed-in accounts; a dashboard token reads the API."));
    }
    let db = &state.db;
    let campaign = progress::campaign_or_latest(db, viewer, campaign_id).await?;
    let root = match region_id {
        Some(id) => regions::get(db, viewer, id).await?,
        None => regions::get(db, viewer, viewer.scope.region_id).await?,
    };
    if !viewer.covers(&root) {
        return Err(AppError::not_found("region"));
    }
    // Names of every region below (villages and townships): bounded by the region list, not households.
    let subtree = region::Entity::find()
        .filter(region::Column::Path.starts_with(&root.path))
        .order_by_asc(region::Column::Code)
        .all(db)
        .await?;
    let names: HashMap<Uuid, String> = subtree.iter().map(|r| (r.id, r.name.clone())).collect();
    let cond = Condition::all()
        .add(viewer.household_condition())
        .add(region_household_condition(root.id, root.level, &root.path))
        .add(household::Column::CampaignId.eq(campaign.id));
    let full = viewer.sees_personal_data();
    let stamp = audit::now().format("%Y%m%d-%H%M%S");
    let (label, ext) = (
        match kind {
            ExportKind::Households => "核验明细",
            ExportKind::Summary => "汇总",
        },
        match format {
            ExportFormat::Xlsx => "xlsx",
            ExportFormat::Csv => "csv",
        },
    );
    let file_name = format!("{}-{label}-{stamp}.{ext}", root.name);
    let tmp =
        tempfile::Builder::new().suffix(&format!(".{ext}")).tempfile().map_err(|e| AppError::Internal(e.into()))?;

    let mut sink = match format {
        ExportFormat::Xlsx => {
            let mut wb = rust_xlsxwriter::Workbook::new();
            let summary = wb.add_worksheet();
            header_sheet(
                summary,
                "汇总",
                &SUMMARY_HEADERS,
                &[12.0, 14.0, 8.0, 8.0, 8.0, 8.0, 8.0, 8.0, 10.0, 9.0, 9.0, 9.0, 9.0, 9.0],
            )
            .map_err(AppError::Internal)?;
            if kind == ExportKind::Households {
                let ws = wb.add_worksheet_with_constant_memory().map_err(|e| AppError::Internal(e.into()))?;
                header_sheet(
                    ws,
                    "核验明细",
                    &HOUSEHOLD_HEADERS,
                    &[18.0, 10.0, 21.0, 10.0, 12.0, 10.0, 10.0, 26.0, 10.0, 14.0, 14.0, 18.0, 18.0, 8.0, 30.0, 40.0],
                )
                .map_err(AppError::Internal)?;
            }
            Sink::Xlsx { wb: Box::new(wb), sheet: 1, row: 1 }
        }
        ExportFormat::Csv => {
            let mut f = tmp.reopen().map_err(|e| AppError::Internal(e.into()))?;
            use std::io::Write;
            f.write_all("\u{feff}".as_bytes()).map_err(|e| AppError::Internal(e.into()))?;
            let mut w = csv::Writer::from_writer(f);
            let headers: &[&str] = if kind == ExportKind::Households { &HOUSEHOLD_HEADERS } else { &SUMMARY_HEADERS };
            w.write_record(headers).map_err(|e| AppError::Internal(e.into()))?;
            Sink::Csv(w)
        }
    };

    let mut people: HashMap<Uuid, String> = HashMap::new();
    let mut last: Option<(String, Uuid)> = None;
    let mut rows = 0i64;
    let web = state.cfg.web_url.trim_end_matches('/').to_owned();
    // The household rows; a SUMMARY export reads only the counters below.
    while kind == ExportKind::Households {
        let mut q = household::Entity::find().filter(cond.clone());
        if let Some((code, id)) = &last {
            q = q.filter(Condition::any().add(household::Column::Code.gt(code.clone())).add(
                Condition::all().add(household::Column::Code.eq(code.clone())).add(household::Column::Id.gt(*id)),
            ));
        }
        let batch =
            q.order_by_asc(household::Column::Code).order_by_asc(household::Column::Id).limit(BATCH).all(db).await?;
        let Some(tail) = batch.last() else { break };
        last = Some((tail.code.clone(), tail.id));
        let ids: Vec<Uuid> = batch.iter().map(|h| h.id).collect();
        let vs: HashMap<Uuid, verification::Model> = verification::Entity::find()
            .filter(verification::Column::HouseholdId.is_in(ids.clone()))
            .filter(verification::Column::Practice.eq(false))
            .all(db)
            .await?
            .into_iter()
            .map(|v| (v.household_id, v))
            .collect();
        let mut open: HashMap<Uuid, Vec<String>> = HashMap::new();
        for f in finding::Entity::find()
            .filter(finding::Column::HouseholdId.is_in(ids))
            .filter(finding::Column::Open.eq(true))
            .filter(finding::Column::Practice.eq(false))
            .all(db)
            .await?
        {
            open.entry(f.household_id).or_default().push(f.rule);
        }
        let missing: Vec<Uuid> = vs
            .values()
            .flat_map(|v| [v.verified_by, v.approved_by])
            .flatten()
            .filter(|id| !people.contains_key(id))
            .collect();
        if !missing.is_empty() {
            for a in account::Entity::find().filter(account::Column::Id.is_in(missing)).all(db).await? {
                people.insert(a.id, a.display_name);
            }
        }
        for h in &batch {
            let v = vs.get(&h.id);
            let township = names.get(&h.township_id).cloned().unwrap_or_default();
            let village = h.village_id.and_then(|id| names.get(&id).cloned()).unwrap_or_default();
            let status = v.map(|v| v.status);
            let path = v.and_then(|v| v.path);
            rows += 1;
            let name_of = |id: Option<Uuid>| id.and_then(|id| people.get(&id).cloned()).unwrap_or_default();
            let time = |t: Option<DateTime<Utc>>| {
                t.map(|t| t.with_timezone(&chrono_tz::Asia::Shanghai).format("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_default()
            };
            let rules = open.get(&h.id).cloned().unwrap_or_default();
            let cells = vec![
                Cell::Text(h.code.clone()),
                Cell::Text(h.head_name.clone()),
                Cell::Text(if full { h.id_number.clone() } else { mask_id_number(&h.id_number) }),
                Cell::Text(township),
                Cell::Text(village),
                Cell::Text(path_zh(h.expected_path).into()),
                Cell::Text(path_zh(path).into()),
                Cell::Text(v.map(evidence_zh).unwrap_or_default()),
                Cell::Text(status_zh(status).into()),
                Cell::Text(name_of(v.and_then(|v| v.verified_by))),
                Cell::Text(name_of(v.and_then(|v| v.approved_by))),
                Cell::Text(time(v.and_then(|v| v.submitted_at))),
                Cell::Text(time(v.and_then(|v| v.approved_at))),
                Cell::Num(rules.len() as f64),
                Cell::Text(rules.join("、")),
                Cell::Text(format!("{web}/households/{}", ids::encode("Household", h.id).as_str())),
            ];
            sink.write(&cells).map_err(AppError::Internal)?;
        }
        if (batch.len() as u64) < BATCH {
            break;
        }
    }

    // The summary: one row per village, a total per township, the grand total,
    // in code order, from one read of the counters.
    let ids: Vec<Uuid> = subtree.iter().map(|r| r.id).collect();
    let counters = crate::counters::read(db, campaign.id, &ids).await?;
    let tally = |id: Uuid| Tally::from_counters(counters.get(&id));
    let mut summary_rows: Vec<Vec<Cell>> = Vec::new();
    let mut villages = 0i64;
    for t in subtree.iter().filter(|r| r.level == RegionLevel::Township) {
        for v in subtree.iter().filter(|r| r.level == RegionLevel::Village && r.parent_id == Some(t.id)) {
            summary_rows.push(tally(v.id).row(&t.name, &v.name));
            villages += 1;
        }
        summary_rows.push(tally(t.id).row(&t.name, "合计"));
    }
    if root.level == RegionLevel::Village {
        let township = match root.parent_id {
            Some(id) => region::Entity::find_by_id(id).one(db).await?.map(|r| r.name).unwrap_or_default(),
            None => String::new(),
        };
        summary_rows.push(tally(root.id).row(&township, &root.name));
        villages = 1;
    }
    summary_rows.push(tally(root.id).row("总计", ""));
    // The summary goes to the xlsx summary sheet (in memory, written last), or
    // is the whole CSV for a SUMMARY export.
    let summary_here = match &mut sink {
        Sink::Xlsx { sheet, row, .. } => {
            (*sheet, *row) = (0, 1);
            true
        }
        Sink::Csv(_) => kind == ExportKind::Summary,
    };
    if summary_here {
        for r in &summary_rows {
            sink.write(r).map_err(AppError::Internal)?;
        }
    }
    match sink {
        Sink::Xlsx { mut wb, .. } => wb.save(tmp.path()).map_err(|e| AppError::Internal(e.into()))?,
        Sink::Csv(mut w) => w.flush().map_err(|e| AppError::Internal(e.into()))?,
    }

    let id = Uuid::new_v4();
    let key = format!("exports/{id}.{ext}");
    put_file(state, &key, tmp.path()).await?;
    let actor = Actor::of(viewer, client_addr);
    let (_guard, txn) = state.begin().await?;
    audit::append(
        &txn,
        &actor,
        NewEvent {
            action: "EXPORT_CREATED",
            entity_type: "export",
            entity_id: Some(id),
            household_id: None,
            region_id: Some(root.id),
            before: None,
            after: Some(
                serde_json::json!({ "file": file_name, "kind": format!("{kind:?}"), "format": ext, "rows": rows }),
            ),
        },
    )
    .await?;
    txn.commit().await?;
    let expires_at = audit::now() + chrono::Duration::seconds(LINK_SECONDS);
    let url = link(state, id, ext, &file_name).await?;
    Ok(ExportFile {
        file_name,
        kind,
        format,
        rows: if kind == ExportKind::Households { rows } else { villages },
        url,
        expires_at,
    })
}

/// Streams a finished file into the object store in 8 MB parts.
async fn put_file(state: &AppState, key: &str, file: &std::path::Path) -> AppResult<()> {
    use tokio::io::AsyncReadExt;
    let internal = |e: std::io::Error| AppError::Internal(e.into());
    let mut f = tokio::fs::File::open(file).await.map_err(internal)?;
    state.storage.note("put");
    let mut upload =
        state.storage.store.put_multipart(&ObjectPath::from(key)).await.map_err(|e| AppError::Internal(e.into()))?;
    let mut buf = vec![0u8; 8 << 20];
    loop {
        let mut n = 0;
        while n < buf.len() {
            let m = f.read(&mut buf[n..]).await.map_err(internal)?;
            if m == 0 {
                break;
            }
            n += m;
        }
        if n == 0 {
            break;
        }
        if let Err(e) = upload.put_part(PutPayload::from(buf[..n].to_vec())).await {
            let _ = upload.abort().await;
            return Err(AppError::Internal(e.into()));
        }
        if n < buf.len() {
            break;
        }
    }
    upload.complete().await.map_err(|e| AppError::Internal(e.into()))?;
    Ok(())
}

/// Presigned on S3; an HMAC-signed link to the API on the local store.
async fn link(state: &AppState, id: Uuid, ext: &str, file_name: &str) -> AppResult<String> {
    let key = format!("exports/{id}.{ext}");
    let ttl = std::time::Duration::from_secs(LINK_SECONDS as u64);
    if let Some(u) = state.storage.presigned_get(&key, ttl).await.map_err(AppError::Internal)? {
        return Ok(u);
    }
    let exp = audit::now().timestamp() + LINK_SECONDS;
    let name = urlencode(file_name);
    let sig = state.jwt.mac(&format!("export|{id}.{ext}|{exp}|{file_name}"));
    Ok(format!("{}/exports/{id}.{ext}?exp={exp}&name={name}&sig={sig}", state.cfg.public_url.trim_end_matches('/')))
}

/// Percent-encodes all but unreserved ASCII (for a file name in a URL or header).
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The bytes behind a link from `link`: its signature and expiry are the permission.
pub async fn serve(state: &AppState, file: &str, exp: i64, name: &str, sig: &str) -> AppResult<bytes::Bytes> {
    if !state.jwt.verify_mac(&format!("export|{file}|{exp}|{name}"), sig) {
        return Err(AppError::forbidden("This download link is not valid."));
    }
    if exp < audit::now().timestamp() {
        return Err(AppError::forbidden("This download link has expired; export again."));
    }
    state.storage.note("get");
    let bytes = state
        .storage
        .store
        .get(&ObjectPath::from(format!("exports/{file}")))
        .await
        .map_err(|e| match e {
            object_store::Error::NotFound { .. } => AppError::not_found("export"),
            e => AppError::Internal(e.into()),
        })?
        .bytes()
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(bytes)
}

/// Deletes exports older than a day (links live ten minutes; a day covers retries).
pub async fn sweep(state: &AppState) -> anyhow::Result<usize> {
    use futures_util::StreamExt;
    let cutoff = audit::now() - chrono::Duration::days(1);
    let mut old = Vec::new();
    let mut list = state.storage.store.list(Some(&ObjectPath::from("exports")));
    while let Some(m) = list.next().await {
        let m = m?;
        if m.last_modified < cutoff {
            old.push(m.location);
        }
    }
    for p in &old {
        state.storage.note("delete");
        state.storage.store.delete(p).await?;
    }
    Ok(old.len())
}

#[derive(Default)]
pub struct ExportsMutation;

#[Object]
impl ExportsMutation {
    /// Generates a report of a region in the viewer's scope (default: their
    /// own) for a campaign (default: the newest): HOUSEHOLDS is one row per
    /// household (ID numbers masked as in the API) plus a summary sheet;
    /// SUMMARY counts by township and village. Practice entries never appear.
    /// The link expires in 10 minutes. Signed-in accounts only.
    async fn export_report(
        &self,
        ctx: &Context<'_>,
        region_id: Option<ID>,
        campaign_id: Option<ID>,
        kind: ExportKind,
        format: ExportFormat,
    ) -> async_graphql::Result<ExportFile> {
        let viewer = ctx.viewer()?;
        let region = region_id.as_ref().map(|id| ids::decode("Region", id)).transpose()?;
        let campaign = campaign_id.as_ref().map(|id| ids::decode("Campaign", id)).transpose()?;
        Ok(export(ctx.state(), viewer, ctx.req().client_addr.clone(), region, campaign, kind, format).await?)
    }
}
