//! `catalog-server admin ...`: a small client of a running catalog's management API, for
//! the common chores: principals, roles, grants. It fetches a token with the given client
//! credentials (the root's by default: `FLOE_ROOT_CLIENT_ID` / `FLOE_ROOT_CLIENT_SECRET`)
//! and prints the server's JSON answers.

use clap::{Args, Subcommand};
use serde_json::{Value, json};

/// The `admin` command's arguments.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct AdminArgs {
    /// The catalog's base URL
    #[arg(long, env = "FLOE_URL", default_value = "http://127.0.0.1:8181")]
    pub url: String,
    /// Client id to act as [default: the root's, FLOE_ROOT_CLIENT_ID]
    #[arg(long, env = "FLOE_ADMIN_CLIENT_ID")]
    pub client_id: Option<String>,
    /// Client secret to act with [default: the root's, FLOE_ROOT_CLIENT_SECRET]
    #[arg(long, env = "FLOE_ADMIN_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: Option<String>,
    /// What to do
    #[command(subcommand)]
    pub action: AdminAction,
}

/// Where a grant applies.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct On {
    /// Warehouse
    #[arg(long, default_value = "default")]
    pub warehouse: String,
    /// Namespace, levels separated by dots (`gold` or `gold.features`)
    #[arg(long)]
    pub namespace: Option<String>,
    /// Table (needs --namespace)
    #[arg(long, requires = "namespace")]
    pub table: Option<String>,
}

/// A grant or revoke.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct GrantArgs {
    /// Privileges, comma-separated (USAGE, SELECT, MODIFY, CREATE, MANAGE, ALL_PRIVILEGES)
    pub privileges: String,
    /// Where
    #[command(flatten)]
    pub on: On,
    /// To (or from) this principal
    #[arg(long, conflicts_with = "role", required_unless_present = "role")]
    pub principal: Option<String>,
    /// To (or from) this role
    #[arg(long)]
    pub role: Option<String>,
}

/// The admin actions.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum AdminAction {
    /// Create a principal and print its client id and secret (shown only now)
    CreatePrincipal {
        /// Its name
        name: String,
    },
    /// List principals
    ListPrincipals,
    /// Delete a principal with its grants
    DeletePrincipal {
        /// Its name
        name: String,
    },
    /// Issue a new client secret for a principal
    RotateSecret {
        /// Its name
        name: String,
    },
    /// Create a role
    CreateRole {
        /// Its name
        name: String,
    },
    /// Add a principal to a role
    AddMember {
        /// The role
        role: String,
        /// The principal
        principal: String,
    },
    /// Grant privileges
    Grant(GrantArgs),
    /// Revoke privileges
    Revoke(GrantArgs),
    /// Show the grants on a securable, or with --principal what that principal holds there
    ShowGrants {
        /// Where
        #[command(flatten)]
        on: On,
        /// Show this principal's effective privileges (inherited ones included)
        #[arg(long)]
        principal: Option<String>,
    },
}

fn segment(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn permissions_path(on: &On) -> String {
    let mut path = format!("/management/v1/warehouses/{}", segment(&on.warehouse));
    if let Some(ns) = &on.namespace {
        let joined = ns.split('.').collect::<Vec<_>>().join("\u{1f}");
        path.push_str(&format!("/namespaces/{}", segment(&joined)));
        if let Some(t) = &on.table {
            path.push_str(&format!("/tables/{}", segment(t)));
        }
    }
    path.push_str("/permissions");
    path
}

/// Run an admin action against the server and return what to print.
pub async fn run(args: &AdminArgs) -> Result<String, String> {
    let client = reqwest::Client::new();
    let base = args.url.trim_end_matches('/').to_string();
    let id = args
        .client_id
        .clone()
        .or_else(|| std::env::var("FLOE_ROOT_CLIENT_ID").ok());
    let secret = args
        .client_secret
        .clone()
        .or_else(|| std::env::var("FLOE_ROOT_CLIENT_SECRET").ok());
    let token = match (id, secret) {
        (Some(id), Some(secret)) => {
            let resp = client
                .post(format!("{base}/v1/oauth/tokens"))
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", id.as_str()),
                    ("client_secret", secret.as_str()),
                ])
                .send()
                .await
                .map_err(|e| format!("cannot reach {base}: {e}"))?;
            let status = resp.status();
            let body: Value = resp.json().await.map_err(|e| e.to_string())?;
            if !status.is_success() {
                return Err(format!("cannot get a token ({status}): {body}"));
            }
            body["access_token"].as_str().map(str::to_string)
        }
        _ => None,
    };
    let call = |method: reqwest::Method, path: String, body: Option<Value>| {
        let mut req = client.request(method, format!("{base}{path}"));
        if let Some(t) = &token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move {
            let resp = req
                .send()
                .await
                .map_err(|e| format!("cannot reach the catalog: {e}"))?;
            let status = resp.status();
            let text = resp.text().await.map_err(|e| e.to_string())?;
            if !status.is_success() {
                return Err(format!("{status}: {text}"));
            }
            if text.is_empty() {
                return Ok("done".to_string());
            }
            let v: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
            serde_json::to_string_pretty(&v).map_err(|e| e.to_string())
        }
    };
    use reqwest::Method;
    match &args.action {
        AdminAction::CreatePrincipal { name } => {
            call(
                Method::POST,
                "/management/v1/principals".into(),
                Some(json!({"name": name})),
            )
            .await
        }
        AdminAction::ListPrincipals => {
            call(Method::GET, "/management/v1/principals".into(), None).await
        }
        AdminAction::DeletePrincipal { name } => {
            call(
                Method::DELETE,
                format!("/management/v1/principals/{}", segment(name)),
                None,
            )
            .await
        }
        AdminAction::RotateSecret { name } => {
            call(
                Method::POST,
                format!("/management/v1/principals/{}/rotate", segment(name)),
                None,
            )
            .await
        }
        AdminAction::CreateRole { name } => {
            call(
                Method::POST,
                "/management/v1/roles".into(),
                Some(json!({"name": name})),
            )
            .await
        }
        AdminAction::AddMember { role, principal } => {
            call(
                Method::PUT,
                format!(
                    "/management/v1/roles/{}/members/{}",
                    segment(role),
                    segment(principal)
                ),
                None,
            )
            .await
        }
        AdminAction::Grant(g) | AdminAction::Revoke(g) => {
            let privileges: Vec<&str> = g
                .privileges
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .collect();
            let key = if g.principal.is_some() {
                "principal"
            } else {
                "role"
            };
            let name = g.principal.as_ref().or(g.role.as_ref());
            let verb = if matches!(args.action, AdminAction::Grant(_)) {
                "add"
            } else {
                "remove"
            };
            call(
                Method::PATCH,
                permissions_path(&g.on),
                Some(json!({"changes": [{key: name, verb: privileges}]})),
            )
            .await
        }
        AdminAction::ShowGrants { on, principal } => {
            let mut path = permissions_path(on);
            if let Some(p) = principal {
                path.push_str(&format!("?principal={}&effective=true", segment(p)));
            }
            call(Method::GET, path, None).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_paths_encode_nested_namespaces() {
        let on = On {
            warehouse: "lake".into(),
            namespace: Some("gold.features".into()),
            table: Some("user features".into()),
        };
        assert_eq!(
            permissions_path(&on),
            "/management/v1/warehouses/lake/namespaces/gold%1Ffeatures/tables/user%20features/permissions"
        );
    }
}
