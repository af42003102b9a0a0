//! `POST /v1/oauth/tokens`: OAuth2 client credentials (from the form body, or HTTP Basic as
//! DuckDB sends them) and token exchange (a valid catalog token for a fresh one), answering
//! in OAuth2's own shapes (RFC 6749 §5), which is what clients parse here.

use std::collections::HashMap;

use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use serde_json::json;

use super::SharedState;
use crate::auth::{AuthMode, TokenGrantError};

/// The token route.
pub fn routes() -> Router<SharedState> {
    Router::new().route("/v1/oauth/tokens", post(tokens))
}

const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// The token handed out when the server runs with `--auth none`: it is never checked.
const NO_AUTH_TOKEN: &str = "floe-auth-none";

fn oauth_error(status: StatusCode, error: &str, description: impl Into<String>) -> Response {
    let mut resp = (
        status,
        axum::Json(json!({"error": error, "error_description": description.into()})),
    )
        .into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status == StatusCode::UNAUTHORIZED {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"floe\""),
        );
    }
    resp
}

/// Client id and secret from an `Authorization: Basic` header (each form-url-encoded inside,
/// per RFC 6749 §2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let unescape = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .map(|c| c.into_owned())
            .ok()
    };
    Some((unescape(id)?, unescape(secret)?))
}

async fn tokens(
    State(state): State<SharedState>,
    headers: HeaderMap,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let Form(form) = match form {
        Ok(f) => f,
        Err(e) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                format!("the body must be application/x-www-form-urlencoded: {e}"),
            );
        }
    };
    let grant_type = form.get("grant_type").map(String::as_str).unwrap_or("");
    let issued = match grant_type {
        "client_credentials" => {
            let (id, secret) = match (form.get("client_id"), form.get("client_secret")) {
                (Some(id), Some(secret)) => (id.clone(), secret.clone()),
                _ => match basic_credentials(&headers) {
                    Some(c) => c,
                    None => {
                        return oauth_error(
                            StatusCode::UNAUTHORIZED,
                            "invalid_client",
                            "send client_id and client_secret in the body or as HTTP Basic \
                             credentials",
                        );
                    }
                },
            };
            if state.access.mode() == AuthMode::None {
                Ok(NO_AUTH_TOKEN.to_string())
            } else {
                state.access.token_for_credentials(&id, &secret).await
            }
        }
        TOKEN_EXCHANGE => match form.get("subject_token") {
            Some(_) if state.access.mode() == AuthMode::None => Ok(NO_AUTH_TOKEN.to_string()),
            Some(t) => state.access.token_for_exchange(t).await,
            None => {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "token exchange needs a subject_token",
                );
            }
        },
        "" => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is required",
            );
        }
        other => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!("grant_type '{other}' is not supported: use client_credentials"),
            );
        }
    };
    match issued {
        Ok(token) => {
            let mut body = json!({
                "access_token": token,
                "token_type": "bearer",
                "expires_in": state.access.token_ttl().num_seconds(),
                "issued_token_type": ACCESS_TOKEN_TYPE,
            });
            if let Some(scope) = form.get("scope") {
                body["scope"] = json!(scope);
            }
            let mut resp = axum::Json(body).into_response();
            resp.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            resp
        }
        Err(TokenGrantError::InvalidClient) => oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client or wrong secret",
        ),
        Err(TokenGrantError::InvalidGrant) => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "the subject token is not valid",
        ),
        Err(TokenGrantError::Disabled) => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            TokenGrantError::Disabled.to_string(),
        ),
        Err(TokenGrantError::Internal(e)) => {
            tracing::error!("token endpoint: {e}");
            oauth_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "the server could not issue a token",
            )
        }
    }
}
