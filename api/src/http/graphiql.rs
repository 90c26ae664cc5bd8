//! GraphiQL served by the API itself, files and all (a county intranet may
//! not reach a CDN). The files are vendored unmodified in `api/assets/graphiql`
//! (`scripts/vendor-graphiql.sh` refreshes them) and built into the binary.

use axum::{
    extract::Path,
    http::{header, StatusCode},
    response::{Html, IntoResponse, Response},
};

const PAGE: &str = r#"<!DOCTYPE html>
<html lang="zh-CN">
  <head>
    <meta charset="utf-8">
    <meta name="robots" content="noindex">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>住房安全核验 GraphQL</title>
    <style>body { margin: 0; } #graphiql { height: 100vh; }</style>
    <link rel="stylesheet" href="/graphiql/graphiql.min.css">
  </head>
  <body>
    <div id="graphiql">正在加载 GraphiQL… Loading GraphiQL…</div>
    <script src="/graphiql/react.production.min.js"></script>
    <script src="/graphiql/react-dom.production.min.js"></script>
    <script src="/graphiql/graphiql.min.js"></script>
    <script src="/graphiql/start.js"></script>
  </body>
</html>
"#;

/// The GraphiQL page (GET /graphql from a browser, and /graphiql).
pub fn page() -> Html<&'static str> {
    Html(PAGE)
}

/// GET /graphiql/{file}: one of the vendored files.
pub async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind): (&'static [u8], &str) = match file.as_str() {
        "graphiql.min.js" => (include_bytes!("../../assets/graphiql/graphiql.min.js"), "text/javascript"),
        "graphiql.min.css" => (include_bytes!("../../assets/graphiql/graphiql.min.css"), "text/css"),
        "react.production.min.js" => {
            (include_bytes!("../../assets/graphiql/react.production.min.js"), "text/javascript")
        }
        "react-dom.production.min.js" => {
            (include_bytes!("../../assets/graphiql/react-dom.production.min.js"), "text/javascript")
        }
        "start.js" => (include_bytes!("../../assets/graphiql/start.js"), "text/javascript"),
        "LICENSES.txt" => (include_bytes!("../../assets/graphiql/LICENSES.txt"), "text/plain"),
        _ => return (StatusCode::NOT_FOUND, "No such GraphiQL file.").into_response(),
    };
    let headers = [
        (header::CONTENT_TYPE, format!("{kind}; charset=utf-8")),
        (header::CACHE_CONTROL, "public, max-age=86400".to_owned()),
    ];
    (headers, body).into_response()
}
