//! Blob store for large bodies (object data, code bundles): named byte strings, durable before
//! `put` (or a writer's `finish`) returns. Large blobs are written and read in chunks, so a
//! body of gigabytes is never held in memory: [`BlobStore::writer`] takes chunks and makes the
//! blob appear (durably, all at once) on `finish`; [`BlobStore::open_range`] reads a byte range.
//! Both block: async callers run them on a blocking thread.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::{Result, StoreError};

pub trait BlobStore: Send + Sync + 'static {
    fn put(&self, name: &str, data: &[u8]) -> Result<()>;
    fn get(&self, name: &str) -> Result<Option<Vec<u8>>>;
    fn delete(&self, name: &str) -> Result<()>;
    fn clear(&self) -> Result<()>;
    /// Starts writing the blob `name`; it becomes visible (replacing any blob of that name) only
    /// when [`BlobWriter::finish`] returns. A writer dropped unfinished leaves nothing behind.
    fn writer(&self, name: &str) -> Result<Box<dyn BlobWriter>>;
    /// Reads `len` bytes from `offset` of the blob `name` (fewer if it is shorter), or `None` if
    /// there is no such blob.
    fn open_range(&self, name: &str, offset: u64, len: u64) -> Result<Option<Box<dyn Read + Send>>>;
}

/// A blob being written, chunk by chunk.
pub trait BlobWriter: Send {
    fn write(&mut self, chunk: &[u8]) -> Result<()>;
    /// Makes the blob durable and visible.
    fn finish(self: Box<Self>) -> Result<()>;
}

#[derive(Default)]
pub struct MemBlobs {
    map: Arc<Mutex<HashMap<String, Arc<Vec<u8>>>>>,
}

struct MemWriter {
    map: Arc<Mutex<HashMap<String, Arc<Vec<u8>>>>>,
    name: String,
    data: Vec<u8>,
}

impl BlobWriter for MemWriter {
    fn write(&mut self, chunk: &[u8]) -> Result<()> {
        self.data.extend_from_slice(chunk);
        Ok(())
    }
    fn finish(self: Box<Self>) -> Result<()> {
        let this = *self;
        this.map.lock().map_err(|_| StoreError::Aborted)?.insert(this.name, Arc::new(this.data));
        Ok(())
    }
}

/// Reads a shared in-memory blob without copying it.
struct MemReader {
    data: Arc<Vec<u8>>,
    pos: usize,
    end: usize,
}

impl Read for MemReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.end.saturating_sub(self.pos));
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl BlobStore for MemBlobs {
    fn put(&self, name: &str, data: &[u8]) -> Result<()> {
        self.map.lock().map_err(|_| StoreError::Aborted)?.insert(name.to_string(), Arc::new(data.to_vec()));
        Ok(())
    }
    fn get(&self, name: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.map.lock().map_err(|_| StoreError::Aborted)?.get(name).map(|d| d.as_ref().clone()))
    }
    fn delete(&self, name: &str) -> Result<()> {
        self.map.lock().map_err(|_| StoreError::Aborted)?.remove(name);
        Ok(())
    }
    fn clear(&self) -> Result<()> {
        self.map.lock().map_err(|_| StoreError::Aborted)?.clear();
        Ok(())
    }
    fn writer(&self, name: &str) -> Result<Box<dyn BlobWriter>> {
        Ok(Box::new(MemWriter { map: self.map.clone(), name: name.to_string(), data: Vec::new() }))
    }
    fn open_range(&self, name: &str, offset: u64, len: u64) -> Result<Option<Box<dyn Read + Send>>> {
        let Some(data) = self.map.lock().map_err(|_| StoreError::Aborted)?.get(name).cloned() else {
            return Ok(None);
        };
        let pos = usize::try_from(offset).unwrap_or(usize::MAX).min(data.len());
        let end = pos.saturating_add(usize::try_from(len).unwrap_or(usize::MAX)).min(data.len());
        Ok(Some(Box::new(MemReader { data, pos, end })))
    }
}

/// Blobs as files: written to a temporary file, fsynced, renamed into place, directory fsynced.
pub struct FsBlobs {
    dir: PathBuf,
}

/// A file blob being written: a temporary file unique to this writer (two writers of one name
/// never share it), renamed into place by `finish`.
struct FsWriter {
    dir: PathBuf,
    tmp: PathBuf,
    path: PathBuf,
    file: Option<std::io::BufWriter<std::fs::File>>,
}

impl BlobWriter for FsWriter {
    fn write(&mut self, chunk: &[u8]) -> Result<()> {
        match self.file.as_mut() {
            Some(f) => f.write_all(chunk).map_err(io),
            None => Err(StoreError::Aborted),
        }
    }
    fn finish(mut self: Box<Self>) -> Result<()> {
        let f = self.file.take().ok_or(StoreError::Aborted)?;
        let f = f.into_inner().map_err(|e| io(e.into_error()))?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&self.tmp, &self.path).map_err(io)?;
        std::fs::File::open(&self.dir).and_then(|d| d.sync_all()).map_err(io)
    }
}

impl Drop for FsWriter {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            // Abandoned before `finish`: the partial file must not linger.
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
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
    fn writer(&self, name: &str) -> Result<Box<dyn BlobWriter>> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let path = self.path(name);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = path.with_extension(format!("{}-{n}.tmp", std::process::id()));
        let file = std::fs::File::create(&tmp).map_err(io)?;
        Ok(Box::new(FsWriter {
            dir: self.dir.clone(),
            tmp,
            path,
            file: Some(std::io::BufWriter::with_capacity(256 << 10, file)),
        }))
    }
    fn open_range(&self, name: &str, offset: u64, len: u64) -> Result<Option<Box<dyn Read + Send>>> {
        let mut f = match std::fs::File::open(self.path(name)) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        f.seek(SeekFrom::Start(offset)).map_err(io)?;
        Ok(Some(Box::new(f.take(len))))
    }
    fn clear(&self) -> Result<()> {
        for entry in std::fs::read_dir(&self.dir).map_err(io)? {
            let entry = entry.map_err(io)?;
            std::fs::remove_file(entry.path()).map_err(io)?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn roundtrip(blobs: &dyn BlobStore) {
        let mut w = blobs.writer("s3/a").unwrap();
        w.write(b"hello ").unwrap();
        w.write(b"world").unwrap();
        assert!(blobs.get("s3/a").unwrap().is_none(), "visible before finish");
        w.finish().unwrap();
        assert_eq!(blobs.get("s3/a").unwrap().unwrap(), b"hello world");
        let mut out = String::new();
        blobs.open_range("s3/a", 6, 3).unwrap().unwrap().read_to_string(&mut out).unwrap();
        assert_eq!(out, "wor");
        out.clear();
        blobs.open_range("s3/a", 6, 100).unwrap().unwrap().read_to_string(&mut out).unwrap();
        assert_eq!(out, "world");
        assert!(blobs.open_range("s3/none", 0, 1).unwrap().is_none());
        let w = blobs.writer("s3/b").unwrap();
        drop(w);
        assert!(blobs.get("s3/b").unwrap().is_none());
        blobs.delete("s3/a").unwrap();
        assert!(blobs.get("s3/a").unwrap().is_none());
    }

    #[test]
    fn memory_streams() {
        roundtrip(&MemBlobs::default());
    }

    #[test]
    fn files_stream_and_abandoned_writers_leave_nothing() {
        let dir = std::env::temp_dir().join(format!("stratus-blob-test-{}", std::process::id()));
        let blobs = FsBlobs::open(&dir).unwrap();
        roundtrip(&blobs);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
