//! Errors as the Iceberg REST error model: `{"error": {"message", "type", "code"}}`.
//!
//! - [`ApiError`]: a status, an Iceberg exception type name and a message; every handler
//!   returns it, and it renders as the error model with the right status.
//! - Conversions from the store's [`StoreError`] and table-format's [`table_format::Error`],
//!   so the service maps a failure once, where it knows what the failure means.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use table_format::ErrorKind;

use crate::store::StoreError;

/// An error answered to an HTTP client in the Iceberg error model.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The Iceberg exception name (`NoSuchTableException`, ...).
    pub kind: &'static str,
    /// What happened and, where it helps, what to do.
    pub message: String,
}

/// Handler result alias.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// An error with an explicit status and type.
    pub fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            message: message.into(),
        }
    }

    /// 400 BadRequestException.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadRequestException", message)
    }

    /// 404 NoSuchNamespaceException.
    pub fn no_such_namespace(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NoSuchNamespaceException", message)
    }

    /// 404 NoSuchTableException.
    pub fn no_such_table(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NoSuchTableException", message)
    }

    /// 404 NoSuchWarehouseException.
    pub fn no_such_warehouse(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NoSuchWarehouseException", message)
    }

    /// 409 AlreadyExistsException.
    pub fn already_exists(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "AlreadyExistsException", message)
    }

    /// 409 CommitFailedException.
    pub fn commit_failed(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "CommitFailedException", message)
    }

    /// 500 with a generic type; the message is logged, and shown.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            message,
        )
    }

    /// The error model body.
    pub fn body(&self) -> serde_json::Value {
        json!({"error": {"message": self.message, "type": self.kind, "code": self.status.as_u16()}})
    }

    /// Map a store error about a namespace.
    pub fn from_namespace_store(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(m) | StoreError::NamespaceNotFound(m) => {
                Self::no_such_namespace(m)
            }
            StoreError::NotEmpty(m) => {
                Self::new(StatusCode::CONFLICT, "NamespaceNotEmptyException", m)
            }
            other => other.into(),
        }
    }

    /// Map a store error about a warehouse.
    pub fn from_warehouse_store(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(m) => Self::no_such_warehouse(m),
            StoreError::NotEmpty(m) => {
                Self::new(StatusCode::CONFLICT, "WarehouseNotEmptyException", m)
            }
            other => other.into(),
        }
    }

    /// Map a store error about a table.
    pub fn from_table_store(e: StoreError) -> Self {
        match e {
            StoreError::NamespaceNotFound(m) => Self::no_such_namespace(m),
            StoreError::NotFound(m) => Self::no_such_table(m),
            other => other.into(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.kind,
            self.message
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(
                status = self.status.as_u16(),
                kind = self.kind,
                "{}",
                self.message
            );
        } else {
            tracing::debug!(
                status = self.status.as_u16(),
                kind = self.kind,
                "{}",
                self.message
            );
        }
        (self.status, axum::Json(self.body())).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(m) => Self::new(StatusCode::NOT_FOUND, "NotFoundException", m),
            StoreError::NamespaceNotFound(m) => Self::no_such_namespace(m),
            StoreError::AlreadyExists(m) => Self::already_exists(m),
            StoreError::NotEmpty(m) => Self::new(StatusCode::CONFLICT, "NotEmptyException", m),
            StoreError::Conflict(m) => Self::commit_failed(m),
            StoreError::Database(m) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailableException",
                m,
            ),
        }
    }
}

impl From<table_format::Error> for ApiError {
    fn from(e: table_format::Error) -> Self {
        let message = e.to_string();
        match e.kind() {
            ErrorKind::CommitConflict => Self::commit_failed(message),
            ErrorKind::InvalidUpdate | ErrorKind::DataInvalid => Self::bad_request(message),
            ErrorKind::FeatureUnsupported => Self::new(
                StatusCode::NOT_ACCEPTABLE,
                "UnsupportedOperationException",
                message,
            ),
            ErrorKind::AlreadyExists => Self::already_exists(message),
            ErrorKind::NotFound => Self::new(StatusCode::NOT_FOUND, "NotFoundException", message),
            _ => Self::internal(message),
        }
    }
}
