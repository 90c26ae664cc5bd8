//! The web app (Leptos, client-side rendered, compiled to wasm32). For now a
//! placeholder page; the verifier, township and county screens come with the
//! web app's issue.

use leptos::prelude::*;

#[component]
pub fn App() -> impl IntoView {
    view! {
        <main>
            <h1>"住房安全有保障核验"</h1>
            <p>"Housing-safety verification: the web app is under construction."</p>
        </main>
    }
}

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    leptos::mount::mount_to_body(App);
}
