//! The household list: search, filter by status, load more; each card links to the household.

use super::{show, Loaded};
use crate::gql::{self, households as q, Severity, StrEnum, VerificationStatus};
use crate::i18n::{label, t};
use crate::state::{ctx, enc};
use crate::Link;
use leptos::prelude::*;

pub fn status_class(s: VerificationStatus) -> &'static str {
    use VerificationStatus::*;
    match s {
        APPROVED => "badge ok",
        SUBMITTED => "badge info",
        RETURNED | REOPENED => "badge err",
        DRAFT => "badge warn",
        _ => "badge",
    }
}

/// A finding's badge class.
pub fn severity_class(s: Severity) -> &'static str {
    if s == Severity::ERROR {
        "badge err"
    } else {
        "badge warn"
    }
}

#[component]
pub fn HouseholdList(region: Option<String>) -> impl IntoView {
    let c = ctx();
    let search = RwSignal::new(String::new());
    let typed = RwSignal::new(String::new());
    // As the person types: the list follows a moment after the last key.
    let pending = StoredValue::new(None::<TimeoutHandle>);
    let on_type = move |v: String| {
        typed.set(v.clone());
        if let Some(h) = pending.get_value() {
            h.clear();
        }
        let h = set_timeout_with_handle(move || search.set(v), std::time::Duration::from_millis(300)).ok();
        pending.set_value(h);
    };
    let status = RwSignal::new(None::<VerificationStatus>);
    // A verifier's list is their village: all of it, so a download keeps it whole.
    let verifier = matches!(c.role(), Some(crate::enums::Role::VERIFIER));
    let limit = RwSignal::new(if verifier { 500i64 } else { 50 });
    let region = StoredValue::new(region);
    let data = LocalResource::new(move || {
        let filter = q::HouseholdFilter {
            campaign_id: None,
            region_id: region.get_value(),
            status: status.get().map(|s| vec![s]),
            path: None,
            expected_path: None,
            has_open_errors: None,
            search: Some(search.get()).filter(|s| !s.trim().is_empty()),
        };
        let key = format!(
            "households.{}.{}.{}",
            filter.search.clone().unwrap_or_default(),
            status.get().map_or("", StrEnum::as_str),
            c.practice.get()
        );
        let vars = q::Variables { first: limit.get(), after: None, filter, practice: c.practice.get() };
        c.revision.track();
        async move { gql::call_cached::<gql::Households>(&key, vars).await }
    });
    view! {
        <section>
            <h2>{move || t("households")}</h2>
            {verifier.then(|| view! { <DownloadVillage /> })}
            <div class="filters">
                <input type="search" id="search" aria-label=move || t("search") placeholder=move || t("search")
                    prop:value=move || typed.get() on:input=move |ev| on_type(event_target_value(&ev)) />
                <select id="status-filter" aria-label=move || t("status") on:change=move |ev| status.set(VerificationStatus::parse(&event_target_value(&ev)))>
                    <option value="">{move || t("status")}</option>
                    {VerificationStatus::ALL.iter().map(|&s| view! { <option value=s.as_str()>{move || label(s)}</option> }).collect_view()}
                </select>
            </div>
            <Loaded>
                {move || Suspend::new(async move {
                    show(data.await, |d| {
                        let h = d.households;
                        let more = h.page_info.has_next_page;
                        let none = (h.total_count == 0 && !search.get_untracked().trim().is_empty()).then(|| view! {
                            <p id="no-results">{move || t("no_results")}" “"{search.get_untracked()}"” "
                                <button class="secondary" id="clear-search" on:click=move |_| { typed.set(String::new()); search.set(String::new()) }>{move || t("clear_search")}</button>
                            </p>
                        });
                        view! {
                            <p class="muted" id="total">{move || t("total")}" "{h.total_count}</p>
                            {none}
                            <ul class="cards" id="household-list">
                                {h.nodes.into_iter().map(row).collect_view()}
                            </ul>
                            {more.then(|| view! {
                                <button class="secondary" on:click=move |_| limit.update(|l| *l = (*l + 100).min(500))>{move || t("load_more")}</button>
                            })}
                        }
                    })
                })}
            </Loaded>
        </section>
    }
}

fn row(h: q::HouseholdsHouseholdsNodes) -> impl IntoView {
    let status = VerificationStatus::of(h.verification.as_ref().map(|v| v.status));
    let path = h.verification.as_ref().and_then(|v| v.path);
    let errors = h.findings.iter().filter(|f| f.severity == Severity::ERROR).count();
    let warnings = h.findings.len() - errors;
    let href = format!("/households/{}", enc(&h.id));
    let village = h.village.map(|v| v.name).unwrap_or_default();
    let code = h.code.clone();
    view! {
        <li class="card household" data-code=code>
            <Link href=href class="stretch">
                <div class="row">
                    <strong>{h.head_name}</strong>
                    <span class=status_class(status)>{move || label(status)}</span>
                </div>
                <div class="row muted">
                    <span>{h.code}</span>
                    <span>{village}</span>
                    <span>{move || path.map(label)}</span>
                </div>
                {(errors + warnings > 0).then(|| view! {
                    <div class="row">
                        {(errors > 0).then(|| view! { <span class="badge err">{move || label(Severity::ERROR)}" "{errors}</span> })}
                        {(warnings > 0).then(|| view! { <span class="badge warn">{move || label(Severity::WARNING)}" "{warnings}</span> })}
                    </div>
                })}
            </Link>
        </li>
    }
}

/// "Download my village": the village's list and every household's page are
/// kept on the phone (the same per-account cache pages read when offline),
/// so each household opens, and takes an entry, without a network.
#[component]
fn DownloadVillage() -> impl IntoView {
    let c = ctx();
    let progress = RwSignal::new(None::<(usize, usize)>);
    let done = RwSignal::new(None::<Result<(usize, f64), gql::ApiError>>);
    let run = move |_| {
        let practice = c.practice.get_untracked();
        done.set(None);
        leptos::task::spawn_local(async move {
            let filter = q::HouseholdFilter {
                campaign_id: None,
                region_id: None,
                status: None,
                path: None,
                expected_path: None,
                has_open_errors: None,
                search: None,
            };
            let key = format!("households...{practice}");
            let vars = q::Variables { first: 500, after: None, filter, practice };
            let list = match gql::call_cached::<gql::Households>(&key, vars).await {
                Ok(d) => d.households.nodes,
                Err(e) => return done.set(Some(Err(e))),
            };
            let total = list.len();
            progress.set(Some((0, total)));
            for (i, h) in list.into_iter().enumerate() {
                if let Err(e) = super::household::fetch(h.id, practice).await {
                    return done.set(Some(Err(e)));
                }
                progress.set(Some((i + 1, total)));
            }
            done.set(Some(Ok((total, gql::cached_bytes() as f64 / 1024.0))));
        });
    };
    view! {
        <div class="card row" id="download">
            <button class="secondary" id="download-village" on:click=run
                disabled=move || progress.get().is_some_and(|(d, n)| d < n) && done.get().is_none()>{move || t("download_village")}</button>
            {move || progress.get().filter(|_| done.get().is_none()).map(|(d, n)| view! {
                <progress id="download-progress" max=n.to_string() value=d.to_string()></progress>
                <span class="muted">{d}" / "{n}</span>
            })}
            {move || done.get().map(|r| match r {
                Ok((n, kb)) => view! { <span id="downloaded" class="badge ok">{move || t("downloaded")}" "{n}" · "{format!("{kb:.0} KB")}</span> }.into_any(),
                Err(e) => super::error_view(&e),
            })}
        </div>
    }
}
