//! Photo storage. The database holds metadata and object keys only; the bytes
//! go to the local filesystem by default (under `<data dir>/photos`).

use std::path::PathBuf;

#[derive(Clone, Debug)]
pub struct Storage {
    pub photos_dir: PathBuf,
}

impl Storage {
    pub fn local(data_dir: &std::path::Path) -> anyhow::Result<Self> {
        let photos_dir = data_dir.join("photos");
        std::fs::create_dir_all(&photos_dir)?;
        Ok(Self { photos_dir })
    }
}
