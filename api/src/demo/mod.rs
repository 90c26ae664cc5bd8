//! The Gucheng County pilot (故城县, 131126) as demo data, generated
//! deterministically: the same regions, households and IDs on every machine.

mod steps;

use crate::{
    domain::{accounts, audit::Actor, auth::password, tx::Tx},
    AppState,
};
use entity::*;
use sea_orm::EntityTrait;
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
    let now = crate::domain::audit::now();
    let tx = Tx::begin(state, Actor::default()).await?;
    let txn = tx.conn();
    let summary = steps::insert_all(txn, campaign_id, &hash, now).await?;
    // As after an import: the county sees its open questions before anyone visits a house.
    crate::domain::checks::run(txn, campaign_id, &summary.households).await?;
    crate::domain::counters::recount(txn, campaign_id).await?;
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
