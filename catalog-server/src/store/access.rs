//! The access-control part of the catalog's state: principals, roles, grants, token signing
//! keys and the audit log.
//!
//! - Records: [`PrincipalRecord`], [`RoleRecord`], [`Securable`], [`GrantRow`],
//!   [`GrantChange`], [`SigningKey`], [`AuditRecord`], [`AuditFilter`].
//! - [`AccessStore`]: the reads and writes, a supertrait of [`super::CatalogStore`].
//! - [`impl_access_store!`]: one implementation for both backends. These tables use only
//!   text and integer columns and portable SQL (`$n` parameters work on SQLite too), so
//!   the same statements serve SQLite and PostgreSQL and cannot drift apart.

use async_trait::async_trait;

use super::{Page, StoreResult};

/// A principal's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalRecord {
    /// Internal id (a UUID string).
    pub id: String,
    /// Unique name, what grants and the API use.
    pub name: String,
    /// The OAuth2 client id.
    pub client_id: String,
    /// argon2 PHC hash of the client secret.
    pub secret_hash: String,
    /// The root principal bypasses every check.
    pub is_root: bool,
    /// Creation time, Unix milliseconds.
    pub created_ms: i64,
}

/// How to find a principal.
#[derive(Debug, Clone, Copy)]
pub enum PrincipalKey<'a> {
    /// By internal id.
    Id(&'a str),
    /// By name.
    Name(&'a str),
    /// By OAuth2 client id.
    ClientId(&'a str),
}

impl<'a> PrincipalKey<'a> {
    /// The `principals` column it matches, and the value (the column name is a constant, so
    /// it is safe to format into SQL).
    pub fn column(self) -> (&'static str, &'a str) {
        match self {
            PrincipalKey::Id(v) => ("id", v),
            PrincipalKey::Name(v) => ("name", v),
            PrincipalKey::ClientId(v) => ("client_id", v),
        }
    }
}

/// A role's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleRecord {
    /// Internal id (a UUID string).
    pub id: String,
    /// Unique name.
    pub name: String,
}

/// What a grant is on, inside one warehouse.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Securable {
    /// The warehouse itself.
    Warehouse,
    /// A namespace, by its stored name (levels joined by U+001F).
    Namespace(String),
    /// A table, by its table uuid (stable across renames).
    Table(String),
}

impl Securable {
    /// The stored kind and key.
    pub fn parts(&self) -> (&'static str, &str) {
        match self {
            Securable::Warehouse => ("warehouse", ""),
            Securable::Namespace(k) => ("namespace", k),
            Securable::Table(k) => ("table", k),
        }
    }

    /// The securable a stored kind and key name (`None` for an unknown kind).
    pub(crate) fn from_parts(kind: &str, key: String) -> Option<Self> {
        match kind {
            "warehouse" => Some(Securable::Warehouse),
            "namespace" => Some(Securable::Namespace(key)),
            "table" => Some(Securable::Table(key)),
            _ => None,
        }
    }
}

/// Whether a grantee is a principal or a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GranteeKind {
    /// A principal.
    Principal,
    /// A role.
    Role,
}

impl GranteeKind {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            GranteeKind::Principal => "principal",
            GranteeKind::Role => "role",
        }
    }
}

/// A direct grant on one securable, with the grantee's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRow {
    /// Principal or role.
    pub grantee_kind: GranteeKind,
    /// The grantee's name.
    pub grantee_name: String,
    /// The privilege's name (`SELECT`, ...).
    pub privilege: String,
}

/// Privileges to add to and remove from one grantee on one securable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantChange {
    /// Principal or role.
    pub grantee_kind: GranteeKind,
    /// The grantee's internal id.
    pub grantee_id: String,
    /// Privileges to add.
    pub add: Vec<String>,
    /// Privileges to remove.
    pub remove: Vec<String>,
}

/// A token signing key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKey {
    /// Key id (the JWT `kid`).
    pub kid: String,
    /// The HMAC secret, hex.
    pub secret: String,
    /// Creation time, Unix milliseconds.
    pub created_ms: i64,
    /// When it stopped signing, if it has.
    pub retired_ms: Option<i64>,
}

/// One audit event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Position in the log (assigned by the store; ignored on insert).
    pub id: i64,
    /// When, Unix milliseconds.
    pub time_ms: i64,
    /// The acting principal's name.
    pub principal: String,
    /// The request id (`x-request-id`).
    pub request_id: String,
    /// What happened: `deny`, `commit`, `grant`, `principal.create`, ...
    pub action: String,
    /// What it happened to (`warehouse/ns.sub/table`, a principal's name, ...).
    pub target: String,
    /// Details, a JSON object.
    pub detail: String,
}

/// Which audit events to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this principal's events.
    pub principal: Option<String>,
    /// Only this action.
    pub action: Option<String>,
    /// Only targets starting with this.
    pub target_prefix: Option<String>,
    /// Only events at or after this time (Unix ms).
    pub since_ms: Option<i64>,
    /// Only events before this time (Unix ms).
    pub until_ms: Option<i64>,
    /// Continue after this event id (newest first: ids below it).
    pub before_id: Option<i64>,
    /// Page size.
    pub limit: usize,
}

/// The access-control reads and writes.
#[async_trait]
pub trait AccessStore: Send + Sync {
    /// Create a principal; `AlreadyExists` when the name or client id is taken.
    async fn create_principal(&self, p: &PrincipalRecord) -> StoreResult<()>;
    /// Set a principal's client id and secret hash (rotation; root from the environment).
    async fn set_principal_credentials(
        &self,
        id: &str,
        client_id: &str,
        secret_hash: &str,
    ) -> StoreResult<()>;
    /// One principal.
    async fn get_principal(&self, key: PrincipalKey<'_>) -> StoreResult<PrincipalRecord>;
    /// A principal with the ids of its roles, in one round trip (every authenticated
    /// request asks this).
    async fn principal_with_roles(
        &self,
        key: PrincipalKey<'_>,
    ) -> StoreResult<(PrincipalRecord, Vec<String>)>;
    /// The root principal, if one was created.
    async fn root_principal(&self) -> StoreResult<Option<PrincipalRecord>>;
    /// Principals by name, after `after`.
    async fn list_principals(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<PrincipalRecord>>;
    /// Delete a principal with its grants and memberships.
    async fn delete_principal(&self, id: &str) -> StoreResult<()>;

    /// Create a role; `AlreadyExists` when the name is taken.
    async fn create_role(&self, r: &RoleRecord) -> StoreResult<()>;
    /// One role by name.
    async fn get_role(&self, name: &str) -> StoreResult<RoleRecord>;
    /// Roles by name, after `after`.
    async fn list_roles(&self, after: Option<&str>, limit: usize) -> StoreResult<Page<RoleRecord>>;
    /// Delete a role with its grants and memberships.
    async fn delete_role(&self, id: &str) -> StoreResult<()>;
    /// Add a member (idempotent).
    async fn add_role_member(&self, role_id: &str, principal_id: &str) -> StoreResult<()>;
    /// Remove a member; `NotFound` when it was not one.
    async fn remove_role_member(&self, role_id: &str, principal_id: &str) -> StoreResult<()>;
    /// The names of a role's members.
    async fn role_members(&self, role_id: &str) -> StoreResult<Vec<String>>;
    /// The roles a principal belongs to.
    async fn roles_of(&self, principal_id: &str) -> StoreResult<Vec<RoleRecord>>;

    /// The direct grants on one securable.
    async fn list_grants(&self, warehouse_id: &str, on: &Securable) -> StoreResult<Vec<GrantRow>>;
    /// Apply grant changes on one securable atomically (adds, then removes).
    async fn change_grants(
        &self,
        warehouse_id: &str,
        on: &Securable,
        changes: &[GrantChange],
    ) -> StoreResult<()>;
    /// The privileges `grantees` hold directly on each of `on`.
    async fn grants_on(
        &self,
        grantees: &[String],
        warehouse_id: &str,
        on: &[Securable],
    ) -> StoreResult<Vec<(Securable, String)>>;
    /// The ids of warehouses in which `grantees` hold any grant.
    async fn warehouses_with_grants(&self, grantees: &[String]) -> StoreResult<Vec<String>>;
    /// Remove every grant on a securable (when it is dropped).
    async fn delete_grants_on(&self, warehouse_id: &str, on: &Securable) -> StoreResult<()>;
    /// Remove every grant inside a warehouse (when it is deleted).
    async fn delete_warehouse_grants(&self, warehouse_id: &str) -> StoreResult<()>;

    /// All signing keys, newest first.
    async fn signing_keys(&self) -> StoreResult<Vec<SigningKey>>;
    /// Add a signing key and retire every other unretired key at `now_ms`.
    async fn rotate_signing_key(&self, key: &SigningKey, now_ms: i64) -> StoreResult<()>;
    /// Add the first signing key unless one exists (replicas starting together).
    async fn insert_first_signing_key(&self, key: &SigningKey) -> StoreResult<()>;

    /// Append an audit event.
    async fn insert_audit(&self, e: &AuditRecord) -> StoreResult<()>;
    /// Audit events, newest first.
    async fn list_audit(&self, f: &AuditFilter) -> StoreResult<Page<AuditRecord>>;
}

/// `$start, $start+1, ...` for `n` bind parameters.
pub(crate) fn placeholders(start: usize, n: usize) -> String {
    (start..start + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Implement [`AccessStore`] for a store type with a `pool` field of an sqlx pool, with the
/// statements both backends share.
macro_rules! impl_access_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::access::AccessStore for $store {
            async fn create_principal(
                &self,
                p: &$crate::store::access::PrincipalRecord,
            ) -> $crate::store::StoreResult<()> {
                let r = sqlx::query(
                    "INSERT INTO principals (id, name, client_id, secret_hash, is_root, created_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&p.id)
                .bind(&p.name)
                .bind(&p.client_id)
                .bind(&p.secret_hash)
                .bind(p.is_root)
                .bind(p.created_ms)
                .execute(&self.pool)
                .await;
                match r {
                    Ok(_) => Ok(()),
                    Err(e) if is_unique_violation(&e) => Err($crate::store::StoreError::AlreadyExists(
                        format!("principal '{}' already exists", p.name),
                    )),
                    Err(e) => Err(db(e)),
                }
            }

            async fn set_principal_credentials(
                &self,
                id: &str,
                client_id: &str,
                secret_hash: &str,
            ) -> $crate::store::StoreResult<()> {
                let r = sqlx::query(
                    "UPDATE principals SET client_id = $1, secret_hash = $2 WHERE id = $3",
                )
                .bind(client_id)
                .bind(secret_hash)
                .bind(id)
                .execute(&self.pool)
                .await;
                match r {
                    Ok(done) if done.rows_affected() == 0 => Err(
                        $crate::store::StoreError::NotFound("the principal does not exist".into()),
                    ),
                    Ok(_) => Ok(()),
                    Err(e) if is_unique_violation(&e) => Err($crate::store::StoreError::AlreadyExists(
                        format!("client id '{client_id}' is taken"),
                    )),
                    Err(e) => Err(db(e)),
                }
            }

            async fn get_principal(
                &self,
                key: $crate::store::access::PrincipalKey<'_>,
            ) -> $crate::store::StoreResult<$crate::store::access::PrincipalRecord> {
                let (column, value) = key.column();
                let sql = format!(
                    "SELECT id, name, client_id, secret_hash, is_root, created_ms FROM principals \
                     WHERE {column} = $1"
                );
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(value)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db)?;
                match row {
                    Some(row) => principal_from_row(&row),
                    None => Err($crate::store::StoreError::NotFound(
                        "no such principal".into(),
                    )),
                }
            }

            async fn principal_with_roles(
                &self,
                key: $crate::store::access::PrincipalKey<'_>,
            ) -> $crate::store::StoreResult<($crate::store::access::PrincipalRecord, Vec<String>)>
            {
                let (column, value) = key.column();
                let sql = format!(
                    "SELECT p.id, p.name, p.client_id, p.secret_hash, p.is_root, p.created_ms, \
                     m.role_id FROM principals p LEFT JOIN role_members m ON m.principal_id = p.id \
                     WHERE p.{column} = $1"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(value)
                .fetch_all(&self.pool)
                .await
                .map_err(db)?;
                let Some(first) = rows.first() else {
                    return Err($crate::store::StoreError::NotFound(
                        "no such principal".into(),
                    ));
                };
                let principal = principal_from_row(first)?;
                let mut roles = Vec::new();
                for row in &rows {
                    let role: Option<String> = row.try_get("role_id").map_err(db)?;
                    roles.extend(role);
                }
                Ok((principal, roles))
            }

            async fn root_principal(
                &self,
            ) -> $crate::store::StoreResult<Option<$crate::store::access::PrincipalRecord>> {
                let row = sqlx::query(
                    "SELECT id, name, client_id, secret_hash, is_root, created_ms FROM principals \
                     WHERE is_root = TRUE ORDER BY created_ms LIMIT 1",
                )
                .fetch_optional(&self.pool)
                .await
                .map_err(db)?;
                row.as_ref().map(principal_from_row).transpose()
            }

            async fn list_principals(
                &self,
                after: Option<&str>,
                limit: usize,
            ) -> $crate::store::StoreResult<$crate::store::Page<$crate::store::access::PrincipalRecord>>
            {
                let rows = sqlx::query(
                    "SELECT id, name, client_id, secret_hash, is_root, created_ms FROM principals \
                     WHERE name > $1 ORDER BY name LIMIT $2",
                )
                .bind(after.unwrap_or(""))
                .bind(limit as i64 + 1)
                .fetch_all(&self.pool)
                .await
                .map_err(db)?;
                let items = rows
                    .iter()
                    .map(principal_from_row)
                    .collect::<$crate::store::StoreResult<Vec<_>>>()?;
                Ok($crate::store::Page::from_overfetched_by(items, limit, |p| p.name.clone()))
            }

            async fn delete_principal(&self, id: &str) -> $crate::store::StoreResult<()> {
                let mut tx = self.pool.begin().await.map_err(db)?;
                sqlx::query("DELETE FROM grants WHERE grantee_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                sqlx::query("DELETE FROM role_members WHERE principal_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                let done = sqlx::query("DELETE FROM principals WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                if done.rows_affected() == 0 {
                    return Err($crate::store::StoreError::NotFound(
                        "the principal does not exist".into(),
                    ));
                }
                tx.commit().await.map_err(db)
            }

            async fn create_role(
                &self,
                r: &$crate::store::access::RoleRecord,
            ) -> $crate::store::StoreResult<()> {
                let res = sqlx::query("INSERT INTO roles (id, name, created_ms) VALUES ($1, $2, $3)")
                    .bind(&r.id)
                    .bind(&r.name)
                    .bind(now_ms())
                    .execute(&self.pool)
                    .await;
                match res {
                    Ok(_) => Ok(()),
                    Err(e) if is_unique_violation(&e) => Err($crate::store::StoreError::AlreadyExists(
                        format!("role '{}' already exists", r.name),
                    )),
                    Err(e) => Err(db(e)),
                }
            }

            async fn get_role(
                &self,
                name: &str,
            ) -> $crate::store::StoreResult<$crate::store::access::RoleRecord> {
                let row = sqlx::query("SELECT id, name FROM roles WHERE name = $1")
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db)?;
                match row {
                    Some(row) => role_from_row(&row),
                    None => Err($crate::store::StoreError::NotFound(format!(
                        "role '{name}' does not exist"
                    ))),
                }
            }

            async fn list_roles(
                &self,
                after: Option<&str>,
                limit: usize,
            ) -> $crate::store::StoreResult<$crate::store::Page<$crate::store::access::RoleRecord>> {
                let rows = sqlx::query(
                    "SELECT id, name FROM roles WHERE name > $1 ORDER BY name LIMIT $2",
                )
                .bind(after.unwrap_or(""))
                .bind(limit as i64 + 1)
                .fetch_all(&self.pool)
                .await
                .map_err(db)?;
                let items = rows
                    .iter()
                    .map(role_from_row)
                    .collect::<$crate::store::StoreResult<Vec<_>>>()?;
                Ok($crate::store::Page::from_overfetched_by(items, limit, |r| r.name.clone()))
            }

            async fn delete_role(&self, id: &str) -> $crate::store::StoreResult<()> {
                let mut tx = self.pool.begin().await.map_err(db)?;
                sqlx::query("DELETE FROM grants WHERE grantee_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                sqlx::query("DELETE FROM role_members WHERE role_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                sqlx::query("DELETE FROM roles WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                tx.commit().await.map_err(db)
            }

            async fn add_role_member(
                &self,
                role_id: &str,
                principal_id: &str,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query(
                    "INSERT INTO role_members (role_id, principal_id) VALUES ($1, $2) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(role_id)
                .bind(principal_id)
                .execute(&self.pool)
                .await
                .map_err(db)?;
                Ok(())
            }

            async fn remove_role_member(
                &self,
                role_id: &str,
                principal_id: &str,
            ) -> $crate::store::StoreResult<()> {
                let done =
                    sqlx::query("DELETE FROM role_members WHERE role_id = $1 AND principal_id = $2")
                        .bind(role_id)
                        .bind(principal_id)
                        .execute(&self.pool)
                        .await
                        .map_err(db)?;
                if done.rows_affected() == 0 {
                    return Err($crate::store::StoreError::NotFound(
                        "the principal is not a member of the role".into(),
                    ));
                }
                Ok(())
            }

            async fn role_members(&self, role_id: &str) -> $crate::store::StoreResult<Vec<String>> {
                let rows = sqlx::query(
                    "SELECT p.name FROM role_members m JOIN principals p ON p.id = m.principal_id \
                     WHERE m.role_id = $1 ORDER BY p.name",
                )
                .bind(role_id)
                .fetch_all(&self.pool)
                .await
                .map_err(db)?;
                rows.iter().map(|r| r.try_get("name").map_err(db)).collect()
            }

            async fn roles_of(
                &self,
                principal_id: &str,
            ) -> $crate::store::StoreResult<Vec<$crate::store::access::RoleRecord>> {
                let rows = sqlx::query(
                    "SELECT r.id, r.name FROM role_members m JOIN roles r ON r.id = m.role_id \
                     WHERE m.principal_id = $1 ORDER BY r.name",
                )
                .bind(principal_id)
                .fetch_all(&self.pool)
                .await
                .map_err(db)?;
                rows.iter().map(role_from_row).collect()
            }

            async fn list_grants(
                &self,
                warehouse_id: &str,
                on: &$crate::store::access::Securable,
            ) -> $crate::store::StoreResult<Vec<$crate::store::access::GrantRow>> {
                use $crate::store::access::GranteeKind;
                let (kind, key) = on.parts();
                let rows = sqlx::query(
                    "SELECT g.grantee_kind, COALESCE(p.name, r.name) AS grantee_name, g.privilege \
                     FROM grants g \
                     LEFT JOIN principals p ON g.grantee_kind = 'principal' AND p.id = g.grantee_id \
                     LEFT JOIN roles r ON g.grantee_kind = 'role' AND r.id = g.grantee_id \
                     WHERE g.warehouse_id = $1 AND g.securable_kind = $2 AND g.securable_key = $3 \
                     ORDER BY g.grantee_kind, grantee_name, g.privilege",
                )
                .bind(warehouse_id)
                .bind(kind)
                .bind(key)
                .fetch_all(&self.pool)
                .await
                .map_err(db)?;
                let mut out = Vec::with_capacity(rows.len());
                for row in &rows {
                    let kind: String = row.try_get("grantee_kind").map_err(db)?;
                    let name: Option<String> = row.try_get("grantee_name").map_err(db)?;
                    let Some(name) = name else { continue };
                    out.push($crate::store::access::GrantRow {
                        grantee_kind: if kind == "role" {
                            GranteeKind::Role
                        } else {
                            GranteeKind::Principal
                        },
                        grantee_name: name,
                        privilege: row.try_get("privilege").map_err(db)?,
                    });
                }
                Ok(out)
            }

            async fn change_grants(
                &self,
                warehouse_id: &str,
                on: &$crate::store::access::Securable,
                changes: &[$crate::store::access::GrantChange],
            ) -> $crate::store::StoreResult<()> {
                let (kind, key) = on.parts();
                let mut tx = self.pool.begin().await.map_err(db)?;
                for c in changes {
                    for privilege in &c.add {
                        sqlx::query(
                            "INSERT INTO grants (warehouse_id, securable_kind, securable_key, \
                             grantee_kind, grantee_id, privilege) VALUES ($1, $2, $3, $4, $5, $6) \
                             ON CONFLICT DO NOTHING",
                        )
                        .bind(warehouse_id)
                        .bind(kind)
                        .bind(key)
                        .bind(c.grantee_kind.as_str())
                        .bind(&c.grantee_id)
                        .bind(privilege)
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                    }
                    for privilege in &c.remove {
                        sqlx::query(
                            "DELETE FROM grants WHERE warehouse_id = $1 AND securable_kind = $2 \
                             AND securable_key = $3 AND grantee_id = $4 AND privilege = $5",
                        )
                        .bind(warehouse_id)
                        .bind(kind)
                        .bind(key)
                        .bind(&c.grantee_id)
                        .bind(privilege)
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                    }
                }
                tx.commit().await.map_err(db)
            }

            async fn grants_on(
                &self,
                grantees: &[String],
                warehouse_id: &str,
                on: &[$crate::store::access::Securable],
            ) -> $crate::store::StoreResult<Vec<($crate::store::access::Securable, String)>> {
                if grantees.is_empty() || on.is_empty() {
                    return Ok(Vec::new());
                }
                let keys: Vec<&str> = on.iter().map(|s| s.parts().1).collect();
                let sql = format!(
                    "SELECT securable_kind, securable_key, privilege FROM grants \
                     WHERE warehouse_id = $1 AND grantee_id IN ({}) AND securable_key IN ({})",
                    $crate::store::access::placeholders(2, grantees.len()),
                    $crate::store::access::placeholders(2 + grantees.len(), keys.len()),
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(warehouse_id);
                for g in grantees {
                    q = q.bind(g);
                }
                for k in &keys {
                    q = q.bind(*k);
                }
                let rows = q.fetch_all(&self.pool).await.map_err(db)?;
                let mut out = Vec::with_capacity(rows.len());
                for row in &rows {
                    let kind: String = row.try_get("securable_kind").map_err(db)?;
                    let key: String = row.try_get("securable_key").map_err(db)?;
                    let Some(s) = $crate::store::access::Securable::from_parts(&kind, key) else {
                        continue;
                    };
                    if on.contains(&s) {
                        out.push((s, row.try_get("privilege").map_err(db)?));
                    }
                }
                Ok(out)
            }

            async fn warehouses_with_grants(
                &self,
                grantees: &[String],
            ) -> $crate::store::StoreResult<Vec<String>> {
                if grantees.is_empty() {
                    return Ok(Vec::new());
                }
                let sql = format!(
                    "SELECT DISTINCT warehouse_id FROM grants WHERE grantee_id IN ({})",
                    $crate::store::access::placeholders(1, grantees.len())
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for g in grantees {
                    q = q.bind(g);
                }
                let rows = q.fetch_all(&self.pool).await.map_err(db)?;
                rows.iter().map(|r| r.try_get("warehouse_id").map_err(db)).collect()
            }

            async fn delete_grants_on(
                &self,
                warehouse_id: &str,
                on: &$crate::store::access::Securable,
            ) -> $crate::store::StoreResult<()> {
                let (kind, key) = on.parts();
                sqlx::query(
                    "DELETE FROM grants WHERE warehouse_id = $1 AND securable_kind = $2 \
                     AND securable_key = $3",
                )
                .bind(warehouse_id)
                .bind(kind)
                .bind(key)
                .execute(&self.pool)
                .await
                .map_err(db)?;
                Ok(())
            }

            async fn delete_warehouse_grants(
                &self,
                warehouse_id: &str,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query("DELETE FROM grants WHERE warehouse_id = $1")
                    .bind(warehouse_id)
                    .execute(&self.pool)
                    .await
                    .map_err(db)?;
                Ok(())
            }

            async fn signing_keys(
                &self,
            ) -> $crate::store::StoreResult<Vec<$crate::store::access::SigningKey>> {
                let rows = sqlx::query(
                    "SELECT kid, secret, created_ms, retired_ms FROM signing_keys \
                     ORDER BY created_ms DESC, kid",
                )
                .fetch_all(&self.pool)
                .await
                .map_err(db)?;
                let mut out = Vec::with_capacity(rows.len());
                for row in &rows {
                    out.push($crate::store::access::SigningKey {
                        kid: row.try_get("kid").map_err(db)?,
                        secret: row.try_get("secret").map_err(db)?,
                        created_ms: row.try_get("created_ms").map_err(db)?,
                        retired_ms: row.try_get("retired_ms").map_err(db)?,
                    });
                }
                Ok(out)
            }

            async fn rotate_signing_key(
                &self,
                key: &$crate::store::access::SigningKey,
                now_ms: i64,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.pool.begin().await.map_err(db)?;
                sqlx::query("UPDATE signing_keys SET retired_ms = $1 WHERE retired_ms IS NULL")
                    .bind(now_ms)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                sqlx::query(
                    "INSERT INTO signing_keys (kid, secret, created_ms, retired_ms) \
                     VALUES ($1, $2, $3, NULL)",
                )
                .bind(&key.kid)
                .bind(&key.secret)
                .bind(key.created_ms)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
                tx.commit().await.map_err(db)
            }

            async fn insert_first_signing_key(
                &self,
                key: &$crate::store::access::SigningKey,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query(
                    "INSERT INTO signing_keys (kid, secret, created_ms, retired_ms) \
                     SELECT $1, $2, $3, NULL WHERE NOT EXISTS (SELECT 1 FROM signing_keys)",
                )
                .bind(&key.kid)
                .bind(&key.secret)
                .bind(key.created_ms)
                .execute(&self.pool)
                .await
                .map_err(db)?;
                Ok(())
            }

            async fn insert_audit(
                &self,
                e: &$crate::store::access::AuditRecord,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query(
                    "INSERT INTO audit_log (time_ms, principal, request_id, action, target, detail) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(e.time_ms)
                .bind(&e.principal)
                .bind(&e.request_id)
                .bind(&e.action)
                .bind(&e.target)
                .bind(&e.detail)
                .execute(&self.pool)
                .await
                .map_err(db)?;
                Ok(())
            }

            async fn list_audit(
                &self,
                f: &$crate::store::access::AuditFilter,
            ) -> $crate::store::StoreResult<$crate::store::Page<$crate::store::access::AuditRecord>>
            {
                let rows = sqlx::query(
                    "SELECT id, time_ms, principal, request_id, action, target, detail FROM audit_log \
                     WHERE ($1 IS NULL OR principal = $1) AND ($2 IS NULL OR action = $2) \
                     AND ($3 IS NULL OR substr(target, 1, length($3)) = $3) \
                     AND ($4 IS NULL OR time_ms >= $4) AND ($5 IS NULL OR time_ms < $5) \
                     AND ($6 IS NULL OR id < $6) ORDER BY id DESC LIMIT $7",
                )
                .bind(f.principal.as_deref())
                .bind(f.action.as_deref())
                .bind(f.target_prefix.as_deref())
                .bind(f.since_ms)
                .bind(f.until_ms)
                .bind(f.before_id)
                .bind(f.limit as i64 + 1)
                .fetch_all(&self.pool)
                .await
                .map_err(db)?;
                let mut items = Vec::with_capacity(rows.len());
                for row in &rows {
                    items.push($crate::store::access::AuditRecord {
                        id: row.try_get("id").map_err(db)?,
                        time_ms: row.try_get("time_ms").map_err(db)?,
                        principal: row.try_get("principal").map_err(db)?,
                        request_id: row.try_get("request_id").map_err(db)?,
                        action: row.try_get("action").map_err(db)?,
                        target: row.try_get("target").map_err(db)?,
                        detail: row.try_get("detail").map_err(db)?,
                    });
                }
                Ok($crate::store::Page::from_overfetched_by(items, f.limit, |e| e.id.to_string()))
            }
        }

        fn role_from_row<R: sqlx::Row>(
            row: &R,
        ) -> $crate::store::StoreResult<$crate::store::access::RoleRecord>
        where
            for<'c> &'c str: sqlx::ColumnIndex<R>,
            for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        {
            Ok($crate::store::access::RoleRecord {
                id: row.try_get("id").map_err(db)?,
                name: row.try_get("name").map_err(db)?,
            })
        }

        fn principal_from_row<R: sqlx::Row>(
            row: &R,
        ) -> $crate::store::StoreResult<$crate::store::access::PrincipalRecord>
        where
            for<'c> &'c str: sqlx::ColumnIndex<R>,
            for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            for<'r> bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        {
            Ok($crate::store::access::PrincipalRecord {
                id: row.try_get("id").map_err(db)?,
                name: row.try_get("name").map_err(db)?,
                client_id: row.try_get("client_id").map_err(db)?,
                secret_hash: row.try_get("secret_hash").map_err(db)?,
                is_root: row.try_get("is_root").map_err(db)?,
                created_ms: row.try_get("created_ms").map_err(db)?,
            })
        }
    };
}

pub(crate) use impl_access_store;
