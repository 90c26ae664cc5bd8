//! Photo storage through `object_store`: the local filesystem by default
//! (under `<data dir>/photos`), any S3-compatible service by configuration.
//! One store is built at start-up; the database holds metadata and keys only.

use crate::config::Config;
use object_store::{
    aws::{AmazonS3, AmazonS3Builder},
    local::LocalFileSystem,
    path::Path,
    signer::{SignedUrlOptions, Signer},
    ObjectStore,
};
use std::{sync::Arc, time::Duration};

#[derive(Clone)]
pub struct Storage {
    pub store: Arc<dyn ObjectStore>,
    /// Present for S3: clients upload and download by presigned URL, past the API.
    pub s3: Option<Arc<AmazonS3>>,
    /// Counts calls for `/metrics` (shared with the rest of the app).
    pub metrics: Arc<crate::infra::metrics::Metrics>,
}

impl Storage {
    pub fn from_config(cfg: &Config) -> anyhow::Result<Self> {
        match &cfg.s3 {
            None => {
                let photos_dir = cfg.data_dir.join("photos");
                std::fs::create_dir_all(&photos_dir)?;
                Ok(Self {
                    store: Arc::new(LocalFileSystem::new_with_prefix(&photos_dir)?),
                    s3: None,
                    metrics: Default::default(),
                })
            }
            Some(s3) => {
                let store = Arc::new(
                    AmazonS3Builder::new()
                        .with_endpoint(&s3.endpoint)
                        .with_allow_http(s3.endpoint.starts_with("http://"))
                        .with_virtual_hosted_style_request(!s3.path_style)
                        .with_region(&s3.region)
                        .with_bucket_name(&s3.bucket)
                        .with_access_key_id(s3.access_key.expose())
                        .with_secret_access_key(s3.secret_key.expose())
                        .build()?,
                );
                Ok(Self { store: store.clone(), s3: Some(store), metrics: Default::default() })
            }
        }
    }

    /// A presigned PUT bound to the key and the content type. (object_store will not
    /// sign Content-Length; the exact size is enforced when the upload is confirmed.)
    pub async fn presigned_put(&self, key: &str, content_type: &str, ttl: Duration) -> anyhow::Result<Option<String>> {
        let Some(s3) = &self.s3 else { return Ok(None) };
        self.note("presign_put");
        let opts = SignedUrlOptions::new().with_signed_header(http::header::CONTENT_TYPE, content_type.parse()?);
        Ok(Some(s3.signed_url_opts(http::Method::PUT, &Path::from(key), ttl, &opts).await?.to_string()))
    }

    /// A presigned GET, for S3 only.
    pub async fn presigned_get(&self, key: &str, ttl: Duration) -> anyhow::Result<Option<String>> {
        let Some(s3) = &self.s3 else { return Ok(None) };
        self.note("presign_get");
        Ok(Some(s3.signed_url(http::Method::GET, &Path::from(key), ttl).await?.to_string()))
    }

    /// Counts one object-store call for `/metrics`.
    pub fn note(&self, op: &'static str) {
        self.metrics.store_call(op);
    }
}
