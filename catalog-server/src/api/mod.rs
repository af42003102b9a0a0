//! HTTP: the router, the extractors that turn bad input into the Iceberg error model, and
//! the middleware stack.
//!
//! - [`router`]: every route, with request ids, tracing, metrics, a body limit and a panic
//!   guard; unknown paths and methods answer in the error model too.
//! - [`with_default_prefix`]: serves the REST API without a prefix (`/v1/namespaces...`) as
//!   the `default` warehouse.
//! - [`authenticate`]: every request but the public ones (`/health`, `/metrics`, `/docs`,
//!   `/openapi.yaml`, `/v1/oauth/tokens`) gets its [`Caller`] here, or a 401.
//! - `iceberg`: the Iceberg REST Catalog handlers; `management`: Floe's warehouse API;
//!   `access`: principals, roles, permissions and the audit log; `oauth`: the token endpoint;
//!   `inspect`: metadata tables of a table (`/management/v1/.../tables/{t}/{kind}`), with
//!   `inspect_arrow` for their Arrow IPC stream form;
//!   `maintenance`: maintenance actions on a table (`.../tables/{t}/maintenance/{action}`)
//!   and the task queue (`/management/v1/tasks`);
//!   `ops`: `/health`, `/metrics`, `/docs`, `/openapi.yaml`.
//! - [`JsonBody`], [`Params`], [`QueryMap`]: extractors whose rejections are [`ApiError`]s.

mod access;
mod docs;
mod iceberg;
pub(crate) mod inspect;
pub(crate) mod inspect_arrow;
mod maintenance;
mod management;
mod oauth;
mod ops;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::auth::{AccessControl, Caller};
use crate::config::Config;
use crate::error::ApiError;
use crate::service::{CatalogService, DEFAULT_WAREHOUSE};

/// What every handler shares.
#[derive(Debug)]
pub struct AppState {
    /// The catalog logic.
    pub service: CatalogService,
    /// Authentication, authorization and audit.
    pub access: AccessControl,
    /// The configuration the server runs with.
    pub config: Config,
}

/// Shared state handle.
pub type SharedState = Arc<AppState>;

/// The whole HTTP API.
pub fn router(state: SharedState) -> Router {
    let max_body = state.config.max_body_bytes;
    Router::new()
        .merge(iceberg::routes())
        .merge(management::routes())
        .merge(inspect::routes())
        .merge(maintenance::routes())
        .merge(ops::routes())
        .merge(docs::router())
        .merge(oauth::routes())
        .merge(access::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            authenticate,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            track_metrics,
        ))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(CatchPanicLayer::custom(|_: Box<dyn std::any::Any + Send>| {
            ApiError::internal("the server hit an internal error while handling this request")
                .into_response()
        }))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request| {
                let id = req
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
            }),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// Rewrite an unprefixed REST path to the `default` warehouse's prefix, so clients that use
/// no prefix (`/v1/namespaces`) reach the default warehouse.
pub fn with_default_prefix(mut req: Request) -> Request {
    let path = req.uri().path();
    let unprefixed = ["/v1/namespaces", "/v1/tables/", "/v1/transactions/"]
        .iter()
        .any(|p| path == p.trim_end_matches('/') || path.starts_with(p));
    if unprefixed {
        let rest = &path["/v1".len()..];
        let mut new = format!("/v1/{DEFAULT_WAREHOUSE}{rest}");
        if let Some(q) = req.uri().query() {
            new.push('?');
            new.push_str(q);
        }
        if let Ok(uri) = new.parse::<Uri>() {
            *req.uri_mut() = uri;
        }
    }
    req
}

async fn track_metrics(State(state): State<SharedState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let resp = next.run(req).await;
    state.service.metrics().http_request(
        &method,
        &route,
        resp.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    resp
}

/// Paths anyone may call: operations, documentation and the token endpoint itself.
fn is_public(path: &str) -> bool {
    matches!(
        path,
        "/health" | "/metrics" | "/openapi.yaml" | "/v1/oauth/tokens"
    ) || path == "/docs"
        || path.starts_with("/docs/")
}

/// Resolve the request's [`Caller`] (root in `none` mode) into its extensions, or answer 401.
async fn authenticate(State(state): State<SharedState>, mut req: Request, next: Next) -> Response {
    if is_public(req.uri().path()) {
        return next.run(req).await;
    }
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_string();
    let authorization = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match state.access.authenticate(authorization, request_id).await {
        Ok(caller) => {
            req.extensions_mut().insert(caller);
            next.run(req).await
        }
        Err(e) => {
            let mut resp = e.into_response();
            if resp.status() == StatusCode::UNAUTHORIZED {
                resp.headers_mut().insert(
                    axum::http::header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer error=\"invalid_token\""),
                );
            }
            resp
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::internal("the request was not authenticated"))
    }
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "NotFoundException",
        format!("no endpoint at {}", uri.path()),
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowedException",
        "this endpoint does not support that method",
    )
}

/// A JSON request body; malformed or oversize bodies become error-model responses.
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            let status = e.status();
            if status == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    status,
                    "RequestTooLargeException",
                    "the request body is larger than the server accepts",
                )
            } else {
                ApiError::bad_request(format!("cannot read the request body: {e}"))
            }
        })?;
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if path == "." || path.is_empty() {
                ApiError::bad_request(format!("invalid request body: {inner}"))
            } else {
                ApiError::bad_request(format!("invalid request body at {path}: {inner}"))
            }
        })?;
        Ok(JsonBody(value))
    }
}

/// Path parameters by name (percent-decoded), with helpers for Iceberg identifiers.
pub struct Params(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map(|p| Params(p.0))
            .map_err(|e| ApiError::bad_request(format!("invalid path: {e}")))
    }
}

impl Params {
    /// One parameter.
    pub fn get(&self, name: &str) -> Result<&str, ApiError> {
        self.0
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| ApiError::internal(format!("route has no parameter {name}")))
    }

    /// The `{namespace}` parameter split into levels at U+001F.
    pub fn namespace(&self) -> Result<Vec<String>, ApiError> {
        Ok(split_namespace(self.get("namespace")?))
    }
}

/// Namespace levels from their joined form.
pub fn split_namespace(s: &str) -> Vec<String> {
    s.split('\u{1f}').map(str::to_string).collect()
}

/// Query parameters by name.
pub struct QueryMap(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for QueryMap {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map(|q| QueryMap(q.0))
            .map_err(|e| ApiError::bad_request(format!("invalid query string: {e}")))
    }
}

impl QueryMap {
    /// A parameter, if present and non-empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    /// `pageSize`, parsed.
    pub fn page_size(&self) -> Result<Option<usize>, ApiError> {
        match self.get("pageSize") {
            None => Ok(None),
            Some(s) => s.parse::<usize>().map(Some).map_err(|_| {
                ApiError::bad_request(format!("pageSize must be a positive integer, got '{s}'"))
            }),
        }
    }
}

/// A 200 response with a pre-serialized JSON body.
pub fn json_bytes(body: Bytes) -> Response {
    let mut resp = (StatusCode::OK, body).into_response();
    resp.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}
