//! Writing what the checks found: bringing a household's findings up to date
//! with the drafts (and only then, so unchanged findings keep their
//! acknowledgements), the look-back findings only a person opens, and the audit
//! events of a run.

use super::rules::Draft;
use super::run::CheckSummary;
use crate::domain::error::AppResult;
use entity::{finding, household, verification, Severity};
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};
use serde_json::{json, Value};
use uuid::Uuid;

/// Records what a check run changed in the audit trail: one event per household
/// for a single record's change, one summary event for a bulk run.
pub async fn audit<C: ConnectionTrait>(
    conn: &C,
    actor: &crate::domain::audit::Actor,
    summary: &CheckSummary,
    bulk_region: Option<Uuid>,
) -> AppResult<()> {
    use crate::domain::audit::{append, NewEvent};
    if summary.changes.is_empty() {
        return Ok(());
    }
    if summary.changes.len() <= 20 {
        for (h, region, opened, resolved) in &summary.changes {
            append(
                conn,
                actor,
                NewEvent {
                    action: "FINDINGS_CHANGED",
                    entity_type: "Household",
                    entity_id: Some(*h),
                    household_id: Some(*h),
                    region_id: *region,
                    before: Some(json!({ "resolved": resolved })),
                    after: Some(json!({ "opened": opened })),
                },
            )
            .await?;
        }
    } else {
        append(
            conn,
            actor,
            NewEvent {
                action: "FINDINGS_CHANGED",
                entity_type: "Region",
                entity_id: bulk_region,
                region_id: bulk_region,
                after: Some(json!({ "households": summary.changes.len(), "opened": summary.opened, "resolved": summary.resolved })),
                ..Default::default()
            },
        )
        .await?;
    }
    Ok(())
}

/// Opens a LOOK_BACK warning on a household: a person's finding (a reopen in the
/// look-back review, or a re-check that disagrees), closed when the verifier
/// acknowledges what they fixed, never by re-running the checks.
pub async fn open_look_back<C: ConnectionTrait>(
    conn: &C,
    h: &household::Model,
    verification_id: Option<Uuid>,
    practice: bool,
    details: Value,
) -> AppResult<()> {
    finding::ActiveModel {
        id: Set(Uuid::new_v4()),
        campaign_id: Set(h.campaign_id),
        household_id: Set(h.id),
        verification_id: Set(verification_id),
        rule: Set("LOOK_BACK".into()),
        severity: Set(Severity::Warning),
        details: Set(details),
        sources: Set(json!(["LOOK_BACK"])),
        practice: Set(practice),
        open: Set(true),
        acknowledged_by: Set(None),
        acknowledged_at: Set(None),
        ack_reason: Set(None),
        created_at: Set(crate::domain::audit::now()),
        resolved_at: Set(None),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// Rules that only a person opens (look-back), which re-running checks must not close.
const MANUAL_RULES: [&str; 1] = ["LOOK_BACK"];

/// Brings one household's real or practice findings up to date with the drafts:
/// a finding whose rule no longer fires, or fires with other details, closes;
/// a draft without an identical open finding opens one. Identical ones are left
/// alone, which is what keeps a warning's acknowledgement across re-runs.
pub(super) async fn sync<C: ConnectionTrait>(
    conn: &C,
    h: &household::Model,
    practice: bool,
    v: Option<&verification::Model>,
    drafts: Vec<Draft>,
    existing: &[finding::Model],
    summary: &mut CheckSummary,
) -> AppResult<()> {
    let now = crate::domain::audit::now();
    let mut opened = Vec::new();
    let mut resolved = Vec::new();
    let mine: Vec<&finding::Model> = existing
        .iter()
        .filter(|f| f.household_id == h.id && f.practice == practice && !MANUAL_RULES.contains(&f.rule.as_str()))
        .collect();
    for f in &mine {
        let still = drafts.iter().find(|d| d.rule == f.rule);
        match still {
            Some(d) if d.details == f.details => {}
            _ => {
                finding::Entity::update_many()
                    .col_expr(finding::Column::Open, Expr::value(false))
                    .col_expr(finding::Column::ResolvedAt, Expr::value(now))
                    .filter(finding::Column::Id.eq(f.id))
                    .exec(conn)
                    .await?;
                summary.resolved += 1;
                resolved.push(f.rule.clone());
            }
        }
    }
    for d in drafts {
        if d.severity == Severity::Error && !practice {
            *summary.open_errors_by_rule.entry(d.rule.to_string()).or_default() += 1;
        }
        if mine.iter().any(|f| f.rule == d.rule && f.details == d.details) {
            continue;
        }
        finding::ActiveModel {
            id: Set(Uuid::new_v4()),
            campaign_id: Set(h.campaign_id),
            household_id: Set(h.id),
            verification_id: Set(v.map(|v| v.id)),
            rule: Set(d.rule.into()),
            severity: Set(d.severity),
            details: Set(d.details),
            sources: Set(json!(d.sources)),
            practice: Set(practice),
            open: Set(true),
            acknowledged_by: Set(None),
            acknowledged_at: Set(None),
            ack_reason: Set(None),
            created_at: Set(now),
            resolved_at: Set(None),
        }
        .insert(conn)
        .await?;
        summary.opened += 1;
        opened.push(d.rule.to_string());
    }
    if !opened.is_empty() || !resolved.is_empty() {
        if practice {
            opened.iter_mut().chain(resolved.iter_mut()).for_each(|r| r.insert_str(0, "PRACTICE:"));
        }
        summary.changes.push((h.id, h.village_id.or(Some(h.township_id)), opened, resolved));
    }
    Ok(())
}
