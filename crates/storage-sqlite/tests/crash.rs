//! Acknowledged means durable, also across `kill -9`: a child process (this test binary, run
//! again) writes through the store as fast as it can and reports every acknowledged write; it
//! is killed mid-stream, and the store, reopened, must hold every write it reported. A tiny redo
//! log makes the log start again (and groups overflow it) many times per run.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use stratus_storage::{FsBlobs, Store, StoreError};
use stratus_storage_sqlite::SqliteBackend;

const CHILD_DIR: &str = "STRATUS_CRASH_TEST_DIR";
const CHILD_ROUND: &str = "STRATUS_CRASH_TEST_ROUND";
const TEST: &str = "acknowledged_writes_survive_kill_9";

fn value(key: u64) -> Vec<u8> {
    let len = (key * 37 % 3000) as usize;
    format!("v{key}-").into_bytes().into_iter().cycle().take(len.max(8)).collect()
}

fn open(dir: &Path, log_capacity: u64) -> Store {
    let backend = SqliteBackend::open_with(&dir.join("stratus.db"), log_capacity).expect("open");
    Store::new(Arc::new(backend), Arc::new(FsBlobs::open(&dir.join("blobs")).expect("blobs")))
}

/// The child: 32 writers, each putting new keys (and deleting every tenth one it wrote before)
/// and bumping a shared counter in the same transaction. Prints `put K C`, `del K C` once a
/// write is acknowledged, after checking that a read sees it.
async fn child(dir: &Path, round: u64) {
    let store = open(dir, 64 << 10);
    let mut tasks = Vec::new();
    for w in 0..32u64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0u64.. {
                let key = round << 40 | w << 24 | n;
                let delete = (n % 10 == 9).then(|| key - 5);
                let counter = store
                    .write(move |t| {
                        let c = t.get(b"counter")?.map_or(0, |v| u64::from_be_bytes(v.try_into().unwrap_or_default()));
                        t.put(b"counter", &(c + 1).to_be_bytes())?;
                        match delete {
                            Some(d) => t.delete(format!("k{d:016x}").as_bytes())?,
                            None => t.put(format!("k{key:016x}").as_bytes(), &value(key))?,
                        }
                        Ok::<_, StoreError>(c + 1)
                    })
                    .await
                    .expect("write");
                // Now and then a read must see the write; in between, groups stay acknowledged but
                // uncommitted to SQLite for a while, which is what a kill must not lose.
                if w == 0 && n % 50 == 0 {
                    let k = format!("k{:016x}", delete.unwrap_or(key));
                    let seen = store.read(move |r| r.get(k.as_bytes())).await.expect("read");
                    if seen.is_some() == delete.is_some() {
                        println!("STALE {key}");
                        std::process::exit(3);
                    }
                }
                match delete {
                    Some(d) => println!("del {d} {counter} {w} {n}"),
                    None => println!("put {key} {counter} {w} {n}"),
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill_9() {
    if let (Ok(dir), Ok(round)) = (std::env::var(CHILD_DIR), std::env::var(CHILD_ROUND)) {
        child(Path::new(&dir), round.parse().expect("round")).await;
        return;
    }
    let dir = std::env::temp_dir().join(format!("stratus-sqlite-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let mut expected: BTreeMap<u64, bool> = BTreeMap::new();
    let mut counter = 0u64;
    for round in 0..4u64 {
        let mut child = Command::new(std::env::current_exe().expect("exe"))
            .args([TEST, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_DIR, &dir)
            .env(CHILD_ROUND, round.to_string())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn the child");
        // Kept open until the child is killed: a closed pipe would make its prints fail first.
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut acked = 0;
        // Each writer's last acknowledged write.
        let mut last: BTreeMap<u64, u64> = BTreeMap::new();
        for line in lines.by_ref() {
            let line = line.expect("line");
            let parts: Vec<&str> = line.split_whitespace().collect();
            match parts[..] {
                ["put", k, c, w, n] | ["del", k, c, w, n] => {
                    expected.insert(k.parse().expect("key"), parts[0] == "put");
                    last.insert(w.parse().expect("writer"), n.parse().expect("n"));
                    counter = counter.max(c.parse().expect("counter"));
                    acked += 1;
                }
                ["STALE", k] => panic!("round {round}: an acknowledged write to {k} was not visible to a read"),
                _ => continue,
            }
            // Each round dies at a different point.
            if acked >= 3_000 + round * 1_700 {
                break;
            }
        }
        child.kill().expect("kill -9");
        let _ = child.wait();
        drop(lines);
        assert!(acked > 0, "round {round}: the child acknowledged nothing");

        let store = open(&dir, 64 << 10);
        let found = store.read(|r| r.scan(b"k", Some(b"l"), usize::MAX)).await.expect("scan");
        let found: BTreeMap<Vec<u8>, Vec<u8>> = found.into_iter().collect();
        // Each writer had one write in flight when the child died, which may have committed
        // unreported: where that was a delete, its key may be gone.
        for (&w, &n) in &last {
            if (n + 1) % 10 == 9 {
                expected.remove(&(round << 40 | w << 24 | (n + 1 - 5)));
            }
        }
        for (&key, &present) in &expected {
            let k = format!("k{key:016x}").into_bytes();
            match (present, found.get(&k)) {
                (true, Some(v)) => assert_eq!(v, &value(key), "round {round}: key {key} has the wrong value"),
                (true, None) => panic!("round {round}: acknowledged put of {key} lost (dir {})", dir.display()),
                (false, Some(_)) => panic!("round {round}: acknowledged delete of {key} lost"),
                (false, None) => {}
            }
        }
        let stored = store
            .read(|r| r.get(b"counter"))
            .await
            .expect("read")
            .map_or(0, |v| u64::from_be_bytes(v.try_into().expect("8 bytes")));
        assert!(stored >= counter, "round {round}: counter {stored} behind the acknowledged {counter}");
        counter = stored;
        store.close();
    }
    let _ = std::fs::remove_dir_all(&dir);
}
