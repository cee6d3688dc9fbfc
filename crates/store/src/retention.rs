//! How long calls are kept: retention per organization and per agent, read by the purge
//! that deletes what has outlived it.

use callscope_model::Timestamp;
use std::collections::BTreeMap;

/// The longest retention that can be set, in days (a hundred years): past it a cutoff
/// would fall before any call could have been made.
pub const MAX_RETENTION_DAYS: u32 = 36_500;

/// How long an organization keeps its calls: `days` for all of them, unless an agent has
/// its own. `None` keeps them (or leaves them to the server's default).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Retention {
    pub days: Option<u32>,
    pub agents: BTreeMap<String, u32>,
}

/// Which of an organization's calls a retention applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RetentionScope {
    /// One agent's calls.
    Agent(String),
    /// Every call but those of the agents with a retention of their own.
    Organization { except: Vec<String> },
}

/// A call past its retention, with its creation time: the page's position for the next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpiredCall {
    pub id: String,
    pub created_at: Timestamp,
}

/// The instant before which a call kept `days` is expired, seen at `now`.
pub fn cutoff(now: Timestamp, days: u32) -> Timestamp {
    now.plus_millis(-(i64::from(days) * 86_400_000))
}

/// What one step of change-log compaction did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Compacted {
    /// Entries of the log looked at; zero once compaction has caught up with the index.
    pub examined: usize,
    /// Entries dropped.
    pub removed: usize,
}
