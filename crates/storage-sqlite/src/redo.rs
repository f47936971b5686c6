//! The redo log: what makes a group of transactions durable without a SQLite commit.
//!
//! The writer runs a group's transactions in the open SQLite transaction, appends the group's
//! changes (puts, deletes, range deletes) to this file as one record and syncs it (one
//! `fdatasync`, of a preallocated file, so no metadata); then it acknowledges them. SQLite
//! commits later (`synchronous=NORMAL`: consistent, but a commit is durable only once the WAL is
//! synced) and stores, in the same commit, the sequence number of the last group it holds (the
//! mark). Once the WAL is synced, records up to the mark are no longer needed and the log starts
//! again at offset 0.
//!
//! A record: magic `u32`, payload length `u32`, sequence number `u64`, CRC-32 of sequence number
//! and payload `u32`, payload. After a restart, older records stay in the file behind the new
//! ones; reading stops at the first record that is torn, foreign or not the next sequence number,
//! and only records above the mark are replayed, so stale records are never applied twice.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::Path;

use stratus_storage::{Result, StoreError};

const MAGIC: u32 = 0x5354_5244;
/// Magic, length, sequence number, CRC.
pub const HEADER: usize = 20;

fn io(e: impl std::fmt::Display) -> StoreError {
    StoreError::Io(format!("redo log: {e}"))
}

pub struct RedoLog {
    file: File,
    /// The same file opened for direct, synchronous writes (`O_DIRECT | O_DSYNC`): an append is
    /// one system call that bypasses the page cache. `None` where the file system refuses
    /// direct I/O (tmpfs): appends are written and then synced.
    direct: Option<File>,
    /// Room for a record copied to a block-aligned address, as direct I/O needs.
    aligned: Vec<u8>,
    capacity: u64,
    offset: u64,
}

/// Records start on block boundaries, so that a direct write never rewrites a block that
/// holds an earlier record.
const BLOCK: u64 = 4096;

fn align_up(n: u64) -> u64 {
    n.div_ceil(BLOCK) * BLOCK
}

/// One group's changes, as read back.
pub struct Record {
    pub seq: u64,
    pub payload: Vec<u8>,
}

impl RedoLog {
    /// Opens (or creates and preallocates) the log at `path`, `capacity` bytes long.
    pub fn open(path: &Path, capacity: u64) -> Result<Self> {
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        if len < capacity {
            // Written out (not only reserved), so that appends never change the file's metadata
            // and a sync writes data blocks alone.
            let zeros = vec![0u8; 1 << 20];
            let mut at = len;
            while at < capacity {
                let n = (capacity - at).min(zeros.len() as u64) as usize;
                file.write_all_at(&zeros[..n], at).map_err(io)?;
                at += n as u64;
            }
            file.sync_all().map_err(io)?;
            if let Some(dir) = path.parent() {
                File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
            }
        }
        let direct = {
            use std::os::unix::fs::OpenOptionsExt;
            OpenOptions::new().write(true).custom_flags(libc::O_DIRECT | libc::O_DSYNC).open(path).ok()
        };
        Ok(Self { file, direct, aligned: Vec::new(), capacity: capacity.max(len), offset: 0 })
    }

    /// The records from the start of the file: the current cycle's, in order.
    pub fn read_all(&self) -> Result<Vec<Record>> {
        let len = self.file.metadata().map_err(io)?.len();
        let mut out: Vec<Record> = Vec::new();
        let mut at = 0u64;
        let mut head = [0u8; HEADER];
        while at + HEADER as u64 <= len {
            self.file.read_exact_at(&mut head, at).map_err(io)?;
            let word = |i: usize| u32::from_le_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
            let (magic, size) = (word(0), u64::from(word(4)));
            let seq = u64::from_le_bytes(head[8..16].try_into().unwrap_or_default());
            let crc = word(16);
            if magic != MAGIC || at + HEADER as u64 + size > len {
                break;
            }
            if out.last().is_some_and(|prev| prev.seq.checked_add(1) != Some(seq)) {
                break;
            }
            let mut payload = vec![0u8; size as usize];
            self.file.read_exact_at(&mut payload, at + HEADER as u64).map_err(io)?;
            let mut h = crc32fast::Hasher::new();
            h.update(&head[8..16]);
            h.update(&payload);
            if h.finalize() != crc {
                break;
            }
            out.push(Record { seq, payload });
            at = align_up(at + HEADER as u64 + size);
        }
        Ok(out)
    }

    /// Whether a record whose buffer (header included) is `len` bytes fits behind the others.
    pub fn fits(&self, len: usize) -> bool {
        self.offset + align_up(len as u64) <= self.capacity
    }

    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Bytes written since the last restart.
    pub fn used(&self) -> u64 {
        self.offset
    }

    /// Writes `record` (its first [`HEADER`] bytes reserved for the header, which this fills)
    /// as number `seq` and syncs it. The caller checked that it [`fits`](Self::fits).
    pub fn append(&mut self, seq: u64, record: &mut [u8]) -> Result<()> {
        let size = u32::try_from(record.len() - HEADER).map_err(io)?;
        let mut h = crc32fast::Hasher::new();
        h.update(&seq.to_le_bytes());
        h.update(&record[HEADER..]);
        record[0..4].copy_from_slice(&MAGIC.to_le_bytes());
        record[4..8].copy_from_slice(&size.to_le_bytes());
        record[8..16].copy_from_slice(&seq.to_le_bytes());
        record[16..20].copy_from_slice(&h.finalize().to_le_bytes());
        let len = align_up(record.len() as u64) as usize;
        match &self.direct {
            Some(direct) => {
                self.aligned.clear();
                self.aligned.resize(len + BLOCK as usize, 0);
                let at = self.aligned.as_ptr().align_offset(BLOCK as usize);
                let block = &mut self.aligned[at..at + len];
                block[..record.len()].copy_from_slice(record);
                direct.write_all_at(block, self.offset).map_err(io)?;
            }
            None => {
                self.file.write_all_at(record, self.offset).map_err(io)?;
                self.file.sync_data().map_err(io)?;
            }
        }
        self.offset += len as u64;
        Ok(())
    }

    /// Starts again at offset 0: every record written so far is durable elsewhere.
    pub fn restart(&mut self) {
        self.offset = 0;
    }
}

const PUT: u8 = 1;
const DELETE: u8 = 2;
const DELETE_RANGE: u8 = 3;
const DELETE_FROM: u8 = 4;

fn bytes(buf: &mut Vec<u8>, b: &[u8]) {
    buf.extend_from_slice(&(b.len() as u32).to_le_bytes());
    buf.extend_from_slice(b);
}

pub fn put(buf: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    buf.push(PUT);
    bytes(buf, key);
    bytes(buf, value);
}

pub fn delete(buf: &mut Vec<u8>, key: &[u8]) {
    buf.push(DELETE);
    bytes(buf, key);
}

pub fn delete_range(buf: &mut Vec<u8>, start: &[u8], end: Option<&[u8]>) {
    match end {
        Some(end) => {
            buf.push(DELETE_RANGE);
            bytes(buf, start);
            bytes(buf, end);
        }
        None => {
            buf.push(DELETE_FROM);
            bytes(buf, start);
        }
    }
}

/// A change read back from a record.
pub enum Op<'a> {
    Put(&'a [u8], &'a [u8]),
    Delete(&'a [u8]),
    DeleteRange(&'a [u8], Option<&'a [u8]>),
}

/// The changes of a record's payload, in order.
pub fn decode(mut p: &[u8]) -> Result<Vec<Op<'_>>> {
    fn take<'a>(p: &mut &'a [u8]) -> Result<&'a [u8]> {
        let bad = || io("malformed record");
        let n = u32::from_le_bytes(p.get(..4).ok_or_else(bad)?.try_into().map_err(|_| bad())?) as usize;
        let b = p.get(4..4 + n).ok_or_else(bad)?;
        *p = &p[4 + n..];
        Ok(b)
    }
    let mut ops = Vec::new();
    while let Some((&tag, rest)) = p.split_first() {
        p = rest;
        ops.push(match tag {
            PUT => {
                let k = take(&mut p)?;
                Op::Put(k, take(&mut p)?)
            }
            DELETE => Op::Delete(take(&mut p)?),
            DELETE_RANGE => {
                let s = take(&mut p)?;
                Op::DeleteRange(s, Some(take(&mut p)?))
            }
            DELETE_FROM => Op::DeleteRange(take(&mut p)?, None),
            _ => return Err(io("unknown change in record")),
        });
    }
    Ok(ops)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(ops: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let mut b = vec![0u8; HEADER];
        ops(&mut b);
        b
    }

    #[test]
    fn records_read_back_until_a_stale_or_torn_one() {
        let dir = std::env::temp_dir().join(format!("stratus-redo-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let path = dir.join("log");
        let mut log = RedoLog::open(&path, 4096).expect("open");
        assert!(log.read_all().expect("read").is_empty(), "a new log is empty");
        for seq in 1..=3u64 {
            let mut r = record(|b| put(b, format!("k{seq}").as_bytes(), b"v"));
            log.append(seq, &mut r).expect("append");
        }
        let seqs = |log: &RedoLog| log.read_all().expect("read").iter().map(|r| r.seq).collect::<Vec<_>>();
        assert_eq!(seqs(&log), [1, 2, 3]);
        // A new cycle: record 4 overwrites the start; the stale 2 and 3 behind it are not its
        // successors, so reading stops after 4.
        log.restart();
        let mut r = record(|b| delete_range(b, b"a", None));
        log.append(4, &mut r).expect("append");
        assert_eq!(seqs(&log), [4]);
        let mut r = record(|b| delete(b, b"k1"));
        log.append(5, &mut r).expect("append");
        assert_eq!(seqs(&log), [4, 5]);
        // A torn record (payload changed after the header was written) ends the log.
        let first = log.read_all().expect("read");
        let at = align_up((HEADER + first[0].payload.len()) as u64) + HEADER as u64;
        log.file.write_all_at(b"\xff", at).expect("tear");
        assert_eq!(seqs(&log), [4]);
        // Reopening keeps what is there.
        drop(log);
        let log = RedoLog::open(&path, 4096).expect("reopen");
        let recs = log.read_all().expect("read");
        assert_eq!(recs.len(), 1);
        assert!(matches!(decode(&recs[0].payload).expect("decode")[..], [Op::DeleteRange(b"a", None)]));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn malformed_payloads_are_errors() {
        assert!(decode(&[PUT, 9, 0, 0, 0, 1]).is_err());
        assert!(decode(&[7]).is_err());
        let mut b = Vec::new();
        put(&mut b, b"k", b"");
        delete_range(&mut b, b"a", Some(b"b"));
        let ops = decode(&b).expect("decode");
        assert!(matches!(ops[..], [Op::Put(b"k", b""), Op::DeleteRange(b"a", Some(b"b"))]));
    }
}
