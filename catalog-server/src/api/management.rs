//! Floe's management API: warehouses (`/management/v1/warehouses`).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;

use super::{JsonBody, Params, SharedState};
use crate::error::ApiResult;
use crate::store::{StorageConfig, Warehouse};

/// The management routes.
pub fn routes() -> Router<SharedState> {
    Router::new()
        .route(
            "/management/v1/warehouses",
            get(list_warehouses).post(create_warehouse),
        )
        .route(
            "/management/v1/warehouses/{name}",
            get(get_warehouse).delete(delete_warehouse),
        )
}

fn warehouse_json(wh: &Warehouse) -> serde_json::Value {
    json!({"name": wh.name, "storage": wh.storage.redacted()})
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateWarehouseRequest {
    name: String,
    storage: StorageConfig,
}

async fn create_warehouse(
    State(state): State<SharedState>,
    JsonBody(req): JsonBody<CreateWarehouseRequest>,
) -> ApiResult<Response> {
    let wh = state
        .service
        .create_warehouse(&req.name, req.storage)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(warehouse_json(&wh))).into_response())
}

async fn list_warehouses(State(state): State<SharedState>) -> ApiResult<Response> {
    let all = state.service.list_warehouses().await?;
    let list: Vec<_> = all.iter().map(warehouse_json).collect();
    Ok(axum::Json(json!({"warehouses": list})).into_response())
}

async fn get_warehouse(State(state): State<SharedState>, p: Params) -> ApiResult<Response> {
    let wh = state.service.warehouse(p.get("name")?).await?;
    Ok(axum::Json(warehouse_json(&wh)).into_response())
}

async fn delete_warehouse(State(state): State<SharedState>, p: Params) -> ApiResult<StatusCode> {
    state.service.delete_warehouse(p.get("name")?).await?;
    Ok(StatusCode::NO_CONTENT)
}
