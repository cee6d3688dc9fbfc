//! When calls happen: a weekly traffic curve per agent, and the mapping from a call's rank in
//! the corpus to its start time.
//!
//! Calls are laid out in start-time order: call `i` of `n` sits at quantile `(i + r) / n` of
//! the traffic curve over the window (`r` a per-call random fraction). That keeps the
//! generator lazy (no sorting, nothing held in memory), makes ids and start times grow with
//! the index, and still gives every hour its fair, weekday- and business-hour-weighted share.

use crate::catalog::{AGENTS, AgentProfile, Hours};
use crate::rng::Rng;

pub(crate) const HOUR_MS: i64 = 3_600_000;
const HOURS_PER_WEEK: usize = 168;

/// Traffic intensity of one agent in one hour of its local week (Monday 00:00 = 0).
fn activity(hours: Hours, local_week_hour: usize) -> f64 {
    let day = local_week_hour / 24;
    let hour = local_week_hour % 24;
    let weekend = day >= 5;
    match hours {
        Hours::Office => {
            let base = match hour {
                9..=11 => 1.2,
                12 => 0.8,
                13..=15 => 1.1,
                16 | 17 => 0.9,
                8 | 18 => 0.35,
                19 => 0.15,
                _ => 0.003,
            };
            match day {
                5 if (9..13).contains(&hour) => 0.3,
                5 | 6 => 0.005,
                _ => base,
            }
        }
        Hours::Support => {
            let base = match hour {
                0..=5 => 0.06,
                6 => 0.2,
                7 | 8 => 0.6,
                9..=11 => 1.3,
                12..=16 => 1.0,
                17..=19 => 0.8,
                20 | 21 => 0.5,
                _ => 0.2,
            };
            if weekend { base * 0.6 } else { base }
        }
        Hours::Restaurant => {
            let base = match hour {
                10 => 0.3,
                11 | 12 => 1.0,
                13 => 0.7,
                14 | 15 => 0.45,
                16..=18 => 1.2,
                19 | 20 => 0.6,
                21 => 0.25,
                22 => 0.08,
                _ => 0.015,
            };
            let by_day = match day {
                0 => 0.7,
                4 | 5 => 1.4,
                6 => 0.9,
                _ => 1.0,
            };
            base * by_day
        }
        Hours::Delivery => {
            let base = match hour {
                0..=6 => 0.04,
                7 => 0.3,
                8..=16 => 0.9,
                17..=19 => 1.2,
                20 | 21 => 0.6,
                _ => 0.15,
            };
            if weekend { base * 0.8 } else { base }
        }
    }
}

/// The week hour (Monday 00:00 UTC = 0) of the instant `unix_ms`.
fn utc_week_hour(unix_ms: i64) -> usize {
    // 1970-01-01 was a Thursday, three days after a Monday.
    let hours_since_epoch = unix_ms.div_euclid(HOUR_MS);
    (hours_since_epoch + 3 * 24).rem_euclid(HOURS_PER_WEEK as i64) as usize
}

/// An agent's share of traffic in the UTC week hour `week_hour`.
pub(crate) fn agent_weight(agent: &AgentProfile, week_hour: usize) -> f64 {
    let local = (week_hour as i64 + agent.utc_offset).rem_euclid(HOURS_PER_WEEK as i64) as usize;
    agent.weight * activity(agent.hours, local)
}

/// The traffic curve over one window `[start, start + slots hours)`, in hourly slots.
#[derive(Clone, Debug)]
pub(crate) struct Timeline {
    start_ms: i64,
    slots: u64,
    /// Intensity of slot `k` is `rotated[k % 168]`.
    rotated: Vec<f64>,
    /// `prefix[j]` is the sum of `rotated[..j]`; `prefix[168]` is one week's traffic.
    prefix: Vec<f64>,
}

impl Timeline {
    pub(crate) fn new(start_ms: i64, slots: u64) -> Self {
        // Each slot is weighed at its middle, which keeps the curve centred on the hours of
        // the clock even when the window does not start on the hour.
        let first = utc_week_hour(start_ms + HOUR_MS / 2);
        let rotated: Vec<f64> = (0..HOURS_PER_WEEK)
            .map(|j| {
                let week_hour = (first + j) % HOURS_PER_WEEK;
                AGENTS
                    .iter()
                    .map(|agent| agent_weight(agent, week_hour))
                    .sum::<f64>()
            })
            .collect();
        let mut prefix = Vec::with_capacity(HOURS_PER_WEEK + 1);
        let mut sum = 0.0;
        prefix.push(sum);
        for weight in &rotated {
            sum += weight;
            prefix.push(sum);
        }
        Self {
            start_ms,
            slots: slots.max(1),
            rotated,
            prefix,
        }
    }

    fn week_total(&self) -> f64 {
        self.prefix[HOURS_PER_WEEK]
    }

    /// The cumulative traffic from the window start to `unix_ms`.
    pub(crate) fn position_of(&self, unix_ms: i64) -> f64 {
        let offset = (unix_ms - self.start_ms).clamp(0, self.slots as i64 * HOUR_MS);
        let slot = (offset / HOUR_MS) as usize;
        let fraction = (offset % HOUR_MS) as f64 / HOUR_MS as f64;
        let weeks = (slot / HOURS_PER_WEEK) as f64;
        let j = slot % HOURS_PER_WEEK;
        weeks * self.week_total() + self.prefix[j] + fraction * self.rotated[j]
    }

    /// The instant at cumulative traffic `position` (the inverse of [`Self::position_of`]).
    pub(crate) fn instant_at(&self, position: f64) -> i64 {
        let week_total = self.week_total();
        let weeks = (position / week_total).floor().max(0.0);
        let rest = position - weeks * week_total;
        let j = self
            .prefix
            .partition_point(|&p| p <= rest)
            .saturating_sub(1)
            .min(HOURS_PER_WEEK - 1);
        let fraction = ((rest - self.prefix[j]) / self.rotated[j]).clamp(0.0, 1.0);
        let slot = (weeks as u64 * HOURS_PER_WEEK as u64 + j as u64).min(self.slots - 1);
        self.start_ms + slot as i64 * HOUR_MS + (fraction * HOUR_MS as f64) as i64
    }

    /// Which agent takes a call starting at `unix_ms`, in proportion to the agents'
    /// traffic in that hour.
    pub(crate) fn pick_agent(unix_ms: i64, rng: &mut Rng) -> &'static AgentProfile {
        let week_hour = utc_week_hour(unix_ms);
        let total: f64 = AGENTS.iter().map(|a| agent_weight(a, week_hour)).sum();
        let mut ticket = rng.unit() * total;
        for agent in AGENTS {
            let weight = agent_weight(agent, week_hour);
            if ticket < weight {
                return agent;
            }
            ticket -= weight;
        }
        &AGENTS[AGENTS.len() - 1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_week_hours_start_on_thursday() {
        assert_eq!(utc_week_hour(0), 3 * 24);
        // 2024-01-15 was a Monday.
        assert_eq!(utc_week_hour(1_705_276_800_000), 0);
        assert_eq!(utc_week_hour(1_705_276_800_000 + 13 * HOUR_MS), 13);
    }

    #[test]
    fn instant_at_inverts_position_of() {
        let start = 1_705_300_000_000;
        let timeline = Timeline::new(start, 30 * 24);
        for offset in [
            0,
            1,
            HOUR_MS,
            7 * 24 * HOUR_MS + 1234,
            29 * 24 * HOUR_MS + 5,
        ] {
            let position = timeline.position_of(start + offset);
            let back = timeline.instant_at(position);
            assert!(
                (back - (start + offset)).abs() <= 1,
                "{offset}: {back} vs {}",
                start + offset
            );
        }
    }

    #[test]
    fn weekday_business_hours_are_busier_than_nights_and_sundays() {
        // UTC week hours: Tuesday 17:00 UTC is 11:00 in Chicago; Sunday 09:00 UTC is 03:00.
        let busy: f64 = AGENTS.iter().map(|a| agent_weight(a, 24 + 17)).sum();
        let quiet: f64 = AGENTS.iter().map(|a| agent_weight(a, 6 * 24 + 9)).sum();
        assert!(busy > 5.0 * quiet, "{busy} vs {quiet}");
    }
}
