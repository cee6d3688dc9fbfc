//! The webhook dispatcher: sends due deliveries from the store's outbox, signs them, and
//! records each attempt with what follows (delivered, retry later, give up).
//!
//! **Signature.** `Callscope-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>]`, each `v1`
//! the HMAC-SHA256 of `"<t>.<body>"` under one of the endpoint's valid secrets: the current
//! one, and the previous one during a rotation's grace period, so a receiver holding either
//! verifies. The timestamp lets receivers refuse replays.

use super::{Backoff, POLL_INTERVAL, lease_ms, nap};
use crate::AppState;
use crate::native::dto::{CallView, TransferView};
use crate::signing::{hex, hmac_sha256};
use callscope_analysis::outbound::{self, DestinationPolicy, TrustedRoots};
use callscope_model::{Call, Timestamp, Transfer, WebhookEvent};
use callscope_store::{AttemptVerdict, DeliveryAttempt, DueDelivery};
use hmac::Mac;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::{self, JoinSet};

/// Most deliveries in flight at once.
const BATCH: usize = 32;
/// Most of a receiver's answer kept in the delivery log.
const MAX_ERROR_LEN: usize = 300;

/// How webhooks are sent and retried.
#[derive(Clone, Debug)]
pub struct WebhookSettings {
    /// Attempts per delivery and the waits between them (capped at an hour by default).
    pub retry: Backoff,
    /// Longest a receiver may take to answer.
    pub timeout: Duration,
    /// Whom an `https://` receiver's certificate must come from.
    pub trusted_roots: TrustedRoots,
    /// Which addresses receivers may have: public ones, plus the operator's allowed ranges.
    pub destinations: Arc<DestinationPolicy>,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            retry: Backoff {
                max_attempts: 8,
                base: Duration::from_secs(10),
                max: Duration::from_secs(3600),
            },
            timeout: Duration::from_secs(10),
            trusted_roots: TrustedRoots::Public,
            destinations: Arc::default(),
        }
    }
}

/// The header value signing `body` at `timestamp` (unix seconds) with each of `secrets`.
pub fn signature(secrets: &[&str], timestamp: i64, body: &[u8]) -> String {
    let mut header = format!("t={timestamp}");
    for secret in secrets {
        let mut mac = hmac_sha256(secret.as_bytes());
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        header.push_str(",v1=");
        header.push_str(&hex(&mac.finalize().into_bytes()));
    }
    header
}

/// The JSON body of a delivery: an envelope around the subject rendered as the native API
/// renders it.
fn body(due: &DueDelivery) -> Result<Vec<u8>, serde_json::Error> {
    let delivery = &due.delivery;
    let data = match delivery.event {
        WebhookEvent::TransferUpdated => {
            let transfer: Transfer = serde_json::from_str(&due.snapshot)?;
            serde_json::to_value(TransferView::new(&transfer))?
        }
        _ => {
            let call: Call = serde_json::from_str(&due.snapshot)?;
            serde_json::to_value(CallView::new(&call))?
        }
    };
    serde_json::to_vec(&serde_json::json!({
        "id": delivery.event_id,
        "type": delivery.event,
        "created_at": delivery.created_at,
        "organization_id": delivery.organization_id,
        "delivery_id": delivery.id,
        "attempt": delivery.attempts + 1,
        "data": data,
    }))
}

/// Sends due deliveries forever. Each send runs on its own and is recorded when it ends, so a
/// slow receiver (up to the timeout) delays nobody else's deliveries; at most `BATCH` are in
/// flight. A delivery is claimed from the store with a lease before it is sent: no other
/// claim takes it while it is in flight, and if this process dies mid-send the lease runs
/// out and the delivery is sent again.
pub(super) async fn run(state: AppState) {
    let settings = &state.config.webhooks;
    let agent = outbound::agent(
        settings.timeout,
        &settings.trusted_roots,
        Some(Arc::clone(&settings.destinations)),
    );
    let lease = lease_ms(settings.timeout);
    let mut sends: JoinSet<(DueDelivery, DeliveryAttempt)> = JoinSet::new();
    loop {
        while let Some(sent) = sends.try_join_next() {
            record(&state, sent).await;
        }
        if state.signals.stopping() {
            // Stopping: no new claims; the sends in flight end and are recorded.
            while let Some(sent) = sends.join_next().await {
                record(&state, sent).await;
            }
            return;
        }
        let room = BATCH - sends.len();
        if room > 0 {
            let claimed = match state
                .store
                .claim_deliveries(Timestamp::now(), lease, room)
                .await
            {
                Ok(claimed) => claimed,
                Err(error) => {
                    // Not at full speed: a store that keeps failing would spin this loop.
                    tracing::error!(%error, "cannot claim webhook deliveries");
                    nap(&state.signals.deliveries, POLL_INTERVAL).await;
                    continue;
                }
            };
            let full = claimed.len() == room;
            for delivery in claimed {
                let agent = agent.clone();
                sends.spawn_blocking(move || {
                    let attempt = send(&agent, &delivery);
                    (delivery, attempt)
                });
            }
            if full {
                // A full round: more may be due at once.
                continue;
            }
        }
        // Until the next due delivery, a wake-up for a new one, or a send ending, whichever
        // comes first.
        let wait = match state.store.next_delivery_at().await {
            Ok(Some(next)) => {
                let millis = next.as_millis() - Timestamp::now().as_millis();
                match u64::try_from(millis) {
                    Ok(millis) if millis > 0 => Duration::from_millis(millis).min(POLL_INTERVAL),
                    // Due already (it fell due since the claim) and there is room: claim it
                    // now rather than wait for a send in flight, which may be a slow one.
                    _ if sends.len() < BATCH => continue,
                    _ => POLL_INTERVAL,
                }
            }
            _ => POLL_INTERVAL,
        };
        tokio::select! {
            Some(sent) = sends.join_next(), if !sends.is_empty() => {
                record(&state, sent).await;
            }
            () = nap(&state.signals.deliveries, wait) => {}
        }
    }
}

/// Records how a send went and decides what comes next for its delivery.
async fn record(state: &AppState, sent: Result<(DueDelivery, DeliveryAttempt), task::JoinError>) {
    // A send that panicked recorded nothing: its lease runs out and it is sent again.
    let Ok((delivery, attempt)) = sent else {
        return;
    };
    let verdict = match attempt.status_code {
        Some(200..=299) => AttemptVerdict::Delivered,
        _ => match state
            .config
            .webhooks
            .retry
            .retry_at(attempt.number, attempt.at)
        {
            Some(at) => AttemptVerdict::RetryAt(at),
            None => AttemptVerdict::GiveUp,
        },
    };
    state.metrics.webhook_attempt(match verdict {
        AttemptVerdict::Delivered => "delivered",
        AttemptVerdict::RetryAt(_) => "retry",
        AttemptVerdict::GiveUp => "failed",
    });
    if let Err(error) = state
        .store
        .record_attempt(&delivery.delivery.id, attempt, verdict)
        .await
    {
        tracing::error!(%error, delivery = %delivery.delivery.id, "cannot record a webhook attempt");
    }
}

/// One attempt: POSTs the signed body and says how it went.
fn send(agent: &ureq::Agent, due: &DueDelivery) -> DeliveryAttempt {
    let now = Timestamp::now();
    let number = due.delivery.attempts + 1;
    let started = Instant::now();
    let finish = |status_code: Option<u16>, error: Option<String>| DeliveryAttempt {
        number,
        at: now,
        status_code,
        error,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    };
    let body = match body(due) {
        Ok(body) => body,
        Err(error) => return finish(None, Some(format!("cannot render the event: {error}"))),
    };
    let secrets = due.endpoint.signing_secrets(now);
    let response = agent
        .post(&due.endpoint.url)
        .header("Content-Type", "application/json")
        .header(
            "User-Agent",
            concat!("callscope/", env!("CARGO_PKG_VERSION")),
        )
        .header("Callscope-Event", due.delivery.event.as_str())
        .header("Callscope-Delivery", &due.delivery.id)
        .header(
            "Callscope-Signature",
            &signature(&secrets, now.as_millis() / 1000, &body),
        )
        .send(&body[..]);
    match response {
        Ok(mut response) => {
            let status = response.status().as_u16();
            let error = (!(200..300).contains(&status)).then(|| {
                let text = response.body_mut().read_to_string().unwrap_or_default();
                let mut text: String = text.chars().take(MAX_ERROR_LEN).collect();
                if text.is_empty() {
                    text = format!("HTTP {status}");
                }
                text
            });
            finish(Some(status), error)
        }
        Err(error) => finish(None, Some(error.to_string())),
    }
}
