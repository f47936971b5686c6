//! The embedded durable backend: SQLite in WAL mode with `synchronous=FULL`, so a commit is on
//! disk before it is acknowledged. One writer thread owns the write connection and commits every
//! transaction queued while the previous commit was syncing as one group (group commit): each
//! transaction runs inside its own savepoint, so one that fails rolls back alone.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};

use stratus_storage::group::{GroupConnection, GroupWriter};
use stratus_storage::{Backend, DoneFn, FsBlobs, ReadFn, ReadTxn, Result, Store, StoreError, Txn, WriteFn};

/// The embedded durable store in `dir`: `stratus.db` and the `blobs/` folder.
pub fn open_dir(dir: &Path) -> Result<Store> {
    std::fs::create_dir_all(dir).map_err(io)?;
    let backend = SqliteBackend::open(&dir.join("stratus.db"))?;
    let blobs = FsBlobs::open(&dir.join("blobs"))?;
    Ok(Store::new(Arc::new(backend), Arc::new(blobs)))
}

/// How many queued transactions at most share one commit.
const MAX_GROUP: usize = 512;

pub struct SqliteBackend {
    path: PathBuf,
    writer: GroupWriter,
    readers: Mutex<Vec<Connection>>,
}

fn io(e: impl std::fmt::Display) -> StoreError {
    StoreError::Io(e.to_string())
}

fn open_conn(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path).map_err(io)?;
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=10000; PRAGMA temp_store=MEMORY;",
    )
    .map_err(io)?;
    Ok(conn)
}

impl SqliteBackend {
    pub fn open(path: &Path) -> Result<Self> {
        let conn = open_conn(path)?;
        conn.execute_batch("CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID;")
            .map_err(io)?;
        conn.execute_batch("PRAGMA cache_size=-32768;").map_err(io)?;
        let writer = GroupWriter::spawn(WriteConnection(conn), MAX_GROUP)?;
        Ok(Self { path: path.to_path_buf(), writer, readers: Mutex::new(Vec::new()) })
    }
}

/// The write connection, as the group writer drives it.
struct WriteConnection(Connection);

impl GroupConnection for WriteConnection {
    fn begin(&mut self) -> Result<()> {
        exec_cached(&self.0, "BEGIN IMMEDIATE")
    }
    fn run(&mut self, f: WriteFn) -> Result<()> {
        run_one(&self.0, f)
    }
    fn commit(&mut self) -> Result<()> {
        exec_cached(&self.0, "COMMIT")
    }
    fn rollback(&mut self) {
        let _ = self.0.execute_batch("ROLLBACK");
    }
    fn finish(&mut self) {
        // The queue closed: checkpoint so the WAL is folded into the database on a clean shutdown.
        let _ = self.0.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);");
    }
}

/// Runs a statement without parameters from the connection's statement cache: the
/// transaction-control statements run once or twice per transaction, and parsing them each time
/// was a visible share of the writer's time.
fn exec_cached(conn: &Connection, sql: &str) -> Result<()> {
    conn.prepare_cached(sql).map_err(io)?.execute([]).map(|_| ()).map_err(io)
}

/// Runs one transaction body inside a savepoint; rolls it back if it asks to or panics.
fn run_one(conn: &Connection, f: WriteFn) -> Result<()> {
    exec_cached(conn, "SAVEPOINT t")?;
    let mut txn = SqliteTxn { conn };
    let keep = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut txn)));
    let undo = |conn: &Connection| exec_cached(conn, "ROLLBACK TO t").and_then(|()| exec_cached(conn, "RELEASE t"));
    match keep {
        Ok(true) => exec_cached(conn, "RELEASE t"),
        Ok(false) => undo(conn),
        Err(_) => {
            undo(conn)?;
            Err(StoreError::Aborted)
        }
    }
}

struct SqliteTxn<'a> {
    conn: &'a Connection,
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
        get(self.conn, key)
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
        Ok(())
    }
    fn delete(&mut self, key: &[u8]) -> Result<()> {
        self.conn.prepare_cached("DELETE FROM kv WHERE k = ?1").map_err(io)?.execute(params![key]).map_err(io)?;
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
