//! `callscope search`: runs a query against the index and prints a table, for people at a
//! terminal. Safe beside a running server: it only reads the committed index.

use crate::cli::SearchArgs;
use callscope_query::Limits;
use callscope_query::{
    Aggregations, SearchRequest, Surface, TrackTotalHits, parse_query, parse_sort_list, resolve,
};
use callscope_store::{IndexMode, Store};
use serde_json::Value;

/// Columns every row shows, as (header, dotted path in the canonical call).
const COLUMNS: [(&str, &str); 7] = [
    ("ID", "id"),
    ("STARTED", "started_at"),
    ("AGENT", "agent.id"),
    ("STATUS", "status"),
    ("DURATION_MS", "duration_ms"),
    ("FROM", "from_number"),
    ("TO", "to_number"),
];

pub async fn run(args: SearchArgs) -> anyhow::Result<()> {
    let filter: Value = serde_json::from_str(&args.filter)
        .map_err(|e| anyhow::anyhow!("the filter is not JSON: {e}"))?;
    let query = parse_query(Surface::Native, &filter, &Limits::default())?;
    let sort = parse_sort_list(Surface::Native, &args.sort)?;
    for field in &args.fields {
        resolve(Surface::Native, field)?;
    }
    let store = args.store.open(IndexMode::Read, Limits::default())?;
    let request = SearchRequest {
        query,
        sort,
        offset: 0,
        limit: args.limit,
        search_after: None,
        aggs: Aggregations::new(),
        track_total_hits: TrackTotalHits::Exact,
        highlight: None,
    };
    let result = store.search(&args.org, &request).await?;
    let mut columns: Vec<(String, String)> = COLUMNS
        .iter()
        .map(|(header, path)| ((*header).to_owned(), (*path).to_owned()))
        .collect();
    columns.extend(
        args.fields
            .iter()
            .map(|field| (field.to_uppercase(), field.clone())),
    );
    let rows: Vec<Vec<String>> = result
        .calls
        .iter()
        .map(|call| {
            let document = serde_json::to_value(call).unwrap_or_default();
            columns
                .iter()
                .map(|(_, path)| cell(&document, path))
                .collect()
        })
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(at, (header, _))| {
            rows.iter()
                .map(|row| row[at].len())
                .chain([header.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(columns.iter().map(|(header, _)| header.as_str()).collect());
    for row in &rows {
        line(row.iter().map(String::as_str).collect());
    }
    println!("{} of {} matching calls", rows.len(), result.total);
    Ok(())
}

/// The value at a dotted path, as table text (arrays joined with commas).
fn cell(document: &Value, path: &str) -> String {
    let value = path
        .split('.')
        .try_fold(document, |value, key| value.get(key));
    match value {
        None | Some(Value::Null) => "-".into(),
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map_or_else(|| item.to_string(), str::to_owned)
            })
            .collect::<Vec<_>>()
            .join(","),
        Some(other) => other.to_string(),
    }
}
