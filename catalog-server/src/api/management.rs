//! Floe's management API: warehouses (`/management/v1/warehouses`). Creating and deleting
//! them is the root principal's; others see the warehouses they hold a grant in.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;

use super::{JsonBody, Params, SharedState};
use crate::auth::Caller;
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
    caller: Caller,
    JsonBody(req): JsonBody<CreateWarehouseRequest>,
) -> ApiResult<Response> {
    state.access.require_root(&caller, "warehouses").await?;
    let wh = state
        .service
        .create_warehouse(&req.name, req.storage)
        .await?;
    state
        .access
        .audit(&caller, "warehouse.create", &wh.name, serde_json::json!({}))
        .await;
    Ok((StatusCode::CREATED, axum::Json(warehouse_json(&wh))).into_response())
}

async fn list_warehouses(State(state): State<SharedState>, caller: Caller) -> ApiResult<Response> {
    let all = state.service.list_warehouses().await?;
    let reachable = state.access.reachable_warehouses(&caller).await?;
    let list: Vec<_> = all
        .iter()
        .filter(|wh| reachable.as_ref().is_none_or(|ids| ids.contains(&wh.id)))
        .map(warehouse_json)
        .collect();
    Ok(axum::Json(json!({"warehouses": list})).into_response())
}

async fn get_warehouse(
    State(state): State<SharedState>,
    caller: Caller,
    p: Params,
) -> ApiResult<Response> {
    let wh = state.service.warehouse(p.get("name")?).await?;
    state.access.require_reach(&caller, &wh).await?;
    Ok(axum::Json(warehouse_json(&wh)).into_response())
}

async fn delete_warehouse(
    State(state): State<SharedState>,
    caller: Caller,
    p: Params,
) -> ApiResult<StatusCode> {
    let name = p.get("name")?;
    state.access.require_root(&caller, name).await?;
    let wh = state.service.warehouse(name).await?;
    state.service.delete_warehouse(name).await?;
    state.access.forget_warehouse(&wh).await;
    state
        .access
        .audit(&caller, "warehouse.delete", name, serde_json::json!({}))
        .await;
    Ok(StatusCode::NO_CONTENT)
}
