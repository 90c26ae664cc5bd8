//! The township's review queue, phone first: each card shows the front photo,
//! the chosen path with its evidence and the open findings; filters by
//! village and findings; return needs a reason; bulk approval first brings
//! the checks up to date, then approves exactly the records the server's
//! approval rule (`blocksApproval`) lets through and shows each result.

use super::households::severity_class;
use super::{error_view, show, Loaded};
use crate::enums::StrEnum;
use crate::gql::{self, review_queue as q, ApiError, VerificationStatus};
use crate::i18n::{error_text, label, t};
use crate::state::{ctx, enc};
use crate::Link;
use leptos::prelude::*;

type Node = q::ReviewQueueHouseholdsNodes;

/// One approval, resent while the API is briefly away; its key keeps a
/// resend after a lost answer from failing as "no longer submitted".
async fn approve(id: String, version: i64) -> Result<(), ApiError> {
    let vars = gql::approve_verification::Variables { id, version, idempotency_key: Some(crate::outbox::new_id()) };
    gql::call_retrying::<gql::ApproveVerification>(vars).await.map(|_| ())
}

async fn load_queue(status: VerificationStatus) -> Result<Vec<Node>, ApiError> {
    let filter = q::HouseholdFilter {
        campaign_id: None,
        region_id: None,
        status: Some(vec![status]),
        path: None,
        expected_path: None,
        has_open_errors: None,
        search: None,
    };
    // 200 at a time (the query's cost limit): deciding some brings the next ones up.
    Ok(gql::call::<gql::ReviewQueue>(q::Variables { filter }).await?.households.nodes)
}

/// Whether the server's approval rule lets the record through.
fn approvable(h: &Node) -> bool {
    h.verification.is_some() && !h.findings.iter().any(|f| f.blocks_approval)
}

#[component]
pub fn ReviewPage() -> impl IntoView {
    let c = ctx();
    let tick = RwSignal::new(0u32);
    let village = RwSignal::new(String::new());
    let findings = RwSignal::new(String::new());
    // Waiting for review by default; returned ones to see what went back.
    let status = RwSignal::new(VerificationStatus::SUBMITTED);
    // Outlive the list's reloads: progress and each record's result.
    let bulk = Bulk { progress: RwSignal::new(None), results: RwSignal::new(Vec::new()) };
    let region = c.session.get_untracked().map(|s| s.region_id).unwrap_or_default();
    // The cards show findings as of opening the page: the township's checks
    // run once first (a photo may have turned up elsewhere since submission).
    // Later reloads (after each decision) need not: approving re-checks the
    // record on the server, and bulk approval re-checks the township.
    let unchecked = StoredValue::new(Some(region.clone()));
    let data = LocalResource::new(move || {
        tick.track();
        c.revision.track();
        let status = status.get();
        let first = unchecked.try_update_value(Option::take).flatten();
        async move {
            if let Some(region_id) = first {
                let _ = gql::call::<gql::CheckRegion>(gql::check_region::Variables { region_id }).await;
            }
            load_queue(status).await
        }
    });
    view! {
        <section id="review">
            <h2>{move || t("review_queue")}</h2>
            <BulkApprove bulk=bulk tick=tick region=region.clone() />
            <select id="status-filter" aria-label=move || t("status")
                on:change=move |ev| status.set(VerificationStatus::parse(&event_target_value(&ev)).unwrap_or(VerificationStatus::SUBMITTED))>
                {[VerificationStatus::SUBMITTED, VerificationStatus::RETURNED].into_iter().map(|s| view! { <option value=s.as_str()>{move || label(s)}</option> }).collect_view()}
            </select>
            <Loaded>
                {move || Suspend::new(async move {
                    show(data.await, |nodes| view! { <Queue nodes=nodes tick=tick village=village findings=findings /> })
                })}
            </Loaded>
            {(!region.is_empty()).then(|| view! { <details class="card"><summary><h3>{move || t("board")}</h3></summary><crate::pages::board::BoardPage region=region /></details> })}
        </section>
    }
}

#[derive(Clone, Copy)]
struct Bulk {
    progress: RwSignal<Option<(usize, usize)>>,
    /// (household code, approved?, what happened)
    results: RwSignal<Vec<(String, bool, String)>>,
}

/// Bulk approval: checks run over the township first (so findings are current),
/// then every record the approval rule lets through is approved, one by one.
#[component]
fn BulkApprove(bulk: Bulk, tick: RwSignal<u32>, region: String) -> impl IntoView {
    let region = StoredValue::new(region);
    let run = move |_| {
        leptos::task::spawn_local(async move {
            bulk.results.set(Vec::new());
            bulk.progress.set(Some((0, 0)));
            let vars = gql::check_region::Variables { region_id: region.get_value() };
            let fresh = match gql::call::<gql::CheckRegion>(vars).await {
                Ok(_) => load_queue(VerificationStatus::SUBMITTED).await,
                Err(e) => Err(e),
            };
            let nodes = match fresh {
                Ok(n) => n,
                Err(e) => return bulk.results.set(vec![(String::new(), false, error_text(&e))]),
            };
            let mut results: Vec<(String, bool, String)> = nodes
                .iter()
                .filter(|h| !approvable(h))
                .map(|h| {
                    let why: Vec<&str> =
                        h.findings.iter().filter(|f| f.blocks_approval).map(|f| f.message.as_str()).collect();
                    (h.code.clone(), false, format!("{}：{}", t("bulk_excluded"), why.join("；")))
                })
                .collect();
            let todo: Vec<&Node> = nodes.iter().filter(|h| approvable(h)).collect();
            for (i, h) in todo.iter().enumerate() {
                bulk.progress.set(Some((i, todo.len())));
                let v = h.verification.as_ref().expect("approvable has a record");
                let r = approve(v.id.clone(), v.version).await;
                results.push((
                    h.code.clone(),
                    r.is_ok(),
                    r.err().map_or_else(|| t("approved").to_owned(), |e| error_text(&e)),
                ));
            }
            bulk.progress.set(Some((todo.len(), todo.len())));
            bulk.results.set(results);
            tick.update(|t| *t += 1);
        });
    };
    view! {
        <div class="row">
            <button id="bulk-approve" disabled=move || bulk.progress.get().is_some_and(|(a, b)| a < b || (a, b) == (0, 0) && bulk.results.with(Vec::is_empty)) on:click=run>
                {move || t("bulk_approve")}
            </button>
            {move || bulk.progress.get().filter(|(_, b)| *b > 0).map(|(a, b)| view! {
                <progress max=b value=a aria-label=t("bulk_approve")></progress><span>{a}" / "{b}</span>
            })}
        </div>
        {move || bulk.results.with(|r| (!r.is_empty()).then(|| view! {
            <ul class="findings" id="bulk-results">{r.iter().map(|(code, ok, what)| view! {
                <li data-code=code.clone() data-result=if *ok { "approved" } else { "excluded" } class=if *ok { "" } else { "error" }>{code.clone()}" · "{what.clone()}</li>
            }).collect_view()}</ul>
        }))}
    }
}

#[component]
fn Queue(
    nodes: Vec<Node>,
    tick: RwSignal<u32>,
    village: RwSignal<String>,
    findings: RwSignal<String>,
) -> impl IntoView {
    let mut villages: Vec<(String, String)> =
        nodes.iter().filter_map(|h| h.village.as_ref().map(|v| (v.id.clone(), v.name.clone()))).collect();
    villages.sort();
    villages.dedup();
    let total = nodes.len();
    let nodes = StoredValue::new(nodes);
    let shown = move || {
        let (v, f) = (village.get(), findings.get());
        nodes.with_value(|n| {
            n.iter()
                .filter(|h| v.is_empty() || h.village.as_ref().is_some_and(|x| x.id == v))
                .filter(|h| match f.as_str() {
                    "with" => !h.findings.is_empty(),
                    "without" => h.findings.is_empty(),
                    _ => true,
                })
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    view! {
        <div class="filters">
            <select id="village-filter" aria-label=move || t("village") on:change=move |ev| village.set(event_target_value(&ev))>
                <option value="">{move || t("all_villages")}</option>
                {villages.into_iter().map(|(id, name)| view! { <option value=id>{name}</option> }).collect_view()}
            </select>
            <select id="findings-filter" aria-label=move || t("open_findings") on:change=move |ev| findings.set(event_target_value(&ev))>
                <option value="">{move || t("all_records")}</option>
                <option value="with">{move || t("with_findings")}</option>
                <option value="without">{move || t("without_findings")}</option>
            </select>
            <span class="muted" id="queue-count">{move || t("total")}" "{total}</span>
        </div>
        {(total == 0).then(|| view! { <p class="muted">{move || t("queue_empty")}</p> })}
        <ul class="cards" id="review-list">
            <For each=shown key=|h| h.id.clone() children=move |h| view! { <ReviewRow h=h tick=tick /> } />
        </ul>
    }
}

/// The three offices' key facts where they differ: (fact, "source value / …").
fn differences(r: &q::ReviewQueueHouseholdsNodesReferences) -> Vec<(&'static str, String)> {
    let names = [
        ("src_poverty", r.poverty.as_ref().map(|x| (x.head_name.clone(), x.id_number.clone()))),
        ("src_appraisal", r.appraisal.as_ref().map(|x| (x.head_name.clone(), x.id_number.clone()))),
        ("src_renovation", r.renovation.as_ref().map(|x| (x.head_name.clone(), x.id_number.clone()))),
    ];
    let mut out = Vec::new();
    for (fact, pick) in [("f_head", 0usize), ("f_id", 1usize)] {
        let present: Vec<(&str, &String)> = names
            .iter()
            .filter_map(|(src, v)| v.as_ref().map(|(n, i)| (*src, if pick == 0 { n } else { i })))
            .collect();
        if present.windows(2).any(|w| w[0].1 != w[1].1) {
            let text: Vec<String> = present.iter().map(|(src, v)| format!("{} {v}", t(src))).collect();
            out.push((fact, text.join(" / ")));
        }
    }
    out
}

/// The path and what supports it, in one line.
fn evidence(v: &q::ReviewQueueHouseholdsNodesVerification) -> String {
    let e = &v.evidence;
    let mut parts: Vec<String> = Vec::new();
    if let Some(a) = &e.appraisal {
        parts.push(t(if a.confirmed_on_site { "confirmed_on_site" } else { "not_confirmed" }).to_owned());
    }
    if let Some(r) = &e.renovation {
        parts.push(label(r.kind).to_owned());
        parts.extend(r.new_address.clone());
    }
    if let Some(s) = &e.secured {
        parts.push(label(s.arrangement).to_owned());
        parts.push(s.address.clone());
    }
    parts.join(" · ")
}

#[component]
fn ReviewRow(h: Node, tick: RwSignal<u32>) -> impl IntoView {
    let v = h.verification.clone();
    let (vid, version) =
        (v.as_ref().map(|v| v.id.clone()).unwrap_or_default(), v.as_ref().map(|v| v.version).unwrap_or(0));
    let vid = StoredValue::new(vid);
    let reason = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let returning = RwSignal::new(false);
    let need_reason = RwSignal::new(false);
    let on_approve = move |_| {
        leptos::task::spawn_local(async move {
            match approve(vid.get_value(), version).await {
                Ok(()) => tick.update(|t| *t += 1),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let on_return = move |_| {
        if reason.get_untracked().trim().is_empty() {
            // The reason is what the verifier reads: asked for, and said so when missing.
            need_reason.set(returning.get_untracked());
            returning.set(true);
            return;
        }
        leptos::task::spawn_local(async move {
            let vars = gql::return_verification::Variables {
                id: vid.get_value(),
                version,
                reason: reason.get_untracked(),
                idempotency_key: Some(crate::outbox::new_id()),
            };
            match gql::call_retrying::<gql::ReturnVerification>(vars).await {
                Ok(_) => tick.update(|t| *t += 1),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let path = v.as_ref().and_then(|v| v.path);
    let photo = h.photos.iter().find(|p| !p.practice).map(|p| p.thumbnail_url.clone());
    let href = format!("/households/{}", enc(&h.id));
    let (code, title, village) = (h.code.clone(), format!(" {}", h.code), h.village.as_ref().map(|v| v.name.clone()));
    let (head, by) =
        (h.head_name.clone(), v.as_ref().and_then(|v| v.verified_by.as_ref()).map(|a| a.display_name.clone()));
    let summary = v.as_ref().map(evidence);
    let differs = differences(&h.references);
    view! {
        <li class="card review" data-code=code>
            <div class="row">
                {photo.map(|u| view! { <img class="thumb" src=u alt=move || t("front_photo") width="96" height="72" /> })}
                <div>
                    <Link href=href><strong>{head}</strong>{title}</Link>
                    <div class="muted">{village}" · "{by}</div>
                    <div class="evidence"><strong>{move || path.map(label)}</strong>" "{summary}</div>
                </div>
            </div>
            {(!differs.is_empty()).then(|| view! {
                <ul class="differs">{differs.into_iter().map(|(fact, text)| view! {
                    <li><span class="badge err">{t("differs")}</span>" "<strong>{t(fact)}</strong>" "{text}</li>
                }).collect_view()}</ul>
            })}
            <ul class="findings">
                {h.findings.iter().map(|f| view! { <li data-rule=f.rule.clone()><span class=severity_class(f.severity)>{label(f.severity)}</span>" "{f.message.clone()}</li> }).collect_view()}
            </ul>
            <Show when=move || returning.get()>
                <input class="return-reason" aria-label=move || t("return_reason") placeholder=move || t("return_reason")
                    on:input=move |ev| { reason.set(event_target_value(&ev)); need_reason.set(false) } />
                <Show when=move || need_reason.get()><span class="field-error return-reason-error" role="alert">{move || t("return_reason_needed")}</span></Show>
            </Show>
            <div class="actions">
                <button class="approve" on:click=on_approve>{move || t("approve")}</button>
                <button class="secondary return" on:click=on_return>{move || t("return")}</button>
            </div>
            {move || error.get().map(|e| error_view(&e))}
        </li>
    }
}
