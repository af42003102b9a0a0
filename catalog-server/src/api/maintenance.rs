//! Table maintenance and the task queue over HTTP:
//!
//! - `POST /management/v1/warehouses/{warehouse}/namespaces/{namespace}/tables/{table}/maintenance/{action}`:
//!   run `expire-snapshots`, `remove-orphan-files`, `rewrite-data-files` or
//!   `rewrite-manifests` with the JSON options of the body (empty means `{}`), answering the
//!   report. Needs MANAGE on the table; audited as `maintenance.<action>`.
//! - `GET /management/v1/tasks` (filters `status`, `warehouse`, `namespace`, `table`;
//!   `pageSize`, `pageToken`) and `GET /management/v1/tasks/{id}`: the automatic-maintenance
//!   queue, for the root principal.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use serde_json::{Value, json};

use super::{Params, QueryMap, SharedState};
use crate::auth::{Caller, Privilege, Target};
use crate::error::{ApiError, ApiResult};
use crate::service::{MAX_PAGE_SIZE, MaintenanceAction};
use crate::store::namespace_levels;
use crate::store::tasks::{TaskFilter, TaskRecord, TaskStatus};

/// The maintenance and task routes.
pub fn routes() -> Router<SharedState> {
    Router::new()
        .route(
            "/management/v1/warehouses/{warehouse}/namespaces/{namespace}/tables/{table}/maintenance/{action}",
            post(run_action),
        )
        .route("/management/v1/tasks", get(list_tasks))
        .route("/management/v1/tasks/{id}", get(get_task))
}

async fn run_action(
    State(state): State<SharedState>,
    caller: Caller,
    p: Params,
    body: Bytes,
) -> ApiResult<Response> {
    let wh = state.service.warehouse(p.get("warehouse")?).await?;
    let (ns, name) = (p.namespace()?, p.get("table")?);
    let action_name = p.get("action")?;
    let action = MaintenanceAction::parse(action_name).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "NotFoundException",
            format!(
                "unknown maintenance action '{action_name}': use expire-snapshots, \
                 remove-orphan-files, rewrite-data-files or rewrite-manifests"
            ),
        )
    })?;
    state
        .access
        .require_table(&caller, &wh, &ns, name, Privilege::Manage)
        .await?;
    let options: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("invalid request body: {e}")))?
    };
    if !options.is_object() {
        return Err(ApiError::bad_request(
            "the options must be a JSON object (or an empty body)",
        ));
    }
    let report = state
        .service
        .run_maintenance(&wh, &ns, name, action, &options)
        .await?;
    let mut detail = report.clone();
    if let Some(o) = detail.as_object_mut() {
        // The audit keeps counts, not up to a thousand paths.
        o.remove("orphan-files");
        o.insert("options".into(), options);
    }
    state
        .access
        .audit(
            &caller,
            &format!("maintenance.{}", action.as_str()),
            &Target::Table(&ns, name, None).audit_name(&wh),
            detail,
        )
        .await;
    Ok(axum::Json(report).into_response())
}

fn task_json(t: &TaskRecord) -> Value {
    let parse = |s: &Option<String>| {
        s.as_deref()
            .map(|s| serde_json::from_str::<Value>(s).unwrap_or_else(|_| Value::String(s.into())))
    };
    json!({
        "id": t.id,
        "warehouse": t.warehouse,
        "namespace": namespace_levels(&t.namespace),
        "table": t.table_name,
        "table-uuid": t.table_uuid,
        "action": t.action,
        "options": parse(&Some(t.options.clone())),
        "status": t.status.as_str(),
        "attempts": t.attempts,
        "created-ms": t.created_ms,
        "started-ms": t.started_ms,
        "finished-ms": t.finished_ms,
        "worker-id": t.worker_id,
        "lease-expires-ms": t.lease_expires_ms,
        "result": parse(&t.result),
        "error": t.error,
    })
}

async fn list_tasks(
    State(state): State<SharedState>,
    caller: Caller,
    q: QueryMap,
) -> ApiResult<Response> {
    state.access.require_root(&caller, "tasks").await?;
    let status = match q.get("status") {
        None => None,
        Some(s) => Some(TaskStatus::parse(s).ok_or_else(|| {
            ApiError::bad_request(format!(
                "unknown task status '{s}': use queued, running, succeeded or failed"
            ))
        })?),
    };
    let warehouse_id = match q.get("warehouse") {
        None => None,
        Some(w) => Some(state.service.warehouse(w).await?.id),
    };
    let before_id = match q.get("pageToken") {
        None => None,
        Some(t) => Some(
            t.parse::<i64>()
                .map_err(|_| ApiError::bad_request(format!("invalid pageToken '{t}'")))?,
        ),
    };
    let limit = match q.page_size()? {
        None => 100,
        Some(0) => return Err(ApiError::bad_request("pageSize must be at least 1")),
        Some(n) => n.min(MAX_PAGE_SIZE),
    };
    let filter = TaskFilter {
        status,
        warehouse_id,
        namespace: q
            .get("namespace")
            .map(|n| crate::store::namespace_key(&super::split_namespace(n))),
        table_name: q.get("table").map(str::to_string),
        before_id,
        limit,
    };
    let page = state.service.list_tasks(&filter).await?;
    let tasks: Vec<Value> = page.items.iter().map(task_json).collect();
    Ok(axum::Json(json!({"tasks": tasks, "next-page-token": page.next})).into_response())
}

async fn get_task(
    State(state): State<SharedState>,
    caller: Caller,
    p: Params,
) -> ApiResult<Response> {
    state.access.require_root(&caller, "tasks").await?;
    let raw = p.get("id")?;
    let id: i64 = raw
        .parse()
        .map_err(|_| ApiError::bad_request(format!("task id must be an integer, got '{raw}'")))?;
    let task = state.service.get_task(id).await?;
    Ok(axum::Json(task_json(&task)).into_response())
}
