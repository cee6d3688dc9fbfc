//! The canonical call model of callscope (DESIGN §2): serde types, ids, time handling and
//! validation. No I/O; every other crate speaks these types.

pub mod call;
pub mod enums;
pub mod event;
pub mod id;
pub mod time;
pub mod transfer;
pub mod usage;
pub mod webhook;

pub use call::{
    Agent, Analysis, Call, CallWrite, Cost, CostItem, Flow, FlowNode, LatencyStats, Metrics,
    MicroUsd, OUTCOMES, Object, Parameter, Recording, Tag, TranscriptEntry, WriteContext,
    call_from_json, merge_patch, normalize_transcript,
};
pub use enums::{
    AnalysisStatus, CallKind, CallStatus, Channel, CostComponent, DeliveryStatus, Direction,
    DisconnectionReason, FallbackAction, RecordingStatus, Role, Scope, Sentiment, TransferKind,
    TransferStatus, UnknownVariant, UsageUnit, WebhookEvent, WebhookStatus,
};
pub use event::{Event, EventDraft};
pub use id::{new_id, validate_id};
pub use time::{TimeBound, TimeError, Timestamp};
pub use transfer::{
    ChainStep, Fallback, IllegalTransition, Transfer, TransferDraft, TransferReport,
    TransferSummary, apply_report,
};
pub use usage::{LatencySample, MAX_UNITS, MetricsReport, UsageRecord};
pub use webhook::WebhookDraft;

/// A value the model refuses, with the dotted path of the offending field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// Dotted path of the field, as the client wrote it (`transcript[2].role`).
    pub field: String,
    /// What is wrong and, where it helps, what would be right.
    pub message: String,
}

impl ValidationError {
    /// A refusal of `field` for `message`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}
