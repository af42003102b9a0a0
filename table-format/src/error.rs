//! The crate's error type.
//!
//! - [`ErrorKind`]: what went wrong, in terms a caller can act on (and map to HTTP statuses).
//! - [`Error`]: a kind, a message that says what to do next, and an optional source.

use std::fmt;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of failure an [`Error`] is; decides how callers react to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Input (JSON, bytes, a value) that does not follow the spec.
    DataInvalid,
    /// A valid request for something Floe does not implement (yet).
    FeatureUnsupported,
    /// A commit requirement failed against the current metadata: the table changed
    /// underneath the caller. Retrying against the new metadata can help.
    CommitConflict,
    /// A table update that can never apply to this table (bad id, bad type change, ...).
    InvalidUpdate,
    /// A file or object that should exist does not.
    NotFound,
    /// A file or object that must not exist yet does (conditional create).
    AlreadyExists,
    /// Storage failed (network, permissions, disk); retrying may help.
    Io,
    /// A commit was sent but its outcome is unknown (the catalog failed with a 5xx, or the
    /// connection broke after the request went out): it may have landed. Never retry it
    /// blindly and never delete the files it references; reload the table to find out.
    CommitStateUnknown,
}

impl ErrorKind {
    /// A stable, short name for the kind, used in messages and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::DataInvalid => "DataInvalid",
            ErrorKind::FeatureUnsupported => "FeatureUnsupported",
            ErrorKind::CommitConflict => "CommitConflict",
            ErrorKind::InvalidUpdate => "InvalidUpdate",
            ErrorKind::NotFound => "NotFound",
            ErrorKind::AlreadyExists => "AlreadyExists",
            ErrorKind::Io => "Io",
            ErrorKind::CommitStateUnknown => "CommitStateUnknown",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Floe's error: a kind, a human message and, where there is one, the underlying cause.
#[derive(Debug, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct Error {
    kind: ErrorKind,
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    /// Set when retrying cannot help even though the kind usually allows it.
    final_: bool,
}

impl Error {
    /// A new error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
            final_: false,
        }
    }

    /// Attach the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// Shorthand for a [`ErrorKind::DataInvalid`] error.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::DataInvalid, message)
    }

    /// Shorthand for a [`ErrorKind::FeatureUnsupported`] error.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::FeatureUnsupported, message)
    }

    /// Shorthand for a [`ErrorKind::CommitConflict`] error.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::CommitConflict, message)
    }

    /// Shorthand for a [`ErrorKind::InvalidUpdate`] error.
    pub fn invalid_update(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidUpdate, message)
    }

    /// Shorthand for a [`ErrorKind::CommitStateUnknown`] error.
    pub fn commit_state_unknown(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::CommitStateUnknown, message)
    }

    /// What kind of error this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The human-readable message, without the kind prefix.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether retrying the same operation against fresh table metadata can succeed.
    pub fn is_retryable(&self) -> bool {
        !self.final_ && matches!(self.kind, ErrorKind::CommitConflict)
    }

    /// Mark the error as one that retrying cannot fix (e.g. a conflict with a concurrent
    /// delete of the same files).
    pub fn non_retryable(mut self) -> Self {
        self.final_ = true;
        self
    }

    /// Prefix the message with context, keeping kind and source.
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::invalid(format!("invalid JSON: {e}")).with_source(e)
    }
}
