//! Photo storage through `object_store`: the local filesystem by default
//! (under `<data dir>/photos`). The database holds metadata and keys only.

use object_store::{local::LocalFileSystem, ObjectStore};
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct Storage {
    pub store: Arc<dyn ObjectStore>,
}

impl Storage {
    pub fn local(data_dir: &std::path::Path) -> anyhow::Result<Self> {
        let photos_dir = data_dir.join("photos");
        std::fs::create_dir_all(&photos_dir)?;
        let store = LocalFileSystem::new_with_prefix(&photos_dir)?;
        Ok(Self { store: Arc::new(store) })
    }
}
