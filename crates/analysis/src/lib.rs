//! What callscope derives from a call rather than stores as given (DESIGN §6): the cost of
//! its usage under a price table, and latency statistics from per-turn samples. No I/O.

pub mod latency;
pub mod pricing;

pub use latency::latency_metrics;
pub use pricing::{PriceEntry, PriceTable, PricingConfig};

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
}
