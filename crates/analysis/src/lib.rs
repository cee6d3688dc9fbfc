//! What callscope derives from a call rather than stores as given (DESIGN §6): the cost of
//! its usage under a price table, latency statistics from per-turn samples, and the post-call
//! report (summary, outcome, sentiment, structured data).
//!
//! Everything here is a pure function of its inputs except two reads: the optional LLM
//! analyzer (`report::llm`), a blocking HTTP request to an OpenAI-compatible endpoint, bounded
//! by a timeout, whose failure always falls back to the heuristic report; and `audio`, which
//! reads an uploaded recording's duration from the file. `outbound` is the one HTTP client
//! configuration, which the server's webhook sender uses too.

pub mod audio;
pub mod latency;
pub mod outbound;
pub mod pricing;
pub mod report;

pub use audio::AudioFormat;
pub use latency::latency_metrics;
pub use outbound::TrustedRoots;
pub use pricing::{PriceEntry, PriceTable, PricingConfig};
pub use report::{Extractor, ExtractorKind, LlmConfig, analyze, heuristic_report, llm_report};

/// What analysis refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnalysisError {
    /// The price table has no price for usage record `record`; the message names what is
    /// priced instead.
    #[error("usage[{record}]: {message}")]
    NoPrice { record: usize, message: String },
    /// A price table entry is malformed (config).
    #[error("price table: {0}")]
    BadPrice(String),
    /// An extractor is misconfigured (config); `field` names the offending part
    /// (`name`, `pattern`, `question`).
    #[error("extractor `{name}`: {field} {message}")]
    BadExtractor {
        name: String,
        field: &'static str,
        message: String,
    },
    /// An uploaded recording is not audio this crate can read.
    #[error("the recording is not usable audio: {0}")]
    BadAudio(String),
    /// The file of certificate authorities for outbound HTTPS is unusable (config).
    #[error("trusted certificates in {file}: {message}")]
    BadTrustedRoots { file: String, message: String },
    /// The LLM endpoint could not be reached or did not answer in time.
    #[error("the LLM endpoint could not be reached: {0}")]
    LlmUnreachable(String),
    /// The LLM endpoint answered with an HTTP error status.
    #[error("the LLM endpoint answered HTTP {status}: {body}")]
    LlmStatus { status: u16, body: String },
    /// The LLM answered, but not with a usable report (bad JSON, missing or invalid field).
    #[error("the LLM answer was not a usable report: {0}")]
    LlmAnswer(String),
}
