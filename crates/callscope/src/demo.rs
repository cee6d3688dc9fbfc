//! `callscope demo` and `serve --demo`: stream generated calls into the store, and write
//! the recording files of the most recent ones.

mod recordings;

use crate::cli::{CorpusShape, DemoArgs};
use callscope_analysis::heuristic_report;
use callscope_demo::{DemoConfig, generate};
use callscope_model::{Call, Timestamp, WebhookStatus};
use callscope_query::Limits;
use callscope_store::{CallRecord, EmbeddedStore, IndexMode, Store};
use std::path::Path;
use std::time::Instant;

/// Calls per store transaction: large enough to amortise the commit, small enough to keep
/// memory flat for any `--calls`.
const BATCH: usize = 2000;

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let store = args.store.open(IndexMode::Off, Limits::default())?;
    let anchor = match args.anchor {
        Some(bound) => bound.start(),
        None => callscope_model::TimeBound::Day(Timestamp::now().date()).start(),
    };
    let started = Instant::now();
    let recordings_dir = args.store.recordings_dir();
    let filled = fill(
        &store,
        &args.org,
        args.calls,
        args.seed,
        anchor,
        args.days,
        CorpusShape::Full,
        Reports::Heuristic,
        Recordings::Write(&recordings_dir),
    )
    .await?;
    println!(
        "wrote {} calls for organization `{}` in {:.1} s ({} with a recording file, {:.1} MB)",
        args.calls,
        args.org,
        started.elapsed().as_secs_f64(),
        filled.recordings,
        filled.recording_bytes as f64 / 1e6
    );
    Ok(())
}

/// Whether ended demo calls come with their post-call report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reports {
    /// The built-in analyzer's, as the server would have written it when the call ended:
    /// demo data shows summaries, outcomes and sentiment from the first start.
    Heuristic,
    /// None: the benchmark's corpus, so ingest figures stay comparable across sessions.
    None,
}

/// Whether demo calls come with recording files.
#[derive(Clone, Copy, Debug)]
pub enum Recordings<'a> {
    /// The most recent calls that ended with an available recording, up to a few dozen
    /// (`recordings.rs` says which), get WAV files rendered from their transcript timings in
    /// this recordings folder; every other call loses its recording links, which would lead
    /// nowhere.
    Write(&'a Path),
    /// None, and the generator's links are kept: the benchmark's corpus, whose size per call
    /// stays comparable across sessions.
    None,
}

/// What [`fill`] wrote besides the calls.
#[derive(Clone, Copy, Debug, Default)]
pub struct Filled {
    /// Calls given recording files.
    pub recordings: usize,
    /// The bytes of those files.
    pub recording_bytes: u64,
}

/// The report the server's worker would have stored for `call` when it ended.
fn with_report(mut call: Call) -> Call {
    if call.status.is_terminal() {
        let at = call.ended_at.unwrap_or(call.updated_at);
        let mut report = heuristic_report(&call, &[]);
        report.created_at = Some(at);
        report.updated_at = Some(at);
        report.webhook_status = Some(WebhookStatus::NotConfigured);
        call.analysis = Some(report);
    }
    call
}

/// Writes `calls` generated calls, showing progress on a terminal. The next batch is
/// generated (with its recording files) while the previous one commits. A call's files are
/// written before the call, so a stored call never points at a missing file.
#[allow(clippy::too_many_arguments)]
pub async fn fill(
    store: &EmbeddedStore,
    organization: &str,
    calls: usize,
    seed: u64,
    anchor: Timestamp,
    days: u32,
    shape: CorpusShape,
    reports: Reports,
    recordings: Recordings<'_>,
) -> anyhow::Result<Filled> {
    let config = DemoConfig {
        seed,
        organization_id: organization.to_owned(),
        calls,
        anchor,
        days,
    };
    let chosen = match recordings {
        Recordings::Write(_) => recordings::choose(&config),
        Recordings::None => recordings::Chosen::default(),
    };
    let progress = crate::progress::bar(calls as u64, "generating demo calls", "calls");
    let mut generated =
        generate(&config)
            .enumerate()
            .map(|(index, labelled)| -> anyhow::Result<_> {
                let labelled = match shape {
                    CorpusShape::Full => labelled,
                    CorpusShape::Compact => labelled.compact(),
                };
                let mut call = match reports {
                    Reports::Heuristic => with_report(labelled.call),
                    Reports::None => labelled.call,
                };
                if let Recordings::Write(dir) = recordings {
                    if chosen.contains(index) {
                        recordings::write(&mut call, dir)?;
                    } else {
                        recordings::unlink(&mut call);
                    }
                }
                Ok(CallRecord {
                    call,
                    events: labelled.events,
                    transfers: labelled.transfers,
                })
            });
    let mut pending: Option<tokio::task::JoinHandle<callscope_store::Result<()>>> = None;
    loop {
        let batch: anyhow::Result<Vec<_>> = generated.by_ref().take(BATCH).collect();
        if let Some(previous) = pending.take() {
            previous.await??;
        }
        let batch = batch?;
        if batch.is_empty() {
            break;
        }
        let size = batch.len() as u64;
        let store = store.clone();
        let progress = progress.clone();
        pending = Some(tokio::spawn(async move {
            store.insert_calls(batch).await?;
            progress.inc(size);
            Ok(())
        }));
    }
    progress.finish_and_clear();
    let filled = Filled {
        recordings: chosen.len(),
        recording_bytes: chosen.bytes,
    };
    tracing::info!(
        calls,
        organization,
        recordings = filled.recordings,
        recording_bytes = filled.recording_bytes,
        "demo calls written"
    );
    Ok(filled)
}
