//! An object store that fails on purpose: wraps a real store and returns an error from the
//! Nth write (and every write after it, while armed), to test that failures mid-operation
//! leave tables intact.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use async_trait::async_trait;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, Result,
};

/// Fails writes once `remaining` successful writes have been used up (negative: never fails).
#[derive(Debug)]
pub struct FailingStore {
    inner: Arc<dyn ObjectStore>,
    remaining: AtomicI64,
}

impl FailingStore {
    /// Wrap `inner`; writes never fail until [`FailingStore::fail_after`] is called.
    pub fn new(inner: Arc<dyn ObjectStore>) -> Self {
        Self {
            inner,
            remaining: AtomicI64::new(-1),
        }
    }

    /// Let `n` more writes succeed, then fail every write.
    pub fn fail_after(&self, n: i64) {
        self.remaining.store(n, Ordering::SeqCst);
    }

    /// Stop failing.
    pub fn heal(&self) {
        self.remaining.store(-1, Ordering::SeqCst);
    }

    fn check(&self, location: &Path) -> Result<()> {
        let left = self.remaining.load(Ordering::SeqCst);
        if left < 0 {
            return Ok(());
        }
        if left == 0 {
            return Err(object_store::Error::Generic {
                store: "FailingStore",
                source: format!("injected failure writing {location}").into(),
            });
        }
        self.remaining.fetch_sub(1, Ordering::SeqCst);
        Ok(())
    }
}

impl fmt::Display for FailingStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FailingStore({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for FailingStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        self.check(location)?;
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.check(location)?;
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.check(to)?;
        self.inner.copy_opts(from, to, options).await
    }
}
