//! GraphQL over HTTP as the spec and its `graphql-http` audit expect: which
//! media type to answer in, reading a request's parameters (a JSON body or a
//! GET query string) strictly, and the status a response gets. A request that
//! fails before execution is 400 under `application/graphql-response+json`
//! and carries no `data` entry; `application/json` stays 200 for older clients.

use axum::http::StatusCode;
use serde_json::{Map, Value};

/// The media types a response can take.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Media {
    /// `application/graphql-response+json`: status codes tell request errors.
    GraphqlResponse,
    /// `application/json`: 200 for anything that is a GraphQL response.
    Json,
}

impl Media {
    pub fn content_type(self) -> &'static str {
        match self {
            Self::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
            Self::Json => "application/json; charset=utf-8",
        }
    }

    /// The media type to answer in for an `Accept` header; None when the client
    /// accepts neither JSON type (406). No header, or `*/*`, means JSON.
    pub fn negotiate(accept: Option<&str>) -> Option<Self> {
        let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else { return Some(Self::Json) };
        let q = Quality::of(accept);
        // A type named outright outranks a wildcard, `q=0` (refused) included.
        // A wildcard means JSON first; it reaches the new type only when JSON is refused.
        let json = q.json.unwrap_or(q.any);
        let graphql_response = q.graphql_response.unwrap_or(if json > 0.0 { 0.0 } else { q.any });
        if graphql_response > 0.0 && graphql_response >= json {
            Some(Self::GraphqlResponse)
        } else if json > 0.0 {
            Some(Self::Json)
        } else {
            None
        }
    }

    /// The status of a response: 400 for a request error under the new media
    /// type, 200 otherwise.
    pub fn status(self, request_error: bool) -> StatusCode {
        if request_error && self == Self::GraphqlResponse {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        }
    }
}

/// The quality an `Accept` header gives each kind of answer.
#[derive(Default, Debug)]
pub struct Quality {
    /// None when the header does not name the type.
    pub graphql_response: Option<f32>,
    pub json: Option<f32>,
    pub html: f32,
    /// `*/*` and `application/*`.
    pub any: f32,
}

impl Quality {
    pub fn of(accept: &str) -> Self {
        let mut q = Self::default();
        for range in accept.split(',') {
            let mut parts = range.split(';');
            let essence = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let weight = parts
                .find_map(|p| p.trim().strip_prefix("q=").and_then(|v| v.trim().parse::<f32>().ok()))
                .unwrap_or(1.0);
            let slot = match essence.as_str() {
                "application/graphql-response+json" => q.graphql_response.get_or_insert(0.0),
                "application/json" => q.json.get_or_insert(0.0),
                "text/html" => &mut q.html,
                "*/*" | "application/*" => &mut q.any,
                _ => continue,
            };
            *slot = slot.max(weight);
        }
        q
    }

    /// A browser asking for a page (GraphiQL) rather than a script asking for JSON.
    pub fn prefers_html(&self) -> bool {
        self.html > 0.0 && self.html > self.graphql_response.unwrap_or(0.0).max(self.json.unwrap_or(0.0))
    }
}

/// Why a request's parameters were refused.
#[derive(Debug)]
pub enum ParamError {
    /// The body is not JSON at all.
    Json(String),
    /// A parameter is missing or of the wrong type; names which.
    Param(&'static str),
}

impl ParamError {
    pub fn detail(&self) -> String {
        match self {
            Self::Json(e) => format!("the body is not valid JSON ({e})"),
            Self::Param("query") => "`query` must be a string holding a GraphQL document".into(),
            Self::Param("body") => "the body must be one JSON object with `query` (batches are not taken)".into(),
            Self::Param("operationName") => "`operationName` must be a string or null".into(),
            Self::Param(p) => format!("`{p}` must be a JSON object or null"),
        }
    }
}

/// A JSON body's parameters as a request: `query` a string, `operationName` a
/// string or null, `variables` and `extensions` objects or null.
pub fn from_json_body(bytes: &[u8]) -> Result<async_graphql::Request, ParamError> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| ParamError::Json(e.to_string()))?;
    let Value::Object(map) = v else { return Err(ParamError::Param("body")) };
    checked(map)
}

/// A GET query string's parameters as a request; `variables` and `extensions`
/// are JSON text, as the spec says.
pub fn from_query_pairs(pairs: Vec<(String, String)>) -> Result<async_graphql::Request, ParamError> {
    let mut map = Map::new();
    for (k, v) in pairs {
        let value = match k.as_str() {
            "variables" | "extensions" if !v.is_empty() => serde_json::from_str(&v)
                .map_err(|_| ParamError::Param(if k == "variables" { "variables" } else { "extensions" }))?,
            "variables" | "extensions" => Value::Null,
            _ => Value::String(v),
        };
        map.insert(k, value);
    }
    checked(map)
}

fn checked(map: Map<String, Value>) -> Result<async_graphql::Request, ParamError> {
    if !matches!(map.get("query"), Some(Value::String(_))) {
        return Err(ParamError::Param("query"));
    }
    if !matches!(map.get("operationName"), None | Some(Value::Null | Value::String(_))) {
        return Err(ParamError::Param("operationName"));
    }
    for p in ["variables", "extensions"] {
        if !matches!(map.get(p), None | Some(Value::Null | Value::Object(_))) {
            return Err(ParamError::Param(if p == "variables" { "variables" } else { "extensions" }));
        }
    }
    serde_json::from_value(Value::Object(map)).map_err(|_| ParamError::Param("body"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_headers_choose_the_media_type() {
        assert_eq!(Media::negotiate(None), Some(Media::Json));
        assert_eq!(Media::negotiate(Some("*/*")), Some(Media::Json));
        assert_eq!(Media::negotiate(Some("application/json")), Some(Media::Json));
        assert_eq!(Media::negotiate(Some("application/graphql-response+json")), Some(Media::GraphqlResponse));
        let both = "application/graphql-response+json, application/json;q=0.9";
        assert_eq!(Media::negotiate(Some(both)), Some(Media::GraphqlResponse));
        let json_first = "application/graphql-response+json;q=0.5, application/json";
        assert_eq!(Media::negotiate(Some(json_first)), Some(Media::Json));
        assert_eq!(Media::negotiate(Some("text/html")), None);
        assert_eq!(Media::negotiate(Some("application/json;q=0, */*")), Some(Media::GraphqlResponse));
        assert_eq!(Media::negotiate(Some("application/json;q=0")), None);
        let refused_json = "application/json;q=0, application/graphql-response+json;q=0.5, */*";
        assert_eq!(Media::negotiate(Some(refused_json)), Some(Media::GraphqlResponse));
        assert_eq!(Media::negotiate(Some("APPLICATION/JSON")), Some(Media::Json));
        let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        assert!(Quality::of(browser).prefers_html());
        assert!(!Quality::of("*/*").prefers_html());
        assert!(!Quality::of("application/json, text/html").prefers_html());
    }

    #[test]
    fn parameters_of_the_wrong_type_are_refused() {
        assert!(from_json_body(br#"{"query":"{ a }","variables":null,"operationName":null}"#).is_ok());
        assert!(matches!(from_json_body(b"{ \"not json"), Err(ParamError::Json(_))));
        assert!(matches!(from_json_body(b"{}"), Err(ParamError::Param("query"))));
        assert!(matches!(from_json_body(b"[]"), Err(ParamError::Param("body"))));
        assert!(matches!(from_json_body(br#"{"query":1}"#), Err(ParamError::Param("query"))));
        assert!(matches!(from_json_body(br#"{"query":"{a}","variables":"x"}"#), Err(ParamError::Param("variables"))));
        assert!(matches!(from_json_body(br#"{"query":"{a}","extensions":[1]}"#), Err(ParamError::Param("extensions"))));
        assert!(matches!(
            from_json_body(br#"{"query":"{a}","operationName":0}"#),
            Err(ParamError::Param("operationName"))
        ));
        let get = from_query_pairs(vec![("query".into(), "{ a }".into()), ("variables".into(), r#"{"x":1}"#.into())]);
        assert_eq!(get.unwrap().variables.get("x").map(ToString::to_string).as_deref(), Some("1"));
    }
}
