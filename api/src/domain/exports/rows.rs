//! The household rows of an export, read 1000 at a time by household code
//! and written as they come, so a province-sized export never holds them all.

use super::{
    sheet::{evidence_zh, path_zh, status_zh, Cell, Sink},
    Scope,
};
use crate::domain::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use entity::{account, finding, household, verification};
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::HashMap;
use uuid::Uuid;

const BATCH: u64 = 1000;

/// Writes every household of the scope; returns how many rows it wrote.
pub(super) async fn write(db: &DatabaseConnection, s: &Scope, web_url: &str, sink: &mut Sink) -> AppResult<i64> {
    let mut people: HashMap<Uuid, String> = HashMap::new();
    let mut last: Option<(String, Uuid)> = None;
    let mut rows = 0i64;
    let web = web_url.trim_end_matches('/').to_owned();
    loop {
        let mut q = household::Entity::find().filter(s.households.clone());
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
            sink.write(&row(s, h, vs.get(&h.id), &open, &people, &web)).map_err(AppError::Internal)?;
            rows += 1;
        }
        if (batch.len() as u64) < BATCH {
            break;
        }
    }
    Ok(rows)
}

fn row(
    s: &Scope,
    h: &household::Model,
    v: Option<&verification::Model>,
    open: &HashMap<Uuid, Vec<String>>,
    people: &HashMap<Uuid, String>,
    web: &str,
) -> Vec<Cell> {
    let township = s.names.get(&h.township_id).cloned().unwrap_or_default();
    let village = h.village_id.and_then(|id| s.names.get(&id).cloned()).unwrap_or_default();
    let status = v.map(|v| v.status);
    let path = v.and_then(|v| v.path);
    let name_of = |id: Option<Uuid>| id.and_then(|id| people.get(&id).cloned()).unwrap_or_default();
    // A real date when there is one; an empty cell otherwise.
    let time = |t: Option<DateTime<Utc>>| t.map(Cell::Time).unwrap_or_else(|| Cell::Text(String::new()));
    let rules = open.get(&h.id).cloned().unwrap_or_default();
    let privacy = s.privacy;
    vec![
        Cell::Text(h.code.clone()),
        Cell::Text(h.head_name.clone()),
        Cell::Text(privacy.id_number(&h.id_number)),
        Cell::Text(township),
        Cell::Text(village),
        Cell::Text(path_zh(h.expected_path).into()),
        Cell::Text(path_zh(path).into()),
        Cell::Text(v.map(|v| evidence_zh(v, privacy)).unwrap_or_default()),
        Cell::Text(status_zh(status).into()),
        Cell::Text(name_of(v.and_then(|v| v.verified_by))),
        Cell::Text(name_of(v.and_then(|v| v.approved_by))),
        time(v.and_then(|v| v.submitted_at)),
        time(v.and_then(|v| v.approved_at)),
        Cell::Num(rules.len() as f64),
        Cell::Text(rules.join("、")),
        Cell::Link(format!("{web}/households/{}", crate::domain::global_id("Household", h.id))),
    ]
}
