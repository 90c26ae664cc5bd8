//! The Gucheng County pilot (故城县, 131126) as demo data, generated
//! deterministically: the same regions, households and IDs on every machine.

use crate::{
    accounts,
    auth::{password, Principal, Scope, Viewer},
    idnumber, AppState,
};
use chrono::{NaiveDate, TimeZone, Utc};
use entity::*;
use sea_orm::{ActiveValue::Set, DatabaseTransaction, EntityTrait};
use std::collections::HashSet;
use std::io::Write;
use uuid::Uuid;

pub const COUNTY_CODE: &str = "131126000000";
pub const HOUSEHOLDS: usize = 4553;
pub const APPRAISED: usize = 3473;
pub const RENOVATED: usize = 1023;
pub const SECURED: usize = 57;

/// Townships in code order, with the first village of each as in the sample files.
pub const TOWNSHIPS: [(&str, &str, &str); 13] = [
    ("100", "郑口镇", "张后寨"),
    ("101", "夏庄镇", "北孙村"),
    ("102", "青罕镇", "大于屯"),
    ("103", "故城镇", "前胡庄"),
    ("104", "武官寨镇", "刘刘营"),
    ("105", "饶阳店镇", "南后营"),
    ("106", "军屯镇", "刘陈屯"),
    ("107", "建国镇", "前杨寨"),
    ("108", "西半屯镇", "高董营"),
    ("109", "房庄乡", "张朱营"),
    ("110", "三朗乡", "小前村"),
    ("111", "辛庄乡", "后前庄"),
    ("112", "里老乡", "朱小村"),
];

const NS: Uuid = Uuid::from_u128(0x5f1e_6b8a_2c3d_4e5f_8a9b_0c1d_2e3f_4a5b);

/// A stable ID for a demo object, so running the demo twice finds the same rows.
pub fn demo_id(kind: &str, key: &str) -> Uuid {
    Uuid::new_v5(&NS, format!("{kind}:{key}").as_bytes())
}

use crate::domain::{audit::Actor, ctx::Ctx, rng::Rng, tx::Tx};

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
fn cst(y: i32, m: u32, d: u32) -> chrono::DateTime<Utc> {
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

/// Loads the demo county unless it is there already. Prints what it did.
pub async fn load(state: &AppState, out: &mut impl Write) -> anyhow::Result<()> {
    let campaign_id = demo_id("campaign", "131126-2020");
    if campaign::Entity::find_by_id(campaign_id).one(&state.db).await?.is_some() {
        writeln!(out, "Demo county already loaded; nothing changed.")?;
        return Ok(());
    }
    let (password, generated) = match &state.cfg.demo_password {
        Some(p) => (p.expose().to_owned(), false),
        None => (accounts::initial_password(), true),
    };
    // One hash for every demo account: they share one known password by design,
    // and hashing hundreds of accounts separately would only slow the demo down.
    let hash = password::hash(password.clone()).await?;
    let now = crate::audit::now();
    let tx = Tx::begin(state, Actor::default()).await?;
    let txn = tx.conn();
    let summary = insert_all(txn, campaign_id, &hash, now).await?;
    // As after an import: the county sees its open questions before anyone visits a house.
    crate::checks::run(txn, campaign_id, &summary.households).await?;
    crate::counters::recount(txn, campaign_id).await?;
    // Seed data for a demonstration, not anyone's action: nothing to audit.
    tx.commit_bookkeeping(state).await?;
    writeln!(
        out,
        "Loaded the demo county 故城县: {} townships, {} villages, {} households ({} appraised, {} renovated, {} secured by reference data).",
        TOWNSHIPS.len(),
        summary.villages,
        HOUSEHOLDS,
        APPRAISED,
        RENOVATED,
        SECURED
    )?;
    writeln!(
        out,
        "Accounts: admin (ADMIN), supervisor (SUPERVISOR), t131126100 … t131126112 (TOWNSHIP, one per township), \
         v131126100200 … (VERIFIER, one per village)."
    )?;
    if generated {
        writeln!(out, "Demo password for all of them (shown once): {password}")?;
    } else {
        writeln!(out, "Demo password: the value of APP_DEMO_PASSWORD.")?;
    }
    Ok(())
}

struct Summary {
    villages: usize,
    households: Vec<Uuid>,
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

async fn insert_all(
    txn: &DatabaseTransaction,
    campaign_id: Uuid,
    hash: &str,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<Summary> {
    let mut rng = Rng(131126_2020);
    let mut regions = Vec::new();
    let mut region_row =
        |code: &str, name: &str, level: RegionLevel, parent: Option<Uuid>, path: &str, ll: Option<(f64, f64)>| {
            let id = demo_id("region", code);
            regions.push(region::ActiveModel {
                id: Set(id),
                code: Set(code.into()),
                name: Set(name.into()),
                level: Set(level),
                parent_id: Set(parent),
                path: Set(path.into()),
                latitude: Set(ll.map(|l| l.0)),
                longitude: Set(ll.map(|l| l.1)),
                created_at: Set(now),
            });
            id
        };
    let province = region_row("130000000000", "河北省", RegionLevel::Province, None, "130000000000/", None);
    let city =
        region_row("131100000000", "衡水市", RegionLevel::City, Some(province), "130000000000/131100000000/", None);
    let county_path = "130000000000/131100000000/131126000000/";
    let county = region_row(COUNTY_CODE, "故城县", RegionLevel::County, Some(city), county_path, Some((37.35, 115.97)));
    let mut villages: Vec<Village> = Vec::new();
    let mut township_names = Vec::new();
    for (ti, (tcode, tname, first_village)) in TOWNSHIPS.iter().enumerate() {
        let code = format!("131126{tcode}000");
        let tpath = format!("{county_path}{code}/");
        let tid = region_row(&code, tname, RegionLevel::Township, Some(county), &tpath, None);
        township_names.push(tname.to_string());
        let count = 18 + rng.below(12) as usize;
        let mut names = HashSet::new();
        for vi in 0..count {
            let name = if vi == 0 {
                first_village.to_string()
            } else {
                loop {
                    let n =
                        format!("{}{}{}", rng.pick(&VILLAGE_PREFIX), rng.pick(&SURNAMES), rng.pick(&VILLAGE_SUFFIX));
                    if !names.contains(&n) {
                        break n;
                    }
                }
            };
            names.insert(name.clone());
            let vcode = format!("131126{tcode}{:03}", 200 + vi);
            let lat = 37.20 + rng.below(3000) as f64 / 10000.0;
            let lon = 115.80 + rng.below(3500) as f64 / 10000.0;
            let vid = region_row(
                &vcode,
                &name,
                RegionLevel::Village,
                Some(tid),
                &format!("{tpath}{vcode}/"),
                Some((lat, lon)),
            );
            villages.push(Village { id: vid, township_id: tid, township_idx: ti, ordinal: vi + 1, name });
        }
    }
    let region_models = regions.clone();
    insert_chunks(txn, regions).await?;

    campaign::Entity::insert(campaign::ActiveModel {
        id: Set(campaign_id),
        name: Set("故城县2020年建档立卡贫困户住房安全有保障核验".into()),
        county_id: Set(county),
        time_zone: Set("Asia/Shanghai".into()),
        starts_on: Set(date(2020, 5, 14)),
        ends_on: Set(date(2020, 5, 21)),
        created_at: Set(now),
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
    insert_chunks(txn, ms).await?;

    // Households per village: random weights, scaled to exactly 4553.
    let weights: Vec<u64> = villages.iter().map(|_| 8 + rng.below(20)).collect();
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
    // Paths: exactly 3473 / 1023 / 57, shuffled (Fisher–Yates).
    let mut paths: Vec<SafetyPath> = std::iter::repeat_n(SafetyPath::Appraised, APPRAISED)
        .chain(std::iter::repeat_n(SafetyPath::Renovated, RENOVATED))
        .chain(std::iter::repeat_n(SafetyPath::Secured, SECURED))
        .collect();
    rng.shuffle(&mut paths);

    let mut households = Vec::with_capacity(HOUSEHOLDS);
    let mut refs = Vec::with_capacity(HOUSEHOLDS * 2 + RENOVATED);
    let mut used_ids = HashSet::new();
    let mut idx = 0usize;
    let mut row = [2i32; 3];
    for (v, n) in villages.iter().zip(&per_village) {
        for k in 0..*n {
            let path = paths[idx];
            idx += 1;
            let code = format!("131126{:02}{:03}{:05}", v.township_idx + 1, v.ordinal, k + 1);
            let head = person_name(&mut rng);
            let id_number = loop {
                let birth = date(1930, 1, 1) + chrono::Duration::days(rng.below(70 * 365) as i64);
                let first17 = format!("131126{}{:03}", birth.format("%Y%m%d"), 1 + rng.below(999));
                if used_ids.insert(first17.clone()) {
                    break format!("{first17}{}", idnumber::check_char(&first17).unwrap_or('0'));
                }
            };
            let size = 1 + rng.below(6) as i32;
            let phone = format!("1{}{:09}", [3, 5, 7, 8, 9][rng.below(5) as usize], rng.below(1_000_000_000));
            let hid = demo_id("household", &code);
            households.push(household::ActiveModel {
                id: Set(hid),
                campaign_id: Set(campaign_id),
                code: Set(code.clone()),
                head_name: Set(head.clone()),
                id_number: Set(id_number.clone()),
                size: Set(Some(size)),
                phone: Set(Some(phone.clone())),
                county_id: Set(county),
                township_id: Set(v.township_id),
                village_id: Set(Some(v.id)),
                expected_path: Set(Some(path)),
                created_at: Set(now),
                updated_at: Set(now),
            });
            let base = |source: ReferenceSource, file: &str, row_number: i32| reference_record::ActiveModel {
                id: Set(demo_id(&format!("ref-{}", source.as_str()), &code)),
                campaign_id: Set(campaign_id),
                import_id: Set(None),
                source: Set(source),
                household_code: Set(code.clone()),
                household_id: Set(Some(hid)),
                head_name: Set(head.clone()),
                id_number: Set(id_number.clone()),
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
                source_file: Set(format!("demo/{file}")),
                row_number: Set(row_number),
                current: Set(true),
                created_at: Set(now),
            };
            let mut p = base(ReferenceSource::Poverty, "poverty-households.csv", row[0]);
            row[0] += 1;
            p.township_name = Set(Some(TOWNSHIPS[v.township_idx].1.into()));
            p.village_name = Set(Some(v.name.clone()));
            p.household_size = Set(Some(size));
            p.phone = Set(Some(phone));
            p.exit_year = Set(Some(2016 + rng.below(5) as i32));
            refs.push(p);

            let renovation_year = 2014 + rng.below(6) as i32;
            let mut a = base(ReferenceSource::Appraisal, "housing-appraisals.csv", row[1]);
            row[1] += 1;
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
            refs.push(a);

            if path == SafetyPath::Renovated {
                let mut r = base(ReferenceSource::Renovation, "housing-renovations.csv", row[2]);
                row[2] += 1;
                r.renovation_year = Set(Some(renovation_year));
                r.renovation_kind = Set(Some(if rng.below(2) == 0 { "拆除重建" } else { "修缮加固" }.into()));
                r.accepted_on = Set(Some(date(renovation_year, 6 + rng.below(6) as u32, 1 + rng.below(28) as u32)));
                r.subsidy_yuan = Set(Some(10_000 + 1_000 * rng.below(21) as i64));
                refs.push(r);
            }
        }
    }
    let household_ids: Vec<Uuid> = households.iter().map(|h| *h.id.as_ref()).collect();
    insert_chunks(txn, households).await?;
    insert_chunks(txn, refs).await?;

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
        created_at: Set(now),
        updated_at: Set(now),
    };
    let mut accounts_rows = vec![
        account("admin".into(), "县住建局业务专班".into(), Role::Admin, county),
        account("supervisor".into(), "县扶贫开发和脱贫工作领导小组".into(), Role::Supervisor, county),
    ];
    for r in &region_models {
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
            accounts_rows.push(account(u, accounts::post_display_name(&model), accounts::post_role(&model), model.id));
        }
    }
    insert_chunks(txn, accounts_rows).await?;
    let _ = township_names;
    Ok(Summary { villages: villages.len(), households: household_ids })
}

/// The viewer the command line acts as: an ADMIN of the region with that code.
async fn cli_viewer(state: &AppState, code: &str, name: &str) -> anyhow::Result<(region::Model, Viewer)> {
    use sea_orm::{ColumnTrait, QueryFilter};
    let region = region::Entity::find()
        .filter(region::Column::Code.eq(code))
        .one(&state.db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no region with code {code}"))?;
    let viewer = Viewer {
        principal: Principal::Account { id: Uuid::nil(), username: format!("cli:{name}") },
        role: Role::Admin,
        scope: Scope { region_id: region.id, level: region.level, path: region.path.clone() },
        must_change_password: false,
    };
    Ok((region, viewer))
}

/// `api import --kind K --file F [--county CODE]`.
pub async fn import_cli(state: &AppState, kind: &str, file: &std::path::Path, county: &str) -> anyhow::Result<()> {
    let kind = match kind {
        "regions" => ReferenceSource::Regions,
        "poverty" => ReferenceSource::Poverty,
        "appraisal" => ReferenceSource::Appraisal,
        "renovation" => ReferenceSource::Renovation,
        other => anyhow::bail!("unknown kind '{other}': regions, poverty, appraisal or renovation"),
    };
    let bytes = std::fs::read(file)?;
    let (region, viewer) = cli_viewer(state, county, "import").await?;
    let campaign =
        crate::progress::campaign_or_latest(&state.db, &viewer, None).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let _ = region;
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let r = crate::imports::import(&Ctx::system(viewer), state, campaign.id, kind, &name, &bytes)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("{}", serde_json::to_string_pretty(&r)?);
    if !r.accepted && !r.already_imported {
        anyhow::bail!("the file was refused; nothing was changed");
    }
    Ok(())
}

/// `api issue-accounts --region CODE --out FILE`: the bulk issue from the command line.
pub async fn issue_accounts_cli(state: &AppState, code: &str, out: &std::path::Path) -> anyhow::Result<()> {
    use sea_orm::{ColumnTrait, QueryFilter};
    let region = region::Entity::find()
        .filter(region::Column::Code.eq(code))
        .one(&state.db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no region with code {code}"))?;
    let viewer = Viewer {
        principal: Principal::Account { id: Uuid::nil(), username: "cli:issue-accounts".into() },
        role: Role::Admin,
        scope: Scope { region_id: region.id, level: region.level, path: region.path.clone() },
        must_change_password: false,
    };
    let entries =
        accounts::issue_accounts(&Ctx::system(viewer), state, region.id).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let html = accounts::printable_sheet(&entries, &state.cfg.web_url).map_err(|e| anyhow::anyhow!("{e}"))?;
    std::fs::write(out, html)?;
    println!(
        "Issued {} accounts ({} reset); the printable sheet with initial passwords is {}. Hand it out and delete it.",
        entries.len(),
        entries.iter().filter(|e| e.reset).count(),
        out.display()
    );
    Ok(())
}
