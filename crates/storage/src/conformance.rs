//! The conformance suite every backend must pass (DESIGN.md §7.3). Each check panics on the
//! first deviation. Backends call [`run_all`] from their tests; durable backends also
//! [`check_reopen`], and [`check_faults`] over the fault-injecting wrapper.

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::{ReadTxn, SequenceBlocks, Store, StoreError, Txn, next_sequence, outbox_push, scan_prefix};

type R<T> = Result<T, StoreError>;
type Check = fn(Store) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// Runs every check against `store`, wiping it between checks.
pub async fn run_all(store: &Store) {
    let checks: [(&str, Check); 11] = [
        ("put_get_delete", |s| Box::pin(put_get_delete(s))),
        ("scan_order_bounds_limits", |s| Box::pin(scan_order_bounds_limits(s))),
        ("reverse_scans", |s| Box::pin(reverse_scans(s))),
        ("rollback_on_error", |s| Box::pin(rollback_on_error(s))),
        ("panic_rolls_back_and_store_survives", |s| Box::pin(panic_rolls_back_and_store_survives(s))),
        ("concurrent_increments_are_serializable", |s| Box::pin(concurrent_increments_are_serializable(s))),
        ("sequences_and_outbox", |s| Box::pin(sequences_and_outbox(s))),
        ("sequence_blocks", |s| Box::pin(sequence_blocks(s))),
        ("delete_range_and_wipe", |s| Box::pin(delete_range_and_wipe(s))),
        ("blobs", |s| Box::pin(blobs(s))),
        ("model_based_random_ops", |s| Box::pin(model_based_random_ops(s))),
    ];
    for (name, check) in checks {
        store.wipe().await.expect("wipe");
        eprintln!("conformance[{}]: {name}", store.backend_name());
        check(store.clone()).await;
    }
}

async fn put(s: &Store, k: &[u8], v: &[u8]) {
    let (k, v) = (k.to_vec(), v.to_vec());
    s.write(move |t| t.put(&k, &v)).await.expect("put");
}

async fn get(s: &Store, k: &[u8]) -> Option<Vec<u8>> {
    let k = k.to_vec();
    s.read(move |r| r.get(&k)).await.expect("get")
}

/// `scan_rev`: descending, the same bounds as `scan` (start included, end excluded), limited from
/// the top, in reads and inside writes.
async fn reverse_scans(s: Store) {
    for k in [b"a1".as_slice(), b"a2", b"a3", b"a30", b"b1"] {
        put(&s, k, k).await;
    }
    let keys = |rows: Vec<(Vec<u8>, Vec<u8>)>| rows.into_iter().map(|(k, _)| k).collect::<Vec<_>>();
    let all = s.read(|r| r.scan_rev(b"a", Some(b"b"), 10)).await.expect("scan_rev");
    assert_eq!(keys(all), [b"a30".to_vec(), b"a3".to_vec(), b"a2".to_vec(), b"a1".to_vec()]);
    let top = s.read(|r| r.scan_rev(b"a", Some(b"a3"), 1)).await.expect("scan_rev");
    assert_eq!(keys(top), [b"a2".to_vec()]);
    let open = s.read(|r| r.scan_rev(b"a2", None, 2)).await.expect("scan_rev");
    assert_eq!(keys(open), [b"b1".to_vec(), b"a30".to_vec()]);
    let empty = s.read(|r| r.scan_rev(b"c", None, 5)).await.expect("scan_rev");
    assert!(empty.is_empty());
    let inside = s
        .write(|t| {
            t.put(b"a4", b"x")?;
            t.scan_rev(b"a", Some(b"b"), 1)
        })
        .await
        .expect("write");
    assert_eq!(keys(inside), [b"a4".to_vec()]);
}

async fn put_get_delete(s: Store) {
    assert_eq!(get(&s, b"a").await, None);
    put(&s, b"a", b"1").await;
    assert_eq!(get(&s, b"a").await.as_deref(), Some(&b"1"[..]));
    put(&s, b"a", b"2").await;
    assert_eq!(get(&s, b"a").await.as_deref(), Some(&b"2"[..]));
    put(&s, b"", b"empty key").await;
    put(&s, &[0xff, 0x00], &[]).await;
    assert_eq!(get(&s, &[0xff, 0x00]).await.as_deref(), Some(&[][..]));
    s.write(|t| t.delete(b"a")).await.expect("delete");
    s.write(|t| t.delete(b"never-there")).await.expect("delete missing is fine");
    assert_eq!(get(&s, b"a").await, None);
    assert_eq!(get(&s, b"").await.as_deref(), Some(&b"empty key"[..]));
    // Reads inside a write see that write's own changes.
    let seen = s
        .write(|t| {
            t.put(b"x", b"1")?;
            let v = t.get(b"x")?;
            t.delete(b"x")?;
            Ok::<_, StoreError>((v, t.get(b"x")?))
        })
        .await
        .expect("txn");
    assert_eq!(seen, (Some(b"1".to_vec()), None));
}

async fn scan_order_bounds_limits(s: Store) {
    for k in ["b", "a", "c", "ab", "b\u{0}", "d"] {
        put(&s, k.as_bytes(), k.as_bytes()).await;
    }
    let keys = |rows: Vec<(Vec<u8>, Vec<u8>)>| {
        rows.into_iter().map(|(k, _)| String::from_utf8_lossy(&k).into_owned()).collect::<Vec<_>>()
    };
    let all = s.read(|r| r.scan(b"", None, usize::MAX)).await.expect("scan");
    assert_eq!(keys(all), ["a", "ab", "b", "b\u{0}", "c", "d"]);
    let mid = s.read(|r| r.scan(b"ab", Some(b"c"), 100)).await.expect("scan");
    assert_eq!(keys(mid), ["ab", "b", "b\u{0}"]);
    let limited = s.read(|r| r.scan(b"a", None, 2)).await.expect("scan");
    assert_eq!(keys(limited), ["a", "ab"]);
    let empty = s.read(|r| r.scan(b"c", Some(b"a"), 10)).await.expect("scan");
    assert!(empty.is_empty());
    let pre = s.read(|r| scan_prefix(r, b"b", 10)).await.expect("scan");
    assert_eq!(keys(pre), ["b", "b\u{0}"]);
}

async fn rollback_on_error(s: Store) {
    put(&s, b"k", b"before").await;
    let r: Result<(), StoreError> = s
        .write(|t| {
            t.put(b"k", b"during")?;
            t.put(b"new", b"x")?;
            t.delete(b"k")?;
            Err(StoreError::Io("caller gave up".into()))
        })
        .await;
    assert_eq!(r, Err(StoreError::Io("caller gave up".into())));
    assert_eq!(get(&s, b"k").await.as_deref(), Some(&b"before"[..]));
    assert_eq!(get(&s, b"new").await, None);
    // The same after the body read its writes back through a scan and deleted a range (a
    // backend that holds writes back must have sent them by then, and still undo them), while
    // another transaction of the same group commits.
    let keep = s.write(|t| t.put(b"other", b"kept"));
    let give_up = s.write(|t| {
        t.put(b"r1", b"x")?;
        t.put(b"r2", b"y")?;
        let seen = t.scan(b"r", Some(b"s"), 10)?;
        assert_eq!(seen.len(), 2, "a transaction's scan sees its own writes");
        t.delete_range(b"k", Some(b"l"))?;
        assert_eq!(t.get(b"k")?, None);
        Err::<(), _>(StoreError::Io("caller gave up".into()))
    });
    let (kept, gave_up) = tokio::join!(keep, give_up);
    assert_eq!(kept, Ok(()));
    assert!(gave_up.is_err());
    assert_eq!(get(&s, b"k").await.as_deref(), Some(&b"before"[..]));
    assert_eq!(get(&s, b"r1").await, None);
    assert_eq!(get(&s, b"other").await.as_deref(), Some(&b"kept"[..]));
}

async fn panic_rolls_back_and_store_survives(s: Store) {
    let r: Result<(), StoreError> = s
        .write(|t| {
            t.put(b"p", b"x")?;
            panic!("a bug in a transaction body");
        })
        .await;
    assert_eq!(r, Err(StoreError::Aborted));
    assert_eq!(get(&s, b"p").await, None);
    put(&s, b"after", b"ok").await;
    assert_eq!(get(&s, b"after").await.as_deref(), Some(&b"ok"[..]));
}

async fn concurrent_increments_are_serializable(s: Store) {
    fn incr(t: &mut dyn Txn) -> R<u64> {
        let n = t.get(b"counter")?.map(|v| u64::from_be_bytes(v.try_into().unwrap_or([0; 8]))).unwrap_or(0);
        t.put(b"counter", &(n + 1).to_be_bytes())?;
        Ok(n + 1)
    }
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move { s.write(incr).await.expect("incr") }));
    }
    let mut seen = Vec::new();
    for t in tasks {
        seen.push(t.await.expect("join"));
    }
    seen.sort_unstable();
    assert_eq!(seen, (1..=200).collect::<Vec<u64>>(), "every increment saw a distinct value");
    assert_eq!(get(&s, b"counter").await, Some(200u64.to_be_bytes().to_vec()));
}

async fn sequences_and_outbox(s: Store) {
    let a = s.write(|t| next_sequence(t, "a")).await.expect("seq");
    let b = s.write(|t| next_sequence(t, "a")).await.expect("seq");
    let other = s.write(|t| next_sequence(t, "b")).await.expect("seq");
    assert_eq!((a, b, other), (1, 2, 1));
    // A rolled-back transaction leaves no outbox record and consumes no number.
    let _ = s
        .write(|t| {
            outbox_push(t, "events", b"lost")?;
            Err::<(), _>(StoreError::Io("no".into()))
        })
        .await;
    let seqs = s
        .write_signalling(|t| {
            Ok::<_, StoreError>((outbox_push(t, "events", b"one")?, outbox_push(t, "events", b"two")?))
        })
        .await
        .expect("push");
    assert_eq!(seqs, (1, 2));
    s.write(|t| outbox_push(t, "other", b"x")).await.expect("push");
    let pending = s.outbox_pending("events", 0, 10).await.expect("pending");
    assert_eq!(pending, vec![(1, b"one".to_vec()), (2, b"two".to_vec())]);
    assert_eq!(s.outbox_pending("events", 1, 10).await.expect("pending"), vec![(2, b"two".to_vec())]);
    s.outbox_ack("events", 1).await.expect("ack");
    assert_eq!(s.outbox_pending("events", 0, 10).await.expect("pending"), vec![(2, b"two".to_vec())]);
    s.write(|t| outbox_push(t, "events", b"three")).await.expect("push");
    s.outbox_ack_many("events", &[2, 3]).await.expect("ack many");
    assert!(s.outbox_pending("events", 0, 10).await.expect("pending").is_empty());
    assert_eq!(s.outbox_pending("other", 0, 10).await.expect("pending"), vec![(1, b"x".to_vec())]);
    // Sequence keys and outbox records do not show up in service key space scans.
    let user = s.read(|r| r.scan(b"\x01", None, 100)).await.expect("scan");
    assert!(user.is_empty());
}

async fn sequence_blocks(s: Store) {
    use std::sync::Arc;
    let blocks = Arc::new(SequenceBlocks::new(10));
    let take = |b: &Arc<SequenceBlocks>| {
        let b = Arc::clone(b);
        move |t: &mut dyn Txn| b.next(t, "q")
    };
    let mut got = Vec::new();
    for _ in 0..12 {
        got.push(s.write(take(&blocks)).await.expect("next"));
    }
    assert_eq!(got, (1..=12).collect::<Vec<_>>(), "numbers from blocks are consecutive");
    // The durable counter shows the reservation (blocks of 10: 20), not each number.
    assert_eq!(s.write(|t| next_sequence(t, "q")).await.expect("seq"), 21);
    // The counter moved under the block: the next number comes from a new block above it.
    assert_eq!(s.write(take(&blocks)).await.expect("next"), 22);
    // A reservation rolled back with its transaction is not used afterwards.
    let b = Arc::clone(&blocks);
    let _ = s
        .write(move |t| {
            let _ = next_sequence(t, "q")?; // 32: the block (end 31) no longer holds
            assert_eq!(b.next(t, "q")?, 33); // a new block, 33..=42, in this transaction

            Err::<(), _>(StoreError::Io("no".into()))
        })
        .await;
    let after = s.write(take(&blocks)).await.expect("next");
    assert_eq!(after, 32, "rolled back: the counter reads 31 again, so a new block starts at 32");
    // Another holder (another node, a restart) never hands out a number twice.
    let other = Arc::new(SequenceBlocks::new(10));
    let mut seen = std::collections::BTreeSet::from([after]);
    for i in 0..30 {
        let n = s.write(take(if i % 3 == 0 { &other } else { &blocks })).await.expect("next");
        assert!(seen.insert(n), "{n} handed out twice");
        assert!(n > *seen.iter().rev().nth(1).unwrap_or(&0), "numbers increase in commit order");
    }
}

async fn delete_range_and_wipe(s: Store) {
    for k in ["q/1", "q/2", "q/3", "r/1"] {
        put(&s, k.as_bytes(), b"v").await;
    }
    s.write(|t| t.delete_range(b"q/2", Some(b"q/9"))).await.expect("delete_range");
    let left = s.read(|r| r.scan(b"\x01", None, 10)).await.expect("scan");
    assert_eq!(left.into_iter().map(|(k, _)| k).collect::<Vec<_>>(), vec![b"q/1".to_vec(), b"r/1".to_vec()]);
    s.blobs().put("b", b"data").expect("blob");
    let before = s.write(|t| outbox_push(t, "events", b"old")).await.expect("push");
    s.wipe().await.expect("wipe");
    assert!(s.read(|r| r.scan(b"\x01", None, 10)).await.expect("scan").is_empty());
    assert_eq!(s.blobs().get("b").expect("blob"), None);
    assert!(s.outbox_pending("events", 0, 10).await.expect("pending").is_empty());
    // Outbox numbers are not reused: a late acknowledgement of an old record is harmless.
    let after = s.write(|t| outbox_push(t, "events", b"new")).await.expect("push");
    assert!(after > before, "{after} after {before}");
    s.outbox_ack("events", before).await.expect("late ack");
    assert_eq!(s.outbox_pending("events", 0, 10).await.expect("pending"), vec![(after, b"new".to_vec())]);
}

async fn blobs(s: Store) {
    let b = s.blobs();
    assert_eq!(b.get("x/../../etc").expect("get"), None);
    b.put("x/../../etc", b"safe name").expect("put");
    assert_eq!(b.get("x/../../etc").expect("get").as_deref(), Some(&b"safe name"[..]));
    let big = vec![7u8; 3 << 20];
    b.put("big", &big).expect("put");
    assert_eq!(b.get("big").expect("get"), Some(big));
    b.delete("big").expect("delete");
    b.delete("big").expect("delete twice");
    assert_eq!(b.get("big").expect("get"), None);
}

/// Random transactions against the backend and against a `BTreeMap` model; every scan must
/// agree. Aborted transactions must leave no trace.
async fn model_based_random_ops(s: Store) {
    // What the store holds at the start (a wipe keeps the outbox counters) is in the model too.
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> =
        s.read(|r| r.scan(b"", None, usize::MAX)).await.expect("scan").into_iter().collect();
    let mut rng = StdRng::seed_from_u64(0x5742_4154);
    let key = |rng: &mut StdRng| -> Vec<u8> {
        let len = rng.random_range(0..4);
        (0..len).map(|_| [b'a', b'b', 0u8, 0xff][rng.random_range(0..4)]).collect()
    };
    for round in 0..300 {
        let mut ops = Vec::new();
        for _ in 0..rng.random_range(1..6) {
            let op = rng.random_range(0..10);
            let k = key(&mut rng);
            let v: Vec<u8> = (0..rng.random_range(0..3)).map(|_| rng.random()).collect();
            let end = key(&mut rng);
            ops.push((op, k, v, end));
        }
        let abort = rng.random_bool(0.2);
        let mut next = model.clone();
        for (op, k, v, end) in &ops {
            match op {
                0..=5 => {
                    next.insert(k.clone(), v.clone());
                }
                6..=8 => {
                    next.remove(k);
                }
                _ => next.retain(|key, _| !(key >= k && key < end)),
            }
        }
        let r: Result<(), StoreError> = s
            .write(move |t| {
                for (op, k, v, end) in ops {
                    match op {
                        0..=5 => t.put(&k, &v)?,
                        6..=8 => t.delete(&k)?,
                        _ => t.delete_range(&k, Some(&end))?,
                    }
                }
                if abort { Err(StoreError::Io("abort".into())) } else { Ok(()) }
            })
            .await;
        if !abort {
            r.expect("write");
            model = next;
        }
        let start = key(&mut rng);
        let limit = rng.random_range(1..20);
        let got = {
            let start = start.clone();
            s.read(move |r: &mut dyn ReadTxn| r.scan(&start, None, limit)).await.expect("scan")
        };
        let want: Vec<_> = model.range(start..).take(limit).map(|(k, v)| (k.clone(), v.clone())).collect();
        assert_eq!(got, want, "round {round}");
    }
}

/// Over the fault-injecting wrapper (`faulty`, the backend of `store`): a failed write leaves
/// nothing, a write whose acknowledgement was lost is there all the same, and a failed read
/// fails alone.
pub async fn check_faults(faulty: &crate::faulty::FaultyBackend, store: &Store) {
    store.wipe().await.expect("wipe");
    faulty.fail_next_writes(1);
    assert_eq!(store.write(|t| t.put(b"a", b"1")).await, Err(StoreError::Injected));
    assert_eq!(store.read(|r| r.get(b"a")).await, Ok(None));
    faulty.lose_next_acks(1);
    assert_eq!(store.write(|t| t.put(b"b", b"1")).await, Err(StoreError::Injected));
    assert_eq!(store.read(|r| r.get(b"b")).await, Ok(Some(b"1".to_vec())));
    faulty.fail_next_reads(1);
    assert_eq!(store.read(|r| r.get(b"b")).await, Err(StoreError::Injected));
    assert_eq!(store.read(|r| r.get(b"b")).await, Ok(Some(b"1".to_vec())), "the next read works");
}

/// For durable backends: what was acknowledged is there after closing and opening again.
pub async fn check_reopen(open: impl Fn() -> Store) {
    let s = open();
    s.wipe().await.expect("wipe");
    let mut tasks = Vec::new();
    for i in 0..100u32 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let k = format!("k{i:03}").into_bytes();
            s.write(move |t| t.put(&k, &i.to_be_bytes())).await.expect("put");
        }));
    }
    for t in tasks {
        t.await.expect("join");
    }
    s.blobs().put("blob", b"kept").expect("blob");
    s.close();
    drop(s);
    let s = open();
    let rows = s.read(|r| r.scan(b"k", Some(b"l"), 1000)).await.expect("scan");
    assert_eq!(rows.len(), 100);
    for (i, (k, v)) in rows.iter().enumerate() {
        assert_eq!(k, &format!("k{i:03}").into_bytes());
        assert_eq!(v, &(i as u32).to_be_bytes().to_vec());
    }
    assert_eq!(s.blobs().get("blob").expect("blob").as_deref(), Some(&b"kept"[..]));
    s.close();
}
