//! The progress board: totals, drill-down, charts, countdowns, behind-pace
//! list; live through the progressChanged subscription.

use super::{error_view, local_time, percent, show, Loaded};
use crate::charts;
use crate::gql::{self, board as q, MilestoneMetric, MilestoneState, RegionLevel, StrEnum, VerificationStatus};
use crate::i18n::{label, t};
use crate::state::{ctx, enc, now_ms, parse_ms};
use crate::Link;
use leptos::prelude::*;
use std::{cell::Cell, rc::Rc};

type Progress = StoredValue<q::ProgressFields>;

#[component]
pub fn BoardPage(region: String) -> impl IntoView {
    let tick = RwSignal::new(0u32);
    let last_update = RwSignal::new(None::<f64>);
    let handle = follow(region.clone(), tick, last_update);
    on_cleanup(move || gql::unsubscribe(handle));
    let region = StoredValue::new(region);
    let data = LocalResource::new(move || {
        tick.track();
        gql::call::<gql::Board>(q::Variables { region_id: region.get_value() })
    });
    view! {
        <section id="board">
            <Loaded>
                {move || Suspend::new(async move { show(data.await, |d| view! { <Board d=d last_update=last_update /> }) })}
            </Loaded>
        </section>
    }
}

/// Keeps the board live. The server says which region changed (at most every
/// half second) and the board refetches its own query: once per burst of
/// messages, never twice for one. Its first message is the state at
/// subscription time, which the first load already fetched: that one only
/// starts the clock. After a reconnect its first message does refetch
/// (changes may have been missed meanwhile).
fn follow(region: String, tick: RwSignal<u32>, last_update: RwSignal<Option<f64>>) -> u32 {
    let first = Cell::new(true);
    let pending = Rc::new(Cell::new(false));
    let vars = gql::progress_live::Variables { region_id: region };
    gql::subscribe::<gql::ProgressLive>(vars, move |_| {
        last_update.set(Some(now_ms()));
        if first.replace(false) || pending.replace(true) {
            return;
        }
        let pending = pending.clone();
        let refetch = move || {
            pending.set(false);
            tick.try_update(|t| *t += 1);
        };
        set_timeout(refetch, std::time::Duration::from_millis(250));
    })
}

#[component]
fn Board(d: q::ResponseData, last_update: RwSignal<Option<f64>>) -> impl IntoView {
    let c = ctx();
    let region = d.region;
    let p = StoredValue::new(d.progress);
    let children = region.as_ref().map(|r| r.children.clone()).unwrap_or_default();
    let level = region.as_ref().map(|r| r.level);
    let title = region.as_ref().map(|r| r.name.clone()).unwrap_or_default();
    // Up only as far as the viewer's own region.
    let own = c.session.get_untracked().map(|s| s.region_id).unwrap_or_default();
    let parent = region.as_ref().filter(|r| r.id != own).and_then(|r| r.parent.clone());
    let region_id = region.as_ref().map(|r| r.id.clone()).unwrap_or_default();
    let by_village = level == Some(RegionLevel::TOWNSHIP);
    view! {
        <div class="row">
            <h2 id="board-title">{title}</h2>
            {parent.map(|par| view! { <Link href=format!("/board/{}", enc(&par.id))>"↑ "{move || t("up")}" · "{par.name.clone()}</Link> })}
            {(level == Some(RegionLevel::VILLAGE)).then(|| view! { <Link href=format!("/households?region={}", enc(&region_id))>{move || t("view_households")}</Link> })}
            <Exports region=region_id.clone() />
            <span class="badge ok" id="live">{move || t("live")}{move || last_update.get().map(|t| format!(" {}", clock(t)))}</span>
        </div>
        <Kpis p=p />
        <div class="grid2">
            <ByStatus p=p />
            <Milestones p=p />
        </div>
        <div class="grid2">
            {(!children.is_empty()).then(|| view! { <ChildrenChart children=children.clone() by_village=by_village /> })}
            <BurnUp p=p milestones=d.milestones />
        </div>
        {matches!(level, Some(RegionLevel::COUNTY | RegionLevel::TOWNSHIP)).then(|| view! { <crate::pages::map::VillageMap region=region_id.clone() /> })}
        {(!children.is_empty()).then(|| view! { <ChildrenTable children=children /> })}
        <BehindPace p=p />
    }
}

#[component]
fn Kpis(p: Progress) -> impl IntoView {
    move || {
        let p = p.get_value();
        view! {
            <div class="kpis" id="kpis">
                <div class="kpi"><span>{t("households_n")}</span><b id="kpi-households">{p.households}</b></div>
                <div class="kpi"><span>{t("submitted")}</span><b id="kpi-submitted">{p.submitted}</b><span class="muted">{percent(p.submitted_percent)}</span></div>
                <div class="kpi"><span>{t("approved")}</span><b id="kpi-approved">{p.approved}</b><span class="muted">{percent(p.approved_percent)}</span></div>
                <div class="kpi"><span>{t("open_errors")}</span><b class="error">{p.open_errors}</b><span class="muted">{t("open_warnings")}" "{p.open_warnings}</span></div>
            </div>
        }
    }
}

#[component]
fn ByStatus(p: Progress) -> impl IntoView {
    use VerificationStatus::*;
    const COLORS: [(VerificationStatus, &str); 6] = [
        (NOT_STARTED, "#c3cad3"),
        (DRAFT, "#e0b44a"),
        (SUBMITTED, charts::BLUE),
        (RETURNED, "#c62828"),
        (APPROVED, charts::GREEN),
        (REOPENED, "#8e44ad"),
    ];
    move || {
        let p = p.get_value();
        let total = p.households.max(1) as f64;
        let seg = |s: VerificationStatus| p.by_status.iter().find(|b| b.status == s).map(|b| b.count).unwrap_or(0);
        view! {
            <div class="card">
                <h3>{t("by_status")}</h3>
                <div style="display:flex;height:1.2rem;border-radius:.3rem;overflow:hidden;margin:.5rem 0" role="img" aria-label=t("by_status")>
                    {COLORS.iter().map(|&(s, col)| view! { <div style=format!("width:{:.2}%;background:{col}", seg(s) as f64 * 100.0 / total) title=label(s)></div> }).collect_view()}
                </div>
                <div class="legend">
                    {COLORS.iter().map(|&(s, col)| view! { <span><i style=format!("background:{col}")></i>{label(s)}" "{seg(s)}</span> }).collect_view()}
                </div>
                <h3>{t("by_path")}</h3>
                <div class="legend" id="by-path">
                    {p.by_path.iter().map(|b| view! { <span data-path=b.path.as_str()>{label(b.path)}" "<b>{b.count}</b></span> }).collect_view()}
                </div>
            </div>
        }
    }
}

#[component]
fn Milestones(p: Progress) -> impl IntoView {
    let c = ctx();
    move || {
        let p = p.get_value();
        let now = c.now.get();
        view! {
            <div class="card" id="milestones">
                <h3>{t("milestones")}</h3>
                <ul class="findings">
                    {p.milestones.iter().map(|m| {
                        let left = parse_ms(&m.ends_at) - now;
                        let cls = match m.state {
                            MilestoneState::MET => "badge ok",
                            MilestoneState::MISSED | MilestoneState::AT_RISK => "badge err",
                            MilestoneState::ACTIVE => "badge info",
                            _ => "badge",
                        };
                        view! {
                            <li>
                                <div class="row"><strong>{milestone_title(&m.kind, &m.title)}</strong><span class=cls>{label(m.state)}</span></div>
                                <div class="row muted">
                                    <span>{t("ends_at")}" "{local_time(&m.ends_at)}</span>
                                    <span class="countdown">{if left > 0.0 { countdown(left) } else {
                                        // Over: its final state, not a bare countdown.
                                        format!("{} · {} {}", t("ended"), t("done"), m.actual_percent.map(percent).unwrap_or_else(|| "—".into()))
                                    }}</span>
                                    <span>{m.actual_percent.map(percent).unwrap_or_default()}" / "{t("expected")}" "{percent(m.expected_percent)}</span>
                                </div>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </div>
        }
    }
}

#[component]
fn BurnUp(p: Progress, milestones: Vec<q::BoardMilestones>) -> impl IntoView {
    move || {
        let p = p.get_value();
        let pts: Vec<(f64, f64, f64)> =
            p.series.iter().map(|s| (parse_ms(&s.at), s.submitted as f64, s.approved as f64)).collect();
        let now = now_ms();
        // The plan line of the current milestone with a target (else the last one).
        let mut targeted = milestones.iter().filter(|m| m.target_metric != MilestoneMetric::NONE);
        let m = targeted.clone().find(|m| parse_ms(&m.ends_at) >= now).or_else(|| targeted.next_back());
        let plan = m.map(|m| {
            ((parse_ms(&m.starts_at), 0.0), (parse_ms(&m.ends_at), p.households as f64 * m.target_percent / 100.0))
        });
        let svg = charts::burn_up(t("burn_up"), &pts, plan, p.households as f64);
        view! {
            <div class="card chart" id="burn-up">
                <h3>{t("burn_up")}</h3>
                <div inner_html=svg></div>
                <div class="legend"><span><i style=format!("background:{}", charts::BLUE)></i>{t("submitted")}</span><span><i style=format!("background:{}", charts::GREEN)></i>{t("approved")}</span><span><i style=format!("background:{}", charts::GREY)></i>{t("expected")}</span></div>
            </div>
        }
    }
}

#[component]
fn ChildrenChart(children: Vec<q::BoardRegionChildren>, by_village: bool) -> impl IntoView {
    let rows: Vec<(String, f64, f64)> = children
        .iter()
        .map(|ch| (ch.name.clone(), ch.progress.submitted_percent, ch.progress.approved_percent))
        .collect();
    let title = if by_village { "by_village" } else { "by_township" };
    let svg = charts::bars(t(title), &rows, charts::BLUE, charts::GREEN);
    view! {
        <div class="card chart" id="children-chart">
            <h3>{move || t(title)}</h3>
            <div inner_html=svg></div>
            <div class="legend"><span><i style=format!("background:{}", charts::BLUE)></i>{move || t("submitted")}</span><span><i style=format!("background:{}", charts::GREEN)></i>{move || t("approved")}</span></div>
        </div>
    }
}

#[component]
fn ChildrenTable(children: Vec<q::BoardRegionChildren>) -> impl IntoView {
    view! {
        <div class="card scroll">
            <table id="children">
                <thead><tr><th>{move || t("region")}</th><th>{move || t("households_n")}</th><th>{move || t("submitted")}</th><th>{move || t("approved")}</th><th>{move || t("behind_by")}</th></tr></thead>
                <tbody>
                    {children.into_iter().map(|ch| view! {
                        <tr>
                            <td><Link href=format!("/board/{}", enc(&ch.id))>{ch.name.clone()}</Link></td>
                            <td>{ch.progress.households}</td>
                            <td>{percent(ch.progress.submitted_percent)}</td>
                            <td>{percent(ch.progress.approved_percent)}</td>
                            <td>{if ch.progress.behind_by > 0.0 { percent(ch.progress.behind_by) } else { String::new() }}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn BehindPace(p: Progress) -> impl IntoView {
    move || {
        let behind = p.with_value(|p| p.behind_pace.clone());
        (!behind.is_empty()).then(|| {
            view! {
                <div class="card" id="behind-pace">
                    <h3>{t("behind_pace")}</h3>
                    <ul class="findings">
                        {behind.into_iter().map(|b| view! {
                            <li class="row">
                                <Link href=format!("/board/{}", enc(&b.region.id))>{b.region.name.clone()}</Link>
                                <span class="badge err">{t("behind_by")}" "{percent(b.behind_by)}</span>
                                <span class="muted">{t("submitted")}" "{percent(b.submitted_percent)}</span>
                            </li>
                        }).collect_view()}
                    </ul>
                </div>
            }
        })
    }
}

fn clock(ms: f64) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms));
    format!("{:02}:{:02}:{:02}", d.get_hours(), d.get_minutes(), d.get_seconds())
}

/// The standard milestones by their name in the selected language; others by their title.
fn milestone_title(kind: &str, title: &str) -> String {
    match kind {
        "TRAINING" => t("ms_training").to_owned(),
        "VERIFICATION" => t("ms_verification").to_owned(),
        "LOOK_BACK" => t("ms_look_back").to_owned(),
        _ => title.to_owned(),
    }
}

fn countdown(left_ms: f64) -> String {
    if left_ms <= 0.0 {
        return t("ended").to_owned();
    }
    let s = (left_ms / 1000.0) as i64;
    let (d, h, m, sec) = (s / 86400, s % 86400 / 3600, s % 3600 / 60, s % 60);
    if ctx().english.get() {
        format!("{} {d}d {h:02}:{m:02}:{sec:02}", t("ends_in"))
    } else {
        format!("{} {d}天 {h:02}:{m:02}:{sec:02}", t("ends_in"))
    }
}

/// Excel downloads of this region: generated by the API, fetched from a link valid for minutes.
#[component]
fn Exports(region: String) -> impl IntoView {
    let region = StoredValue::new(region);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<gql::ApiError>);
    let run = move |households: bool| {
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            let vars = gql::export_report::Variables {
                region_id: Some(region.get_value()),
                kind: if households { gql::ExportKind::HOUSEHOLDS } else { gql::ExportKind::SUMMARY },
                format: gql::ExportFormat::XLSX,
            };
            match gql::call::<gql::ExportReport>(vars).await {
                Ok(d) => {
                    let _ = web_sys::window().unwrap().location().set_href(&d.export_report.url);
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <button class="secondary" id="export-households" disabled=move || busy.get() on:click=move |_| run(true)>{move || t("export_households")}</button>
        <button class="secondary" id="export-summary" disabled=move || busy.get() on:click=move |_| run(false)>{move || t("export_summary")}</button>
        <Show when=move || busy.get()><span class="muted">{move || t("exporting")}</span></Show>
        {move || error.get().map(|e| error_view(&e))}
    }
}
