//! Access management over HTTP (`/management/v1`):
//!
//! - principals: create (the secret is shown once), list, get, delete, rotate (root only);
//! - roles and their members (root only);
//! - permissions of a warehouse, namespace or table: direct assignments, one principal's
//!   effective privileges, and atomic changes (MANAGE on the securable);
//! - the audit log (root only) and signing-key rotation (root only).

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{JsonBody, Params, QueryMap, SharedState};
use crate::auth::{Caller, Privilege, ROOT_NAME, Target, new_principal, secrets};
use crate::error::{ApiError, ApiResult};
use crate::service::page_args;
use crate::store::access::{
    AuditFilter, GrantChange, GranteeKind, PrincipalKey, PrincipalRecord, RoleRecord, Securable,
};
use crate::store::{Page, StoreError, Warehouse, namespace_key};

/// The access-management routes.
pub fn routes() -> Router<SharedState> {
    Router::new()
        .route(
            "/management/v1/principals",
            get(list_principals).post(create_principal),
        )
        .route(
            "/management/v1/principals/{principal}",
            get(get_principal).delete(delete_principal),
        )
        .route(
            "/management/v1/principals/{principal}/rotate",
            post(rotate_principal),
        )
        .route("/management/v1/roles", get(list_roles).post(create_role))
        .route(
            "/management/v1/roles/{role}",
            get(get_role).delete(delete_role),
        )
        .route(
            "/management/v1/roles/{role}/members/{principal}",
            put(add_member).delete(remove_member),
        )
        .route(
            "/management/v1/warehouses/{warehouse}/permissions",
            get(get_permissions).patch(patch_permissions),
        )
        .route(
            "/management/v1/warehouses/{warehouse}/namespaces/{namespace}/permissions",
            get(get_permissions).patch(patch_permissions),
        )
        .route(
            "/management/v1/warehouses/{warehouse}/namespaces/{namespace}/tables/{table}/permissions",
            get(get_permissions).patch(patch_permissions),
        )
        .route("/management/v1/audit", get(list_audit))
        .route("/management/v1/signing-keys/rotate", post(rotate_signing_key))
}

/// Largest page of principals, roles or audit events.
const MAX_PAGE: usize = 1000;

fn principal_json(p: &PrincipalRecord) -> Value {
    json!({"name": p.name, "client-id": p.client_id, "root": p.is_root, "created-at-ms": p.created_ms})
}

fn valid_name(kind: &str, name: &str) -> ApiResult<()> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "invalid {kind} name '{name}': use 1 to 128 letters, digits, '-', '_', '.' or '@'"
        )))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NameRequest {
    name: String,
}

fn hash(secret: &str) -> ApiResult<String> {
    secrets::hash_secret(secret).map_err(ApiError::internal)
}

async fn create_principal(
    State(state): State<SharedState>,
    caller: Caller,
    JsonBody(req): JsonBody<NameRequest>,
) -> ApiResult<Response> {
    state.access.require_root(&caller, "principals").await?;
    valid_name("principal", &req.name)?;
    // Reserved: with `--auth none` no root is stored yet, and a principal taking its name
    // would keep `--auth oauth2` from creating the root principal later.
    if req.name == ROOT_NAME {
        return Err(ApiError::bad_request(format!(
            "the name '{ROOT_NAME}' is reserved for the root principal"
        )));
    }
    let client_id = secrets::new_client_id();
    let secret = secrets::new_client_secret();
    let record =
        new_principal(&req.name, &client_id, &secret, false).map_err(ApiError::internal)?;
    state.service.store().create_principal(&record).await?;
    state
        .access
        .audit(&caller, "principal.create", &req.name, json!({}))
        .await;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"name": req.name, "client-id": client_id, "client-secret": secret})),
    )
        .into_response())
}

fn page_params(q: &QueryMap) -> ApiResult<(Option<String>, usize)> {
    let (after, limit) = page_args(q.get("pageToken"), q.page_size()?)?;
    Ok((after, limit.min(MAX_PAGE)))
}

fn encode_next<T>(p: &Page<T>) -> Option<String> {
    p.next.as_ref().map(hex::encode)
}

async fn list_principals(
    State(state): State<SharedState>,
    caller: Caller,
    q: QueryMap,
) -> ApiResult<Response> {
    state.access.require_root(&caller, "principals").await?;
    let (after, limit) = page_params(&q)?;
    let page = state
        .service
        .store()
        .list_principals(after.as_deref(), limit)
        .await?;
    let list: Vec<Value> = page.items.iter().map(principal_json).collect();
    Ok(
        axum::Json(json!({"principals": list, "next-page-token": encode_next(&page)}))
            .into_response(),
    )
}

fn no_such_principal(name: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "NoSuchPrincipalException",
        format!("principal '{name}' does not exist"),
    )
}

async fn principal_by_name(state: &SharedState, name: &str) -> ApiResult<PrincipalRecord> {
    match state
        .service
        .store()
        .get_principal(PrincipalKey::Name(name))
        .await
    {
        Ok(p) => Ok(p),
        Err(StoreError::NotFound(_)) => Err(no_such_principal(name)),
        Err(e) => Err(e.into()),
    }
}

async fn role_by_name(state: &SharedState, name: &str) -> ApiResult<RoleRecord> {
    match state.service.store().get_role(name).await {
        Ok(r) => Ok(r),
        Err(StoreError::NotFound(_)) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "NoSuchRoleException",
            format!("role '{name}' does not exist"),
        )),
        Err(e) => Err(e.into()),
    }
}

async fn get_principal(
    State(state): State<SharedState>,
    caller: Caller,
    p: Params,
) -> ApiResult<Response> {
    let name = p.get("principal")?;
    if caller.name != name {
        state.access.require_root(&caller, name).await?;
    }
    let principal = principal_by_name(&state, name).await?;
    let roles = state.service.store().roles_of(&principal.id).await?;
    let mut body = principal_json(&principal);
    body["roles"] = json!(roles.iter().map(|r| &r.name).collect::<Vec<_>>());
    Ok(axum::Json(body).into_response())
}

async fn delete_principal(
    State(state): State<SharedState>,
    caller: Caller,
    p: Params,
) -> ApiResult<StatusCode> {
    let name = p.get("principal")?;
    state.access.require_root(&caller, name).await?;
    let principal = principal_by_name(&state, name).await?;
    if principal.is_root {
        return Err(ApiError::bad_request(
            "the root principal cannot be deleted",
        ));
    }
    state
        .service
        .store()
        .delete_principal(&principal.id)
        .await?;
    state
        .access
        .audit(&caller, "principal.delete", name, json!({}))
        .await;
    Ok(StatusCode::NO_CONTENT)
}

async fn rotate_principal(
    State(state): State<SharedState>,
    caller: Caller,
    p: Params,
) -> ApiResult<Response> {
    let name = p.get("principal")?;
    state.access.require_root(&caller, name).await?;
    let principal = principal_by_name(&state, name).await?;
    let secret = secrets::new_client_secret();
    state
        .service
        .store()
        .set_principal_credentials(&principal.id, &principal.client_id, &hash(&secret)?)
        .await?;
    state
        .access
        .audit(&caller, "principal.rotate", name, json!({}))
        .await;
    Ok(
        axum::Json(
            json!({"name": name, "client-id": principal.client_id, "client-secret": secret}),
        )
        .into_response(),
    )
}

async fn create_role(
    State(state): State<SharedState>,
    caller: Caller,
    JsonBody(req): JsonBody<NameRequest>,
) -> ApiResult<Response> {
    state.access.require_root(&caller, "roles").await?;
    valid_name("role", &req.name)?;
    let role = RoleRecord {
        id: uuid::Uuid::new_v4().to_string(),
        name: req.name.clone(),
    };
    state.service.store().create_role(&role).await?;
    state
        .access
        .audit(&caller, "role.create", &req.name, json!({}))
        .await;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"name": req.name, "members": []})),
    )
        .into_response())
}

async fn list_roles(
    State(state): State<SharedState>,
    caller: Caller,
    q: QueryMap,
) -> ApiResult<Response> {
    state.access.require_root(&caller, "roles").await?;
    let (after, limit) = page_params(&q)?;
    let page = state
        .service
        .store()
        .list_roles(after.as_deref(), limit)
        .await?;
    let list: Vec<Value> = page.items.iter().map(|r| json!({"name": r.name})).collect();
    Ok(axum::Json(json!({"roles": list, "next-page-token": encode_next(&page)})).into_response())
}

async fn get_role(
    State(state): State<SharedState>,
    caller: Caller,
    p: Params,
) -> ApiResult<Response> {
    let name = p.get("role")?;
    state.access.require_root(&caller, name).await?;
    let role = role_by_name(&state, name).await?;
    let members = state.service.store().role_members(&role.id).await?;
    Ok(axum::Json(json!({"name": role.name, "members": members})).into_response())
}

async fn delete_role(
    State(state): State<SharedState>,
    caller: Caller,
    p: Params,
) -> ApiResult<StatusCode> {
    let name = p.get("role")?;
    state.access.require_root(&caller, name).await?;
    let role = role_by_name(&state, name).await?;
    state.service.store().delete_role(&role.id).await?;
    state
        .access
        .audit(&caller, "role.delete", name, json!({}))
        .await;
    Ok(StatusCode::NO_CONTENT)
}

async fn add_member(
    State(state): State<SharedState>,
    caller: Caller,
    p: Params,
) -> ApiResult<StatusCode> {
    let (role, principal) = (p.get("role")?, p.get("principal")?);
    state.access.require_root(&caller, role).await?;
    let r = role_by_name(&state, role).await?;
    let m = principal_by_name(&state, principal).await?;
    state.service.store().add_role_member(&r.id, &m.id).await?;
    state
        .access
        .audit(
            &caller,
            "role.add-member",
            role,
            json!({"principal": principal}),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

async fn remove_member(
    State(state): State<SharedState>,
    caller: Caller,
    p: Params,
) -> ApiResult<StatusCode> {
    let (role, principal) = (p.get("role")?, p.get("principal")?);
    state.access.require_root(&caller, role).await?;
    let r = role_by_name(&state, role).await?;
    let m = principal_by_name(&state, principal).await?;
    state
        .service
        .store()
        .remove_role_member(&r.id, &m.id)
        .await?;
    state
        .access
        .audit(
            &caller,
            "role.remove-member",
            role,
            json!({"principal": principal}),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// A securable named by a permissions path, resolved.
struct Resolved {
    wh: Warehouse,
    namespace: Option<Vec<String>>,
    table: Option<(String, String)>,
}

impl Resolved {
    fn target(&self) -> Target<'_> {
        match (&self.namespace, &self.table) {
            (Some(ns), Some((name, uuid))) => Target::Table(ns, name, Some(uuid)),
            (Some(ns), None) => Target::Namespace(ns),
            _ => Target::Warehouse,
        }
    }

    fn securable(&self) -> Securable {
        match (&self.namespace, &self.table) {
            (Some(_), Some((_, uuid))) => Securable::Table(uuid.clone()),
            (Some(ns), None) => Securable::Namespace(namespace_key(ns)),
            _ => Securable::Warehouse,
        }
    }
}

/// Resolve the path and require MANAGE there (or, with `own_view`, just that the caller may
/// see it: a principal may always ask for its own effective privileges).
async fn resolve(
    state: &SharedState,
    caller: &Caller,
    p: &Params,
    own_view: bool,
) -> ApiResult<Resolved> {
    let wh = state.service.warehouse(p.get("warehouse")?).await?;
    let namespace = p.0.get("namespace").map(|_| p.namespace()).transpose()?;
    let table_name = p.0.get("table").cloned();
    let wanted = if own_view {
        Privilege::Usage
    } else {
        Privilege::Manage
    };
    let table = match (&namespace, &table_name) {
        (Some(ns), Some(t)) => {
            let uuid = state
                .service
                .store()
                .get_table(&wh, ns, t)
                .await
                .ok()
                .map(|r| r.table_uuid);
            // Checked before answering "no such table", so a caller without the privilege
            // learns nothing of existence; a table's own grants count once it exists.
            state
                .access
                .require(caller, &wh, Target::Table(ns, t, uuid.as_deref()), wanted)
                .await?;
            let uuid = uuid.ok_or_else(|| {
                ApiError::no_such_table(format!("table {}.{t} does not exist", ns.join(".")))
            })?;
            Some((t.clone(), uuid))
        }
        (Some(ns), None) => {
            state
                .access
                .require(caller, &wh, Target::Namespace(ns), wanted)
                .await?;
            state.service.load_namespace(&wh, ns).await?;
            None
        }
        _ => {
            if own_view {
                // Recorded in the audit log like every other denial.
                state.access.require_reach(caller, &wh).await?;
            } else {
                state
                    .access
                    .require(caller, &wh, Target::Warehouse, Privilege::Manage)
                    .await?;
            }
            None
        }
    };
    Ok(Resolved {
        wh,
        namespace,
        table,
    })
}

fn assignments_json(rows: Vec<crate::store::access::GrantRow>) -> Value {
    let mut by: BTreeMap<(GranteeKind, String), Vec<String>> = BTreeMap::new();
    for r in rows {
        by.entry((r.grantee_kind, r.grantee_name))
            .or_default()
            .push(r.privilege);
    }
    let list: Vec<Value> = by
        .into_iter()
        .map(|((kind, name), mut privileges)| {
            privileges.sort_by_key(|p| Privilege::parse(p).map(|p| p as u8).unwrap_or(u8::MAX));
            json!({kind.as_str(): name, "privileges": privileges})
        })
        .collect();
    json!({"privilege-assignments": list})
}

async fn get_permissions(
    State(state): State<SharedState>,
    caller: Caller,
    p: Params,
    q: QueryMap,
) -> ApiResult<Response> {
    let effective = match q.get("effective") {
        None => false,
        Some(v) if v.eq_ignore_ascii_case("true") => true,
        Some(v) if v.eq_ignore_ascii_case("false") => false,
        Some(v) => {
            return Err(ApiError::bad_request(format!(
                "effective must be true or false, got '{v}'"
            )));
        }
    };
    if effective {
        let name = q
            .get("principal")
            .ok_or_else(|| ApiError::bad_request("effective=true needs principal=NAME"))?;
        let own = name == caller.name;
        let r = resolve(&state, &caller, &p, own).await?;
        let (principal, roles) = match state
            .service
            .store()
            .principal_with_roles(PrincipalKey::Name(name))
            .await
        {
            Err(StoreError::NotFound(_)) => return Err(no_such_principal(name)),
            other => other?,
        };
        let held: Vec<&str> = if principal.is_root {
            vec![Privilege::AllPrivileges.name()]
        } else {
            let mut grantees = vec![principal.id];
            grantees.extend(roles);
            state
                .access
                .effective(&grantees, &r.wh, &r.target())
                .await?
                .names()
        };
        return Ok(axum::Json(json!({
            "privilege-assignments": [{"principal": name, "privileges": held}]
        }))
        .into_response());
    }
    if q.get("principal").is_some() {
        return Err(ApiError::bad_request(
            "principal=NAME is only accepted with effective=true",
        ));
    }
    let r = resolve(&state, &caller, &p, false).await?;
    let rows = state
        .service
        .store()
        .list_grants(&r.wh.id, &r.securable())
        .await?;
    Ok(axum::Json(assignments_json(rows)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PermissionChanges {
    changes: Vec<PermissionChange>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PermissionChange {
    #[serde(default)]
    principal: Option<String>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    add: Vec<String>,
    #[serde(default)]
    remove: Vec<String>,
}

/// Most changes one PATCH may carry.
const MAX_CHANGES: usize = 1000;

fn privileges(names: &[String]) -> ApiResult<Vec<String>> {
    names
        .iter()
        .map(|n| {
            Privilege::parse(n)
                .map(|p| p.name().to_string())
                .ok_or_else(|| {
                    let all: Vec<&str> = Privilege::ALL.iter().map(|p| p.name()).collect();
                    ApiError::bad_request(format!(
                        "unknown privilege '{n}'; the privileges are {}",
                        all.join(", ")
                    ))
                })
        })
        .collect()
}

async fn patch_permissions(
    State(state): State<SharedState>,
    caller: Caller,
    p: Params,
    JsonBody(req): JsonBody<PermissionChanges>,
) -> ApiResult<Response> {
    if req.changes.len() > MAX_CHANGES {
        return Err(ApiError::bad_request(format!(
            "at most {MAX_CHANGES} changes per request"
        )));
    }
    // Validate everything before resolving grantees, and resolve all before writing.
    let mut parsed = Vec::with_capacity(req.changes.len());
    for c in &req.changes {
        let add = privileges(&c.add)?;
        let remove = privileges(&c.remove)?;
        let grantee = match (&c.principal, &c.role) {
            (Some(n), None) => (GranteeKind::Principal, n.clone()),
            (None, Some(n)) => (GranteeKind::Role, n.clone()),
            _ => {
                return Err(ApiError::bad_request(
                    "each change names exactly one of principal and role",
                ));
            }
        };
        parsed.push((grantee, add, remove));
    }
    let r = resolve(&state, &caller, &p, false).await?;
    let mut changes = Vec::with_capacity(parsed.len());
    for ((kind, name), add, remove) in &parsed {
        let grantee_id = match kind {
            GranteeKind::Principal => principal_by_name(&state, name).await?.id,
            GranteeKind::Role => role_by_name(&state, name).await?.id,
        };
        changes.push(GrantChange {
            grantee_kind: *kind,
            grantee_id,
            add: add.clone(),
            remove: remove.clone(),
        });
    }
    let securable = r.securable();
    state
        .service
        .store()
        .change_grants(&r.wh.id, &securable, &changes)
        .await?;
    let detail: Vec<Value> = parsed
        .iter()
        .map(|((kind, name), add, remove)| {
            json!({kind.as_str(): name, "add": add, "remove": remove})
        })
        .collect();
    state
        .access
        .audit(
            &caller,
            "grant",
            &r.target().audit_name(&r.wh),
            json!({"changes": detail}),
        )
        .await;
    let rows = state
        .service
        .store()
        .list_grants(&r.wh.id, &securable)
        .await?;
    Ok(axum::Json(assignments_json(rows)).into_response())
}

fn int_param(q: &QueryMap, name: &str) -> ApiResult<Option<i64>> {
    q.get(name)
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| ApiError::bad_request(format!("{name} must be an integer, got '{v}'")))
        })
        .transpose()
}

async fn list_audit(
    State(state): State<SharedState>,
    caller: Caller,
    q: QueryMap,
) -> ApiResult<Response> {
    state.access.require_root(&caller, "audit").await?;
    let limit = q.page_size()?.unwrap_or(100);
    if limit == 0 {
        return Err(ApiError::bad_request("pageSize must be at least 1"));
    }
    let before_id = match q.get("pageToken") {
        None => None,
        Some(t) => Some(
            t.parse::<i64>()
                .map_err(|_| ApiError::bad_request(format!("invalid pageToken '{t}'")))?,
        ),
    };
    let filter = AuditFilter {
        principal: q.get("principal").map(str::to_string),
        action: q.get("action").map(str::to_string),
        target_prefix: q.get("target").map(str::to_string),
        since_ms: int_param(&q, "since-ms")?,
        until_ms: int_param(&q, "until-ms")?,
        before_id,
        limit: limit.min(MAX_PAGE),
    };
    let page = state.service.store().list_audit(&filter).await?;
    let events: Vec<Value> = page
        .items
        .iter()
        .map(|e| {
            json!({
                "id": e.id,
                "time-ms": e.time_ms,
                "principal": e.principal,
                "request-id": e.request_id,
                "action": e.action,
                "target": e.target,
                "detail": serde_json::from_str::<Value>(&e.detail).unwrap_or(Value::Null),
            })
        })
        .collect();
    Ok(axum::Json(json!({"events": events, "next-page-token": page.next})).into_response())
}

async fn rotate_signing_key(
    State(state): State<SharedState>,
    caller: Caller,
) -> ApiResult<Response> {
    state.access.require_root(&caller, "signing-keys").await?;
    let keys = state.access.keys().ok_or_else(|| {
        ApiError::bad_request("this catalog runs without authentication: it has no signing keys")
    })?;
    let kid = keys.rotate().await.map_err(ApiError::internal)?;
    state
        .access
        .audit(
            &caller,
            "signing-key.rotate",
            "signing-keys",
            json!({"kid": kid}),
        )
        .await;
    Ok(axum::Json(json!({"kid": kid})).into_response())
}
