//! The embedded durable backend: SQLite in WAL mode, written by one writer thread with group
//! commit. A group of transactions is durable once its changes are in the redo log
//! ([`redo`]), synced; SQLite commits every [`PUBLISH_AFTER`](stratus_storage::group) or as soon
//! as a reader needs to see an acknowledged write, so that most groups cost one small log
//! append and sync instead of a SQLite commit. Each transaction runs inside its own savepoint,
//! so one that fails rolls back alone.

mod cache;
mod redo;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};

use stratus_storage::group::{GroupConnection, GroupWriter, Sealed};
use stratus_storage::{Backend, DoneFn, FsBlobs, ReadFn, ReadTxn, Result, Store, StoreError, Txn, WriteFn};

/// The embedded durable store in `dir`: `stratus.db` and the `blobs/` folder.
pub fn open_dir(dir: &Path) -> Result<Store> {
    std::fs::create_dir_all(dir).map_err(io)?;
    let backend = SqliteBackend::open(&dir.join("stratus.db"))?;
    let blobs = FsBlobs::open(&dir.join("blobs"))?;
    Ok(Store::new(Arc::new(backend), Arc::new(blobs)))
}

/// How many queued transactions at most share one group.
const MAX_GROUP: usize = 512;

/// The redo log's size: a group whose record does not fit behind the others is committed to
/// SQLite directly (and the log starts again).
pub const LOG_CAPACITY: u64 = 8 << 20;

pub struct SqliteBackend {
    path: PathBuf,
    writer: GroupWriter,
    readers: Mutex<Vec<Connection>>,
}

fn io(e: impl std::fmt::Display) -> StoreError {
    StoreError::Io(e.to_string())
}

/// `synchronous=NORMAL`: in WAL mode a commit is consistent but durable only once the WAL is
/// synced (before each checkpoint, or by the writer before the redo log starts again). What
/// was acknowledged and is not yet durable in SQLite is in the redo log.
fn open_conn(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path).map_err(io)?;
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000; PRAGMA temp_store=MEMORY;",
    )
    .map_err(io)?;
    Ok(conn)
}

impl SqliteBackend {
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with(path, LOG_CAPACITY)
    }

    /// Like [`open`](Self::open) with a redo log of `log_capacity` bytes (tests use small ones
    /// to make the log start again often).
    pub fn open_with(path: &Path, log_capacity: u64) -> Result<Self> {
        let conn = open_conn(path)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID;
             CREATE TABLE IF NOT EXISTS redo_mark (id INTEGER PRIMARY KEY CHECK (id = 0), seq INTEGER NOT NULL);
             PRAGMA cache_size=-32768;",
        )
        .map_err(io)?;
        let mut log_path = path.as_os_str().to_owned();
        log_path.push("-redo");
        let mut wal_path = path.as_os_str().to_owned();
        wal_path.push("-wal");
        let log = redo::RedoLog::open(Path::new(&log_path), log_capacity)?;
        let mut w = WriteConnection {
            conn,
            log,
            wal: PathBuf::from(wal_path),
            group: Vec::new(),
            last_seq: 0,
            cache: cache::HotCache::default(),
        };
        w.replay()?;
        let writer = GroupWriter::spawn(w, MAX_GROUP)?;
        Ok(Self { path: path.to_path_buf(), writer, readers: Mutex::new(Vec::new()) })
    }
}

/// The write connection, as the group writer drives it.
struct WriteConnection {
    conn: Connection,
    log: redo::RedoLog,
    wal: PathBuf,
    /// The current group's changes, behind room for the record header.
    group: Vec<u8>,
    /// The sequence number of the last group sealed.
    last_seq: u64,
    cache: cache::HotCache,
}

impl WriteConnection {
    fn mark(&self) -> Result<u64> {
        let seq: Option<i64> =
            self.conn.query_row("SELECT seq FROM redo_mark WHERE id = 0", [], |r| r.get(0)).optional().map_err(io)?;
        Ok(seq.unwrap_or(0) as u64)
    }

    fn set_mark(&self, seq: u64) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO redo_mark (id, seq) VALUES (0, ?1) ON CONFLICT(id) DO UPDATE SET seq = excluded.seq",
            )
            .map_err(io)?
            .execute(params![seq as i64])
            .map_err(io)?;
        Ok(())
    }

    /// Makes every SQLite commit so far durable.
    fn sync_wal(&self) -> Result<()> {
        match std::fs::File::open(&self.wal) {
            Ok(f) => f.sync_data().map_err(io),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(e)),
        }
    }

    /// Commits the open transaction with the mark. `durably`: also syncs the WAL, after which
    /// the log's records are no longer needed and it starts again.
    fn commit(&mut self, durably: bool) -> Result<()> {
        self.set_mark(self.last_seq)?;
        exec_cached(&self.conn, "COMMIT")?;
        if durably {
            self.sync_wal()?;
            self.log.restart();
        }
        Ok(())
    }

    /// Applies the log's records that SQLite does not hold yet (after a crash, or a failed
    /// commit), durably, and starts the log again.
    fn replay(&mut self) -> Result<()> {
        let _ = self.conn.execute_batch("ROLLBACK");
        self.cache.clear();
        exec_cached(&self.conn, "BEGIN IMMEDIATE")?;
        let mark = self.mark()?;
        self.last_seq = mark;
        for rec in self.log.read_all()? {
            if rec.seq <= mark {
                continue;
            }
            let mut t = SqliteTxn { conn: &self.conn, log: None, cache: None };
            for op in redo::decode(&rec.payload)? {
                match op {
                    redo::Op::Put(k, v) => t.put(k, v)?,
                    redo::Op::Delete(k) => t.delete(k)?,
                    redo::Op::DeleteRange(s, e) => t.delete_range(s, e)?,
                }
            }
            self.last_seq = rec.seq;
        }
        self.commit(true)
    }
}

impl GroupConnection for WriteConnection {
    fn begin(&mut self) -> Result<()> {
        exec_cached(&self.conn, "BEGIN IMMEDIATE")
    }
    fn run(&mut self, f: WriteFn) -> Result<()> {
        if self.group.is_empty() {
            self.group.resize(redo::HEADER, 0);
        }
        run_one(&self.conn, f, &mut self.group, &mut self.cache)
    }
    fn seal(&mut self) -> Result<Sealed> {
        let mut group = std::mem::take(&mut self.group);
        if group.len() <= redo::HEADER {
            // Nothing changed: nothing to make durable.
            return Ok(Sealed::Pending);
        }
        let seq = self.last_seq + 1;
        if !self.log.fits(group.len()) {
            self.last_seq = seq;
            self.commit(true)?;
            return Ok(Sealed::Visible);
        }
        self.log.append(seq, &mut group)?;
        self.last_seq = seq;
        // The buffer is kept for the next group.
        group.clear();
        self.group = group;
        Ok(Sealed::Pending)
    }
    fn publish(&mut self) -> Result<()> {
        // The log starts again once half is used, so that a group rarely misses room.
        self.commit(self.log.used() > self.log.capacity() / 2)
    }
    fn recover(&mut self) -> Result<()> {
        self.group.clear();
        self.replay()
    }
    fn finish(&mut self) {
        // The queue closed: checkpoint so the WAL is folded into the database on a clean shutdown.
        let _ = self.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);");
    }
}

/// Runs a statement without parameters from the connection's statement cache: the
/// transaction-control statements run once or twice per transaction, and parsing them each time
/// was a visible share of the writer's time.
fn exec_cached(conn: &Connection, sql: &str) -> Result<()> {
    conn.prepare_cached(sql).map_err(io)?.execute([]).map(|_| ()).map_err(io)
}

/// Runs one transaction body inside a savepoint; rolls it back if it asks to or panics. Its
/// changes are added to `log` when it is kept.
fn run_one(conn: &Connection, f: WriteFn, log: &mut Vec<u8>, cache: &mut cache::HotCache) -> Result<()> {
    exec_cached(conn, "SAVEPOINT t")?;
    let before = log.len();
    cache.begin();
    let mut txn = SqliteTxn { conn, log: Some(log), cache: Some(cache) };
    let keep = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut txn)));
    let undo = |conn: &Connection, log: &mut Vec<u8>, cache: &mut cache::HotCache| {
        log.truncate(before);
        cache.undo();
        exec_cached(conn, "ROLLBACK TO t").and_then(|()| exec_cached(conn, "RELEASE t"))
    };
    match keep {
        Ok(true) => exec_cached(conn, "RELEASE t"),
        Ok(false) => undo(conn, log, cache),
        Err(_) => {
            undo(conn, log, cache)?;
            Err(StoreError::Aborted)
        }
    }
}

struct SqliteTxn<'a> {
    conn: &'a Connection,
    /// Where the transaction's changes are recorded for the redo log (none while replaying it).
    log: Option<&'a mut Vec<u8>>,
    /// The writer's cache, kept exact by every change (none while replaying).
    cache: Option<&'a mut cache::HotCache>,
}

fn get(conn: &Connection, key: &[u8]) -> Result<Option<Vec<u8>>> {
    conn.prepare_cached("SELECT v FROM kv WHERE k = ?1")
        .map_err(io)?
        .query_row(params![key], |r| r.get::<_, Vec<u8>>(0))
        .optional()
        .map_err(io)
}

fn scan(conn: &Connection, start: &[u8], end: Option<&[u8]>, limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = match end {
        Some(end) => {
            let mut st =
                conn.prepare_cached("SELECT k, v FROM kv WHERE k >= ?1 AND k < ?2 ORDER BY k LIMIT ?3").map_err(io)?;
            st.query_map(params![start, end, limit], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(io)?
                .collect::<std::result::Result<Vec<_>, _>>()
        }
        None => {
            let mut st = conn.prepare_cached("SELECT k, v FROM kv WHERE k >= ?1 ORDER BY k LIMIT ?2").map_err(io)?;
            st.query_map(params![start, limit], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(io)?
                .collect::<std::result::Result<Vec<_>, _>>()
        }
    };
    rows.map_err(io)
}

fn scan_rev(conn: &Connection, start: &[u8], end: Option<&[u8]>, limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = match end {
        Some(end) => {
            let mut st = conn
                .prepare_cached("SELECT k, v FROM kv WHERE k >= ?1 AND k < ?2 ORDER BY k DESC LIMIT ?3")
                .map_err(io)?;
            st.query_map(params![start, end, limit], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(io)?
                .collect::<std::result::Result<Vec<_>, _>>()
        }
        None => {
            let mut st =
                conn.prepare_cached("SELECT k, v FROM kv WHERE k >= ?1 ORDER BY k DESC LIMIT ?2").map_err(io)?;
            st.query_map(params![start, limit], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(io)?
                .collect::<std::result::Result<Vec<_>, _>>()
        }
    };
    rows.map_err(io)
}

impl ReadTxn for SqliteTxn<'_> {
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let Some(cache) = self.cache.as_deref_mut() else { return get(self.conn, key) };
        if let Some(v) = cache.get(key) {
            return Ok(Some(v));
        }
        let v = get(self.conn, key)?;
        if let Some(v) = &v {
            cache.remember(key, v);
        }
        Ok(v)
    }
    fn scan(&mut self, start: &[u8], end: Option<&[u8]>, limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        scan(self.conn, start, end, limit)
    }
    fn scan_rev(&mut self, start: &[u8], end: Option<&[u8]>, limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        scan_rev(self.conn, start, end, limit)
    }
}

impl Txn for SqliteTxn<'_> {
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        self.conn
            .prepare_cached("INSERT INTO kv (k, v) VALUES (?1, ?2) ON CONFLICT(k) DO UPDATE SET v = excluded.v")
            .map_err(io)?
            .execute(params![key, value])
            .map_err(io)?;
        if let Some(log) = self.log.as_deref_mut() {
            redo::put(log, key, value);
        }
        if let Some(cache) = self.cache.as_deref_mut() {
            cache.put(key, value);
        }
        Ok(())
    }
    fn delete(&mut self, key: &[u8]) -> Result<()> {
        self.conn.prepare_cached("DELETE FROM kv WHERE k = ?1").map_err(io)?.execute(params![key]).map_err(io)?;
        if let Some(log) = self.log.as_deref_mut() {
            redo::delete(log, key);
        }
        if let Some(cache) = self.cache.as_deref_mut() {
            cache.delete(key);
        }
        Ok(())
    }
    fn delete_range(&mut self, start: &[u8], end: Option<&[u8]>) -> Result<()> {
        match end {
            Some(end) => self
                .conn
                .prepare_cached("DELETE FROM kv WHERE k >= ?1 AND k < ?2")
                .map_err(io)?
                .execute(params![start, end]),
            None => self.conn.prepare_cached("DELETE FROM kv WHERE k >= ?1").map_err(io)?.execute(params![start]),
        }
        .map_err(io)?;
        if let Some(log) = self.log.as_deref_mut() {
            redo::delete_range(log, start, end);
        }
        if let Some(cache) = self.cache.as_deref_mut() {
            cache.delete_range(start, end);
        }
        Ok(())
    }
}

struct ReadConn<'a>(&'a Connection);

impl ReadTxn for ReadConn<'_> {
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        get(self.0, key)
    }
    fn scan(&mut self, start: &[u8], end: Option<&[u8]>, limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        scan(self.0, start, end, limit)
    }
    fn scan_rev(&mut self, start: &[u8], end: Option<&[u8]>, limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        scan_rev(self.0, start, end, limit)
    }
}

impl Backend for SqliteBackend {
    fn write(&self, f: WriteFn, done: DoneFn) {
        self.writer.write(f, done);
    }

    fn read(&self, f: ReadFn) -> Result<()> {
        let conn = match self.readers.lock().map_err(|_| StoreError::Aborted)?.pop() {
            Some(c) => c,
            None => open_conn(&self.path)?,
        };
        // One read transaction, so that every read in `f` sees the same snapshot.
        exec_cached(&conn, "BEGIN")?;
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut ReadConn(&conn))));
        let end = exec_cached(&conn, "COMMIT");
        if let Ok(mut pool) = self.readers.lock() {
            pool.push(conn);
        }
        r.map_err(|_| StoreError::Aborted)?;
        end
    }

    fn catch_up(&self) -> Option<tokio::sync::oneshot::Receiver<()>> {
        self.writer.catch_up()
    }

    fn reads_block(&self) -> bool {
        true
    }

    fn short_reads_inline(&self) -> bool {
        // A WAL reader never waits for a lock, and a free connection is always at hand (one is
        // opened when the pool is empty): a few point lookups are microseconds of CPU.
        true
    }

    fn close(&self) {
        self.writer.close();
        if let Ok(mut r) = self.readers.lock() {
            r.clear();
        }
    }

    fn name(&self) -> &'static str {
        "sqlite"
    }
}

impl Drop for SqliteBackend {
    fn drop(&mut self) {
        self.close();
    }
}
