//! The SQLite backend against the conformance suite, plus durability across reopen.

use std::sync::Arc;

use stratus_storage::faulty::FaultyBackend;
use stratus_storage::{MemBlobs, Store, StoreError, conformance};
use stratus_storage_sqlite::{SqliteBackend, open_dir};

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("stratus-sqlite-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_backend_conforms_and_keeps_acknowledged_writes() {
    let dir = temp_dir("conform");
    let store = open_dir(&dir).expect("open");
    conformance::run_all(&store).await;
    store.close();
    conformance::check_reopen(|| open_dir(&dir).expect("open")).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_over_sqlite_surface_and_lost_acks_still_commit() {
    let dir = temp_dir("faulty");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let inner = Arc::new(SqliteBackend::open(&dir.join("db")).expect("open"));
    let faulty = Arc::new(FaultyBackend::new(inner));
    let store = Store::new(faulty.clone(), Arc::new(MemBlobs::default()));
    conformance::check_faults(&faulty, &store).await;
    store.close();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_store_refuses_writes() {
    let dir = temp_dir("closed");
    let store = open_dir(&dir).expect("open");
    store.close();
    assert_eq!(store.write(|t| t.put(b"a", b"1")).await, Err(StoreError::Closed));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_share_commits() {
    // Group commit: many concurrent transactions must all be acknowledged, and the store must
    // hold every one of them afterwards.
    let dir = temp_dir("group");
    let store = open_dir(&dir).expect("open");
    let mut tasks = Vec::new();
    for i in 0..500u32 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            let k = format!("g{i:04}").into_bytes();
            s.write(move |t| t.put(&k, b"v")).await
        }));
    }
    for t in tasks {
        t.await.expect("join").expect("write");
    }
    let n = store.read(|r| r.scan(b"g", Some(b"h"), 10_000)).await.expect("scan").len();
    assert_eq!(n, 500);
    store.close();
    let _ = std::fs::remove_dir_all(&dir);
}
