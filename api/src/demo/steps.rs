//! The demo county's rows, built in steps. Every step draws from one seeded
//! generator, so the order of the steps (regions, then households) is what
//! keeps the IDs, names and figures the same on every run: keep it.

use super::{demo_id, APPRAISED, COUNTY_CODE, HOUSEHOLDS, RENOVATED, SECURED, TOWNSHIPS};
use crate::domain::{accounts, idnumber, rng::Rng};
use chrono::{NaiveDate, TimeZone, Utc};
use entity::*;
use sea_orm::{ActiveValue::Set, DatabaseTransaction, EntityTrait};
use std::collections::HashSet;
use uuid::Uuid;

type Time = chrono::DateTime<Utc>;

const SURNAMES: [&str; 30] = [
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林", "何", "郭", "马",
    "罗", "梁", "宋", "郑", "谢", "韩", "唐", "冯", "于", "董", "萧",
];
const GIVEN: [&str; 40] = [
    "明", "国", "华", "建", "军", "兰", "英", "秀", "梅", "凤", "春", "海", "强", "平", "淑", "红", "玉", "芳", "桂",
    "荣", "志", "福", "顺", "长", "德", "文", "学", "振", "金", "银", "成", "忠", "新", "连", "宝", "占", "永", "书",
    "素", "俊",
];
const VILLAGE_PREFIX: [&str; 12] = ["前", "后", "东", "西", "南", "北", "大", "小", "中", "上", "下", "新"];
const VILLAGE_SUFFIX: [&str; 8] = ["庄", "村", "屯", "营", "寨", "店", "集", "口"];
const COUNTY_PATH: &str = "130000000000/131100000000/131126000000/";

fn person_name(rng: &mut Rng) -> String {
    let mut n = (*rng.pick(&SURNAMES)).to_string();
    for _ in 0..(1 + rng.below(2)) {
        n.push_str(*rng.pick(&GIVEN));
    }
    n
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

/// A moment in China Standard Time (UTC+8), as UTC.
fn cst(y: i32, m: u32, d: u32) -> Time {
    chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(y, m, d, 0, 0, 0)
        .single()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

struct Village {
    id: Uuid,
    township_id: Uuid,
    township_idx: usize,
    ordinal: usize,
    name: String,
}

pub(super) struct Summary {
    pub(super) villages: usize,
    pub(super) households: Vec<Uuid>,
}

async fn insert_chunks<E, A>(txn: &DatabaseTransaction, rows: Vec<A>) -> anyhow::Result<()>
where
    E: EntityTrait,
    A: sea_orm::ActiveModelTrait<Entity = E> + Send,
    E::Model: sea_orm::IntoActiveModel<A>,
{
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(300).collect();
        E::insert_many(chunk).exec_without_returning(txn).await?;
    }
    Ok(())
}

/// Inserts the whole county inside the caller's transaction.
pub(super) async fn insert_all(
    txn: &DatabaseTransaction,
    campaign_id: Uuid,
    hash: &str,
    now: Time,
) -> anyhow::Result<Summary> {
    let mut rng = Rng(131126_2020);
    let tree = build_regions(&mut rng, now);
    insert_chunks(txn, tree.rows.clone()).await?;
    insert_campaign(txn, campaign_id, tree.county, now).await?;
    let rows = build_households(&mut rng, campaign_id, &tree, now);
    let household_ids: Vec<Uuid> = rows.households.iter().map(|h| *h.id.as_ref()).collect();
    insert_chunks(txn, rows.households).await?;
    insert_chunks(txn, rows.refs).await?;
    insert_chunks(txn, account_rows(&tree, hash, now)).await?;
    Ok(Summary { villages: tree.villages.len(), households: household_ids })
}

// --- Regions: province, city, county, 13 townships and their villages. ---

/// The region rows, and the IDs later steps hang their rows on.
struct Tree {
    now: Time,
    rows: Vec<region::ActiveModel>,
    county: Uuid,
    villages: Vec<Village>,
}

impl Tree {
    /// Adds one region row and returns its ID.
    fn add(
        &mut self,
        code: &str,
        name: &str,
        level: RegionLevel,
        parent: Option<Uuid>,
        path: &str,
        ll: Option<(f64, f64)>,
    ) -> Uuid {
        let id = demo_id("region", code);
        self.rows.push(region::ActiveModel {
            id: Set(id),
            code: Set(code.into()),
            name: Set(name.into()),
            level: Set(level),
            parent_id: Set(parent),
            path: Set(path.into()),
            latitude: Set(ll.map(|l| l.0)),
            longitude: Set(ll.map(|l| l.1)),
            created_at: Set(self.now),
        });
        id
    }
}

fn build_regions(rng: &mut Rng, now: Time) -> Tree {
    let mut tree = Tree { now, rows: Vec::new(), county: Uuid::nil(), villages: Vec::new() };
    let province = tree.add("130000000000", "河北省", RegionLevel::Province, None, "130000000000/", None);
    let city =
        tree.add("131100000000", "衡水市", RegionLevel::City, Some(province), "130000000000/131100000000/", None);
    tree.county = tree.add(COUNTY_CODE, "故城县", RegionLevel::County, Some(city), COUNTY_PATH, Some((37.35, 115.97)));
    for (ti, (tcode, tname, _)) in TOWNSHIPS.iter().enumerate() {
        let code = format!("131126{tcode}000");
        let tpath = format!("{COUNTY_PATH}{code}/");
        let tid = tree.add(&code, tname, RegionLevel::Township, Some(tree.county), &tpath, None);
        add_villages(rng, &mut tree, ti, tid, &tpath);
    }
    tree
}

/// One township's 18–29 villages, the first named as in the sample files.
fn add_villages(rng: &mut Rng, tree: &mut Tree, ti: usize, tid: Uuid, tpath: &str) {
    let (tcode, _, first_village) = TOWNSHIPS[ti];
    let count = 18 + rng.below(12) as usize;
    let mut names = HashSet::new();
    for vi in 0..count {
        let name = if vi == 0 { first_village.to_string() } else { village_name(rng, &names) };
        names.insert(name.clone());
        let vcode = format!("131126{tcode}{:03}", 200 + vi);
        let lat = 37.20 + rng.below(3000) as f64 / 10000.0;
        let lon = 115.80 + rng.below(3500) as f64 / 10000.0;
        let vid =
            tree.add(&vcode, &name, RegionLevel::Village, Some(tid), &format!("{tpath}{vcode}/"), Some((lat, lon)));
        tree.villages.push(Village { id: vid, township_id: tid, township_idx: ti, ordinal: vi + 1, name });
    }
}

/// A village name not yet used in its township (names may repeat across townships).
fn village_name(rng: &mut Rng, taken: &HashSet<String>) -> String {
    loop {
        let n = format!("{}{}{}", rng.pick(&VILLAGE_PREFIX), rng.pick(&SURNAMES), rng.pick(&VILLAGE_SUFFIX));
        if !taken.contains(&n) {
            return n;
        }
    }
}

// --- The campaign and its three milestones: fixed, nothing drawn. ---

async fn insert_campaign(txn: &DatabaseTransaction, campaign_id: Uuid, county: Uuid, now: Time) -> anyhow::Result<()> {
    campaign::Entity::insert(campaign::ActiveModel {
        id: Set(campaign_id),
        name: Set("故城县2020年建档立卡贫困户住房安全有保障核验".into()),
        county_id: Set(county),
        region_id: Set(county),
        time_zone: Set("Asia/Shanghai".into()),
        starts_on: Set(date(2020, 5, 14)),
        ends_on: Set(date(2020, 5, 21)),
        created_at: Set(now),
    })
    .exec_without_returning(txn)
    .await?;
    campaign_county::Entity::insert(campaign_county::ActiveModel {
        campaign_id: Set(campaign_id),
        county_id: Set(county),
        joined_at: Set(now),
    })
    .exec_without_returning(txn)
    .await?;
    let milestones = [
        (
            "TRAINING",
            "动员培训 Mobilisation and training",
            cst(2020, 5, 14),
            cst(2020, 5, 16),
            MilestoneMetric::None,
            0.0,
        ),
        (
            "VERIFICATION",
            "逐户核验 Household verification",
            cst(2020, 5, 15),
            cst(2020, 5, 20),
            MilestoneMetric::Submitted,
            100.0,
        ),
        ("LOOK_BACK", "回头看 Look-back review", cst(2020, 5, 20), cst(2020, 5, 22), MilestoneMetric::Approved, 100.0),
    ];
    let ms: Vec<milestone::ActiveModel> = milestones
        .iter()
        .map(|(kind, title, s, e, metric, pct)| milestone::ActiveModel {
            id: Set(demo_id("milestone", kind)),
            campaign_id: Set(campaign_id),
            kind: Set(kind.to_string()),
            title: Set(title.to_string()),
            starts_at: Set(*s),
            ends_at: Set(*e),
            target_metric: Set(*metric),
            target_percent: Set(*pct),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .collect();
    insert_chunks(txn, ms).await
}

// --- Households, each with its poverty and appraisal records (and renovation record if renovated). ---

/// Households per village: random weights, scaled to exactly 4553.
fn households_per_village(rng: &mut Rng, villages: usize) -> Vec<usize> {
    let weights: Vec<u64> = (0..villages).map(|_| 8 + rng.below(20)).collect();
    let total_w: u64 = weights.iter().sum();
    let mut per_village: Vec<usize> = weights.iter().map(|w| (HOUSEHOLDS as u64 * w / total_w) as usize).collect();
    let mut short = HOUSEHOLDS - per_village.iter().sum::<usize>();
    for n in per_village.iter_mut() {
        if short == 0 {
            break;
        }
        *n += 1;
        short -= 1;
    }
    per_village
}

/// Paths: exactly 3473 / 1023 / 57, shuffled (Fisher–Yates).
fn shuffled_paths(rng: &mut Rng) -> Vec<SafetyPath> {
    let mut paths: Vec<SafetyPath> = std::iter::repeat_n(SafetyPath::Appraised, APPRAISED)
        .chain(std::iter::repeat_n(SafetyPath::Renovated, RENOVATED))
        .chain(std::iter::repeat_n(SafetyPath::Secured, SECURED))
        .collect();
    rng.shuffle(&mut paths);
    paths
}

/// The household and reference rows, with what must stay unique or numbered
/// across the whole county while they are drawn.
struct HouseholdRows {
    campaign_id: Uuid,
    county: Uuid,
    now: Time,
    households: Vec<household::ActiveModel>,
    refs: Vec<reference_record::ActiveModel>,
    used_ids: HashSet<String>,
    /// The next row in each reference file (poverty, appraisal, renovation); row 1 is the header.
    row: [i32; 3],
}

/// What a household's reference records repeat from the household.
struct Head {
    id: Uuid,
    code: String,
    name: String,
    id_number: String,
}

fn build_households(rng: &mut Rng, campaign_id: Uuid, tree: &Tree, now: Time) -> HouseholdRows {
    let per_village = households_per_village(rng, tree.villages.len());
    let paths = shuffled_paths(rng);
    let mut rows = HouseholdRows {
        campaign_id,
        county: tree.county,
        now,
        households: Vec::with_capacity(HOUSEHOLDS),
        refs: Vec::with_capacity(HOUSEHOLDS * 2 + RENOVATED),
        used_ids: HashSet::new(),
        row: [2i32; 3],
    };
    let mut idx = 0usize;
    for (v, n) in tree.villages.iter().zip(&per_village) {
        for k in 0..*n {
            rows.add(rng, v, k, paths[idx]);
            idx += 1;
        }
    }
    rows
}

impl HouseholdRows {
    /// The `k`-th household of village `v`, then its reference records, drawn in that order.
    fn add(&mut self, rng: &mut Rng, v: &Village, k: usize, path: SafetyPath) {
        let code = format!("131126{:02}{:03}{:05}", v.township_idx + 1, v.ordinal, k + 1);
        let head = person_name(rng);
        let id_number = self.id_number(rng);
        let size = 1 + rng.below(6) as i32;
        let phone = format!("1{}{:09}", [3, 5, 7, 8, 9][rng.below(5) as usize], rng.below(1_000_000_000));
        let hid = demo_id("household", &code);
        self.households.push(household::ActiveModel {
            id: Set(hid),
            campaign_id: Set(self.campaign_id),
            code: Set(code.clone()),
            head_name: Set(head.clone()),
            id_number: Set(id_number.clone()),
            size: Set(Some(size)),
            phone: Set(Some(phone.clone())),
            county_id: Set(self.county),
            township_id: Set(v.township_id),
            village_id: Set(Some(v.id)),
            expected_path: Set(Some(path)),
            created_at: Set(self.now),
            updated_at: Set(self.now),
            created_by_import: Set(None),
        });
        let h = Head { id: hid, code, name: head, id_number };
        self.add_poverty(rng, &h, v, size, phone);
        // Drawn for every household, whatever its path: moving this draw would change all that follow.
        let renovation_year = 2014 + rng.below(6) as i32;
        self.add_appraisal(rng, &h, path, renovation_year);
        if path == SafetyPath::Renovated {
            self.add_renovation(rng, &h, renovation_year);
        }
    }

    /// A valid, county-unique ID number (a check character over the first 17).
    fn id_number(&mut self, rng: &mut Rng) -> String {
        loop {
            let birth = date(1930, 1, 1) + chrono::Duration::days(rng.below(70 * 365) as i64);
            let first17 = format!("131126{}{:03}", birth.format("%Y%m%d"), 1 + rng.below(999));
            if self.used_ids.insert(first17.clone()) {
                return format!("{first17}{}", idnumber::check_char(&first17).unwrap_or('0'));
            }
        }
    }

    /// A reference record with only the household's own fields, on the next row of its file.
    fn reference(&mut self, h: &Head, source: ReferenceSource, file: usize) -> reference_record::ActiveModel {
        const FILES: [&str; 3] = ["poverty-households.csv", "housing-appraisals.csv", "housing-renovations.csv"];
        let row_number = self.row[file];
        self.row[file] += 1;
        reference_record::ActiveModel {
            id: Set(demo_id(&format!("ref-{}", source.as_str()), &h.code)),
            campaign_id: Set(self.campaign_id),
            county_id: Set(self.county),
            import_id: Set(None),
            source: Set(source),
            household_code: Set(h.code.clone()),
            household_id: Set(Some(h.id)),
            head_name: Set(h.name.clone()),
            id_number: Set(h.id_number.clone()),
            township_name: Set(None),
            village_name: Set(None),
            household_size: Set(None),
            phone: Set(None),
            exit_year: Set(None),
            grade: Set(None),
            appraised_on: Set(None),
            appraiser: Set(None),
            renovation_year: Set(None),
            renovation_kind: Set(None),
            accepted_on: Set(None),
            subsidy_yuan: Set(None),
            source_file: Set(format!("demo/{}", FILES[file])),
            row_number: Set(row_number),
            current: Set(true),
            superseded_by: Set(None),
            created_at: Set(self.now),
        }
    }

    fn add_poverty(&mut self, rng: &mut Rng, h: &Head, v: &Village, size: i32, phone: String) {
        let mut p = self.reference(h, ReferenceSource::Poverty, 0);
        p.township_name = Set(Some(TOWNSHIPS[v.township_idx].1.into()));
        p.village_name = Set(Some(v.name.clone()));
        p.household_size = Set(Some(size));
        p.phone = Set(Some(phone));
        p.exit_year = Set(Some(2016 + rng.below(5) as i32));
        self.refs.push(p);
    }

    /// Grades A/B for houses appraised safe; C/D (unsafe) before a renovation or securing.
    fn add_appraisal(&mut self, rng: &mut Rng, h: &Head, path: SafetyPath, renovation_year: i32) {
        let mut a = self.reference(h, ReferenceSource::Appraisal, 1);
        let (grade, appraised) = match path {
            SafetyPath::Appraised => (
                if rng.below(10) < 6 { "A" } else { "B" },
                date(2017 + rng.below(3) as i32, 1 + rng.below(12) as u32, 1 + rng.below(28) as u32),
            ),
            SafetyPath::Renovated => (
                if rng.below(2) == 0 { "C" } else { "D" },
                date(renovation_year - 1, 1 + rng.below(12) as u32, 1 + rng.below(28) as u32),
            ),
            SafetyPath::Secured => (
                if rng.below(2) == 0 { "C" } else { "D" },
                date(2019, 1 + rng.below(12) as u32, 1 + rng.below(28) as u32),
            ),
        };
        a.grade = Set(Some(grade.into()));
        a.appraised_on = Set(Some(appraised));
        a.appraiser = Set(Some("故城县住房和城乡建设局".into()));
        self.refs.push(a);
    }

    fn add_renovation(&mut self, rng: &mut Rng, h: &Head, renovation_year: i32) {
        let mut r = self.reference(h, ReferenceSource::Renovation, 2);
        r.renovation_year = Set(Some(renovation_year));
        r.renovation_kind = Set(Some(if rng.below(2) == 0 { "拆除重建" } else { "修缮加固" }.into()));
        r.accepted_on = Set(Some(date(renovation_year, 6 + rng.below(6) as u32, 1 + rng.below(28) as u32)));
        r.subsidy_yuan = Set(Some(10_000 + 1_000 * rng.below(21) as i64));
        self.refs.push(r);
    }
}

// --- Accounts: admin, supervisor, and one post account per township and village. ---

/// All share one password hash: the demo accounts share one known password by design.
fn account_rows(tree: &Tree, hash: &str, now: Time) -> Vec<account::ActiveModel> {
    let account = |username: String, name: String, role: Role, region: Uuid| account::ActiveModel {
        id: Set(demo_id("account", &username)),
        username: Set(username),
        display_name: Set(name),
        phone: Set(None),
        role: Set(role),
        region_id: Set(region),
        password_hash: Set(hash.to_owned()),
        must_change_password: Set(false),
        disabled: Set(false),
        password_changed_at: Set(None),
        last_sign_in_at: Set(None),
        session_epoch: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let mut rows = vec![
        account("admin".into(), "县住建局业务专班".into(), Role::Admin, tree.county),
        account("supervisor".into(), "县扶贫开发和脱贫工作领导小组".into(), Role::Supervisor, tree.county),
    ];
    for r in &tree.rows {
        // The post helpers take a Model; they read only the code, name and level.
        let model = region::Model {
            id: *r.id.as_ref(),
            code: r.code.as_ref().clone(),
            name: r.name.as_ref().clone(),
            level: *r.level.as_ref(),
            parent_id: *r.parent_id.as_ref(),
            path: r.path.as_ref().clone(),
            latitude: None,
            longitude: None,
            created_at: now,
        };
        if let Some(u) = accounts::post_username(&model) {
            rows.push(account(u, accounts::post_display_name(&model), accounts::post_role(&model), model.id));
        }
    }
    rows
}
