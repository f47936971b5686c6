//! The storage interface of DESIGN.md §6: an ordered, transactional key-value store with range
//! scans, an outbox, sequences and a blob store. Services are written only against [`Store`];
//! backends implement [`Backend`] (in their own crates, except the in-memory reference) and
//! must pass [`conformance`].
//!
//! Architecture invariant: nothing here knows a service; nothing in a service knows a backend.

use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

pub mod blob;
mod changes;
pub mod claims;
pub mod conformance;
mod decoded;
pub mod faulty;
pub mod group;
pub mod json;
pub mod memory;
pub mod nodes;
pub mod sequences;

pub use blob::{BlobStore, BlobWriter, FsBlobs, MemBlobs};
pub use changes::Changes;
pub use claims::OutboxClaims;
pub use decoded::decoded;
pub use sequences::SequenceBlocks;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
    /// The backend could not read or write durably.
    #[error("storage I/O failed: {0}")]
    Io(String),
    /// The store was closed (shutdown in progress).
    #[error("storage is closed")]
    Closed,
    /// The transaction's code panicked; its changes were rolled back.
    #[error("transaction aborted")]
    Aborted,
    /// A fault injected by [`faulty::FaultyBackend`].
    #[error("injected storage fault")]
    Injected,
}

/// Reads within a transaction or snapshot.
pub trait ReadTxn {
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>>;
    /// Entries with `start <= key < end` (no upper bound when `end` is `None`), ascending,
    /// at most `limit`.
    fn scan(&mut self, start: &[u8], end: Option<&[u8]>, limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>>;
    /// Entries with `start <= key < end` (no upper bound when `end` is `None`), descending from
    /// the largest, at most `limit`. Backends override this default, which reads the whole
    /// range.
    fn scan_rev(&mut self, start: &[u8], end: Option<&[u8]>, limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut all = self.scan(start, end, usize::MAX)?;
        all.reverse();
        all.truncate(limit);
        Ok(all)
    }
}

/// A write transaction. It runs alone: every transaction is serializable, so a read followed by
/// a write is a conditional write.
pub trait Txn: ReadTxn {
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<()>;
    fn delete(&mut self, key: &[u8]) -> Result<()>;
    /// Deletes every key in `start <= key < end` (unbounded above when `end` is `None`).
    fn delete_range(&mut self, start: &[u8], end: Option<&[u8]>) -> Result<()>;
}

/// A write transaction's body: returns whether to keep (commit) its changes.
pub type WriteFn = Box<dyn FnOnce(&mut dyn Txn) -> bool + Send>;
/// Called once the transaction's outcome is durable (or has failed).
pub type DoneFn = Box<dyn FnOnce(Result<()>) + Send>;
pub type ReadFn = Box<dyn FnOnce(&mut dyn ReadTxn) + Send>;

/// What a storage engine provides. Writes are queued to the engine, which may commit several
/// together (group commit); `done` must not be called before the commit is durable.
pub trait Backend: Send + Sync + 'static {
    fn write(&self, f: WriteFn, done: DoneFn);
    /// Runs `f` on a consistent snapshot of committed data. May block: callers run it where
    /// blocking is allowed when [`Backend::reads_block`] says so.
    fn read(&self, f: ReadFn) -> Result<()>;
    fn reads_block(&self) -> bool;
    /// Whether a read of a few point lookups only computes (no network, no lock waits), so
    /// that it is cheaper on the caller's thread than handed to a blocking thread and back.
    fn short_reads_inline(&self) -> bool {
        !self.reads_block()
    }
    /// When acknowledged writes are not yet visible to [`Backend::read`] (a backend that makes
    /// writes durable before it commits them, see [`group::Sealed`]): a receiver told once they
    /// are. A read waits for it, so that it sees every write acknowledged before it began.
    fn catch_up(&self) -> Option<tokio::sync::oneshot::Receiver<()>> {
        None
    }
    /// Stops accepting writes, finishes queued ones, closes files.
    fn close(&self);
    fn name(&self) -> &'static str;
}

/// The handle services hold: typed transactions over a [`Backend`], plus blobs and the outbox.
#[derive(Clone)]
pub struct Store {
    backend: Arc<dyn Backend>,
    blobs: Arc<dyn BlobStore>,
    outbox_signal: Arc<Notify>,
}

/// Keys below this prefix belong to the store itself (sequences, outbox).
const SYS: &[u8] = b"\0sys/";

impl Store {
    pub fn new(backend: Arc<dyn Backend>, blobs: Arc<dyn BlobStore>) -> Self {
        Self { backend, blobs, outbox_signal: Arc::new(Notify::new()) }
    }

    /// A store that keeps everything in memory (throwaway runs and tests).
    pub fn in_memory() -> Self {
        Self::new(Arc::new(memory::MemoryBackend::default()), Arc::new(MemBlobs::default()))
    }

    pub fn backend_name(&self) -> &'static str {
        self.backend.name()
    }

    pub fn blobs(&self) -> &Arc<dyn BlobStore> {
        &self.blobs
    }

    /// Runs `f` as one atomic, durable transaction. `Err` from `f` rolls its changes back and is
    /// returned as is; `Ok` is returned only once the commit is on disk.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut dyn Txn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel::<Result<T, E>>();
        let slot: Arc<Mutex<Option<Result<T, E>>>> = Arc::new(Mutex::new(None));
        let inner = slot.clone();
        let body: WriteFn = Box::new(move |txn| {
            let r = f(txn);
            let keep = r.is_ok();
            if let Ok(mut s) = inner.lock() {
                *s = Some(r);
            }
            keep
        });
        let done: DoneFn = Box::new(move |res| {
            let outcome = match res {
                Ok(()) => slot.lock().ok().and_then(|mut s| s.take()).unwrap_or(Err(E::from(StoreError::Aborted))),
                Err(e) => Err(E::from(e)),
            };
            let _ = tx.send(outcome);
        });
        self.backend.write(body, done);
        rx.await.unwrap_or_else(|_| Err(E::from(StoreError::Closed)))
    }

    /// Runs `f` on a snapshot of committed data.
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut dyn ReadTxn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.read_on(f, self.backend.reads_block()).await
    }

    /// Like [`read`](Self::read), for reads of a few point lookups on a hot path (a function's
    /// configuration on Invoke): where the backend only computes to answer them, they run on
    /// the caller's thread, saving two thread hand-offs. Never for scans of unbounded size.
    pub async fn read_short<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut dyn ReadTxn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.read_on(f, !self.backend.short_reads_inline()).await
    }

    async fn read_on<T, E, F>(&self, f: F, blocking: bool) -> Result<T, E>
    where
        F: FnOnce(&mut dyn ReadTxn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let slot: Arc<Mutex<Option<Result<T, E>>>> = Arc::new(Mutex::new(None));
        let inner = slot.clone();
        let body: ReadFn = Box::new(move |r| {
            let out = f(r);
            if let Ok(mut s) = inner.lock() {
                *s = Some(out);
            }
        });
        if let Some(visible) = self.backend.catch_up() {
            let _ = visible.await;
        }
        let backend = self.backend.clone();
        let status = if blocking {
            tokio::task::spawn_blocking(move || backend.read(body)).await.unwrap_or(Err(StoreError::Aborted))
        } else {
            backend.read(body)
        };
        status.map_err(E::from)?;
        slot.lock().ok().and_then(|mut s| s.take()).unwrap_or(Err(E::from(StoreError::Aborted)))
    }

    /// Deletes everything: keys, outbox and blobs.
    pub async fn wipe(&self) -> Result<()> {
        // Outbox sequence numbers keep counting: a consumer task still finishing a record of
        // the old outbox acknowledges it by number, which must not be a new record's.
        let kept = sys_key("seq", "outbox/");
        self.write(move |t| {
            let counters = scan_prefix(t, &kept, usize::MAX)?;
            t.delete_range(b"", None)?;
            counters.iter().try_for_each(|(k, v)| t.put(k, v))
        })
        .await?;
        let blobs = self.blobs.clone();
        tokio::task::spawn_blocking(move || blobs.clear()).await.map_err(|_| StoreError::Aborted)?
    }

    pub fn close(&self) {
        self.backend.close();
    }

    /// Signalled after a transaction that pushed to the outbox has committed
    /// (see [`Store::write_signalling`]).
    pub fn outbox_signal(&self) -> &Arc<Notify> {
        &self.outbox_signal
    }

    /// Like [`Store::write`], and wakes the outbox's consumers once committed.
    pub async fn write_signalling<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut dyn Txn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let r = self.write(f).await;
        if r.is_ok() {
            self.outbox_signal.notify_waiters();
        }
        r
    }

    /// Outbox records of `topic` with sequence > `after`, oldest first.
    pub async fn outbox_pending(&self, topic: &str, after: u64, limit: usize) -> Result<Vec<(u64, Vec<u8>)>> {
        let start = outbox_key(topic, after.saturating_add(1));
        let end = outbox_key(topic, u64::MAX);
        self.read(move |r| {
            let rows = r.scan(&start, Some(&end), limit)?;
            Ok(rows
                .into_iter()
                .filter_map(|(k, v)| Some((u64::from_be_bytes(k.get(k.len().checked_sub(8)?..)?.try_into().ok()?), v)))
                .collect())
        })
        .await
    }

    /// Removes a delivered outbox record.
    pub async fn outbox_ack(&self, topic: &str, seq: u64) -> Result<()> {
        let key = outbox_key(topic, seq);
        self.write(move |t| t.delete(&key)).await
    }

    /// Removes several delivered outbox records in one transaction.
    pub async fn outbox_ack_many(&self, topic: &str, seqs: &[u64]) -> Result<()> {
        if seqs.is_empty() {
            return Ok(());
        }
        let keys: Vec<Vec<u8>> = seqs.iter().map(|s| outbox_key(topic, *s)).collect();
        self.write(move |t| keys.iter().try_for_each(|k| t.delete(k))).await
    }
}

fn sys_key(kind: &str, name: &str) -> Vec<u8> {
    let mut k = SYS.to_vec();
    k.extend_from_slice(kind.as_bytes());
    k.push(b'/');
    k.extend_from_slice(name.as_bytes());
    k
}

fn outbox_key(topic: &str, seq: u64) -> Vec<u8> {
    let mut k = sys_key("outbox", topic);
    k.push(b'/');
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// Allocates the next number of the named sequence (1, 2, 3, …) inside a transaction.
pub fn next_sequence(txn: &mut dyn Txn, name: &str) -> Result<u64> {
    next_sequences(txn, name, 1)
}

/// Reserves `count` numbers of the named sequence and returns the first.
pub fn next_sequences(txn: &mut dyn Txn, name: &str, count: u64) -> Result<u64> {
    let key = sys_key("seq", name);
    let current = match txn.get(&key)? {
        Some(v) => u64::from_be_bytes(v.as_slice().try_into().map_err(|_| StoreError::Io("corrupt sequence".into()))?),
        None => 0,
    };
    txn.put(&key, &(current + count).to_be_bytes())?;
    Ok(current + 1)
}

/// The last number the named sequence handed out, if any.
pub fn current_sequence(r: &mut dyn ReadTxn, name: &str) -> Result<Option<u64>> {
    match r.get(&sys_key("seq", name))? {
        Some(v) => Ok(Some(u64::from_be_bytes(
            v.as_slice().try_into().map_err(|_| StoreError::Io("corrupt sequence".into()))?,
        ))
        .filter(|n| *n > 0)),
        None => Ok(None),
    }
}

/// Appends a record to the outbox of `topic` in the same transaction as the write that caused it.
pub fn outbox_push(txn: &mut dyn Txn, topic: &str, payload: &[u8]) -> Result<u64> {
    let seq = next_sequence(txn, &format!("outbox/{topic}"))?;
    txn.put(&outbox_key(topic, seq), payload)?;
    Ok(seq)
}

/// The smallest key greater than every key starting with `prefix` (None if there is none).
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// Where a name-ordered listing under `base` starts: at the first name with `prefix`, or just
/// after the name `after` (a pagination token's last name), whichever comes later.
pub fn listing_start(base: &[u8], prefix: &str, after: Option<&str>) -> Vec<u8> {
    let mut start = base.to_vec();
    start.extend_from_slice(prefix.as_bytes());
    if let Some(after) = after {
        let mut k = base.to_vec();
        k.extend_from_slice(after.as_bytes());
        k.push(0);
        start = start.max(k);
    }
    start
}

/// All entries whose key starts with `prefix`, at most `limit`.
pub fn scan_prefix(r: &mut dyn ReadTxn, prefix: &[u8], limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let end = prefix_end(prefix);
    r.scan(prefix, end.as_deref(), limit)
}

impl From<StoreError> for stratus_core::AwsError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Closed => stratus_core::AwsError::unavailable("The service is shutting down."),
            other => stratus_core::AwsError::internal(format!("Internal storage error: {other}")),
        }
    }
}
