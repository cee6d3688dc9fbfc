//! The runtime and SIP signals of a call, in the shape of seed 002's `/events`: the carrier's
//! view for phone calls, the media server's for web calls, the chat widget's for chats.

use callscope_model::{Event, Object};
use serde_json::{Value, json};

/// How long before the agent's leg ends a transfer is initiated.
pub(crate) const TRANSFER_LEAD_MS: i64 = 800;

/// How a call went, as far as signalling can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Signal {
    /// Connected and ended normally (`machine` when an answering machine picked up).
    Connected {
        machine: bool,
    },
    /// Connected and handed to a human at the end.
    Transferred,
    /// Connected, then died on an internal error.
    Errored,
    /// Still running at the anchor.
    Live,
    NoAnswer,
    Busy,
    /// The network refused the call before it rang.
    DialFailed,
    /// Abandoned before anyone answered.
    Canceled,
}

/// The medium the signals come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Medium {
    Phone { outbound: bool },
    Web,
    Chat,
}

#[derive(Debug)]
pub(crate) struct Timing {
    pub(crate) created_ms: i64,
    pub(crate) started_ms: i64,
    /// When the call ended; `None` while it is live.
    pub(crate) ended_ms: Option<i64>,
}

struct Draft {
    at: i64,
    event_type: &'static str,
    status: &'static str,
    sip: Option<(u16, &'static str)>,
    failure_cause: Option<&'static str>,
    payload: Option<Value>,
}

fn draft(at: i64, event_type: &'static str, status: &'static str) -> Draft {
    Draft {
        at,
        event_type,
        status,
        sip: None,
        failure_cause: None,
        payload: None,
    }
}

impl Draft {
    fn sip(mut self, code: u16, text: &'static str) -> Self {
        self.sip = Some((code, text));
        self
    }

    fn cause(mut self, cause: &'static str) -> Self {
        self.failure_cause = Some(cause);
        self
    }

    fn payload(mut self, payload: Value) -> Self {
        self.payload = Some(payload);
        self
    }
}

/// Everything the event sequence depends on besides timing.
#[derive(Debug)]
pub(crate) struct EventInput<'a> {
    pub(crate) call_id: &'a str,
    pub(crate) provider: &'a str,
    pub(crate) medium: Medium,
    pub(crate) signal: Signal,
    /// Which final SIP response a failed dial got (index into a fixed list).
    pub(crate) variant: u64,
    pub(crate) transfer_to: Option<&'a str>,
}

/// The events of one call, in time order, all within `[created, ended]`.
pub(crate) fn sequence(input: &EventInput<'_>, timing: &Timing) -> Vec<Event> {
    let created = timing.created_ms;
    let started = timing.started_ms;
    let end = timing.ended_ms;
    let mut drafts = Vec::with_capacity(8);
    let ended_status = match input.signal {
        Signal::Connected { .. } | Signal::Transferred => "completed",
        Signal::Errored | Signal::DialFailed => "failed",
        Signal::NoAnswer => "no-answer",
        Signal::Busy => "busy",
        Signal::Canceled => "canceled",
        Signal::Live => "in-progress",
    };
    let connected = matches!(
        input.signal,
        Signal::Connected { .. } | Signal::Transferred | Signal::Errored | Signal::Live
    );

    match input.medium {
        Medium::Phone { outbound } => {
            let direction = if outbound { "outbound" } else { "inbound" };
            // For answered calls the ringing precedes `started_at`; for the others the call
            // "started" when dialling did.
            let setup_start = if connected { created } else { started };
            let setup_end = if connected {
                started
            } else {
                end.unwrap_or(started)
            };
            let span = (setup_end - setup_start).max(3);
            drafts.push(
                draft(setup_start, "call.initiated", "initiated")
                    .payload(json!({"direction": direction})),
            );
            drafts.push(
                draft(setup_start + (span / 20).min(150), "sip.trying", "trying")
                    .sip(100, "Trying"),
            );
            if input.signal != Signal::DialFailed && input.signal != Signal::Busy {
                drafts.push(
                    draft(
                        setup_start + (span / 6).min(2_500),
                        "sip.ringing",
                        "ringing",
                    )
                    .sip(180, "Ringing"),
                );
            }
            match input.signal {
                Signal::NoAnswer => {
                    let (code, text) = if input.variant.is_multiple_of(2) {
                        (480, "Temporarily Unavailable")
                    } else {
                        (487, "Request Terminated")
                    };
                    drafts.push(
                        draft(setup_end, "sip.no_answer", "no-answer")
                            .sip(code, text)
                            .cause("no_answer"),
                    );
                }
                Signal::Busy => drafts.push(
                    draft(setup_end, "sip.busy", "busy")
                        .sip(486, "Busy Here")
                        .cause("user_busy"),
                ),
                Signal::DialFailed => {
                    const FAILURES: [(u16, &str, &str); 4] = [
                        (503, "Service Unavailable", "network_error"),
                        (404, "Not Found", "unallocated_number"),
                        (403, "Forbidden", "call_rejected"),
                        (500, "Server Internal Error", "carrier_error"),
                    ];
                    let (code, text, cause) = FAILURES[(input.variant % 4) as usize];
                    drafts.push(
                        draft(setup_end, "sip.failed", "failed")
                            .sip(code, text)
                            .cause(cause),
                    );
                }
                Signal::Canceled => drafts.push(
                    draft(setup_end, "sip.canceled", "canceled")
                        .sip(487, "Request Terminated")
                        .cause(if outbound {
                            "originator_cancel"
                        } else {
                            "caller_hangup"
                        }),
                ),
                Signal::Connected { machine } => {
                    drafts.push(draft(started, "sip.answered", "answered").sip(200, "OK"));
                    if outbound {
                        drafts.push(amd(started, machine));
                    }
                }
                Signal::Transferred | Signal::Errored | Signal::Live => {
                    drafts.push(draft(started, "sip.answered", "answered").sip(200, "OK"));
                    if outbound {
                        drafts.push(amd(started, false));
                    }
                }
            }
        }
        Medium::Web => {
            drafts.push(draft(created, "room.created", "created"));
            if connected {
                drafts.push(
                    draft(started, "participant.joined", "joined")
                        .payload(json!({"identity": "agent"})),
                );
                drafts.push(
                    draft(started + 1, "participant.joined", "joined")
                        .payload(json!({"identity": "visitor"})),
                );
            }
        }
        Medium::Chat => {
            drafts.push(draft(created, "session.created", "created"));
            if connected {
                drafts.push(draft(started, "session.started", "started"));
            }
        }
    }

    if let Some(end) = end {
        match input.signal {
            Signal::Transferred => drafts.push(
                draft(end - TRANSFER_LEAD_MS, "transfer.initiated", "initiated")
                    .sip(202, "Accepted")
                    .payload(json!({"to": input.transfer_to.unwrap_or_default(), "kind": "blind"})),
            ),
            Signal::Errored => drafts.push(
                draft(end - 40, "agent.error", "error")
                    .cause("llm_timeout")
                    .payload(json!({"stage": "llm", "message": "upstream request timed out after 10000 ms"})),
            ),
            _ => {}
        }
        if input.medium == Medium::Web && connected {
            drafts.push(
                draft(end - 2, "participant.left", "left").payload(json!({"identity": "visitor"})),
            );
        }
        let (event_type, duration) = match input.medium {
            Medium::Phone { .. } => ("call.ended", end - started),
            Medium::Web => ("room.finished", end - started),
            Medium::Chat => ("session.ended", end - started),
        };
        drafts.push(draft(end, event_type, ended_status).payload(json!({"duration_ms": duration})));
    }

    // Keep the order strictly increasing and inside the call's window, whatever the offsets
    // above did: push each event after the one before it, then pull any that overshot the
    // end back in front of the one after it. The window is always longer than a millisecond
    // per event, so both passes can be satisfied.
    let ceiling = end.unwrap_or(i64::MAX);
    let mut times: Vec<i64> = drafts.iter().map(|d| d.at).collect();
    let mut floor = created;
    for time in &mut times {
        *time = (*time).max(floor);
        floor = *time + 1;
    }
    let mut limit = ceiling;
    for time in times.iter_mut().rev() {
        *time = (*time).min(limit);
        limit = *time - 1;
    }
    drafts
        .into_iter()
        .zip(times)
        .enumerate()
        .map(|(n, (d, at))| {
            let at = crate::at(at);
            Event {
                id: format!("{}-e{n}", input.call_id),
                provider: Some(input.provider.to_owned()),
                event_type: d.event_type.to_owned(),
                status: Some(d.status.to_owned()),
                failure_cause: d.failure_cause.map(str::to_owned),
                sip_status_code: d.sip.map(|(code, _)| code),
                sip_status: d.sip.map(|(_, text)| text.to_owned()),
                occurred_at: at,
                payload: d.payload.and_then(|p| match p {
                    Value::Object(map) => Some(map),
                    _ => None::<Object>,
                }),
                created_at: at,
            }
        })
        .collect()
}

/// Answering-machine detection, which outbound dialers run on every answered call.
fn amd(started: i64, machine: bool) -> Draft {
    let (status, confidence) = if machine {
        ("machine", 0.91)
    } else {
        ("human", 0.97)
    };
    draft(started + 2_400, "amd.completed", status)
        .payload(json!({"result": status, "confidence": confidence}))
}
