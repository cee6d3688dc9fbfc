//! Calls in and out in bulk (issue 14): Callscope's NDJSON, the fixed CSV, the walk over a
//! filtered set that exports stream from, and the import of NDJSON lines.
//!
//! An NDJSON line is one call exactly as stored (its canonical JSON, `organization_id`,
//! `created_at`, `updated_at`, report and derived fields included) plus, when it has any,
//! its `events` and `transfers` (attempts) as stored. Importing a line stores that call
//! as it is, under the importing organization, so export → import → export gives the same
//! bytes. The CSV is for people: a fixed set of columns ([`CSV_COLUMNS`]), one call a
//! record, not importable.

mod foreign;

use crate::{CallRecord, SearchResult, Store};
use callscope_model::{Call, Event, Transfer};
use callscope_query::{
    Aggregations, Query, SearchAfter, SearchRequest, SortKey, Surface, TrackTotalHits,
};
use serde_json::{Map, Value};
use std::sync::Arc;

/// How an export is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// Callscope's NDJSON: importable.
    Ndjson,
    /// [`CSV_COLUMNS`], RFC 4180 with CRLF line ends and a header record.
    Csv,
}

impl ExportFormat {
    /// `ndjson` or `csv`.
    pub fn parse(name: &str) -> Result<Self, String> {
        match name {
            "ndjson" => Ok(Self::Ndjson),
            "csv" => Ok(Self::Csv),
            other => Err(format!(
                "`{}` is not an export format: use ndjson or csv",
                other.chars().take(40).collect::<String>()
            )),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Ndjson => "application/x-ndjson",
            Self::Csv => "text/csv; charset=utf-8",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Ndjson => "ndjson",
            Self::Csv => "csv",
        }
    }

    /// What comes before the first call: the CSV's header record.
    pub fn preamble(self) -> String {
        match self {
            Self::Ndjson => String::new(),
            Self::Csv => csv_line(CSV_COLUMNS.iter().map(|c| (*c).to_owned())),
        }
    }
}

/// The columns of the CSV export, in order (times RFC 3339 UTC, money integer micro-USD).
pub const CSV_COLUMNS: &[&str] = &[
    "id",
    "started_at",
    "ended_at",
    "agent_id",
    "agent_name",
    "campaign_id",
    "direction",
    "call_type",
    "from_number",
    "to_number",
    "status",
    "disconnection_reason",
    "duration_ms",
    "outcome",
    "sentiment",
    "cost_micro_usd",
    "summary",
];

/// One call as a CSV record.
pub fn csv_record(call: &Call) -> String {
    let analysis = call.analysis.as_ref();
    let text = |value: Option<&str>| value.unwrap_or_default().to_owned();
    csv_line(
        [
            call.id.clone(),
            call.started_at
                .map(|at| at.to_rfc3339())
                .unwrap_or_default(),
            call.ended_at.map(|at| at.to_rfc3339()).unwrap_or_default(),
            text(call.agent.id.as_deref()),
            text(call.agent.name.as_deref()),
            text(call.campaign_id.as_deref()),
            text(call.direction.map(|d| d.as_str())),
            text(call.kind.map(|k| k.as_str())),
            text(call.from_number.as_deref()),
            text(call.to_number.as_deref()),
            call.status.as_str().to_owned(),
            text(call.disconnection_reason.map(|r| r.as_str())),
            call.duration_ms
                .map(|ms| ms.to_string())
                .unwrap_or_default(),
            text(analysis.and_then(|a| a.outcome.as_deref())),
            text(analysis.and_then(|a| a.sentiment).map(|s| s.as_str())),
            call.cost
                .as_ref()
                .and_then(|c| c.total_micro_usd)
                .map(|m| m.0.to_string())
                .unwrap_or_default(),
            text(analysis.and_then(|a| a.summary.as_deref())),
        ]
        .into_iter(),
    )
}

/// One CSV record (RFC 4180) ending in CRLF.
fn csv_line(fields: impl Iterator<Item = String>) -> String {
    let mut line = fields
        .map(|field| csv_field(&field))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

/// A field quoted when it must be, and defused when a spreadsheet would run it as a
/// formula (a leading `=`, `@`, tab or carriage return, or a `+`/`-` not starting a number:
/// phone numbers like `+14155550100` stay as they are).
fn csv_field(field: &str) -> String {
    let formula = match field.as_bytes() {
        [b'=' | b'@' | b'\t' | b'\r', ..] => true,
        [b'+' | b'-', rest @ ..] => !rest.iter().all(u8::is_ascii_digit) || rest.is_empty(),
        _ => false,
    };
    let field = if formula {
        format!("'{field}")
    } else {
        field.to_owned()
    };
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field
    }
}

/// One call with its events and attempts as an NDJSON line, newline included.
pub fn ndjson_line(record: &CallRecord) -> String {
    let mut object = match serde_json::to_value(&record.call) {
        Ok(Value::Object(object)) => object,
        _ => Map::new(),
    };
    if !record.events.is_empty() {
        object.insert("events".into(), serde_json::json!(record.events));
    }
    if !record.transfers.is_empty() {
        object.insert("transfers".into(), serde_json::json!(record.transfers));
    }
    let mut line = Value::Object(object).to_string();
    line.push('\n');
    line
}

/// A canonical call object (an NDJSON line, or a seed document mapped by `foreign`) as the
/// call of `organization_id` it describes, checked as every stored call is
/// (`Call::normalize`); the reason, naming the field, when it is not one.
fn parse_record(
    mut object: Map<String, Value>,
    organization_id: &str,
) -> Result<CallRecord, String> {
    let events = object.remove("events").unwrap_or(Value::Array(Vec::new()));
    let transfers = object
        .remove("transfers")
        .unwrap_or(Value::Array(Vec::new()));
    object.insert(
        "organization_id".into(),
        Value::String(organization_id.to_owned()),
    );
    let field = |prefix: &str, e: serde_path_to_error::Error<serde_json::Error>| {
        let path = e.path().to_string();
        let at = if path == "." {
            prefix.to_owned()
        } else {
            format!("{prefix}{path}")
        };
        if at.is_empty() {
            e.into_inner().to_string()
        } else {
            format!("{at}: {}", e.into_inner())
        }
    };
    let mut call: Call =
        serde_path_to_error::deserialize(Value::Object(object)).map_err(|e| field("", e))?;
    call.normalize().map_err(|e| e.to_string())?;
    let events: Vec<Event> =
        serde_path_to_error::deserialize(events).map_err(|e| field("events", e))?;
    let mut transfers: Vec<Transfer> =
        serde_path_to_error::deserialize(transfers).map_err(|e| field("transfers", e))?;
    for (at, transfer) in transfers.iter_mut().enumerate() {
        if transfer.session_id != call.id {
            return Err(format!(
                "transfers[{at}].session_id: `{}` is not this call's id `{}`",
                transfer.session_id, call.id
            ));
        }
        organization_id.clone_into(&mut transfer.organization_id);
    }
    Ok(CallRecord {
        call,
        events,
        transfers,
    })
}

/// The walk over every call a search matches, a page at a time, in a stable order (the
/// request's sort, or creation time, then id), continuing with `search_after`: it holds one
/// page, has no cap beyond the store's, and a call written meanwhile is seen at most once.
#[derive(Debug)]
pub struct Walk {
    search: Option<SearchRequest>,
}

impl Walk {
    /// Walks what `query` matches in `sort` order (creation time when empty), `page_size`
    /// calls at a time.
    pub fn new(query: Query, mut sort: Vec<SortKey>, page_size: u32) -> Self {
        if sort.is_empty()
            && let Ok(field) = callscope_query::resolve_sort(Surface::Native, "created_at")
        {
            sort.push(SortKey {
                field,
                descending: false,
            });
        }
        Self {
            search: Some(SearchRequest {
                query,
                sort,
                offset: 0,
                limit: page_size.max(1),
                search_after: None,
                aggs: Aggregations::new(),
                track_total_hits: TrackTotalHits::UpTo(0),
                highlight: None,
            }),
        }
    }

    /// The search for the next page; none once the walk is over.
    pub fn next_request(&self) -> Option<&SearchRequest> {
        self.search.as_ref()
    }

    /// Moves past the page `result` answered. An empty page ends the walk (a short one may
    /// be short only because a call was deleted between the index's answer and the read).
    pub fn advance(&mut self, result: &SearchResult) {
        let Some(search) = &mut self.search else {
            return;
        };
        let next = result.calls.last().and_then(|call| {
            let values = result.positions.get(&call.id)?;
            SearchAfter::of(&search.sort, values, call.id.clone())
        });
        match next {
            Some(after) => search.search_after = Some(after),
            None => self.search = None,
        }
    }
}

/// The search that counts, exactly, the calls `query` matches, answering none of them.
pub fn count_request(query: Query) -> SearchRequest {
    SearchRequest {
        query,
        sort: Vec::new(),
        offset: 0,
        limit: 0,
        search_after: None,
        aggs: Aggregations::new(),
        track_total_hits: TrackTotalHits::Exact,
        highlight: None,
    }
}

/// Renders a page of an export.
pub async fn render_page(
    store: &Arc<dyn Store>,
    organization_id: &str,
    format: ExportFormat,
    calls: Vec<Call>,
) -> crate::Result<String> {
    Ok(match format {
        ExportFormat::Csv => calls.iter().map(csv_record).collect(),
        ExportFormat::Ndjson => store
            .call_records(organization_id, calls)
            .await?
            .iter()
            .map(ndjson_line)
            .collect(),
    })
}

/// What an import reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ImportFormat {
    /// Each document as what its keys say it is: Callscope NDJSON, a seed-001 session
    /// document (alone or in a `{"hits": [...]}` answer) or a seed-004 call.
    #[default]
    Auto,
    /// Callscope NDJSON only (an export of this server).
    Ndjson,
    /// Seed 001's session documents (Vonage AI Studio Insights).
    Vonage,
    /// Seed 004's calls.
    Seed004,
}

impl ImportFormat {
    /// `auto`, `ndjson`, `vonage` or `seed004`.
    pub fn parse(name: &str) -> Result<Self, String> {
        match name {
            "auto" => Ok(Self::Auto),
            "ndjson" => Ok(Self::Ndjson),
            "vonage" => Ok(Self::Vonage),
            "seed004" => Ok(Self::Seed004),
            other => Err(format!(
                "`{}` is not an import format: use auto, ndjson, vonage or seed004",
                other.chars().take(40).collect::<String>()
            )),
        }
    }
}

/// A document an import refused.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Rejection {
    /// Where the document starts, 1-based.
    pub line: u64,
    pub reason: String,
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    /// Calls stored that were not there before.
    pub imported: u64,
    /// Calls stored over one of the same id.
    pub updated: u64,
    /// Calls refused, in all.
    pub rejected: u64,
    /// The first [`MAX_REJECTIONS_LISTED`] refusals, with why.
    pub rejections: Vec<Rejection>,
}

/// Most refusals an import report lists (it counts them all).
pub const MAX_REJECTIONS_LISTED: usize = 1_000;

/// Calls stored per transaction of an import, at most: this many, or as many as come to
/// [`IMPORT_BATCH_BYTES`] of documents, which bounds what an import holds.
const IMPORT_BATCH: usize = 500;
const IMPORT_BATCH_BYTES: usize = 16 * 1024 * 1024;

/// A document spread over several lines (a pretty-printed one), gathered until its brackets
/// close. Strings cannot hold a raw newline, so a line ends outside any string in valid
/// JSON; the string state is kept anyway, so that a broken document still closes.
#[derive(Debug, Default)]
struct Pending {
    first_line: u64,
    text: String,
    depth: i64,
    in_string: bool,
    escaped: bool,
}

impl Pending {
    fn push(&mut self, line: &str) {
        if !self.text.is_empty() {
            self.text.push('\n');
        }
        self.text.push_str(line);
        for byte in line.bytes() {
            match (self.in_string, self.escaped, byte) {
                (true, true, _) => self.escaped = false,
                (true, false, b'\\') => self.escaped = true,
                (true, false, b'"') => self.in_string = false,
                (true, false, _) => {}
                (false, _, b'"') => self.in_string = true,
                (false, _, b'{' | b'[') => self.depth += 1,
                (false, _, b'}' | b']') => self.depth -= 1,
                (false, _, _) => {}
            }
        }
    }

    /// Whether the document may be whole: its brackets closed, or it never opened one.
    fn closed(&self) -> bool {
        self.depth <= 0
    }
}

/// An import into one organization: lines in, documents gathered and checked, batches
/// stored, a report out. A document is NDJSON's one line, or a pretty-printed one over
/// several; each call lands whole or not at all, and a refused one does not stop the
/// others.
pub struct Importer {
    store: Arc<dyn Store>,
    organization_id: String,
    format: ImportFormat,
    /// Longest document gathered, and the limit's name for the refusal.
    max_document: (usize, &'static str),
    pending: Option<Pending>,
    batch: Vec<CallRecord>,
    batch_bytes: usize,
    line: u64,
    report: ImportReport,
}

impl std::fmt::Debug for Importer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Importer")
            .field("organization_id", &self.organization_id)
            .field("format", &self.format)
            .field("line", &self.line)
            .field("report", &self.report)
            .finish_non_exhaustive()
    }
}

impl Importer {
    /// An import of `format` into `organization_id`, refusing a document longer than
    /// `max_document` bytes (the limit named `name`).
    pub fn new(
        store: Arc<dyn Store>,
        organization_id: &str,
        format: ImportFormat,
        (max_document, name): (usize, &'static str),
    ) -> Self {
        Self {
            store,
            organization_id: organization_id.to_owned(),
            format,
            max_document: (max_document, name),
            pending: None,
            batch: Vec::with_capacity(IMPORT_BATCH),
            batch_bytes: 0,
            line: 0,
            report: ImportReport::default(),
        }
    }

    /// The next line, without its `\n` (a `\r` before it is dropped too); blank lines
    /// between documents are skipped but counted.
    pub async fn line(&mut self, bytes: &[u8]) -> crate::Result<()> {
        self.line += 1;
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        let Ok(text) = std::str::from_utf8(bytes) else {
            let reason = "not UTF-8".to_owned();
            return self.refuse_current(reason).await;
        };
        if self.pending.is_none() && text.trim().is_empty() {
            return Ok(());
        }
        let line = self.line;
        let pending = self.pending.get_or_insert_with(|| Pending {
            first_line: line,
            ..Pending::default()
        });
        pending.push(text);
        let (limit, name) = self.max_document;
        if pending.text.len() > limit {
            let reason = format!(
                "the document is longer than the {limit} bytes this import accepts {}",
                callscope_query::limit_note(name, limit)
            );
            return self.give_up(reason).await;
        }
        // NDJSON is one document a line, so a cut-off line is refused at once rather
        // than gathered with the lines after it.
        if pending.closed() || self.format == ImportFormat::Ndjson {
            self.close().await?;
        }
        Ok(())
    }

    /// Refuses the next line without reading it (one longer than a limit, say).
    pub async fn refuse_line(&mut self, reason: String) -> crate::Result<()> {
        self.line += 1;
        self.refuse_current(reason).await
    }

    /// Refuses the current line: a document gathered so far ends before it.
    async fn refuse_current(&mut self, reason: String) -> crate::Result<()> {
        if self.pending.is_some() {
            self.close().await?;
        }
        self.reject(self.line, reason);
        Ok(())
    }

    /// Parses the gathered document. One that is not JSON over several lines was no
    /// document: its first line is refused and the others are read again one by one, so a
    /// cut-off NDJSON line costs only itself.
    async fn close(&mut self) -> crate::Result<()> {
        let Some(pending) = self.pending.take() else {
            return Ok(());
        };
        match serde_json::from_str::<Value>(&pending.text) {
            Ok(document) => {
                self.document(pending.first_line, document, pending.text.len())
                    .await
            }
            Err(error) => self.reread(pending, format!("not JSON: {error}")).await,
        }
    }

    /// Gives up the gathered document for `reason`, reading its later lines again.
    async fn give_up(&mut self, reason: String) -> crate::Result<()> {
        match self.pending.take() {
            Some(pending) => self.reread(pending, reason).await,
            None => Ok(()),
        }
    }

    async fn reread(&mut self, pending: Pending, reason: String) -> crate::Result<()> {
        self.reject(pending.first_line, reason);
        for (at, line) in pending.text.split('\n').enumerate().skip(1) {
            if line.trim().is_empty() {
                continue;
            }
            let number = pending.first_line + at as u64;
            match serde_json::from_str::<Value>(line) {
                Ok(document) => self.document(number, document, line.len()).await?,
                Err(error) => self.reject(number, format!("not JSON: {error}")),
            }
        }
        Ok(())
    }

    /// A whole document: one call, or a list of them (`{"hits": [...]}` as seed 001
    /// answers a search, or a bare array).
    async fn document(&mut self, line: u64, document: Value, bytes: usize) -> crate::Result<()> {
        let calls = match document {
            Value::Object(mut object) if object.get("hits").is_some_and(Value::is_array) => {
                match object.remove("hits") {
                    Some(Value::Array(hits)) => hits,
                    _ => Vec::new(),
                }
            }
            Value::Array(calls) => calls,
            single @ Value::Object(_) => {
                return self.call(line, None, single, bytes).await;
            }
            _ => {
                self.reject(line, "a document must be a JSON object: one call".into());
                return Ok(());
            }
        };
        let share = bytes / calls.len().max(1);
        for (at, call) in calls.into_iter().enumerate() {
            self.call(line, Some(at), call, share).await?;
        }
        Ok(())
    }

    /// One call's document, `at` its place in a list.
    async fn call(
        &mut self,
        line: u64,
        at: Option<usize>,
        document: Value,
        bytes: usize,
    ) -> crate::Result<()> {
        let parsed = match document {
            Value::Object(object) => self.record(object),
            _ => Err("expected a JSON object: one call".to_owned()),
        };
        match parsed {
            Ok(record) => {
                self.batch_bytes += bytes;
                self.batch.push(record);
                if self.batch.len() >= IMPORT_BATCH || self.batch_bytes >= IMPORT_BATCH_BYTES {
                    self.flush().await?;
                }
            }
            Err(reason) => match at {
                Some(at) => self.reject(line, format!("hits[{at}]: {reason}")),
                None => self.reject(line, reason),
            },
        }
        Ok(())
    }

    /// A call's document as the call it describes, read as the import's format says.
    fn record(&self, object: Map<String, Value>) -> Result<CallRecord, String> {
        let shape = match self.format {
            ImportFormat::Auto => foreign::Shape::of(&object),
            ImportFormat::Ndjson => foreign::Shape::Canonical,
            ImportFormat::Vonage => foreign::Shape::Vonage,
            ImportFormat::Seed004 => foreign::Shape::Seed004,
        };
        let canonical = match shape {
            foreign::Shape::Canonical => object,
            foreign::Shape::Vonage => foreign::from_vonage(object)?,
            foreign::Shape::Seed004 => foreign::from_seed004(object)?,
        };
        parse_record(canonical, &self.organization_id)
    }

    fn reject(&mut self, line: u64, reason: String) {
        self.report.rejected += 1;
        if self.report.rejections.len() < MAX_REJECTIONS_LISTED {
            self.report.rejections.push(Rejection { line, reason });
        }
    }

    /// Lines read so far.
    pub fn lines(&self) -> u64 {
        self.line
    }

    async fn flush(&mut self) -> crate::Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(IMPORT_BATCH));
        self.batch_bytes = 0;
        let count = batch.len() as u64;
        let replaced = self.store.import_calls(batch).await? as u64;
        self.report.updated += replaced;
        self.report.imported += count - replaced.min(count);
        Ok(())
    }

    /// Closes what is left, stores it and reports.
    pub async fn finish(mut self) -> crate::Result<ImportReport> {
        self.close().await?;
        self.flush().await?;
        Ok(self.report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field("+14155550100"), "+14155550100");
        assert_eq!(csv_field("-5"), "-5");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_field("+cmd"), "'+cmd");
        assert_eq!(csv_field("-"), "'-");
    }

    #[test]
    fn a_line_ends_in_crlf() {
        assert_eq!(
            csv_line(["a".to_owned(), "b c".to_owned()].into_iter()),
            "a,b c\r\n"
        );
    }

    #[test]
    fn a_record_is_refused_with_the_field_that_breaks_it() {
        let refused = |line: &str| {
            let object = serde_json::from_str::<Map<String, Value>>(line).unwrap_or_default();
            parse_record(object, "org_a").err().unwrap_or_default()
        };
        assert!(refused(r#"{"id": "a"}"#).contains("missing field"));
        let base = r#""id": "c1", "organization_id": "x", "status": "completed",
                      "created_at": "2026-11-01T10:00:00Z", "updated_at": "2026-11-01T10:05:00Z""#;
        assert!(refused(&format!(r#"{{{base}, "status_code": 7}}"#)).contains("status_code"));
        assert!(refused(&format!(r#"{{{base}, "bogus": 1}}"#)).contains("bogus"));
        assert!(
            refused(&format!(r#"{{{base}, "events": [{{"id": 3}}]}}"#)).starts_with("events[0]")
        );
        let object = serde_json::from_str(&format!("{{{base}}}")).unwrap_or_default();
        let record = parse_record(object, "org_b").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            record.call.organization_id, "org_b",
            "the importer's organization"
        );
        assert_eq!(record.call.id, "c1");
    }

    #[test]
    fn a_document_closes_when_its_brackets_do() {
        let mut pending = Pending::default();
        pending.push(r#"{"a": "}{ \" [","#);
        assert!(!pending.closed(), "brackets in strings do not count");
        pending.push(r#""b": [1, {"c": 2}]"#);
        assert!(!pending.closed());
        pending.push("}");
        assert!(pending.closed());
        let mut garbage = Pending::default();
        garbage.push("nope");
        assert!(garbage.closed(), "never opened: parsed at once");
    }
}
