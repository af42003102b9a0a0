//! API documentation routes: `GET /openapi.yaml` serves `spec/openapi.yaml` (embedded at build
//! time) and `GET /docs` serves Swagger UI, whose files are compiled into the binary
//! (`utoipa-swagger-ui` with its `vendored` feature: nothing is downloaded at build or run time).
//! The page loads `/openapi.yaml` from the same server, so "Try it out" calls this server.

use axum::Router;
use axum::http::header;
use axum::routing::get;
use utoipa_swagger_ui::{Config, SwaggerUi};

/// The OpenAPI document of this server, `spec/openapi.yaml`.
pub const OPENAPI_YAML: &str = include_str!("../../../spec/openapi.yaml");

/// `GET /openapi.yaml`, and `GET /docs` (which redirects to `/docs/`, the Swagger UI page, with
/// its assets under `/docs/*`).
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let ui: Router<S> = SwaggerUi::new("/docs")
        .config(Config::from("/openapi.yaml"))
        .into();
    ui.route("/openapi.yaml", get(openapi_yaml))
}

async fn openapi_yaml() -> ([(header::HeaderName, &'static str); 1], &'static str) {
    ([(header::CONTENT_TYPE, "application/yaml")], OPENAPI_YAML)
}
