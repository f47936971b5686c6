//! The storage backend on PostgreSQL 15+ (and engines that speak its protocol): the same
//! key-value table as the embedded backend (`kv (k bytea primary key, v bytea)`, ordered by
//! bytes), written by one writer thread per node that groups queued transactions into one
//! commit (each in a savepoint, so that one failing body rolls back alone), and read through a
//! pool of connections, each read one `REPEATABLE READ` snapshot. Object bytes stay in a blob
//! directory (`FsBlobs`), which nodes share when they share a filesystem.
//!
//! One writer per database for now: several nodes on one database need the leases and
//! serializable retries of the scale-out work, which build on this.

use std::path::Path;
use std::sync::{Arc, Mutex};

use std::collections::{BTreeMap, HashMap};

use postgres::types::ToSql;
use postgres::{Client, NoTls, Statement};
use stratus_storage::group::{GroupConnection, GroupWriter, Sealed};
use stratus_storage::{Backend, DoneFn, FsBlobs, ReadFn, ReadTxn, Result, Store, StoreError, Txn, WriteFn};

/// How many queued transactions at most share one commit.
const MAX_GROUP: usize = 256;

fn io(e: impl std::fmt::Display) -> StoreError {
    StoreError::Io(e.to_string())
}

/// A store on the database at `url` (`postgres://user@host:port/db`), with blobs in `blob_dir`.
pub fn open(url: &str, blob_dir: &Path) -> Result<Store> {
    let backend = PostgresBackend::open(url)?;
    let blobs = FsBlobs::open(blob_dir)?;
    Ok(Store::new(Arc::new(backend), Arc::new(blobs)))
}

pub struct PostgresBackend {
    url: String,
    writer: GroupWriter,
    readers: Mutex<Vec<Db>>,
}

/// A connection and its prepared statements: each statement is parsed once per connection, so
/// that running it is one round trip.
struct Db {
    client: Client,
    statements: HashMap<&'static str, Statement>,
    url: String,
}

impl Db {
    fn connect(url: &str) -> Result<Db> {
        Ok(Db { client: Client::connect(url, NoTls).map_err(io)?, statements: HashMap::new(), url: url.to_string() })
    }

    /// Starts a transaction with `begin`. When the database dropped the connection (a restart,
    /// a failover, an idle timeout, `pg_terminate_backend`), connects again and starts it on
    /// the new connection: nothing ran yet, so nothing is lost or run twice.
    fn begin(&mut self, begin: &str) -> Result<()> {
        match self.batch(begin) {
            Err(_) if self.client.is_closed() => {
                *self = Db::connect(&self.url)?;
                self.batch(begin)
            }
            r => r,
        }
    }

    fn statement(&mut self, sql: &'static str) -> Result<Statement> {
        if let Some(st) = self.statements.get(sql) {
            return Ok(st.clone());
        }
        let st = self.client.prepare(sql).map_err(io)?;
        self.statements.insert(sql, st.clone());
        Ok(st)
    }

    fn query(&mut self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<postgres::Row>> {
        let st = self.statement(sql)?;
        self.client.query(&st, params).map_err(io)
    }

    fn execute(&mut self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<()> {
        let st = self.statement(sql)?;
        self.client.execute(&st, params).map(|_| ()).map_err(io)
    }

    fn batch(&mut self, sql: &str) -> Result<()> {
        self.client.batch_execute(sql).map_err(io)
    }
}

impl PostgresBackend {
    /// Connects, creates or migrates the schema ([`SCHEMA_VERSION`]) and starts the writer.
    pub fn open(url: &str) -> Result<Self> {
        let mut conn = Db::connect(url)?;
        conn.batch(
            "CREATE TABLE IF NOT EXISTS kv (k bytea PRIMARY KEY, v bytea NOT NULL);
             CREATE TABLE IF NOT EXISTS stratus_schema (version integer NOT NULL);
             INSERT INTO stratus_schema (version) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM stratus_schema);",
        )?;
        migrate(&mut conn)?;
        let writer = GroupWriter::spawn(conn, MAX_GROUP)?;
        Ok(Self { url: url.to_string(), writer, readers: Mutex::new(Vec::new()) })
    }
}

/// The schema this build writes. Each step of [`MIGRATIONS`] takes a database from version `n`
/// to `n + 1`; a database at a newer version than this build knows is refused rather than
/// written with an older layout.
pub const SCHEMA_VERSION: i32 = 1;

/// `MIGRATIONS[n - 1]` takes version `n` to `n + 1` (none yet: version 1 is the first layout).
const MIGRATIONS: &[&str] = &[];

fn migrate(conn: &mut Db) -> Result<()> {
    let rows = conn.query("SELECT max(version) FROM stratus_schema", &[])?;
    let version: i32 = rows.first().and_then(|r| r.get::<_, Option<i32>>(0)).unwrap_or(1);
    if version > SCHEMA_VERSION {
        return Err(StoreError::Io(format!(
            "the database's schema is version {version}, newer than this Stratus knows ({SCHEMA_VERSION}): \
             use a newer Stratus"
        )));
    }
    for (from, step) in (version..SCHEMA_VERSION).zip(MIGRATIONS.iter().skip((version - 1) as usize)) {
        conn.batch(&format!("BEGIN; {step}; UPDATE stratus_schema SET version = {}; COMMIT;", from + 1))?;
    }
    Ok(())
}

impl GroupConnection for Db {
    fn begin(&mut self) -> Result<()> {
        Db::begin(self, "BEGIN")
    }
    fn run(&mut self, f: WriteFn) -> Result<()> {
        run_one(self, f)
    }
    fn seal(&mut self) -> Result<Sealed> {
        self.batch("COMMIT").map(|()| Sealed::Visible)
    }
    fn recover(&mut self) -> Result<()> {
        // The failed group's transaction is undone; every earlier group was committed.
        let _ = self.batch("ROLLBACK");
        Ok(())
    }
}

/// Runs one transaction body. Its writes gather in memory and go to the database in at most
/// two statements at its end, or earlier when a range read or range delete needs them there; a
/// savepoint is taken only then, so that a body that gives up or panics after it rolls back
/// alone. Every statement is a round trip: this keeps a transaction to its reads plus one or two.
fn run_one(conn: &mut Db, f: WriteFn) -> Result<()> {
    let mut txn = WriteConn { db: conn, pending: BTreeMap::new(), savepoint: false };
    let keep = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut txn)));
    let WriteConn { db, mut pending, savepoint } = txn;
    let undo = |db: &mut Db| if savepoint { db.batch("ROLLBACK TO SAVEPOINT t; RELEASE SAVEPOINT t") } else { Ok(()) };
    match keep {
        Ok(true) => {
            flush(db, &mut pending)?;
            if savepoint { db.batch("RELEASE SAVEPOINT t") } else { Ok(()) }
        }
        Ok(false) => undo(db),
        Err(_) => {
            undo(db)?;
            Err(StoreError::Aborted)
        }
    }
}

/// Sends gathered writes: the deletes in one statement, the upserts in another.
fn flush(db: &mut Db, pending: &mut BTreeMap<Vec<u8>, Option<Vec<u8>>>) -> Result<()> {
    if pending.is_empty() {
        return Ok(());
    }
    let (mut keys, mut values, mut gone) = (Vec::new(), Vec::new(), Vec::new());
    for (k, v) in std::mem::take(pending) {
        match v {
            Some(v) => {
                keys.push(k);
                values.push(v);
            }
            None => gone.push(k),
        }
    }
    if !gone.is_empty() {
        db.execute("DELETE FROM kv WHERE k = ANY($1::bytea[])", &[&gone])?;
    }
    if !keys.is_empty() {
        db.execute(
            "INSERT INTO kv (k, v) SELECT * FROM unnest($1::bytea[], $2::bytea[]) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v",
            &[&keys, &values],
        )?;
    }
    Ok(())
}

/// A write transaction: reads see its own gathered writes.
struct WriteConn<'a> {
    db: &'a mut Db,
    pending: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    savepoint: bool,
}

impl WriteConn<'_> {
    /// From the first change sent to the database on, the transaction can only be undone alone
    /// by rolling back to its savepoint.
    fn savepoint(&mut self) -> Result<()> {
        if !self.savepoint {
            self.db.batch("SAVEPOINT t")?;
            self.savepoint = true;
        }
        Ok(())
    }

    /// Sends the gathered writes before a statement that must see them.
    fn settle(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.savepoint()?;
        flush(self.db, &mut self.pending)
    }
}

impl ReadTxn for WriteConn<'_> {
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        match self.pending.get(key) {
            Some(v) => Ok(v.clone()),
            None => Conn(self.db).get(key),
        }
    }
    fn scan(&mut self, start: &[u8], end: Option<&[u8]>, limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.settle()?;
        Conn(self.db).scan(start, end, limit)
    }
    fn scan_rev(&mut self, start: &[u8], end: Option<&[u8]>, limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.settle()?;
        Conn(self.db).scan_rev(start, end, limit)
    }
}

impl Txn for WriteConn<'_> {
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        self.pending.insert(key.to_vec(), Some(value.to_vec()));
        Ok(())
    }
    fn delete(&mut self, key: &[u8]) -> Result<()> {
        self.pending.insert(key.to_vec(), None);
        Ok(())
    }
    fn delete_range(&mut self, start: &[u8], end: Option<&[u8]>) -> Result<()> {
        self.savepoint()?;
        self.settle()?;
        Conn(self.db).delete_range(start, end)
    }
}

/// Reads and writes on one connection (a read snapshot, or a write transaction's statements).
struct Conn<'a>(&'a mut Db);

fn limit_of(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

fn rows(r: Vec<postgres::Row>) -> Vec<(Vec<u8>, Vec<u8>)> {
    r.into_iter().map(|row| (row.get::<_, Vec<u8>>(0), row.get::<_, Vec<u8>>(1))).collect()
}

impl Conn<'_> {
    fn range(&mut self, start: &[u8], end: Option<&[u8]>, limit: usize, desc: bool) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let limit = limit_of(limit);
        let r = match (end, desc) {
            (Some(end), false) => self
                .0
                .query("SELECT k, v FROM kv WHERE k >= $1 AND k < $2 ORDER BY k ASC LIMIT $3", &[&start, &end, &limit]),
            (Some(end), true) => self.0.query(
                "SELECT k, v FROM kv WHERE k >= $1 AND k < $2 ORDER BY k DESC LIMIT $3",
                &[&start, &end, &limit],
            ),
            (None, false) => {
                self.0.query("SELECT k, v FROM kv WHERE k >= $1 ORDER BY k ASC LIMIT $2", &[&start, &limit])
            }
            (None, true) => {
                self.0.query("SELECT k, v FROM kv WHERE k >= $1 ORDER BY k DESC LIMIT $2", &[&start, &limit])
            }
        };
        Ok(rows(r?))
    }
}

impl ReadTxn for Conn<'_> {
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let r = self.0.query("SELECT v FROM kv WHERE k = $1", &[&key])?;
        Ok(r.into_iter().next().map(|row| row.get::<_, Vec<u8>>(0)))
    }
    fn scan(&mut self, start: &[u8], end: Option<&[u8]>, limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.range(start, end, limit, false)
    }
    fn scan_rev(&mut self, start: &[u8], end: Option<&[u8]>, limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.range(start, end, limit, true)
    }
}

impl Txn for Conn<'_> {
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        self.0.execute(
            "INSERT INTO kv (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v",
            &[&key, &value],
        )
    }
    fn delete(&mut self, key: &[u8]) -> Result<()> {
        self.0.execute("DELETE FROM kv WHERE k = $1", &[&key])
    }
    fn delete_range(&mut self, start: &[u8], end: Option<&[u8]>) -> Result<()> {
        match end {
            Some(end) => self.0.execute("DELETE FROM kv WHERE k >= $1 AND k < $2", &[&start, &end]),
            None => self.0.execute("DELETE FROM kv WHERE k >= $1", &[&start]),
        }
    }
}

impl Backend for PostgresBackend {
    fn write(&self, f: WriteFn, done: DoneFn) {
        self.writer.write(f, done);
    }

    fn read(&self, f: ReadFn) -> Result<()> {
        let pooled = self.readers.lock().map_err(|_| StoreError::Aborted)?.pop();
        let mut conn = match pooled {
            Some(c) if !c.client.is_closed() => c,
            _ => Db::connect(&self.url)?,
        };
        // One snapshot for every read in `f`.
        conn.begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?;
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut Conn(&mut conn))));
        let end = conn.batch("COMMIT");
        if end.is_ok()
            && let Ok(mut pool) = self.readers.lock()
        {
            pool.push(conn);
        }
        r.map_err(|_| StoreError::Aborted)?;
        end
    }

    fn reads_block(&self) -> bool {
        true
    }

    fn short_reads_inline(&self) -> bool {
        // Every read is a round trip to the database: never on the caller's thread.
        false
    }

    fn close(&self) {
        self.writer.close();
        // A client owns a small runtime of its own, which may not be dropped on an async
        // thread: the pool goes on a thread of its own.
        let readers = self.readers.lock().map(|mut r| std::mem::take(&mut *r)).unwrap_or_default();
        let _ = std::thread::spawn(move || drop(readers)).join();
    }

    fn name(&self) -> &'static str {
        "postgres"
    }
}

impl Drop for PostgresBackend {
    fn drop(&mut self) {
        self.close();
    }
}
