//! The writer's cache of values it has read: the records nearly every write reads first (a
//! queue's or a table's record, counters) are served without a SQLite statement. Every write
//! goes through the writer, so the cache is kept exact: a put or delete updates an entry the
//! cache holds, a range delete drops the range, and when a transaction rolls back every entry
//! it read or changed is dropped (what it read may have been its own, undone, write).

use std::collections::HashMap;

/// Entries kept at most; the cache starts empty again when full.
const MAX_ENTRIES: usize = 1024;
/// Larger values are not kept (items, message bodies): records and counters are small.
const MAX_VALUE: usize = 8 << 10;

#[derive(Default)]
pub struct HotCache {
    map: HashMap<Vec<u8>, Vec<u8>>,
    /// Keys the current transaction read into the cache or changed in it.
    touched: Vec<Vec<u8>>,
}

impl HotCache {
    pub fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.map.get(key).cloned()
    }

    /// A value read from SQLite.
    pub fn remember(&mut self, key: &[u8], value: &[u8]) {
        if value.len() > MAX_VALUE {
            return;
        }
        if self.map.len() >= MAX_ENTRIES {
            self.map.clear();
        }
        self.map.insert(key.to_vec(), value.to_vec());
        self.touched.push(key.to_vec());
    }

    pub fn put(&mut self, key: &[u8], value: &[u8]) {
        if let Some(v) = self.map.get_mut(key) {
            if value.len() > MAX_VALUE {
                self.map.remove(key);
            } else {
                v.clear();
                v.extend_from_slice(value);
            }
            self.touched.push(key.to_vec());
        }
    }

    pub fn delete(&mut self, key: &[u8]) {
        if self.map.remove(key).is_some() {
            self.touched.push(key.to_vec());
        }
    }

    pub fn delete_range(&mut self, start: &[u8], end: Option<&[u8]>) {
        self.map.retain(|k, _| k.as_slice() < start || end.is_some_and(|e| k.as_slice() >= e));
    }

    /// A transaction starts.
    pub fn begin(&mut self) {
        self.touched.clear();
    }

    /// The current transaction rolled back.
    pub fn undo(&mut self) {
        for k in self.touched.drain(..) {
            self.map.remove(&k);
        }
    }

    pub fn clear(&mut self) {
        self.map.clear();
        self.touched.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_writes_and_forgets_what_a_rollback_touched() {
        let mut c = HotCache::default();
        c.begin();
        c.put(b"a", b"1");
        assert_eq!(c.get(b"a"), None, "a write does not add an entry");
        c.remember(b"a", b"1");
        c.remember(b"b", b"2");
        c.begin();
        c.put(b"a", b"3");
        assert_eq!(c.get(b"a"), Some(b"3".to_vec()));
        c.undo();
        assert_eq!(c.get(b"a"), None, "the rolled-back change is forgotten");
        assert_eq!(c.get(b"b"), Some(b"2".to_vec()), "an untouched entry stays");
        c.begin();
        c.remember(b"c", b"own write");
        c.undo();
        assert_eq!(c.get(b"c"), None, "a value read inside a rolled-back transaction is forgotten");
        c.remember(b"b2", b"x");
        c.remember(b"c", b"y");
        c.delete_range(b"b", Some(b"c"));
        assert_eq!((c.get(b"b"), c.get(b"b2"), c.get(b"c")), (None, None, Some(b"y".to_vec())));
        c.delete(b"c");
        assert_eq!(c.get(b"c"), None);
        c.remember(b"big", &vec![0; MAX_VALUE + 1]);
        assert_eq!(c.get(b"big"), None);
    }
}
