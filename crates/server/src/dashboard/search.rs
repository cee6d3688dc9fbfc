//! The filter state of the calls pages (what the URL carries) and the search it asks for.
//!
//! The filters become the very JSON body `POST /v1/calls/query` takes and go through its
//! parser, so a dashboard view is always a query the API answers the same way, and the
//! advanced box's errors are the API's own sentences.

use crate::error::ApiError;
use crate::native::dto::{QueryBody, QueryRequest};
use callscope_query::Limits;
use serde::Deserialize;
use serde_json::{Value, json};

/// Columns a calls table may be sorted by: (URL name, field, label).
pub(crate) const SORTS: &[(&str, &str, &str)] = &[
    ("started", "started_at", "Started"),
    ("agent", "agent.id", "Agent"),
    ("direction", "direction", "Direction"),
    ("from", "from_number", "From → to"),
    ("duration", "duration_ms", "Duration"),
    ("status", "status", "Status"),
    ("outcome", "analysis.outcome", "Outcome"),
    ("sentiment", "analysis.sentiment", "Sentiment"),
    ("cost", "cost.total_micro_usd", "Cost"),
];

/// Every filter of the calls pages, as the URL's query string carries them. Empty values
/// (an untouched form field) mean "any". Each comment is the parameter's description in the
/// OpenAPI document.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct CallFilters {
    /// Calls started on or after this date (`2026-11-01`) or time (RFC 3339).
    #[serde(default)]
    pub from: String,
    /// Calls started on or before this date or time.
    #[serde(default)]
    pub to: String,
    /// The agent's id.
    #[serde(default)]
    pub agent: String,
    /// The campaign's id.
    #[serde(default)]
    pub campaign: String,
    /// The call's status: `in_progress`, `completed`, `failed`, `no_answer`, `busy` or
    /// `canceled`.
    #[serde(default)]
    pub status: String,
    /// The call's type: `telephony_inbound`, `telephony_outbound`, `chat` or `web`.
    #[serde(default)]
    pub call_type: String,
    /// `inbound` or `outbound`.
    #[serde(default)]
    pub direction: String,
    /// The report's outcome (`appointment_confirmed`, `transferred`, …).
    #[serde(default)]
    pub outcome: String,
    /// The report's sentiment: `positive`, `neutral` or `negative`.
    #[serde(default)]
    pub sentiment: String,
    /// A tag the call carries.
    #[serde(default)]
    pub tag: String,
    /// Words that must all occur in the transcript.
    #[serde(default)]
    pub q: String,
    /// A raw bool query (seed 001's `filter_by` JSON), combined with the rest.
    #[serde(default)]
    pub advanced: String,
    /// The column to sort by: `started` (the default), `agent`, `direction`, `from`,
    /// `duration`, `status`, `outcome`, `sentiment` or `cost`.
    #[serde(default)]
    pub sort: String,
    /// `asc` or `desc` (the default).
    #[serde(default)]
    pub order: String,
    /// The position (JSON, from the previous page's "Next page" link) the page continues
    /// after.
    #[serde(default)]
    pub after: String,
    /// The page's number, for display (the position is `after`).
    #[serde(default)]
    pub page: Option<u32>,
}

/// The exact-value filters: (URL name, field).
const TERMS: &[(&str, &str)] = &[
    ("agent", "agent.id"),
    ("campaign", "campaign_id"),
    ("status", "status"),
    ("call_type", "kind"),
    ("direction", "direction"),
    ("outcome", "analysis.outcome"),
    ("sentiment", "analysis.sentiment"),
    ("tag", "tags_list.tag"),
];

impl CallFilters {
    fn term_value(&self, name: &str) -> &str {
        match name {
            "agent" => &self.agent,
            "campaign" => &self.campaign,
            "status" => &self.status,
            "call_type" => &self.call_type,
            "direction" => &self.direction,
            "outcome" => &self.outcome,
            "sentiment" => &self.sentiment,
            "tag" => &self.tag,
            _ => "",
        }
    }

    /// The sort column's field and whether it runs ascending.
    pub fn sort(&self) -> Result<(&'static str, &'static str, bool), ApiError> {
        let name = if self.sort.is_empty() {
            "started"
        } else {
            self.sort.as_str()
        };
        let (name, field, _) =
            SORTS
                .iter()
                .find(|(known, ..)| *known == name)
                .ok_or_else(|| {
                    ApiError::InvalidParameter(format!(
                        "sort: `{name}` is not a column; one of {}",
                        SORTS
                            .iter()
                            .map(|(known, ..)| *known)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?;
        let ascending = match self.order.as_str() {
            "" | "desc" => false,
            "asc" => true,
            other => {
                return Err(ApiError::InvalidParameter(format!(
                    "order: `{other}` is neither asc nor desc"
                )));
            }
        };
        Ok((name, field, ascending))
    }

    /// The bool query of the filters, as `POST /v1/calls/query` takes it.
    pub fn query(&self) -> Result<Value, ApiError> {
        let mut filter: Vec<Value> = TERMS
            .iter()
            .filter_map(|(name, field)| {
                let value = self.term_value(name).trim();
                (!value.is_empty()).then(|| json!({"term": {*field: value}}))
            })
            .collect();
        let (from, to) = (self.from.trim(), self.to.trim());
        if !from.is_empty() || !to.is_empty() {
            let mut range = serde_json::Map::new();
            if !from.is_empty() {
                range.insert("gte".into(), json!(from));
            }
            if !to.is_empty() {
                range.insert("lte".into(), json!(to));
            }
            filter.push(json!({"range": {"started_at": range}}));
        }
        let advanced = self.advanced.trim();
        if !advanced.is_empty() {
            let clause: Value = serde_json::from_str(advanced).map_err(|error| {
                ApiError::InvalidParameter(format!("advanced: not JSON: {error}"))
            })?;
            filter.push(as_clause(clause));
        }
        let q = self.q.trim();
        let must: Vec<Value> = if q.is_empty() {
            Vec::new()
        } else {
            vec![json!({"match": {"transcript.text": {"query": q, "operator": "and"}}})]
        };
        Ok(json!({"bool": {"filter": filter, "must": must}}))
    }

    /// The search of one page of the table: `size` calls after `after`, counted exactly,
    /// with the transcript's matching words marked when there are words to mark.
    pub fn page_request(&self, size: u32, limits: &Limits) -> Result<QueryRequest, ApiError> {
        let (_, field, ascending) = self.sort()?;
        let order = if ascending { "asc" } else { "desc" };
        let mut body = json!({
            "query": self.query()?,
            "sort": [{field: order}],
            "size": size,
            "track_total_hits": true,
        });
        let after = self.after.trim();
        if !after.is_empty() {
            body["search_after"] = serde_json::from_str(after).map_err(|error| {
                ApiError::InvalidParameter(format!("after: not a position: {error}"))
            })?;
        }
        if !self.q.trim().is_empty() {
            body["highlight"] = json!({
                "fields": {"transcript.text": {}},
                "pre_tags": ["<mark>"],
                "post_tags": ["</mark>"],
                "encoder": "html",
                "fragment_size": 160,
                "number_of_fragments": 1,
            });
        }
        parse(body, limits)
    }

    /// The URL pairs of the filters (without the position), for links that keep the view.
    pub fn pairs(&self) -> Vec<(&'static str, &str)> {
        let mut pairs: Vec<(&'static str, &str)> =
            vec![("from", self.from.as_str()), ("to", self.to.as_str())];
        pairs.extend(TERMS.iter().map(|(name, _)| (*name, self.term_value(name))));
        pairs.extend([("q", self.q.as_str()), ("advanced", self.advanced.as_str())]);
        pairs
    }

    /// The pairs with the sort too: the view, from its first page.
    pub fn view_pairs(&self) -> Vec<(&'static str, &str)> {
        let mut pairs = self.pairs();
        pairs.extend([("sort", self.sort.as_str()), ("order", self.order.as_str())]);
        pairs
    }
}

/// Seed 001's bare `{"must": …}` form is a bool query without its `bool`: nested inside
/// the filters it needs the wrapper.
fn as_clause(clause: Value) -> Value {
    const BOOL_KEYS: [&str; 5] = [
        "must",
        "should",
        "filter",
        "must_not",
        "minimum_should_match",
    ];
    match clause {
        Value::Object(map)
            if !map.is_empty() && map.keys().all(|key| BOOL_KEYS.contains(&key.as_str())) =>
        {
            json!({"bool": map})
        }
        other => other,
    }
}

/// Parses a query body exactly as `POST /v1/calls/query` does.
pub(crate) fn parse(body: Value, limits: &Limits) -> Result<QueryRequest, ApiError> {
    let body: QueryBody = serde_json::from_value(body)
        .map_err(|error| ApiError::InvalidParameter(format!("query: {error}")))?;
    body.into_request(limits)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The filters of a URL's query string, as the page's extractor reads them.
    fn filters(pairs: &[(&'static str, &str)]) -> CallFilters {
        let query = super::super::layout::query_string(pairs.iter().copied());
        let uri: axum::http::Uri = format!("/calls{query}").parse().unwrap_or_default();
        axum::extract::Query::<CallFilters>::try_from_uri(&uri)
            .map(|axum::extract::Query(filters)| filters)
            .unwrap_or_else(|error| panic!("{error}"))
    }

    #[test]
    fn filters_become_one_bool_query() {
        let query = filters(&[
            ("agent", "agent_1"),
            ("status", "completed"),
            ("from", "2026-11-01"),
            ("q", "refund"),
            (
                "advanced",
                r#"{"must": [{"term": {"direction": "inbound"}}]}"#,
            ),
        ])
        .query()
        .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(
            query,
            json!({"bool": {
                "filter": [
                    {"term": {"agent.id": "agent_1"}},
                    {"term": {"status": "completed"}},
                    {"range": {"started_at": {"gte": "2026-11-01"}}},
                    {"bool": {"must": [{"term": {"direction": "inbound"}}]}},
                ],
                "must": [{"match": {"transcript.text": {"query": "refund", "operator": "and"}}}],
            }})
        );
    }

    #[test]
    fn the_pages_search_goes_through_the_apis_parser() {
        let limits = Limits::default();
        let Ok(request) = filters(&[("q", "refund"), ("sort", "cost"), ("order", "asc")])
            .page_request(50, &limits)
        else {
            panic!("a valid view");
        };
        assert_eq!(request.search.limit, 50);
        assert!(request.search.highlight.is_some());
        let bad =
            filters(&[("advanced", r#"{"match": {"agent.id": "x"}}"#)]).page_request(50, &limits);
        let Err(error) = bad else {
            panic!("match on a keyword field is refused");
        };
        assert!(error.to_string().contains("term"), "{error}");
        let Err(error) = filters(&[("advanced", "{nope")]).page_request(50, &limits) else {
            panic!("not JSON");
        };
        assert!(
            error.to_string().starts_with("advanced: not JSON"),
            "{error}"
        );
        let Err(error) = filters(&[("sort", "colour")]).page_request(50, &limits) else {
            panic!("unknown column");
        };
        assert!(error.to_string().contains("`colour`"), "{error}");
    }
}
