//! Running the checks over households: load what the rules need for a chunk of
//! households in a fixed handful of queries (never one per household, since a
//! county's import checks thousands at once), assemble each household's
//! `Facts`, and hand the drafts to `sync` to bring the findings up to date.

use super::rules::{entry_rules, reference_rules, Facts, PhotoFacts, NEAR_DUPLICATE_BITS};
use super::sync::sync;
use crate::domain::error::AppResult;
use entity::{finding, household, photo, reference_record, verification, PhotoKind, ReferenceSource};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// The campaign's first and last day, as UTC bounds of the local days.
type Window = (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>);

/// Runs every rule for the given households of a campaign and brings their
/// findings up to date: new problems open, solved ones close, unchanged ones
/// (and their acknowledgements) stay. Call inside the transaction of the change.
pub async fn run<C: ConnectionTrait>(conn: &C, campaign_id: Uuid, household_ids: &[Uuid]) -> AppResult<CheckSummary> {
    let mut summary = CheckSummary::default();
    for chunk in household_ids.chunks(500) {
        run_chunk(conn, campaign_id, chunk, &mut summary).await?;
    }
    Ok(summary)
}

#[derive(Default, Debug, Clone)]
pub struct CheckSummary {
    pub households: u64,
    pub opened: u64,
    pub resolved: u64,
    pub open_errors_by_rule: HashMap<String, u64>,
    /// Per household whose findings changed: (household, region, opened rules, resolved rules).
    pub changes: Vec<(Uuid, Option<Uuid>, Vec<String>, Vec<String>)>,
}

async fn run_chunk<C: ConnectionTrait>(
    conn: &C,
    campaign_id: Uuid,
    ids: &[Uuid],
    summary: &mut CheckSummary,
) -> AppResult<()> {
    let chunk = Chunk::load(conn, campaign_id, ids).await?;
    for h in &chunk.households {
        summary.households += 1;
        for practice in [false, true] {
            let v = chunk.verifications.iter().find(|v| v.household_id == h.id && v.practice == practice);
            if practice && v.is_none() {
                // No practice entry: close any practice findings left over.
                sync(conn, h, true, None, Vec::new(), &chunk.existing, summary).await?;
                continue;
            }
            let facts = chunk.facts(h, practice, v);
            let mut drafts = entry_rules(&facts);
            if !practice {
                drafts.extend(reference_rules(&facts));
            }
            sync(conn, h, practice, v, drafts, &chunk.existing, summary).await?;
        }
    }
    Ok(())
}

/// Everything the rules need for one chunk of households, loaded up front.
struct Chunk {
    households: Vec<household::Model>,
    /// The current reference records of the chunk, of all three sources.
    refs: Vec<reference_record::Model>,
    /// Real and practice verifications of the chunk.
    verifications: Vec<verification::Model>,
    /// The chunk's front panoramic photos, real and practice.
    front_photos: Vec<photo::Model>,
    /// (household, practice) pairs that have a front photo.
    fronts: HashSet<(Uuid, bool)>,
    /// The real photos to compare the chunk's with (household, sha256, dHash):
    /// every one in the chunk's counties, and exact copies anywhere in the campaign.
    campaign_photos: Vec<(Uuid, String, Option<i64>)>,
    /// Household codes of the households in `campaign_photos`.
    codes: HashMap<Uuid, String>,
    window: Option<Window>,
    /// Village centres, for the villages that have one.
    villages: HashMap<Uuid, (f64, f64)>,
    /// The campaign's households sharing an ID number with one of the chunk: ID number → (id, code).
    by_id: HashMap<String, Vec<(Uuid, String)>>,
    /// The chunk's open findings, which `sync` compares the drafts with.
    existing: Vec<finding::Model>,
}

impl Chunk {
    async fn load<C: ConnectionTrait>(conn: &C, campaign_id: Uuid, ids: &[Uuid]) -> AppResult<Self> {
        let households =
            household::Entity::find().filter(household::Column::Id.is_in(ids.iter().copied())).all(conn).await?;
        let refs = reference_record::Entity::find()
            .filter(reference_record::Column::HouseholdId.is_in(ids.iter().copied()))
            .filter(reference_record::Column::Current.eq(true))
            .all(conn)
            .await?;
        let verifications = verification::Entity::find()
            .filter(verification::Column::HouseholdId.is_in(ids.iter().copied()))
            .all(conn)
            .await?;
        let front_photos: Vec<photo::Model> = photo::Entity::find()
            .filter(photo::Column::HouseholdId.is_in(ids.iter().copied()))
            .filter(photo::Column::Kind.eq(PhotoKind::FrontPanorama))
            .all(conn)
            .await?;
        let fronts = front_photos.iter().map(|p| (p.household_id, p.practice)).collect();
        // Without a front photo in the chunk there is nothing to compare.
        let campaign_photos = if front_photos.is_empty() {
            Vec::new()
        } else {
            campaign_photos(conn, campaign_id, &households, &front_photos).await?
        };
        let codes = if campaign_photos.is_empty() { HashMap::new() } else { codes_of(conn, &campaign_photos).await? };
        let window = campaign_window(conn, campaign_id).await?;
        let villages = village_centres(conn, &households).await?;
        let by_id = same_id_numbers(conn, campaign_id, &households).await?;
        let existing = finding::Entity::find()
            .filter(finding::Column::HouseholdId.is_in(ids.iter().copied()))
            .filter(finding::Column::Open.eq(true))
            .all(conn)
            .await?;
        Ok(Self {
            households,
            refs,
            verifications,
            front_photos,
            fronts,
            campaign_photos,
            codes,
            window,
            villages,
            by_id,
            existing,
        })
    }

    /// What the rules look at for one household's real or practice record.
    fn facts<'a>(&'a self, h: &'a household::Model, practice: bool, v: Option<&'a verification::Model>) -> Facts<'a> {
        let pick = |s: ReferenceSource| self.refs.iter().find(|r| r.household_id == Some(h.id) && r.source == s);
        let same_id_as: Vec<String> = self
            .by_id
            .get(&h.id_number)
            .map(|v| v.iter().filter(|(id, _)| *id != h.id).map(|(_, c)| c.clone()).collect())
            .unwrap_or_default();
        let newest = self
            .front_photos
            .iter()
            .filter(|p| p.household_id == h.id && p.practice == practice)
            .max_by_key(|p| p.uploaded_at)
            .cloned();
        let duplicate_of = newest.as_ref().map(|p| self.duplicates_of(h.id, p)).unwrap_or_default();
        let photo_facts = PhotoFacts {
            photo: newest,
            duplicate_of,
            window: self.window,
            village_at: h.village_id.and_then(|v| self.villages.get(&v).copied()),
        };
        Facts {
            photo: Some(photo_facts),
            household: h,
            poverty: pick(ReferenceSource::Poverty),
            appraisal: pick(ReferenceSource::Appraisal),
            renovation: pick(ReferenceSource::Renovation),
            verification: v,
            same_id_as,
            has_front_photo: self.fronts.contains(&(h.id, practice)),
        }
    }

    /// Codes of the other households holding the same or a near-identical picture, sorted.
    fn duplicates_of(&self, household_id: Uuid, p: &photo::Model) -> Vec<String> {
        let mut d: Vec<String> = self
            .campaign_photos
            .iter()
            .filter(|(hid, sha, ph)| {
                *hid != household_id
                    && (*sha == p.sha256
                        || matches!((ph, p.phash), (Some(a), Some(b)) if crate::domain::evidence::hamming(*a, b) <= NEAR_DUPLICATE_BITS))
            })
            .filter_map(|(hid, _, _)| self.codes.get(hid).cloned())
            .collect();
        d.sort();
        d.dedup();
        d
    }
}

/// Every real photo of the campaign, for duplicates (a county holds thousands: one query).
/// Near copies (dHash) are looked for among the photos of the chunk's
/// counties, exact copies (SHA-256, indexed) in the whole campaign: a campaign
/// may be the nation's, and reading its millions of photos for every check
/// of one household would not do.
async fn campaign_photos<C: ConnectionTrait>(
    conn: &C,
    campaign_id: Uuid,
    households: &[household::Model],
    fronts: &[photo::Model],
) -> AppResult<Vec<(Uuid, String, Option<i64>)>> {
    use sea_orm::{sea_query::Query, Condition};
    let in_campaign = |counties: Option<Vec<Uuid>>| {
        let mut q = Query::select()
            .column(household::Column::Id)
            .from(household::Entity)
            .and_where(household::Column::CampaignId.eq(campaign_id))
            .to_owned();
        if let Some(c) = counties {
            q.and_where(household::Column::CountyId.is_in(c));
        }
        q
    };
    let mut counties: Vec<Uuid> = households.iter().map(|h| h.county_id).collect();
    counties.sort();
    counties.dedup();
    let shas: Vec<String> = fronts.iter().map(|p| p.sha256.clone()).collect();
    Ok(photo::Entity::find()
        .select_only()
        .columns([photo::Column::HouseholdId, photo::Column::Sha256, photo::Column::Phash])
        .filter(photo::Column::Practice.eq(false))
        .filter(
            Condition::any().add(photo::Column::HouseholdId.in_subquery(in_campaign(Some(counties)))).add(
                Condition::all()
                    .add(photo::Column::Sha256.is_in(shas))
                    .add(photo::Column::HouseholdId.in_subquery(in_campaign(None))),
            ),
        )
        .into_tuple()
        .all(conn)
        .await?)
}

/// The codes of the households holding those photos, which a duplicate finding names.
async fn codes_of<C: ConnectionTrait>(
    conn: &C,
    campaign_photos: &[(Uuid, String, Option<i64>)],
) -> AppResult<HashMap<Uuid, String>> {
    Ok(household::Entity::find()
        .select_only()
        .columns([household::Column::Id, household::Column::Code])
        .filter(household::Column::Id.is_in(campaign_photos.iter().map(|p| p.0)))
        .into_tuple::<(Uuid, String)>()
        .all(conn)
        .await?
        .into_iter()
        .collect())
}

/// The campaign's days in its own time zone, as UTC bounds; none if the zone is unknown.
async fn campaign_window<C: ConnectionTrait>(conn: &C, campaign_id: Uuid) -> AppResult<Option<Window>> {
    let campaign = entity::campaign::Entity::find_by_id(campaign_id).one(conn).await?;
    Ok(campaign.as_ref().and_then(|c| {
        use chrono::TimeZone;
        let tz: chrono_tz::Tz = c.time_zone.parse().ok()?;
        let start = tz.from_local_datetime(&c.starts_on.and_hms_opt(0, 0, 0)?).earliest()?;
        let end = tz.from_local_datetime(&(c.ends_on + chrono::Duration::days(1)).and_hms_opt(0, 0, 0)?).earliest()?;
        Some((start.with_timezone(&chrono::Utc), end.with_timezone(&chrono::Utc)))
    }))
}

/// The centres of the households' villages, where recorded.
async fn village_centres<C: ConnectionTrait>(
    conn: &C,
    households: &[household::Model],
) -> AppResult<HashMap<Uuid, (f64, f64)>> {
    Ok(entity::region::Entity::find()
        .filter(entity::region::Column::Id.is_in(households.iter().filter_map(|h| h.village_id)))
        .all(conn)
        .await?
        .into_iter()
        .filter_map(|r| Some((r.id, (r.latitude?, r.longitude?))))
        .collect())
}

/// ID numbers shared with another household of the campaign.
async fn same_id_numbers<C: ConnectionTrait>(
    conn: &C,
    campaign_id: Uuid,
    households: &[household::Model],
) -> AppResult<HashMap<String, Vec<(Uuid, String)>>> {
    let id_numbers: Vec<String> = households.iter().map(|h| h.id_number.clone()).collect();
    let mut by_id: HashMap<String, Vec<(Uuid, String)>> = HashMap::new();
    for (hid, code, idn) in household::Entity::find()
        .select_only()
        .columns([household::Column::Id, household::Column::Code, household::Column::IdNumber])
        .filter(household::Column::CampaignId.eq(campaign_id))
        .filter(household::Column::IdNumber.is_in(id_numbers))
        .into_tuple::<(Uuid, String, String)>()
        .all(conn)
        .await?
    {
        by_id.entry(idn).or_default().push((hid, code));
    }
    Ok(by_id)
}
