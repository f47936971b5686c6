//! A backend that keeps everything in a `BTreeMap`: for `--in-memory` runs and as the reference
//! the other backends are compared with.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Mutex;

use crate::{Backend, DoneFn, ReadFn, ReadTxn, Result, StoreError, Txn, WriteFn};

type Map = BTreeMap<Vec<u8>, Vec<u8>>;

#[derive(Default)]
pub struct MemoryBackend {
    map: Mutex<Map>,
}

struct MemTxn<'a> {
    map: &'a mut Map,
    /// Previous values, to roll back.
    undo: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

fn range(map: &Map, start: &[u8], end: Option<&[u8]>, limit: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
    if end.is_some_and(|e| e <= start) {
        return Vec::new();
    }
    let upper = match end {
        Some(e) => Bound::Excluded(e),
        None => Bound::Unbounded,
    };
    map.range::<[u8], _>((Bound::Included(start), upper)).take(limit).map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn range_rev(map: &Map, start: &[u8], end: Option<&[u8]>, limit: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
    let upper = match end {
        Some(e) => Bound::Excluded(e),
        None => Bound::Unbounded,
    };
    if end.is_some_and(|e| e <= start) {
        return Vec::new();
    }
    map.range::<[u8], _>((Bound::Included(start), upper))
        .rev()
        .take(limit)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

impl ReadTxn for MemTxn<'_> {
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.map.get(key).cloned())
    }
    fn scan(&mut self, start: &[u8], end: Option<&[u8]>, limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        Ok(range(self.map, start, end, limit))
    }
    fn scan_rev(&mut self, start: &[u8], end: Option<&[u8]>, limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        Ok(range_rev(self.map, start, end, limit))
    }
}

impl Txn for MemTxn<'_> {
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        let old = self.map.insert(key.to_vec(), value.to_vec());
        self.undo.push((key.to_vec(), old));
        Ok(())
    }
    fn delete(&mut self, key: &[u8]) -> Result<()> {
        if let Some(old) = self.map.remove(key) {
            self.undo.push((key.to_vec(), Some(old)));
        }
        Ok(())
    }
    fn delete_range(&mut self, start: &[u8], end: Option<&[u8]>) -> Result<()> {
        for (k, _) in range(self.map, start, end, usize::MAX) {
            self.delete(&k)?;
        }
        Ok(())
    }
}

struct Snapshot<'a>(&'a Map);

impl ReadTxn for Snapshot<'_> {
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.0.get(key).cloned())
    }
    fn scan(&mut self, start: &[u8], end: Option<&[u8]>, limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        Ok(range(self.0, start, end, limit))
    }
    fn scan_rev(&mut self, start: &[u8], end: Option<&[u8]>, limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        Ok(range_rev(self.0, start, end, limit))
    }
}

impl Backend for MemoryBackend {
    fn write(&self, f: WriteFn, done: DoneFn) {
        let result = match self.map.lock() {
            Ok(mut map) => {
                let mut txn = MemTxn { map: &mut map, undo: Vec::new() };
                let keep = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut txn)));
                let keep_ok = matches!(keep, Ok(true));
                if !keep_ok {
                    let MemTxn { map, undo } = txn;
                    for (k, old) in undo.into_iter().rev() {
                        match old {
                            Some(v) => map.insert(k, v),
                            None => map.remove(&k),
                        };
                    }
                }
                if keep.is_err() { Err(StoreError::Aborted) } else { Ok(()) }
            }
            Err(_) => Err(StoreError::Aborted),
        };
        done(result);
    }

    fn read(&self, f: ReadFn) -> Result<()> {
        let map = self.map.lock().map_err(|_| StoreError::Aborted)?;
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut Snapshot(&map))))
            .map_err(|_| StoreError::Aborted)
    }

    fn reads_block(&self) -> bool {
        false
    }

    fn close(&self) {}

    fn name(&self) -> &'static str {
        "memory"
    }
}
