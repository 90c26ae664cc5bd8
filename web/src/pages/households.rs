use super::error_view;
use crate::gql::{self, households as q, name};
use crate::i18n::{label, t};
use crate::state::{ctx, enc};
use crate::Link;
use leptos::prelude::*;

const STATUSES: [&str; 6] = ["NOT_STARTED", "DRAFT", "SUBMITTED", "RETURNED", "APPROVED", "REOPENED"];

fn status_enum(s: &str) -> Option<q::VerificationStatus> {
    STATUSES.contains(&s).then(|| serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()).flatten()
}

pub fn status_class(s: &str) -> &'static str {
    match s {
        "APPROVED" => "badge ok",
        "SUBMITTED" => "badge info",
        "RETURNED" | "REOPENED" => "badge err",
        "DRAFT" => "badge warn",
        _ => "badge",
    }
}

#[component]
pub fn HouseholdList(region: Option<String>) -> impl IntoView {
    let c = ctx();
    let search = RwSignal::new(String::new());
    let status = RwSignal::new(String::new());
    let limit = RwSignal::new(50i64);
    let region = StoredValue::new(region);
    let data = LocalResource::new(move || {
        let filter = q::HouseholdFilter {
            campaign_id: None,
            region_id: region.get_value(),
            status: status_enum(&status.get()).map(|s| vec![s]),
            path: None,
            expected_path: None,
            has_open_errors: None,
            search: Some(search.get()).filter(|s| !s.trim().is_empty()),
        };
        let key =
            format!("households.{}.{}.{}", filter.search.clone().unwrap_or_default(), status.get(), c.practice.get());
        let vars = q::Variables { first: limit.get(), after: None, filter, practice: c.practice.get() };
        c.revision.track();
        async move { gql::call_cached::<gql::Households>(&key, vars).await }
    });
    view! {
        <section>
            <h2>{move || t("households")}</h2>
            <div class="filters">
                <input type="search" id="search" aria-label=move || t("search") placeholder=move || t("search")
                    on:change=move |ev| search.set(event_target_value(&ev)) />
                <select id="status-filter" aria-label=move || t("status") on:change=move |ev| status.set(event_target_value(&ev))>
                    <option value="">{move || t("status")}</option>
                    {STATUSES.iter().map(|s| view! { <option value=*s>{move || label(s)}</option> }).collect_view()}
                </select>
            </div>
            <Transition fallback=move || view! { <p class="muted">{t("loading")}</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => error_view(&e),
                        Ok(d) => {
                            let h = d.households;
                            let more = h.page_info.has_next_page;
                            view! {
                                <p class="muted" id="total">{move || t("total")}" "{h.total_count}</p>
                                <ul class="cards" id="household-list">
                                    {h.nodes.into_iter().map(row).collect_view()}
                                </ul>
                                {more.then(|| view! {
                                    <button class="secondary" on:click=move |_| limit.update(|l| *l = (*l + 100).min(500))>{move || t("load_more")}</button>
                                })}
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}

fn row(h: q::HouseholdsHouseholdsNodes) -> impl IntoView {
    let status = h.verification.as_ref().map(|v| name(&v.status)).unwrap_or_else(|| "NOT_STARTED".into());
    let path = h.verification.as_ref().and_then(|v| v.path.as_ref()).map(name);
    let errors = h.findings.iter().filter(|f| name(&f.severity) == "ERROR").count();
    let warnings = h.findings.len() - errors;
    let href = format!("/households/{}", enc(&h.id));
    let village = h.village.map(|v| v.name).unwrap_or_default();
    let st = status.clone();
    let code = h.code.clone();
    view! {
        <li class="card household" data-code=code>
            <Link href=href class="stretch">
                <div class="row">
                    <strong>{h.head_name}</strong>
                    <span class=status_class(&status)>{move || label(&st)}</span>
                </div>
                <div class="row muted">
                    <span>{h.code}</span>
                    <span>{village}</span>
                    <span>{move || path.as_deref().map(label).unwrap_or_default()}</span>
                </div>
                {(errors + warnings > 0).then(|| view! {
                    <div class="row">
                        {(errors > 0).then(|| view! { <span class="badge err">{move || label("ERROR")}" "{errors}</span> })}
                        {(warnings > 0).then(|| view! { <span class="badge warn">{move || label("WARNING")}" "{warnings}</span> })}
                    </div>
                })}
            </Link>
        </li>
    }
}
