//! A client for the Iceberg REST catalog protocol: Floe's operations (append, overwrite,
//! delete, schema and spec evolution, ...) committed through any REST catalog.
//!
//! - [`RestCatalogConfig`]: where the catalog is and how to authenticate (a struct literal, the
//!   builder methods, or [`RestCatalogConfig::from_properties`] with the usual client property
//!   names).
//! - [`RestCatalog::connect`]: an OAuth2 `client_credentials` token when a credential is given,
//!   then `GET /v1/config`. Properties merge as server `defaults` < client properties < server
//!   `overrides`; the path `prefix` and the advertised `endpoints` come from there.
//! - [`RestCatalog`]: the [`Catalog`] trait (load, create, commit, drop, list tables) and the
//!   namespace, existence, rename, register and multi-table transaction calls.
//! - Inside: `Paths` builds URLs (every path segment percent-encoded, namespace levels joined
//!   by the unit separator `%1F`), `Transport::send` adds the bearer token and gets a new one
//!   once on 401/419, `error_from_response` turns the Iceberg error body into an [`Error`].
//!
//! How failures map: 404 and `NoSuch*Exception` are [`ErrorKind::NotFound`]; a 409 is
//! [`ErrorKind::AlreadyExists`] when creating, renaming or registering, and a retryable
//! [`ErrorKind::CommitConflict`] when committing; a 5xx or a connection that broke after a commit
//! was sent is [`ErrorKind::CommitStateUnknown`], whose files must be kept; a 400 is
//! [`ErrorKind::DataInvalid`] ([`ErrorKind::InvalidUpdate`] for commits); 401/403 (after one
//! token refresh) and other 5xx are [`ErrorKind::Io`]. The server's message is always kept.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};

use super::{Catalog, TableCreation, TableIdent};
use crate::io::FileIO;
use crate::spec::{
    Schema, SortOrder, TableMetadata, TableRequirement, TableUpdate, UnboundPartitionSpec,
};
use crate::table::Table;
use crate::{Error, ErrorKind, Result};

/// What stays as it is in a path segment, query value or form value: RFC 3986's unreserved
/// characters (Python's `quote(s, safe="")`); everything else is percent-encoded.
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The namespace separator in a path, already URL-encoded (0x1F, the unit separator).
const DEFAULT_SEPARATOR: &str = "%1F";
/// The OAuth2 scope asked for when none is configured.
const DEFAULT_SCOPE: &str = "catalog";
/// At most this many FileIOs are cached before the cache starts over.
const IO_CACHE_LIMIT: usize = 64;

/// The endpoint names servers advertise in `GET /v1/config`'s `endpoints`.
mod endpoint {
    pub const LIST_NAMESPACES: &str = "GET /v1/{prefix}/namespaces";
    pub const CREATE_NAMESPACE: &str = "POST /v1/{prefix}/namespaces";
    pub const LOAD_NAMESPACE: &str = "GET /v1/{prefix}/namespaces/{namespace}";
    pub const NAMESPACE_EXISTS: &str = "HEAD /v1/{prefix}/namespaces/{namespace}";
    pub const DROP_NAMESPACE: &str = "DELETE /v1/{prefix}/namespaces/{namespace}";
    pub const LIST_TABLES: &str = "GET /v1/{prefix}/namespaces/{namespace}/tables";
    pub const CREATE_TABLE: &str = "POST /v1/{prefix}/namespaces/{namespace}/tables";
    pub const LOAD_TABLE: &str = "GET /v1/{prefix}/namespaces/{namespace}/tables/{table}";
    pub const TABLE_EXISTS: &str = "HEAD /v1/{prefix}/namespaces/{namespace}/tables/{table}";
    pub const UPDATE_TABLE: &str = "POST /v1/{prefix}/namespaces/{namespace}/tables/{table}";
    pub const DROP_TABLE: &str = "DELETE /v1/{prefix}/namespaces/{namespace}/tables/{table}";
    pub const RENAME_TABLE: &str = "POST /v1/{prefix}/tables/rename";
    pub const REGISTER_TABLE: &str = "POST /v1/{prefix}/namespaces/{namespace}/register";
    pub const COMMIT_TRANSACTION: &str = "POST /v1/{prefix}/transactions/commit";
}

/// Where a REST catalog is and how to authenticate to it.
///
/// A struct literal (`RestCatalogConfig { uri, ..Default::default() }`) or the builder:
/// `RestCatalogConfig::new("http://localhost:8181").warehouse("default").credential("id", "secret")`.
#[derive(Clone, Default)]
pub struct RestCatalogConfig {
    /// The catalog's base URI, without `/v1` (`http://localhost:8181`, `https://host/api/catalog`).
    pub uri: String,
    /// The warehouse to ask `GET /v1/config` for (a name or a location, depending on the catalog).
    pub warehouse: Option<String>,
    /// OAuth2 client credentials `(client_id, client_secret)`, exchanged for a bearer token with
    /// the `client_credentials` grant, and again whenever the server rejects the token. An empty
    /// client id is left out of the request.
    pub credential: Option<(String, String)>,
    /// A bearer token to start with; without a credential it is never refreshed.
    pub token: Option<String>,
    /// The OAuth2 token endpoint; `{uri}/v1/oauth/tokens` when `None`.
    pub oauth2_server_uri: Option<String>,
    /// The OAuth2 scope; `catalog` when `None`.
    pub scope: Option<String>,
    /// Client properties: FileIO settings (`s3.endpoint`, `s3.region`, ...), `header.<Name>` for
    /// extra request headers (e.g. `header.X-Iceberg-Access-Delegation`), `rest-page-size` to
    /// list in pages. The server's `defaults` yield to them, its `overrides` win over them.
    pub properties: HashMap<String, String>,
}

impl std::fmt::Debug for RestCatalogConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestCatalogConfig")
            .field("uri", &self.uri)
            .field("warehouse", &self.warehouse)
            .field(
                "credential",
                &self.credential.as_ref().map(|(id, _)| (id, "********")),
            )
            .field("token", &self.token.as_ref().map(|_| "********"))
            .field("oauth2_server_uri", &self.oauth2_server_uri)
            .field("scope", &self.scope)
            .field("properties", &redacted(&self.properties))
            .finish()
    }
}

impl RestCatalogConfig {
    /// A configuration for the catalog at `uri`, with no warehouse and no authentication.
    pub fn new(uri: impl Into<String>) -> Self {
        Self {
            uri: uri.into(),
            ..Default::default()
        }
    }

    /// From Iceberg client properties: `uri` (required), `warehouse`, `credential`
    /// (`client_id:client_secret`, or just the secret), `token`, `oauth2-server-uri`, `scope`;
    /// every other key becomes a client property.
    pub fn from_properties(mut props: HashMap<String, String>) -> Result<Self> {
        let uri = props
            .remove("uri")
            .ok_or_else(|| Error::invalid("REST catalog properties need a 'uri'"))?;
        let credential = props.remove("credential").map(|c| match c.split_once(':') {
            Some((id, secret)) => (id.to_string(), secret.to_string()),
            None => (String::new(), c),
        });
        Ok(Self {
            uri,
            warehouse: props.remove("warehouse"),
            credential,
            token: props.remove("token"),
            oauth2_server_uri: props.remove("oauth2-server-uri"),
            scope: props.remove("scope"),
            properties: props,
        })
    }

    /// Ask for this warehouse.
    pub fn warehouse(mut self, warehouse: impl Into<String>) -> Self {
        self.warehouse = Some(warehouse.into());
        self
    }

    /// Authenticate with OAuth2 client credentials.
    pub fn credential(
        mut self,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        self.credential = Some((client_id.into(), client_secret.into()));
        self
    }

    /// Send this bearer token.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Get tokens from this OAuth2 endpoint instead of `{uri}/v1/oauth/tokens`.
    pub fn oauth2_server_uri(mut self, uri: impl Into<String>) -> Self {
        self.oauth2_server_uri = Some(uri.into());
        self
    }

    /// Ask for this OAuth2 scope instead of `catalog`.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// Set a client property.
    pub fn property(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(key.into(), value.into());
        self
    }
}

/// A catalog reached over the Iceberg REST protocol. Cheap to clone (clones share the HTTP
/// client, the token and the FileIO cache).
///
/// Tables get a FileIO from their metadata location and the merged catalog properties plus the
/// `config` (and matching `storage-credentials`) the server returns with the table; FileIOs are
/// shared between tables with the same store and settings.
#[derive(Clone)]
pub struct RestCatalog {
    inner: Arc<Inner>,
}

struct Inner {
    transport: Transport,
    paths: Paths,
    /// The decoded namespace separator, for the `parent` query parameter.
    separator_raw: String,
    properties: HashMap<String, String>,
    /// What the server advertised; `None` when it did not say (then every standard endpoint
    /// but the HEAD ones is assumed).
    endpoints: Option<HashSet<String>>,
    page_size: Option<u32>,
    io: FileIO,
    io_cache: Mutex<HashMap<IoKey, FileIO>>,
    /// The `config` the server last returned with each table (only non-empty ones), so the
    /// table returned by a commit reads and writes like the one loaded.
    table_config: Mutex<HashMap<TableIdent, HashMap<String, String>>>,
}

impl std::fmt::Debug for RestCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestCatalog")
            .field("root", &self.inner.paths.root)
            .field("properties", &redacted(&self.inner.properties))
            .finish()
    }
}

/// The keys of properties that hold secrets (shown as `********` in debug output).
fn is_secret(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["secret", "token", "credential", "password", "authorization"]
        .iter()
        .any(|s| k.contains(s))
}

fn redacted(props: &HashMap<String, String>) -> BTreeMap<&str, &str> {
    props
        .iter()
        .map(|(k, v)| {
            let v = if is_secret(k) { "********" } else { v.as_str() };
            (k.as_str(), v)
        })
        .collect()
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl RestCatalog {
    /// Connect: get a token when a credential is configured, then read `GET /v1/config` (for
    /// the configured warehouse) and merge its properties with the client's.
    pub async fn connect(config: RestCatalogConfig) -> Result<RestCatalog> {
        let base = normalize_uri(&config.uri)?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("floe-table-format/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| {
                Error::new(ErrorKind::Io, format!("cannot set up the HTTP client: {e}"))
                    .with_source(e)
            })?;
        let token_uri = match &config.oauth2_server_uri {
            Some(u) => u.clone(),
            None => format!("{base}/v1/oauth/tokens"),
        };
        let auth = Auth {
            token: tokio::sync::Mutex::new(config.token.clone()),
            credential: config.credential.clone(),
            token_uri,
            scope: config
                .scope
                .clone()
                .unwrap_or_else(|| DEFAULT_SCOPE.to_string()),
        };
        let mut user = config.properties.clone();
        user.insert("uri".to_string(), base.clone());
        if let Some(w) = &config.warehouse {
            user.insert("warehouse".to_string(), w.clone());
        }
        let mut transport = Transport {
            headers: extra_headers(&user)?,
            http,
            auth,
        };
        if transport.auth.can_refresh() && transport.auth.current().await.is_none() {
            transport.auth.refresh(&transport.http, None).await?;
        }
        let mut url = format!("{base}/v1/config");
        if let Some(w) = &config.warehouse {
            url = with_query(url, &[("warehouse", w.as_str())]);
        }
        let bytes = transport
            .send(
                Method::GET,
                &url,
                None,
                Ctx::Other,
                "read the catalog configuration",
            )
            .await?;
        let server: ConfigResponse = parse_json(&bytes, "read the catalog configuration")?;
        let merged = merge_config(
            server.defaults.unwrap_or_default(),
            user,
            server.overrides.unwrap_or_default(),
        );
        transport.headers = extra_headers(&merged)?;
        // The server may point clients at another base URI.
        let base = match merged.get("uri") {
            Some(u) => normalize_uri(u)?,
            None => base,
        };
        let prefix = merged.get("prefix").map(String::as_str).unwrap_or("");
        let separator = merged
            .get("namespace-separator")
            .map(String::as_str)
            .unwrap_or(DEFAULT_SEPARATOR);
        let separator_raw = percent_decode_str(separator)
            .decode_utf8()
            .map_err(|e| {
                Error::invalid(format!(
                    "the catalog's namespace-separator '{separator}' is not valid UTF-8: {e}"
                ))
            })?
            .into_owned();
        let page_size = merged
            .get("rest-page-size")
            .map(|v| {
                v.parse::<u32>().map_err(|e| {
                    Error::invalid(format!("rest-page-size '{v}' is not a page size: {e}"))
                })
            })
            .transpose()?;
        let endpoints = server.endpoints.map(|eps| {
            eps.iter()
                .map(|e| e.split_whitespace().collect::<Vec<_>>().join(" "))
                .collect()
        });
        let mut io_cache = HashMap::new();
        let io = match merged.get("warehouse") {
            Some(w) => match FileIO::from_location(w, &merged) {
                Ok(io) => {
                    io_cache.insert(IoKey::new(w, &HashMap::new()), io.clone());
                    io
                }
                // A warehouse name rather than a location.
                Err(_) => FileIO::local(),
            },
            None => FileIO::local(),
        };
        Ok(RestCatalog {
            inner: Arc::new(Inner {
                transport,
                paths: Paths::new(&base, prefix, separator),
                separator_raw,
                properties: merged,
                endpoints,
                page_size,
                io,
                io_cache: Mutex::new(io_cache),
                table_config: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The merged catalog properties (server defaults < client properties < server overrides).
    pub fn properties(&self) -> &HashMap<String, String> {
        &self.inner.properties
    }

    /// Create a namespace (its parent must exist); returns the properties the catalog stored.
    pub async fn create_namespace(
        &self,
        namespace: &[String],
        properties: HashMap<String, String>,
    ) -> Result<HashMap<String, String>> {
        self.require(endpoint::CREATE_NAMESPACE)?;
        let what = format!("create namespace {}", namespace.join("."));
        encode_namespace(namespace, &self.inner.paths.separator)?;
        let body = json_body(&CreateNamespaceRequest {
            namespace,
            properties: &properties,
        })?;
        let bytes = self
            .send(
                Method::POST,
                &self.inner.paths.namespaces(),
                Some(body),
                Ctx::Create,
                &what,
            )
            .await?;
        let ns: NamespaceResponse = parse_json(&bytes, &what)?;
        Ok(ns.properties.unwrap_or_default())
    }

    /// A namespace's properties.
    pub async fn load_namespace(&self, namespace: &[String]) -> Result<HashMap<String, String>> {
        self.require(endpoint::LOAD_NAMESPACE)?;
        let what = format!("load namespace {}", namespace.join("."));
        let url = self.inner.paths.namespace(namespace)?;
        let bytes = self
            .send(Method::GET, &url, None, Ctx::Other, &what)
            .await?;
        let ns: NamespaceResponse = parse_json(&bytes, &what)?;
        Ok(ns.properties.unwrap_or_default())
    }

    /// The namespaces directly under `parent` (the top-level ones when `parent` is empty), each
    /// as its full list of levels. Follows `next-page-token` to the end.
    pub async fn list_namespaces(&self, parent: &[String]) -> Result<Vec<Vec<String>>> {
        self.require(endpoint::LIST_NAMESPACES)?;
        let what = match parent {
            [] => "list namespaces".to_string(),
            p => format!("list the namespaces in {}", p.join(".")),
        };
        let parent_param = if parent.is_empty() {
            None
        } else {
            encode_namespace(parent, &self.inner.paths.separator)?;
            Some(parent.join(&self.inner.separator_raw))
        };
        let url = self.inner.paths.namespaces();
        collect_pages(|token| {
            let mut query: Vec<(&str, String)> = Vec::new();
            if let Some(p) = &parent_param {
                query.push(("parent", p.clone()));
            }
            let url = with_query(url.clone(), &self.page_query(token, &mut query));
            let what = what.clone();
            async move {
                let bytes = self
                    .send(Method::GET, &url, None, Ctx::Other, &what)
                    .await?;
                let page: ListNamespacesResponse = parse_json(&bytes, &what)?;
                Ok((page.namespaces, page.next_page_token))
            }
        })
        .await
    }

    /// Drop an empty namespace. A namespace that still holds tables fails with
    /// [`ErrorKind::InvalidUpdate`].
    pub async fn drop_namespace(&self, namespace: &[String]) -> Result<()> {
        self.require(endpoint::DROP_NAMESPACE)?;
        let what = format!("drop namespace {}", namespace.join("."));
        let url = self.inner.paths.namespace(namespace)?;
        self.send(Method::DELETE, &url, None, Ctx::DropNamespace, &what)
            .await?;
        Ok(())
    }

    /// Whether a namespace exists (HEAD when the server advertises it, else a load).
    pub async fn namespace_exists(&self, namespace: &[String]) -> Result<bool> {
        let what = format!("check namespace {}", namespace.join("."));
        let url = self.inner.paths.namespace(namespace)?;
        let result = if self.advertises(endpoint::NAMESPACE_EXISTS) {
            self.send(Method::HEAD, &url, None, Ctx::Other, &what)
                .await
                .map(|_| ())
        } else {
            self.load_namespace(namespace).await.map(|_| ())
        };
        found(result)
    }

    /// Whether a table exists (HEAD when the server advertises it, else a load).
    pub async fn table_exists(&self, ident: &TableIdent) -> Result<bool> {
        let what = format!("check table {ident}");
        let url = self.inner.paths.table(ident)?;
        let result = if self.advertises(endpoint::TABLE_EXISTS) {
            self.send(Method::HEAD, &url, None, Ctx::Other, &what)
                .await
                .map(|_| ())
        } else {
            self.load_table(ident).await.map(|_| ())
        };
        found(result)
    }

    /// Rename a table (possibly into another namespace); fails with
    /// [`ErrorKind::AlreadyExists`] when the destination is taken.
    pub async fn rename_table(&self, from: &TableIdent, to: &TableIdent) -> Result<()> {
        self.require(endpoint::RENAME_TABLE)?;
        let what = format!("rename table {from} to {to}");
        // Both names must be addressable.
        self.inner.paths.table(from)?;
        self.inner.paths.table(to)?;
        let body = json_body(&RenameTableRequest {
            source: IdentRef::from(from),
            destination: IdentRef::from(to),
        })?;
        self.send(
            Method::POST,
            &self.inner.paths.rename(),
            Some(body),
            Ctx::Create,
            &what,
        )
        .await?;
        let mut configs = lock(&self.inner.table_config);
        if let Some(c) = configs.remove(from) {
            configs.insert(to.clone(), c);
        }
        Ok(())
    }

    /// Register an existing metadata file as table `ident`; fails with
    /// [`ErrorKind::AlreadyExists`] when the name is taken.
    pub async fn register_table(
        &self,
        ident: &TableIdent,
        metadata_location: &str,
    ) -> Result<Table> {
        self.require(endpoint::REGISTER_TABLE)?;
        let what = format!("register table {ident}");
        let url = self.inner.paths.register(&ident.namespace)?;
        encode_segment(&ident.name)?;
        let body = json_body(&RegisterTableRequest {
            name: &ident.name,
            metadata_location,
        })?;
        let bytes = self
            .send(Method::POST, &url, Some(body), Ctx::Create, &what)
            .await?;
        self.table_from_response(ident, &bytes, true, &what)
    }

    /// Commit changes to several tables atomically (`POST /v1/{prefix}/transactions/commit`):
    /// either every table's requirements hold and all updates land, or nothing changes. Fails
    /// like [`Catalog::commit_table`]: a retryable [`ErrorKind::CommitConflict`] on 409,
    /// [`ErrorKind::CommitStateUnknown`] when the outcome is unknown.
    pub async fn commit_transaction(
        &self,
        changes: Vec<(TableIdent, Vec<TableRequirement>, Vec<TableUpdate>)>,
    ) -> Result<()> {
        self.require(endpoint::COMMIT_TRANSACTION)?;
        let names: Vec<String> = changes.iter().map(|(i, _, _)| i.to_string()).collect();
        let what = format!("commit a transaction on {}", names.join(", "));
        for (ident, _, _) in &changes {
            self.inner.paths.table(ident)?;
        }
        let body = json_body(&CommitTransactionRequest {
            table_changes: changes
                .iter()
                .map(|(ident, requirements, updates)| CommitTableRequest {
                    identifier: IdentRef::from(ident),
                    requirements,
                    updates,
                })
                .collect(),
        })?;
        self.send(
            Method::POST,
            &self.inner.paths.transactions_commit(),
            Some(body),
            Ctx::Commit,
            &what,
        )
        .await?;
        Ok(())
    }

    async fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<Bytes>,
        ctx: Ctx,
        what: &str,
    ) -> Result<Bytes> {
        self.inner
            .transport
            .send(method, url, body, ctx, what)
            .await
    }

    /// Whether the server explicitly advertised an endpoint.
    fn advertises(&self, endpoint: &str) -> bool {
        self.inner
            .endpoints
            .as_ref()
            .is_some_and(|eps| eps.contains(endpoint))
    }

    /// Fail early when the server listed its endpoints and this one is not among them.
    fn require(&self, endpoint: &str) -> Result<()> {
        match &self.inner.endpoints {
            Some(eps) if !eps.contains(endpoint) => Err(Error::unsupported(format!(
                "the catalog does not offer '{endpoint}' (it is not in the endpoints of its configuration)"
            ))),
            _ => Ok(()),
        }
    }

    /// The paging query parameters: the token of the next page, or an empty token and the page
    /// size on the first page when `rest-page-size` is set (a server returns everything at once
    /// when no `pageToken` is sent).
    fn page_query<'a>(
        &self,
        token: Option<String>,
        query: &'a mut Vec<(&'static str, String)>,
    ) -> Vec<(&'static str, &'a str)> {
        match (token, self.inner.page_size) {
            (Some(t), _) => query.push(("pageToken", t)),
            (None, Some(_)) => query.push(("pageToken", String::new())),
            (None, None) => {}
        }
        if let Some(n) = self.inner.page_size {
            query.push(("pageSize", n.to_string()));
        }
        query.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }

    /// A table from a LoadTableResult (or a commit response, which has no `config`: the config
    /// last seen for the table is used then).
    fn table_from_response(
        &self,
        ident: &TableIdent,
        bytes: &[u8],
        has_config: bool,
        what: &str,
    ) -> Result<Table> {
        let loaded = parse_load_result(bytes).map_err(|e| e.context(format!("cannot {what}")))?;
        let config = {
            let mut configs = lock(&self.inner.table_config);
            if has_config {
                if loaded.config.is_empty() {
                    configs.remove(ident);
                } else {
                    configs.insert(ident.clone(), loaded.config.clone());
                }
                loaded.config
            } else {
                configs.get(ident).cloned().unwrap_or_default()
            }
        };
        let io = self.table_io(&loaded.metadata_location, &config)?;
        Ok(Table::new(
            ident.clone(),
            loaded.metadata,
            loaded.metadata_location,
            io,
        ))
    }

    /// The FileIO for files next to `location`, set up from the catalog properties plus the
    /// table's `config`; shared by every table with the same store and config.
    fn table_io(&self, location: &str, config: &HashMap<String, String>) -> Result<FileIO> {
        let key = IoKey::new(location, config);
        if let Some(io) = lock(&self.inner.io_cache).get(&key) {
            return Ok(io.clone());
        }
        let mut props = self.inner.properties.clone();
        props.extend(config.iter().map(|(k, v)| (k.clone(), v.clone())));
        let io = FileIO::from_location(location, &props)?;
        let mut cache = lock(&self.inner.io_cache);
        if cache.len() >= IO_CACHE_LIMIT {
            cache.clear();
        }
        Ok(cache.entry(key).or_insert(io).clone())
    }
}

/// `Ok(true)` for success, `Ok(false)` for [`ErrorKind::NotFound`], the error otherwise.
fn found(result: Result<()>) -> Result<bool> {
    match result {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

#[async_trait]
impl Catalog for RestCatalog {
    /// The FileIO of the warehouse location when the catalog configuration names one, else the
    /// local file system. Tables carry their own FileIO (see [`RestCatalog`]).
    fn file_io(&self) -> &FileIO {
        &self.inner.io
    }

    async fn load_table(&self, ident: &TableIdent) -> Result<Table> {
        self.require(endpoint::LOAD_TABLE)?;
        let what = format!("load table {ident}");
        let url = self.inner.paths.table(ident)?;
        let bytes = self
            .send(Method::GET, &url, None, Ctx::Other, &what)
            .await?;
        self.table_from_response(ident, &bytes, true, &what)
    }

    async fn create_table(&self, ident: &TableIdent, creation: TableCreation) -> Result<Table> {
        self.require(endpoint::CREATE_TABLE)?;
        let what = format!("create table {ident}");
        let url = self.inner.paths.tables(&ident.namespace)?;
        encode_segment(&ident.name)?;
        let body = json_body(&CreateTableRequest::new(&ident.name, &creation))?;
        let bytes = self
            .send(Method::POST, &url, Some(body), Ctx::Create, &what)
            .await?;
        self.table_from_response(ident, &bytes, true, &what)
    }

    async fn commit_table(
        &self,
        ident: &TableIdent,
        requirements: Vec<TableRequirement>,
        updates: Vec<TableUpdate>,
    ) -> Result<Table> {
        self.require(endpoint::UPDATE_TABLE)?;
        let what = format!("commit to table {ident}");
        let url = self.inner.paths.table(ident)?;
        let body = json_body(&CommitTableRequest {
            identifier: IdentRef::from(ident),
            requirements: &requirements,
            updates: &updates,
        })?;
        let bytes = self
            .send(Method::POST, &url, Some(body), Ctx::Commit, &what)
            .await?;
        // The commit landed: a response we cannot use must not read as a failed commit.
        self.table_from_response(ident, &bytes, false, &what)
            .map_err(|e| {
                Error::commit_state_unknown(format!(
                    "{}; the catalog accepted the commit but its response is unusable: reload the table",
                    e.message()
                ))
            })
    }

    async fn drop_table(&self, ident: &TableIdent, purge: bool) -> Result<()> {
        self.require(endpoint::DROP_TABLE)?;
        let what = format!("drop table {ident}");
        let url = with_query(
            self.inner.paths.table(ident)?,
            &[("purgeRequested", purge_param(purge))],
        );
        self.send(Method::DELETE, &url, None, Ctx::Other, &what)
            .await?;
        lock(&self.inner.table_config).remove(ident);
        Ok(())
    }

    async fn list_tables(&self, namespace: &[String]) -> Result<Vec<TableIdent>> {
        self.require(endpoint::LIST_TABLES)?;
        let what = format!("list the tables in {}", namespace.join("."));
        let url = self.inner.paths.tables(namespace)?;
        collect_pages(|token| {
            let mut query = Vec::new();
            let url = with_query(url.clone(), &self.page_query(token, &mut query));
            let what = what.clone();
            async move {
                let bytes = self
                    .send(Method::GET, &url, None, Ctx::Other, &what)
                    .await?;
                let page: ListTablesResponse = parse_json(&bytes, &what)?;
                let idents = page
                    .identifiers
                    .into_iter()
                    .map(|i| TableIdent {
                        namespace: i.namespace,
                        name: i.name,
                    })
                    .collect();
                Ok((idents, page.next_page_token))
            }
        })
        .await
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP: the bearer token, one refresh on 401/419, errors.

struct Transport {
    http: reqwest::Client,
    auth: Auth,
    /// `header.<Name>` properties.
    headers: HeaderMap,
}

impl Transport {
    /// Send a request; the body of a 2xx response, or the error the response describes. A
    /// 401 or 419 gets a new token (when there is a credential) and one more try.
    async fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<Bytes>,
        ctx: Ctx,
        what: &str,
    ) -> Result<Bytes> {
        let mut refreshed = false;
        loop {
            let token = self.auth.current().await;
            let mut req = self
                .http
                .request(method.clone(), url)
                .headers(self.headers.clone());
            if let Some(t) = &token {
                req = req.bearer_auth(t);
            }
            if let Some(b) = &body {
                req = req.header(CONTENT_TYPE, "application/json").body(b.clone());
            }
            let resp = req
                .send()
                .await
                .map_err(|e| transport_error(e, ctx, what))?;
            let status = resp.status().as_u16();
            let bytes = resp
                .bytes()
                .await
                .map_err(|e| transport_error(e, ctx, what))?;
            if (200..300).contains(&status) {
                return Ok(bytes);
            }
            if matches!(status, 401 | 419) && !refreshed && self.auth.can_refresh() {
                self.auth.refresh(&self.http, token.as_deref()).await?;
                refreshed = true;
                continue;
            }
            return Err(error_from_response(status, &bytes, ctx, what));
        }
    }
}

/// The bearer token and how to get a new one.
struct Auth {
    token: tokio::sync::Mutex<Option<String>>,
    credential: Option<(String, String)>,
    token_uri: String,
    scope: String,
}

impl Auth {
    async fn current(&self) -> Option<String> {
        self.token.lock().await.clone()
    }

    fn can_refresh(&self) -> bool {
        self.credential.is_some()
    }

    /// Get a new token with the client credentials, unless another request already replaced
    /// `stale` (the token that was rejected).
    async fn refresh(&self, http: &reqwest::Client, stale: Option<&str>) -> Result<()> {
        let Some((id, secret)) = &self.credential else {
            return Ok(());
        };
        let mut token = self.token.lock().await;
        if token.as_deref() != stale {
            return Ok(());
        }
        let what = format!("get an OAuth2 token from {}", self.token_uri);
        let resp = http
            .post(&self.token_uri)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(token_request_body(id, secret, &self.scope))
            .send()
            .await
            .map_err(|e| transport_error(e, Ctx::Other, &what))?;
        let status = resp.status().as_u16();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| transport_error(e, Ctx::Other, &what))?;
        if !(200..300).contains(&status) {
            return Err(error_from_response(status, &bytes, Ctx::Other, &what));
        }
        let parsed: TokenResponse = parse_json(&bytes, &what)?;
        *token = Some(parsed.access_token);
        Ok(())
    }
}

/// The form body of an OAuth2 `client_credentials` token request.
fn token_request_body(client_id: &str, client_secret: &str, scope: &str) -> String {
    let mut pairs = vec![("grant_type", "client_credentials")];
    if !client_id.is_empty() {
        pairs.push(("client_id", client_id));
    }
    pairs.push(("client_secret", client_secret));
    pairs.push(("scope", scope));
    encode_pairs(&pairs)
}

/// What a request was doing, which decides what its failure means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    /// A table commit: 409 is a conflict, 5xx leaves the outcome unknown.
    Commit,
    /// Creating a namespace or table, renaming, registering: 409 means the name is taken.
    Create,
    /// Dropping a namespace: 409 means it is not empty.
    DropNamespace,
    /// Anything else.
    Other,
}

fn transport_error(e: reqwest::Error, ctx: Ctx, what: &str) -> Error {
    if e.is_builder() {
        return Error::invalid(format!("cannot {what}: invalid request: {e}")).with_source(e);
    }
    if ctx == Ctx::Commit && !e.is_connect() {
        return Error::commit_state_unknown(format!(
            "cannot {what}: the connection failed after the commit was sent ({e}); it may have \
             landed: reload the table, and do not delete the files it references"
        ))
        .with_source(e);
    }
    Error::new(ErrorKind::Io, format!("cannot {what}: {e}")).with_source(e)
}

/// The Iceberg error model `{"error": {"message", "type", "code"}}`, or an OAuth2 error
/// `{"error": "invalid_client", "error_description": "..."}`.
#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorField,
    #[serde(default)]
    error_description: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ErrorField {
    Iceberg {
        #[serde(default)]
        message: Option<String>,
        #[serde(default, rename = "type")]
        kind: Option<String>,
    },
    OAuth(String),
}

/// The exception type and message of an error body, whatever shape it has.
fn parse_error_body(body: &[u8]) -> (Option<String>, String) {
    match serde_json::from_slice::<ErrorEnvelope>(body) {
        Ok(ErrorEnvelope {
            error: ErrorField::Iceberg { message, kind },
            ..
        }) => (kind, message.unwrap_or_default()),
        Ok(ErrorEnvelope {
            error: ErrorField::OAuth(code),
            error_description,
        }) => (Some(code), error_description.unwrap_or_default()),
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            let short: String = text.chars().take(500).collect();
            (None, short)
        }
    }
}

/// The error a non-2xx response stands for, keeping the server's type and message.
fn error_from_response(status: u16, body: &[u8], ctx: Ctx, what: &str) -> Error {
    let (ty, message) = parse_error_body(body);
    let kind = error_kind(status, ty.as_deref(), ctx);
    let mut text = format!("cannot {what}: HTTP {status}");
    if let Some(t) = &ty {
        text.push(' ');
        text.push_str(t);
    }
    if !message.is_empty() {
        text.push_str(": ");
        text.push_str(&message);
    }
    match kind {
        ErrorKind::CommitStateUnknown => text.push_str(
            "; the commit may have landed: reload the table, and do not delete the files it references",
        ),
        ErrorKind::CommitConflict => text.push_str("; refresh the table and retry"),
        _ if matches!(status, 401 | 403 | 419) => {
            text.push_str("; check the catalog credential or token")
        }
        _ => {}
    }
    Error::new(kind, text)
}

fn error_kind(status: u16, ty: Option<&str>, ctx: Ctx) -> ErrorKind {
    let bad_request = if ctx == Ctx::Commit {
        ErrorKind::InvalidUpdate
    } else {
        ErrorKind::DataInvalid
    };
    // For a commit the status decides: whatever the type says, a 5xx means nobody knows.
    if ctx == Ctx::Commit {
        match status {
            409 => return ErrorKind::CommitConflict,
            500..=599 if status != 501 => return ErrorKind::CommitStateUnknown,
            _ => {}
        }
    }
    match ty.unwrap_or("") {
        "NoSuchTableException"
        | "NoSuchNamespaceException"
        | "NoSuchViewException"
        | "NoSuchWarehouseException"
        | "NoSuchPlanIdException"
        | "NoSuchPlanTaskException"
        | "NotFoundException" => return ErrorKind::NotFound,
        "AlreadyExistsException" => return ErrorKind::AlreadyExists,
        "CommitFailedException" => return ErrorKind::CommitConflict,
        "CommitStateUnknownException" => return ErrorKind::CommitStateUnknown,
        "NamespaceNotEmptyException" => return ErrorKind::InvalidUpdate,
        "UnsupportedOperationException" => return ErrorKind::FeatureUnsupported,
        "BadRequestException" | "ValidationException" | "IllegalArgumentException" => {
            return bad_request;
        }
        _ => {}
    }
    match status {
        404 => ErrorKind::NotFound,
        409 if ctx == Ctx::DropNamespace => ErrorKind::InvalidUpdate,
        409 => ErrorKind::AlreadyExists,
        400 | 422 => bad_request,
        406 | 501 => ErrorKind::FeatureUnsupported,
        401 | 403 | 419 => ErrorKind::Io,
        400..=499 => ErrorKind::DataInvalid,
        _ => ErrorKind::Io,
    }
}

// ---------------------------------------------------------------------------------------------
// URLs.

/// The catalog's URLs: `{base}/v1[/{prefix}]/...`.
#[derive(Debug, Clone)]
struct Paths {
    /// `{base}/v1` or `{base}/v1/{prefix}`.
    root: String,
    /// The URL-encoded namespace separator.
    separator: String,
}

impl Paths {
    /// The prefix is a path fragment from the server, used as it is (without outer slashes).
    fn new(base: &str, prefix: &str, separator: &str) -> Self {
        let prefix = prefix.trim_matches('/');
        let root = if prefix.is_empty() {
            format!("{base}/v1")
        } else {
            format!("{base}/v1/{prefix}")
        };
        Self {
            root,
            separator: separator.to_string(),
        }
    }

    fn namespaces(&self) -> String {
        format!("{}/namespaces", self.root)
    }

    fn namespace(&self, namespace: &[String]) -> Result<String> {
        Ok(format!(
            "{}/namespaces/{}",
            self.root,
            encode_namespace(namespace, &self.separator)?
        ))
    }

    fn tables(&self, namespace: &[String]) -> Result<String> {
        Ok(format!("{}/tables", self.namespace(namespace)?))
    }

    fn table(&self, ident: &TableIdent) -> Result<String> {
        Ok(format!(
            "{}/{}",
            self.tables(&ident.namespace)?,
            encode_segment(&ident.name)?
        ))
    }

    fn register(&self, namespace: &[String]) -> Result<String> {
        Ok(format!("{}/register", self.namespace(namespace)?))
    }

    fn rename(&self) -> String {
        format!("{}/tables/rename", self.root)
    }

    fn transactions_commit(&self) -> String {
        format!("{}/transactions/commit", self.root)
    }
}

/// A base URI without trailing slashes; only `http://` and `https://` are accepted.
fn normalize_uri(uri: &str) -> Result<String> {
    let u = uri.trim().trim_end_matches('/');
    let lower = u.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("http://")
        .or_else(|| lower.strip_prefix("https://"));
    match rest {
        Some(r) if !r.is_empty() => Ok(u.to_string()),
        _ => Err(Error::invalid(format!(
            "REST catalog URI '{uri}' must start with http:// or https:// and name a host"
        ))),
    }
}

/// One percent-encoded path segment. `.` and `..` cannot be sent as segments (URL parsers
/// resolve them, encoded or not), and an empty name names nothing.
fn encode_segment(s: &str) -> Result<String> {
    if s.is_empty() || s == "." || s == ".." {
        return Err(Error::invalid(format!(
            "'{s}' cannot be a table or namespace name in a REST catalog"
        )));
    }
    Ok(utf8_percent_encode(s, ENCODE).to_string())
}

/// A namespace as one path segment: each level percent-encoded, joined by the (URL-encoded)
/// separator.
fn encode_namespace(levels: &[String], separator: &str) -> Result<String> {
    if levels.is_empty() {
        return Err(Error::invalid("a namespace needs at least one level"));
    }
    let mut encoded = Vec::with_capacity(levels.len());
    for level in levels {
        if level.contains('\u{1f}') {
            return Err(Error::invalid(format!(
                "namespace level '{}' contains the unit separator (0x1F), which separates levels",
                level.escape_debug()
            )));
        }
        encoded.push(encode_segment(level)?);
    }
    Ok(encoded.join(separator))
}

/// `k=v&k=v` with keys and values percent-encoded.
fn encode_pairs(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, ENCODE),
                utf8_percent_encode(v, ENCODE)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// `url?k=v&...` (the URL unchanged when there are no pairs).
fn with_query(url: String, pairs: &[(&str, &str)]) -> String {
    if pairs.is_empty() {
        url
    } else {
        format!("{url}?{}", encode_pairs(pairs))
    }
}

/// The value of `purgeRequested`.
fn purge_param(purge: bool) -> &'static str {
    if purge { "true" } else { "false" }
}

// ---------------------------------------------------------------------------------------------
// Configuration, pages, FileIOs.

/// Server defaults, overridden by client properties, overridden by server overrides.
fn merge_config(
    defaults: HashMap<String, String>,
    client: HashMap<String, String>,
    overrides: HashMap<String, String>,
) -> HashMap<String, String> {
    let mut merged = defaults;
    merged.extend(client);
    merged.extend(overrides);
    merged
}

/// Request headers from `header.<Name>` properties.
fn extra_headers(props: &HashMap<String, String>) -> Result<HeaderMap> {
    let mut headers = HeaderMap::new();
    for (k, v) in props {
        let Some(name) = k.strip_prefix("header.") else {
            continue;
        };
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| Error::invalid(format!("property '{k}': invalid header name: {e}")))?;
        let value = HeaderValue::from_str(v)
            .map_err(|e| Error::invalid(format!("property '{k}': invalid header value: {e}")))?;
        headers.insert(name, value);
    }
    Ok(headers)
}

/// Fetch pages until the server gives no next token (absent, null or empty): `fetch` gets the
/// token of the page to fetch (`None` for the first) and returns its items and the next token.
/// A token seen twice is an error rather than an endless loop.
async fn collect_pages<T, F, Fut>(mut fetch: F) -> Result<Vec<T>>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<String>)>>,
{
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut token = None;
    loop {
        let (items, next) = fetch(token.take()).await?;
        out.extend(items);
        match next.filter(|t| !t.is_empty()) {
            None => return Ok(out),
            Some(t) => {
                if !seen.insert(t.clone()) {
                    return Err(Error::invalid(format!(
                        "the catalog returned page token '{t}' twice; stopping the listing"
                    )));
                }
                token = Some(t);
            }
        }
    }
}

/// Tables share a FileIO when their store (scheme and bucket) and table config are the same.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct IoKey {
    root: String,
    config: Vec<(String, String)>,
}

impl IoKey {
    fn new(location: &str, config: &HashMap<String, String>) -> Self {
        let mut config: Vec<(String, String)> =
            config.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        config.sort();
        Self {
            root: store_root(location),
            config,
        }
    }
}

/// The part of a location that picks the store: `s3://bucket`, `file://`, `memory://`.
fn store_root(location: &str) -> String {
    if location.starts_with('/') {
        return "file://".to_string();
    }
    match location.split_once("://") {
        Some((scheme, rest)) => {
            let scheme = scheme.to_ascii_lowercase();
            match scheme.as_str() {
                "file" | "memory" => format!("{scheme}://"),
                "s3a" => format!("s3://{}", rest.split('/').next().unwrap_or("")),
                _ => format!("{scheme}://{}", rest.split('/').next().unwrap_or("")),
            }
        }
        None => location.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// Wire types.

fn json_body<T: Serialize>(value: &T) -> Result<Bytes> {
    Ok(Bytes::from(serde_json::to_vec(value)?))
}

fn parse_json<'a, T: Deserialize<'a>>(bytes: &'a [u8], what: &str) -> Result<T> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        Error::invalid(format!(
            "cannot {what}: unexpected response from the catalog at '{path}': {inner}"
        ))
    })
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
}

#[derive(Deserialize)]
struct ConfigResponse {
    #[serde(default)]
    defaults: Option<HashMap<String, String>>,
    #[serde(default)]
    overrides: Option<HashMap<String, String>>,
    #[serde(default)]
    endpoints: Option<Vec<String>>,
}

#[derive(Serialize)]
struct IdentRef<'a> {
    namespace: &'a [String],
    name: &'a str,
}

impl<'a> From<&'a TableIdent> for IdentRef<'a> {
    fn from(i: &'a TableIdent) -> Self {
        Self {
            namespace: &i.namespace,
            name: &i.name,
        }
    }
}

#[derive(Debug, Deserialize)]
struct IdentWire {
    namespace: Vec<String>,
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct ListTablesResponse {
    #[serde(default)]
    identifiers: Vec<IdentWire>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct ListNamespacesResponse {
    #[serde(default)]
    namespaces: Vec<Vec<String>>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Serialize)]
struct CreateNamespaceRequest<'a> {
    namespace: &'a [String],
    properties: &'a HashMap<String, String>,
}

#[derive(Deserialize)]
struct NamespaceResponse {
    #[serde(default)]
    properties: Option<HashMap<String, String>>,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct CreateTableRequest<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<&'a str>,
    schema: &'a Schema,
    partition_spec: &'a UnboundPartitionSpec,
    write_order: &'a SortOrder,
    properties: &'a BTreeMap<String, String>,
}

impl<'a> CreateTableRequest<'a> {
    fn new(name: &'a str, c: &'a TableCreation) -> Self {
        Self {
            name,
            location: c.location.as_deref(),
            schema: &c.schema,
            partition_spec: &c.partition_spec,
            write_order: &c.sort_order,
            properties: &c.properties,
        }
    }
}

#[derive(Serialize)]
struct CommitTableRequest<'a> {
    identifier: IdentRef<'a>,
    requirements: &'a [TableRequirement],
    updates: &'a [TableUpdate],
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct CommitTransactionRequest<'a> {
    table_changes: Vec<CommitTableRequest<'a>>,
}

#[derive(Serialize)]
struct RenameTableRequest<'a> {
    source: IdentRef<'a>,
    destination: IdentRef<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct RegisterTableRequest<'a> {
    name: &'a str,
    metadata_location: &'a str,
}

/// A LoadTableResult (or commit response) as it arrives: the metadata stays raw text until
/// [`TableMetadata::from_slice`] parses and validates it.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct LoadTableWire<'a> {
    #[serde(default)]
    metadata_location: Option<String>,
    #[serde(borrow)]
    metadata: sonic_rs::LazyValue<'a>,
    #[serde(default)]
    config: Option<HashMap<String, String>>,
    #[serde(default)]
    storage_credentials: Option<Vec<StorageCredential>>,
}

#[derive(Deserialize)]
struct StorageCredential {
    prefix: String,
    #[serde(default)]
    config: HashMap<String, String>,
}

/// What a LoadTableResult holds, parsed.
#[derive(Debug)]
struct LoadedTable {
    metadata_location: String,
    metadata: TableMetadata,
    /// `config`, plus the `storage-credentials` entry with the longest prefix of the table's
    /// location (its settings win).
    config: HashMap<String, String>,
}

fn parse_load_result(bytes: &[u8]) -> Result<LoadedTable> {
    let wire: LoadTableWire<'_> = sonic_rs::from_slice(bytes).map_err(|e| {
        Error::invalid(format!(
            "the catalog's response is not a LoadTableResult: {e}"
        ))
    })?;
    let metadata_location = wire.metadata_location.ok_or_else(|| {
        Error::invalid("the catalog's response has no metadata-location (a staged table?)")
    })?;
    let metadata = TableMetadata::from_slice(wire.metadata.as_raw_str().as_bytes())?;
    let mut config = wire.config.unwrap_or_default();
    let best = wire
        .storage_credentials
        .unwrap_or_default()
        .into_iter()
        .filter(|c| {
            metadata.location().starts_with(&c.prefix) || metadata_location.starts_with(&c.prefix)
        })
        .max_by_key(|c| c.prefix.len());
    if let Some(c) = best {
        config.extend(c.config);
    }
    Ok(LoadedTable {
        metadata_location,
        metadata,
        config,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::spec::{
        NestedField, PrimitiveType, SourceId, TableMetadataBuilder, Transform,
        UnboundPartitionField,
    };

    fn ns(levels: &[&str]) -> Vec<String> {
        levels.iter().map(|s| s.to_string()).collect()
    }

    fn schema() -> Schema {
        Schema::builder()
            .with_fields([
                NestedField::required(1, "id", PrimitiveType::Long),
                NestedField::optional(2, "name", PrimitiveType::String),
            ])
            .build()
            .unwrap()
    }

    fn metadata_json(location: &str) -> String {
        TableMetadataBuilder::new_table(
            schema(),
            UnboundPartitionSpec::default(),
            SortOrder::unsorted(),
            location,
            BTreeMap::new(),
        )
        .unwrap()
        .build()
        .unwrap()
        .metadata
        .to_json()
        .unwrap()
    }

    #[test]
    fn path_segments_are_percent_encoded_with_nothing_safe_but_unreserved() {
        assert_eq!(encode_segment("events").unwrap(), "events");
        assert_eq!(encode_segment("a-b_c.d~e").unwrap(), "a-b_c.d~e");
        assert_eq!(
            encode_segment("a b/c?d#e%f&g+h:i").unwrap(),
            "a%20b%2Fc%3Fd%23e%25f%26g%2Bh%3Ai"
        );
        assert_eq!(encode_segment("café").unwrap(), "caf%C3%A9");
        for bad in ["", ".", ".."] {
            assert_eq!(
                encode_segment(bad).unwrap_err().kind(),
                ErrorKind::DataInvalid,
                "{bad:?}"
            );
        }
        // A dot inside a name is fine.
        assert_eq!(encode_segment("...").unwrap(), "...");
    }

    #[test]
    fn namespace_levels_are_joined_by_the_encoded_unit_separator() {
        assert_eq!(encode_namespace(&ns(&["db"]), "%1F").unwrap(), "db");
        assert_eq!(
            encode_namespace(&ns(&["a", "b c", "d/e"]), "%1F").unwrap(),
            "a%1Fb%20c%1Fd%2Fe"
        );
        // A server-advertised separator is used as given (it is already encoded).
        assert_eq!(encode_namespace(&ns(&["a", "b"]), "%2E").unwrap(), "a%2Eb");
        for bad in [vec![], ns(&["a", ""]), ns(&["a\u{1f}b"]), ns(&[".."])] {
            assert_eq!(
                encode_namespace(&bad, "%1F").unwrap_err().kind(),
                ErrorKind::DataInvalid,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn paths_with_and_without_a_prefix() {
        let ident = TableIdent::new(["a", "b"], "my table");
        let p = Paths::new("http://h:8181", "", "%1F");
        assert_eq!(p.namespaces(), "http://h:8181/v1/namespaces");
        assert_eq!(
            p.namespace(&ns(&["a", "b"])).unwrap(),
            "http://h:8181/v1/namespaces/a%1Fb"
        );
        assert_eq!(
            p.tables(&ident.namespace).unwrap(),
            "http://h:8181/v1/namespaces/a%1Fb/tables"
        );
        assert_eq!(
            p.table(&ident).unwrap(),
            "http://h:8181/v1/namespaces/a%1Fb/tables/my%20table"
        );
        assert_eq!(
            p.register(&ident.namespace).unwrap(),
            "http://h:8181/v1/namespaces/a%1Fb/register"
        );
        assert_eq!(p.rename(), "http://h:8181/v1/tables/rename");
        assert_eq!(
            p.transactions_commit(),
            "http://h:8181/v1/transactions/commit"
        );

        let p = Paths::new("https://h/api/catalog", "/wh/", "%1F");
        assert_eq!(
            p.table(&ident).unwrap(),
            "https://h/api/catalog/v1/wh/namespaces/a%1Fb/tables/my%20table"
        );
        assert_eq!(p.rename(), "https://h/api/catalog/v1/wh/tables/rename");
        assert_eq!(
            p.transactions_commit(),
            "https://h/api/catalog/v1/wh/transactions/commit"
        );
        assert!(p.table(&TableIdent::new(["a"], "")).is_err());
        assert!(
            p.table(&TableIdent::new(Vec::<String>::new(), "t"))
                .is_err()
        );
    }

    #[test]
    fn query_parameters_and_the_purge_flag() {
        assert_eq!(purge_param(true), "true");
        assert_eq!(purge_param(false), "false");
        assert_eq!(with_query("http://h/x".into(), &[]), "http://h/x");
        assert_eq!(
            with_query(
                "http://h/x".into(),
                &[("purgeRequested", purge_param(true))]
            ),
            "http://h/x?purgeRequested=true"
        );
        // The parent namespace travels with the raw separator, encoded as %1F.
        assert_eq!(
            with_query(
                "http://h/v1/namespaces".into(),
                &[("parent", "a\u{1f}b c"), ("pageToken", "")]
            ),
            "http://h/v1/namespaces?parent=a%1Fb%20c&pageToken="
        );
        assert_eq!(
            with_query("http://h/v1/config".into(), &[("warehouse", "s3://b/w&x")]),
            "http://h/v1/config?warehouse=s3%3A%2F%2Fb%2Fw%26x"
        );
    }

    #[test]
    fn base_uris() {
        assert_eq!(
            normalize_uri(" http://localhost:8181/ ").unwrap(),
            "http://localhost:8181"
        );
        assert_eq!(normalize_uri("HTTPS://h/api//").unwrap(), "HTTPS://h/api");
        for bad in ["", "localhost:8181", "ftp://h", "http://"] {
            assert_eq!(
                normalize_uri(bad).unwrap_err().kind(),
                ErrorKind::DataInvalid,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn config_merges_defaults_then_client_then_overrides() {
        let m = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let merged = merge_config(
            m(&[("a", "default"), ("b", "default"), ("c", "default")]),
            m(&[("b", "client"), ("c", "client"), ("d", "client")]),
            m(&[("c", "override"), ("prefix", "wh")]),
        );
        assert_eq!(
            merged,
            m(&[
                ("a", "default"),
                ("b", "client"),
                ("c", "override"),
                ("d", "client"),
                ("prefix", "wh"),
            ])
        );
        let cfg: ConfigResponse = parse_json(
            br#"{"defaults":{"x":"1"},"overrides":{"prefix":"wh"},"endpoints":["GET /v1/{prefix}/namespaces"]}"#,
            "test",
        )
        .unwrap();
        assert_eq!(cfg.overrides.unwrap()["prefix"], "wh");
        assert_eq!(cfg.endpoints.unwrap().len(), 1);
        // Everything optional, nulls included.
        let cfg: ConfigResponse =
            parse_json(br#"{"defaults":null,"overrides":{}}"#, "test").unwrap();
        assert!(cfg.defaults.is_none() && cfg.endpoints.is_none());
    }

    #[test]
    fn header_properties_become_request_headers() {
        let props: HashMap<String, String> = [
            ("header.X-Iceberg-Access-Delegation", "vended-credentials"),
            ("s3.region", "us-east-1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let h = extra_headers(&props).unwrap();
        assert_eq!(h.len(), 1);
        assert_eq!(h["x-iceberg-access-delegation"], "vended-credentials");
        let bad: HashMap<String, String> =
            [("header.bad name".to_string(), "v".to_string())].into();
        assert_eq!(
            extra_headers(&bad).unwrap_err().kind(),
            ErrorKind::DataInvalid
        );
    }

    fn iceberg_error(ty: &str, code: u16, message: &str) -> Vec<u8> {
        serde_json::to_vec(
            &serde_json::json!({"error": {"message": message, "type": ty, "code": code}}),
        )
        .unwrap()
    }

    #[test]
    fn error_bodies_map_to_kinds_by_type_and_status() {
        use ErrorKind::*;
        let cases: &[(u16, &str, Ctx, ErrorKind)] = &[
            (404, "NoSuchTableException", Ctx::Other, NotFound),
            (404, "NoSuchNamespaceException", Ctx::Create, NotFound),
            (404, "NoSuchWarehouseException", Ctx::Other, NotFound),
            (404, "SomethingElse", Ctx::Other, NotFound),
            (404, "NoSuchTableException", Ctx::Commit, NotFound),
            (409, "AlreadyExistsException", Ctx::Create, AlreadyExists),
            (409, "Whatever", Ctx::Create, AlreadyExists),
            (409, "CommitFailedException", Ctx::Commit, CommitConflict),
            (409, "AlreadyExistsException", Ctx::Commit, CommitConflict),
            (
                409,
                "NamespaceNotEmptyException",
                Ctx::DropNamespace,
                InvalidUpdate,
            ),
            (409, "", Ctx::DropNamespace, InvalidUpdate),
            (400, "BadRequestException", Ctx::Other, DataInvalid),
            (400, "BadRequestException", Ctx::Commit, InvalidUpdate),
            (400, "ValidationException", Ctx::Create, DataInvalid),
            (422, "", Ctx::Other, DataInvalid),
            (
                406,
                "UnsupportedOperationException",
                Ctx::Other,
                FeatureUnsupported,
            ),
            (401, "NotAuthorizedException", Ctx::Other, Io),
            (403, "ForbiddenException", Ctx::Commit, Io),
            (500, "InternalServerError", Ctx::Commit, CommitStateUnknown),
            (502, "", Ctx::Commit, CommitStateUnknown),
            (
                503,
                "ServiceUnavailableException",
                Ctx::Commit,
                CommitStateUnknown,
            ),
            (504, "", Ctx::Commit, CommitStateUnknown),
            // A 5xx during a commit is unknown even when the body claims a plain failure.
            (
                500,
                "CommitFailedException",
                Ctx::Commit,
                CommitStateUnknown,
            ),
            (501, "", Ctx::Commit, FeatureUnsupported),
            (500, "InternalServerError", Ctx::Other, Io),
            (503, "ServiceUnavailableException", Ctx::Create, Io),
            (
                500,
                "CommitStateUnknownException",
                Ctx::Other,
                CommitStateUnknown,
            ),
            (418, "", Ctx::Other, DataInvalid),
        ];
        for (status, ty, ctx, want) in cases {
            let e = error_from_response(*status, &iceberg_error(ty, *status, "msg"), *ctx, "do it");
            assert_eq!(e.kind(), *want, "{status} {ty} {ctx:?}: {e}");
        }
    }

    #[test]
    fn errors_keep_the_servers_message_and_say_what_to_do() {
        let e = error_from_response(
            409,
            &iceberg_error(
                "CommitFailedException",
                409,
                "requirement assert-ref-snapshot-id failed",
            ),
            Ctx::Commit,
            "commit to table db.t",
        );
        assert!(e.is_retryable());
        assert_eq!(
            e.message(),
            "cannot commit to table db.t: HTTP 409 CommitFailedException: requirement \
             assert-ref-snapshot-id failed; refresh the table and retry"
        );

        let e = error_from_response(
            503,
            &iceberg_error("ServiceUnavailableException", 503, "database is locked"),
            Ctx::Commit,
            "commit to table db.t",
        );
        assert_eq!(e.kind(), ErrorKind::CommitStateUnknown);
        assert!(!e.is_retryable());
        assert!(e.message().contains("database is locked"), "{e}");
        assert!(e.message().contains("do not delete"), "{e}");

        // An OAuth2 error body.
        let e = error_from_response(
            401,
            br#"{"error":"invalid_client","error_description":"bad secret"}"#,
            Ctx::Other,
            "get a token",
        );
        assert_eq!(e.kind(), ErrorKind::Io);
        assert_eq!(
            e.message(),
            "cannot get a token: HTTP 401 invalid_client: bad secret; check the catalog credential or token"
        );

        // A proxy's HTML page, or nothing at all.
        let e = error_from_response(502, b"<html>Bad Gateway</html>\n", Ctx::Other, "load");
        assert_eq!(
            e.message(),
            "cannot load: HTTP 502: <html>Bad Gateway</html>"
        );
        let e = error_from_response(404, b"", Ctx::Other, "check table db.t");
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(e.message(), "cannot check table db.t: HTTP 404");
        let long = vec![b'x'; 5000];
        let e = error_from_response(500, &long, Ctx::Other, "load");
        assert!(e.message().len() < 600);
    }

    type Page = Result<(Vec<i32>, Option<String>)>;

    /// Serve `pages` as (items, next token) in order, recording the tokens asked for.
    fn pager<'a>(
        pages: Vec<(Vec<i32>, Option<&'static str>)>,
        asked: &'a Mutex<Vec<Option<String>>>,
    ) -> impl FnMut(Option<String>) -> std::future::Ready<Page> + 'a {
        let calls = AtomicUsize::new(0);
        move |token| {
            lock(asked).push(token);
            let i = calls.fetch_add(1, Ordering::SeqCst);
            std::future::ready(match pages.get(i) {
                Some((items, next)) => Ok((items.clone(), next.map(str::to_string))),
                None => Err(Error::invalid("asked past the last page")),
            })
        }
    }

    #[tokio::test]
    async fn pages_are_followed_until_the_token_is_null_absent_or_empty() {
        let asked = Mutex::new(vec![]);
        let all = collect_pages(pager(
            vec![
                (vec![1, 2], Some("p2")),
                (vec![], Some("p3")),
                (vec![3], None),
            ],
            &asked,
        ))
        .await
        .unwrap();
        assert_eq!(all, vec![1, 2, 3]);
        assert_eq!(
            *lock(&asked),
            vec![None, Some("p2".to_string()), Some("p3".to_string())]
        );

        let asked = Mutex::new(vec![]);
        let all = collect_pages(pager(vec![(vec![1], Some("")), (vec![9], None)], &asked))
            .await
            .unwrap();
        assert_eq!(all, vec![1]);
        assert_eq!(lock(&asked).len(), 1);

        // A server that repeats a token would loop forever.
        let asked = Mutex::new(vec![]);
        let err = collect_pages(pager(
            vec![
                (vec![1], Some("a")),
                (vec![2], Some("b")),
                (vec![3], Some("a")),
            ],
            &asked,
        ))
        .await
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DataInvalid);
        assert!(err.message().contains("'a' twice"), "{err}");

        // An error on a later page is the listing's error.
        let asked = Mutex::new(vec![]);
        let err = collect_pages(pager(vec![(vec![1], Some("a"))], &asked))
            .await
            .unwrap_err();
        assert!(err.message().contains("past the last page"));
    }

    #[test]
    fn list_responses_parse_with_and_without_a_next_token() {
        let page: ListTablesResponse = parse_json(
            br#"{"identifiers":[{"namespace":["a","b"],"name":"t"}],"next-page-token":null}"#,
            "list",
        )
        .unwrap();
        assert_eq!(page.identifiers[0].namespace, ns(&["a", "b"]));
        assert_eq!(page.identifiers[0].name, "t");
        assert!(page.next_page_token.is_none());
        let page: ListNamespacesResponse = parse_json(
            br#"{"namespaces":[["a"],["a","b"]],"next-page-token":"x"}"#,
            "list",
        )
        .unwrap();
        assert_eq!(page.namespaces, vec![ns(&["a"]), ns(&["a", "b"])]);
        assert_eq!(page.next_page_token.as_deref(), Some("x"));
        let err =
            parse_json::<ListTablesResponse>(br#"{"identifiers":[{"name":1}]}"#, "list tables")
                .unwrap_err();
        assert!(err.message().contains("identifiers[0]"), "{err}");
    }

    #[test]
    fn the_token_request_is_form_encoded() {
        assert_eq!(
            token_request_body("my id", "s&e=c+r/t", "catalog"),
            "grant_type=client_credentials&client_id=my%20id&client_secret=s%26e%3Dc%2Br%2Ft&scope=catalog"
        );
        assert_eq!(
            token_request_body("", "secret", "PRINCIPAL_ROLE:ALL"),
            "grant_type=client_credentials&client_secret=secret&scope=PRINCIPAL_ROLE%3AALL"
        );
        let t: TokenResponse = parse_json(
            br#"{"access_token":"abc","token_type":"bearer","expires_in":3600,"issued_token_type":"urn:ietf:params:oauth:token-type:access_token"}"#,
            "token",
        )
        .unwrap();
        assert_eq!(t.access_token, "abc");
    }

    #[test]
    fn config_from_properties_and_debug_without_secrets() {
        let props: HashMap<String, String> = [
            ("uri", "http://h:8181"),
            ("warehouse", "wh"),
            ("credential", "id:se:cret"),
            ("scope", "PRINCIPAL_ROLE:ALL"),
            ("s3.secret-access-key", "hidden"),
            ("s3.region", "eu-west-1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let c = RestCatalogConfig::from_properties(props).unwrap();
        assert_eq!(c.uri, "http://h:8181");
        assert_eq!(c.warehouse.as_deref(), Some("wh"));
        assert_eq!(
            c.credential,
            Some(("id".to_string(), "se:cret".to_string()))
        );
        assert_eq!(c.scope.as_deref(), Some("PRINCIPAL_ROLE:ALL"));
        assert_eq!(c.properties.len(), 2);
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("se:cret") && !shown.contains("hidden"),
            "{shown}"
        );
        assert!(shown.contains("eu-west-1"));

        let c = RestCatalogConfig::from_properties(
            [("uri", "http://h"), ("credential", "only-secret")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
        .unwrap();
        assert_eq!(c.credential, Some((String::new(), "only-secret".into())));
        assert!(RestCatalogConfig::from_properties(HashMap::new()).is_err());

        let c = RestCatalogConfig::new("http://h")
            .warehouse("w")
            .token("tok")
            .credential("i", "s")
            .oauth2_server_uri("http://idp/token")
            .scope("s1")
            .property("k", "v");
        assert_eq!(c.token.as_deref(), Some("tok"));
        assert_eq!(c.oauth2_server_uri.as_deref(), Some("http://idp/token"));
        assert_eq!(c.properties["k"], "v");
        assert!(!format!("{c:?}").contains("tok\""));
    }

    #[test]
    fn request_bodies_have_the_rest_shapes() {
        let creation = TableCreation::new(schema())
            .with_partition_spec(UnboundPartitionSpec {
                spec_id: None,
                fields: vec![UnboundPartitionField {
                    source_id: SourceId::from(1),
                    field_id: None,
                    name: "id_bucket".into(),
                    transform: Transform::Bucket(4),
                }],
            })
            .with_property("format-version", "2");
        let v: serde_json::Value =
            serde_json::from_slice(&json_body(&CreateTableRequest::new("t", &creation)).unwrap())
                .unwrap();
        assert_eq!(v["name"], "t");
        assert!(v.get("location").is_none());
        assert_eq!(v["schema"]["type"], "struct");
        assert_eq!(v["schema"]["fields"][0]["name"], "id");
        assert_eq!(v["partition-spec"]["fields"][0]["transform"], "bucket[4]");
        assert_eq!(v["partition-spec"]["fields"][0]["source-id"], 1);
        assert_eq!(v["write-order"]["order-id"], 0);
        assert_eq!(v["properties"]["format-version"], "2");
        let located = creation.with_location("s3://b/t");
        let v: serde_json::Value =
            serde_json::from_slice(&json_body(&CreateTableRequest::new("t", &located)).unwrap())
                .unwrap();
        assert_eq!(v["location"], "s3://b/t");

        let ident = TableIdent::new(["a", "b"], "t");
        let requirements = vec![TableRequirement::AssertRefSnapshotId {
            r#ref: "main".into(),
            snapshot_id: None,
        }];
        let updates = vec![TableUpdate::SetProperties {
            updates: [("k".to_string(), "v".to_string())].into(),
        }];
        let commit = CommitTableRequest {
            identifier: IdentRef::from(&ident),
            requirements: &requirements,
            updates: &updates,
        };
        let v: serde_json::Value = serde_json::from_slice(&json_body(&commit).unwrap()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "identifier": {"namespace": ["a", "b"], "name": "t"},
                "requirements": [{"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": null}],
                "updates": [{"action": "set-properties", "updates": {"k": "v"}}]
            })
        );
        let tx = CommitTransactionRequest {
            table_changes: vec![commit],
        };
        let v: serde_json::Value = serde_json::from_slice(&json_body(&tx).unwrap()).unwrap();
        assert_eq!(v["table-changes"][0]["identifier"]["name"], "t");

        let other = TableIdent::new(["c"], "u");
        let v: serde_json::Value = serde_json::from_slice(
            &json_body(&RenameTableRequest {
                source: IdentRef::from(&ident),
                destination: IdentRef::from(&other),
            })
            .unwrap(),
        )
        .unwrap();
        assert_eq!(
            v,
            serde_json::json!({"source": {"namespace": ["a", "b"], "name": "t"},
                               "destination": {"namespace": ["c"], "name": "u"}})
        );
        let v: serde_json::Value = serde_json::from_slice(
            &json_body(&RegisterTableRequest {
                name: "t",
                metadata_location: "s3://b/t/metadata/00001-x.metadata.json",
            })
            .unwrap(),
        )
        .unwrap();
        assert_eq!(
            v,
            serde_json::json!({"name": "t", "metadata-location": "s3://b/t/metadata/00001-x.metadata.json"})
        );
        let empty = HashMap::new();
        let namespace = ns(&["a"]);
        let v: serde_json::Value = serde_json::from_slice(
            &json_body(&CreateNamespaceRequest {
                namespace: &namespace,
                properties: &empty,
            })
            .unwrap(),
        )
        .unwrap();
        assert_eq!(v, serde_json::json!({"namespace": ["a"], "properties": {}}));
    }

    #[test]
    fn load_results_parse_with_config_and_the_best_storage_credential() {
        let md = metadata_json("s3://bucket/wh/db/t");
        let body = format!(
            r#"{{"metadata-location":"s3://bucket/wh/db/t/metadata/00000-a.metadata.json",
                "metadata":{md},
                "config":{{"s3.region":"eu-west-1","s3.access-key-id":"from-config"}},
                "storage-credentials":[
                  {{"prefix":"s3://bucket/","config":{{"s3.access-key-id":"wide"}}}},
                  {{"prefix":"s3://bucket/wh/db/t","config":{{"s3.access-key-id":"narrow"}}}},
                  {{"prefix":"s3://other/","config":{{"s3.access-key-id":"other"}}}}
                ]}}"#
        );
        let loaded = parse_load_result(body.as_bytes()).unwrap();
        assert_eq!(
            loaded.metadata_location,
            "s3://bucket/wh/db/t/metadata/00000-a.metadata.json"
        );
        assert_eq!(loaded.metadata.location(), "s3://bucket/wh/db/t");
        assert_eq!(loaded.config["s3.region"], "eu-west-1");
        assert_eq!(loaded.config["s3.access-key-id"], "narrow");

        // A commit response: no config at all.
        let body = format!(r#"{{"metadata-location":"file:///w/m.json","metadata":{md}}}"#);
        let loaded = parse_load_result(body.as_bytes()).unwrap();
        assert!(loaded.config.is_empty());

        let staged = format!(r#"{{"metadata":{md}}}"#);
        assert_eq!(
            parse_load_result(staged.as_bytes()).unwrap_err().kind(),
            ErrorKind::DataInvalid
        );
        let broken = r#"{"metadata-location":"file:///m.json","metadata":{"format-version":2}}"#;
        assert_eq!(
            parse_load_result(broken.as_bytes()).unwrap_err().kind(),
            ErrorKind::DataInvalid
        );
        assert!(parse_load_result(b"not json").is_err());
    }

    #[test]
    fn fileios_are_shared_per_store_and_config() {
        assert_eq!(store_root("s3://bucket/a/b"), "s3://bucket");
        assert_eq!(store_root("s3a://bucket/a"), "s3://bucket");
        assert_eq!(store_root("file:///tmp/x"), "file://");
        assert_eq!(store_root("/tmp/x"), "file://");
        assert_eq!(store_root("memory://wh/t"), "memory://");
        let a: HashMap<String, String> = [("x".to_string(), "1".to_string())].into();
        assert_eq!(
            IoKey::new("s3://b/t1/m.json", &a),
            IoKey::new("s3://b/t2/m.json", &a)
        );
        assert_ne!(
            IoKey::new("s3://b/t1/m.json", &a),
            IoKey::new("s3://c/t1/m.json", &a)
        );
        assert_ne!(
            IoKey::new("s3://b/t1/m.json", &a),
            IoKey::new("s3://b/t1/m.json", &HashMap::new())
        );
    }

    /// A port nothing listens on.
    fn closed_port() -> u16 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    }

    #[tokio::test]
    async fn an_unreachable_catalog_is_an_io_error_and_a_commit_that_never_left_is_not_unknown() {
        let port = closed_port();
        let err = RestCatalog::connect(RestCatalogConfig::new(format!("http://127.0.0.1:{port}")))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Io);
        assert!(
            err.message().contains("read the catalog configuration"),
            "{err}"
        );

        // The token request comes first when there is a credential.
        let err = RestCatalog::connect(
            RestCatalogConfig::new(format!("http://127.0.0.1:{port}")).credential("id", "secret"),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Io);
        assert!(err.message().contains("/v1/oauth/tokens"), "{err}");

        // A commit whose connection could not even be opened did not land: plain Io.
        let transport = Transport {
            http: reqwest::Client::new(),
            auth: Auth {
                token: tokio::sync::Mutex::new(None),
                credential: None,
                token_uri: String::new(),
                scope: DEFAULT_SCOPE.to_string(),
            },
            headers: HeaderMap::new(),
        };
        let err = transport
            .send(
                Method::POST,
                &format!("http://127.0.0.1:{port}/v1/namespaces/db/tables/t"),
                Some(Bytes::from_static(b"{}")),
                Ctx::Commit,
                "commit to table db.t",
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    }

    #[tokio::test]
    async fn bad_uris_fail_before_any_request() {
        let err = RestCatalog::connect(RestCatalogConfig::new("localhost:8181"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DataInvalid);
    }
}
