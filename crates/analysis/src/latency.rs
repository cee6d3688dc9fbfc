//! Per-call latency statistics from per-turn samples: average and nearest-rank percentiles
//! per stage, shown on the call as `metrics` and as seed 003's `average_*_latency`.

use callscope_model::{LatencySample, LatencyStats, Metrics};

/// The call's `metrics` from every sample reported for it.
pub fn latency_metrics(samples: &[LatencySample]) -> Metrics {
    let stage = |value: fn(&LatencySample) -> Option<f64>| {
        stats(samples.iter().filter_map(value).collect())
    };
    Metrics {
        transcriber_latency_ms: stage(|s| s.transcriber_ms),
        agent_latency_ms: stage(|s| s.agent_ms),
        synthesizer_latency_ms: stage(|s| s.synthesizer_ms),
        end_to_end_latency_ms: stage(|s| s.end_to_end_ms),
    }
}

/// Average (to 0.1 ms) and nearest-rank percentiles of `values`; `None` without values.
fn stats(mut values: Vec<f64>) -> Option<LatencyStats> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    #[allow(clippy::cast_precision_loss)] // sample counts are far below 2^52
    let count = values.len() as f64;
    let average = values.iter().sum::<f64>() / count;
    // Nearest rank: the smallest value with at least p % of the samples at or below it.
    let percentile = |p: f64| {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let rank = ((p / 100.0 * count).ceil() as usize).max(1);
        values[rank.min(values.len()) - 1]
    };
    Some(LatencyStats {
        avg: Some((average * 10.0).round() / 10.0),
        p50: Some(percentile(50.0)),
        p90: Some(percentile(90.0)),
        p95: Some(percentile(95.0)),
        p99: Some(percentile(99.0)),
        samples: u32::try_from(values.len()).ok(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(turn: u32, ms: f64) -> LatencySample {
        LatencySample {
            turn,
            agent_ms: Some(ms),
            ..LatencySample::default()
        }
    }

    #[test]
    fn percentiles_are_nearest_rank_over_the_reported_stages() {
        // 1..=20 ms, reported out of order.
        let samples: Vec<LatencySample> =
            (1..=20).rev().map(|ms| agent(ms, f64::from(ms))).collect();
        let metrics = latency_metrics(&samples);
        let Some(stats) = metrics.agent_latency_ms else {
            panic!("no agent stats")
        };
        assert_eq!(stats.avg, Some(10.5));
        // ceil(0.5 * 20) = 10th value; ceil(0.9 * 20) = 18th; ceil(0.95 * 20) = 19th;
        // ceil(0.99 * 20) = 20th.
        assert_eq!(
            (stats.p50, stats.p90, stats.p95, stats.p99),
            (Some(10.0), Some(18.0), Some(19.0), Some(20.0))
        );
        assert_eq!(stats.samples, Some(20));
        assert_eq!(metrics.transcriber_latency_ms, None, "no samples, no stats");
    }

    #[test]
    fn one_sample_is_every_percentile() {
        let metrics = latency_metrics(&[agent(1, 432.25)]);
        let stats = metrics.agent_latency_ms.unwrap_or_default();
        assert_eq!(stats.avg, Some(432.3));
        assert_eq!((stats.p50, stats.p99), (Some(432.25), Some(432.25)));
    }
}
