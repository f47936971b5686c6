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
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use postgres::{Client, NoTls};
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

enum Job {
    Write(WriteFn, DoneFn),
}

pub struct PostgresBackend {
    url: String,
    sender: Mutex<Option<mpsc::Sender<Job>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    readers: Mutex<Vec<Client>>,
}

fn connect(url: &str) -> Result<Client> {
    Client::connect(url, NoTls).map_err(io)
}

impl PostgresBackend {
    /// Connects, creates the table when missing (schema version 1) and starts the writer.
    pub fn open(url: &str) -> Result<Self> {
        let mut conn = connect(url)?;
        conn.batch_execute(
            "CREATE TABLE IF NOT EXISTS kv (k bytea PRIMARY KEY, v bytea NOT NULL);
             CREATE TABLE IF NOT EXISTS stratus_schema (version integer NOT NULL);
             INSERT INTO stratus_schema (version) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM stratus_schema);",
        )
        .map_err(io)?;
        let (tx, rx) = mpsc::channel::<Job>();
        let writer = std::thread::Builder::new()
            .name("stratus-store-writer".into())
            .spawn(move || writer_loop(conn, rx))
            .map_err(io)?;
        Ok(Self {
            url: url.to_string(),
            sender: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
            readers: Mutex::new(Vec::new()),
        })
    }
}

fn writer_loop(mut conn: Client, rx: mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(j) => group.push(j),
                Err(_) => break,
            }
        }
        let begin = conn.batch_execute("BEGIN").map_err(io);
        let mut dones = Vec::with_capacity(group.len());
        for Job::Write(f, done) in group {
            if let Err(e) = &begin {
                done(Err(e.clone()));
                continue;
            }
            let outcome = run_one(&mut conn, f);
            dones.push((done, outcome));
        }
        if begin.is_err() {
            continue;
        }
        let commit = conn.batch_execute("COMMIT").map_err(io);
        if commit.is_err() {
            let _ = conn.batch_execute("ROLLBACK");
        }
        for (done, outcome) in dones {
            done(match (&commit, outcome) {
                (Err(e), _) => Err(e.clone()),
                (Ok(()), o) => o,
            });
        }
    }
}

/// Runs one transaction body inside a savepoint; rolls it back if it asks to or panics.
fn run_one(conn: &mut Client, f: WriteFn) -> Result<()> {
    conn.batch_execute("SAVEPOINT t").map_err(io)?;
    let keep = {
        let mut txn = Conn(conn);
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut txn)))
    };
    let undo = |conn: &mut Client| conn.batch_execute("ROLLBACK TO SAVEPOINT t; RELEASE SAVEPOINT t").map_err(io);
    match keep {
        Ok(true) => conn.batch_execute("RELEASE SAVEPOINT t").map_err(io),
        Ok(false) => undo(conn),
        Err(_) => {
            undo(conn)?;
            Err(StoreError::Aborted)
        }
    }
}

/// Reads and writes on one connection (the writer's transaction, or a read snapshot).
struct Conn<'a>(&'a mut Client);

fn limit_of(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

fn rows(r: Vec<postgres::Row>) -> Vec<(Vec<u8>, Vec<u8>)> {
    r.into_iter().map(|row| (row.get::<_, Vec<u8>>(0), row.get::<_, Vec<u8>>(1))).collect()
}

impl Conn<'_> {
    fn range(&mut self, start: &[u8], end: Option<&[u8]>, limit: usize, desc: bool) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let order = if desc { "DESC" } else { "ASC" };
        let r = match end {
            Some(end) => {
                let sql = format!("SELECT k, v FROM kv WHERE k >= $1 AND k < $2 ORDER BY k {order} LIMIT $3");
                let st = self.0.prepare(&sql).map_err(io)?;
                self.0.query(&st, &[&start, &end, &limit_of(limit)])
            }
            None => {
                let sql = format!("SELECT k, v FROM kv WHERE k >= $1 ORDER BY k {order} LIMIT $2");
                let st = self.0.prepare(&sql).map_err(io)?;
                self.0.query(&st, &[&start, &limit_of(limit)])
            }
        };
        Ok(rows(r.map_err(io)?))
    }
}

impl ReadTxn for Conn<'_> {
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let r = self.0.query_opt("SELECT v FROM kv WHERE k = $1", &[&key]).map_err(io)?;
        Ok(r.map(|row| row.get::<_, Vec<u8>>(0)))
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
        self.0
            .execute(
                "INSERT INTO kv (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v",
                &[&key, &value],
            )
            .map_err(io)?;
        Ok(())
    }
    fn delete(&mut self, key: &[u8]) -> Result<()> {
        self.0.execute("DELETE FROM kv WHERE k = $1", &[&key]).map_err(io)?;
        Ok(())
    }
    fn delete_range(&mut self, start: &[u8], end: Option<&[u8]>) -> Result<()> {
        match end {
            Some(end) => self.0.execute("DELETE FROM kv WHERE k >= $1 AND k < $2", &[&start, &end]),
            None => self.0.execute("DELETE FROM kv WHERE k >= $1", &[&start]),
        }
        .map_err(io)?;
        Ok(())
    }
}

impl Backend for PostgresBackend {
    fn write(&self, f: WriteFn, done: DoneFn) {
        let sender = self.sender.lock().ok().and_then(|s| s.clone());
        match sender {
            Some(s) => {
                if let Err(mpsc::SendError(Job::Write(_, done))) = s.send(Job::Write(f, done)) {
                    done(Err(StoreError::Closed));
                }
            }
            None => done(Err(StoreError::Closed)),
        }
    }

    fn read(&self, f: ReadFn) -> Result<()> {
        let pooled = self.readers.lock().map_err(|_| StoreError::Aborted)?.pop();
        let mut conn = match pooled {
            Some(c) if !c.is_closed() => c,
            _ => connect(&self.url)?,
        };
        // One snapshot for every read in `f`.
        conn.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").map_err(io)?;
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut Conn(&mut conn))));
        let end = conn.batch_execute("COMMIT").map_err(io);
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
        if let Ok(mut s) = self.sender.lock() {
            s.take();
        }
        if let Some(h) = self.writer.lock().ok().and_then(|mut w| w.take()) {
            let _ = h.join();
        }
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
