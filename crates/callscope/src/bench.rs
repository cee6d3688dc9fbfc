//! `callscope bench`: ingest rate with the index in step, index size per call, and latency
//! percentiles of a fixed, named query mix, all measured through the store API.
//!
//! The corpus comes from the demo generator, so figures are comparable between runs and
//! machines. An existing corpus in the data directory is reused, so queries can be re-run
//! without re-ingesting.

use crate::cli::BenchArgs;
use crate::demo;
use callscope_model::{TimeBound, Timestamp};
use callscope_query::Limits;
use callscope_query::{
    Aggregations, SearchRequest, Surface, TrackTotalHits, parse_aggs, parse_query, parse_sort_list,
};
use callscope_store::{INDEX_DIR, IndexMode, Store};
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};

/// Organization the benchmark corpus belongs to.
const ORGANIZATION: &str = "bench";

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let store = args.store.open(IndexMode::Maintain, Limits::default())?;
    let existing = store.count_calls(ORGANIZATION).await?;
    if existing == 0 {
        let anchor = TimeBound::Day(Timestamp::now().date()).start();
        let started = Instant::now();
        demo::fill(
            &store,
            ORGANIZATION,
            args.calls,
            args.seed,
            anchor,
            180,
            args.shape,
            demo::Reports::None,
            demo::Recordings::None,
        )
        .await?;
        let stored = started.elapsed();
        store.refresh().await?;
        let indexed = started.elapsed();
        println!("ingest: {} calls ({:?} shape)", args.calls, args.shape);
        println!(
            "  into SQLite (acknowledged):      {:>9.0} calls/s  ({:.1} s)",
            rate(args.calls, stored),
            stored.as_secs_f64()
        );
        println!(
            "  with the index in step:          {:>9.0} calls/s  ({:.1} s)",
            rate(args.calls, indexed),
            indexed.as_secs_f64()
        );
    } else {
        println!("reusing {existing} calls of organization `{ORGANIZATION}`");
        // An index of another version is being rebuilt; measure queries on the whole corpus.
        let started = Instant::now();
        store.refresh().await?;
        if started.elapsed() > Duration::from_secs(1) {
            println!(
                "  the index caught up in {:.1} s",
                started.elapsed().as_secs_f64()
            );
        }
    }
    let calls = store.count_calls(ORGANIZATION).await?.max(1);
    let database = file_size(&args.store.data_dir.join("callscope.db"))
        + file_size(&args.store.data_dir.join("callscope.db-wal"));
    let index = dir_size(&args.store.data_dir.join(INDEX_DIR));
    println!(
        "size: SQLite {:.2} KB/call, index {:.2} KB/call",
        kib(database, calls),
        kib(index, calls)
    );

    let samples = Samples::collect(&store).await?;
    println!(
        "queries: {} iterations each, through the store API",
        args.iterations
    );
    println!(
        "  {:<58} {:>9} {:>9} {:>9}",
        "query", "p50 ms", "p95 ms", "p99 ms"
    );
    let mix = samples.mix()?;
    for (name, requests) in &mix {
        let mut timings = Vec::with_capacity(args.iterations);
        for at in 0..args.iterations {
            let request = &requests[at % requests.len()];
            let started = Instant::now();
            store.search(ORGANIZATION, request).await?;
            timings.push(started.elapsed());
        }
        report(name, &mut timings);
    }
    let mut timings = Vec::with_capacity(args.iterations);
    for at in 0..args.iterations {
        let id = &samples.ids[at % samples.ids.len()];
        let started = Instant::now();
        store.get_call(ORGANIZATION, id).await?;
        timings.push(started.elapsed());
    }
    report(
        "(6) get by id (/insights/sessions/search/{id})",
        &mut timings,
    );
    Ok(())
}

#[allow(clippy::cast_precision_loss)] // rates are for people
fn rate(calls: usize, took: Duration) -> f64 {
    calls as f64 / took.as_secs_f64().max(f64::EPSILON)
}

#[allow(clippy::cast_precision_loss)] // sizes are for people
fn kib(bytes: u64, calls: u64) -> f64 {
    bytes as f64 / 1024.0 / calls as f64
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn dir_size(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| file_size(&entry.path()))
                .sum()
        })
        .unwrap_or(0)
}

fn report(name: &str, timings: &mut [Duration]) {
    timings.sort();
    let at = |q: f64| {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let rank = ((q * timings.len() as f64).ceil() as usize).clamp(1, timings.len());
        timings[rank - 1].as_secs_f64() * 1000.0
    };
    println!(
        "  {name:<58} {:>9.2} {:>9.2} {:>9.2}",
        at(0.50),
        at(0.95),
        at(0.99)
    );
}

/// Values of the corpus the query mix is parameterised with.
struct Samples {
    agents: Vec<String>,
    tags: Vec<String>,
    ids: Vec<String>,
}

impl Samples {
    async fn collect(store: &impl Store) -> anyhow::Result<Self> {
        let aggs = parse_aggs(
            Surface::Native,
            &json!({"agents": {"terms": {"field": "agent.id", "size": 20}},
                    "tags": {"terms": {"field": "flow.collected_tags.tag", "size": 20}}}),
            &Limits::default(),
        )?;
        let request = SearchRequest {
            query: callscope_query::Query::MatchAll,
            sort: parse_sort_list(Surface::Native, "created_at:desc")?,
            offset: 0,
            limit: 500,
            search_after: None,
            aggs,
            track_total_hits: TrackTotalHits::Exact,
            highlight: None,
        };
        let found = store.search(ORGANIZATION, &request).await?;
        let keys = |name: &str| -> Vec<String> {
            let buckets = found
                .aggregations
                .as_ref()
                .and_then(|a| a[name]["buckets"].as_array().cloned());
            buckets
                .unwrap_or_default()
                .iter()
                .filter_map(|b| b["key"].as_str().map(str::to_owned))
                .collect()
        };
        let samples = Self {
            agents: keys("agents"),
            tags: keys("tags"),
            ids: found.calls.into_iter().map(|call| call.id).collect(),
        };
        anyhow::ensure!(
            !samples.agents.is_empty() && samples.tags.len() >= 2 && !samples.ids.is_empty(),
            "the corpus is too small to benchmark"
        );
        Ok(samples)
    }

    /// The named query mix of issue 3, each with a few parameter variants.
    fn mix(&self) -> anyhow::Result<Vec<(&'static str, Vec<SearchRequest>)>> {
        let request = |query: Value,
                       sort: &str,
                       limit: u32,
                       aggs: Aggregations|
         -> anyhow::Result<SearchRequest> {
            Ok(SearchRequest {
                query: parse_query(Surface::Native, &query, &Limits::default())?,
                sort: parse_sort_list(Surface::Native, sort)?,
                offset: 0,
                limit,
                search_after: None,
                aggs,
                // What `POST /v1/calls/query` does unless asked otherwise.
                track_total_hits: TrackTotalHits::DEFAULT,
                highlight: None,
            })
        };
        let none = Aggregations::new;
        let by_agent = self
            .agents
            .iter()
            .map(|agent| {
                request(
                    json!({"term": {"agent.id": agent}}),
                    "started_at:desc",
                    10,
                    none(),
                )
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let words = ["appointment", "order", "refund", "thank", "confirm"];
        let by_word = words
            .iter()
            .map(|word| {
                request(
                    json!({"bool": {"must": [{"match": {"transcript.text": word}}],
                                    "filter": [{"term": {"status": "completed"}}]}}),
                    "",
                    10,
                    none(),
                )
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let by_word_counted = by_word
            .iter()
            .map(|request| SearchRequest {
                track_total_hits: TrackTotalHits::Exact,
                highlight: None,
                ..request.clone()
            })
            .collect();
        let combined = self
            .tags
            .windows(2)
            .map(|pair| {
                request(
                    json!({"must": [{"term": {"direction": "inbound"}}],
                           "should": [{"term": {"flow.collected_tags.tag": pair[0]}},
                                      {"term": {"flow.collected_tags.tag": pair[1]}}],
                           "must_not": [{"term": {"status": "failed"}}]}),
                    "session_start_time:desc",
                    10,
                    none(),
                )
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let terms_avg = parse_aggs(
            Surface::Native,
            &json!({"by_agent": {"terms": {"field": "agent.id", "size": 10},
                                 "aggs": {"avg_duration": {"avg": {"field": "duration_ms"}}}}}),
            &Limits::default(),
        )?;
        let histogram = parse_aggs(
            Surface::Native,
            &json!({"per_day": {"date_histogram": {"field": "started_at", "calendar_interval": "day"},
                                "aggs": {"latency": {"percentiles": {"field": "metrics.agent_latency_ms.avg"}}}}}),
            &Limits::default(),
        )?;
        Ok(vec![
            ("(1) term agent.id, sort started_at desc, top 10", by_agent),
            (
                "(2) match common word + term status, top 10 by score",
                by_word,
            ),
            ("(2b) the same, counting every match", by_word_counted),
            ("(3) must + should + must_not (seed 001 shape)", combined),
            (
                "(4) terms agent.id + avg duration over all",
                vec![request(json!({}), "", 0, terms_avg)?],
            ),
            (
                "(5) date_histogram day + percentiles latency",
                vec![request(json!({}), "", 0, histogram)?],
            ),
        ])
    }
}
