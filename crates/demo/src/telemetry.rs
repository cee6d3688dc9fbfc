//! The measured side of a call: per-stage latency, what it cost, and its recording.
//!
//! Floats are rounded to one decimal by dividing an integer by ten, so each value is the
//! double nearest a short decimal and survives a JSON round trip bit for bit.

use crate::catalog::{AgentProfile, Runtime};
use crate::rng::Rng;
use callscope_model::{
    Cost, CostComponent, CostItem, Direction, LatencyStats, Metrics, MicroUsd, Recording,
    RecordingStatus,
};

/// The typical latency of each pipeline stage for one call, in milliseconds. Drawn before
/// the transcript is timed, because the agent's response gaps come from it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LatencyProfile {
    pub(crate) stt: f64,
    pub(crate) llm: f64,
    pub(crate) tts: f64,
    /// Network and orchestration overhead on top of the three stages.
    pub(crate) overhead: f64,
}

impl LatencyProfile {
    pub(crate) fn draw(agent: &AgentProfile, rng: &mut Rng) -> Self {
        let llm = match agent.stack.llm.1 {
            "gpt-4o" => rng.uniform(650.0, 1500.0),
            "claude-3-5-haiku" => rng.uniform(500.0, 1200.0),
            _ => rng.uniform(400.0, 1000.0),
        };
        Self {
            stt: rng.uniform(150.0, 400.0),
            llm,
            tts: rng.uniform(100.0, 350.0),
            overhead: rng.uniform(30.0, 120.0),
        }
    }

    /// The mean time from the caller's last word to the agent's first sound.
    pub(crate) fn end_to_end(&self) -> f64 {
        self.stt + self.llm + self.tts + self.overhead
    }
}

fn one_decimal(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// Percentile multipliers of one stage, right-skewed like real latency distributions.
#[derive(Clone, Copy)]
struct Spread {
    p50: f64,
    p90: f64,
    p95: f64,
    p99: f64,
}

impl Spread {
    fn draw(samples: u32, rng: &mut Rng) -> Self {
        if samples <= 1 {
            return Self {
                p50: 1.0,
                p90: 1.0,
                p95: 1.0,
                p99: 1.0,
            };
        }
        let p50 = rng.uniform(0.86, 0.97);
        let p90 = rng.uniform(1.18, 1.40);
        let p95 = p90 * rng.uniform(1.03, 1.12);
        let p99 = p95 * rng.uniform(1.05, 1.35);
        Self { p50, p90, p95, p99 }
    }
}

fn stats(avg: f64, spread: Spread, samples: u32) -> LatencyStats {
    // Rounding is monotonic, so p50 <= p90 <= p95 <= p99 survives it.
    LatencyStats {
        avg: Some(one_decimal(avg)),
        p50: Some(one_decimal(avg * spread.p50)),
        p90: Some(one_decimal(avg * spread.p90)),
        p95: Some(one_decimal(avg * spread.p95)),
        p99: Some(one_decimal(avg * spread.p99)),
        samples: Some(samples),
    }
}

/// Latency summaries over `samples` agent turns; a typed chat has no speech stages.
pub(crate) fn metrics(
    profile: &LatencyProfile,
    samples: u32,
    spoken: bool,
    rng: &mut Rng,
) -> Metrics {
    let llm_spread = Spread::draw(samples, rng);
    let agent = stats(profile.llm, llm_spread, samples);
    if !spoken {
        let overhead = profile.overhead;
        let end_to_end = LatencyStats {
            avg: Some(one_decimal(profile.llm + overhead)),
            p50: Some(one_decimal(profile.llm * llm_spread.p50 + overhead)),
            p90: Some(one_decimal(profile.llm * llm_spread.p90 + overhead)),
            p95: Some(one_decimal(profile.llm * llm_spread.p95 + overhead)),
            p99: Some(one_decimal(profile.llm * llm_spread.p99 + overhead)),
            samples: Some(samples),
        };
        return Metrics {
            agent_latency_ms: Some(agent),
            end_to_end_latency_ms: Some(end_to_end),
            ..Metrics::default()
        };
    }
    let stt_spread = Spread::draw(samples, rng);
    let tts_spread = Spread::draw(samples, rng);
    // End-to-end percentiles are sums of the stages' percentiles: an upper bound of the true
    // ones, and ordered because each term is.
    let sum = |pick: fn(&Spread) -> f64| {
        profile.stt * pick(&stt_spread)
            + profile.llm * pick(&llm_spread)
            + profile.tts * pick(&tts_spread)
            + profile.overhead
    };
    let end_to_end = LatencyStats {
        avg: Some(one_decimal(profile.end_to_end())),
        p50: Some(one_decimal(sum(|s| s.p50))),
        p90: Some(one_decimal(sum(|s| s.p90))),
        p95: Some(one_decimal(sum(|s| s.p95))),
        p99: Some(one_decimal(sum(|s| s.p99))),
        samples: Some(samples),
    };
    Metrics {
        transcriber_latency_ms: Some(stats(profile.stt, stt_spread, samples)),
        agent_latency_ms: Some(agent),
        synthesizer_latency_ms: Some(stats(profile.tts, tts_spread, samples)),
        end_to_end_latency_ms: Some(end_to_end),
    }
}

/// What the conversation consumed, for pricing.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Usage {
    pub(crate) duration_ms: u64,
    pub(crate) agent_turns: u64,
    /// Characters the agent said (synthesised speech).
    pub(crate) agent_chars: u64,
    pub(crate) spoken: bool,
    /// Over the phone network (billed per started minute by the carrier).
    pub(crate) telephony: Option<Direction>,
}

/// Micro-USD per minute of speech recognition.
fn stt_price(model: &str) -> u64 {
    match model {
        "nova-3" => 4_300,
        _ => 6_000,
    }
}

/// Thousandths of a micro-USD per input and output token (so USD per million tokens × 1000).
fn llm_price(model: &str) -> (u64, u64) {
    match model {
        "gpt-4o" => (2_500, 10_000),
        "claude-3-5-haiku" => (800, 4_000),
        _ => (150, 600),
    }
}

/// Micro-USD per synthesised character.
fn tts_price(provider: &str) -> u64 {
    match provider {
        "elevenlabs" => 60,
        "cartesia" => 30,
        "openai" => 15,
        _ => 16,
    }
}

/// Micro-USD per started minute on the carrier.
fn carrier_price(carrier: &str, direction: Direction) -> u64 {
    match (carrier, direction) {
        ("twilio", Direction::Outbound) => 14_000,
        ("twilio", Direction::Inbound) => 8_500,
        ("telnyx", Direction::Outbound) => 7_000,
        ("telnyx", Direction::Inbound) => 3_500,
        (_, Direction::Outbound) => 12_000,
        (_, Direction::Inbound) => 6_000,
    }
}

fn item(
    component: CostComponent,
    provider: &str,
    model: Option<&str>,
    units: f64,
    unit: &str,
    micro_usd: u64,
) -> CostItem {
    CostItem {
        component,
        provider: Some(provider.to_owned()),
        model: model.map(str::to_owned),
        units: Some(units),
        unit: Some(unit.to_owned()),
        micro_usd: MicroUsd(micro_usd),
    }
}

/// The priced breakdown of a call; the total is the exact sum of its lines.
pub(crate) fn cost(agent: &AgentProfile, usage: &Usage) -> Cost {
    let stack = agent.stack;
    let seconds_tenths = usage.duration_ms / 100;
    let seconds = seconds_tenths as f64 / 10.0;
    let mut breakdown = Vec::with_capacity(5);
    if usage.spoken {
        breakdown.push(item(
            CostComponent::Stt,
            stack.stt.0,
            Some(stack.stt.1),
            seconds,
            "seconds",
            usage.duration_ms * stt_price(stack.stt.1) / 60_000,
        ));
    }
    // Every turn resends the system prompt and the conversation so far.
    let turns = usage.agent_turns.max(1);
    let input_tokens = turns * 650 + 45 * turns * (turns + 1);
    let output_tokens = usage.agent_chars / 4 + turns * 3;
    let (input_price, output_price) = llm_price(stack.llm.1);
    breakdown.push(item(
        CostComponent::Llm,
        stack.llm.0,
        Some(stack.llm.1),
        (input_tokens + output_tokens) as f64,
        "tokens",
        (input_tokens * input_price + output_tokens * output_price).div_ceil(1000),
    ));
    if usage.spoken {
        breakdown.push(item(
            CostComponent::Tts,
            stack.tts.0,
            Some(stack.tts.1),
            usage.agent_chars as f64,
            "characters",
            usage.agent_chars * tts_price(stack.tts.0),
        ));
    }
    if let Some(direction) = usage.telephony {
        let minutes = usage.duration_ms.div_ceil(60_000).max(1);
        breakdown.push(item(
            CostComponent::Telephony,
            agent.carrier,
            None,
            minutes as f64,
            "minutes",
            minutes * carrier_price(agent.carrier, direction),
        ));
    }
    let (platform, platform_model, per_minute) = match agent.runtime {
        Runtime::Flow => ("vonage", Some("ai-studio"), 20_000),
        Runtime::Pipeline => ("livekit", Some("agents"), 10_000),
    };
    breakdown.push(item(
        CostComponent::Platform,
        platform,
        platform_model,
        seconds,
        "seconds",
        usage.duration_ms * per_minute / 60_000,
    ));
    let total: u64 = breakdown.iter().map(|line| line.micro_usd.0).sum();
    Cost {
        total_micro_usd: Some(MicroUsd(total)),
        // One credit is a cent, as seed 003's `callCost` counts.
        credits: Some(total as f64 / 10_000.0),
        breakdown,
    }
}

/// The recording of a spoken call; `duration_ms` is `None` while the call is running.
pub(crate) fn recording(call_id: &str, duration_ms: Option<u64>, rng: &mut Rng) -> Recording {
    let Some(duration_ms) = duration_ms else {
        return Recording {
            status: Some(RecordingStatus::InProgress),
            ..Recording::default()
        };
    };
    let roll = rng.unit();
    if roll < 0.015 {
        return Recording {
            status: Some(RecordingStatus::Failed),
            ..Recording::default()
        };
    }
    if roll < 0.025 {
        return Recording {
            status: Some(RecordingStatus::Processing),
            duration_ms: Some(duration_ms),
            ..Recording::default()
        };
    }
    let dual = rng.chance(0.4);
    Recording {
        status: Some(RecordingStatus::Available),
        duration_ms: Some(duration_ms),
        mono: Some(format!("https://recordings.example.com/{call_id}.wav")),
        dual: dual.then(|| format!("https://recordings.example.com/{call_id}-dual.wav")),
        public: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::AGENTS;

    #[test]
    fn percentiles_are_ordered_and_the_cost_total_is_the_sum() {
        let mut rng = Rng::stream(3, 4);
        for agent in AGENTS {
            let profile = LatencyProfile::draw(agent, &mut rng);
            for samples in [1, 2, 7] {
                for spoken in [true, false] {
                    let metrics = metrics(&profile, samples, spoken, &mut rng);
                    let all = [
                        metrics.transcriber_latency_ms,
                        metrics.agent_latency_ms,
                        metrics.synthesizer_latency_ms,
                        metrics.end_to_end_latency_ms,
                    ];
                    for stats in all.iter().flatten() {
                        assert!(stats.p50 <= stats.p90 && stats.p90 <= stats.p95);
                        assert!(stats.p95 <= stats.p99);
                        assert_eq!(stats.samples, Some(samples));
                    }
                }
            }
            let usage = Usage {
                duration_ms: 95_300,
                agent_turns: 6,
                agent_chars: 640,
                spoken: true,
                telephony: Some(Direction::Outbound),
            };
            let cost = cost(agent, &usage);
            let sum: u64 = cost.breakdown.iter().map(|i| i.micro_usd.0).sum();
            assert_eq!(cost.total_micro_usd, Some(MicroUsd(sum)));
            assert_eq!(cost.breakdown.len(), 5);
        }
    }
}
