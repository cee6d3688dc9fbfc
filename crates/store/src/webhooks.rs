//! Webhook endpoints and their deliveries, as the store keeps them (DESIGN §6).
//!
//! The store owns the outbox: a delivery row is written in the same transaction as the
//! change it announces, and stays until it is delivered or gives up, so nothing queued is
//! lost across a crash. Sending is the server's dispatcher's work.

use callscope_model::{DeliveryStatus, Timestamp, WebhookEvent};

/// A configured endpoint, secrets included (the dispatcher signs with them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookEndpoint {
    pub id: String,
    pub organization_id: String,
    pub url: String,
    pub events: Vec<WebhookEvent>,
    pub description: Option<String>,
    pub enabled: bool,
    pub secret: String,
    /// The secret before the last rotation, still valid until `previous_secret_expires_at`
    /// so receivers can switch over without dropping deliveries.
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl WebhookEndpoint {
    /// The secrets deliveries are signed with at `now`: the current one, then the previous
    /// one while its grace period lasts.
    pub fn signing_secrets(&self, now: Timestamp) -> Vec<&str> {
        let previous = self
            .previous_secret
            .as_deref()
            .filter(|_| self.previous_secret_expires_at.is_some_and(|end| now < end));
        std::iter::once(self.secret.as_str())
            .chain(previous)
            .collect()
    }
}

/// One attempt to deliver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryAttempt {
    /// From 1.
    pub number: u32,
    pub at: Timestamp,
    /// The receiver's HTTP status, when it answered.
    pub status_code: Option<u16>,
    /// Why the attempt failed, when it did.
    pub error: Option<String>,
    pub duration_ms: u64,
}

/// One event on its way to one endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub id: String,
    /// Shared by the deliveries of one event to every endpoint and by redeliveries, so a
    /// receiver can drop duplicates.
    pub event_id: String,
    pub endpoint_id: String,
    pub organization_id: String,
    pub event: WebhookEvent,
    /// The call or transfer the event is about.
    pub subject_id: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub next_attempt_at: Option<Timestamp>,
    pub last_status_code: Option<u16>,
    pub last_error: Option<String>,
    /// The delivery this one sends again.
    pub redelivery_of: Option<String>,
    pub created_at: Timestamp,
    pub delivered_at: Option<Timestamp>,
    /// Every attempt so far, oldest first (filled by listings, empty for the dispatcher).
    pub log: Vec<DeliveryAttempt>,
}

/// A delivery that is due, with what sending it takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueDelivery {
    pub delivery: Delivery,
    pub endpoint: WebhookEndpoint,
    /// Canonical JSON of the call or transfer as it was at the event.
    pub snapshot: String,
}

/// How an attempt ended, and so what becomes of the delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptVerdict {
    Delivered,
    /// Failed; try again at this time.
    RetryAt(Timestamp),
    /// Failed, and the attempts are used up.
    GiveUp,
}
