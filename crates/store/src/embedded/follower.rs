//! The index follower: one thread that replays the `changes` log into the search index.
//!
//! It starts from the sequence number the last index commit recorded, so whatever SQLite
//! committed before a crash is indexed on the next start. It wakes when the writer commits
//! (and every half second, to see writes by other processes on the same data directory),
//! applies changes in batches, and commits the index when it has caught up or at least once a
//! second while writes keep coming. Each commit's sequence is published for
//! `Store::refresh`.

use super::{open_reader, sql};
use crate::Result;
use crate::index::SearchIndex;
use rusqlite::Connection;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Changes read per batch.
const BATCH: usize = 2_000;
/// Longest a follower waits for a wake-up before looking at the log anyway.
const IDLE_POLL: Duration = Duration::from_millis(500);
/// Longest applied changes stay invisible while writes keep coming. Each commit flushes a
/// segment that later costs a merge, so a backlog (a bulk load, a rebuild) commits less
/// often than a steady trickle, which is committed as soon as the follower catches up.
const MAX_COMMIT_DELAY: Duration = Duration::from_secs(1);
const MAX_COMMIT_DELAY_IN_BACKLOG: Duration = Duration::from_secs(5);

pub(super) struct Follower {
    pub database: PathBuf,
    pub index: Arc<SearchIndex>,
    pub wake: mpsc::Receiver<()>,
    pub indexed: watch::Sender<i64>,
    pub stop: Arc<AtomicBool>,
}

/// What one batch of the log asks for.
struct Batch {
    last: i64,
    upserts: Vec<(String, String)>,
    deletes: Vec<(String, String)>,
    full: bool,
}

impl Follower {
    pub(super) fn run(self) {
        let mut indexed = match self.index.indexed_sequence() {
            Ok(sequence) => sequence,
            Err(error) => {
                tracing::error!(%error, "cannot read the index's position; search will not follow writes");
                return;
            }
        };
        self.indexed.send_replace(indexed);
        let mut applied = indexed;
        let mut last_commit = Instant::now();
        // One read connection for the thread's life, reopened only after an error.
        let mut connection: Option<Connection> = None;
        loop {
            let stopping = self.stop.load(Ordering::Acquire);
            let stepped = match connection.take() {
                Some(open) => Ok(open),
                None => open_reader(&self.database),
            }
            .and_then(|open| {
                let step = self.step(&open, applied);
                if step.is_ok() {
                    connection = Some(open);
                }
                step
            });
            match stepped {
                Ok(Some(batch)) => {
                    applied = batch.last;
                    let delay = if batch.full {
                        MAX_COMMIT_DELAY_IN_BACKLOG
                    } else {
                        MAX_COMMIT_DELAY
                    };
                    // Stopping commits what is applied and leaves any backlog to the next
                    // start, which replays it from the change log: shutdown stays quick.
                    let due = stopping || !batch.full || last_commit.elapsed() >= delay;
                    if due && self.commit(applied) {
                        indexed = applied;
                        last_commit = Instant::now();
                    }
                    if stopping {
                        break;
                    }
                    continue;
                }
                Ok(None) => {
                    if applied > indexed && self.commit(applied) {
                        indexed = applied;
                        last_commit = Instant::now();
                    }
                }
                Err(error) => {
                    tracing::error!(%error, "index follower failed; retrying");
                    std::thread::sleep(IDLE_POLL);
                }
            }
            if stopping {
                break;
            }
            if let Err(mpsc::RecvTimeoutError::Disconnected) = self.wake.recv_timeout(IDLE_POLL) {
                // The writer is gone: one last look at the log, then stop.
                self.stop.store(true, Ordering::Release);
            }
        }
        tracing::debug!(indexed, "index follower stopped");
    }

    fn commit(&self, sequence: i64) -> bool {
        match self.index.commit(sequence) {
            Ok(()) => {
                self.indexed.send_replace(sequence);
                true
            }
            Err(error) => {
                tracing::error!(%error, "index commit failed; retrying");
                false
            }
        }
    }

    /// Reads and applies the next batch after `applied`; `None` when the log has no more.
    fn step(&self, connection: &Connection, applied: i64) -> Result<Option<Batch>> {
        let snapshot = connection.unchecked_transaction()?;
        let changes = sql::changes_after(&snapshot, applied, BATCH)?;
        let Some(last) = changes.last().map(|change| change.sequence) else {
            return Ok(None);
        };
        // Only the last change of each call in the batch matters.
        let mut latest: HashMap<(String, String), bool> = HashMap::new();
        for change in &changes {
            latest.insert(
                (change.organization_id.clone(), change.call_id.clone()),
                change.deleted,
            );
        }
        let mut batch = Batch {
            last,
            upserts: Vec::new(),
            deletes: Vec::new(),
            full: changes.len() == BATCH,
        };
        for (key, deleted) in latest {
            if deleted {
                batch.deletes.push(key);
            } else {
                batch.upserts.push(key);
            }
        }
        let mut calls = Vec::with_capacity(batch.upserts.len());
        for (organization, id) in &batch.upserts {
            match sql::get_call(&snapshot, organization, id)? {
                Some(call) => calls.push(call),
                // Deleted by a later change outside this batch: drop it now, the delete follows.
                None => batch.deletes.push((organization.clone(), id.clone())),
            }
        }
        self.index.apply(&calls, &batch.deletes)?;
        Ok(Some(batch))
    }
}
