//! A household: what the three offices hold side by side, the front photo,
//! findings, the entry form (in `entry`), and (for reviewers) history.

use super::entry::EntryForm;
use super::households::{severity_class, status_class};
use super::{error_view, local_time, show, Loaded};
use crate::enums::StrEnum;
use crate::gql::{self, household as q, Role, Severity, VerificationStatus};
use crate::i18n::{label, t};
use crate::state::ctx;
use leptos::prelude::*;

pub(crate) async fn fetch(id: String, practice: bool) -> Result<q::HouseholdHousehold, gql::ApiError> {
    let key = format!("household.{id}.{practice}");
    gql::call_cached::<gql::Household>(&key, q::Variables { id, practice })
        .await?
        .household
        .ok_or(gql::ApiError::new("NOT_FOUND", ""))
}

#[component]
pub fn HouseholdPage(id: String) -> impl IntoView {
    let c = ctx();
    let id = StoredValue::new(id);
    // The first load builds the form; later loads (after each delivery) refresh status, findings, photos.
    let base = LocalResource::new(move || fetch(id.get_value(), c.practice.get()));
    view! {
        <Loaded suspense=true error_id="household-error">
            {move || Suspend::new(async move { show(base.await, |h| view! { <HouseholdView h=h /> }) })}
        </Loaded>
    }
}

#[component]
fn HouseholdView(h: q::HouseholdHousehold) -> impl IntoView {
    let c = ctx();
    let id = h.id.clone();
    let id_live = id.clone();
    let live = LocalResource::new(move || {
        c.revision.track();
        fetch(id_live.clone(), c.practice.get_untracked())
    });
    let village = h.village.as_ref().map(|v| v.name.clone()).unwrap_or_default();
    let refs = h.references.clone();
    let reviewer = !matches!(c.role(), Some(Role::VERIFIER));
    view! {
        <section id="household" data-code=h.code.clone()>
            <h2>{h.head_name.clone()}" "<small class="muted">{h.code.clone()}</small></h2>
            <p class="muted">{h.township.name.clone()}" · "{village}" · "{h.id_number.clone()}
                {h.size.map(|s| format!(" · {s}人"))}</p>
            <Loaded quiet=true>
                {move || Suspend::new(async move { show(live.await, |l| view! { <Status h=l /> }) })}
            </Loaded>
            <References refs=refs />
            <EntryForm h=h.clone() />
            {reviewer.then(|| view! { <HistoryView id=id.clone() /> })}
        </section>
    }
}

#[component]
fn Status(h: q::HouseholdHousehold) -> impl IntoView {
    let c = ctx();
    let v = h.verification.clone();
    let status = VerificationStatus::of(v.as_ref().map(|v| v.status));
    let editable = matches!(c.role(), Some(Role::VERIFIER));
    view! {
        <div class="card" id="status">
            <div class="row">
                <span id="status-badge" class=status_class(status) data-status=status.as_str()>{move || label(status)}</span>
                {v.as_ref().and_then(|v| v.verified_by.clone()).map(|a| view! { <span class="muted">{move || t("verified_by")}": "{a.display_name.clone()}</span> })}
                {v.as_ref().and_then(|v| v.approved_by.clone()).map(|a| view! { <span class="muted">{move || t("approved_by")}": "{a.display_name.clone()}</span> })}
            </div>
            {v.as_ref().and_then(|v| v.return_reason.clone()).filter(|_| status == VerificationStatus::RETURNED).map(|r| view! {
                <p class="error">{move || t("returned_reason")}": "{r.clone()}</p>
            })}
            <ul class="findings" id="findings">
                {h.findings.into_iter().map(|f| view! { <FindingRow f=f editable=editable /> }).collect_view()}
            </ul>
            <div class="photos" id="photos">
                {h.photos.into_iter().filter(|p| p.practice == c.practice.get_untracked()).map(|p| view! {
                    <a href=p.url.clone() target="_blank" rel="noopener">
                        <img src=p.thumbnail_url.clone() alt=move || t("front_photo") width="160" height="120" />
                    </a>
                }).collect_view()}
            </div>
        </div>
    }
}

#[component]
fn FindingRow(f: q::HouseholdHouseholdFindings, editable: bool) -> impl IntoView {
    let c = ctx();
    let sev = f.severity;
    let can_ack = editable && sev == Severity::WARNING && !f.acknowledged;
    let reason = RwSignal::new(String::new());
    let error = RwSignal::new(None);
    let id = StoredValue::new(f.id.clone());
    let ack = move |_| {
        leptos::task::spawn_local(async move {
            let vars = gql::acknowledge_finding::Variables { id: id.get_value(), reason: reason.get_untracked() };
            match gql::call::<gql::AcknowledgeFinding>(vars).await {
                Ok(_) => c.revision.update(|r| *r += 1),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <li class=if sev == Severity::ERROR { "finding err" } else { "finding warn" } data-rule=f.rule.clone()>
            <span class=severity_class(sev)>{move || label(sev)}</span>
            " "{f.message.clone()}
            {f.acknowledged.then(|| view! { <span class="muted">" ("{move || t("acknowledged")}": "{f.ack_reason.clone().unwrap_or_default()}")"</span> })}
            {can_ack.then(|| view! {
                <div class="row">
                    <input aria-label=move || t("ack_reason") placeholder=move || t("ack_reason")
                        on:input=move |ev| reason.set(event_target_value(&ev)) />
                    <button class="secondary" on:click=ack>{move || t("acknowledge")}</button>
                </div>
            })}
            {move || error.get().map(|e| error_view(&e))}
        </li>
    }
}

#[component]
fn References(refs: q::HouseholdHouseholdReferences) -> impl IntoView {
    let cols = [refs.poverty, refs.appraisal, refs.renovation];
    type Get = fn(&q::RefFields) -> Option<String>;
    let rows: [(&str, Get, bool); 11] = [
        ("f_head", |r| Some(r.head_name.clone()), true),
        ("f_id", |r| Some(r.id_number.clone()), true),
        ("f_township", |r| r.township_name.clone(), true),
        ("f_village", |r| r.village_name.clone(), true),
        ("f_size", |r| r.household_size.map(|v| v.to_string()), true),
        ("f_exit_year", |r| r.exit_year.map(|v| v.to_string()), false),
        ("f_grade", |r| r.grade.clone(), false),
        ("f_appraised_on", |r| r.appraised_on.clone(), false),
        ("f_ren_year", |r| r.renovation_year.map(|v| v.to_string()), false),
        ("f_ren_kind", |r| r.renovation_kind.clone(), false),
        ("f_subsidy", |r| r.subsidy_yuan.map(|v| v.to_string()), false),
    ];
    let sources = ["src_poverty", "src_appraisal", "src_renovation"];
    let body = rows
        .into_iter()
        .map(|(key, get, compare)| {
            let values: Vec<Option<String>> = cols.iter().map(|c| c.as_ref().and_then(get)).collect();
            let present: Vec<&String> = values.iter().flatten().collect();
            let differs = compare && present.windows(2).any(|w| w[0] != w[1]);
            // Each cell names its source: on a phone the table stacks and the header row is hidden.
            let cells = values
                .into_iter()
                .zip(sources)
                .map(|(v, src)| view! { <td data-label=move || t(src)>{v.unwrap_or_else(|| "—".into())}</td> })
                .collect_view();
            view! {
                <tr class:differs=differs>
                    <th scope="row">{move || t(key)}{differs.then(|| view! { <span class="badge err">{move || t("differs")}</span> })}</th>
                    {cells}
                </tr>
            }
        })
        .collect_view();
    view! {
        <details class="card" open>
            <summary><h3>{move || t("three_offices")}</h3></summary>
            <div class="scroll">
                <table class="refs" id="references">
                    <thead><tr><th></th><th>{move || t("src_poverty")}</th><th>{move || t("src_appraisal")}</th><th>{move || t("src_renovation")}</th></tr></thead>
                    <tbody>{body}</tbody>
                </table>
            </div>
        </details>
    }
}

#[component]
fn HistoryView(id: String) -> impl IntoView {
    let c = ctx();
    let id = StoredValue::new(id);
    let data = LocalResource::new(move || {
        c.revision.track();
        gql::call::<gql::History>(gql::history::Variables { id: id.get_value() })
    });
    view! {
        <details class="card" id="history">
            <summary><h3>{move || t("history")}</h3></summary>
            <Loaded quiet=true>
                {move || Suspend::new(async move {
                    show(data.await, |d| view! {
                        <ol class="history">
                            {d.household.map(|h| h.history.nodes).unwrap_or_default().into_iter().map(|e| view! {
                                <li><span class="muted">{local_time(&e.occurred_at)}</span>" "{e.action}" · "{e.actor_name.unwrap_or_default()}</li>
                            }).collect_view()}
                        </ol>
                    })
                })}
            </Loaded>
        </details>
    }
}
