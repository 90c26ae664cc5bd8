//! Admin: import the official spreadsheets, issue accounts and print the QR
//! sheet, edit milestones, create and revoke API tokens.

use super::{local_time, show, Loaded, Outcome};
use crate::gql::{self, import_reference_file as imp, ApiError, ImportKind, RegionLevel, StrEnum};
use crate::i18n::{label, t};
use leptos::prelude::*;

#[component]
pub fn AdminPage() -> impl IntoView {
    let tab = RwSignal::new("import");
    let tabs = [("import", "import"), ("accounts", "accounts"), ("milestones", "milestones"), ("tokens", "tokens")];
    view! {
        <section id="admin">
            <h2>{move || t("admin")}</h2>
            <div class="tabs" role="tablist">
                {tabs.into_iter().map(|(id, key)| view! {
                    <button role="tab" id=format!("tab-{id}") aria-selected=move || (tab.get() == id).to_string() on:click=move |_| tab.set(id)>{move || t(key)}</button>
                }).collect_view()}
            </div>
            {move || match tab.get() {
                "accounts" => view! { <Accounts /> }.into_any(),
                "milestones" => view! { <super::campaigns::MilestonesEditor /> }.into_any(),
                "tokens" => view! { <Tokens /> }.into_any(),
                _ => view! { <Import /> }.into_any(),
            }}
        </section>
    }
}

pub(super) fn region_options() -> LocalResource<Result<gql::regions::ResponseData, ApiError>> {
    LocalResource::new(|| gql::call::<gql::Regions>(gql::regions::Variables { level: None }))
}

fn region_select(value: RwSignal<String>) -> impl IntoView {
    let regions = region_options();
    view! {
        <label>{move || t("region")}
            <select id="region" on:change=move |ev| value.set(event_target_value(&ev))>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        let list: Vec<_> = regions.await.map(|d| d.regions).unwrap_or_default().into_iter()
                            .filter(|r| matches!(r.level, RegionLevel::COUNTY | RegionLevel::TOWNSHIP))
                            .collect();
                        if value.get_untracked().is_empty() {
                            if let Some(first) = list.first() {
                                value.set(first.id.clone());
                            }
                        }
                        list.into_iter()
                            .map(|r| view! { <option value=r.id.clone()>{r.name.clone()}" "{r.code.clone()}</option> })
                            .collect_view()
                    })}
                </Suspense>
            </select>
        </label>
    }
}

/// Sends the chosen file: a preview (`dry_run`) first, then the same file applied.
fn send(
    file_ref: NodeRef<leptos::html::Input>,
    kind: ImportKind,
    dry_run: bool,
    busy: RwSignal<bool>,
    report: RwSignal<Option<ImportResult>>,
) {
    let Some(file) = file_ref.get().and_then(|i| i.files()).and_then(|f| f.get(0)) else { return };
    busy.set(true);
    leptos::task::spawn_local(async move {
        let vars = imp::Variables { kind, file: serde_json::Value::Null, dry_run };
        let r = gql::call_multipart::<gql::ImportReferenceFile>(vars, "file", &file).await;
        report.set(Some(r.map(|d| d.import_reference_file)));
        busy.set(false);
    });
}

type ImportResult = Result<imp::ImportReferenceFileImportReferenceFile, ApiError>;

#[component]
fn Import() -> impl IntoView {
    let kind = RwSignal::new(ImportKind::POVERTY);
    let busy = RwSignal::new(false);
    let report = RwSignal::new(None::<ImportResult>);
    let file_ref = NodeRef::<leptos::html::Input>::new();
    // The screen always previews first; applying is offered for an accepted preview.
    let previewed = move || matches!(report.get(), Some(Ok(r)) if r.dry_run && r.accepted);
    view! {
        <div class="card">
            <h3>{move || t("import")}</h3>
            <label>{move || t("import_kind")}
                <select id="import-kind" on:change=move |ev| { kind.set(ImportKind::parse(&event_target_value(&ev)).unwrap_or(ImportKind::POVERTY)); report.set(None) }>
                    {[ImportKind::POVERTY, ImportKind::APPRAISAL, ImportKind::RENOVATION, ImportKind::REGIONS].into_iter().map(|k| view! { <option value=k.as_str()>{move || label(k)}</option> }).collect_view()}
                </select>
            </label>
            <label>{move || t("choose_file")}
                <input type="file" id="import-file" accept=".csv,.xlsx,.xls,text/csv" node_ref=file_ref on:change=move |_| report.set(None) />
            </label>
            <button id="import-upload" disabled=move || busy.get() on:click=move |_| send(file_ref, kind.get_untracked(), true, busy, report)>{move || t("upload")}</button>
            <Show when=previewed>
                <button id="import-apply" class="primary" disabled=move || busy.get() on:click=move |_| send(file_ref, kind.get_untracked(), false, busy, report)>{move || t("import_apply")}</button>
            </Show>
            <Show when=move || busy.get()><progress aria-label=move || t("upload")></progress></Show>
            <Outcome>{move || report.get().map(|r| show(r, import_report))}</Outcome>
        </div>
    }
}

fn import_report(r: imp::ImportReferenceFileImportReferenceFile) -> impl IntoView {
    let badge = match (r.accepted, r.dry_run) {
        (false, _) => ("badge err", t("import_refused")),
        (true, true) => ("badge", t("import_preview")),
        (true, false) => ("badge ok", t("import_ok")),
    };
    view! {
        <div id="import-report" data-dry-run=r.dry_run.to_string()>
            <p class=badge.0>{badge.1}</p>
            {r.large_change.then(|| view! { <p id="import-large" class="badge err">{t("import_large")}</p> })}
            <p class="muted">{r.file_name.clone()}" · "{r.encoding.clone()}" · "{t("rows")}" "{r.rows}" · "{t("created")}" "{r.created}" · "{t("updated")}" "{r.updated}" · "{t("unchanged")}" "{r.unchanged}</p>
            {row_table("import-errors", t("reason"), r.errors.iter().map(|e| (e.row, e.column.clone(), e.reason.clone())).collect())}
            {(!r.changes.is_empty()).then(|| view! {
                <h4>{t("import_changes")}" ("{r.changed_households}")"</h4>
                <div class="scroll"><table id="import-changes">
                    <thead><tr><th>{t("household_code")}</th><th>{t("field")}</th><th>{t("old_value")}</th><th>{t("new_value")}</th></tr></thead>
                    <tbody>{r.changes.iter().map(|c| view! { <tr><td>{c.household_code.clone()}</td><td>{c.field.clone()}</td><td>{c.old.clone()}</td><td>{c.new.clone()}</td></tr> }).collect_view()}</tbody>
                </table></div>
            })}
            {(!r.notices.is_empty()).then(|| view! { <h4>{t("import_notices")}</h4> })}
            {row_table("import-notices", t("import_notices"), r.notices.iter().map(|e| (e.row, e.column.clone(), e.reason.clone())).collect())}
            <ul class="legend">{r.flagged.iter().map(|f| view! { <li>{f.rule.clone()}" "{f.count}</li> }).collect_view()}</ul>
            {(r.accepted && !r.dry_run).then_some(r.import_id.clone()).flatten().map(|id| view! { <UndoImport id=id /> })}
        </div>
    }
}

/// Undoes the import just applied, after asking; says what was restored.
#[component]
fn UndoImport(id: String) -> impl IntoView {
    let result = RwSignal::new(None::<Result<gql::undo_import::ResponseData, ApiError>>);
    let busy = RwSignal::new(false);
    let id = StoredValue::new(id);
    let undo = move |_| {
        let sure = window().confirm_with_message(t("import_undo_confirm")).unwrap_or(false);
        if !sure {
            return;
        }
        busy.set(true);
        leptos::task::spawn_local(async move {
            result.set(Some(gql::call::<gql::UndoImport>(gql::undo_import::Variables { id: id.get_value() }).await));
            busy.set(false);
        });
    };
    view! {
        <button id="import-undo" disabled=move || busy.get() || matches!(result.get(), Some(Ok(_))) on:click=undo>{move || t("import_undo")}</button>
        <Outcome>{move || result.get().map(|r| show(r, |d| {
            let u = d.undo_import;
            view! { <p id="import-undone" class="badge ok">{t("import_undone")}" "{u.restored}" / "{u.withdrawn}" · "{t("households")}" "{u.households_restored}" / "{u.households_removed}</p> }
        }))}</Outcome>
    }
}

/// Rows of a spreadsheet named by Excel's row number and the column's header.
fn row_table(id: &'static str, what: &'static str, rows: Vec<(i64, Option<String>, String)>) -> impl IntoView {
    (!rows.is_empty()).then(|| view! {
        <div class="scroll"><table id=id>
            <thead><tr><th>{t("row")}</th><th>{t("column")}</th><th>{what}</th></tr></thead>
            <tbody>{rows.into_iter().map(|(row, column, reason)| view! { <tr><td>{row}</td><td>{column}</td><td>{reason}</td></tr> }).collect_view()}</tbody>
        </table></div>
    })
}

fn open_html(html: &str) {
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(html));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type("text/html;charset=utf-8");
    if let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts) {
        if let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) {
            let _ = web_sys::window().unwrap().open_with_url_and_target(&url, "_blank");
        }
    }
}

#[component]
fn Accounts() -> impl IntoView {
    let region = RwSignal::new(String::new());
    let result = RwSignal::new(None::<Result<gql::issue_accounts::IssueAccountsIssueAccounts, ApiError>>);
    let busy = RwSignal::new(false);
    // Accounts in use that a re-issue would reset: listed, and confirmed by typing the region code.
    let to_reset = RwSignal::new(None::<Vec<String>>);
    let typed = RwSignal::new(String::new());
    let send = move |confirm: Option<String>| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            let vars = gql::issue_accounts::Variables { region_id: region.get_untracked(), confirm };
            let r = gql::call::<gql::IssueAccounts>(vars).await;
            to_reset.set(None);
            result.set(Some(r.map(|d| d.issue_accounts)));
            busy.set(false);
        });
    };
    let issue = move |_| {
        result.set(None);
        leptos::task::spawn_local(async move {
            let vars = gql::accounts_to_reset::Variables { region_id: region.get_untracked() };
            match gql::call::<gql::AccountsToReset>(vars).await {
                Ok(d) if d.accounts_to_reset.is_empty() => send(None),
                Ok(d) => to_reset.set(Some(d.accounts_to_reset)),
                Err(e) => result.set(Some(Err(e))),
            }
        });
    };
    view! {
        <div class="card">
            <h3>{move || t("issue_accounts")}</h3>
            {region_select(region)}
            <button id="issue" disabled=move || busy.get() on:click=issue>{move || t("issue_accounts")}</button>
            {move || to_reset.get().map(|names| view! {
                <div id="reset-confirm" class="card">
                    <p class="error" role="alert">{t("reset_warning").replace("{n}", &names.len().to_string())}</p>
                    <p class="muted">{names.iter().take(40).cloned().collect::<Vec<_>>().join(" ")}{(names.len() > 40).then_some(" …")}</p>
                    <label>{t("reset_type_code")}<input id="confirm-code" inputmode="numeric" on:input=move |ev| typed.set(event_target_value(&ev)) /></label>
                    <button class="danger" id="confirm-issue" disabled=move || typed.get().trim().is_empty() || busy.get()
                        on:click=move |_| send(Some(typed.get_untracked().trim().to_owned()))>{t("reset_confirm")}</button>
                </div>
            })}
            <Show when=move || busy.get()><progress aria-label=move || t("issue_accounts")></progress></Show>
            <Outcome>
                {move || result.get().map(|r| show(r, |sheet| {
                    let html = sheet.printable_html.clone();
                    view! {
                        <button class="secondary" id="print-sheet" on:click=move |_| open_html(&html)>{t("print_sheet")}</button>
                        <div class="scroll"><table id="issued">
                            <thead><tr><th>{t("region")}</th><th>{t("username")}</th><th>{t("initial_pw")}</th></tr></thead>
                            <tbody>{sheet.accounts.iter().map(|a| view! {
                                <tr><td>{a.region.name.clone()}</td><td>{a.username.clone()}</td><td><code>{a.initial_password.clone()}</code></td></tr>
                            }).collect_view()}</tbody>
                        </table></div>
                    }
                }))}
            </Outcome>
        </div>
    }
}

#[component]
fn Tokens() -> impl IntoView {
    let tick = RwSignal::new(0u32);
    let data = LocalResource::new(move || {
        tick.track();
        gql::call::<gql::ApiTokens>(gql::api_tokens::Variables {})
    });
    let token_name = RwSignal::new(String::new());
    let region = RwSignal::new(String::new());
    let created = RwSignal::new(None::<Result<String, ApiError>>);
    let create = move |_| {
        leptos::task::spawn_local(async move {
            let vars = gql::create_api_token::Variables {
                name: token_name.get_untracked(),
                region_id: region.get_untracked(),
            };
            let r = gql::call::<gql::CreateApiToken>(vars).await.map(|d| d.create_api_token.token);
            created.set(Some(r));
            tick.update(|t| *t += 1);
        });
    };
    view! {
        <div class="card">
            <h3>{move || t("tokens")}</h3>
            <label>{move || t("token_name")}<input id="token-name" on:input=move |ev| token_name.set(event_target_value(&ev)) /></label>
            {region_select(region)}
            <button id="create-token" on:click=create>{move || t("create")}</button>
            <Outcome>
                {move || created.get().map(|r| show(r, |tok| view! { <p>{t("token_once")}</p><code class="token" id="new-token">{tok}</code> }))}
            </Outcome>
            <Loaded quiet=true>
                {move || Suspend::new(async move {
                    show(data.await, |d| view! {
                        <ul class="findings" id="tokens">
                            {d.api_tokens.into_iter().map(|tk| view! { <TokenRow tk=tk tick=tick /> }).collect_view()}
                        </ul>
                    })
                })}
            </Loaded>
        </div>
    }
}

#[component]
fn TokenRow(tk: gql::api_tokens::ApiTokensApiTokens, tick: RwSignal<u32>) -> impl IntoView {
    let id = StoredValue::new(tk.id.clone());
    let name = tk.name.clone();
    let revoke = move |_| {
        // A dashboard stops working at once: asked first, naming the token.
        let sure = window().confirm_with_message(&t("revoke_confirm").replace("{name}", &name)).unwrap_or(false);
        if !sure {
            return;
        }
        leptos::task::spawn_local(async move {
            let _ = gql::call::<gql::RevokeApiToken>(gql::revoke_api_token::Variables { id: id.get_value() }).await;
            tick.update(|t| *t += 1);
        });
    };
    view! {
        <li class="row">
            <strong>{tk.name.clone()}</strong><code>{tk.prefix.clone()}"…"</code>
            <span class="muted">{tk.region.map(|r| r.name)}</span>
            <span class="muted">{t("last_used")}" "{tk.last_used_at.as_deref().map(local_time).unwrap_or_else(|| "—".into())}</span>
            {if let Some(at) = tk.revoked_at.as_deref() {
                view! { <span class="badge err revoked">{t("revoked")}" "{local_time(at)}</span> }.into_any()
            } else {
                view! { <button class="danger" on:click=revoke>{t("revoke")}</button> }.into_any()
            }}
        </li>
    }
}
