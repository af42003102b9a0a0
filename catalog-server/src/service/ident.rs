//! Identifier and location rules.
//!
//! - [`validate_name`] / [`validate_namespace`]: no empty parts, no control characters, no
//!   path separators, not `.` or `..`, at most 255 characters.
//! - [`validate_storage`]: a warehouse root is an absolute `file://` path or `s3://bucket/...`.
//! - [`validate_properties`] / [`validate_location`]: no NUL characters in stored strings
//!   (PostgreSQL can store none, in `text` or `jsonb`; refusing them everywhere keeps both
//!   stores answering alike), and no control characters in locations.
//! - [`within`]: whether a location lies inside a warehouse root (after normalising `.` and
//!   `..` segments, which are refused outright).
//! - [`default_table_location`]: `<root>/<namespace levels>/<name>-<uuid>`, with characters
//!   that are unsafe in object paths replaced.

use crate::error::{ApiError, ApiResult};
use crate::store::StorageConfig;

/// Longest accepted identifier part.
pub const MAX_NAME_LEN: usize = 255;

/// Check one identifier part (a namespace level, a table or warehouse name).
pub fn validate_name(what: &str, name: &str) -> ApiResult<()> {
    let problem = if name.is_empty() {
        Some("is empty".to_string())
    } else if name.chars().count() > MAX_NAME_LEN {
        Some(format!("is longer than {MAX_NAME_LEN} characters"))
    } else if name.chars().any(char::is_control) {
        Some("contains a control character".to_string())
    } else if name.contains('/') || name.contains('\\') {
        Some("contains a path separator ('/' or '\\')".to_string())
    } else if name == "." || name == ".." {
        Some("is a relative path segment".to_string())
    } else {
        None
    };
    match problem {
        Some(p) => Err(ApiError::bad_request(format!(
            "invalid {what} {name:?}: it {p}"
        ))),
        None => Ok(()),
    }
}

/// Check every level of a namespace (and that there is at least one).
pub fn validate_namespace(levels: &[String]) -> ApiResult<()> {
    if levels.is_empty() {
        return Err(ApiError::bad_request(
            "a namespace needs at least one level",
        ));
    }
    for l in levels {
        validate_name("namespace level", l)?;
    }
    Ok(())
}

/// Check namespace properties: keys and values must not contain NUL (U+0000).
pub fn validate_properties<'a>(
    properties: impl IntoIterator<Item = (&'a String, &'a String)>,
) -> ApiResult<()> {
    for (k, v) in properties {
        if k.contains('\0') || v.contains('\0') {
            return Err(ApiError::bad_request(format!(
                "property {k:?} contains a NUL character (U+0000), which a catalog cannot store"
            )));
        }
    }
    Ok(())
}

/// Check a location a client supplies: no control characters.
pub fn validate_location(what: &str, location: &str) -> ApiResult<()> {
    if location.chars().any(char::is_control) {
        return Err(ApiError::bad_request(format!(
            "invalid {what} {location:?}: it contains a control character"
        )));
    }
    Ok(())
}

/// Check a warehouse's storage configuration.
pub fn validate_storage(storage: &StorageConfig) -> ApiResult<()> {
    let loc = storage.location();
    validate_location("warehouse location", loc)?;
    if let StorageConfig::S3 {
        endpoint,
        region,
        access_key_id,
        secret_access_key,
        ..
    } = storage
    {
        for (what, value) in [
            ("s3 endpoint", endpoint),
            ("s3 region", region),
            ("s3 access key id", access_key_id),
            ("s3 secret access key", secret_access_key),
        ] {
            if value
                .as_deref()
                .is_some_and(|v| v.chars().any(char::is_control))
            {
                return Err(ApiError::bad_request(format!(
                    "the {what} contains a control character"
                )));
            }
        }
    }
    match storage {
        StorageConfig::File { .. } => {
            let Some(path) = loc.strip_prefix("file://") else {
                return Err(ApiError::bad_request(format!(
                    "a file warehouse location must be a file:// URI, got '{loc}'"
                )));
            };
            if !path.starts_with('/') {
                return Err(ApiError::bad_request(format!(
                    "a file warehouse location must be absolute (file:///...), got '{loc}'"
                )));
            }
        }
        StorageConfig::S3 {
            endpoint,
            client_endpoint,
            ..
        } => {
            let Some(rest) = loc.strip_prefix("s3://") else {
                return Err(ApiError::bad_request(format!(
                    "an s3 warehouse location must be an s3:// URI, got '{loc}'"
                )));
            };
            if rest.split('/').next().unwrap_or_default().is_empty() {
                return Err(ApiError::bad_request(format!(
                    "the s3 location '{loc}' names no bucket"
                )));
            }
            for (what, e) in [("endpoint", endpoint), ("client-endpoint", client_endpoint)] {
                if let Some(e) = e
                    && !(e.starts_with("http://") || e.starts_with("https://"))
                {
                    return Err(ApiError::bad_request(format!(
                        "the s3 {what} must be an http(s) URL, got '{e}'"
                    )));
                }
            }
        }
    }
    if loc.split('/').any(|s| s == "." || s == "..") {
        return Err(ApiError::bad_request(format!(
            "the location '{loc}' has relative path segments"
        )));
    }
    Ok(())
}

/// Whether `location` lies inside the warehouse `root` (or is the root itself). Locations
/// with `.` or `..` segments are never inside.
pub fn within(location: &str, root: &str) -> bool {
    let root = root.trim_end_matches('/');
    let loc = location.trim_end_matches('/');
    let normalized_loc = normalize_file_uri(loc);
    let normalized_root = normalize_file_uri(root);
    if normalized_loc.split('/').any(|s| s == "." || s == "..") {
        return false;
    }
    normalized_loc == normalized_root
        || normalized_loc
            .strip_prefix(normalized_root.as_str())
            .is_some_and(|rest| rest.starts_with('/'))
}

/// `file:/x` and `/x` are the same place as `file:///x`.
fn normalize_file_uri(s: &str) -> String {
    if let Some(p) = s.strip_prefix("file://") {
        format!("file://{p}")
    } else if let Some(p) = s.strip_prefix("file:") {
        format!("file://{p}")
    } else if s.starts_with('/') {
        format!("file://{s}")
    } else {
        s.to_string()
    }
}

/// A part of an object path made from a name: characters other than letters, digits, `-`,
/// `_` and `.` become `_`.
fn path_segment(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Where a new table's files go when the client names no location.
pub fn default_table_location(
    root: &str,
    namespace: &[String],
    name: &str,
    uuid: &uuid::Uuid,
) -> String {
    let mut loc = root.trim_end_matches('/').to_string();
    for l in namespace {
        loc.push('/');
        loc.push_str(&path_segment(l));
    }
    loc.push('/');
    loc.push_str(&path_segment(name));
    loc.push('-');
    loc.push_str(&uuid.simple().to_string());
    loc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(validate_name("t", "events").is_ok());
        assert!(validate_name("t", "a.b c").is_ok());
        for bad in ["", ".", "..", "a/b", "a\\b", "a\u{1f}b", "a\nb"] {
            assert!(validate_name("t", bad).is_err(), "{bad:?} accepted");
        }
        assert!(validate_name("t", &"x".repeat(256)).is_err());
        assert!(validate_namespace(&[]).is_err());
    }

    #[test]
    fn s3_endpoints_must_be_urls() {
        let s3 = |endpoint: &str, client: &str| -> StorageConfig {
            serde_json::from_value(serde_json::json!({
                "type": "s3", "location": "s3://b/wh",
                "endpoint": endpoint, "client-endpoint": client
            }))
            .unwrap()
        };
        assert!(validate_storage(&s3("http://minio:9000", "http://localhost:9000")).is_ok());
        let e = validate_storage(&s3("http://minio:9000", "localhost:9000")).unwrap_err();
        assert!(e.message.contains("client-endpoint"), "{}", e.message);
        let e = validate_storage(&s3("minio:9000", "http://localhost:9000")).unwrap_err();
        assert!(e.message.contains("endpoint"), "{}", e.message);
    }

    #[test]
    fn locations_stay_inside_the_warehouse() {
        let root = "file:///data/wh";
        assert!(within("file:///data/wh/db/t", root));
        assert!(within("/data/wh/db/t", root));
        assert!(within("file:/data/wh/db/t", root));
        assert!(!within("file:///data/wh2/t", root));
        assert!(!within("file:///data/wh/../etc", root));
        assert!(!within("s3://b/wh/t", root));
        assert!(within("s3://b/wh/t", "s3://b/wh"));
        assert!(!within("s3://b/whx", "s3://b/wh"));
    }

    #[test]
    fn default_locations_are_path_safe() {
        let u = uuid::Uuid::nil();
        let loc = default_table_location("file:///w/", &["a b".into(), "c%".into()], "t?", &u);
        assert_eq!(loc, "file:///w/a_b/c_/t_-00000000000000000000000000000000");
    }
}
