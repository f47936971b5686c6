//! The in-memory reference backend and the fault-injecting wrapper against the suite.

use std::sync::Arc;

use stratus_storage::faulty::FaultyBackend;
use stratus_storage::memory::MemoryBackend;
use stratus_storage::{MemBlobs, Store, StoreError, conformance};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_backend_conforms() {
    conformance::run_all(&Store::in_memory()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faulty_wrapper_without_faults_conforms() {
    let inner = Arc::new(MemoryBackend::default());
    let store = Store::new(Arc::new(FaultyBackend::new(inner)), Arc::new(MemBlobs::default()));
    conformance::run_all(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_faults_surface_and_lost_acks_still_commit() {
    let faulty = Arc::new(FaultyBackend::new(Arc::new(MemoryBackend::default())));
    let store = Store::new(faulty.clone(), Arc::new(MemBlobs::default()));

    faulty.fail_next_writes(1);
    assert_eq!(store.write(|t| t.put(b"a", b"1")).await, Err(StoreError::Injected));
    assert_eq!(store.read(|r| r.get(b"a")).await, Ok(None), "a failed write leaves nothing");

    faulty.lose_next_acks(1);
    assert_eq!(store.write(|t| t.put(b"b", b"1")).await, Err(StoreError::Injected));
    assert_eq!(store.read(|r| r.get(b"b")).await, Ok(Some(b"1".to_vec())), "the commit happened anyway");

    faulty.fail_next_reads(1);
    assert_eq!(store.read(|r| r.get(b"b")).await, Err(StoreError::Injected));
    assert_eq!(store.read(|r| r.get(b"b")).await, Ok(Some(b"1".to_vec())));
}
