//! Open findings under the viewer's region: by rule as a share of the
//! households (a chart), then the list, filtered by rule and severity and
//! paged 50 at a time; each row leads to the household and its history.

use super::households::severity_class;
use super::{error_view, percent};
use crate::charts;
use crate::gql::{self, findings as q, ApiError, Severity, StrEnum};
use crate::i18n::{label, rule_name, t};
use crate::state::{ctx, enc};
use crate::Link;
use leptos::prelude::*;

type Row = q::FindingsFindingsNodes;

#[component]
pub fn FindingsPage() -> impl IntoView {
    let c = ctx();
    let rule = RwSignal::new(String::new());
    let severity = RwSignal::new(None::<Severity>);
    let region = RwSignal::new(String::new());
    let open = RwSignal::new(true);
    let rows = RwSignal::new(Vec::<Row>::new());
    let next = RwSignal::new(None::<String>);
    let counts = RwSignal::new(None::<(Vec<q::FindingsFindingCounts>, i64)>);
    let error = RwSignal::new(None::<ApiError>);
    // The townships under the viewer, for the region filter.
    let townships = RwSignal::new(None::<Vec<(String, String)>>);
    leptos::task::spawn_local(async move {
        let vars = gql::regions::Variables { level: Some(gql::RegionLevel::TOWNSHIP) };
        if let Ok(d) = gql::call::<gql::Regions>(vars).await {
            townships.set(Some(d.regions.into_iter().map(|r| (r.id, r.name)).collect()));
        }
    });
    // One page: the first replaces the list, "load more" appends the next.
    let load = move |after: Option<String>| {
        let vars = q::Variables {
            region_id: Some(region.get_untracked()).filter(|r| !r.is_empty()),
            open: open.get_untracked(),
            rule: Some(rule.get_untracked()).filter(|r| !r.is_empty()),
            severity: severity.get_untracked(),
            after: after.clone(),
        };
        leptos::task::spawn_local(async move {
            match gql::call::<gql::Findings>(vars).await {
                Ok(d) => {
                    let more = d.findings.page_info.has_next_page.then_some(d.findings.page_info.end_cursor).flatten();
                    next.set(more);
                    if after.is_some() {
                        rows.update(|r| r.extend(d.findings.nodes));
                    } else {
                        rows.set(d.findings.nodes);
                    }
                    counts.set(Some((d.finding_counts, d.households.total_count)));
                    error.set(None);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    Effect::new(move |_| {
        c.revision.track();
        rule.track();
        severity.track();
        region.track();
        open.track();
        load(None);
    });
    view! {
        <section id="findings-page">
            <h2>{move || t("findings")}</h2>
            {move || counts.get().map(|(c, households)| view! { <ByRule counts=c households=households /> })}
            <div class="filters">
                <select id="rule-filter" aria-label=move || t("rule") on:change=move |ev| rule.set(event_target_value(&ev))>
                    <option value="">{move || t("all_rules")}</option>
                    {move || counts.get().map(|(c, _)| c.into_iter().map(|r| view! { <option value=r.rule.clone()>{rule_name(&r.rule)}</option> }).collect_view())}
                </select>
                <select id="severity-filter" aria-label=move || t("severity") on:change=move |ev| severity.set(Severity::parse(&event_target_value(&ev)))>
                    <option value="">{move || t("all_severities")}</option>
                    {[Severity::ERROR, Severity::WARNING].into_iter().map(|s| view! { <option value=s.as_str()>{move || label(s)}</option> }).collect_view()}
                </select>
                <select id="region-filter" aria-label=move || t("region") on:change=move |ev| region.set(event_target_value(&ev))>
                    <option value="">{move || t("all_regions")}</option>
                    {move || townships.get().map(|list| list.into_iter().map(|(id, name)| view! { <option value=id>{name}</option> }).collect_view())}
                </select>
                <select id="open-filter" aria-label=move || t("status") on:change=move |ev| open.set(event_target_value(&ev) != "resolved")>
                    <option value="open">{move || t("findings_open")}</option>
                    <option value="resolved">{move || t("findings_resolved")}</option>
                </select>
            </div>
            {move || error.get().map(|e| error_view(&e))}
            <ul class="cards" id="findings-list">
                <For each=move || rows.get() key=|f| f.id.clone() children=|f| view! { <FindingCard f=f /> } />
            </ul>
            {move || next.get().map(|cursor| view! {
                <button class="secondary" id="findings-more" on:click=move |_| load(Some(cursor.clone()))>{move || t("load_more")}</button>
            })}
        </section>
    }
}

/// Findings by rule, each as a share of the households in the region.
#[component]
fn ByRule(counts: Vec<q::FindingsFindingCounts>, households: i64) -> impl IntoView {
    let of = households.max(1) as f64;
    let rows: Vec<(String, f64, f64)> =
        counts.iter().map(|r| (rule_name(&r.rule), r.count as f64 * 100.0 / of, 0.0)).collect();
    let svg = charts::bars(t("by_rule"), &rows, charts::BLUE, "transparent");
    view! {
        <div class="card chart">
            <h3>{move || t("by_rule")}</h3>
            <ul class="legend">
                {counts.into_iter().map(|r| view! {
                    <li data-rule=r.rule.clone()><span class=severity_class(r.severity)>{label(r.severity)}</span>" "{rule_name(&r.rule)}" "
                        <b>{r.count}</b>" ("{percent(r.count as f64 * 100.0 / of)}")"</li>
                }).collect_view()}
            </ul>
            <div inner_html=svg></div>
        </div>
    }
}

#[component]
fn FindingCard(f: Row) -> impl IntoView {
    let href = format!("/households/{}", enc(&f.household.id));
    view! {
        <li class="card" data-rule=f.rule.clone()>
            <div class="row">
                <span class=severity_class(f.severity)>{label(f.severity)}</span>
                <strong>{rule_name(&f.rule)}</strong>
                <Link href=href>{f.household.head_name.clone()}" "{f.household.code.clone()}</Link>
                <span class="muted">{f.household.village.as_ref().map(|v| v.name.clone())}</span>
            </div>
            <p>{f.message.clone()}</p>
        </li>
    }
}
