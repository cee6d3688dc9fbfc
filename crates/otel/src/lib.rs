//! OpenTelemetry traces of voice runtimes, read as calls (issue 13; DESIGN §4 ingest).
//!
//! A runtime's standard OTLP exporter sends spans in batches while a conversation runs, out
//! of order and sometimes twice. [`decode`] turns an export body into [`TraceSpan`]s (each
//! span checked alone, so one bad span does not sink its batch); the store keeps every span
//! of a trace; and [`derive_call`] makes the trace's call from all its spans at once, through
//! the mapper of the runtime that made them (`pipecat.rs`, `livekit.rs`; a trace no mapper knows still
//! becomes a call with its span tree). Deriving from the whole set is what makes repeats
//! and reordering harmless.
//!
//! Code map: `span.rs` (the stored span), `decode.rs` (OTLP protobuf and JSON; metrics are
//! checked and counted, not kept), `conversation.rs` (what a mapper reads, and the call made
//! of it), `pipecat.rs`, `livekit.rs`, `livekit_report.rs` (LiveKit's session report: the
//! upload's header and chat history as a call, and the `session report` log record's usage
//! as its cost), `tree.rs` (the bounded `span_tree`).
//!
//! - **Boundary:** no I/O, no HTTP: bytes in, calls out.

mod conversation;
mod decode;
mod livekit;
mod livekit_report;
mod pipecat;
mod span;
mod tree;

#[cfg(test)]
mod tests;

pub use conversation::{Conversation, TraceInput, Utterance, derive_call, read};
pub use decode::{
    Batch, DecodeError, Encoding, MAX_ATTRIBUTES, MAX_STRING_BYTES, count_metrics, decode,
};
pub use livekit_report::{
    ProtoTimestamp, RecordingHeader, ReportedUsage, SessionReport, complete_with_report,
    report_call, reported_usage, usage_records, with_reported_usage,
};
pub use span::{SpanEvent, SpanStatus, TraceSpan};
pub use tree::{MAX_TREE_SPANS, span_tree};
