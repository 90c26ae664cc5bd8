//! Starting a real county from nothing: `api init` loads the official region
//! list and creates the county's first ADMIN in one audited transaction (run
//! again, it changes nothing and says so); the command line acts as a named
//! account. The same starts a further county on a shared database, or a city,
//! province or the nation above the counties (their ADMIN sees the subtree).

use crate::domain::error::{key, msg};
use crate::{
    domain::{
        accounts,
        audit::{self, Actor, NewEvent},
        auth::{password, sessions::normalize_username, Principal, Scope, Viewer},
        error::{AppError, AppResult},
        imports::{self, Parsed, Report},
        tx::Tx,
    },
    AppState,
};
use entity::{account, region, ReferenceSource, RegionLevel, Role};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

/// What `init` did.
pub enum InitOutcome {
    /// An ADMIN exists already: nothing was changed.
    Already { admins: Vec<String> },
    Done {
        county: region::Model,
        regions: Report,
        admin: account::Model,
        /// The generated initial password, shown this once (None when given).
        generated_password: Option<String>,
    },
}

/// What `init` needs: the region list file, the first ADMIN's username, the
/// region (needed when the file holds several counties, or for a region above
/// them) and an initial password.
pub struct InitRequest<'a> {
    pub file_name: &'a str,
    pub bytes: &'a [u8],
    pub admin: &'a str,
    pub county_code: Option<&'a str>,
    pub password: Option<&'a str>,
}

pub async fn init(state: &AppState, req: InitRequest<'_>) -> AppResult<InitOutcome> {
    let rows = region_rows(req.bytes)?;
    let county_code = pick_county(&rows, req.county_code)?;
    // A region that has its ADMIN already is initialised: nothing to do.
    let admins: Vec<String> = account::Entity::find()
        .filter(account::Column::Role.eq(Role::Admin))
        .filter(
            account::Column::RegionId.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(region::Column::Id)
                    .from(region::Entity)
                    .and_where(region::Column::Code.eq(&county_code))
                    .to_owned(),
            ),
        )
        .all(&state.db)
        .await?
        .into_iter()
        .map(|a| a.username)
        .collect();
    if !admins.is_empty() {
        return Ok(InitOutcome::Already { admins });
    }
    let username = accounts::checked_username(req.admin, "admin")?;
    let (initial, generated) = match req.password {
        Some(p) => {
            password::check_policy(p, &username, None)?;
            (p.to_owned(), false)
        }
        None => (crate::domain::accounts::initial_password(), true),
    };
    let hash = password::hash(initial.clone()).await?;
    let actor = Actor { name: Some("api init".into()), role: Some("SYSTEM".into()), ..Default::default() };
    let tx = Tx::begin(state, actor).await?;
    let mut report = Report { kind: "REGIONS".into(), file_name: req.file_name.into(), ..Default::default() };
    imports::apply_regions(tx.conn(), "", &rows, &mut report).await?;
    if !report.errors.is_empty() {
        return Err(refused(&report));
    }
    let county = region::Entity::find()
        .filter(region::Column::Code.eq(&county_code))
        .one(tx.conn())
        .await?
        .ok_or_else(|| AppError::validation("county", msg!(REGION_CODE_UNKNOWN, code = county_code)))?;
    let admin = insert_admin(&tx, &county, username, hash).await?;
    record(&tx, &county, &report).await?;
    tx.commit(state).await?;
    Ok(InitOutcome::Done { county, regions: report, admin, generated_password: generated.then_some(initial) })
}

fn region_rows(bytes: &[u8]) -> AppResult<Vec<imports::RegionRow>> {
    let (table, _) = imports::read_table(bytes)
        .map_err(|e| AppError::validation("regions", msg!(REGION_LIST_REFUSED, rows = e.reason)))?;
    match imports::parse(ReferenceSource::Regions, &table) {
        Ok((Parsed::Regions(rows), _)) => Ok(rows),
        Ok((Parsed::References(_), _)) => Err(AppError::validation("regions", msg!(NOT_A_REGION_LIST))),
        Err(errors) => {
            let mut r = Report::default();
            r.errors = errors;
            Err(refused(&r))
        }
    }
}

/// A refusal naming the first bad rows as Excel numbers them.
fn refused(r: &Report) -> AppError {
    let rows: Vec<String> = r
        .errors
        .iter()
        .take(5)
        .map(|e| format!("{} {}: {}", e.row, e.column.as_deref().unwrap_or(""), e.reason))
        .collect();
    AppError::validation("regions", msg!(REGION_LIST_REFUSED, rows = rows.join("; ")))
}

/// The region is the one county in the file, or the one named: a county, or a
/// city, province or the nation above the counties.
fn pick_county(rows: &[imports::RegionRow], wanted: Option<&str>) -> AppResult<String> {
    let counties: Vec<&str> = rows.iter().filter(|r| r.level == RegionLevel::County).map(|r| r.code.as_str()).collect();
    let above_or_county = |w: &str| rows.iter().any(|r| r.code == w && r.level.depth() <= RegionLevel::County.depth());
    match (wanted, counties.as_slice()) {
        (Some(w), _) if above_or_county(w) => Ok(w.to_owned()),
        (Some(w), _) => Err(AppError::validation("county", msg!(REGION_CODE_UNKNOWN, code = w))),
        (None, [one]) => Ok((*one).to_owned()),
        (None, []) => Err(AppError::validation("county", msg!(REGION_LIST_NO_COUNTY))),
        (None, many) => Err(AppError::validation(
            "county",
            msg!(REGION_LIST_MANY_COUNTIES, count = many.len(), codes = many.join(", ")),
        )),
    }
}

async fn insert_admin(tx: &Tx, county: &region::Model, username: String, hash: String) -> AppResult<account::Model> {
    let office = if county.level == RegionLevel::County { "住建局" } else { "住房城乡建设部门" };
    let name = format!("{}{office}管理员", county.name);
    accounts::insert_issued(tx, accounts::fresh(username, name, Role::Admin, county.id, hash, audit::now())).await
}

async fn record(tx: &Tx, county: &region::Model, report: &Report) -> AppResult<()> {
    tx.audit(NewEvent {
        action: "REGIONS_LOADED",
        entity_type: "Region",
        entity_id: Some(county.id),
        region_id: Some(county.id),
        after: Some(serde_json::json!({ "file": report.file_name, "created": report.created,
            "updated": report.updated, "unchanged": report.unchanged })),
        ..Default::default()
    })
    .await?;
    Ok(())
}

/// The viewer the command line acts as: a named, enabled account (audited as it).
pub async fn viewer_of(db: &DatabaseConnection, username: &str) -> AppResult<Viewer> {
    let name = normalize_username(username);
    let a = account::Entity::find()
        .filter(account::Column::Username.eq(&name))
        .one(db)
        .await?
        .filter(|a| !a.disabled)
        .ok_or_else(|| AppError::validation("as", msg!(NO_SUCH_ACCOUNT, username = name)))?;
    let r =
        region::Entity::find_by_id(a.region_id).one(db).await?.ok_or_else(|| AppError::not_found(key::THING_REGION))?;
    Ok(Viewer {
        principal: Principal::Account { id: a.id, username: a.username },
        role: a.role,
        scope: Scope { region_id: r.id, level: r.level, path: r.path },
        must_change_password: false,
    })
}

/// The account the command line acts as when none is named: the one enabled
/// ADMIN whose region covers the region with `code` (its county, or above);
/// with none or several, the caller must name one.
pub async fn default_operator(db: &DatabaseConnection, code: &str) -> AppResult<String> {
    let target = region::Entity::find()
        .filter(region::Column::Code.eq(code))
        .one(db)
        .await?
        .ok_or_else(|| AppError::validation("county", msg!(RUN_INIT_FIRST, code = code)))?;
    // The region and its ancestors: an ADMIN of any of them covers it.
    let above = crate::domain::regions::ancestor_paths(&target.path);
    let covering: Vec<uuid::Uuid> = region::Entity::find()
        .filter(region::Column::Path.is_in(above))
        .all(db)
        .await?
        .into_iter()
        .map(|r| r.id)
        .collect();
    let admins: Vec<String> = account::Entity::find()
        .filter(account::Column::Role.eq(Role::Admin))
        .filter(account::Column::Disabled.eq(false))
        .filter(account::Column::RegionId.is_in(covering))
        .all(db)
        .await?
        .into_iter()
        .map(|a| a.username)
        .collect();
    match admins.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(AppError::validation("as", msg!(NO_ADMIN_COVERS, region = &target.name))),
        many => Err(AppError::validation("as", msg!(NAME_THE_ADMIN, region = &target.name, names = many.join(", ")))),
    }
}
