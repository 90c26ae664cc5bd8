//! Serves the built web app (static files) on its own port, apart from the
//! API: any path that is not a file gets `index.html`, so deep links and the
//! QR codes' `/sign-in?u=…` work. `/config.json` tells the app where the API is.

use axum::{http::header, routing::get, Json, Router};
use std::path::PathBuf;
use tower_http::{
    services::{ServeDir, ServeFile},
    set_header::SetResponseHeaderLayer,
};

pub fn router(dir: PathBuf, api_url: Option<String>) -> Router {
    let files = ServeDir::new(&dir).fallback(ServeFile::new(dir.join("index.html")));
    let mut r = Router::new();
    if let Some(url) = api_url {
        r = r.route("/config.json", get(move || async move { Json(serde_json::json!({ "apiUrl": url })) }));
    }
    // The app's file names do not change between builds, so browsers revalidate.
    r.fallback_service(files)
        .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, header::HeaderValue::from_static("no-cache")))
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
