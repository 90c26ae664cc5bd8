//! Applying a parsed list inside the import's transaction: regions, then
//! the offices' rows (new, changed, unchanged, superseded), then each
//! household's expected path.

use super::{parse::expected_path, read::err, Job, RefRow, RegionRow, Report};
use crate::domain::error::msg;
use crate::domain::error::AppResult;
use chrono::{DateTime, Utc};
use entity::{household, reference_record, region, ReferenceSource, RegionLevel, SafetyPath};
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// Places the official list's regions, only inside `within` (a region path;
/// empty for the whole tree, as when a county starts from nothing).
pub async fn regions<C: ConnectionTrait>(
    conn: &C,
    within: &str,
    rows: &[RegionRow],
    report: &mut Report,
) -> AppResult<()> {
    let mut sorted: Vec<&RegionRow> = rows.iter().collect();
    sorted.sort_by_key(|r| r.level.depth());
    let existing: HashMap<String, region::Model> =
        region::Entity::find().all(conn).await?.into_iter().map(|r| (r.code.clone(), r)).collect();
    let mut known: HashMap<String, (Uuid, String)> =
        existing.values().map(|r| (r.code.clone(), (r.id, r.path.clone()))).collect();
    let now = crate::domain::audit::now();
    for r in sorted {
        let parent = r.parent.as_ref().and_then(|p| known.get(p).cloned());
        let path = match &parent {
            // The nation is the empty path, so a province's path is the same
            // whether or not the nation is on the list.
            _ if r.level == RegionLevel::Nation => String::new(),
            Some((_, ppath)) => format!("{ppath}{}/", r.code),
            None => format!("{}/", r.code),
        };
        // Only the viewer's own region and what lies below it.
        if !path.starts_with(within) {
            report.errors.push(err(r.row, Some("区划代码"), msg!(IMPORT_REGION_OUTSIDE, value = &r.code)));
            continue;
        }
        if r.level.depth() > 2 && parent.is_none() {
            report.errors.push(err(r.row, Some("上级区划代码"), msg!(IMPORT_PARENT_UNKNOWN)));
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

/// Applies the offices' rows: the poverty list first places its households,
/// then every list's rows are stored as new, changed, unchanged or superseded.
pub(super) async fn references<C: ConnectionTrait>(
    conn: &C,
    job: &Job<'_>,
    rows: &[RefRow],
    report: &mut Report,
) -> AppResult<()> {
    // One instant for every row this import writes.
    let now = crate::domain::audit::now();
    let current = current_records(conn, job.campaign.id, job.county.id, job.kind).await?;
    // A good stored value is never replaced by a worse one (noted in the report).
    let rows: Vec<RefRow> = rows
        .iter()
        .map(|r| match current.get(&r.code) {
            Some(old) => super::worse::keep_better(old, r, &mut report.notices),
            None => r.clone(),
        })
        .collect();
    let rows = rows.as_slice();
    let mut households = county_households(conn, job.campaign.id, job.county.id).await?;
    if job.kind == ReferenceSource::Poverty {
        place_households(conn, job, rows, &mut households, now, report).await?;
        if !report.errors.is_empty() {
            return Ok(());
        }
    }
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
        inserts.push(new_record(job, r, household_id, now));
    }
    supersede_missing(rows, &current, &mut supersede, report);
    write_records(conn, job.import_id, &supersede, &inserts).await
}

/// The county's households in the campaign, by code.
async fn county_households<C: ConnectionTrait>(
    conn: &C,
    campaign_id: Uuid,
    county_id: Uuid,
) -> AppResult<HashMap<String, household::Model>> {
    Ok(household::Entity::find()
        .filter(household::Column::CampaignId.eq(campaign_id))
        .filter(household::Column::CountyId.eq(county_id))
        .all(conn)
        .await?
        .into_iter()
        .map(|h| (h.code.clone(), h))
        .collect())
}

/// The poverty list defines the households: each row is matched to its
/// township and village by name, and its household created or updated. A
/// township not on the official list is a row error (and nothing more is
/// written, as the file will be refused).
async fn place_households<C: ConnectionTrait>(
    conn: &C,
    job: &Job<'_>,
    rows: &[RefRow],
    households: &mut HashMap<String, household::Model>,
    now: DateTime<Utc>,
    report: &mut Report,
) -> AppResult<()> {
    // Townships and villages by name, from the official list.
    let places = Places::load(conn, job.county).await?;
    let names = &places.names;
    let existing = households.len();
    let elsewhere = other_counties_codes(conn, job, rows, households).await?;
    let mut new_households = Vec::new();
    for r in rows {
        if elsewhere.contains(&r.code) {
            report.errors.push(err(r.row, Some("户编号"), msg!(IMPORT_CODE_OTHER_COUNTY, value = &r.code)));
            continue;
        }
        let tname = r.township.as_deref().unwrap_or("");
        let Some(t) = places.township(tname) else {
            report.errors.push(err(r.row, Some("乡镇"), msg!(IMPORT_TOWNSHIP_UNKNOWN, value = tname)));
            continue;
        };
        let village = places.village(t, r.village.as_deref().unwrap_or(""));
        match households.get(&r.code) {
            Some(h) => {
                super::changes::note(report, h, r, (t, village), names);
                if let Some(h2) = update_household(conn, h, r, t, village, now).await? {
                    households.insert(r.code.clone(), h2);
                }
            }
            None => {
                let h = new_household(job, r, t, village, now);
                new_households.push(household::ActiveModel::from(h.clone()));
                households.insert(r.code.clone(), h);
            }
        }
    }
    report.large_change = super::changes::large(report.changed_households, existing);
    if !report.errors.is_empty() {
        return Ok(());
    }
    for chunk in new_households.chunks(300) {
        household::Entity::insert_many(chunk.to_vec()).exec_without_returning(conn).await?;
    }
    link_references(conn, job, rows, households).await
}

/// Codes in the file that already belong to a household of another county in
/// the campaign (a campaign above the county holds several counties' lists).
async fn other_counties_codes<C: ConnectionTrait>(
    conn: &C,
    job: &Job<'_>,
    rows: &[RefRow],
    households: &HashMap<String, household::Model>,
) -> AppResult<HashSet<String>> {
    let fresh: Vec<String> =
        rows.iter().filter(|r| !households.contains_key(&r.code)).map(|r| r.code.clone()).collect();
    let mut out = HashSet::new();
    for chunk in fresh.chunks(500) {
        for h in household::Entity::find()
            .filter(household::Column::CampaignId.eq(job.campaign.id))
            .filter(household::Column::CountyId.ne(job.county.id))
            .filter(household::Column::Code.is_in(chunk.to_vec()))
            .all(conn)
            .await?
        {
            out.insert(h.code);
        }
    }
    Ok(out)
}

/// The county's townships and villages by the names the offices' lists use.
pub(super) struct Places {
    townships: HashMap<String, Uuid>,
    villages: HashMap<(Uuid, String), Uuid>,
    /// Every region's name, for showing changes.
    pub names: HashMap<Uuid, String>,
}

impl Places {
    pub async fn load<C: ConnectionTrait>(conn: &C, county: &region::Model) -> AppResult<Self> {
        let regions = region::Entity::find().filter(region::Column::Path.starts_with(&county.path)).all(conn).await?;
        let of = |level| regions.iter().filter(move |r: &&region::Model| r.level == level);
        Ok(Self {
            townships: of(RegionLevel::Township).map(|r| (r.name.clone(), r.id)).collect(),
            villages: of(RegionLevel::Village).filter_map(|r| Some(((r.parent_id?, r.name.clone()), r.id))).collect(),
            names: regions.iter().map(|r| (r.id, r.name.clone())).collect(),
        })
    }
    pub fn township(&self, name: &str) -> Option<Uuid> {
        self.townships.get(name).copied()
    }
    pub fn village(&self, township: Uuid, name: &str) -> Option<Uuid> {
        self.villages.get(&(township, name.to_owned())).copied()
    }
}

/// Updates a listed household whose details changed; `None` if none did.
async fn update_household<C: ConnectionTrait>(
    conn: &C,
    h: &household::Model,
    r: &RefRow,
    township_id: Uuid,
    village: Option<Uuid>,
    now: DateTime<Utc>,
) -> AppResult<Option<household::Model>> {
    let changed = h.head_name != r.head_name
        || h.id_number != r.id_number
        || h.size != r.size
        || h.phone != r.phone
        || h.township_id != township_id
        || h.village_id != village;
    if !changed {
        return Ok(None);
    }
    let mut am: household::ActiveModel = h.clone().into();
    am.head_name = Set(r.head_name.clone());
    am.id_number = Set(r.id_number.clone());
    am.size = Set(r.size);
    am.phone = Set(r.phone.clone());
    am.township_id = Set(township_id);
    am.village_id = Set(village);
    am.updated_at = Set(now);
    Ok(Some(am.update(conn).await?))
}

/// A household first seen on the poverty list (inserted in bulk later).
fn new_household(
    job: &Job<'_>,
    r: &RefRow,
    township_id: Uuid,
    village: Option<Uuid>,
    now: DateTime<Utc>,
) -> household::Model {
    household::Model {
        id: Uuid::new_v4(),
        campaign_id: job.campaign.id,
        code: r.code.clone(),
        head_name: r.head_name.clone(),
        id_number: r.id_number.clone(),
        size: r.size,
        phone: r.phone.clone(),
        county_id: job.county.id,
        township_id,
        village_id: village,
        expected_path: None,
        created_at: now,
        updated_at: now,
        created_by_import: Some(job.import_id),
    }
}

/// References imported earlier for households that now exist get linked.
async fn link_references<C: ConnectionTrait>(
    conn: &C,
    job: &Job<'_>,
    rows: &[RefRow],
    households: &HashMap<String, household::Model>,
) -> AppResult<()> {
    for r in rows {
        if let Some(h) = households.get(&r.code) {
            reference_record::Entity::update_many()
                .col_expr(reference_record::Column::HouseholdId, Expr::value(h.id))
                .filter(reference_record::Column::CampaignId.eq(job.campaign.id))
                .filter(reference_record::Column::CountyId.eq(job.county.id))
                .filter(reference_record::Column::HouseholdCode.eq(r.code.clone()))
                .filter(reference_record::Column::HouseholdId.is_null())
                .exec(conn)
                .await?;
        }
    }
    Ok(())
}

/// The current records of this source, by household code.
async fn current_records<C: ConnectionTrait>(
    conn: &C,
    campaign_id: Uuid,
    county_id: Uuid,
    kind: ReferenceSource,
) -> AppResult<HashMap<String, reference_record::Model>> {
    Ok(reference_record::Entity::find()
        .filter(reference_record::Column::CampaignId.eq(campaign_id))
        .filter(reference_record::Column::CountyId.eq(county_id))
        .filter(reference_record::Column::Source.eq(kind))
        .filter(reference_record::Column::Current.eq(true))
        .all(conn)
        .await?
        .into_iter()
        .map(|r| (r.household_code.clone(), r))
        .collect())
}

/// The stored form of one row, current from now on.
fn new_record(
    job: &Job<'_>,
    r: &RefRow,
    household_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> reference_record::ActiveModel {
    reference_record::ActiveModel {
        id: Set(Uuid::new_v4()),
        campaign_id: Set(job.campaign.id),
        county_id: Set(job.county.id),
        import_id: Set(Some(job.import_id)),
        source: Set(job.kind),
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
        source_file: Set(job.file_name.into()),
        row_number: Set(r.row),
        current: Set(true),
        superseded_by: Set(None),
        created_at: Set(now),
    }
}

/// A newer list no longer holding a household: its old row becomes history.
fn supersede_missing(
    rows: &[RefRow],
    current: &HashMap<String, reference_record::Model>,
    supersede: &mut Vec<Uuid>,
    report: &mut Report,
) {
    let in_file: HashSet<&str> = rows.iter().map(|r| r.code.as_str()).collect();
    for (code, old) in current {
        if !in_file.contains(code.as_str()) {
            supersede.push(old.id);
            report.superseded += 1;
        }
    }
}

/// Marks replaced rows as history (naming the import, so it can be undone),
/// then stores the new ones.
async fn write_records<C: ConnectionTrait>(
    conn: &C,
    import_id: Uuid,
    supersede: &[Uuid],
    inserts: &[reference_record::ActiveModel],
) -> AppResult<()> {
    for chunk in supersede.chunks(300) {
        reference_record::Entity::update_many()
            .col_expr(reference_record::Column::Current, Expr::value(false))
            .col_expr(reference_record::Column::SupersededBy, Expr::value(import_id))
            .filter(reference_record::Column::Id.is_in(chunk.to_vec()))
            .exec(conn)
            .await?;
    }
    for chunk in inserts.chunks(200) {
        reference_record::Entity::insert_many(chunk.to_vec()).exec_without_returning(conn).await?;
    }
    Ok(())
}

/// Each household's expected path from its county's current appraisal and renovation rows.
pub(super) async fn refresh_expected_paths<C: ConnectionTrait>(
    conn: &C,
    campaign_id: Uuid,
    county_id: Uuid,
) -> AppResult<()> {
    let refs = reference_record::Entity::find()
        .filter(reference_record::Column::CampaignId.eq(campaign_id))
        .filter(reference_record::Column::CountyId.eq(county_id))
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
    let households = county_households(conn, campaign_id, county_id).await?.into_values();
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
