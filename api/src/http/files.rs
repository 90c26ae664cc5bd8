//! File routes on the local store: the photo upload body, and downloads of
//! photos and exports by signed, expiring links.

use super::{graphql_handler::viewer_from_headers, Server};
use crate::domain::auth::sessions::TokenError;
use crate::domain::{
    ctx::Lang,
    error::{key, msg},
};
use crate::{
    domain::{ctx::Ctx, error::AppError, exports, photos},
    graphql::error::app_error_body,
};
use axum::{
    extract::State,
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};

/// `PUT /uploads/{ticket}`: the photo's bytes, streamed to storage (local store).
pub(super) async fn upload_handler(
    State(s): State<Server>,
    axum::extract::Path(id): axum::extract::Path<String>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let lang = Lang::from_accept_language(headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()));
    let fail = |status: StatusCode, e: AppError| {
        if let AppError::Internal(inner) = &e {
            tracing::error!(error = ?inner, "upload failed");
        }
        (status, Json(app_error_body(&e, lang.english()))).into_response()
    };
    let viewer = match viewer_from_headers(&s.state, &headers).await {
        Ok(Some(v)) if !v.must_change_password => v,
        Ok(Some(_)) => return fail(StatusCode::FORBIDDEN, AppError::PasswordChangeRequired),
        Ok(None) => return fail(StatusCode::UNAUTHORIZED, AppError::Unauthenticated(msg!(SIGN_IN_FIRST))),
        Err(TokenError::Unavailable) => return fail(StatusCode::SERVICE_UNAVAILABLE, AppError::Unavailable),
        Err(TokenError::Refused(e)) => {
            return fail(StatusCode::UNAUTHORIZED, AppError::Unauthenticated(msg!(TOKEN_REFUSED, detail = e)))
        }
    };
    let Ok(ticket) = uuid::Uuid::parse_str(&id) else {
        return fail(StatusCode::NOT_FOUND, AppError::not_found(key::THING_UPLOAD_TICKET));
    };
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let ctx = Ctx::system(viewer);
    match photos::receive(&ctx, &s.state, ticket, ct, body.into_data_stream()).await {
        Ok(n) => Json(serde_json::json!({ "received": n })).into_response(),
        Err(e) => {
            let status = match &e {
                AppError::NotFound(_) => StatusCode::NOT_FOUND,
                AppError::Conflict(_) => StatusCode::CONFLICT,
                AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::BAD_REQUEST,
            };
            fail(status, e)
        }
    }
}

#[derive(serde::Deserialize)]
pub(super) struct PhotoLink {
    exp: i64,
    sig: String,
}

/// `GET /photos/{id}/{file|thumb}?exp=…&sig=…`: a signed, expiring link (local store).
pub(super) async fn photo_handler(
    State(s): State<Server>,
    axum::extract::Path((id, variant)): axum::extract::Path<(String, String)>,
    axum::extract::Query(q): axum::extract::Query<PhotoLink>,
) -> Response {
    let Ok(id) = uuid::Uuid::parse_str(&id) else { return StatusCode::NOT_FOUND.into_response() };
    match photos::serve(&s.state, id, &variant, q.exp, &q.sig).await {
        Ok((ct, bytes)) => {
            ([(header::CONTENT_TYPE, ct), (header::CACHE_CONTROL, "private, max-age=300".into())], bytes)
                .into_response()
        }
        Err(e) => link_error(e, "photo serving failed"),
    }
}

/// A signed link that did not work: 403 (bad or expired), 404, or a logged 500.
fn link_error(e: AppError, what: &str) -> Response {
    let status = match &e {
        AppError::Forbidden(_) => StatusCode::FORBIDDEN,
        AppError::NotFound(_) => StatusCode::NOT_FOUND,
        _ => {
            tracing::error!(error = %e, "{what}");
            return (StatusCode::INTERNAL_SERVER_ERROR, Json(app_error_body(&e, false))).into_response();
        }
    };
    (status, Json(app_error_body(&e, false))).into_response()
}

#[derive(serde::Deserialize)]
pub(super) struct ExportLink {
    exp: i64,
    name: String,
    sig: String,
}

/// `GET /exports/{id}.{xlsx|csv}?exp=…&name=…&sig=…`: a signed, expiring download (local store).
pub(super) async fn export_handler(
    State(s): State<Server>,
    axum::extract::Path(file): axum::extract::Path<String>,
    axum::extract::Query(q): axum::extract::Query<ExportLink>,
) -> Response {
    match exports::serve(&s.state, &file, q.exp, &q.name, &q.sig).await {
        Ok(bytes) => {
            let ct = if file.ends_with(".csv") {
                "text/csv; charset=utf-8"
            } else {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            };
            // RFC 6266/5987: the Chinese file name survives in every browser.
            let encoded = exports::urlencode(&q.name);
            let disposition = format!(
                "attachment; filename=\"export.{}\"; filename*=UTF-8''{encoded}",
                if file.ends_with(".csv") { "csv" } else { "xlsx" }
            );
            ([(header::CONTENT_TYPE, ct.to_owned()), (header::CONTENT_DISPOSITION, disposition)], bytes).into_response()
        }
        Err(e) => link_error(e, "export download failed"),
    }
}
