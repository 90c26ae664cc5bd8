//! Serves the built web app (static files) on its own port, apart from the
//! API: any path that is not a file gets `index.html`, so deep links and the
//! QR codes' `/sign-in?u=…` work. `/config.json` tells the app where the API is.
//!
//! Light on a village's network: each file is sent precompressed (`.br` or
//! `.gz`, made by scripts/build-web.sh) as the browser accepts; the bundles'
//! content-hashed names are cached for a year, while `index.html` (which
//! names them) and `config.json` are revalidated on every load.

use axum::{
    extract::Request,
    http::{header, HeaderValue},
    middleware::{self, Next},
    response::Response,
    routing::get,
    Json, Router,
};
use std::path::PathBuf;
use tower_http::services::{ServeDir, ServeFile};

pub fn router(dir: PathBuf, api_url: Option<String>) -> Router {
    let index = ServeFile::new(dir.join("index.html")).precompressed_br().precompressed_gzip();
    let files = ServeDir::new(&dir).precompressed_br().precompressed_gzip().fallback(index);
    let mut r = Router::new();
    if let Some(url) = api_url {
        r = r.route("/config.json", get(move || async move { Json(serde_json::json!({ "apiUrl": url })) }));
    }
    r.fallback_service(files).layer(middleware::from_fn(cache_control))
}

/// `field-3757a873147e.wasm`: a name with a 12-hex content hash never changes content.
fn hashed(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or("");
    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
    stem.rsplit_once('-').is_some_and(|(_, h)| h.len() == 12 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

async fn cache_control(req: Request, next: Next) -> Response {
    let immutable = hashed(req.uri().path());
    let mut res = next.run(req).await;
    let value = if immutable && res.status().is_success() { "public, max-age=31536000, immutable" } else { "no-cache" };
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    res.headers_mut().insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    res
}

pub async fn serve(dir: PathBuf, bind: &str, api_url: Option<String>) -> anyhow::Result<()> {
    if !dir.join("index.html").exists() {
        anyhow::bail!("{} has no index.html: build the app first (scripts/build-web.sh)", dir.display());
    }
    let listener = tokio::net::TcpListener::bind(bind).await?;
    tracing::info!(addr = %listener.local_addr()?, dir = %dir.display(), "serving the web app");
    axum::serve(listener, router(dir, api_url)).with_graceful_shutdown(crate::http::shutdown_signal()).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_content_hashed_names_are_immutable() {
        assert!(super::hashed("/field-3757a873147e.wasm"));
        assert!(super::hashed("/office-4dc0275c2671.js"));
        assert!(!super::hashed("/index.html"));
        assert!(!super::hashed("/config.json"));
        assert!(!super::hashed("/households/abc-def"));
    }
}
