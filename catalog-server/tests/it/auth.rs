//! Authentication and authorization over HTTP (`--auth oauth2`):
//!
//! - the token endpoint: form and HTTP Basic client credentials, token exchange, OAuth2 errors;
//! - the authorization matrix: every endpoint × (no token, garbage, expired, signed with
//!   another key, a principal without grants, the privilege on the securable, through its
//!   parent, through a role);
//! - rename keeps a table's grants and swaps its parent's; lists show only what a caller may
//!   see; the audit log; secrets shown once and never again (responses, audit, server logs);
//!   root credentials from the environment or generated and printed once; `none` refuses a
//!   non-loopback address; external OIDC tokens; signing-key rotation.

use catalog_server::auth::AuthMode;
use catalog_server::testing::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{assert_error, schema};

pub const ROOT_ID: &str = "root-client";
pub const ROOT_SECRET: &str = "root-secret-for-tests";

/// A server with `--auth oauth2` and known root credentials.
pub async fn start_authed() -> TestServer {
    TestServer::start_with(|c| {
        c.auth = AuthMode::Oauth2;
        c.root_credentials = Some((ROOT_ID.into(), ROOT_SECRET.into()));
    })
    .await
}

/// A token for client credentials (panics unless 200).
pub async fn token(server: &TestServer, id: &str, secret: &str) -> String {
    let r = reqwest::Client::new()
        .post(format!("{}/v1/oauth/tokens", server.url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
            ("scope", "catalog"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    v["access_token"].as_str().unwrap().to_string()
}

/// One request with an optional bearer token; (status, parsed body or Null).
pub async fn call(
    method: Method,
    url: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let mut req = reqwest::Client::new().request(method, url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    let v = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, v)
}

/// A root session: URLs and helpers that act as root.
pub struct Admin<'a> {
    pub server: &'a TestServer,
    pub root: String,
}

impl<'a> Admin<'a> {
    pub async fn new(server: &'a TestServer) -> Self {
        let root = token(server, ROOT_ID, ROOT_SECRET).await;
        Self { server, root }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.url())
    }

    pub async fn ok(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let (s, v) = call(
            method.clone(),
            &self.url(path),
            Some(&self.root),
            body.as_ref(),
        )
        .await;
        assert!(s.is_success(), "{method} {path}: {s} {v}");
        v
    }

    /// `GET path` with another principal's token; (status, body).
    pub async fn get_as(&self, path: &str, token: &str) -> (StatusCode, Value) {
        call(Method::GET, &self.url(path), Some(token), None).await
    }

    /// Create a principal; returns (client id, secret).
    pub async fn principal(&self, name: &str) -> (String, String) {
        let v = self
            .ok(
                Method::POST,
                "/management/v1/principals",
                Some(json!({"name": name})),
            )
            .await;
        (
            v["client-id"].as_str().unwrap().to_string(),
            v["client-secret"].as_str().unwrap().to_string(),
        )
    }

    /// A principal and a token for it.
    pub async fn principal_token(&self, name: &str) -> String {
        let (id, secret) = self.principal(name).await;
        token(self.server, &id, &secret).await
    }

    /// Grant `privileges` on `path` (a permissions path under /management/v1/warehouses/default,
    /// e.g. "" for the warehouse, "/namespaces/gold", "/namespaces/gold/tables/t").
    pub async fn grant(&self, on: &str, grantee: (&str, &str), privileges: &[&str]) {
        self.ok(
            Method::PATCH,
            &format!("/management/v1/warehouses/default{on}/permissions"),
            Some(json!({"changes": [{grantee.0: grantee.1, "add": privileges}]})),
        )
        .await;
    }

    pub async fn revoke(&self, on: &str, grantee: (&str, &str), privileges: &[&str]) {
        self.ok(
            Method::PATCH,
            &format!("/management/v1/warehouses/default{on}/permissions"),
            Some(json!({"changes": [{grantee.0: grantee.1, "remove": privileges}]})),
        )
        .await;
    }

    pub async fn namespace(&self, ns: &str) {
        self.ok(
            Method::POST,
            "/v1/default/namespaces",
            Some(json!({"namespace": [ns]})),
        )
        .await;
    }

    pub async fn table(&self, ns: &str, name: &str) -> Value {
        self.ok(
            Method::POST,
            &format!("/v1/default/namespaces/{ns}/tables"),
            Some(json!({"name": name, "schema": schema()})),
        )
        .await
    }
}

#[tokio::test]
async fn the_token_endpoint_speaks_oauth2() {
    let server = start_authed().await;
    let url = format!("{}/v1/oauth/tokens", server.url());
    let c = reqwest::Client::new();
    // Form credentials (pyiceberg, Spark, Trino).
    let r = c
        .post(&url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", ROOT_ID),
            ("client_secret", ROOT_SECRET),
            ("scope", "catalog"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["token_type"], "bearer");
    assert_eq!(v["expires_in"], 3600);
    assert_eq!(
        v["issued_token_type"],
        "urn:ietf:params:oauth:token-type:access_token"
    );
    let first = v["access_token"].as_str().unwrap().to_string();
    // HTTP Basic (DuckDB), with DuckDB's scope.
    let r = c
        .post(&url)
        .basic_auth(ROOT_ID, Some(ROOT_SECRET))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "PRINCIPAL_ROLE:ALL"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Token exchange refreshes a valid token.
    let r = c
        .post(&url)
        .form(&[
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:token-exchange",
            ),
            ("subject_token", first.as_str()),
            (
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:access_token",
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let fresh: Value = r.json().await.unwrap();
    let (s, _) = call(
        Method::GET,
        &format!("{}/v1/config", server.url()),
        fresh["access_token"].as_str(),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    // Errors in OAuth2's shape.
    for (form, status, error) in [
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", ROOT_ID),
                ("client_secret", "wrong"),
            ],
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", "nobody"),
                ("client_secret", "x"),
            ],
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            vec![("grant_type", "client_credentials")],
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            vec![("grant_type", "password")],
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
        ),
        (vec![], StatusCode::BAD_REQUEST, "invalid_request"),
        (
            vec![
                (
                    "grant_type",
                    "urn:ietf:params:oauth:grant-type:token-exchange",
                ),
                ("subject_token", "garbage"),
            ],
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        ),
    ] {
        let r = c.post(&url).form(&form).send().await.unwrap();
        assert_eq!(r.status(), status, "{form:?}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"], error, "{form:?}: {v}");
    }
}

/// The token kinds every protected endpoint must refuse with 401.
async fn bad_tokens(server: &TestServer) -> Vec<(&'static str, Option<String>)> {
    let access = &server.state().access;
    let keys = access.keys().unwrap();
    let root = server
        .state()
        .service
        .store()
        .root_principal()
        .await
        .unwrap()
        .unwrap();
    let expired = keys
        .issue(&root.id, "root", chrono::Duration::seconds(-10))
        .await
        .unwrap();
    // Same claims and key id as a real token, signed with another key.
    let real = keys
        .issue(&root.id, "root", chrono::Duration::seconds(600))
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(&real).unwrap();
    let claims = jsonwebtoken::dangerous::insecure_decode::<Value>(&real)
        .unwrap()
        .claims;
    let forged = jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(b"another key entirely, 32 bytes!!"),
    )
    .unwrap();
    vec![
        ("no token", None),
        ("garbage", Some("not-a-jwt".to_string())),
        ("expired", Some(expired)),
        ("signed with another key", Some(forged)),
    ]
}

/// Where a privilege must be held for an endpoint.
#[derive(Debug, Clone, Copy, PartialEq)]
enum On {
    /// Reaching the warehouse is enough (any grant in it).
    Reach,
    Warehouse,
    Gold,
    /// The table the request names (`gold.<table>`).
    Table,
    Root,
}

#[derive(Debug, Clone, Copy)]
enum Ep {
    Config,
    ListNamespaces,
    CreateNamespace,
    LoadNamespace,
    NamespaceExists,
    UpdateProperties,
    DropNamespace,
    ListTables,
    CreateTable,
    RegisterTable,
    LoadTable,
    TableExists,
    CommitTable,
    DropTable,
    ReportMetrics,
    Credentials,
    RenameTable,
    CommitTransaction,
    InspectSnapshots,
    TablePermissions,
    PatchTablePermissions,
    ListPrincipals,
    CreateWarehouse,
    Audit,
}

const ENDPOINTS: [Ep; 24] = [
    Ep::Config,
    Ep::ListNamespaces,
    Ep::CreateNamespace,
    Ep::LoadNamespace,
    Ep::NamespaceExists,
    Ep::UpdateProperties,
    Ep::DropNamespace,
    Ep::ListTables,
    Ep::CreateTable,
    Ep::RegisterTable,
    Ep::LoadTable,
    Ep::TableExists,
    Ep::CommitTable,
    Ep::DropTable,
    Ep::ReportMetrics,
    Ep::Credentials,
    Ep::RenameTable,
    Ep::CommitTransaction,
    Ep::InspectSnapshots,
    Ep::TablePermissions,
    Ep::PatchTablePermissions,
    Ep::ListPrincipals,
    Ep::CreateWarehouse,
    Ep::Audit,
];

struct Prepared {
    method: Method,
    path: String,
    body: Option<Value>,
    /// The table in `gold` the request acts on, for grants on the table.
    table: String,
}

impl Ep {
    /// Where the privilege is needed, which one, and the success status.
    fn needs(self) -> (On, &'static str, StatusCode) {
        use Ep::*;
        match self {
            Config | ListNamespaces => (On::Reach, "USAGE", StatusCode::OK),
            CreateNamespace => (On::Warehouse, "CREATE", StatusCode::OK),
            LoadNamespace | ListTables => (On::Gold, "USAGE", StatusCode::OK),
            NamespaceExists => (On::Gold, "USAGE", StatusCode::NO_CONTENT),
            UpdateProperties => (On::Gold, "MODIFY", StatusCode::OK),
            DropNamespace => (On::Gold, "MANAGE", StatusCode::NO_CONTENT),
            CreateTable => (On::Gold, "CREATE", StatusCode::OK),
            RegisterTable => (On::Gold, "MANAGE", StatusCode::OK),
            LoadTable | InspectSnapshots => (On::Table, "SELECT", StatusCode::OK),
            Credentials => (On::Table, "SELECT", StatusCode::OK),
            ReportMetrics => (On::Table, "SELECT", StatusCode::NO_CONTENT),
            TableExists => (On::Table, "USAGE", StatusCode::NO_CONTENT),
            CommitTable => (On::Table, "MODIFY", StatusCode::OK),
            CommitTransaction => (On::Table, "MODIFY", StatusCode::NO_CONTENT),
            DropTable | RenameTable => (On::Table, "MANAGE", StatusCode::NO_CONTENT),
            TablePermissions | PatchTablePermissions => (On::Table, "MANAGE", StatusCode::OK),
            ListPrincipals | Audit => (On::Root, "", StatusCode::OK),
            CreateWarehouse => (On::Root, "", StatusCode::CREATED),
        }
    }

    /// Build the request for one case (`case` is unique), creating what it needs as root.
    async fn prepare(self, a: &Admin<'_>, case: &str) -> Prepared {
        use Ep::*;
        let g = "/v1/default/namespaces/gold";
        let p = |method: Method, path: String, body: Option<Value>| Prepared {
            method,
            path,
            body,
            table: "t".into(),
        };
        match self {
            Config => p(Method::GET, "/v1/config?warehouse=default".into(), None),
            ListNamespaces => p(Method::GET, "/v1/default/namespaces".into(), None),
            CreateNamespace => p(
                Method::POST,
                "/v1/default/namespaces".into(),
                Some(json!({"namespace": [format!("ns_{case}")]})),
            ),
            LoadNamespace => p(Method::GET, g.into(), None),
            NamespaceExists => p(Method::HEAD, g.into(), None),
            UpdateProperties => p(
                Method::POST,
                format!("{g}/properties"),
                Some(json!({"updates": {"owner": case}})),
            ),
            DropNamespace => {
                // A nested namespace, so grants on gold apply to it.
                let name = format!("sub_{case}");
                a.ok(
                    Method::POST,
                    "/v1/default/namespaces",
                    Some(json!({"namespace": ["gold", name]})),
                )
                .await;
                p(
                    Method::DELETE,
                    format!("/v1/default/namespaces/gold%1F{name}"),
                    None,
                )
            }
            ListTables => p(Method::GET, format!("{g}/tables"), None),
            CreateTable => p(
                Method::POST,
                format!("{g}/tables"),
                Some(json!({"name": format!("new_{case}"), "schema": schema()})),
            ),
            RegisterTable => {
                let name = format!("reg_{case}");
                let loaded = a.table("gold", &name).await;
                a.ok(Method::DELETE, &format!("{g}/tables/{name}"), None)
                    .await;
                p(
                    Method::POST,
                    format!("{g}/register"),
                    Some(json!({"name": name, "metadata-location": loaded["metadata-location"]})),
                )
            }
            LoadTable => p(Method::GET, format!("{g}/tables/t"), None),
            TableExists => p(Method::HEAD, format!("{g}/tables/t"), None),
            CommitTable => p(
                Method::POST,
                format!("{g}/tables/t"),
                Some(json!({"requirements": [], "updates": [
                    {"action": "set-properties", "updates": {"case": case}}]})),
            ),
            DropTable => {
                let name = format!("drop_{case}");
                a.table("gold", &name).await;
                Prepared {
                    method: Method::DELETE,
                    path: format!("{g}/tables/{name}"),
                    body: None,
                    table: name,
                }
            }
            ReportMetrics => p(
                Method::POST,
                format!("{g}/tables/t/metrics"),
                Some(json!({"report-type": "scan-report", "table-name": "gold.t",
                    "snapshot-id": 1, "filter": {"type": "true"}, "schema-id": 0,
                    "projected-field-ids": [1], "projected-field-names": ["id"], "metrics": {}})),
            ),
            Credentials => p(Method::GET, format!("{g}/tables/t/credentials"), None),
            RenameTable => {
                let name = format!("ren_{case}");
                a.table("gold", &name).await;
                Prepared {
                    method: Method::POST,
                    path: "/v1/default/tables/rename".into(),
                    body: Some(json!({
                        "source": {"namespace": ["gold"], "name": name},
                        "destination": {"namespace": ["gold"], "name": format!("renamed_{case}")}
                    })),
                    table: name,
                }
            }
            CommitTransaction => p(
                Method::POST,
                "/v1/default/transactions/commit".into(),
                Some(json!({"table-changes": [{
                    "identifier": {"namespace": ["gold"], "name": "t"},
                    "requirements": [],
                    "updates": [{"action": "set-properties", "updates": {"tx": case}}]}]})),
            ),
            InspectSnapshots => p(
                Method::GET,
                "/management/v1/warehouses/default/namespaces/gold/tables/t/snapshots".into(),
                None,
            ),
            TablePermissions => p(
                Method::GET,
                "/management/v1/warehouses/default/namespaces/gold/tables/t/permissions".into(),
                None,
            ),
            PatchTablePermissions => p(
                Method::PATCH,
                "/management/v1/warehouses/default/namespaces/gold/tables/t/permissions".into(),
                Some(json!({"changes": []})),
            ),
            ListPrincipals => p(Method::GET, "/management/v1/principals".into(), None),
            CreateWarehouse => p(
                Method::POST,
                "/management/v1/warehouses".into(),
                Some(
                    json!({"name": format!("wh_{case}"), "storage": {"type": "file",
                    "location": format!("file://{}/wh_{case}", a.server.data_dir().display())}}),
                ),
            ),
            Audit => p(Method::GET, "/management/v1/audit".into(), None),
        }
    }
}

async fn send(a: &Admin<'_>, req: &Prepared, token: Option<&str>) -> (StatusCode, Value) {
    call(
        req.method.clone(),
        &a.url(&req.path),
        token,
        req.body.as_ref(),
    )
    .await
}

/// Every endpoint × every kind of caller.
#[tokio::test]
async fn authorization_matrix() {
    let server = start_authed().await;
    let a = Admin::new(&server).await;
    a.namespace("gold").await;
    a.namespace("silver").await;
    a.table("gold", "t").await;
    let bad = bad_tokens(&server).await;
    // Holds a grant in the warehouse, but nothing on gold.
    let outsider = a.principal_token("outsider").await;
    a.grant("/namespaces/silver", ("principal", "outsider"), &["USAGE"])
        .await;
    let stranger = a.principal_token("stranger").await;
    let mut failures = Vec::new();
    let mut checked = 0;
    for (i, ep) in ENDPOINTS.iter().enumerate() {
        let (on, privilege, ok) = ep.needs();
        for (j, (what, token)) in bad.iter().enumerate() {
            let req = ep.prepare(&a, &format!("{i}bad{j}")).await;
            let (s, body) = send(&a, &req, token.as_deref()).await;
            checked += 1;
            if s != StatusCode::UNAUTHORIZED {
                failures.push(format!("{ep:?} with {what}: {s} {body}"));
            } else if req.method != Method::HEAD {
                assert_error(s, &body, StatusCode::UNAUTHORIZED, "NotAuthorizedException");
            }
        }
        for (who, token) in [
            ("a principal without grants", &stranger),
            ("a principal with grants elsewhere", &outsider),
        ] {
            if on == On::Reach && who.contains("elsewhere") {
                continue;
            }
            let req = ep.prepare(&a, &format!("{i}none{}", who.len())).await;
            let (s, body) = send(&a, &req, Some(token)).await;
            checked += 1;
            if s != StatusCode::FORBIDDEN {
                failures.push(format!("{ep:?} as {who}: {s} {body}"));
            } else if req.method != Method::HEAD {
                assert_error(s, &body, StatusCode::FORBIDDEN, "ForbiddenException");
            }
        }
        if on == On::Root {
            let req = ep.prepare(&a, &format!("{i}root")).await;
            let (s, body) = send(&a, &req, Some(&a.root)).await;
            checked += 1;
            if s != ok {
                failures.push(format!("{ep:?} as root: {s} {body}"));
            }
            continue;
        }
        // The privilege on the securable itself, through its parent, through a role.
        for how in ["direct", "parent", "role"] {
            if how == "parent" && matches!(on, On::Reach | On::Warehouse) {
                continue;
            }
            let case = format!("{i}{how}");
            let req = ep.prepare(&a, &case).await;
            let name = format!("p{case}");
            let token = a.principal_token(&name).await;
            let grantee = if how == "role" {
                let role = format!("r{case}");
                a.ok(
                    Method::POST,
                    "/management/v1/roles",
                    Some(json!({"name": role})),
                )
                .await;
                a.ok(
                    Method::PUT,
                    &format!("/management/v1/roles/{role}/members/{name}"),
                    None,
                )
                .await;
                ("role", role)
            } else {
                ("principal", name.clone())
            };
            let grantee = (grantee.0, grantee.1.as_str());
            let table_path = format!("/namespaces/gold/tables/{}", req.table);
            let target = match (on, how) {
                (On::Reach, _) => "/namespaces/silver".to_string(),
                (On::Warehouse, _) | (On::Gold, "parent") => String::new(),
                (On::Gold, _) | (On::Table, "parent") => "/namespaces/gold".to_string(),
                (On::Table, _) => table_path,
                (On::Root, _) => unreachable!(),
            };
            // USAGE on gold opens the way to its tables.
            if matches!(on, On::Gold | On::Table) {
                a.grant("/namespaces/gold", grantee, &["USAGE"]).await;
            }
            a.grant(&target, grantee, &[privilege]).await;
            let (s, body) = send(&a, &req, Some(&token)).await;
            checked += 1;
            if s != ok {
                failures.push(format!("{ep:?} with {privilege} {how}: {s} {body}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked > 150, "{checked}");
}

/// The issue's scenario, over raw HTTP (the pyiceberg version is in `interop`).
#[tokio::test]
async fn grants_decide_who_reads_and_who_writes() {
    let server = start_authed().await;
    let a = Admin::new(&server).await;
    a.namespace("gold").await;
    a.table("gold", "user_features").await;
    let pipeline = a.principal_token("feature-pipeline").await;
    let training = a.principal_token("ml-training").await;
    let t = "/namespaces/gold/tables/user_features";
    for who in ["feature-pipeline", "ml-training"] {
        a.grant("/namespaces/gold", ("principal", who), &["USAGE"])
            .await;
    }
    a.grant(t, ("principal", "feature-pipeline"), &["SELECT", "MODIFY"])
        .await;
    a.grant(t, ("principal", "ml-training"), &["SELECT"]).await;
    let url = a.url("/v1/default/namespaces/gold/tables/user_features");
    let commit = json!({"requirements": [], "updates": [
        {"action": "set-properties", "updates": {"k": "v"}}]});
    let (s, _) = call(Method::POST, &url, Some(&pipeline), Some(&commit)).await;
    assert_eq!(s, StatusCode::OK);
    let (s, body) = call(Method::GET, &url, Some(&training), None).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let before = body["metadata-location"].clone();
    let (s, body) = call(Method::POST, &url, Some(&training), Some(&commit)).await;
    assert_error(s, &body, StatusCode::FORBIDDEN, "ForbiddenException");
    let (_, after) = call(Method::GET, &url, Some(&pipeline), None).await;
    assert_eq!(
        after["metadata-location"], before,
        "a refused commit changes nothing"
    );
    a.revoke(t, ("principal", "ml-training"), &["SELECT"]).await;
    let (s, _) = call(Method::GET, &url, Some(&training), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // A grant on the namespace covers tables created later.
    a.grant(
        "/namespaces/gold",
        ("principal", "ml-training"),
        &["SELECT"],
    )
    .await;
    a.table("gold", "later").await;
    let (s, _) = a
        .get_as("/v1/default/namespaces/gold/tables/later", &training)
        .await;
    assert_eq!(s, StatusCode::OK);
    // Direct and effective assignments.
    let v = a
        .ok(
            Method::GET,
            &format!("/management/v1/warehouses/default{t}/permissions"),
            None,
        )
        .await;
    assert_eq!(
        v,
        json!({"privilege-assignments": [
            {"principal": "feature-pipeline", "privileges": ["SELECT", "MODIFY"]}]})
    );
    let (s, v) = a.get_as(&format!(
            "/management/v1/warehouses/default{t}/permissions?principal=ml-training&effective=true"
        ), &training).await;
    assert_eq!(s, StatusCode::OK, "a principal may see its own privileges");
    assert_eq!(
        v,
        json!({"privilege-assignments": [
            {"principal": "ml-training", "privileges": ["USAGE", "SELECT"]}]})
    );
    let (s, _) = a.get_as(&format!(
            "/management/v1/warehouses/default{t}/permissions?principal=feature-pipeline&effective=true"
        ), &training).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "but not another's");
}

#[tokio::test]
async fn lists_show_only_what_the_caller_may_see() {
    let server = start_authed().await;
    let a = Admin::new(&server).await;
    for ns in ["gold", "silver", "secret"] {
        a.namespace(ns).await;
        a.table(ns, "t").await;
    }
    let tok = a.principal_token("viewer").await;
    a.grant("/namespaces/gold", ("principal", "viewer"), &["USAGE"])
        .await;
    a.grant(
        "/namespaces/silver/tables/t",
        ("principal", "viewer"),
        &["SELECT"],
    )
    .await;
    let (s, v) = a.get_as("/v1/default/namespaces", &tok).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        v["namespaces"],
        json!([["gold"]]),
        "silver holds no grant of its own"
    );
    let (s, v) = a.get_as("/v1/default/namespaces/gold/tables", &tok).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["identifiers"][0]["name"], "t");
    // Without USAGE on a namespace its tables stay unknown, and so does whether it exists.
    for ns in ["secret", "does_not_exist"] {
        let (s, _) = a
            .get_as(&format!("/v1/default/namespaces/{ns}/tables"), &tok)
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{ns}");
    }
    // The SELECT on silver.t is unusable without USAGE on silver.
    let (s, _) = a
        .get_as("/v1/default/namespaces/silver/tables/t", &tok)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Warehouses: only those the caller holds something in.
    let (s, v) = a.get_as("/management/v1/warehouses", &tok).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["warehouses"].as_array().unwrap().len(), 1);
    let nobody = a.principal_token("nobody").await;
    let (_, v) = a.get_as("/management/v1/warehouses", &nobody).await;
    assert_eq!(v["warehouses"], json!([]));
}

#[tokio::test]
async fn a_renamed_table_keeps_its_grants_and_changes_parent() {
    let server = start_authed().await;
    let a = Admin::new(&server).await;
    a.namespace("old").await;
    a.namespace("new").await;
    a.table("old", "t").await;
    a.table("new", "other").await;
    let own = a.principal_token("own").await;
    let via_old = a.principal_token("via-old").await;
    let via_new = a.principal_token("via-new").await;
    for ns in ["old", "new"] {
        for who in ["own", "via-old", "via-new"] {
            a.grant(&format!("/namespaces/{ns}"), ("principal", who), &["USAGE"])
                .await;
        }
    }
    a.grant(
        "/namespaces/old/tables/t",
        ("principal", "own"),
        &["SELECT"],
    )
    .await;
    a.grant("/namespaces/old", ("principal", "via-old"), &["SELECT"])
        .await;
    a.grant("/namespaces/new", ("principal", "via-new"), &["SELECT"])
        .await;
    let load = |ns: &str| a.url(&format!("/v1/default/namespaces/{ns}/tables/t"));
    for (tok, want) in [(&own, true), (&via_old, true), (&via_new, false)] {
        let (s, _) = call(Method::GET, &load("old"), Some(tok), None).await;
        assert_eq!(s.is_success(), want);
    }
    a.ok(
        Method::POST,
        "/v1/default/tables/rename",
        Some(json!({"source": {"namespace": ["old"], "name": "t"},
                    "destination": {"namespace": ["new"], "name": "t"}})),
    )
    .await;
    for (who, tok, want) in [
        ("own", &own, true),
        ("via-old", &via_old, false),
        ("via-new", &via_new, true),
    ] {
        let (s, _) = call(Method::GET, &load("new"), Some(tok), None).await;
        assert_eq!(s.is_success(), want, "{who}");
    }
}

#[tokio::test]
async fn the_audit_log_records_denials_grants_and_commits() {
    let server = start_authed().await;
    let a = Admin::new(&server).await;
    a.namespace("gold").await;
    a.table("gold", "t").await;
    let tok = a.principal_token("writer").await;
    a.grant(
        "/namespaces/gold",
        ("principal", "writer"),
        &["USAGE", "SELECT"],
    )
    .await;
    let url = a.url("/v1/default/namespaces/gold/tables/t");
    let commit = json!({"requirements": [], "updates": [
        {"action": "set-properties", "updates": {"k": "v"}}]});
    let r = reqwest::Client::new()
        .post(&url)
        .bearer_auth(&tok)
        .header("x-request-id", "req-denied-1")
        .json(&commit)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    a.grant(
        "/namespaces/gold/tables/t",
        ("principal", "writer"),
        &["MODIFY"],
    )
    .await;
    let (s, _) = call(Method::POST, &url, Some(&tok), Some(&commit)).await;
    assert_eq!(s, StatusCode::OK);

    let audit = |q: &str| {
        let path = format!("/management/v1/audit{q}");
        let a = &a;
        async move { a.ok(Method::GET, &path, None).await }
    };
    let v = audit("?principal=writer&action=deny").await;
    let events = v["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{v}");
    assert_eq!(events[0]["request-id"], "req-denied-1");
    assert_eq!(events[0]["target"], "default/gold/t");
    assert_eq!(events[0]["detail"]["privilege"], "MODIFY");
    let v = audit("?action=commit").await;
    assert_eq!(v["events"][0]["principal"], "writer");
    assert_eq!(
        v["events"][0]["detail"]["updates"],
        json!(["set-properties"])
    );
    let v = audit("?action=grant&target=default/gold").await;
    assert_eq!(v["events"].as_array().unwrap().len(), 2, "{v}");
    assert_eq!(v["events"][0]["principal"], "root");
    // Paging, newest first, without repeats.
    let mut seen = Vec::new();
    let mut q = "?pageSize=2".to_string();
    loop {
        let v = audit(&q).await;
        for e in v["events"].as_array().unwrap() {
            seen.push(e["id"].as_i64().unwrap());
        }
        match v["next-page-token"].as_str() {
            Some(t) => q = format!("?pageSize=2&pageToken={t}"),
            None => break,
        }
    }
    assert!(seen.len() >= 5, "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0] > w[1]), "{seen:?}");
    // Only root reads it.
    let (s, _) = a.get_as("/management/v1/audit", &tok).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn secrets_are_shown_once_and_rotation_replaces_them() {
    let server = start_authed().await;
    let a = Admin::new(&server).await;
    let (id, secret) = a.principal("svc").await;
    for path in [
        "/management/v1/principals",
        "/management/v1/principals/svc",
        "/management/v1/audit",
    ] {
        let v = a.ok(Method::GET, path, None).await;
        let text = v.to_string();
        assert!(!text.contains(&secret), "{path} shows the secret: {text}");
        assert!(!text.contains(ROOT_SECRET), "{path} shows the root secret");
    }
    let hash = server
        .state()
        .service
        .store()
        .get_principal(catalog_server::store::access::PrincipalKey::Name("svc"))
        .await
        .unwrap()
        .secret_hash;
    assert!(hash.starts_with("$argon2id$") && !hash.contains(&secret));
    let (s, body) = call(
        Method::POST,
        &a.url("/management/v1/principals"),
        Some(&a.root),
        Some(&json!({"name": "svc"})),
    )
    .await;
    assert_error(s, &body, StatusCode::CONFLICT, "AlreadyExistsException");
    let v = a
        .ok(Method::POST, "/management/v1/principals/svc/rotate", None)
        .await;
    let new_secret = v["client-secret"].as_str().unwrap();
    assert_eq!(v["client-id"], id.as_str());
    assert_ne!(new_secret, secret);
    let r = reqwest::Client::new()
        .post(a.url("/v1/oauth/tokens"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id.as_str()),
            ("client_secret", secret.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "the old secret is dead"
    );
    token(&server, &id, new_secret).await;
    // A deleted principal's tokens stop working.
    let tok = token(&server, &id, new_secret).await;
    a.ok(Method::DELETE, "/management/v1/principals/svc", None)
        .await;
    let (s, _) = a.get_as("/v1/config", &tok).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = call(
        Method::DELETE,
        &a.url("/management/v1/principals/root"),
        Some(&a.root),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "root cannot be deleted");
}

#[tokio::test]
async fn signing_keys_rotate_and_old_tokens_keep_working() {
    let server = start_authed().await;
    let a = Admin::new(&server).await;
    let old = a.root.clone();
    let v = a
        .ok(Method::POST, "/management/v1/signing-keys/rotate", None)
        .await;
    assert!(v["kid"].is_string());
    let (s, _) = a.get_as("/v1/config", &old).await;
    assert_eq!(
        s,
        StatusCode::OK,
        "tokens signed before the rotation stay valid"
    );
    let new = token(&server, ROOT_ID, ROOT_SECRET).await;
    let kid = |t: &str| jsonwebtoken::decode_header(t).unwrap().kid.unwrap();
    assert_eq!(kid(&new), v["kid"].as_str().unwrap());
    assert_ne!(kid(&new), kid(&old));
    // A replica on the same database verifies tokens signed with the new key.
    if server.database_url().starts_with("postgres") {
        let replica = server
            .start_replica_with(|c| {
                c.auth = AuthMode::Oauth2;
                c.root_credentials = Some((ROOT_ID.into(), ROOT_SECRET.into()));
            })
            .await;
        let (s, _) = call(
            Method::GET,
            &format!("{}/v1/config", replica.url()),
            Some(&new),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK);
    }
}

/// An external issuer's token (HS256 JWKS key here; RSA/EC/EdDSA keys work the same way)
/// names a principal by its `sub` claim.
#[tokio::test]
async fn oidc_tokens_name_a_principal() {
    use base64::Engine;
    let dir = std::env::temp_dir().join(format!("floe-oidc-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = b"an external issuer's shared key, 32+ bytes";
    let jwks = dir.join("jwks.json");
    let k = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key);
    std::fs::write(
        &jwks,
        json!({"keys": [{"kty": "oct", "kid": "ext-1", "alg": "HS256", "k": k}]}).to_string(),
    )
    .unwrap();
    let server = TestServer::start_with(|c| {
        c.auth = AuthMode::Oauth2;
        c.root_credentials = Some((ROOT_ID.into(), ROOT_SECRET.into()));
        c.oidc = Some(catalog_server::config::OidcConfig {
            issuer: "https://idp.example".into(),
            jwks: jwks.display().to_string(),
            audience: Some("floe".into()),
            principal_claim: "sub".into(),
        });
    })
    .await;
    let a = Admin::new(&server).await;
    a.namespace("gold").await;
    a.principal("alice").await;
    a.grant("/namespaces/gold", ("principal", "alice"), &["USAGE"])
        .await;
    let now = chrono::Utc::now().timestamp();
    let sign = |claims: Value, kid: &str, key: &[u8]| {
        let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        h.kid = Some(kid.into());
        jsonwebtoken::encode(&h, &claims, &jsonwebtoken::EncodingKey::from_secret(key)).unwrap()
    };
    let good =
        json!({"iss": "https://idp.example", "aud": "floe", "sub": "alice", "exp": now + 300});
    let url = a.url("/v1/default/namespaces/gold");
    let (s, _) = call(
        Method::GET,
        &url,
        Some(&sign(good.clone(), "ext-1", key)),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let mut wrong_aud = good.clone();
    wrong_aud["aud"] = json!("other");
    let mut unknown = good.clone();
    unknown["sub"] = json!("mallory");
    let mut wrong_iss = good.clone();
    wrong_iss["iss"] = json!("https://evil.example");
    let mut expired = good.clone();
    expired["exp"] = json!(now - 3600);
    for (what, t) in [
        ("wrong audience", sign(wrong_aud, "ext-1", key)),
        ("unknown principal", sign(unknown, "ext-1", key)),
        ("wrong issuer", sign(wrong_iss, "ext-1", key)),
        ("expired", sign(expired, "ext-1", key)),
        (
            "another key",
            sign(good, "ext-1", b"not the issuer's key at all......"),
        ),
    ] {
        let (s, _) = call(Method::GET, &url, Some(&t), None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{what}");
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn without_auth_only_loopback_addresses_are_served() {
    let dir = std::env::temp_dir().join(format!("floe-noauth-{}", uuid::Uuid::new_v4()));
    let mut config = catalog_server::Config::with_data_dir(&dir);
    config.listen = "0.0.0.0:0".parse().unwrap();
    let err = catalog_server::serve(config, async {}).await.unwrap_err();
    assert!(
        err.contains("--auth oauth2") && err.contains("0.0.0.0"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// With `--auth none` no root principal is stored, so its name stays reserved: a principal
/// called `root` would keep a later `--auth oauth2` start from creating the real one.
#[tokio::test]
async fn the_root_name_is_reserved_without_auth() {
    let server = TestServer::start().await;
    let (s, body) = call(
        Method::POST,
        &format!("{}/management/v1/principals", server.url()),
        None,
        Some(&json!({"name": "root"})),
    )
    .await;
    assert_error(s, &body, StatusCode::BAD_REQUEST, "BadRequestException");
}

/// A principal may ask for its own effective privileges where it holds something; elsewhere
/// the denial is audited like any other.
#[tokio::test]
async fn own_effective_privileges_need_reach_and_denials_are_audited() {
    let server = start_authed().await;
    let a = Admin::new(&server).await;
    let tok = a.principal_token("loner").await;
    let url = a.url("/management/v1/warehouses/default/permissions?principal=loner&effective=true");
    let (s, body) = call(Method::GET, &url, Some(&tok), None).await;
    assert_error(s, &body, StatusCode::FORBIDDEN, "ForbiddenException");
    let v = a
        .ok(
            Method::GET,
            "/management/v1/audit?principal=loner&action=deny",
            None,
        )
        .await;
    assert_eq!(v["events"].as_array().unwrap().len(), 1, "{v}");
    a.namespace("gold").await;
    a.grant("/namespaces/gold", ("principal", "loner"), &["USAGE"])
        .await;
    let (s, v) = call(Method::GET, &url, Some(&tok), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["privilege-assignments"][0]["privileges"], json!([]));
}

/// The binary: generated root credentials are printed once (first start only), and neither
/// they nor a principal's secret reach the logs, even at debug level.
#[tokio::test]
async fn root_credentials_are_printed_once_and_secrets_never_logged() {
    use std::process::Stdio;
    use tokio::io::{AsyncBufReadExt, BufReader};
    let dir = std::env::temp_dir().join(format!("floe-root-{}", uuid::Uuid::new_v4()));
    let start = || {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_catalog-server"));
        cmd.env_clear()
            .env("FLOE_AUTH", "oauth2")
            .env("FLOE_LISTEN", "127.0.0.1:0")
            .env("FLOE_DATA_DIR", &dir)
            .env("FLOE_LOG", "debug")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        cmd.spawn().unwrap()
    };
    // Reads stdout until the listening line; returns (stdout so far, url).
    async fn until_listening(child: &mut tokio::process::Child) -> (String, String) {
        let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut text = String::new();
        while let Some(line) = out.next_line().await.unwrap() {
            text.push_str(&line);
            text.push('\n');
            if let Some(url) = line.strip_prefix("floe catalog-server listening on ") {
                return (text, url.to_string());
            }
        }
        panic!("the server exited: {text}");
    }
    let mut child = start();
    let (first, url) = until_listening(&mut child).await;
    let field = |name: &str| {
        first
            .lines()
            .find_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().to_string()))
            .unwrap_or_else(|| panic!("no {name} in {first}"))
    };
    let (id, secret) = (field("client id:"), field("client secret:"));
    // Use them: get a token, create a principal, get a token for it.
    let c = reqwest::Client::new();
    let tok: Value = c
        .post(format!("{url}/v1/oauth/tokens"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id.as_str()),
            ("client_secret", secret.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let root = tok["access_token"].as_str().unwrap().to_string();
    let p: Value = c
        .post(format!("{url}/management/v1/principals"))
        .bearer_auth(&root)
        .json(&json!({"name": "svc"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let svc_secret = p["client-secret"].as_str().unwrap().to_string();
    let r = c
        .post(format!("{url}/v1/oauth/tokens"))
        .basic_auth(p["client-id"].as_str().unwrap(), Some(&svc_secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    child.kill().await.unwrap();
    let mut stderr = String::new();
    tokio::io::AsyncReadExt::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr)
        .await
        .unwrap();
    assert!(
        stderr.contains("DEBUG") || stderr.contains("INFO"),
        "logs were captured"
    );
    for s in [&secret, &svc_secret, &root] {
        assert!(
            !stderr.contains(s.as_str()),
            "a secret reached the logs:\n{stderr}"
        );
    }
    // Second start: the root exists, nothing is printed.
    let mut child = start();
    let (second, _) = until_listening(&mut child).await;
    assert!(!second.contains("client secret"), "{second}");
    child.kill().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// The issue's scenario with real clients: pyiceberg with `credential=` and DuckDB with
/// CLIENT_ID / CLIENT_SECRET (`tests/interop/auth_scenario.py`).
#[tokio::test]
async fn interop_pyiceberg_and_duckdb_obey_grants() {
    let server = start_authed().await;
    let python = crate::interop::venv_python();
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/interop/auth_scenario.py");
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(600),
        tokio::process::Command::new(&python)
            .arg(&script)
            .args(["--uri", server.url(), "--root-id", ROOT_ID])
            .args(["--root-secret", ROOT_SECRET])
            .env("PYTHONUNBUFFERED", "1")
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the auth scenario finished in time")
    .expect("python ran");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "auth_scenario.py failed\n---- stdout ----\n{stdout}\n---- stderr ----\n{stderr}"
    );
    assert!(
        stdout.contains("SUMMARY auth: ") && stdout.contains(", 0 failed"),
        "{stdout}"
    );
    println!("{stdout}");
}

/// `catalog-server admin ...` against a running server: create a principal, grant, show,
/// revoke; the printed secret works for a token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_cli_manages_principals_and_grants() {
    let server = start_authed().await;
    let a = Admin::new(&server).await;
    a.namespace("gold").await;
    a.table("gold", "user_features").await;
    let admin = |args: &[&str]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_catalog-server"));
        cmd.arg("admin")
            .args(["--url", server.url()])
            .args(args)
            .env_remove("FLOE_ADMIN_CLIENT_ID")
            .env_remove("FLOE_ADMIN_CLIENT_SECRET")
            .env("FLOE_ROOT_CLIENT_ID", ROOT_ID)
            .env("FLOE_ROOT_CLIENT_SECRET", ROOT_SECRET);
        let out = cmd.output().expect("the binary runs");
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        (out.status.success(), stdout, stderr)
    };
    let (ok, out, err) =
        tokio::task::block_in_place(|| admin(&["create-principal", "ml-training"]));
    assert!(ok, "{out}{err}");
    let created: Value = serde_json::from_str(&out).unwrap();
    let id = created["client-id"].as_str().unwrap().to_string();
    let secret = created["client-secret"].as_str().unwrap().to_string();
    let tok = token(&server, &id, &secret).await;
    let on = ["--namespace", "gold", "--table", "user_features"];
    for args in [
        vec![
            "grant",
            "USAGE",
            "--namespace",
            "gold",
            "--principal",
            "ml-training",
        ],
        [
            vec!["grant", "SELECT,MODIFY"],
            on.to_vec(),
            vec!["--principal", "ml-training"],
        ]
        .concat(),
    ] {
        let (ok, out, err) = tokio::task::block_in_place(|| admin(&args));
        assert!(ok, "{args:?}: {out}{err}");
    }
    let (ok, out, _) =
        tokio::task::block_in_place(|| admin(&[vec!["show-grants"], on.to_vec()].concat()));
    assert!(ok);
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        shown["privilege-assignments"][0],
        json!({"principal": "ml-training", "privileges": ["SELECT", "MODIFY"]})
    );
    let url = a.url("/v1/default/namespaces/gold/tables/user_features");
    let (s, _) = call(Method::GET, &url, Some(&tok), None).await;
    assert_eq!(s, StatusCode::OK);
    let (ok, _, err) = tokio::task::block_in_place(|| {
        admin(
            &[
                vec!["revoke", "SELECT"],
                on.to_vec(),
                vec!["--principal", "ml-training"],
            ]
            .concat(),
        )
    });
    assert!(ok, "{err}");
    let (s, _) = call(Method::GET, &url, Some(&tok), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (ok, out, _) = tokio::task::block_in_place(|| {
        admin(
            &[
                vec!["show-grants"],
                on.to_vec(),
                vec!["--principal", "ml-training"],
            ]
            .concat(),
        )
    });
    assert!(ok);
    let effective: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        effective["privilege-assignments"][0]["privileges"],
        json!(["USAGE", "MODIFY"])
    );
    // Wrong credentials: a clear failure, non-zero exit.
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_catalog-server"));
    cmd.args(["admin", "--url", server.url(), "list-principals"])
        .env("FLOE_ROOT_CLIENT_ID", ROOT_ID)
        .env("FLOE_ROOT_CLIENT_SECRET", "wrong");
    let out = tokio::task::block_in_place(|| cmd.output().unwrap());
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid_client"));
}
