//! Open findings under the viewer's region: counts by rule as a chart, then the list.

use super::households::severity_class;
use super::{show, Loaded};
use crate::charts;
use crate::gql::{self, findings as q};
use crate::i18n::{label, t};
use crate::state::{ctx, enc};
use crate::Link;
use leptos::prelude::*;

#[component]
pub fn FindingsPage() -> impl IntoView {
    let c = ctx();
    let data = LocalResource::new(move || {
        c.revision.track();
        gql::call::<gql::Findings>(q::Variables { region_id: None, after: None })
    });
    view! {
        <section id="findings-page">
            <h2>{move || t("findings")}</h2>
            <Loaded>
                {move || Suspend::new(async move {
                    show(data.await, |d| {
                        let max = d.finding_counts.iter().map(|r| r.count).max().unwrap_or(1).max(1) as f64;
                        let rows: Vec<(String, f64, f64)> = d.finding_counts.iter()
                            .map(|r| (r.rule.clone(), r.count as f64 * 100.0 / max, 0.0)).collect();
                        let svg = charts::bars(t("by_rule"), &rows, charts::BLUE, "transparent");
                        view! {
                            <div class="card chart">
                                <h3>{move || t("by_rule")}</h3>
                                <ul class="legend">
                                    {d.finding_counts.iter().map(|r| view! { <li><span class=severity_class(r.severity)>{label(r.severity)}</span>" "{r.rule.clone()}" "<b>{r.count}</b></li> }).collect_view()}
                                </ul>
                                <div inner_html=svg></div>
                            </div>
                            <ul class="cards">
                                {d.findings.nodes.into_iter().map(|f| view! {
                                    <li class="card">
                                        <div class="row">
                                            <span class=severity_class(f.severity)>{label(f.severity)}</span>
                                            <Link href=format!("/households/{}", enc(&f.household.id))>{f.household.head_name.clone()}" "{f.household.code.clone()}</Link>
                                            <span class="muted">{f.household.village.as_ref().map(|v| v.name.clone())}</span>
                                        </div>
                                        <p>{f.message.clone()}</p>
                                    </li>
                                }).collect_view()}
                            </ul>
                        }
                    })
                })}
            </Loaded>
        </section>
    }
}
