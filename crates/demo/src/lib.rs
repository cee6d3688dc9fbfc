//! Deterministic generator of realistic synthetic calls, for the demo dashboard, tests and
//! search benchmarks.
//!
//! [`generate`] streams [`LabelledCall`]s: a canonical [`Call`] with its [`Event`]s, and the
//! ground truth ([`Label`]) a post-call analyzer should arrive at. The label is kept beside the
//! call, never inside it, so an analyzer evaluated on this corpus cannot read the answer.
//!
//! The same [`DemoConfig`] always yields the same bytes: randomness comes from a SplitMix64
//! stream per call (`rng.rs`), ids are UUID v7 strings built from the call's start time and
//! that stream, and nothing reads the clock. Call `i` depends only on the config and `i`, so
//! the iterator holds no history and a million calls stream in constant memory.
//!
//! Code map: `catalog.rs` (agents, campaigns, customers), `timeline.rs` (when calls happen),
//! `scenarios.rs` + `script.rs` + `wording.rs` (what is said), `transcript.rs` (when it is
//! said), `flow.rs` (flow agents' node path), `telemetry.rs` (latency, cost, recording),
//! `events.rs` (SIP and runtime events), `transfers.rs` (the attempts of a transfer), `audio.rs` (the WAV files of a call's recording,
//! rendered from its transcript timings); this file decides each call's fate and assembles it.

pub mod audio;
mod catalog;
mod events;
mod flow;
mod rng;
mod scenarios;
mod script;
mod telemetry;
mod timeline;
mod transcript;
mod transfers;
mod wording;

#[cfg(test)]
mod tests;

use crate::catalog::{AgentProfile, Locale, Runtime, Topic, UseCase};
use crate::events::{EventInput, Medium, Signal, TRANSFER_LEAD_MS, Timing};
use crate::rng::{Rng, uuid_v7};
use crate::scenarios::{LocalNow, Outcome};
use crate::script::{Script, Writer};
use crate::telemetry::{LatencyProfile, Usage};
use crate::timeline::{HOUR_MS, Timeline};
use crate::transcript::{Pace, Timed};
use crate::wording::Vars;
use callscope_model::{
    Agent, Call, CallKind, CallStatus, Channel, Direction, DisconnectionReason, Event, Object,
    Role, Sentiment, Timestamp, TranscriptEntry, Transfer,
};
use chrono::{DateTime, Timelike, Utc};
use serde_json::{Value, json};

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoConfig {
    /// Selects the corpus; the same seed always gives the same calls.
    pub seed: u64,
    /// The tenant every call belongs to.
    pub organization_id: String,
    /// How many calls to generate.
    pub calls: usize,
    /// The latest possible call start ("now" for the demo); every time in the corpus is at or
    /// before it. The most recent calls are still in progress at this instant.
    pub anchor: Timestamp,
    /// How many days before `anchor` the calls spread over (at least one is used).
    pub days: u32,
}

/// One generated call, its events and transfer attempts, and the ground truth about it.
#[derive(Clone, Debug, PartialEq)]
pub struct LabelledCall {
    pub call: Call,
    pub events: Vec<Event>,
    /// Oldest first; the call's `transfer` summary is left to the store, which derives it.
    pub transfers: Vec<Transfer>,
    pub label: Label,
}

/// Transcript turns and flow nodes a compact call keeps.
const COMPACT_LIMIT: usize = 8;

impl LabelledCall {
    /// The call cut towards the shape of the prototype corpus in
    /// `../shared/notes/tantivy-and-sqlite.md`: at most 8 transcript turns, at most 8 flow
    /// nodes without their request, response and context payloads, no events (about 3.4 KB
    /// of JSON instead of 5; the prototype's calls, without metrics, cost or recording, were
    /// 1.5 KB). Benchmarks use it to tell the pipeline's cost from the corpus's weight. The
    /// label is left as it was.
    #[must_use]
    pub fn compact(mut self) -> Self {
        self.call.transcript.truncate(COMPACT_LIMIT);
        if let Some(flow) = &mut self.call.flow {
            flow.path.truncate(COMPACT_LIMIT);
            for node in &mut flow.path {
                node.request = None;
                node.response = None;
                node.context = None;
            }
        }
        self.events.clear();
        self
    }
}

/// What a perfect post-call analyzer would say about a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Label {
    /// One of [`callscope_model::OUTCOMES`].
    pub outcome: &'static str,
    /// The caller's tone, as their wording shows it; neutral when they said nothing.
    pub sentiment: Sentiment,
    /// One of [`USE_CASES`].
    pub use_case: &'static str,
}

/// Every value [`Label::use_case`] takes.
pub const USE_CASES: &[&str] = &[
    "appointment_reminder",
    "customer_support",
    "sales",
    "restaurant_reservation",
    "delivery_status",
];

/// The calls of `config`, oldest first, generated one at a time as the iterator is advanced.
pub fn generate(config: &DemoConfig) -> Calls {
    Calls::new(config)
}

/// The iterator [`generate`] returns. It knows its length, for progress bars.
#[derive(Clone, Debug)]
pub struct Calls {
    config: DemoConfig,
    timeline: Timeline,
    window_start: i64,
    /// Traffic positions of the earliest and latest start of a finished call.
    first_position: f64,
    last_position: f64,
    /// Calls `0..finished` are over; the rest are still running at the anchor.
    finished: usize,
    /// Size of each locale's customer pool.
    customers: u64,
    next: usize,
    /// Calls `end..` have been taken from the back.
    end: usize,
}

/// Finished calls start at least this long before the anchor, so that even the longest one
/// has ended by then.
const QUIET_BEFORE_ANCHOR_MS: i64 = 30 * 60_000;
/// Live calls start within this window before the anchor…
const LIVE_WINDOW_MS: i64 = 10 * 60_000;
/// …but at least this long before it, so they have had time to say something.
const LIVE_MIN_AGE_MS: i64 = 60_000;

impl Calls {
    fn new(config: &DemoConfig) -> Self {
        let days = i64::from(config.days.max(1));
        let anchor = config.anchor.as_millis();
        let window_start = anchor - days * 24 * HOUR_MS;
        let timeline = Timeline::new(window_start, days as u64 * 24);
        // A minute's margin keeps `created_at` (which precedes the start) inside the window.
        let first_position = timeline.position_of(window_start + 60_000);
        let last_position = timeline.position_of(anchor - QUIET_BEFORE_ANCHOR_MS);
        let live = config.calls / 100;
        Self {
            config: config.clone(),
            timeline,
            window_start,
            first_position,
            last_position,
            finished: config.calls - live,
            customers: (config.calls as u64 / 4).max(40),
            next: 0,
            end: config.calls,
        }
    }

    /// The start of call `index`: finished calls follow the traffic curve in index order,
    /// live ones sit in the last minutes before the anchor.
    fn start_of(&self, index: usize, rng: &mut Rng) -> i64 {
        let anchor = self.config.anchor.as_millis();
        if index < self.finished {
            let quantile = (index as f64 + rng.unit()) / self.finished as f64;
            let position =
                self.first_position + (self.last_position - self.first_position) * quantile;
            self.timeline.instant_at(position)
        } else {
            let live = self.config.calls - self.finished;
            let quantile = ((index - self.finished) as f64 + rng.unit()) / live as f64;
            let span = (LIVE_WINDOW_MS - LIVE_MIN_AGE_MS) as f64;
            anchor - LIVE_WINDOW_MS + (span * quantile) as i64
        }
    }

    fn call_at(&self, index: usize) -> LabelledCall {
        let mut rng = Rng::stream(self.config.seed, index as u64);
        let started_ms = self.start_of(index, &mut rng);
        let agent = Timeline::pick_agent(started_ms, &mut rng);
        let shape = Shape::draw(agent, &mut rng);
        let fate = if index >= self.finished {
            Fate::Live
        } else {
            Fate::draw(agent, &shape, &mut rng)
        };
        let window = (self.config.anchor.as_millis() - self.window_start).max(1);
        let late_in_window = (started_ms - self.window_start) as f64 / window as f64 > 0.6;
        // Most customers call once or twice a month; a small set of regulars much more.
        let pool = if rng.chance(0.1) {
            (self.customers / 50).max(1)
        } else {
            self.customers
        };
        let customer_index = rng.below(pool);
        let customer = catalog::customer(self.config.seed, agent.locale, customer_index);
        Assembly {
            config: &self.config,
            agent,
            shape,
            fate,
            started_ms,
            version: agent.versions[usize::from(late_in_window)],
            customer,
        }
        .build(&mut rng)
    }
}

impl Iterator for Calls {
    type Item = LabelledCall;

    fn next(&mut self) -> Option<LabelledCall> {
        if self.next >= self.end {
            return None;
        }
        let call = self.call_at(self.next);
        self.next += 1;
        Some(call)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.end - self.next;
        (left, Some(left))
    }

    fn nth(&mut self, n: usize) -> Option<LabelledCall> {
        // Calls are independent, so skipping is free.
        self.next = self.next.saturating_add(n).min(self.end);
        self.next()
    }
}

/// Newest first from the back: whoever wants the most recent calls (the demo's recordings)
/// walks back from the anchor without generating the rest.
impl DoubleEndedIterator for Calls {
    fn next_back(&mut self) -> Option<LabelledCall> {
        if self.end <= self.next {
            return None;
        }
        self.end -= 1;
        Some(self.call_at(self.end))
    }
}

impl ExactSizeIterator for Calls {}

impl std::iter::FusedIterator for Calls {}

/// The medium and direction of a call.
#[derive(Clone, Copy, Debug)]
struct Shape {
    channel: Channel,
    direction: Direction,
    kind: CallKind,
}

impl Shape {
    fn draw(agent: &AgentProfile, rng: &mut Rng) -> Self {
        let roll = rng.unit();
        if roll < agent.chat_share {
            return Self {
                channel: Channel::Chat,
                direction: Direction::Inbound,
                kind: CallKind::Chat,
            };
        }
        if roll < agent.chat_share + agent.web_share {
            return Self {
                channel: Channel::Web,
                direction: Direction::Inbound,
                kind: CallKind::Web,
            };
        }
        let flipped = rng.chance(agent.opposite_share);
        let direction = match (agent.direction, flipped) {
            (Direction::Outbound, false) | (Direction::Inbound, true) => Direction::Outbound,
            _ => Direction::Inbound,
        };
        let kind = match direction {
            Direction::Outbound => CallKind::TelephonyOutbound,
            Direction::Inbound => CallKind::TelephonyInbound,
        };
        Self {
            channel: Channel::Telephony,
            direction,
            kind,
        }
    }

    fn phone(&self) -> bool {
        self.channel == Channel::Telephony
    }

    fn typed(&self) -> bool {
        self.channel == Channel::Chat
    }
}

/// How a call ends up, before any of it is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    /// A full conversation ending in this outcome.
    Talked(Outcome),
    Voicemail,
    /// The caller went silent; the agent gave up.
    Timeout,
    /// Connected, then an internal error killed the call.
    Errored,
    DialFailed,
    NoAnswer,
    Busy,
    Canceled,
    Live,
}

impl Fate {
    fn draw(agent: &AgentProfile, shape: &Shape, rng: &mut Rng) -> Self {
        #[derive(Clone, Copy)]
        enum Status {
            Completed,
            Failed,
            NoAnswer,
            Busy,
            Canceled,
        }
        // Outbound dialling is where calls go unanswered; an agent picks up every inbound
        // call, so those only fail or get abandoned.
        let table: &[(Status, u32)] = match (shape.channel, shape.direction) {
            (Channel::Telephony, Direction::Outbound) => &[
                (Status::Completed, 52),
                (Status::NoAnswer, 31),
                (Status::Busy, 12),
                (Status::Failed, 3),
                (Status::Canceled, 2),
            ],
            (Channel::Telephony, _) => &[
                (Status::Completed, 91),
                (Status::Failed, 4),
                (Status::Canceled, 5),
            ],
            _ => &[
                (Status::Completed, 92),
                (Status::Failed, 5),
                (Status::Canceled, 3),
            ],
        };
        match rng.weighted(table) {
            Status::NoAnswer => Self::NoAnswer,
            Status::Busy => Self::Busy,
            Status::Canceled => Self::Canceled,
            Status::Failed if shape.phone() && rng.chance(0.65) => Self::DialFailed,
            Status::Failed => Self::Errored,
            Status::Completed => {
                let can_reach_voicemail = shape.direction == Direction::Outbound
                    && shape.phone()
                    && matches!(agent.use_case, UseCase::Reminder | UseCase::Sales);
                if rng.chance(0.03) {
                    Self::Timeout
                } else if can_reach_voicemail && rng.chance(0.16) {
                    Self::Voicemail
                } else {
                    Self::Talked(rng.weighted(outcomes(agent.use_case)))
                }
            }
        }
    }

    fn status(self) -> CallStatus {
        match self {
            Self::Talked(_) | Self::Voicemail | Self::Timeout => CallStatus::Completed,
            Self::Errored | Self::DialFailed => CallStatus::Failed,
            Self::NoAnswer => CallStatus::NoAnswer,
            Self::Busy => CallStatus::Busy,
            Self::Canceled => CallStatus::Canceled,
            Self::Live => CallStatus::InProgress,
        }
    }

    fn outcome(self) -> Outcome {
        match self {
            Self::Talked(outcome) => outcome,
            Self::Voicemail => Outcome::Voicemail,
            Self::Timeout => Outcome::Unresolved,
            Self::Errored | Self::DialFailed => Outcome::Failed,
            Self::NoAnswer => Outcome::NoAnswer,
            Self::Busy => Outcome::Busy,
            Self::Canceled => Outcome::Canceled,
            Self::Live => Outcome::InProgress,
        }
    }

    /// Whether anyone (or any machine) answered.
    fn connected(self) -> bool {
        matches!(
            self,
            Self::Talked(_) | Self::Voicemail | Self::Timeout | Self::Errored | Self::Live
        )
    }

    /// Why the call ended, given who spoke last.
    fn disconnection(
        self,
        direction: Direction,
        last_speaker: Option<Role>,
        rng: &mut Rng,
    ) -> Option<DisconnectionReason> {
        match self {
            Self::Talked(Outcome::Transferred) => Some(DisconnectionReason::Transfer),
            Self::Voicemail => Some(DisconnectionReason::AgentHangup),
            Self::Timeout => Some(DisconnectionReason::Timeout),
            // Whoever said goodbye last usually hangs up; after the agent's goodbye a
            // caller sometimes beats it to it.
            Self::Talked(_) => Some(match last_speaker {
                Some(Role::User) => DisconnectionReason::UserHangup,
                _ if rng.chance(0.75) => DisconnectionReason::AgentHangup,
                _ => DisconnectionReason::UserHangup,
            }),
            Self::Errored => Some(DisconnectionReason::Error),
            Self::DialFailed => Some(DisconnectionReason::DialFailed),
            Self::NoAnswer => Some(DisconnectionReason::DialNoAnswer),
            Self::Busy => Some(DisconnectionReason::DialBusy),
            // An inbound caller who gives up while it rings has hung up; a dial the dialler
            // abandons has no far end to blame.
            Self::Canceled if direction == Direction::Inbound => {
                Some(DisconnectionReason::UserHangup)
            }
            Self::Canceled | Self::Live => None,
        }
    }

    /// What the call looks like to the signalling layer.
    fn signal(self) -> Signal {
        match self {
            Self::Talked(Outcome::Transferred) => Signal::Transferred,
            Self::Talked(_) | Self::Timeout => Signal::Connected { machine: false },
            Self::Voicemail => Signal::Connected { machine: true },
            Self::Errored => Signal::Errored,
            Self::Live => Signal::Live,
            Self::NoAnswer => Signal::NoAnswer,
            Self::Busy => Signal::Busy,
            Self::DialFailed => Signal::DialFailed,
            Self::Canceled => Signal::Canceled,
        }
    }
}

/// How conversations of each use case end, in proportion.
fn outcomes(use_case: UseCase) -> &'static [(Outcome, u32)] {
    match use_case {
        UseCase::Reminder => &[
            (Outcome::AppointmentConfirmed, 52),
            (Outcome::AppointmentRescheduled, 17),
            (Outcome::AppointmentCanceled, 7),
            (Outcome::CallbackRequested, 8),
            (Outcome::Transferred, 7),
        ],
        UseCase::Support => &[
            (Outcome::Resolved, 48),
            (Outcome::Unresolved, 22),
            (Outcome::Transferred, 20),
            (Outcome::CallbackRequested, 10),
        ],
        UseCase::Sales => &[
            (Outcome::SaleMade, 20),
            (Outcome::NotInterested, 45),
            (Outcome::CallbackRequested, 22),
            (Outcome::Transferred, 13),
        ],
        UseCase::Restaurant => &[
            (Outcome::Resolved, 72),
            (Outcome::Unresolved, 12),
            (Outcome::Transferred, 8),
            (Outcome::CallbackRequested, 8),
        ],
        UseCase::Delivery => &[
            (Outcome::Resolved, 58),
            (Outcome::Unresolved, 20),
            (Outcome::Transferred, 14),
            (Outcome::CallbackRequested, 8),
        ],
    }
}

/// The most common ending of a use case: what a call cut short was heading for.
fn usual_outcome(use_case: UseCase) -> Outcome {
    match use_case {
        UseCase::Reminder => Outcome::AppointmentConfirmed,
        // Cut-short sales calls were mid-qualification, not already turned down.
        UseCase::Sales => Outcome::SaleMade,
        _ => Outcome::Resolved,
    }
}

/// The caller's mood given how the call ended: pleased callers get what they wanted,
/// transfers and unresolved problems are where the anger is.
fn mood(outcome: Outcome, rng: &mut Rng) -> Sentiment {
    let (positive, neutral, negative) = match outcome {
        Outcome::AppointmentConfirmed => (45, 45, 10),
        Outcome::AppointmentRescheduled => (35, 50, 15),
        Outcome::AppointmentCanceled | Outcome::CallbackRequested => (15, 60, 25),
        Outcome::Transferred => (12, 40, 48),
        Outcome::Resolved => (50, 40, 10),
        Outcome::Unresolved => (5, 35, 60),
        Outcome::SaleMade => (70, 27, 3),
        Outcome::NotInterested => (8, 52, 40),
        _ => (0, 1, 0),
    };
    rng.weighted(&[
        (Sentiment::Positive, positive),
        (Sentiment::Neutral, neutral),
        (Sentiment::Negative, negative),
    ])
}

/// Usual length of a finished conversation, in milliseconds.
fn target_duration(use_case: UseCase, outcome: Outcome, typed: bool, rng: &mut Rng) -> u64 {
    let (low, high): (u64, u64) = match (outcome, use_case) {
        _ if typed => (60, 480),
        (Outcome::Transferred, _) => (45, 150),
        (Outcome::CallbackRequested, _) => (35, 90),
        (Outcome::NotInterested, _) => (30, 75),
        (_, UseCase::Reminder) => (40, 120),
        (_, UseCase::Support) => (120, 540),
        (_, UseCase::Sales) => (60, 360),
        (_, UseCase::Restaurant) => (50, 210),
        (_, UseCase::Delivery) => (60, 300),
    };
    // Most calls are on the short side of the range, with a long tail. Plain arithmetic
    // rather than `powf`, whose last bit may differ between math libraries and would break
    // byte-identical corpora across platforms.
    let u = rng.unit();
    let skewed = u * (0.4 + 0.6 * u);
    (low as f64 + (high - low) as f64 * skewed) as u64 * 1000 + rng.below(1000)
}

/// `ms` as a timestamp. Every instant the generator makes is within chrono's range; the
/// epoch fallback only keeps the code free of panics.
fn at(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms).unwrap_or_else(|| Timestamp::from(DateTime::<Utc>::UNIX_EPOCH))
}

/// A number as a person would read it out: "415-555-0142", "020 7946 0321".
fn spoken_number(number: &str) -> String {
    let digits = number.trim_start_matches('+');
    if let Some(rest) = digits.strip_prefix('1').filter(|r| r.len() == 10) {
        return format!("{}-{}-{}", &rest[..3], &rest[3..6], &rest[6..]);
    }
    if let Some(rest) = digits.strip_prefix("44").filter(|r| r.len() == 10) {
        return format!("0{} {} {}", &rest[..2], &rest[2..6], &rest[6..]);
    }
    if let Some(rest) = digits.strip_prefix("34").filter(|r| r.len() == 9) {
        return format!("{} {} {}", &rest[..3], &rest[3..6], &rest[6..]);
    }
    number.to_owned()
}

/// Everything decided about one call, turned into the call, its events and its label.
struct Assembly<'a> {
    config: &'a DemoConfig,
    agent: &'static AgentProfile,
    shape: Shape,
    fate: Fate,
    started_ms: i64,
    version: &'static str,
    customer: catalog::Customer,
}

impl Assembly<'_> {
    fn build(self, rng: &mut Rng) -> LabelledCall {
        let agent = self.agent;
        let shape = self.shape;
        let fate = self.fate;
        let call_id = uuid_v7(self.started_ms, rng);
        let business_line = *rng.pick(agent.lines);
        let topic = *rng.pick(agent.topics);
        let outcome = fate.outcome();
        let sentiment = match fate {
            Fate::Talked(outcome) => mood(outcome, rng),
            _ => Sentiment::Neutral,
        };
        let profile = LatencyProfile::draw(agent, rng);

        let conversation = fate
            .connected()
            .then(|| self.converse(topic, sentiment, &profile, rng));
        let (timed, duration_ms) = match &conversation {
            Some((_, timed)) => {
                let last_end = timed.last().map_or(0, |t| t.end);
                let user_hung_up = timed.last().is_some_and(|t| t.role == Role::User);
                let tail = if user_hung_up {
                    rng.between(300, 1200)
                } else {
                    rng.between(600, 3000)
                };
                (timed.as_slice(), last_end + tail)
            }
            None => {
                let ring = match (fate, shape.phone()) {
                    (Fate::NoAnswer, _) => rng.between(20_000, 35_000),
                    (Fate::Busy, _) => rng.between(1_000, 4_000),
                    (Fate::DialFailed, _) => rng.between(300, 2_000),
                    (_, true) => rng.between(4_000, 15_000),
                    _ => rng.between(2_000, 20_000),
                };
                (&[][..], ring)
            }
        };
        let live = fate == Fate::Live;
        let ended_ms = (!live).then(|| self.started_ms + duration_ms as i64);
        let setup_ms = match (fate.connected(), shape.channel, shape.direction) {
            (true, Channel::Telephony, Direction::Outbound) => rng.between(3_000, 15_000),
            (true, Channel::Telephony, _) => rng.between(300, 1_500),
            (true, Channel::Web, _) => rng.between(200, 900),
            (true, _, _) => rng.between(100, 600),
            (false, _, _) => rng.between(150, 1_500),
        };
        let created_ms = self.started_ms - setup_ms as i64;

        let last_speaker = timed.last().map(|t| t.role);
        let disconnection_reason = fate.disconnection(shape.direction, last_speaker, rng);
        let warning = matches!(fate, Fate::Talked(_) | Fate::Voicemail) && rng.chance(0.06);
        let status_code = match fate {
            Fate::Errored | Fate::DialFailed => 200,
            Fate::Timeout => 100,
            _ if warning => 100,
            _ => 0,
        };

        let transfer_to = (fate == Fate::Talked(Outcome::Transferred))
            .then(|| format!("{}00", &business_line[..business_line.len() - 2]));
        let transcript = entries(&call_id, timed, agent, shape);
        let agent_turns = timed.iter().filter(|t| t.role == Role::Agent).count() as u32;
        let agent_chars: u64 = timed
            .iter()
            .filter(|t| t.role == Role::Agent)
            .map(|t| t.text.chars().count() as u64)
            .sum();

        let flow = match (&conversation, agent.runtime) {
            (Some((script, timed)), Runtime::Flow) => {
                let offsets = line_offsets(script, timed);
                let injected = rng
                    .chance(0.3)
                    .then_some(self.customer.customer_id.as_str());
                Some(flow::build(
                    &flow::FlowInput {
                        agent,
                        call_id: &call_id,
                        started_ms: self.started_ms,
                        script,
                        offsets: &offsets,
                        transferred_to: transfer_to.as_deref(),
                        ended: matches!(fate, Fate::Talked(_) | Fate::Voicemail | Fate::Timeout),
                        errored: fate == Fate::Errored,
                        warning,
                        spoken: !shape.typed(),
                        language: agent.locale.code(),
                        injected_customer_id: injected,
                    },
                    rng,
                ))
            }
            _ => None,
        };
        let request_ids = flow.as_ref().map(request_ids).unwrap_or_default();

        let metrics = (fate.connected() && agent_turns > 0)
            .then(|| telemetry::metrics(&profile, agent_turns, !shape.typed(), rng));
        let cost = (fate.connected() && !live).then(|| {
            telemetry::cost(
                agent,
                &Usage {
                    duration_ms,
                    agent_turns: u64::from(agent_turns),
                    agent_chars,
                    spoken: !shape.typed(),
                    telephony: shape.phone().then_some(shape.direction),
                },
            )
        });
        let recording = (fate.connected() && !shape.typed())
            .then(|| telemetry::recording(&call_id, ended_ms.map(|_| duration_ms), rng));

        let (from_number, to_number) = if shape.phone() {
            let customer = self.customer.phone.clone();
            match shape.direction {
                Direction::Outbound => (Some(business_line.to_owned()), Some(customer)),
                Direction::Inbound => (Some(customer), Some(business_line.to_owned())),
            }
        } else {
            (None, None)
        };
        let campaign_id = match shape.direction {
            Direction::Outbound if !agent.campaigns.is_empty() && rng.chance(0.9) => {
                Some((*rng.pick(agent.campaigns)).to_owned())
            }
            // A lead returning a campaign call is still attributed to the campaign.
            Direction::Inbound if !agent.campaigns.is_empty() && rng.chance(0.5) => {
                Some((*rng.pick(agent.campaigns)).to_owned())
            }
            _ => None,
        };
        let room_name = (agent.runtime == Runtime::Pipeline && !shape.typed())
            .then(|| format!("room-{}", &call_id[24..]));
        let pipeline_config = (agent.runtime == Runtime::Pipeline && rng.chance(0.7))
            .then(|| pipeline_config(agent, shape));
        let metadata = self.metadata(rng);

        let medium = match shape.channel {
            Channel::Telephony => Medium::Phone {
                outbound: shape.direction == Direction::Outbound,
            },
            Channel::Web => Medium::Web,
            _ => Medium::Chat,
        };
        let provider = match medium {
            Medium::Phone { .. } => agent.carrier,
            Medium::Web => "livekit",
            Medium::Chat => "webchat",
        };
        let events = events::sequence(
            &EventInput {
                call_id: &call_id,
                provider,
                medium,
                signal: fate.signal(),
                variant: rng.next_u64(),
                transfer_to: transfer_to.as_deref(),
            },
            &Timing {
                created_ms,
                started_ms: self.started_ms,
                ended_ms,
            },
        );

        let started_at = at(self.started_ms);
        let ended_at = ended_ms.map(at);
        let call = Call {
            id: call_id,
            organization_id: self.config.organization_id.clone(),
            agent: Agent {
                id: Some(agent.id.to_owned()),
                version_id: Some(self.version.to_owned()),
                name: Some(agent.name.to_owned()),
                voice: Some(agent.voice.to_owned()),
                language: Some(agent.locale.code().to_owned()),
            },
            campaign_id,
            channel: Some(shape.channel),
            direction: Some(shape.direction),
            kind: Some(shape.kind),
            from_number,
            to_number,
            status: fate.status(),
            status_code: Some(status_code),
            disconnection_reason,
            created_at: at(created_ms),
            updated_at: ended_at.unwrap_or(started_at),
            started_at: Some(started_at),
            ended_at,
            duration_ms: (!live).then_some(duration_ms),
            room_name,
            language: Some(agent.locale.code().to_owned()),
            pipeline_config,
            metadata,
            span_tree: None,
            transcript,
            flow,
            request_ids,
            recording,
            metrics,
            cost,
            analysis: None,
            transfer: None,
        };
        // Drawn last, so that adding them changed nothing else of any call.
        let transfers = match (&transfer_to, ended_ms) {
            (Some(front_desk), Some(end)) => transfers::chain(
                &call.id,
                &call.organization_id,
                front_desk,
                end - TRANSFER_LEAD_MS,
                rng,
            ),
            _ => Vec::new(),
        };
        LabelledCall {
            call,
            events,
            transfers,
            label: Label {
                outcome: outcome.label(),
                sentiment,
                use_case: agent.use_case.label(),
            },
        }
    }

    /// Writes and times the conversation of a connected call.
    fn converse(
        &self,
        topic: Topic,
        sentiment: Sentiment,
        profile: &LatencyProfile,
        rng: &mut Rng,
    ) -> (Script, Vec<Timed>) {
        let agent = self.agent;
        let fate = self.fate;
        let local =
            DateTime::<Utc>::from_timestamp_millis(self.started_ms + agent.utc_offset * HOUR_MS)
                .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
        let now = LocalNow {
            today: local.date_naive(),
            minutes: local.hour() * 60 + local.minute(),
        };
        let mut vars = Vars::default();
        vars.set("agent", agent.persona);
        vars.set("business", agent.business);
        vars.set("first", self.customer.first);
        vars.set("last", self.customer.last.clone());
        vars.set("street", self.customer.street.clone());
        vars.set("postcode", self.customer.postcode.clone());
        vars.set("customer_phone", spoken_number(&self.customer.phone));
        vars.set("business_phone", spoken_number(agent.lines[0]));
        vars.set("wait", "3");
        let scripted = match fate {
            Fate::Talked(outcome) => outcome,
            Fate::Voicemail => Outcome::Voicemail,
            _ => usual_outcome(agent.use_case),
        };
        let mut writer = Writer {
            rng: &mut *rng,
            vars,
            mood: sentiment,
            locale: agent.locale,
            typed: self.shape.typed(),
            online: !self.shape.phone(),
            script: Script::default(),
        };
        let inbound = self.shape.direction == Direction::Inbound;
        scenarios::write(&mut writer, topic, scripted, inbound, now);
        match fate {
            Fate::Timeout => {
                cut_before_silence(&mut writer);
                scenarios::silence(&mut writer);
            }
            Fate::Errored | Fate::Live => {
                // Both are cut short of the goodbyes: an errored call died before its end,
                // a live one has not reached it yet.
                let keep = shortest_exchange(&writer.script);
                let len = writer.script.lines.len();
                let cut = writer
                    .rng
                    .between(keep as u64, len.saturating_sub(2).max(keep) as u64);
                writer.script.truncate(cut as usize);
            }
            _ => {}
        }
        let mut script = writer.script;

        let target = match fate {
            Fate::Talked(outcome) => Some(target_duration(
                agent.use_case,
                outcome,
                self.shape.typed(),
                rng,
            )),
            _ => None,
        };
        let pace = Pace {
            response_ms: if self.shape.typed() {
                profile.llm + profile.overhead
            } else {
                profile.end_to_end()
            },
            typed: self.shape.typed(),
            target_ms: target,
            silence_tail: fate == Fate::Timeout,
            tools: agent.runtime == Runtime::Pipeline,
        };
        let mut timed = transcript::lay_out(&script, &pace, rng);
        if fate == Fate::Live {
            // Only what has been said by the anchor is in the transcript yet.
            let elapsed = (self.config.anchor.as_millis() - self.started_ms).max(0) as u64;
            timed.retain(|t| t.end + 500 <= elapsed);
            let said = timed
                .iter()
                .filter_map(|t| t.line)
                .max()
                .map_or(0, |l| l + 1);
            script.truncate(said);
        }
        (script, timed)
    }

    fn metadata(&self, rng: &mut Rng) -> Option<Object> {
        if !rng.chance(0.6) {
            return None;
        }
        let mut metadata = Object::new();
        if rng.chance(0.7) {
            metadata.insert(
                "customer_id".into(),
                Value::String(self.customer.customer_id.clone()),
            );
        }
        if rng.chance(0.5) {
            metadata.insert(
                "crm_ref".into(),
                Value::String(self.customer.crm_ref.clone()),
            );
        }
        if rng.chance(0.6) {
            let region = match (self.agent.locale, self.agent.utc_offset) {
                (Locale::EnUs, -8) => "us-west",
                (Locale::EnUs, -6) => "us-central",
                (Locale::EnUs, _) => "us-east",
                (locale, _) => locale.region(),
            };
            metadata.insert("region".into(), Value::String(region.to_owned()));
        }
        if self.agent.use_case == UseCase::Sales && rng.chance(0.5) {
            let source = *rng.pick(&["website_form", "webinar", "referral", "partner_list"]);
            metadata.insert("lead_source".into(), Value::String(source.to_owned()));
        }
        (!metadata.is_empty()).then_some(metadata)
    }
}

/// The fewest lines a cut-short call keeps: the greeting, the caller's first answer and
/// the agent's reply, so that even a call that died early shows an exchange.
fn shortest_exchange(script: &Script) -> usize {
    let lines = &script.lines;
    let greeting = lines
        .iter()
        .position(|l| l.role == Role::Agent)
        .unwrap_or(0);
    let answer = (greeting + 1..lines.len()).find(|&i| lines[i].role == Role::User);
    answer.map_or(lines.len(), |i| (i + 2).min(lines.len()))
}

/// Ends the script on an agent question the caller never answers. The silence comes early,
/// at one of the first two questions after the opening exchange, so that nothing was settled
/// yet and "unresolved" is the true outcome.
fn cut_before_silence(writer: &mut Writer<'_>) {
    let keep = shortest_exchange(&writer.script);
    let lines = &writer.script.lines;
    let questions: Vec<usize> = (keep.saturating_sub(1)..lines.len().saturating_sub(1))
        .filter(|&i| lines[i].role == Role::Agent && lines[i].text.ends_with('?'))
        .take(2)
        .collect();
    let last = if questions.is_empty() {
        keep.saturating_sub(1)
    } else {
        *writer.rng.pick(&questions)
    };
    writer.script.truncate(last + 1);
}

/// `(start, end)` of each script line, for the flow's request timestamps.
fn line_offsets(script: &Script, timed: &[Timed]) -> Vec<(u64, u64)> {
    let mut offsets = vec![(0, 0); script.lines.len()];
    for entry in timed {
        if let Some(line) = entry.line {
            offsets[line] = (entry.start, entry.end);
        }
    }
    offsets
}

/// The distinct request ids of a flow path, in order, as `Call::normalize` derives them.
fn request_ids(flow: &callscope_model::Flow) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for id in flow.path.iter().filter_map(|node| node.request_id.as_ref()) {
        if !ids.contains(id) {
            ids.push(id.clone());
        }
    }
    ids
}

/// The canonical transcript of the timed conversation.
fn entries(
    call_id: &str,
    timed: &[Timed],
    agent: &AgentProfile,
    shape: Shape,
) -> Vec<TranscriptEntry> {
    let pipeline = agent.runtime == Runtime::Pipeline;
    timed
        .iter()
        .enumerate()
        .map(|(index, t)| {
            // Pipeline runtimes report which engine heard or wrote each line; flow runtimes
            // (and typed chat messages) do not.
            let engine = match t.role {
                Role::User if pipeline && !shape.typed() => Some(agent.stack.stt),
                Role::Agent if pipeline => Some(agent.stack.llm),
                _ => None,
            };
            let metadata = t.tool.map(|name| {
                let mut meta = Object::new();
                meta.insert("tool".into(), Value::String(name.to_owned()));
                meta.insert("latency_ms".into(), json!(t.end - t.start));
                meta
            });
            TranscriptEntry {
                id: format!("{call_id}-t{index}"),
                index: Some(index as u32),
                role: t.role,
                text: t.text.clone(),
                start_ms: Some(t.start),
                end_ms: Some(t.end),
                provider: engine.map(|(provider, _)| provider.to_owned()),
                model: engine.map(|(_, model)| model.to_owned()),
                metadata,
            }
        })
        .collect()
}

fn pipeline_config(agent: &AgentProfile, shape: Shape) -> Object {
    let engine = |(provider, model): catalog::Engine| Value::String(format!("{provider}/{model}"));
    let mut config = Object::new();
    if !shape.typed() {
        config.insert("stt".into(), engine(agent.stack.stt));
    }
    config.insert("llm".into(), engine(agent.stack.llm));
    if !shape.typed() {
        config.insert("tts".into(), engine(agent.stack.tts));
        config.insert("vad".into(), Value::String("silero".to_owned()));
    }
    config
}
