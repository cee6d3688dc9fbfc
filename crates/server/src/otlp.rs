//! `POST /v1/traces`: the OTLP/HTTP trace receiver (opentelemetry-proto's
//! `docs/specification.md`), so a runtime's standard exporter sends its conversations here
//! with no code of ours on its side (`OTEL_EXPORTER_OTLP_ENDPOINT=https://callscope…`,
//! `OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer cs_…"`).
//!
//! Protobuf and JSON bodies, gzip or not. The answer is an `ExportTraceServiceResponse` in
//! the request's encoding, with `partial_success` only when spans were refused; a failure
//! is a `google.rpc.Status` in that encoding, as the specification asks (not the
//! `{"error", "code"}` body of the other routes, which no exporter reads). Exporters retry
//! 408 and 5xx but not 429, so a key over its rate, like a server at its bound on exports,
//! gets 503 with `Retry-After`.
//!
//! The spans go to the store whole; the call of each trace is derived there, inside the
//! write, from all of the trace's spans (`callscope_otel::derive_call`), by the builder
//! [`trace_builder`] that the idle sweeper (`lifecycle/traces.rs`) uses too.

use crate::AppState;
use crate::error::ApiError;
use crate::extract::Caller;
use crate::livekit::LiveKitKeys;
use crate::openapi::Binary;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use callscope_analysis::PriceTable;
use callscope_model::{Scope, Timestamp, ValidationError};
use callscope_otel::{Encoding, TraceInput, TraceSpan, count_metrics, decode, derive_call};
use callscope_query::limit_note;
use callscope_store::{SpanRecord, TraceBuilder};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceResponse,
};
use prost::Message;
use std::io::Read;
use std::time::Duration;
use tokio::sync::Semaphore;

/// The JSON form of `ExportTraceServiceResponse` (OTLP/JSON: lowerCamelCase, `int64` as a
/// string, fields at their defaults left out).
pub(crate) struct ExportAnswer;

impl utoipa::PartialSchema for ExportAnswer {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::openapi::schema_of(serde_json::json!({
            "type": "object",
            "properties": {"partialSuccess": {
                "type": "object",
                "properties": {
                    "rejectedSpans": {"type": ["string", "integer"]},
                    "errorMessage": {"type": "string"}
                }
            }}
        }))
    }
}

impl utoipa::ToSchema for ExportAnswer {}

/// A failed export: a `google.rpc.Status`, or the `{"error", "code"}` body when a bound in
/// front of every route (the body limit, the bound on requests at once) refused it first.
pub(crate) struct OtlpFailure;

impl utoipa::PartialSchema for OtlpFailure {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::openapi::schema_of(serde_json::json!({"oneOf": [
            {"$ref": "#/components/schemas/RpcStatus"},
            {"$ref": "#/components/schemas/ErrorBody"}
        ]}))
    }
}

impl utoipa::ToSchema for OtlpFailure {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        use utoipa::PartialSchema;
        schemas.push(("RpcStatus".into(), RpcStatus::schema()));
    }
}

/// The refusals of a body every OTLP route gives, in the request's encoding.
pub(crate) struct OtlpRefusals;

impl utoipa::IntoResponses for OtlpRefusals {
    fn responses()
    -> std::collections::BTreeMap<String, utoipa::openapi::RefOr<utoipa::openapi::Response>> {
        otlp_failures(&[
            ("400", "The body is not an export request"),
            (
                "413",
                "The body, decompressed, is over `otlp_max_decompressed_bytes`",
            ),
            (
                "415",
                "`Content-Type` is neither `application/x-protobuf` nor `application/json`, or \
                 the `Content-Encoding` is not gzip",
            ),
        ])
    }
}

/// OTLP failure answers by status: a `google.rpc.Status` as protobuf or as JSON.
pub(crate) fn otlp_failures(
    table: &[(&str, &str)],
) -> std::collections::BTreeMap<String, utoipa::openapi::RefOr<utoipa::openapi::Response>> {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    use utoipa::{PartialSchema, ToSchema};
    table
        .iter()
        .map(|(status, description)| {
            let response = ResponseBuilder::new()
                .description(*description)
                .content(
                    "application/x-protobuf",
                    ContentBuilder::new()
                        .schema(Some(crate::openapi::Binary::schema()))
                        .build(),
                )
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name(OtlpFailure::name())))
                        .build(),
                )
                .into();
            ((*status).to_owned(), response)
        })
        .collect()
}

/// Settings of the OTLP receiver.
#[derive(Clone, Debug)]
pub struct OtlpSettings {
    /// Largest export body once decompressed; larger ones get 413 naming this limit.
    pub max_decompressed_bytes: usize,
    /// Most exports decoded and stored at once; past it an export gets 503 with
    /// `Retry-After`, which exporters retry.
    pub max_concurrent_exports: usize,
    /// A trace whose root span has not come after this long without any span is closed,
    /// its call ended with `disconnection_reason: timeout`.
    pub idle_timeout: Duration,
    /// The LiveKit projects whose agents may send to `/observability` (`livekit.rs`).
    pub livekit_keys: LiveKitKeys,
}

impl Default for OtlpSettings {
    fn default() -> Self {
        Self {
            max_decompressed_bytes: 32 * 1024 * 1024,
            max_concurrent_exports: 8,
            idle_timeout: Duration::from_secs(300),
            livekit_keys: LiveKitKeys::default(),
        }
    }
}

/// Whether `request` is a trace export: its body may be as large as the decompressed
/// limit, since exporters send uncompressed by default and a batch of LLM spans carries
/// whole prompts.
pub(crate) fn is_export(request: &axum::extract::Request) -> bool {
    request.method() == axum::http::Method::POST
        && (request
            .extensions()
            .get::<axum::extract::MatchedPath>()
            .is_some_and(|path| path.as_str() == "/v1/traces")
            || crate::livekit::is_export(request))
}

/// The slots behind `max_concurrent_exports`.
#[derive(Debug)]
pub(crate) struct ExportSlots(Semaphore);

impl ExportSlots {
    pub(crate) fn new(settings: &OtlpSettings) -> Self {
        Self(Semaphore::new(settings.max_concurrent_exports))
    }
}

/// Most refusal reasons quoted in `partial_success.error_message`.
const REASONS_QUOTED: usize = 5;

/// A refused export, answered as a `google.rpc.Status` in the request's encoding.
struct Refusal {
    encoding: Encoding,
    error: ApiError,
}

/// `google.rpc.Status` (googleapis `google/rpc/status.proto`), without `details`.
#[derive(Clone, PartialEq, prost::Message, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (status, retry_after) = match &self.error {
            // An exporter drops what it got 429 for: make it come back instead.
            ApiError::RateLimited { retry_after, .. } => {
                (StatusCode::SERVICE_UNAVAILABLE, Some(*retry_after))
            }
            ApiError::Unavailable { retry_after, .. } => {
                (StatusCode::SERVICE_UNAVAILABLE, Some(*retry_after))
            }
            other => (other.status_and_code().0, None),
        };
        // gRPC's codes for the same failures.
        let code = match status {
            StatusCode::BAD_REQUEST | StatusCode::UNSUPPORTED_MEDIA_TYPE => 3,
            StatusCode::UNAUTHORIZED => 16,
            StatusCode::FORBIDDEN => 7,
            StatusCode::NOT_FOUND => 5,
            StatusCode::PAYLOAD_TOO_LARGE => 8,
            StatusCode::SERVICE_UNAVAILABLE => 14,
            _ => 13,
        };
        let body = RpcStatus {
            code,
            message: self.error.public_message(),
        };
        let mut response = encoded(self.encoding, status, &body, |status| {
            serde_json::to_string(status).unwrap_or_default()
        });
        if let Some(wait) = retry_after {
            let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

/// `message` as the body of an answer with `status`, in `encoding`.
fn encoded<M: Message>(
    encoding: Encoding,
    status: StatusCode,
    message: &M,
    as_json: impl Fn(&M) -> String,
) -> Response {
    let (content_type, bytes) = match encoding {
        Encoding::Protobuf => ("application/x-protobuf", message.encode_to_vec()),
        Encoding::Json => ("application/json", as_json(message).into_bytes()),
    };
    (status, [(header::CONTENT_TYPE, content_type)], bytes).into_response()
}

/// The encoding a `Content-Type` names, parameters aside.
fn encoding_of(headers: &HeaderMap) -> Result<Encoding, Refusal> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let media = content_type.split(';').next().unwrap_or_default().trim();
    if media.eq_ignore_ascii_case("application/x-protobuf") {
        Ok(Encoding::Protobuf)
    } else if media.eq_ignore_ascii_case("application/json") {
        Ok(Encoding::Json)
    } else {
        Err(Refusal {
            encoding: Encoding::Protobuf,
            error: ApiError::UnsupportedMediaType(format!(
                "Content-Type must be application/x-protobuf or application/json, not `{}`",
                media.chars().take(100).collect::<String>()
            )),
        })
    }
}

/// The body, decompressed as its `Content-Encoding` says, at most `limit` bytes of it.
fn decompressed(headers: &HeaderMap, body: Bytes, limit: usize) -> Result<Bytes, ApiError> {
    let coding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("identity")
        .trim();
    let too_large = || {
        ApiError::PayloadTooLarge(format!(
            "the export is larger than {limit} bytes once decompressed {}",
            limit_note("otlp_max_decompressed_bytes", limit)
        ))
    };
    if coding.eq_ignore_ascii_case("identity") || coding.is_empty() {
        return if body.len() > limit {
            Err(too_large())
        } else {
            Ok(body)
        };
    }
    if !coding.eq_ignore_ascii_case("gzip") {
        return Err(ApiError::UnsupportedMediaType(format!(
            "Content-Encoding must be gzip or absent, not `{}`",
            coding.chars().take(40).collect::<String>()
        )));
    }
    let mut inflated = Vec::new();
    let read = flate2::read::GzDecoder::new(body.as_ref())
        .take(limit as u64 + 1)
        .read_to_end(&mut inflated)
        .map_err(|e| ApiError::InvalidParameter(format!("the gzip body cannot be read: {e}")))?;
    if read > limit {
        return Err(too_large());
    }
    Ok(Bytes::from(inflated))
}

/// The builder that makes a trace's call from its stored spans, for `org`.
pub(crate) fn trace_builder(org: &str, prices: PriceTable) -> TraceBuilder {
    let org = org.to_owned();
    Box::new(move |state| {
        let spans = state
            .spans
            .iter()
            .map(|doc| serde_json::from_str::<TraceSpan>(doc))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                ValidationError::new("spans", format!("a stored span is unreadable: {e}"))
            })?;
        derive_call(&TraceInput {
            organization_id: &org,
            trace_id: state.trace_id,
            call_id: state.call_id,
            spans: &spans,
            existing: state.existing,
            idle_closed: state.idle_closed,
            now: Timestamp::now(),
            prices: &prices,
        })
    })
}

/// Receives OpenTelemetry traces (OTLP/HTTP) and makes calls of them.
///
/// Point a runtime's standard OTLP exporter here (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`,
/// with `Authorization=Bearer <key>` in `OTEL_EXPORTER_OTLP_HEADERS`): Pipecat's and LiveKit
/// Agents' conversation spans become calls with their transcript, latency and usage.
/// Protobuf or JSON, gzip or not. Failures are a `google.rpc.Status` in the request's
/// encoding, as OTLP asks; a key over its rate gets 503 (exporters retry it, not 429).
/// Needs the `write` scope.
#[utoipa::path(
    post,
    path = "/traces",
    tag = "ingest",
    operation_id = "export_traces",
    request_body(
        description = "An `ExportTraceServiceRequest`",
        content(
            (Binary = "application/x-protobuf"),
            (Object = "application/json"),
        ),
    ),
    responses(
        (status = 200, description = "An `ExportTraceServiceResponse`, with `partialSuccess` when spans were refused", content(
            (Binary = "application/x-protobuf"),
            (ExportAnswer = "application/json"),
        )),
        OtlpRefusals,
        (status = 401, description = "No key, an unknown key or a revoked key", content((Binary = "application/x-protobuf"), (OtlpFailure = "application/json"))),
        (status = 403, description = "The key lacks the `write` scope", content((Binary = "application/x-protobuf"), (OtlpFailure = "application/json"))),
        (status = 503, description = "The key is over its rate or the server at its bound on exports; `Retry-After` says when", content((Binary = "application/x-protobuf"), (OtlpFailure = "application/json"))),
    ),
)]
pub async fn export_traces(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Result<Caller, ApiError>,
    body: Bytes,
) -> Response {
    receive_traces(&state, &headers, caller, body).await
}

/// A trace export from `caller` (an API key's, or a LiveKit agent's): stored, and answered
/// as OTLP asks.
pub(crate) async fn receive_traces(
    state: &AppState,
    headers: &HeaderMap,
    caller: Result<Caller, ApiError>,
    body: Bytes,
) -> Response {
    let encoding = match encoding_of(headers) {
        Ok(encoding) => encoding,
        Err(refusal) => return refusal.into_response(),
    };
    match export(state, headers, caller, body, encoding).await {
        Ok(response) => response,
        Err(error) => Refusal { encoding, error }.into_response(),
    }
}

/// An export of a signal besides traces from `caller`: decompressed and handed to `consume`
/// with its encoding, and answered with an empty `Export…ServiceResponse` (no field set,
/// whichever the signal) or a `google.rpc.Status`.
pub(crate) async fn receive_other<F, Fut>(
    state: &AppState,
    headers: &HeaderMap,
    caller: Result<Caller, ApiError>,
    body: Bytes,
    consume: F,
) -> Response
where
    F: FnOnce(Caller, Bytes, Encoding) -> Fut,
    Fut: std::future::Future<Output = Result<(), ApiError>>,
{
    let encoding = match encoding_of(headers) {
        Ok(encoding) => encoding,
        Err(refusal) => return refusal.into_response(),
    };
    let consumed = async {
        let caller = caller?;
        caller.require(Scope::Write)?;
        let body = decompressed(headers, body, state.config.otlp.max_decompressed_bytes)?;
        consume(caller, body, encoding).await
    };
    match consumed.await {
        Ok(()) => encoded(encoding, StatusCode::OK, &RpcStatus::default(), |_| {
            "{}".to_owned()
        }),
        Err(error) => Refusal { encoding, error }.into_response(),
    }
}

/// A metrics export: checked and counted; nothing of it is kept
/// (`callscope_otel::count_metrics` says why).
pub(crate) async fn acknowledge_metrics(
    state: &AppState,
    headers: &HeaderMap,
    caller: Result<Caller, ApiError>,
    body: Bytes,
) -> Response {
    receive_other(
        state,
        headers,
        caller,
        body,
        |_, body, encoding| async move {
            count_metrics(&body, encoding)
                .map(drop)
                .map_err(|e| ApiError::InvalidParameter(e.0))
        },
    )
    .await
}

async fn export(
    state: &AppState,
    headers: &HeaderMap,
    caller: Result<Caller, ApiError>,
    body: Bytes,
    encoding: Encoding,
) -> Result<Response, ApiError> {
    let caller = caller?;
    caller.require(Scope::Write)?;
    let settings = &state.config.otlp;
    let _slot = state.export_slots.0.try_acquire().map_err(|_| {
        ApiError::overloaded(format!(
            "{} exports are being stored {}; try again shortly",
            settings.max_concurrent_exports,
            limit_note(
                "otlp_max_concurrent_exports",
                settings.max_concurrent_exports
            )
        ))
    })?;
    let body = decompressed(headers, body, settings.max_decompressed_bytes)?;
    let batch = decode(&body, encoding).map_err(|e| ApiError::InvalidParameter(e.0))?;
    let mut reasons = batch.refused;
    let records = batch
        .spans
        .iter()
        .map(|span| {
            Ok(SpanRecord {
                trace_id: span.trace_id.clone(),
                span_id: span.span_id.clone(),
                doc: serde_json::to_string(span)?,
            })
        })
        .collect::<Result<Vec<_>, serde_json::Error>>()
        .map_err(|e| ApiError::Internal(format!("serializing a span: {e}")))?;
    let organization = caller.organization();
    let mut rejected = reasons.len();
    if !records.is_empty() {
        let builder = trace_builder(organization, state.config.prices.clone());
        let ingested = state
            .store
            .ingest_spans(organization, records, builder)
            .await?;
        for refused in ingested.refused {
            rejected += refused.spans;
            reasons.push(format!("trace {}: {}", refused.trace_id, refused.reason));
        }
        state.signals.wake();
    }
    let partial_success = (rejected > 0).then(|| {
        let mut message = reasons
            .iter()
            .take(REASONS_QUOTED)
            .cloned()
            .collect::<Vec<_>>()
            .join("; ");
        if reasons.len() > REASONS_QUOTED {
            message.push_str(&format!("; and {} more", reasons.len() - REASONS_QUOTED));
        }
        ExportTracePartialSuccess {
            rejected_spans: i64::try_from(rejected).unwrap_or(i64::MAX),
            error_message: message,
        }
    });
    let answer = ExportTraceServiceResponse { partial_success };
    Ok(encoded(encoding, StatusCode::OK, &answer, |answer| {
        match &answer.partial_success {
            // Fields left at their defaults are left out, as OTLP/JSON asks.
            None => "{}".to_owned(),
            Some(_) => serde_json::to_string(answer).unwrap_or_else(|_| "{}".to_owned()),
        }
    }))
}
