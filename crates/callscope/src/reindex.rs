//! `callscope reindex`: rebuilds the search index from SQLite, the system of record.
//!
//! The index directory is removed and the store reopened; its follower then replays the
//! change log from the start, which is the same path that catches up after a crash. Run it
//! with the server stopped: the server owns the index while it runs.

use crate::cli::StoreArgs;
use anyhow::Context;
use callscope_query::Limits;
use callscope_store::{EmbeddedStore, INDEX_DIR, IndexMode, Store};
use std::time::{Duration, Instant};

pub async fn run(args: StoreArgs) -> anyhow::Result<()> {
    let index_dir = args.data_dir.join(INDEX_DIR);
    if index_dir.exists() {
        std::fs::remove_dir_all(&index_dir)
            .with_context(|| format!("cannot remove {}", index_dir.display()))?;
    }
    let started = Instant::now();
    let store = args.open(IndexMode::Maintain, Limits::default())?;
    let latest = catch_up(&store).await?;
    println!(
        "rebuilt the search index from {latest} changes in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Waits until a store opened with [`IndexMode::Maintain`] has indexed every change written
/// before now, showing how far it is, and makes that searchable; answers the last change.
pub async fn catch_up(store: &EmbeddedStore) -> anyhow::Result<i64> {
    let (_, latest) = store.index_progress().await?;
    let progress = crate::progress::bar(u64::try_from(latest).unwrap_or(0), "indexing", "changes");
    loop {
        let (indexed, _) = store.index_progress().await?;
        progress.set_position(u64::try_from(indexed).unwrap_or(0));
        if indexed >= latest {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    store.refresh().await?;
    progress.finish_and_clear();
    Ok(latest)
}
