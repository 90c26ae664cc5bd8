//! The township's review queue: approve, return with a reason, or approve in
//! bulk every record without findings; and the township's progress by village.

use super::households::severity_class;
use super::{error_view, show, Loaded};
use crate::gql::{self, households as q, ApiError, VerificationStatus};
use crate::i18n::{error_text, label, t};
use crate::state::{ctx, enc};
use crate::Link;
use leptos::prelude::*;

async fn approve(id: String, version: i64) -> Result<(), ApiError> {
    gql::call::<gql::ApproveVerification>(gql::approve_verification::Variables { id, version }).await.map(|_| ())
}

#[component]
pub fn ReviewPage() -> impl IntoView {
    let c = ctx();
    let tick = RwSignal::new(0u32);
    // Outlive the list's reloads: (done, of) and the records the bulk run could
    // not approve (changed meanwhile, new findings…), with why.
    let bulk = Bulk { progress: RwSignal::new(None), failed: RwSignal::new(Vec::new()) };
    let data = LocalResource::new(move || {
        tick.track();
        c.revision.track();
        let filter = q::HouseholdFilter {
            campaign_id: None,
            region_id: None,
            status: Some(vec![VerificationStatus::SUBMITTED]),
            path: None,
            expected_path: None,
            has_open_errors: None,
            search: None,
        };
        gql::call::<gql::Households>(q::Variables { first: 500, after: None, filter, practice: false })
    });
    let region = c.session.get_untracked().map(|s| s.region_id).unwrap_or_default();
    view! {
        <section id="review">
            <h2>{move || t("review_queue")}</h2>
            <Loaded>
                {move || Suspend::new(async move {
                    show(data.await, |d| view! { <Queue nodes=d.households.nodes tick=tick bulk=bulk /> })
                })}
            </Loaded>
            {(!region.is_empty()).then(|| view! { <crate::pages::board::BoardPage region=region /> })}
        </section>
    }
}

#[derive(Clone, Copy)]
struct Bulk {
    progress: RwSignal<Option<(usize, usize)>>,
    failed: RwSignal<Vec<String>>,
}

#[component]
fn Queue(nodes: Vec<q::HouseholdsHouseholdsNodes>, tick: RwSignal<u32>, bulk: Bulk) -> impl IntoView {
    let Bulk { progress: bulk, failed: bulk_failed } = bulk;
    let clean: Vec<(String, i64, String)> = nodes
        .iter()
        .filter(|h| h.findings.is_empty())
        .filter_map(|h| h.verification.as_ref().map(|v| (v.id.clone(), v.version, h.code.clone())))
        .collect();
    let n = clean.len();
    let run_bulk = move |_| {
        let clean = clean.clone();
        leptos::task::spawn_local(async move {
            let total = clean.len();
            bulk_failed.set(Vec::new());
            for (i, (id, version, code)) in clean.into_iter().enumerate() {
                bulk.set(Some((i, total)));
                if let Err(e) = approve(id, version).await {
                    bulk_failed.update(|f| f.push(format!("{code}: {}", error_text(&e))));
                }
            }
            bulk.set(Some((total, total)));
            tick.update(|t| *t += 1);
        });
    };
    view! {
        <div class="row">
            <span class="muted" id="queue-count">{move || t("total")}" "{nodes.len()}</span>
            <button id="bulk-approve" disabled=move || n == 0 || bulk.get().is_some_and(|(a, b)| a < b) on:click=run_bulk>
                {move || t("bulk_approve")}" ("{n}")"
            </button>
            {move || bulk.get().map(|(a, b)| view! {
                <progress max=b.max(1) value=a aria-label=t("bulk_approve")></progress>
                <span>{a}" / "{b}</span>
            })}
        </div>
        {move || bulk_failed.with(|f| (!f.is_empty()).then(|| view! {
            <ul class="findings" id="bulk-failed">{f.iter().map(|m| view! { <li class="error">{m.clone()}</li> }).collect_view()}</ul>
        }))}
        {nodes.is_empty().then(|| view! { <p class="muted">{move || t("queue_empty")}</p> })}
        <ul class="cards" id="review-list">
            {nodes.into_iter().map(|h| view! { <ReviewRow h=h tick=tick /> }).collect_view()}
        </ul>
    }
}

#[component]
fn ReviewRow(h: q::HouseholdsHouseholdsNodes, tick: RwSignal<u32>) -> impl IntoView {
    let v = h.verification.clone();
    let (vid, version) =
        (v.as_ref().map(|v| v.id.clone()).unwrap_or_default(), v.as_ref().map(|v| v.version).unwrap_or(0));
    let vid = StoredValue::new(vid);
    let reason = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let returning = RwSignal::new(false);
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
            returning.set(true);
            return;
        }
        leptos::task::spawn_local(async move {
            let vars =
                gql::return_verification::Variables { id: vid.get_value(), version, reason: reason.get_untracked() };
            match gql::call::<gql::ReturnVerification>(vars).await {
                Ok(_) => tick.update(|t| *t += 1),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let path = v.as_ref().and_then(|v| v.path);
    let (code, code2, head, href) =
        (h.code.clone(), h.code.clone(), h.head_name.clone(), format!("/households/{}", enc(&h.id)));
    view! {
        <li class="card" data-code=code>
            <div class="row">
                <Link href=href><strong>{head}</strong>" "{code2}</Link>
                <span class="muted">{h.village.as_ref().map(|v| v.name.clone())}</span>
                <span>{move || path.map(label)}</span>
                <span class="muted">{v.as_ref().and_then(|v| v.verified_by.as_ref()).map(|a| a.display_name.clone())}</span>
            </div>
            <ul class="findings">
                {h.findings.iter().map(|f| view! { <li><span class=severity_class(f.severity)>{label(f.severity)}</span>" "{f.message.clone()}</li> }).collect_view()}
            </ul>
            <Show when=move || returning.get()>
                <input class="return-reason" aria-label=move || t("return_reason") placeholder=move || t("return_reason")
                    on:input=move |ev| reason.set(event_target_value(&ev)) />
            </Show>
            <div class="actions">
                <button class="approve" on:click=on_approve>{move || t("approve")}</button>
                <button class="secondary return" on:click=on_return>{move || t("return")}</button>
            </div>
            {move || error.get().map(|e| error_view(&e))}
        </li>
    }
}
