//! Group commit, shared by the durable backends: one writer thread owns the write connection,
//! takes every transaction queued while the previous group was being made durable, runs them
//! in one database transaction (each able to roll back alone) and acknowledges them all once
//! the group is durable.
//!
//! A backend makes a group durable in one of two ways ([`Sealed`]): by committing the database
//! transaction (readers see the group at once), or by writing the group's changes to a log of
//! its own and keeping the database transaction open (readers see the group once the writer
//! publishes, i.e. commits: after [`PUBLISH_AFTER`], or as soon as a reader asks through
//! [`GroupWriter::catch_up`]). The second way saves a database commit per group.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::{DoneFn, Result, StoreError, WriteFn};

/// How long sealed groups may stay unpublished when no reader asks for them.
pub const PUBLISH_AFTER: Duration = Duration::from_millis(20);

/// How a group was made durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sealed {
    /// Committed: readers see it (and every group sealed before it).
    Visible,
    /// Durable in the backend's log; the database transaction stays open until `publish`.
    Pending,
}

/// What the writer needs of a backend's write connection.
pub trait GroupConnection: Send + 'static {
    fn begin(&mut self) -> Result<()>;
    /// Runs one transaction body so that, if it gives up (returns false) or panics, its changes
    /// are undone without touching the others of the group. `Err(Aborted)` for a panic.
    fn run(&mut self, f: WriteFn) -> Result<()>;
    /// Makes the transactions run since the last seal durable.
    fn seal(&mut self) -> Result<Sealed>;
    /// Commits the open database transaction, so that readers see every sealed group. Only
    /// called after a seal answered `Pending`.
    fn publish(&mut self) -> Result<()> {
        Ok(())
    }
    /// After a failed seal or publish: undoes the open database transaction and restores every
    /// group that was acknowledged. An error here stops the writer: writes are refused.
    fn recover(&mut self) -> Result<()>;
    /// Called when the writer stops (the channel closed), e.g. to checkpoint.
    fn finish(&mut self) {}
}

enum Msg {
    Write(WriteFn, DoneFn),
    CatchUp(tokio::sync::oneshot::Sender<()>),
}

/// The writer thread and the queue to it.
pub struct GroupWriter {
    sender: Mutex<Option<mpsc::Sender<Msg>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    /// Whether acknowledged groups exist that readers cannot see yet.
    unpublished: Arc<AtomicBool>,
}

impl GroupWriter {
    /// Starts the writer thread over `conn`; at most `max_group` transactions share a group.
    pub fn spawn<C: GroupConnection>(conn: C, max_group: usize) -> Result<Self> {
        let (tx, rx) = mpsc::channel::<Msg>();
        let unpublished = Arc::new(AtomicBool::new(false));
        let mut w = Writer { conn, unpublished: unpublished.clone(), pending_since: None, broken: None };
        let writer = std::thread::Builder::new()
            .name("stratus-store-writer".into())
            .spawn(move || w.run(rx, max_group))
            .map_err(|e| StoreError::Io(e.to_string()))?;
        Ok(Self { sender: Mutex::new(Some(tx)), writer: Mutex::new(Some(writer)), unpublished })
    }

    fn sender(&self) -> Option<mpsc::Sender<Msg>> {
        self.sender.lock().ok().and_then(|s| s.clone())
    }

    /// Queues a transaction; `done` is told its outcome once it is durable (or failed).
    pub fn write(&self, f: WriteFn, done: DoneFn) {
        match self.sender() {
            Some(s) => {
                if let Err(mpsc::SendError(Msg::Write(_, done))) = s.send(Msg::Write(f, done)) {
                    done(Err(StoreError::Closed));
                }
            }
            None => done(Err(StoreError::Closed)),
        }
    }

    /// When acknowledged writes are not yet visible to readers: a receiver told once they are.
    pub fn catch_up(&self) -> Option<tokio::sync::oneshot::Receiver<()>> {
        if !self.unpublished.load(Ordering::SeqCst) {
            return None;
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.sender()?.send(Msg::CatchUp(tx)).ok()?;
        Some(rx)
    }

    /// Stops taking writes and waits for the queued ones to finish.
    pub fn close(&self) {
        if let Ok(mut s) = self.sender.lock() {
            s.take();
        }
        if let Some(h) = self.writer.lock().ok().and_then(|mut w| w.take()) {
            let _ = h.join();
        }
    }
}

struct Writer<C> {
    conn: C,
    unpublished: Arc<AtomicBool>,
    /// When the oldest sealed, unpublished group was sealed. Between groups, a database
    /// transaction is open exactly while this is set.
    pending_since: Option<Instant>,
    /// Recovery failed: every write is refused with this.
    broken: Option<StoreError>,
}

impl<C: GroupConnection> Writer<C> {
    fn run(&mut self, rx: mpsc::Receiver<Msg>, max_group: usize) {
        loop {
            let first = match self.pending_since {
                Some(t) => match rx.recv_timeout(PUBLISH_AFTER.saturating_sub(t.elapsed())) {
                    Ok(m) => Some(m),
                    Err(mpsc::RecvTimeoutError::Timeout) => None,
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                },
                None => match rx.recv() {
                    Ok(m) => Some(m),
                    Err(_) => break,
                },
            };
            let mut group = Vec::new();
            let mut waiters = Vec::new();
            let mut sort = |m: Msg, group: &mut Vec<(WriteFn, DoneFn)>| match m {
                Msg::Write(f, d) => group.push((f, d)),
                Msg::CatchUp(w) => waiters.push(w),
            };
            if let Some(m) = first {
                sort(m, &mut group);
            }
            while group.len() < max_group {
                match rx.try_recv() {
                    Ok(m) => sort(m, &mut group),
                    Err(_) => break,
                }
            }
            if !group.is_empty() {
                self.write_group(group);
            }
            let due = self.pending_since.is_some_and(|t| t.elapsed() >= PUBLISH_AFTER);
            if !waiters.is_empty() || due {
                self.publish();
            }
            for w in waiters {
                let _ = w.send(());
            }
        }
        self.publish();
        self.conn.finish();
    }

    fn write_group(&mut self, group: Vec<(WriteFn, DoneFn)>) {
        if let Some(e) = &self.broken {
            for (_, done) in group {
                done(Err(e.clone()));
            }
            return;
        }
        if self.pending_since.is_none()
            && let Err(e) = self.conn.begin()
        {
            for (_, done) in group {
                done(Err(e.clone()));
            }
            return;
        }
        let mut dones = Vec::with_capacity(group.len());
        for (f, done) in group {
            let outcome = self.conn.run(f);
            dones.push((done, outcome));
        }
        let sealed = match self.conn.seal() {
            Ok(Sealed::Visible) => {
                self.published();
                Ok(())
            }
            Ok(Sealed::Pending) => {
                // Set before the acknowledgements, so that a reader who heard of one waits.
                self.unpublished.store(true, Ordering::SeqCst);
                self.pending_since.get_or_insert_with(Instant::now);
                Ok(())
            }
            Err(e) => {
                self.recover();
                Err(e)
            }
        };
        for (done, outcome) in dones {
            done(match (&sealed, outcome) {
                (Err(e), _) => Err(e.clone()),
                (Ok(()), o) => o,
            });
        }
    }

    fn publish(&mut self) {
        if self.pending_since.is_none() {
            return;
        }
        match self.conn.publish() {
            Ok(()) => self.published(),
            Err(_) => self.recover(),
        }
    }

    /// No transaction is open and readers see every acknowledged group.
    fn published(&mut self) {
        self.pending_since = None;
        self.unpublished.store(false, Ordering::SeqCst);
    }

    fn recover(&mut self) {
        if let Err(e) = self.conn.recover() {
            self.broken = Some(e);
        }
        self.published();
    }
}
