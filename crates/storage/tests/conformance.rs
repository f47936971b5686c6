//! Every backend against the same suite.

use std::sync::Arc;

use stratus_storage::faulty::FaultyBackend;
use stratus_storage::memory::MemoryBackend;
use stratus_storage::sqlite::SqliteBackend;
use stratus_storage::{MemBlobs, Store, StoreError, conformance};

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("stratus-storage-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_backend_conforms() {
    conformance::run_all(&Store::in_memory()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_backend_conforms() {
    let dir = temp_dir("sqlite");
    let store = Store::open_dir(&dir).expect("open");
    conformance::run_all(&store).await;
    store.close();
    conformance::check_reopen(|| Store::open_dir(&dir).expect("open")).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faulty_wrapper_without_faults_conforms() {
    let inner = Arc::new(MemoryBackend::default());
    let store = Store::new(Arc::new(FaultyBackend::new(inner)), Arc::new(MemBlobs::default()));
    conformance::run_all(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_faults_surface_and_lost_acks_still_commit() {
    let dir = temp_dir("faulty");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let inner = Arc::new(SqliteBackend::open(&dir.join("db")).expect("open"));
    let faulty = Arc::new(FaultyBackend::new(inner));
    let store = Store::new(faulty.clone(), Arc::new(MemBlobs::default()));

    faulty.fail_next_writes(1);
    let r = store.write(|t| t.put(b"a", b"1")).await;
    assert_eq!(r, Err(StoreError::Injected));
    assert_eq!(store.read(|r| r.get(b"a")).await, Ok(None), "a failed write leaves nothing");

    faulty.lose_next_acks(1);
    let r = store.write(|t| t.put(b"b", b"1")).await;
    assert_eq!(r, Err(StoreError::Injected));
    assert_eq!(store.read(|r| r.get(b"b")).await, Ok(Some(b"1".to_vec())), "the commit happened anyway");

    faulty.fail_next_reads(1);
    assert_eq!(store.read(|r| r.get(b"b")).await, Err(StoreError::Injected));
    assert_eq!(store.read(|r| r.get(b"b")).await, Ok(Some(b"1".to_vec())));
    store.close();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_store_refuses_writes() {
    let dir = temp_dir("closed");
    let store = Store::open_dir(&dir).expect("open");
    store.close();
    let r = store.write(|t| t.put(b"a", b"1")).await;
    assert_eq!(r, Err(StoreError::Closed));
    let _ = std::fs::remove_dir_all(&dir);
}
