//! Records decoded once per thread: a service that reads the same record on every request (a
//! queue, a table, a stream) keeps the decoded value beside the bytes it came from, and reuses
//! it only while the store still holds exactly those bytes (read in the caller's transaction),
//! so a change or a deletion is seen at once.

use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::collections::HashMap;

/// Entries kept per thread before the cache starts over.
const MAX: usize = 1024;

/// By the decoded type, then by store key: the stored bytes and what they decoded to.
type Cache = HashMap<TypeId, HashMap<Vec<u8>, (Vec<u8>, Box<dyn Any>)>>;

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(HashMap::new());
}

/// The value `bytes` (stored at `key`) decode to: from this thread's cache when the same bytes
/// were decoded before, else by `decode`, then kept. `T` is cheap to clone (or an `Arc`).
pub fn decoded<T: Clone + 'static, E>(
    key: &[u8],
    bytes: Vec<u8>,
    decode: impl FnOnce(&[u8]) -> Result<T, E>,
) -> Result<T, E> {
    let hit = CACHE.with(|c| {
        c.borrow()
            .get(&TypeId::of::<T>())
            .and_then(|m| m.get(key))
            .filter(|(raw, _)| *raw == bytes)
            .and_then(|(_, v)| v.downcast_ref::<T>().cloned())
    });
    if let Some(v) = hit {
        return Ok(v);
    }
    let value = decode(&bytes)?;
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        let m = c.entry(TypeId::of::<T>()).or_default();
        if m.len() >= MAX {
            m.clear();
        }
        m.insert(key.to_vec(), (bytes, Box::new(value.clone())));
    });
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_again_only_when_the_bytes_change() {
        let mut calls = 0;
        let mut get = |bytes: &[u8]| {
            decoded::<String, ()>(b"k", bytes.to_vec(), |b| {
                calls += 1;
                Ok(String::from_utf8_lossy(b).into_owned())
            })
        };
        assert_eq!(get(b"one"), Ok("one".to_string()));
        assert_eq!(get(b"one"), Ok("one".to_string()));
        assert_eq!(get(b"two"), Ok("two".to_string()));
        assert_eq!(calls, 2);
        // Another type under the same key is its own entry.
        assert_eq!(decoded::<usize, ()>(b"k", b"two".to_vec(), |b| Ok(b.len())), Ok(3));
    }
}
