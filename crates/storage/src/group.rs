//! Group commit, shared by the durable backends: one writer thread owns the write connection,
//! takes every transaction queued while the previous commit was being made durable, runs them
//! in one database transaction (each able to roll back alone) and acknowledges them all once
//! the commit is durable.

use std::sync::Mutex;
use std::sync::mpsc;
use std::thread::JoinHandle;

use crate::{DoneFn, Result, StoreError, WriteFn};

/// What the writer needs of a backend's write connection.
pub trait GroupConnection: Send + 'static {
    fn begin(&mut self) -> Result<()>;
    /// Runs one transaction body so that, if it gives up (returns false) or panics, its changes
    /// are undone without touching the others of the group. `Err(Aborted)` for a panic.
    fn run(&mut self, f: WriteFn) -> Result<()>;
    /// Commits the group durably.
    fn commit(&mut self) -> Result<()>;
    fn rollback(&mut self);
    /// Called when the writer stops (the channel closed), e.g. to checkpoint.
    fn finish(&mut self) {}
}

/// The writer thread and the queue to it.
pub struct GroupWriter {
    sender: Mutex<Option<mpsc::Sender<(WriteFn, DoneFn)>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl GroupWriter {
    /// Starts the writer thread over `conn`; at most `max_group` transactions share a commit.
    pub fn spawn<C: GroupConnection>(conn: C, max_group: usize) -> Result<Self> {
        let (tx, rx) = mpsc::channel::<(WriteFn, DoneFn)>();
        let writer = std::thread::Builder::new()
            .name("stratus-store-writer".into())
            .spawn(move || run(conn, rx, max_group))
            .map_err(|e| StoreError::Io(e.to_string()))?;
        Ok(Self { sender: Mutex::new(Some(tx)), writer: Mutex::new(Some(writer)) })
    }

    /// Queues a transaction; `done` is told its outcome once it is durable (or failed).
    pub fn write(&self, f: WriteFn, done: DoneFn) {
        let sender = self.sender.lock().ok().and_then(|s| s.clone());
        match sender {
            Some(s) => {
                if let Err(mpsc::SendError((_, done))) = s.send((f, done)) {
                    done(Err(StoreError::Closed));
                }
            }
            None => done(Err(StoreError::Closed)),
        }
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

fn run<C: GroupConnection>(mut conn: C, rx: mpsc::Receiver<(WriteFn, DoneFn)>, max_group: usize) {
    while let Ok(first) = rx.recv() {
        let mut group = vec![first];
        while group.len() < max_group {
            match rx.try_recv() {
                Ok(j) => group.push(j),
                Err(_) => break,
            }
        }
        if let Err(e) = conn.begin() {
            for (_, done) in group {
                done(Err(e.clone()));
            }
            continue;
        }
        let mut dones = Vec::with_capacity(group.len());
        for (f, done) in group {
            let outcome = conn.run(f);
            dones.push((done, outcome));
        }
        let commit = conn.commit();
        if commit.is_err() {
            conn.rollback();
        }
        for (done, outcome) in dones {
            done(match (&commit, outcome) {
                (Err(e), _) => Err(e.clone()),
                (Ok(()), o) => o,
            });
        }
    }
    conn.finish();
}
