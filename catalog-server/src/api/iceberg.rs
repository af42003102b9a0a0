//! The Iceberg REST Catalog endpoints: thin handlers that parse, call the service and shape
//! the response. Status codes follow what clients expect (200 for creates and commits, 204
//! for drops, renames, HEAD, metrics reports and transactions).

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;
use table_format::spec::{TableRequirement, TableUpdate};

use super::{JsonBody, Params, QueryMap, SharedState, json_bytes, split_namespace};
use crate::auth::{Caller, Privilege, Target};
use crate::error::{ApiError, ApiResult};
use crate::service::{
    CreateTableRequest, DEFAULT_WAREHOUSE, RegisterTableRequest, SnapshotMode, TableChange,
};
use crate::store::access::Securable;
use crate::store::{Warehouse, namespace_key};

/// The endpoints `/v1/config` advertises: exactly what this server serves.
pub const ENDPOINTS: &[&str] = &[
    "GET /v1/{prefix}/namespaces",
    "POST /v1/{prefix}/namespaces",
    "GET /v1/{prefix}/namespaces/{namespace}",
    "HEAD /v1/{prefix}/namespaces/{namespace}",
    "DELETE /v1/{prefix}/namespaces/{namespace}",
    "POST /v1/{prefix}/namespaces/{namespace}/properties",
    "GET /v1/{prefix}/namespaces/{namespace}/tables",
    "POST /v1/{prefix}/namespaces/{namespace}/tables",
    "GET /v1/{prefix}/namespaces/{namespace}/tables/{table}",
    "HEAD /v1/{prefix}/namespaces/{namespace}/tables/{table}",
    "POST /v1/{prefix}/namespaces/{namespace}/tables/{table}",
    "DELETE /v1/{prefix}/namespaces/{namespace}/tables/{table}",
    "POST /v1/{prefix}/namespaces/{namespace}/register",
    "POST /v1/{prefix}/namespaces/{namespace}/tables/{table}/metrics",
    "GET /v1/{prefix}/namespaces/{namespace}/tables/{table}/credentials",
    "POST /v1/{prefix}/tables/rename",
    "POST /v1/{prefix}/transactions/commit",
];

/// The REST routes.
pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/v1/config", get(config))
        .route(
            "/v1/{prefix}/namespaces",
            get(list_namespaces).post(create_namespace),
        )
        .route(
            "/v1/{prefix}/namespaces/{namespace}",
            get(load_namespace)
                .head(namespace_exists)
                .delete(drop_namespace),
        )
        .route(
            "/v1/{prefix}/namespaces/{namespace}/properties",
            post(update_properties),
        )
        .route(
            "/v1/{prefix}/namespaces/{namespace}/tables",
            get(list_tables).post(create_table),
        )
        .route(
            "/v1/{prefix}/namespaces/{namespace}/register",
            post(register_table),
        )
        .route(
            "/v1/{prefix}/namespaces/{namespace}/tables/{table}",
            get(load_table)
                .head(table_exists)
                .post(commit_table)
                .delete(drop_table),
        )
        .route(
            "/v1/{prefix}/namespaces/{namespace}/tables/{table}/metrics",
            post(report_metrics),
        )
        .route(
            "/v1/{prefix}/namespaces/{namespace}/tables/{table}/credentials",
            get(credentials),
        )
        .route("/v1/{prefix}/tables/rename", post(rename_table))
        .route("/v1/{prefix}/transactions/commit", post(commit_transaction))
}

async fn warehouse(state: &SharedState, p: &Params) -> ApiResult<Warehouse> {
    state.service.warehouse(p.get("prefix")?).await
}

async fn config(
    State(state): State<SharedState>,
    caller: Caller,
    q: QueryMap,
) -> ApiResult<Response> {
    let name = q.get("warehouse").unwrap_or(DEFAULT_WAREHOUSE);
    let wh = state.service.warehouse(name).await?;
    state.access.require_reach(&caller, &wh).await?;
    let defaults: BTreeMap<String, String> = wh.storage.io_properties();
    Ok(axum::Json(json!({
        "defaults": defaults,
        "overrides": {"prefix": wh.name},
        "endpoints": ENDPOINTS,
    }))
    .into_response())
}

#[derive(Deserialize)]
struct CreateNamespaceRequest {
    namespace: Vec<String>,
    #[serde(default)]
    properties: Option<BTreeMap<String, String>>,
}

async fn create_namespace(
    State(state): State<SharedState>,
    caller: Caller,
    p: Params,
    JsonBody(req): JsonBody<CreateNamespaceRequest>,
) -> ApiResult<Response> {
    let wh = warehouse(&state, &p).await?;
    let parent = &req.namespace[..req.namespace.len().saturating_sub(1)];
    state
        .access
        .require(&caller, &wh, Target::container(parent), Privilege::Create)
        .await?;
    let ns = state
        .service
        .create_namespace(&wh, &req.namespace, req.properties.unwrap_or_default())
        .await?;
    Ok(axum::Json(json!({"namespace": ns.levels, "properties": ns.properties})).into_response())
}

async fn list_namespaces(
    State(state): State<SharedState>,
    caller: Caller,
    p: Params,
    q: QueryMap,
) -> ApiResult<Response> {
    let wh = warehouse(&state, &p).await?;
    let parent = q.get("parent").map(split_namespace).unwrap_or_default();
    if parent.is_empty() {
        state.access.require_reach(&caller, &wh).await?;
    } else {
        state
            .access
            .require(&caller, &wh, Target::Namespace(&parent), Privilege::Usage)
            .await?;
    }
    let page = state
        .service
        .list_namespaces(&wh, &parent, q.get("pageToken"), q.page_size()?)
        .await?;
    let visible = state
        .access
        .visible_namespaces(&caller, &wh, &parent, page.items)
        .await?;
    Ok(axum::Json(json!({"namespaces": visible, "next-page-token": page.next})).into_response())
}

async fn load_namespace(
    State(state): State<SharedState>,
    caller: Caller,
    p: Params,
) -> ApiResult<Response> {
    let wh = warehouse(&state, &p).await?;
    let levels = p.namespace()?;
    state
        .access
        .require(&caller, &wh, Target::Namespace(&levels), Privilege::Usage)
        .await?;
    let ns = state.service.load_namespace(&wh, &levels).await?;
    Ok(axum::Json(json!({"namespace": ns.levels, "properties": ns.properties})).into_response())
}

async fn namespace_exists(
    State(state): State<SharedState>,
    caller: Caller,
    p: Params,
) -> ApiResult<StatusCode> {
    let wh = warehouse(&state, &p).await?;
    let levels = p.namespace()?;
    state
        .access
        .require(&caller, &wh, Target::Namespace(&levels), Privilege::Usage)
        .await?;
    state.service.load_namespace(&wh, &levels).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn drop_namespace(
    State(state): State<SharedState>,
    caller: Caller,
    p: Params,
) -> ApiResult<StatusCode> {
    let wh = warehouse(&state, &p).await?;
    let levels = p.namespace()?;
    state
        .access
        .require(&caller, &wh, Target::Namespace(&levels), Privilege::Manage)
        .await?;
    state.service.drop_namespace(&wh, &levels).await?;
    state
        .access
        .forget(&wh, Securable::Namespace(namespace_key(&levels)))
        .await;
    state
        .access
        .audit(
            &caller,
            "namespace.drop",
            &Target::Namespace(&levels).audit_name(&wh),
            json!({}),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct UpdatePropertiesRequest {
    #[serde(default)]
    removals: Option<Vec<String>>,
    #[serde(default)]
    updates: Option<BTreeMap<String, String>>,
}

async fn update_properties(
    State(state): State<SharedState>,
    caller: Caller,
    p: Params,
    JsonBody(req): JsonBody<UpdatePropertiesRequest>,
) -> ApiResult<Response> {
    let wh = warehouse(&state, &p).await?;
    state
        .access
        .require(
            &caller,
            &wh,
            Target::Namespace(&p.namespace()?),
            Privilege::Modify,
        )
        .await?;
    let r = state
        .service
        .update_namespace_properties(
            &wh,
            &p.namespace()?,
            req.removals.unwrap_or_default(),
            req.updates.unwrap_or_default(),
        )
        .await?;
    Ok(axum::Json(r).into_response())
}

async fn list_tables(
    State(state): State<SharedState>,
    caller: Caller,
    p: Params,
    q: QueryMap,
) -> ApiResult<Response> {
    let wh = warehouse(&state, &p).await?;
    let ns = p.namespace()?;
    state
        .access
        .require(&caller, &wh, Target::Namespace(&ns), Privilege::Usage)
        .await?;
    let page = state
        .service
        .list_tables(&wh, &ns, q.get("pageToken"), q.page_size()?)
        .await?;
    let identifiers: Vec<_> = page
        .items
        .iter()
        .map(|name| json!({"namespace": ns, "name": name}))
        .collect();
    Ok(
        axum::Json(json!({"identifiers": identifiers, "next-page-token": page.next}))
            .into_response(),
    )
}

async fn create_table(
    State(state): State<SharedState>,
    caller: Caller,
    p: Params,
    JsonBody(req): JsonBody<CreateTableRequest>,
) -> ApiResult<Response> {
    let wh = warehouse(&state, &p).await?;
    let ns = p.namespace()?;
    state
        .access
        .require(&caller, &wh, Target::Namespace(&ns), Privilege::Create)
        .await?;
    let name = req.name.clone();
    let body = state.service.create_table(&wh, &ns, req).await?;
    state
        .access
        .audit(
            &caller,
            "table.create",
            &Target::Table(&ns, &name, None).audit_name(&wh),
            json!({}),
        )
        .await;
    Ok(json_bytes(body))
}

async fn register_table(
    State(state): State<SharedState>,
    caller: Caller,
    p: Params,
    JsonBody(req): JsonBody<RegisterTableRequest>,
) -> ApiResult<Response> {
    let wh = warehouse(&state, &p).await?;
    let ns = p.namespace()?;
    state
        .access
        .require(&caller, &wh, Target::Namespace(&ns), Privilege::Manage)
        .await?;
    let name = req.name.clone();
    let body = state.service.register_table(&wh, &ns, req).await?;
    state
        .access
        .audit(
            &caller,
            "table.register",
            &Target::Table(&ns, &name, None).audit_name(&wh),
            json!({}),
        )
        .await;
    Ok(json_bytes(body))
}

fn snapshot_mode(q: &QueryMap) -> ApiResult<SnapshotMode> {
    match q.get("snapshots").map(str::to_ascii_lowercase).as_deref() {
        None | Some("all") => Ok(SnapshotMode::All),
        Some("refs") => Ok(SnapshotMode::Refs),
        Some(other) => Err(ApiError::bad_request(format!(
            "snapshots must be 'all' or 'refs', got '{other}'"
        ))),
    }
}

fn etag_matches(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == etag)
}

async fn load_table(
    State(state): State<SharedState>,
    caller: Caller,
    p: Params,
    q: QueryMap,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let wh = warehouse(&state, &p).await?;
    let mode = snapshot_mode(&q)?;
    let (ns, name) = (p.namespace()?, p.get("table")?);
    let checked = state
        .access
        .require_table_record(&caller, &wh, &ns, name, Privilege::Select)
        .await?;
    let loaded = match checked {
        Some(rec) => state.service.load_table_record(&wh, &rec, mode).await?,
        None => state.service.load_table(&wh, &ns, name, mode).await?,
    };
    let etag = HeaderValue::from_str(&loaded.etag)
        .map_err(|e| ApiError::internal(format!("bad etag: {e}")))?;
    let mut resp = if etag_matches(&headers, &loaded.etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        json_bytes(loaded.body.clone())
    };
    resp.headers_mut().insert(header::ETAG, etag);
    Ok(resp)
}

async fn table_exists(
    State(state): State<SharedState>,
    caller: Caller,
    p: Params,
) -> ApiResult<StatusCode> {
    let wh = warehouse(&state, &p).await?;
    let ns = p.namespace()?;
    let name = p.get("table")?;
    state
        .access
        .require_table(&caller, &wh, &ns, name, Privilege::Usage)
        .await?;
    if state.service.table_exists(&wh, &ns, name).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::no_such_table(format!(
            "table {}.{name} does not exist",
            ns.join(".")
        )))
    }
}

fn parse_purge(q: &QueryMap) -> ApiResult<bool> {
    match q.get("purgeRequested") {
        None => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(ApiError::bad_request(format!(
            "purgeRequested must be true or false, got '{v}'"
        ))),
    }
}

async fn drop_table(
    State(state): State<SharedState>,
    caller: Caller,
    p: Params,
    q: QueryMap,
) -> ApiResult<StatusCode> {
    let wh = warehouse(&state, &p).await?;
    let purge = parse_purge(&q)?;
    let (ns, name) = (p.namespace()?, p.get("table")?);
    state
        .access
        .require_table(&caller, &wh, &ns, name, Privilege::Manage)
        .await?;
    let uuid = state.service.drop_table(&wh, &ns, name, purge).await?;
    state.access.forget(&wh, Securable::Table(uuid)).await;
    state
        .access
        .audit(
            &caller,
            "table.drop",
            &Target::Table(&ns, name, None).audit_name(&wh),
            json!({"purge": purge}),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct Identifier {
    namespace: Vec<String>,
    name: String,
}

#[derive(Deserialize)]
struct CommitTableRequest {
    #[serde(default)]
    identifier: Option<Identifier>,
    requirements: Vec<TableRequirement>,
    updates: Vec<TableUpdate>,
}

async fn commit_table(
    State(state): State<SharedState>,
    caller: Caller,
    p: Params,
    JsonBody(req): JsonBody<CommitTableRequest>,
) -> ApiResult<Response> {
    let wh = warehouse(&state, &p).await?;
    let namespace = p.namespace()?;
    let name = p.get("table")?.to_string();
    state
        .access
        .require_table(&caller, &wh, &namespace, &name, Privilege::Modify)
        .await?;
    if let Some(id) = &req.identifier
        && (id.namespace != namespace || id.name != name)
    {
        return Err(ApiError::bad_request(format!(
            "the body's identifier {}.{} differs from the path's {}.{name}",
            id.namespace.join("."),
            id.name,
            namespace.join(".")
        )));
    }
    let target = Target::Table(&namespace, &name, None).audit_name(&wh);
    let detail = commit_detail(&req.updates);
    let (mut outcomes, _) = state
        .service
        .commit(
            &wh,
            vec![TableChange {
                namespace: namespace.clone(),
                name: name.clone(),
                requirements: req.requirements,
                updates: req.updates,
            }],
        )
        .await?;
    state.access.audit(&caller, "commit", &target, detail).await;
    let outcome = outcomes
        .pop()
        .ok_or_else(|| ApiError::internal("a commit produced no outcome"))?;
    Ok(json_bytes(outcome.body()))
}

#[derive(Deserialize)]
struct TransactionRequest {
    #[serde(rename = "table-changes")]
    table_changes: Vec<TransactionChange>,
}

#[derive(Deserialize)]
struct TransactionChange {
    identifier: Identifier,
    requirements: Vec<TableRequirement>,
    updates: Vec<TableUpdate>,
}

async fn commit_transaction(
    State(state): State<SharedState>,
    caller: Caller,
    p: Params,
    JsonBody(req): JsonBody<TransactionRequest>,
) -> ApiResult<StatusCode> {
    let wh = warehouse(&state, &p).await?;
    let mut audits = Vec::with_capacity(req.table_changes.len());
    for c in &req.table_changes {
        let id = &c.identifier;
        state
            .access
            .require_table(&caller, &wh, &id.namespace, &id.name, Privilege::Modify)
            .await?;
        audits.push((
            Target::Table(&id.namespace, &id.name, None).audit_name(&wh),
            commit_detail(&c.updates),
        ));
    }
    let changes = req
        .table_changes
        .into_iter()
        .map(|c| TableChange {
            namespace: c.identifier.namespace,
            name: c.identifier.name,
            requirements: c.requirements,
            updates: c.updates,
        })
        .collect();
    state.service.commit(&wh, changes).await?;
    for (target, detail) in audits {
        state.access.audit(&caller, "commit", &target, detail).await;
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct RenameRequest {
    source: Identifier,
    destination: Identifier,
}

async fn rename_table(
    State(state): State<SharedState>,
    caller: Caller,
    p: Params,
    JsonBody(req): JsonBody<RenameRequest>,
) -> ApiResult<StatusCode> {
    let wh = warehouse(&state, &p).await?;
    let (src, dst) = (&req.source, &req.destination);
    state
        .access
        .require_table(&caller, &wh, &src.namespace, &src.name, Privilege::Manage)
        .await?;
    if dst.namespace != src.namespace {
        state
            .access
            .require(
                &caller,
                &wh,
                Target::Namespace(&dst.namespace),
                Privilege::Create,
            )
            .await?;
    }
    state
        .service
        .rename_table(
            &wh,
            (&req.source.namespace, &req.source.name),
            (&req.destination.namespace, &req.destination.name),
        )
        .await?;
    state
        .access
        .audit(
            &caller,
            "table.rename",
            &Target::Table(&src.namespace, &src.name, None).audit_name(&wh),
            json!({"to": Target::Table(&dst.namespace, &dst.name, None).audit_name(&wh)}),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

async fn report_metrics(
    State(state): State<SharedState>,
    caller: Caller,
    p: Params,
    JsonBody(report): JsonBody<serde_json::Value>,
) -> ApiResult<StatusCode> {
    let wh = warehouse(&state, &p).await?;
    state
        .access
        .require_table(
            &caller,
            &wh,
            &p.namespace()?,
            p.get("table")?,
            Privilege::Select,
        )
        .await?;
    state
        .service
        .report_metrics(&wh, &p.namespace()?, p.get("table")?, report)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn credentials(
    State(state): State<SharedState>,
    caller: Caller,
    p: Params,
) -> ApiResult<Response> {
    let wh = warehouse(&state, &p).await?;
    state
        .access
        .require_table(
            &caller,
            &wh,
            &p.namespace()?,
            p.get("table")?,
            Privilege::Select,
        )
        .await?;
    let v = state
        .service
        .table_credentials(&wh, &p.namespace()?, p.get("table")?)
        .await?;
    Ok(axum::Json(v).into_response())
}

/// What the audit log keeps of a commit: the kinds of its updates, in order.
fn commit_detail(updates: &[TableUpdate]) -> serde_json::Value {
    let actions: Vec<serde_json::Value> = updates
        .iter()
        .filter_map(|u| serde_json::to_value(u).ok())
        .filter_map(|v| v.get("action").cloned())
        .collect();
    json!({"updates": actions})
}
