//! Blob store for large bodies (object data, code bundles): named byte strings, durable before
//! `put` returns.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::{Result, StoreError};

pub trait BlobStore: Send + Sync + 'static {
    fn put(&self, name: &str, data: &[u8]) -> Result<()>;
    fn get(&self, name: &str) -> Result<Option<Vec<u8>>>;
    fn delete(&self, name: &str) -> Result<()>;
    fn clear(&self) -> Result<()>;
}

#[derive(Default)]
pub struct MemBlobs {
    map: Mutex<HashMap<String, Vec<u8>>>,
}

impl BlobStore for MemBlobs {
    fn put(&self, name: &str, data: &[u8]) -> Result<()> {
        self.map.lock().map_err(|_| StoreError::Aborted)?.insert(name.to_string(), data.to_vec());
        Ok(())
    }
    fn get(&self, name: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.map.lock().map_err(|_| StoreError::Aborted)?.get(name).cloned())
    }
    fn delete(&self, name: &str) -> Result<()> {
        self.map.lock().map_err(|_| StoreError::Aborted)?.remove(name);
        Ok(())
    }
    fn clear(&self) -> Result<()> {
        self.map.lock().map_err(|_| StoreError::Aborted)?.clear();
        Ok(())
    }
}

/// Blobs as files: written to a temporary file, fsynced, renamed into place, directory fsynced.
pub struct FsBlobs {
    dir: PathBuf,
}

fn io(e: std::io::Error) -> StoreError {
    StoreError::Io(e.to_string())
}

impl FsBlobs {
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(io)?;
        Ok(Self { dir: dir.to_path_buf() })
    }

    /// Names are hex-encoded so that no name can escape the directory.
    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(hex::encode(name.as_bytes()))
    }
}

impl BlobStore for FsBlobs {
    fn put(&self, name: &str, data: &[u8]) -> Result<()> {
        let path = self.path(name);
        let tmp = path.with_extension("tmp");
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(data).map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)?;
        std::fs::File::open(&self.dir).and_then(|d| d.sync_all()).map_err(io)
    }
    fn get(&self, name: &str) -> Result<Option<Vec<u8>>> {
        match std::fs::read(self.path(name)) {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(e)),
        }
    }
    fn delete(&self, name: &str) -> Result<()> {
        match std::fs::remove_file(self.path(name)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(e)),
            _ => Ok(()),
        }
    }
    fn clear(&self) -> Result<()> {
        for entry in std::fs::read_dir(&self.dir).map_err(io)? {
            let entry = entry.map_err(io)?;
            std::fs::remove_file(entry.path()).map_err(io)?;
        }
        Ok(())
    }
}
