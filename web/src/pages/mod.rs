//! The pages, one module each, and what they share: coded error messages, the
//! one `ErrorBoundary` every loaded part goes through, number and time formats.

#[cfg(feature = "office")]
pub mod admin;
#[cfg(feature = "office")]
pub mod board;
#[cfg(feature = "office")]
pub mod campaigns;
pub mod entry;
#[cfg(feature = "office")]
pub mod findings;
pub mod household;
pub mod households;
#[cfg(feature = "office")]
pub mod map;
#[cfg(feature = "office")]
pub mod review;
pub mod signin;

use crate::gql::ApiError;
use crate::i18n::{error_text, t};
use leptos::prelude::*;

/// An API error as a visible, coded message.
pub fn error_view(e: &ApiError) -> AnyView {
    let text = error_text(e);
    let code = e.code.clone();
    view! { <p class="error" role="alert" data-code=code>{text}</p> }.into_any()
}

/// The app's one `ErrorBoundary`: an `Err` anywhere in `children` shows as
/// the API's coded message(s) (see `error_view`) instead of them; `id` names
/// the wrapper, for pages whose error replaces everything.
fn boundary(children: Children, id: Option<&'static str>) -> AnyView {
    let caught = move |errors: ArcRwSignal<Errors>| {
        let list = move || {
            errors.with(|errs| {
                errs.iter()
                    .map(|(_, e)| match e.downcast_ref::<ApiError>() {
                        Some(e) => error_view(e),
                        None => error_view(&ApiError::new("INTERNAL", e.to_string())),
                    })
                    .collect_view()
            })
        };
        view! { <div id=id>{list}</div> }
    };
    view! { <ErrorBoundary fallback=caught>{children()}</ErrorBoundary> }.into_any()
}

/// A loaded part's content: its view, type-erased (so the whole app has one
/// `Result` renderer, not one per page), or its error for the boundary.
pub fn show<T, V: IntoView + 'static>(r: Result<T, ApiError>, view: impl FnOnce(T) -> V) -> Result<AnyView, ApiError> {
    r.map(|d| view(d).into_any())
}

/// A part of a page loaded from the API: the loading text (none when
/// `quiet`) until it first arrives, then the content, kept while it reloads
/// (`Transition`; with `suspense`, the loading text again); an `Err` inside
/// shows as the API's coded message.
#[component]
pub fn Loaded(
    children: Children,
    #[prop(optional)] quiet: bool,
    #[prop(optional)] suspense: bool,
    #[prop(optional)] error_id: Option<&'static str>,
) -> impl IntoView {
    let loading = move || (!quiet).then(|| view! { <p class="muted">{t("loading")}</p> });
    if suspense {
        view! { <Suspense fallback=loading>{boundary(children, error_id)}</Suspense> }.into_any()
    } else {
        view! { <Transition fallback=loading>{boundary(children, error_id)}</Transition> }.into_any()
    }
}

/// An action's outcome (an import, issued accounts…) once there is one: its
/// view, or its error shown as loaded parts show theirs.
#[component]
pub fn Outcome(children: Children) -> impl IntoView {
    boundary(children, None)
}

pub fn percent(v: f64) -> String {
    format!("{:.1}%", v)
}

/// "2020-05-12 18:00" in the browser's time zone.
pub fn local_time(iso: &str) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(iso));
    if d.get_time().is_nan() {
        return iso.to_owned();
    }
    format!(
        "{}-{:02}-{:02} {:02}:{:02}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date(),
        d.get_hours(),
        d.get_minutes()
    )
}
