//! The store conformance kit against the embedded MemoryStore.
#![cfg(feature = "conformance")]

use portcullis::store::{conformance, MemoryStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_passes_the_conformance_kit() {
    conformance::run(|| async { MemoryStore::new() }).await;
}
