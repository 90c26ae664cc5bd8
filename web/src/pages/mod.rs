pub mod admin;
pub mod board;
pub mod findings;
pub mod household;
pub mod households;
pub mod review;
pub mod signin;

use crate::gql::ApiError;
use crate::i18n::error_text;
use leptos::prelude::*;

/// An API error as a visible, coded message.
pub fn error_view(e: &ApiError) -> AnyView {
    let text = error_text(e);
    let code = e.code.clone();
    view! { <p class="error" role="alert" data-code=code>{text}</p> }.into_any()
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
