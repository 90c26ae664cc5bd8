//! Operator commands that act on a real county from the command line, each
//! as a named account so the audit trail says who: `init` (regions and the
//! first ADMIN), `campaign create` (with a milestone template), `import`, and
//! `issue-accounts`.

use crate::{
    domain::{
        accounts,
        ctx::Ctx,
        imports,
        progress::{self, CampaignTemplate, NewCampaign},
        setup::{self, InitOutcome, InitRequest},
    },
    AppState,
};
use chrono::NaiveDate;
use entity::{region, ReferenceSource};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

fn fail(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

/// The named account, or the one ADMIN covering the region when none is named.
async fn operator(
    state: &AppState,
    as_user: Option<&str>,
    county: &str,
) -> anyhow::Result<crate::domain::auth::Viewer> {
    let name = match as_user {
        Some(u) => u.to_owned(),
        None => setup::default_operator(&state.db, county).await.map_err(fail)?,
    };
    setup::viewer_of(&state.db, &name).await.map_err(fail)
}

/// `api init --regions FILE --admin USERNAME [--county CODE]`.
pub async fn init(
    state: &AppState,
    file: &std::path::Path,
    admin: &str,
    county: Option<&str>,
    password: Option<&str>,
) -> anyhow::Result<()> {
    let bytes = std::fs::read(file)?;
    let file_name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let req = InitRequest { file_name: &file_name, bytes: &bytes, admin, county_code: county, password };
    match setup::init(state, req).await.map_err(fail)? {
        InitOutcome::Already { admins } => {
            println!("Already initialised (ADMIN accounts: {}); nothing changed.", admins.join(", "));
        }
        InitOutcome::Done { county, regions, admin, generated_password } => {
            println!(
                "Initialised {} ({}): {} regions created, {} updated, {} unchanged.",
                county.name, county.code, regions.created, regions.updated, regions.unchanged
            );
            match generated_password {
                Some(p) => println!(
                    "ADMIN account '{}' with initial password: {p}\nIt is shown only now and must be changed at first sign-in.",
                    admin.username
                ),
                None => println!(
                    "ADMIN account '{}' with the initial password from APP_ADMIN_PASSWORD; change it at first sign-in.",
                    admin.username
                ),
            }
        }
    }
    Ok(())
}

/// What `api campaign create` asks for.
pub struct CampaignArgs<'a> {
    pub as_user: &'a str,
    pub county: &'a str,
    pub name: &'a str,
    pub time_zone: &'a str,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub template: &'a str,
}

/// `api campaign create --as USERNAME --county CODE --name N --starts-on D --ends-on D [--template pilot-2020]`.
pub async fn create_campaign(state: &AppState, a: CampaignArgs<'_>) -> anyhow::Result<()> {
    let template = match a.template {
        "pilot-2020" => CampaignTemplate::Pilot2020,
        "none" => CampaignTemplate::None,
        other => anyhow::bail!("unknown template '{other}': pilot-2020 or none"),
    };
    let ctx = Ctx::system(setup::viewer_of(&state.db, a.as_user).await.map_err(fail)?);
    let county = region::Entity::find()
        .filter(region::Column::Code.eq(a.county))
        .one(&state.db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no region with code {}", a.county))?;
    let new = NewCampaign {
        name: a.name,
        region_id: county.id,
        time_zone: a.time_zone,
        starts_on: a.starts_on,
        ends_on: a.ends_on,
        template,
    };
    let c = progress::create_campaign(&ctx, state, new).await.map_err(fail)?;
    println!("Campaign '{}' for {} ({} to {}), id Campaign:{}.", c.name, county.name, c.starts_on, c.ends_on, c.id);
    Ok(())
}

/// `api import --as USERNAME --kind K --file F`: into the newest campaign the account sees.
pub async fn import(
    state: &AppState,
    as_user: Option<&str>,
    county: &str,
    kind: &str,
    file: &std::path::Path,
    dry_run: bool,
) -> anyhow::Result<()> {
    let kind = match kind {
        "regions" => ReferenceSource::Regions,
        "poverty" => ReferenceSource::Poverty,
        "appraisal" => ReferenceSource::Appraisal,
        "renovation" => ReferenceSource::Renovation,
        other => anyhow::bail!("unknown kind '{other}': regions, poverty, appraisal or renovation"),
    };
    let bytes = std::fs::read(file)?;
    let viewer = operator(state, as_user, county).await?;
    let campaign = progress::campaign_or_latest(&state.db, &viewer, None).await.map_err(fail)?;
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let r =
        imports::import(&Ctx::system(viewer), state, campaign.id, kind, &name, &bytes, dry_run).await.map_err(fail)?;
    println!("{}", serde_json::to_string_pretty(&r)?);
    if !r.accepted && !r.already_imported {
        anyhow::bail!("the file was refused; nothing was changed");
    }
    Ok(())
}

/// `api issue-accounts --as USERNAME --region CODE --out FILE`: the bulk issue with its printable sheet.
pub async fn issue_accounts(
    state: &AppState,
    as_user: Option<&str>,
    code: &str,
    out: &std::path::Path,
    confirm: Option<&str>,
) -> anyhow::Result<()> {
    let ctx = Ctx::system(operator(state, as_user, code).await?);
    let region = region::Entity::find()
        .filter(region::Column::Code.eq(code))
        .one(&state.db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no region with code {code}"))?;
    let entries = accounts::issue_accounts(&ctx, state, region.id, confirm).await.map_err(fail)?;
    let html = accounts::printable_sheet(&entries, &state.cfg.web_url).map_err(fail)?;
    std::fs::write(out, html)?;
    println!(
        "Issued {} accounts ({} reset); the printable sheet with initial passwords is {}. Hand it out and delete it.",
        entries.len(),
        entries.iter().filter(|e| e.reset).count(),
        out.display()
    );
    Ok(())
}
