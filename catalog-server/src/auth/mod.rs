//! Who is calling, and what they may do.
//!
//! - [`AuthMode`]: `none` (every request acts as root; loopback only) or `oauth2`.
//! - [`Caller`]: the authenticated principal of a request (with its roles and request id).
//! - [`Privilege`]: USAGE, SELECT, MODIFY, CREATE, MANAGE, ALL_PRIVILEGES.
//! - [`AccessControl`]: authentication (bearer tokens: the catalog's own or an OIDC
//!   issuer's), the token endpoint's credential check, authorization against grants that
//!   inherit down warehouse → namespace → child namespaces → table, and the audit log.
//! - [`secrets`]: client ids and secrets, argon2id hashes; [`tokens`]: JWT keys and checks.
//!
//! The rules, in short (spec/http-api.md has them in full): to reach anything inside a
//! namespace the caller needs USAGE on its top-level namespace (granted there or on the
//! warehouse; it inherits downwards); to reach a warehouse it needs any grant in it. Then the
//! operation's privilege must be held on the target or on one of its containers. The root
//! principal passes every check.

pub mod secrets;
pub mod tokens;

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::json;

use crate::error::{ApiError, ApiResult};
use crate::store::access::{AuditRecord, PrincipalKey, PrincipalRecord, Securable};
use crate::store::{CatalogStore, StoreError, TableRecord, Warehouse, namespace_key};

pub use tokens::{KeyRing, Oidc, TokenError};

/// The name the root principal has in audit records.
pub const ROOT_NAME: &str = "root";

/// How requests are authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// Every request acts as the root principal (allowed on loopback addresses only).
    #[default]
    None,
    /// OAuth2 bearer tokens from `/v1/oauth/tokens` (or an OIDC issuer).
    Oauth2,
}

/// A privilege on a securable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Privilege {
    /// See the securable and list what is inside.
    Usage,
    /// Load a table, read its data and metadata endpoints.
    Select,
    /// Commit changes to a table; set a namespace's properties.
    Modify,
    /// Create namespaces and tables inside.
    Create,
    /// Drop, rename, register, maintenance, and granting on the securable.
    Manage,
    /// Every privilege.
    AllPrivileges,
}

impl Privilege {
    /// Every privilege, in display order.
    pub const ALL: [Privilege; 6] = [
        Privilege::Usage,
        Privilege::Select,
        Privilege::Modify,
        Privilege::Create,
        Privilege::Manage,
        Privilege::AllPrivileges,
    ];

    /// The API name (`SELECT`, `ALL_PRIVILEGES`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Privilege::Usage => "USAGE",
            Privilege::Select => "SELECT",
            Privilege::Modify => "MODIFY",
            Privilege::Create => "CREATE",
            Privilege::Manage => "MANAGE",
            Privilege::AllPrivileges => "ALL_PRIVILEGES",
        }
    }

    /// Parse an API name (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s))
    }
}

/// A set of privileges held somewhere.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Held(BTreeSet<Privilege>);

impl Held {
    /// Whether `p` is held (directly or through ALL_PRIVILEGES).
    pub fn has(&self, p: Privilege) -> bool {
        self.0.contains(&p) || self.0.contains(&Privilege::AllPrivileges)
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The names, in display order.
    pub fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|p| p.name()).collect()
    }

    fn extend(&mut self, other: &Held) {
        self.0.extend(other.0.iter().copied());
    }
}

/// The principal a request acts as.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Internal id ("root" in `none` mode).
    pub principal_id: String,
    /// Name.
    pub name: String,
    /// Root passes every check.
    pub is_root: bool,
    /// The ids grants may name for this caller: its own and its roles'.
    pub grantees: Vec<String>,
    /// The request id, for the audit log.
    pub request_id: String,
}

impl Caller {
    /// The root caller of `none` mode.
    pub fn root(request_id: String) -> Self {
        Self {
            principal_id: ROOT_NAME.into(),
            name: ROOT_NAME.into(),
            is_root: true,
            grantees: Vec::new(),
            request_id,
        }
    }
}

/// Where in a warehouse a check looks.
#[derive(Debug, Clone)]
pub enum Target<'a> {
    /// The warehouse itself.
    Warehouse,
    /// A namespace.
    Namespace(&'a [String]),
    /// A table; `uuid` is `None` when the table does not exist.
    Table(&'a [String], &'a str, Option<&'a str>),
}

impl<'a> Target<'a> {
    /// The warehouse for the top level (no levels), else the namespace.
    pub fn container(ns: &'a [String]) -> Self {
        if ns.is_empty() {
            Target::Warehouse
        } else {
            Target::Namespace(ns)
        }
    }

    fn describe(&self, wh: &Warehouse) -> String {
        match self {
            Target::Warehouse => format!("warehouse {}", wh.name),
            Target::Namespace(ns) => format!("namespace {}", ns.join(".")),
            Target::Table(ns, t, _) => format!("table {}.{t}", ns.join(".")),
        }
    }

    /// The audit log's name for it: `warehouse[/ns.levels[/table]]`.
    pub fn audit_name(&self, wh: &Warehouse) -> String {
        match self {
            Target::Warehouse => wh.name.clone(),
            Target::Namespace(ns) => format!("{}/{}", wh.name, ns.join(".")),
            Target::Table(ns, t, _) => format!("{}/{}/{t}", wh.name, ns.join(".")),
        }
    }
}

/// Authentication, authorization and audit.
#[derive(Debug)]
pub struct AccessControl {
    store: Arc<dyn CatalogStore>,
    mode: AuthMode,
    keys: Option<KeyRing>,
    oidc: Option<Oidc>,
    token_ttl: chrono::Duration,
}

/// A new principal's row: a fresh internal id, and only the argon2id hash of `secret`.
pub fn new_principal(
    name: &str,
    client_id: &str,
    secret: &str,
    is_root: bool,
) -> Result<PrincipalRecord, String> {
    Ok(PrincipalRecord {
        id: uuid::Uuid::new_v4().to_string(),
        name: name.to_string(),
        client_id: client_id.to_string(),
        secret_hash: secrets::hash_secret(secret)?,
        is_root,
        created_ms: chrono::Utc::now().timestamp_millis(),
    })
}

/// A 401 in the error model.
pub fn unauthorized(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "NotAuthorizedException", message)
}

/// A 403 in the error model.
pub fn forbidden(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "ForbiddenException", message)
}

fn store_err(e: StoreError) -> ApiError {
    ApiError::internal(format!("access store: {e}"))
}

impl AccessControl {
    /// Access control for `mode`. With `oauth2` the signing keys are loaded (the first one
    /// created) and the OIDC issuer's keys read when one is configured.
    pub async fn new(
        store: Arc<dyn CatalogStore>,
        mode: AuthMode,
        token_ttl: chrono::Duration,
        oidc: Option<Oidc>,
    ) -> Result<Self, String> {
        let keys = match mode {
            AuthMode::None => None,
            AuthMode::Oauth2 => Some(KeyRing::open(store.clone()).await?),
        };
        Ok(Self {
            store,
            mode,
            keys,
            oidc,
            token_ttl,
        })
    }

    /// The mode.
    pub fn mode(&self) -> AuthMode {
        self.mode
    }

    /// The lifetime of issued tokens.
    pub fn token_ttl(&self) -> chrono::Duration {
        self.token_ttl
    }

    /// The signing keys (`oauth2` mode only).
    pub fn keys(&self) -> Option<&KeyRing> {
        self.keys.as_ref()
    }

    /// Make sure the root principal exists. With `credentials` (from the environment) its
    /// client id and secret are set to them; without, a missing root is created with
    /// generated ones, which are returned so the caller can print them once.
    pub async fn ensure_root(
        &self,
        credentials: Option<(&str, &str)>,
    ) -> Result<Option<(String, String)>, String> {
        let existing = self
            .store
            .root_principal()
            .await
            .map_err(|e| e.to_string())?;
        match (existing, credentials) {
            (Some(root), Some((id, secret))) => {
                if root.client_id != id || !secrets::verify_secret(secret, &root.secret_hash) {
                    let hash = secrets::hash_secret(secret)?;
                    self.store
                        .set_principal_credentials(&root.id, id, &hash)
                        .await
                        .map_err(|e| e.to_string())?;
                }
                Ok(None)
            }
            (Some(_), None) => Ok(None),
            (None, creds) => {
                let (id, secret, generated) = match creds {
                    Some((i, s)) => (i.to_string(), s.to_string(), false),
                    None => (secrets::new_client_id(), secrets::new_client_secret(), true),
                };
                let record = new_principal(ROOT_NAME, &id, &secret, true)?;
                match self.store.create_principal(&record).await {
                    Ok(()) => Ok(generated.then_some((id, secret))),
                    // Another replica created it at the same moment.
                    Err(StoreError::AlreadyExists(_)) => Ok(None),
                    Err(e) => Err(e.to_string()),
                }
            }
        }
    }

    /// The caller a request's `Authorization` header names.
    pub async fn authenticate(
        &self,
        authorization: Option<&str>,
        request_id: String,
    ) -> ApiResult<Caller> {
        let Some(keys) = &self.keys else {
            return Ok(Caller::root(request_id));
        };
        let header = authorization.ok_or_else(|| {
            unauthorized("this catalog requires a bearer token (see /v1/oauth/tokens)")
        })?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| unauthorized("the Authorization header must be 'Bearer <token>'"))?;
        let claims = keys.verify(token).await;
        let principal = match &claims {
            Ok(claims) => PrincipalKey::Id(&claims.sub),
            Err(TokenError::Expired) => return Err(unauthorized("the token has expired")),
            Err(own) => match &self.oidc {
                Some(oidc) => match oidc.verify(token).await {
                    Ok(name) => return self.caller(PrincipalKey::Name(&name), request_id).await,
                    Err(TokenError::Expired) => {
                        return Err(unauthorized("the token has expired"));
                    }
                    Err(e) => return Err(unauthorized(e.to_string())),
                },
                None => return Err(unauthorized(own.to_string())),
            },
        };
        self.caller(principal, request_id).await
    }

    /// The caller a token names: the principal (which must still exist) and its roles.
    async fn caller(&self, key: PrincipalKey<'_>, request_id: String) -> ApiResult<Caller> {
        let (p, roles) = match self.store.principal_with_roles(key).await {
            Ok(found) => found,
            Err(StoreError::NotFound(_)) => {
                return Err(unauthorized("the token's principal does not exist"));
            }
            Err(e) => return Err(store_err(e)),
        };
        let mut grantees = vec![p.id.clone()];
        grantees.extend(roles);
        Ok(Caller {
            principal_id: p.id,
            name: p.name,
            is_root: p.is_root,
            grantees,
            request_id,
        })
    }

    /// Check client credentials and issue a token (the `client_credentials` grant).
    pub async fn token_for_credentials(
        &self,
        client_id: &str,
        client_secret: &str,
    ) -> Result<String, TokenGrantError> {
        let keys = self.keys.as_ref().ok_or(TokenGrantError::Disabled)?;
        let found = self
            .store
            .get_principal(PrincipalKey::ClientId(client_id))
            .await;
        let principal = match found {
            Ok(p) => p,
            Err(StoreError::NotFound(_)) => {
                // Same work as a wrong secret, so ids cannot be probed by timing.
                let _ = secrets::verify_secret(client_secret, secrets::decoy_hash());
                return Err(TokenGrantError::InvalidClient);
            }
            Err(e) => return Err(TokenGrantError::Internal(e.to_string())),
        };
        let hash = principal.secret_hash.clone();
        let secret = client_secret.to_string();
        let ok = tokio::task::spawn_blocking(move || secrets::verify_secret(&secret, &hash))
            .await
            .unwrap_or(false);
        if !ok {
            return Err(TokenGrantError::InvalidClient);
        }
        keys.issue(&principal.id, &principal.name, self.token_ttl)
            .await
            .map_err(TokenGrantError::Internal)
    }

    /// Exchange a valid catalog token for a fresh one (the token-exchange grant clients use
    /// to refresh).
    pub async fn token_for_exchange(&self, subject_token: &str) -> Result<String, TokenGrantError> {
        let keys = self.keys.as_ref().ok_or(TokenGrantError::Disabled)?;
        let claims = keys
            .verify(subject_token)
            .await
            .map_err(|_| TokenGrantError::InvalidGrant)?;
        let p = self
            .store
            .get_principal(PrincipalKey::Id(&claims.sub))
            .await
            .map_err(|_| TokenGrantError::InvalidGrant)?;
        keys.issue(&p.id, &p.name, self.token_ttl)
            .await
            .map_err(TokenGrantError::Internal)
    }

    /// The privileges `grantees` hold at each level of `target` (warehouse, each namespace
    /// level, the table), cumulative: each level holds what the levels above it hold.
    async fn held_along(
        &self,
        grantees: &[String],
        wh: &Warehouse,
        target: &Target<'_>,
    ) -> ApiResult<Vec<Held>> {
        let mut path = vec![Securable::Warehouse];
        let ns: &[String] = match target {
            Target::Warehouse => &[],
            Target::Namespace(ns) | Target::Table(ns, _, _) => ns,
        };
        for depth in 1..=ns.len() {
            path.push(Securable::Namespace(namespace_key(&ns[..depth])));
        }
        if let Target::Table(_, _, Some(uuid)) = target {
            path.push(Securable::Table((*uuid).to_string()));
        }
        let rows = self
            .store
            .grants_on(grantees, &wh.id, &path)
            .await
            .map_err(store_err)?;
        let mut levels: Vec<Held> = Vec::with_capacity(path.len());
        let mut acc = Held::default();
        for s in &path {
            let mut here = Held::default();
            for (on, p) in &rows {
                if on == s
                    && let Some(p) = Privilege::parse(p)
                {
                    here.0.insert(p);
                }
            }
            acc.extend(&here);
            levels.push(acc.clone());
        }
        // A table that does not exist holds what its namespace holds.
        if matches!(target, Target::Table(_, _, None)) {
            levels.push(acc);
        }
        Ok(levels)
    }

    /// What `grantees` hold on `target`, inherited grants included.
    pub async fn effective(
        &self,
        grantees: &[String],
        wh: &Warehouse,
        target: &Target<'_>,
    ) -> ApiResult<Held> {
        let levels = self.held_along(grantees, wh, target).await?;
        Ok(levels.last().cloned().unwrap_or_default())
    }

    /// Whether the caller may reach the warehouse at all: it holds a grant somewhere in it.
    pub async fn can_reach_warehouse(&self, caller: &Caller, wh: &Warehouse) -> ApiResult<bool> {
        Ok(self
            .reachable_warehouses(caller)
            .await?
            .is_none_or(|ids| ids.contains(&wh.id)))
    }

    /// The ids of the warehouses the caller may reach, in one query; `None` means all (root).
    pub async fn reachable_warehouses(
        &self,
        caller: &Caller,
    ) -> ApiResult<Option<std::collections::HashSet<String>>> {
        if caller.is_root {
            return Ok(None);
        }
        let ids = self
            .store
            .warehouses_with_grants(&caller.grantees)
            .await
            .map_err(store_err)?;
        Ok(Some(ids.into_iter().collect()))
    }

    /// Require `privilege` on `target` (and the way there), recording a denial.
    pub async fn require(
        &self,
        caller: &Caller,
        wh: &Warehouse,
        target: Target<'_>,
        privilege: Privilege,
    ) -> ApiResult<()> {
        if caller.is_root {
            return Ok(());
        }
        let levels = self.held_along(&caller.grantees, wh, &target).await?;
        let reach = match target {
            Target::Warehouse => {
                !levels.iter().all(Held::is_empty) || {
                    self.can_reach_warehouse(caller, wh).await?
                }
            }
            // USAGE on the top-level namespace (or the warehouse) opens the way down.
            _ => levels.get(1).is_some_and(|h| h.has(Privilege::Usage)),
        };
        let holds = levels.last().is_some_and(|h| h.has(privilege));
        if reach && holds {
            return Ok(());
        }
        let what = target.describe(wh);
        let message = if reach {
            format!(
                "principal '{}' lacks {} on {what}",
                caller.name,
                privilege.name()
            )
        } else {
            format!(
                "principal '{}' lacks USAGE on the way to {what}",
                caller.name
            )
        };
        self.audit(
            caller,
            "deny",
            &target.audit_name(wh),
            json!({"privilege": privilege.name(), "message": message}),
        )
        .await;
        Err(forbidden(message))
    }

    /// Require `privilege` on a table, looking up its uuid (so its own grants count); a
    /// missing table is checked against its namespace's grants.
    pub async fn require_table(
        &self,
        caller: &Caller,
        wh: &Warehouse,
        namespace: &[String],
        name: &str,
        privilege: Privilege,
    ) -> ApiResult<()> {
        self.require_table_record(caller, wh, namespace, name, privilege)
            .await
            .map(|_| ())
    }

    /// [`require_table`](Self::require_table), also returning the table's row when the check
    /// read it (not for root, nor for a missing table), so the operation need not read it
    /// again.
    pub async fn require_table_record(
        &self,
        caller: &Caller,
        wh: &Warehouse,
        namespace: &[String],
        name: &str,
        privilege: Privilege,
    ) -> ApiResult<Option<TableRecord>> {
        if caller.is_root {
            return Ok(None);
        }
        let rec = match self.store.get_table(wh, namespace, name).await {
            Ok(r) => Some(r),
            Err(StoreError::NotFound(_) | StoreError::NamespaceNotFound(_)) => None,
            Err(e) => return Err(store_err(e)),
        };
        let uuid = rec.as_ref().map(|r| r.table_uuid.as_str());
        self.require(caller, wh, Target::Table(namespace, name, uuid), privilege)
            .await?;
        Ok(rec)
    }

    /// Require that the caller may reach the warehouse (it holds a grant in it).
    pub async fn require_reach(&self, caller: &Caller, wh: &Warehouse) -> ApiResult<()> {
        if self.can_reach_warehouse(caller, wh).await? {
            return Ok(());
        }
        let message = format!(
            "principal '{}' holds no privilege in warehouse {}",
            caller.name, wh.name
        );
        self.audit(caller, "deny", &wh.name, json!({"message": message}))
            .await;
        Err(forbidden(message))
    }

    /// Remove the grants on a securable that was dropped (logged on failure: a leftover
    /// grant names an id no new object reuses, except a namespace recreated by name).
    pub async fn forget(&self, wh: &Warehouse, on: Securable) {
        if let Err(e) = self.store.delete_grants_on(&wh.id, &on).await {
            tracing::warn!("cannot remove the grants of a dropped object: {e}");
        }
    }

    /// Remove every grant inside a deleted warehouse.
    pub async fn forget_warehouse(&self, wh: &Warehouse) {
        if let Err(e) = self.store.delete_warehouse_grants(&wh.id).await {
            tracing::warn!("cannot remove the grants of a deleted warehouse: {e}");
        }
    }

    /// Require the root principal (principals, roles, warehouses, audit).
    pub async fn require_root(&self, caller: &Caller, target: &str) -> ApiResult<()> {
        if caller.is_root {
            return Ok(());
        }
        let message = format!("principal '{}' is not the root principal", caller.name);
        self.audit(caller, "deny", target, json!({"message": message}))
            .await;
        Err(forbidden(message))
    }

    /// Of the namespaces `names` (children of the same parent), those the caller may see:
    /// all when it holds something on the parent, otherwise those it holds a grant on.
    pub async fn visible_namespaces(
        &self,
        caller: &Caller,
        wh: &Warehouse,
        parent: &[String],
        names: Vec<Vec<String>>,
    ) -> ApiResult<Vec<Vec<String>>> {
        if caller.is_root {
            return Ok(names);
        }
        let parent_held = self
            .effective(&caller.grantees, wh, &Target::container(parent))
            .await?;
        if parent_held.has(Privilege::Usage) {
            return Ok(names);
        }
        let keys: Vec<Securable> = names
            .iter()
            .map(|n| Securable::Namespace(namespace_key(n)))
            .collect();
        let rows = self
            .store
            .grants_on(&caller.grantees, &wh.id, &keys)
            .await
            .map_err(store_err)?;
        Ok(names
            .into_iter()
            .filter(|n| {
                let key = Securable::Namespace(namespace_key(n));
                rows.iter().any(|(s, _)| *s == key)
            })
            .collect())
    }

    /// Record an audit event (failures are logged, never returned: the operation it records
    /// has happened or been refused already).
    pub async fn audit(
        &self,
        caller: &Caller,
        action: &str,
        target: &str,
        detail: serde_json::Value,
    ) {
        let record = AuditRecord {
            id: 0,
            time_ms: chrono::Utc::now().timestamp_millis(),
            principal: caller.name.clone(),
            request_id: caller.request_id.clone(),
            action: action.to_string(),
            target: target.to_string(),
            detail: detail.to_string(),
        };
        if let Err(e) = self.store.insert_audit(&record).await {
            tracing::warn!(action, target, "cannot write an audit record: {e}");
        }
    }
}

/// Why the token endpoint refused (OAuth2 error codes).
#[derive(Debug, thiserror::Error)]
pub enum TokenGrantError {
    /// The server runs without authentication.
    #[error("this catalog runs without authentication (--auth none): no token is needed")]
    Disabled,
    /// Unknown client or wrong secret.
    #[error("unknown client or wrong secret")]
    InvalidClient,
    /// The subject token of an exchange is not valid.
    #[error("the subject token is not valid")]
    InvalidGrant,
    /// Something failed on the server.
    #[error("{0}")]
    Internal(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn privileges_parse_and_all_implies_every_one() {
        assert_eq!(Privilege::parse("select"), Some(Privilege::Select));
        assert_eq!(
            Privilege::parse("ALL_PRIVILEGES"),
            Some(Privilege::AllPrivileges)
        );
        assert_eq!(Privilege::parse("DROP"), None);
        let mut all = Held::default();
        all.0.insert(Privilege::AllPrivileges);
        assert!(Privilege::ALL.iter().all(|p| all.has(*p)));
        let mut select = Held::default();
        select.0.insert(Privilege::Select);
        assert!(select.has(Privilege::Select) && !select.has(Privilege::Modify));
    }
}
