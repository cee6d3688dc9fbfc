//! The tantivy search index of the embedded backend: a derived copy of the SQLite store that
//! answers queries, sorts and aggregations (DESIGN §5).
//!
//! The index holds no documents' source: a search returns call keys, and the calls are read
//! from SQLite. Each commit records, as its payload, the last change-log sequence number it
//! includes, so after a crash the follower resumes from exactly there.

mod aggs;
mod collect;
mod compile;
mod cost;
pub(crate) mod document;
mod filtered;
mod highlight;

use crate::{Result, StoreError};
use callscope_model::Call;
use callscope_query::{
    FieldKind, IndexField, Limits, SearchRequest, TotalRelation, TrackTotalHits, limit_note,
};
pub use collect::MAX_SORT_KEYS;
use collect::{ColumnValues, KEY_FIELD, SortBy, TopCollector};
use compile::Compiler;
use filtered::FilteredQuery;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use tantivy::aggregation::agg_req::Aggregations as TantivyAggregations;
use tantivy::aggregation::agg_result::AggregationResults;
use tantivy::aggregation::{AggContextParams, AggregationCollector, AggregationLimitsGuard};
use tantivy::collector::Count;
use tantivy::query::{EnableScoring, Query as TantivyQuery, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, JsonObjectOptions, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::TokenizerManager;
use tantivy::{
    DocSet, Index, IndexReader, IndexWriter, ReloadPolicy, TERMINATED, TantivyDocument, Term,
};

const ORGANIZATION_FIELD: &str = "organization";
/// What every commit's payload starts with, before the change-log sequence it includes:
/// the on-disk format beyond the schema. Tantivy is built with sstable term dictionaries
/// (its `quickwit` feature), which cannot read the FST dictionaries of earlier builds, so an
/// index whose commits lack this mark is rebuilt like one of another schema. Building FSTs
/// was a fifth of the indexing thread's time; sstables raised ingest with the index in step
/// from 6,224 to 8,177 calls/s (100k full-shape calls).
const FORMAT: &str = "sstable-termdict:";
/// Indexing threads of the writer. Measured on 2 cores: a second thread slowed a rebuild
/// from 21 s to 32 s (it competes with the follower and halves each thread's budget).
const INDEXING_THREADS: usize = 1;

impl From<tantivy::TantivyError> for StoreError {
    fn from(error: tantivy::TantivyError) -> Self {
        Self::Internal(format!("search index: {error}"))
    }
}

/// What a search found, before the calls are read.
#[derive(Debug)]
pub(crate) struct IndexAnswer {
    /// Ids of the page's calls, in order.
    pub ids: Vec<String>,
    /// Each call's sort values, by id: what `search_after` takes to continue after it.
    pub positions: HashMap<String, Vec<Value>>,
    pub total: u64,
    pub total_relation: TotalRelation,
    pub aggregations: Option<Value>,
}

#[derive(Clone, Copy, Debug)]
struct Fields {
    key: Field,
    organization: Field,
    kw: Field,
    num: Field,
    /// One per name of `document::TEXT_FIELDS`, in its order.
    texts: [Field; document::TEXT_FIELDS.len()],
}

impl Fields {
    /// The JSON field holding values of fields of `kind` (`document::object_of`).
    fn object(&self, kind: FieldKind) -> Field {
        if document::object_of(kind) == document::NUM {
            self.num
        } else {
            self.kw
        }
    }

    /// The analysed field named `name` in `document::TEXT_FIELDS`.
    fn text(&self, name: &str) -> Option<Field> {
        let at = document::TEXT_FIELDS
            .iter()
            .position(|text| *text == name)?;
        Some(self.texts[at])
    }
}

/// The index, its reader, and its one writer.
pub(crate) struct SearchIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    /// Only in the process that maintains the index.
    writer: Option<Mutex<IndexWriter>>,
    /// What one search may ask for (window, buckets, memory).
    limits: Limits,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex").finish_non_exhaustive()
    }
}

fn schema() -> (Schema, Fields) {
    let raw = TextFieldIndexing::default()
        .set_tokenizer("raw")
        .set_index_option(IndexRecordOption::Basic);
    let mut builder = Schema::builder();
    let key = builder.add_text_field(
        KEY_FIELD,
        TextOptions::default()
            .set_indexing_options(raw.clone())
            .set_fast("raw"),
    );
    let organization = builder.add_text_field(
        ORGANIZATION_FIELD,
        TextOptions::default().set_indexing_options(raw.clone()),
    );
    let kw = builder.add_json_field(
        document::KW,
        JsonObjectOptions::default()
            .set_indexing_options(raw)
            .set_fast("raw"),
    );
    let num = builder.add_json_field(document::NUM, JsonObjectOptions::default().set_fast("raw"));
    let analysed = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("default")
            .set_index_option(IndexRecordOption::WithFreqsAndPositions)
            .set_fieldnorms(true),
    );
    let texts = document::TEXT_FIELDS
        .map(|path| builder.add_text_field(&format!("text.{path}"), analysed.clone()));
    (
        builder.build(),
        Fields {
            key,
            organization,
            kw,
            num,
            texts,
        },
    )
}

impl SearchIndex {
    /// Opens or creates the index in `dir`, with a writer of `memory_budget` bytes when one
    /// is given; without one the index is read-only and follows commits made elsewhere.
    ///
    /// An index built with another schema or format (by an older version) is rebuilt when
    /// this process maintains the index: it is derived data, and the follower replays the
    /// change log into the new one from the start.
    pub(crate) fn open(dir: &Path, memory_budget: Option<usize>, limits: Limits) -> Result<Self> {
        let (schema, fields) = schema();
        let index = match open_index(dir, &schema)? {
            Some(index) => index,
            None if memory_budget.is_none() => {
                return Err(StoreError::Internal(
                    "the search index was built by another version; start the server or run \
                     `callscope reindex` to rebuild it"
                        .into(),
                ));
            }
            None => {
                tracing::warn!(
                    dir = %dir.display(),
                    "the search index was built by another version; rebuilding it from the change log"
                );
                std::fs::remove_dir_all(dir).map_err(|e| {
                    StoreError::Internal(format!("cannot remove {}: {e}", dir.display()))
                })?;
                open_index(dir, &schema)?.ok_or_else(|| {
                    StoreError::Internal("a new search index has another schema".into())
                })?
            }
        };
        let (writer, reload) = match memory_budget {
            Some(budget) => (
                Some(Mutex::new(
                    index.writer_with_num_threads(INDEXING_THREADS, budget)?,
                )),
                ReloadPolicy::Manual,
            ),
            None => (None, ReloadPolicy::OnCommitWithDelay),
        };
        let reader = index.reader_builder().reload_policy(reload).try_into()?;
        Ok(Self {
            index,
            reader,
            fields,
            writer,
            limits,
        })
    }

    /// The last change-log sequence number the committed index includes.
    pub(crate) fn indexed_sequence(&self) -> Result<i64> {
        let payload = self.index.load_metas()?.payload;
        Ok(payload
            .as_deref()
            .and_then(|text| text.strip_prefix(FORMAT))
            .and_then(|sequence| sequence.parse().ok())
            .unwrap_or(0))
    }

    fn writer(&self) -> Result<std::sync::MutexGuard<'_, IndexWriter>> {
        self.writer
            .as_ref()
            .ok_or_else(|| StoreError::Internal("the search index is open read-only".into()))?
            .lock()
            .map_err(|_| StoreError::Internal("index writer lock poisoned".into()))
    }

    /// Replaces (or adds) the documents of `calls` and removes the calls in `deleted`.
    pub(crate) fn apply(&self, calls: &[Call], deleted: &[(String, String)]) -> Result<()> {
        let writer = self.writer()?;
        for (organization, id) in deleted {
            writer.delete_term(Term::from_field_text(
                self.fields.key,
                &document::key(organization, id),
            ));
        }
        for call in calls {
            let key = document::key(&call.organization_id, &call.id);
            writer.delete_term(Term::from_field_text(self.fields.key, &key));
            let built = document::build(call);
            let mut doc = TantivyDocument::default();
            doc.add_text(self.fields.key, &key);
            doc.add_text(self.fields.organization, &call.organization_id);
            // Straight from the JSON values: tantivy reads `serde_json::Value` as it reads its
            // own `OwnedValue`, so converting first would only copy every value once more.
            doc.add_field_value(self.fields.kw, &Value::Object(built.kw));
            doc.add_field_value(self.fields.num, &Value::Object(built.num));
            for (path, text) in built.texts {
                let field = self.fields.text(path).ok_or_else(|| {
                    StoreError::Internal(format!("no index field for the text path `{path}`"))
                })?;
                doc.add_text(field, text);
            }
            writer.add_document(doc)?;
        }
        Ok(())
    }

    /// Makes everything applied durable and visible, recording `sequence` as included.
    pub(crate) fn commit(&self, sequence: i64) -> Result<()> {
        let mut writer = self.writer()?;
        let mut prepared = writer.prepare_commit()?;
        prepared.set_payload(&format!("{FORMAT}{sequence}"));
        prepared.commit()?;
        drop(writer);
        self.reader.reload()?;
        Ok(())
    }

    /// Runs `request` for `organization` (the tenant is always a filter here).
    pub(crate) fn search(
        &self,
        organization: &str,
        request: &SearchRequest,
    ) -> Result<IndexAnswer> {
        if request.sort.len() > MAX_SORT_KEYS {
            return Err(invalid(
                "sort",
                format!("at most {MAX_SORT_KEYS} sort keys are supported"),
            ));
        }
        let keep = request.offset.saturating_add(u64::from(request.limit));
        let window = self.limits.max_result_window;
        if keep > window {
            return Err(invalid(
                "from",
                format!(
                    "from + size may not exceed {window} {}; page deeper with search_after",
                    limit_note("max_result_window", window)
                ),
            ));
        }
        let searcher = self.reader.searcher();
        let tokenizer = self.index.tokenizers().get("default").ok_or_else(|| {
            StoreError::Internal("the default tokenizer is not registered".into())
        })?;
        let mut compiler = Compiler {
            fields: self.fields,
            analyzer: tokenizer,
        };
        let tenant = TermQuery::new(
            Term::from_field_text(self.fields.organization, organization),
            IndexRecordOption::Basic,
        );
        let query = FilteredQuery::new(compiler.split(&request.query)?, Box::new(tenant));
        // The position of `search_after` narrows the page only: the total and the
        // aggregations count every match, as in Elasticsearch.
        let after = request
            .search_after
            .as_ref()
            .map(|after| compiler.after(&request.sort, after, self.fields.key, organization))
            .transpose()?;
        let sort: Vec<SortBy> = if request.sort.is_empty() {
            vec![SortBy::Score { descending: true }]
        } else {
            request
                .sort
                .iter()
                .map(|key| SortBy::Column {
                    name: document::column(&key.field),
                    values: match key.field.kind {
                        FieldKind::Keyword => ColumnValues::Text,
                        FieldKind::Dynamic => ColumnValues::Either,
                        _ => ColumnValues::Numbers,
                    },
                    descending: key.descending,
                })
                .collect()
        };
        let top = TopCollector {
            sort,
            keep: usize::try_from(keep).unwrap_or(usize::MAX),
        };
        let (collector, bounds) = if request.aggs.is_empty() {
            (None, aggs::MonthBounds::new())
        } else {
            let bounds = self.check_buckets(&searcher, &query, &request.aggs)?;
            self.check_memory(&searcher, &query, &request.aggs)?;
            (
                Some(self.aggregation_collector(aggs::to_request(&request.aggs, &bounds))?),
                bounds,
            )
        };
        // Aggregations visit every match, and so does an exact count: then one pass collects
        // the page too. Otherwise the page and the count are separate passes, so that the
        // count may stop at its bound and the page may start after `search_after`.
        let exact = collector.is_some() || request.track_total_hits == TrackTotalHits::Exact;
        let (hits, total, total_relation, answer) = if top.keep > 0 && after.is_none() && exact {
            let (hits, total, answer) = searcher
                .search(&query, &(top, Count, collector))
                .map_err(|e| self.refusal(e))?;
            (hits, total as u64, TotalRelation::Equal, answer)
        } else {
            let hits = match (top.keep, after) {
                (0, _) => Vec::new(),
                (_, Some(after)) => searcher.search(&query.and(after), &top)?,
                (_, None) => searcher.search(&query, &top)?,
            };
            let (total, total_relation, answer) = match (collector, request.track_total_hits) {
                (Some(collector), _) => {
                    let (total, answer) = searcher
                        .search(&query, &(Count, collector))
                        .map_err(|e| self.refusal(e))?;
                    (total as u64, TotalRelation::Equal, Some(answer))
                }
                (None, TrackTotalHits::Exact) => {
                    (query.count(&searcher)? as u64, TotalRelation::Equal, None)
                }
                (None, TrackTotalHits::UpTo(bound)) => {
                    let (total, relation) = count_up_to(&searcher, &query, bound)?;
                    (total, relation, None)
                }
            };
            (hits, total, total_relation, answer)
        };
        let aggregations = match answer {
            Some(answer) => Some(aggs::to_response(
                &request.aggs,
                &bounds,
                answer_json(&answer)?,
            )),
            None => None,
        };
        let skip = usize::try_from(request.offset).unwrap_or(usize::MAX);
        let mut ids = Vec::new();
        let mut positions = HashMap::new();
        for hit in hits.into_iter().skip(skip) {
            let Some((_, id)) = hit.key.split_once('/') else {
                continue;
            };
            let values = hit
                .values
                .into_iter()
                .map(collect::SortValue::into_json)
                .collect();
            ids.push(id.to_owned());
            positions.insert(id.to_owned(), values);
        }
        Ok(IndexAnswer {
            ids,
            positions,
            total,
            total_relation,
            aggregations,
        })
    }

    fn aggregate(
        &self,
        searcher: &tantivy::Searcher,
        query: &FilteredQuery,
        request: Value,
    ) -> Result<Value> {
        let answer = searcher
            .search(query, &self.aggregation_collector(request)?)
            .map_err(|e| self.refusal(e))?;
        answer_json(&answer)
    }

    /// Checks the gap-filling histograms of `aggs` against `max_buckets` before the search
    /// runs, and returns the bounds the aggregations need (calendar months').
    ///
    /// The span of a field over the whole index costs nothing to read (column statistics);
    /// only a histogram that would be too large by that span needs its span among this
    /// search's matches, found with the months' first pass.
    fn check_buckets(
        &self,
        searcher: &tantivy::Searcher,
        query: &FilteredQuery,
        aggs: &callscope_query::Aggregations,
    ) -> Result<aggs::MonthBounds> {
        let max = f64::from(self.limits.max_buckets);
        let suspects: Vec<aggs::GapFilled> = aggs::gap_filled(aggs)
            .into_iter()
            .filter(|histogram| {
                index_span(searcher, &histogram.field).is_some_and(|(min, high)| {
                    aggs::buckets_between(min, high, histogram.interval) > max
                })
            })
            .collect();
        let mut fields = aggs::month_fields(aggs);
        fields.extend(suspects.iter().map(|histogram| histogram.field.clone()));
        fields.sort_by(|a, b| a.path.cmp(&b.path));
        fields.dedup_by(|a, b| a.path == b.path);
        if fields.is_empty() {
            return Ok(aggs::MonthBounds::new());
        }
        let first = self.aggregate(searcher, query, aggs::bounds_request(&fields))?;
        let bounds = aggs::bounds_from(&fields, &first);
        for histogram in &suspects {
            let Some((min, high)) = bounds.get(&histogram.field.path) else {
                continue;
            };
            #[allow(clippy::cast_precision_loss)] // an estimate; epoch ms are below 2^53
            let buckets = aggs::buckets_between(*min as f64, *high as f64, histogram.interval);
            if buckets > max {
                return Err(invalid(
                    "aggs",
                    format!(
                        "histogram `{}` every {} of `{}` from {min} to {high} would hold {buckets:.0} \
                         buckets, more than {} {}; widen the interval, narrow the query or set \
                         min_doc_count to 1",
                        histogram.name,
                        histogram.interval,
                        histogram.field.path,
                        self.limits.max_buckets,
                        limit_note("max_buckets", self.limits.max_buckets)
                    ),
                ));
            }
        }
        Ok(bounds)
    }

    /// The highlights of each of `calls` (by id) that `request` asks for; calls with none are
    /// left out.
    pub(crate) fn highlights(
        &self,
        calls: &[Call],
        request: &SearchRequest,
    ) -> Result<HashMap<String, highlight::Highlights>> {
        let Some(wanted) = &request.highlight else {
            return Ok(HashMap::new());
        };
        let mut analyzer = self.index.tokenizers().get("default").ok_or_else(|| {
            StoreError::Internal("the default tokenizer is not registered".into())
        })?;
        let clauses = request.query.highlight_clauses();
        Ok(calls
            .iter()
            .map(|call| {
                (
                    call.id.clone(),
                    highlight::highlight(call, wanted, &clauses, &mut analyzer),
                )
            })
            .filter(|(_, marked)| !marked.is_empty())
            .collect())
    }

    /// Refuses aggregations estimated (`cost`) to take more memory than one search may: by
    /// the index's statistics first, and when those say too much, by the counts of this
    /// search's own matches in each segment.
    #[allow(clippy::cast_precision_loss)] // counts and bytes far below 2^53
    fn check_memory(
        &self,
        searcher: &tantivy::Searcher,
        query: &FilteredQuery,
        aggs: &callscope_query::Aggregations,
    ) -> Result<()> {
        let limit = self.limits.max_search_memory_mb as f64 * 1024.0 * 1024.0;
        let mut shapes: Vec<cost::SegmentShape<'_>> = searcher
            .segment_readers()
            .iter()
            .map(|reader| cost::SegmentShape {
                reader,
                docs: f64::from(reader.num_docs()),
            })
            .collect();
        let mut estimate = cost::estimate(aggs, &shapes);
        if estimate > limit {
            let counts = searcher
                .search(query, &cost::SegmentCounts)
                .map_err(|e| self.refusal(e))?;
            for shape in &mut shapes {
                shape.docs = 0.0;
            }
            for (segment, matches) in counts {
                if let Some(shape) = shapes.get_mut(segment as usize) {
                    shape.docs = matches as f64;
                }
            }
            estimate = cost::estimate(aggs, &shapes);
        }
        if estimate > limit {
            return Err(invalid(
                "aggs",
                format!(
                    "the aggregations would take about {:.0} MiB (estimated from the index), \
                     more than one search may take {}; ask for fewer or wider buckets, a \
                     smaller terms size or fewer sub-aggregations, or narrow the query",
                    estimate / 1024.0 / 1024.0,
                    limit_note("max_search_memory_mb", self.limits.max_search_memory_mb)
                ),
            ));
        }
        Ok(())
    }

    /// A collector for tantivy's aggregation `request`, under this index's bucket and memory
    /// limits.
    fn aggregation_collector(&self, request: Value) -> Result<AggregationCollector> {
        let request: TantivyAggregations = serde_json::from_value(request)
            .map_err(|e| StoreError::Internal(format!("aggregation request: {e}")))?;
        let guard = AggregationLimitsGuard::new(
            Some(self.limits.max_search_memory_mb.saturating_mul(1024 * 1024)),
            Some(self.limits.max_buckets),
        );
        let context = AggContextParams::new(guard, TokenizerManager::default());
        Ok(AggregationCollector::from_aggs(request, context))
    }

    /// A failed search as the store's error: a limit that tripped while the aggregations ran
    /// is the caller's to fix (a 400 naming it), anything else is internal.
    fn refusal(&self, error: tantivy::TantivyError) -> StoreError {
        use tantivy::aggregation::AggregationError;
        match error {
            tantivy::TantivyError::AggregationError(AggregationError::MemoryExceeded {
                ..
            }) => invalid(
                "aggs",
                format!(
                    "the aggregations need more memory than one search may take {}; ask for \
                     fewer or wider buckets, a smaller terms size, or narrow the query",
                    limit_note("max_search_memory_mb", self.limits.max_search_memory_mb)
                ),
            ),
            tantivy::TantivyError::AggregationError(AggregationError::BucketLimitExceeded {
                current,
                ..
            }) => invalid(
                "aggs",
                format!(
                    "the answer would hold {current} buckets, more than {} {}; ask for fewer \
                     or wider buckets, a smaller terms size, or narrow the query",
                    self.limits.max_buckets,
                    limit_note("max_buckets", self.limits.max_buckets)
                ),
            ),
            // What tantivy refuses of a request is the request's to fix; its words say why.
            tantivy::TantivyError::InvalidArgument(why)
            | tantivy::TantivyError::AggregationError(AggregationError::InvalidRequest(why)) => {
                invalid(
                    "aggs",
                    format!("the search cannot run these aggregations: {why}"),
                )
            }
            other => other.into(),
        }
    }
}

/// The smallest and largest value of `field` over the whole index (deleted calls and every
/// organization included), from the columns' statistics; `None` when no segment has it.
fn index_span(searcher: &tantivy::Searcher, field: &IndexField) -> Option<(f64, f64)> {
    searcher
        .segment_readers()
        .iter()
        .filter_map(|reader| cost::value_bounds(reader, field))
        .fold(None, |span, bounds| Some(cost::widen(span, bounds)))
}

/// Opens the index in `dir`, creating it when there is none; `None` when the index there was
/// built with another schema or format (an index never committed has no format yet, and no
/// segments to misread).
fn open_index(dir: &Path, schema: &Schema) -> Result<Option<Index>> {
    std::fs::create_dir_all(dir)
        .map_err(|e| StoreError::Internal(format!("cannot create {}: {e}", dir.display())))?;
    let directory = tantivy::directory::MmapDirectory::open(dir)
        .map_err(|e| StoreError::Internal(format!("cannot open index directory: {e}")))?;
    let exists = Index::exists(&directory)
        .map_err(|e| StoreError::Internal(format!("cannot read the index directory: {e}")))?;
    if !exists {
        return Ok(Some(Index::create(
            directory,
            schema.clone(),
            tantivy::IndexSettings::default(),
        )?));
    }
    let index = Index::open(directory)?;
    let format_matches = index
        .load_metas()?
        .payload
        .is_none_or(|payload| payload.starts_with(FORMAT));
    Ok((index.schema() == *schema && format_matches).then_some(index))
}

/// Counts the matches of `query` until there are more than `bound`: then the total is
/// `bound`, as a lower bound.
fn count_up_to(
    searcher: &tantivy::Searcher,
    query: &FilteredQuery,
    bound: u64,
) -> Result<(u64, TotalRelation)> {
    let weight = query.weight(EnableScoring::disabled_from_searcher(searcher))?;
    let mut counted = 0u64;
    for reader in searcher.segment_readers() {
        let alive = reader.alive_bitset();
        let mut scorer = weight.scorer(reader, 1.0)?;
        let mut doc = scorer.doc();
        while doc != TERMINATED {
            if alive.is_none_or(|alive| alive.is_alive(doc)) {
                counted += 1;
                if counted > bound {
                    return Ok((bound, TotalRelation::AtLeast));
                }
            }
            doc = scorer.advance();
        }
    }
    Ok((counted, TotalRelation::Equal))
}

/// Tantivy's aggregation answer as Elasticsearch-shaped JSON.
fn answer_json(answer: &AggregationResults) -> Result<Value> {
    serde_json::to_value(answer)
        .map_err(|e| StoreError::Internal(format!("aggregation answer: {e}")))
}

fn invalid(field: &str, message: String) -> StoreError {
    StoreError::Invalid(callscope_model::ValidationError::new(field, message))
}
