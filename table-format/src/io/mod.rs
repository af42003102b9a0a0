//! FileIO: reading and writing table files on object storage, through `object_store`.
//!
//! - [`FileIO`]: one store (local files, memory, or S3 behind the `s3` feature) addressed by
//!   full URIs (`file:///…`, `memory://…`, `s3://bucket/…`), with a conditional
//!   [`FileIO::create`] that never overwrites (metadata files are written with it).
//! - [`FileInfo`]: what a listing returns.
//!
//! S3 settings use the Iceberg property names clients send (`s3.endpoint`, `s3.region`,
//! `s3.access-key-id`, `s3.secret-access-key`, `s3.session-token`, `s3.path-style-access`),
//! falling back to the usual AWS environment variables.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::memory::InMemory;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};

use crate::{Error, ErrorKind, Result};

/// A file found by [`FileIO::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    /// The full URI.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Last modification, ms since the epoch.
    pub last_modified_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Scheme {
    File,
    Memory,
    S3,
}

/// Reads and writes files of one store, addressed by full URIs.
#[derive(Clone)]
pub struct FileIO {
    store: Arc<dyn ObjectStore>,
    scheme: Scheme,
    /// `s3://bucket` or `memory://` or `file://`: the URI prefix that maps to the store root.
    prefix: String,
}

impl std::fmt::Debug for FileIO {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileIO")
            .field("prefix", &self.prefix)
            .finish()
    }
}

fn io_err(what: impl std::fmt::Display, e: object_store::Error) -> Error {
    let kind = match &e {
        object_store::Error::NotFound { .. } => ErrorKind::NotFound,
        object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. } => {
            ErrorKind::AlreadyExists
        }
        _ => ErrorKind::Io,
    };
    Error::new(kind, format!("{what}: {e}")).with_source(e)
}

impl FileIO {
    /// A store for the location's scheme: `file://` (or a plain absolute path), `memory://`,
    /// or `s3://bucket/...` (with the `s3` feature), configured from `props`.
    pub fn from_location(location: &str, props: &HashMap<String, String>) -> Result<FileIO> {
        if location.starts_with("memory://") {
            return Ok(Self::memory());
        }
        if location.starts_with("file://") || location.starts_with('/') {
            return Ok(Self::local());
        }
        if let Some(rest) = location
            .strip_prefix("s3://")
            .or_else(|| location.strip_prefix("s3a://"))
        {
            let bucket = rest.split('/').next().unwrap_or_default();
            if bucket.is_empty() {
                return Err(Error::invalid(format!(
                    "location '{location}' names no bucket"
                )));
            }
            return Self::s3(bucket, props);
        }
        Err(Error::unsupported(format!(
            "location '{location}' has a scheme Floe does not support (file://, memory://, s3://)"
        )))
    }

    /// The local file system.
    pub fn local() -> FileIO {
        FileIO {
            store: Arc::new(object_store::local::LocalFileSystem::new()),
            scheme: Scheme::File,
            prefix: "file://".to_string(),
        }
    }

    /// Any `object_store` store, addressed with `memory://` URIs (for tests that wrap a store,
    /// e.g. to inject failures).
    pub fn from_store(store: Arc<dyn ObjectStore>) -> FileIO {
        FileIO {
            store,
            scheme: Scheme::Memory,
            prefix: "memory://".to_string(),
        }
    }

    /// A new, empty in-memory store (for tests).
    pub fn memory() -> FileIO {
        FileIO {
            store: Arc::new(InMemory::new()),
            scheme: Scheme::Memory,
            prefix: "memory://".to_string(),
        }
    }

    #[cfg(feature = "s3")]
    fn s3(bucket: &str, props: &HashMap<String, String>) -> Result<FileIO> {
        use object_store::aws::AmazonS3Builder;
        let mut b = AmazonS3Builder::from_env().with_bucket_name(bucket);
        if let Some(v) = props.get("s3.endpoint") {
            b = b.with_endpoint(v).with_allow_http(v.starts_with("http://"));
        }
        if let Some(v) = props
            .get("s3.region")
            .or_else(|| props.get("client.region"))
        {
            b = b.with_region(v);
        }
        if let Some(v) = props.get("s3.access-key-id") {
            b = b.with_access_key_id(v);
        }
        if let Some(v) = props.get("s3.secret-access-key") {
            b = b.with_secret_access_key(v);
        }
        if let Some(v) = props.get("s3.session-token") {
            b = b.with_token(v);
        }
        if let Some(v) = props.get("s3.path-style-access") {
            b = b.with_virtual_hosted_style_request(!v.eq_ignore_ascii_case("true"));
        }
        let store = b
            .build()
            .map_err(|e| Error::invalid(format!("invalid S3 configuration: {e}")).with_source(e))?;
        Ok(FileIO {
            store: Arc::new(store),
            scheme: Scheme::S3,
            prefix: format!("s3://{bucket}"),
        })
    }

    #[cfg(not(feature = "s3"))]
    fn s3(_bucket: &str, _props: &HashMap<String, String>) -> Result<FileIO> {
        Err(Error::unsupported(
            "this build of Floe has no S3 support (feature `s3`)",
        ))
    }

    /// The underlying store, for readers and writers that speak `object_store` directly.
    pub fn store(&self) -> Arc<dyn ObjectStore> {
        self.store.clone()
    }

    /// The store path of a full URI.
    pub fn object_path(&self, uri: &str) -> Result<ObjectPath> {
        let rest = match self.scheme {
            Scheme::File => uri
                .strip_prefix("file://")
                .or_else(|| uri.starts_with('/').then_some(uri)),
            Scheme::Memory => uri.strip_prefix("memory://"),
            Scheme::S3 => uri
                .strip_prefix(&self.prefix)
                .or_else(|| uri.strip_prefix(&self.prefix.replacen("s3://", "s3a://", 1))),
        }
        .ok_or_else(|| {
            Error::invalid(format!(
                "'{uri}' is not a location of this store ({})",
                self.prefix
            ))
        })?;
        if rest.split('/').any(|seg| seg == "..") {
            return Err(Error::invalid(format!("'{uri}' contains '..'")));
        }
        ObjectPath::parse(rest.trim_start_matches('/'))
            .map_err(|e| Error::invalid(format!("invalid path '{uri}': {e}")))
    }

    fn uri_of(&self, p: &ObjectPath) -> String {
        match self.scheme {
            Scheme::File => format!("file:///{p}"),
            Scheme::Memory => format!("memory://{p}"),
            Scheme::S3 => format!("{}/{p}", self.prefix),
        }
    }

    /// Read a whole file.
    pub async fn read(&self, uri: &str) -> Result<Bytes> {
        let p = self.object_path(uri)?;
        let r = self
            .store
            .get(&p)
            .await
            .map_err(|e| io_err(format!("cannot read {uri}"), e))?;
        r.bytes()
            .await
            .map_err(|e| io_err(format!("cannot read {uri}"), e))
    }

    /// Read a byte range of a file.
    pub async fn read_range(&self, uri: &str, range: Range<u64>) -> Result<Bytes> {
        let p = self.object_path(uri)?;
        self.store
            .get_range(&p, range)
            .await
            .map_err(|e| io_err(format!("cannot read {uri}"), e))
    }

    /// The size of a file.
    pub async fn size(&self, uri: &str) -> Result<u64> {
        let p = self.object_path(uri)?;
        let m = self
            .store
            .head(&p)
            .await
            .map_err(|e| io_err(format!("cannot stat {uri}"), e))?;
        Ok(m.size)
    }

    /// Whether a file exists.
    pub async fn exists(&self, uri: &str) -> Result<bool> {
        let p = self.object_path(uri)?;
        match self.store.head(&p).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(io_err(format!("cannot stat {uri}"), e)),
        }
    }

    /// Write a file, replacing any existing one (data files and manifests have unique names).
    pub async fn write(&self, uri: &str, bytes: Bytes) -> Result<()> {
        let p = self.object_path(uri)?;
        self.store
            .put(&p, PutPayload::from_bytes(bytes))
            .await
            .map_err(|e| io_err(format!("cannot write {uri}"), e))?;
        Ok(())
    }

    /// Write a file only if none exists at that location; an existing file is an
    /// [`ErrorKind::AlreadyExists`] error and is left untouched.
    pub async fn create(&self, uri: &str, bytes: Bytes) -> Result<()> {
        let p = self.object_path(uri)?;
        let opts = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        self.store
            .put_opts(&p, PutPayload::from_bytes(bytes), opts)
            .await
            .map_err(|e| io_err(format!("cannot create {uri}"), e))?;
        Ok(())
    }

    /// Delete a file; a missing file is not an error.
    pub async fn delete(&self, uri: &str) -> Result<()> {
        let p = self.object_path(uri)?;
        match self.store.delete(&p).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(io_err(format!("cannot delete {uri}"), e)),
        }
    }

    /// Every file under a prefix (a directory-like URI), recursively.
    pub async fn list(&self, prefix_uri: &str) -> Result<Vec<FileInfo>> {
        let p = self.object_path(prefix_uri)?;
        let metas: Vec<_> = self
            .store
            .list(Some(&p))
            .try_collect()
            .await
            .map_err(|e| io_err(format!("cannot list {prefix_uri}"), e))?;
        Ok(metas
            .into_iter()
            .map(|m| FileInfo {
                path: self.uri_of(&m.location),
                size: m.size,
                last_modified_ms: m.last_modified.timestamp_millis(),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_write_read_create_delete_list() {
        let io = FileIO::memory();
        io.write("memory://wh/t/a.txt", Bytes::from_static(b"hello"))
            .await
            .unwrap();
        assert_eq!(
            io.read("memory://wh/t/a.txt").await.unwrap(),
            Bytes::from_static(b"hello")
        );
        assert_eq!(
            io.read_range("memory://wh/t/a.txt", 1..3).await.unwrap(),
            Bytes::from_static(b"el")
        );
        assert_eq!(io.size("memory://wh/t/a.txt").await.unwrap(), 5);
        let err = io
            .create("memory://wh/t/a.txt", Bytes::from_static(b"x"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlreadyExists);
        assert_eq!(
            io.read("memory://wh/t/a.txt").await.unwrap(),
            Bytes::from_static(b"hello")
        );
        io.create("memory://wh/t/b.txt", Bytes::from_static(b"b"))
            .await
            .unwrap();
        let mut listed: Vec<String> = io
            .list("memory://wh/t")
            .await
            .unwrap()
            .into_iter()
            .map(|f| f.path)
            .collect();
        listed.sort();
        assert_eq!(listed, vec!["memory://wh/t/a.txt", "memory://wh/t/b.txt"]);
        io.delete("memory://wh/t/a.txt").await.unwrap();
        io.delete("memory://wh/t/a.txt").await.unwrap();
        assert!(!io.exists("memory://wh/t/a.txt").await.unwrap());
        assert_eq!(
            io.read("memory://wh/t/a.txt").await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
    }

    #[tokio::test]
    async fn local_files_with_conditional_create() {
        let dir = std::env::temp_dir().join(format!("floe-io-{}", uuid::Uuid::new_v4()));
        let uri = format!("file://{}/m/00001.metadata.json", dir.display());
        let io = FileIO::from_location(&uri, &HashMap::new()).unwrap();
        io.create(&uri, Bytes::from_static(b"{}")).await.unwrap();
        assert_eq!(
            io.create(&uri, Bytes::from_static(b"[]"))
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::AlreadyExists
        );
        assert_eq!(io.read(&uri).await.unwrap(), Bytes::from_static(b"{}"));
        let listed = io.list(&format!("file://{}", dir.display())).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].path, uri);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn paths_outside_the_store_or_with_dotdot_are_refused() {
        let io = FileIO::memory();
        assert!(io.object_path("file:///x").is_err());
        assert!(io.object_path("memory://a/../b").is_err());
        assert!(FileIO::from_location("gs://b/x", &HashMap::new()).is_err());
    }
}
