//! Operations endpoints: `/health`, `/metrics` (Prometheus), and the API document.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::SharedState;
use crate::error::{ApiError, ApiResult};

/// The operations routes.
pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
}

async fn health(State(state): State<SharedState>) -> ApiResult<Response> {
    state.service.store().ping().await.map_err(|e| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailableException",
            format!("the catalog database does not answer: {e}"),
        )
    })?;
    Ok(axum::Json(json!({"status": "ok"})).into_response())
}

async fn metrics(State(state): State<SharedState>) -> Response {
    let mut resp = state.service.metrics().render().into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    resp
}
