//! `/observability/*`: what LiveKit Agents sends to LiveKit Cloud when
//! `LIVEKIT_OBSERVABILITY_URL` names this server instead (`livekit/agents/telemetry/
//! traces.py`: `_setup_cloud_tracer`, `_upload_session_report`), so an agent lands here with
//! its trace, transcript and recording and no code.
//!
//! - `traces/otlp/v0`: OTLP/HTTP traces, stored as `/v1/traces` stores them.
//! - `logs/otlp/v0`, `metrics/otlp/v0`: checked and acknowledged, not kept. The chat history
//!   the logs repeat comes whole in the recording upload, the metrics come from the spans,
//!   and the other log records are the agent process's own log lines.
//! - `recordings/v0`: the session report, a multipart upload of `header`
//!   (`MetricsRecordingHeader`), `chat_history` (`chat_history.json`) and `audio`
//!   (`recording.ogg`): the call of the session's job gets the transcript if its trace gave
//!   none, and the audio as its mono recording (`callscope_otel::report_call`).
//!
//! Each request carries a LiveKit access token (`Authorization: Bearer <JWT>`, HS256, `iss`
//! the API key, an `observability.write` grant) minted from `LIVEKIT_API_KEY` and
//! `LIVEKIT_API_SECRET`; the key must be one configured for an organization
//! (`--livekit-key ORG=API_KEY:API_SECRET`), and the token is verified with its secret.

use crate::AppState;
use crate::error::ApiError;
use crate::error::ErrorBody;
use crate::extract::Caller;
use crate::openapi::Binary;
use crate::otlp::{ExportAnswer, OtlpRefusals};
use crate::recordings::{self, Channels};
use crate::request_log::RequestOwner;
use axum::body::Bytes;
use axum::body::{Body, BodyDataStream};
use axum::extract::multipart::{Field, Multipart};
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use callscope_model::{Scope, Timestamp};
use callscope_otel::{RecordingHeader, ReportedUsage, SessionReport};
use callscope_store::{Principal, WriteMode};
use hmac::Mac;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Largest `header` part: the protobuf is a few hundred bytes.
const MAX_HEADER_BYTES: usize = 64 * 1024;
/// How far a token's `exp` and `nbf` may be off this server's clock, in seconds (the
/// LiveKit SDKs' own verifiers allow the same).
const CLOCK_LEEWAY_SECS: i64 = 60;

/// One organization's LiveKit project credentials.
#[derive(Clone)]
struct ProjectKey {
    organization_id: String,
    secret: Vec<u8>,
}

/// The LiveKit API keys each organization's agents sign with, by API key.
#[derive(Clone, Default)]
pub struct LiveKitKeys(HashMap<String, ProjectKey>);

impl std::fmt::Debug for LiveKitKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys and organizations, never secrets.
        f.debug_map()
            .entries(self.0.iter().map(|(key, p)| (key, &p.organization_id)))
            .finish()
    }
}

impl LiveKitKeys {
    /// From `ORG=API_KEY:API_SECRET` entries; an API key given twice is refused, since a
    /// token must name one organization.
    pub fn parse<'a>(entries: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        let mut keys = HashMap::new();
        for entry in entries {
            let (org, credentials) = entry
                .split_once('=')
                .ok_or("a LiveKit key is ORG=API_KEY:API_SECRET: the `=` is missing")?;
            let (api_key, secret) = credentials
                .split_once(':')
                .ok_or("a LiveKit key is ORG=API_KEY:API_SECRET: the `:` is missing")?;
            let (org, api_key) = (org.trim(), api_key.trim());
            callscope_model::validate_id("organization", org).map_err(|e| e.to_string())?;
            if api_key.is_empty() || secret.is_empty() {
                return Err("a LiveKit key needs both an API key and its secret".into());
            }
            let project = ProjectKey {
                organization_id: org.to_owned(),
                secret: secret.as_bytes().to_vec(),
            };
            if keys.insert(api_key.to_owned(), project).is_some() {
                return Err(format!("the LiveKit API key `{api_key}` is given twice"));
            }
        }
        Ok(Self(keys))
    }

    /// The principal a LiveKit access token stands for, or why it stands for none.
    fn verify(&self, token: &str, now_unix: i64) -> Result<Principal, ApiError> {
        let mut parts = token.split('.');
        let (Some(head), Some(body), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(ApiError::Unauthorized);
        };
        let json_part = |part: &str| -> Result<Value, ApiError> {
            let bytes = URL_SAFE_NO_PAD
                .decode(part)
                .map_err(|_| ApiError::Unauthorized)?;
            serde_json::from_slice(&bytes).map_err(|_| ApiError::Unauthorized)
        };
        // Only the algorithm LiveKit signs with: never `none`, never one the token picks.
        if json_part(head)?["alg"] != "HS256" {
            return Err(ApiError::Unauthorized);
        }
        let claims = json_part(body)?;
        let api_key = claims["iss"].as_str().ok_or(ApiError::Unauthorized)?;
        let project = self.0.get(api_key).ok_or(ApiError::Unauthorized)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| ApiError::Unauthorized)?;
        let mut mac = crate::signing::hmac_sha256(&project.secret);
        mac.update(head.as_bytes());
        mac.update(b".");
        mac.update(body.as_bytes());
        mac.verify_slice(&signature)
            .map_err(|_| ApiError::Unauthorized)?;
        let expires = claims["exp"].as_i64().ok_or(ApiError::Unauthorized)?;
        if expires + CLOCK_LEEWAY_SECS < now_unix {
            return Err(ApiError::Unauthorized);
        }
        if claims["nbf"]
            .as_i64()
            .is_some_and(|nbf| nbf - CLOCK_LEEWAY_SECS > now_unix)
        {
            return Err(ApiError::Unauthorized);
        }
        if claims["observability"]["write"] != true {
            return Err(ApiError::Forbidden(
                "this LiveKit token lacks the observability write grant".into(),
            ));
        }
        Ok(Principal {
            organization_id: project.organization_id.clone(),
            key_id: format!("livekit:{api_key}"),
            scopes: vec![Scope::Write],
        })
    }
}

/// A request signed with a configured LiveKit project's token, as the write-scoped caller of
/// its organization.
#[derive(Debug)]
pub struct LiveKitAgent(Caller);

impl FromRequestParts<AppState> for LiveKitAgent {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .ok_or(ApiError::Unauthorized)?;
        let principal = state
            .config
            .otlp
            .livekit_keys
            .verify(token, Timestamp::now().as_millis() / 1_000)?;
        if let Some(owner) = parts.extensions.get::<RequestOwner>() {
            owner.set(&principal.organization_id, &principal.key_id);
        }
        state
            .guards
            .take_token(&principal.organization_id, &principal.key_id)?;
        Ok(Self(Caller(principal)))
    }
}

/// Whether `request` is one of the OTLP exports of this surface.
pub(crate) fn is_export(request: &axum::extract::Request) -> bool {
    matches!(
        request
            .extensions()
            .get::<axum::extract::MatchedPath>()
            .map(axum::extract::MatchedPath::as_str),
        Some(
            "/observability/traces/otlp/v0"
                | "/observability/logs/otlp/v0"
                | "/observability/metrics/otlp/v0"
        )
    )
}

/// Whether `request` is the session report upload, streamed by its handler.
pub(crate) fn is_upload(request: &axum::extract::Request) -> bool {
    request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .is_some_and(|path| path.as_str() == "/observability/recordings/v0")
}

/// The refusals of a LiveKit agent's OTLP export before its body is read.
struct LiveKitRefusals;

impl utoipa::IntoResponses for LiveKitRefusals {
    fn responses()
    -> std::collections::BTreeMap<String, utoipa::openapi::RefOr<utoipa::openapi::Response>> {
        crate::otlp::otlp_failures(&[
            (
                "401",
                "No LiveKit access token, or one this server cannot verify",
            ),
            ("403", "The token lacks the `observability.write` grant"),
            (
                "503",
                "The server is at its bound on exports; `Retry-After` says when",
            ),
        ])
    }
}

/// Routes under `/observability`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(export_traces))
        .routes(routes!(export_logs))
        .routes(routes!(export_metrics))
        .routes(routes!(upload_report))
        // The OTLP limit and the recordings' own bound these instead (`is_export`,
        // `is_upload`).
        .layer(DefaultBodyLimit::disable())
}

/// Receives a LiveKit agent's traces, stored as `POST /v1/traces` stores them.
#[utoipa::path(
    post,
    path = "/traces/otlp/v0",
    tag = "observability",
    operation_id = "livekit_export_traces",
    security(("livekit" = [])),
    request_body(
        description = "An `ExportTraceServiceRequest`",
        content((Binary = "application/x-protobuf"), (Object = "application/json")),
    ),
    responses(
        (status = 200, description = "An `ExportTraceServiceResponse`", content((Binary = "application/x-protobuf"), (ExportAnswer = "application/json"))),
        OtlpRefusals,
        LiveKitRefusals,
    ),
)]
async fn export_traces(
    State(state): State<AppState>,
    headers: HeaderMap,
    agent: Result<LiveKitAgent, ApiError>,
    body: Bytes,
) -> Response {
    crate::otlp::receive_traces(&state, &headers, agent.map(|agent| agent.0), body).await
}

/// Receives a LiveKit agent's logs: only the session report's usage is kept.
///
/// Log records of the `chat_history` logger: the `session report` one's usage prices the
/// call; the others are the chat items the upload carries again, or the runtime's own log
/// lines, which may quote callers, and are kept nowhere.
#[utoipa::path(
    post,
    path = "/logs/otlp/v0",
    tag = "observability",
    operation_id = "livekit_export_logs",
    security(("livekit" = [])),
    request_body(
        description = "An `ExportLogsServiceRequest`",
        content((Binary = "application/x-protobuf"), (Object = "application/json")),
    ),
    responses(
        (status = 200, description = "An empty `ExportLogsServiceResponse`", content((Binary = "application/x-protobuf"), (Object = "application/json"))),
        OtlpRefusals,
        LiveKitRefusals,
    ),
)]
async fn export_logs(
    State(state): State<AppState>,
    headers: HeaderMap,
    agent: Result<LiveKitAgent, ApiError>,
    body: Bytes,
) -> Response {
    let caller = agent.map(|agent| agent.0);
    crate::otlp::receive_other(&state, &headers, caller, body, |caller, body, encoding| {
        let state = state.clone();
        async move {
            let reports = callscope_otel::reported_usage(&body, encoding)
                .map_err(|e| ApiError::InvalidParameter(e.0))?;
            for reported in reports {
                store_usage(&state, caller.organization(), reported).await?;
            }
            Ok(())
        }
    })
    .await
}

/// The session's reported usage in its call, which it makes if nothing else has yet.
async fn store_usage(state: &AppState, org: &str, reported: ReportedUsage) -> Result<(), ApiError> {
    let id = reported.job_id.clone();
    let (organization, prices) = (org.to_owned(), state.config.prices.clone());
    let builder: callscope_store::CallBuilder = Box::new(move |existing| {
        callscope_otel::with_reported_usage(
            existing,
            &reported,
            &organization,
            &prices,
            Timestamp::now(),
        )
    });
    state
        .store
        .write_call(org, &id, WriteMode::Upsert, builder)
        .await?;
    state.signals.wake();
    Ok(())
}

/// Receives a LiveKit agent's metrics: checked and acknowledged, not kept.
///
/// The metrics come again, whole, in the spans.
#[utoipa::path(
    post,
    path = "/metrics/otlp/v0",
    tag = "observability",
    operation_id = "livekit_export_metrics",
    security(("livekit" = [])),
    request_body(
        description = "An `ExportMetricsServiceRequest`",
        content((Binary = "application/x-protobuf"), (Object = "application/json")),
    ),
    responses(
        (status = 200, description = "An empty `ExportMetricsServiceResponse`", content((Binary = "application/x-protobuf"), (Object = "application/json"))),
        OtlpRefusals,
        LiveKitRefusals,
    ),
)]
async fn export_metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
    agent: Result<LiveKitAgent, ApiError>,
    body: Bytes,
) -> Response {
    crate::otlp::acknowledge_metrics(&state, &headers, agent.map(|agent| agent.0), body).await
}

/// The parts of a session report upload, as the reference shows them.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Read part by part from the multipart stream, never as this struct.
struct SessionReportUpload {
    /// `MetricsRecordingHeader`, protobuf.
    #[schema(value_type = String, format = Binary)]
    header: Vec<u8>,
    /// `chat_history.json`: the session's chat items.
    #[schema(value_type = String, format = Binary)]
    chat_history: Vec<u8>,
    /// `recording.ogg`.
    #[schema(value_type = String, format = Binary)]
    audio: Option<Vec<u8>>,
}

/// The answer of a session report upload.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct SessionReportStored {
    call_id: String,
    status: callscope_model::CallStatus,
    /// Lines in the call's transcript now.
    transcript_entries: usize,
    /// The recording stored from `audio`, if there was one.
    recording: Option<recordings::StoredRecording>,
}

/// The parts of a report upload, the audio already on disk.
#[derive(Default)]
struct ReportParts {
    header: Option<RecordingHeader>,
    chat_history: Option<Value>,
    audio: Option<recordings::ReceivedAudio>,
}

/// Receives a LiveKit session report: its transcript and recording go to the call.
///
/// A multipart upload of `header` (`MetricsRecordingHeader`, protobuf), `chat_history`
/// (`chat_history.json`) and `audio` (`recording.ogg`), as LiveKit Agents uploads it at the
/// end of a session. The call of the session's job gets the transcript if its trace gave
/// none, and the audio as its mono recording.
#[utoipa::path(
    post,
    path = "/recordings/v0",
    tag = "observability",
    operation_id = "livekit_upload_report",
    security(("livekit" = [])),
    request_body(content = SessionReportUpload, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "What the call holds now", body = SessionReportStored),
        (status = 400, description = "Not a multipart session report, or a part is unreadable", body = ErrorBody),
        (status = 401, description = "No LiveKit access token, or one this server cannot verify", body = ErrorBody),
        (status = 403, description = "The token lacks the `observability.write` grant", body = ErrorBody),
        (status = 404, description = "This server keeps no recordings", body = ErrorBody),
    ),
)]
async fn upload_report(
    State(state): State<AppState>,
    agent: Result<LiveKitAgent, ApiError>,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    let LiveKitAgent(caller) = agent?;
    caller.require(Scope::Write)?;
    let org = caller.organization().to_owned();
    // The body is shared with the multipart reader so that what it leaves unread can still
    // be drained after a refusal.
    let (head, body) = request.into_parts();
    let body = SharedBody(Arc::new(Mutex::new(body.into_data_stream())));
    let request = axum::extract::Request::from_parts(head, Body::from_stream(body.clone()));
    let mut parts = ReportParts::default();
    let stored = match Multipart::from_request(request, &state).await {
        Ok(mut multipart) => match read_parts(&state, &mut multipart, &mut parts).await {
            Ok(()) => store_report(&state, &org, &mut parts).await,
            Err(error) => Err(error),
        },
        Err(rejection) => Err(ApiError::InvalidParameter(format!(
            "the session report must be multipart/form-data: {}",
            rejection.body_text()
        ))),
    };
    if stored.is_err() {
        body.drain().await;
    }
    // Audio not taken into the call's folder is not kept.
    if let Some(audio) = parts.audio.take() {
        audio.discard().await;
    }
    stored
}

/// A request body that two readers take turns at.
#[derive(Clone)]
struct SharedBody(Arc<Mutex<BodyDataStream>>);

impl futures_util::Stream for SharedBody {
    type Item = Result<Bytes, axum::Error>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        context: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        match self.0.lock() {
            Ok(mut stream) => std::pin::Pin::new(&mut *stream).poll_next(context),
            Err(_) => std::task::Poll::Ready(None),
        }
    }
}

impl SharedBody {
    /// Reads what is left of the body, up to [`MAX_DRAINED_BYTES`], keeping nothing.
    async fn drain(mut self) {
        let mut drained = 0;
        while let Some(Ok(chunk)) = futures_util::StreamExt::next(&mut self).await {
            drained += chunk.len();
            if drained > MAX_DRAINED_BYTES {
                return;
            }
        }
    }
}

/// Most bytes of an upload read past after its refusal, so that the agent, still sending,
/// reads the answer instead of a broken connection; past this the connection is closed.
const MAX_DRAINED_BYTES: usize = 16 << 20;

async fn read_parts(
    state: &AppState,
    multipart: &mut Multipart,
    parts: &mut ReportParts,
) -> Result<(), ApiError> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        ApiError::InvalidParameter(format!("cannot read the session report: {}", e.body_text()))
    };
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        match field.name() {
            Some("header") => {
                let bytes =
                    small_part(field, "header", MAX_HEADER_BYTES, "max_header_part_bytes").await?;
                parts.header = Some(
                    RecordingHeader::decode_part(&bytes)
                        .map_err(|e| ApiError::InvalidParameter(e.to_string()))?,
                );
            }
            Some("chat_history") => {
                let limit = state.config.max_body_bytes;
                let bytes = small_part(field, "chat_history", limit, "max_body_bytes").await?;
                let history: Value = serde_json::from_slice(&bytes).map_err(|e| {
                    ApiError::InvalidParameter(format!("chat_history: not JSON: {e}"))
                })?;
                if !history["items"].is_array() {
                    return Err(ApiError::InvalidParameter(
                        "chat_history: `items` must be an array".into(),
                    ));
                }
                parts.chat_history = Some(history);
            }
            Some("audio") => {
                if let Some(earlier) = parts.audio.take() {
                    earlier.discard().await;
                }
                parts.audio = Some(recordings::receive_audio(state, field).await?);
            }
            // Parts a later release may add are read past, not refused.
            _ => {}
        }
    }
    Ok(())
}

/// A part read whole, refused past `limit` bytes (the limit named `name`).
async fn small_part(
    mut field: Field<'_>,
    part: &str,
    limit: usize,
    name: &str,
) -> Result<Vec<u8>, ApiError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| {
        ApiError::InvalidParameter(format!("cannot read the `{part}` part: {}", e.body_text()))
    })? {
        if bytes.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge(format!(
                "the `{part}` part is larger than {limit} bytes {}",
                callscope_query::limit_note(name, limit)
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// Writes the report's call, then moves its audio in as the mono recording.
async fn store_report(
    state: &AppState,
    org: &str,
    parts: &mut ReportParts,
) -> Result<Response, ApiError> {
    let header = parts.header.as_ref().ok_or_else(|| {
        ApiError::InvalidParameter("the session report has no `header` part".into())
    })?;
    let report = callscope_otel::report_call(&SessionReport {
        organization_id: org,
        header,
        chat_history: parts.chat_history.as_ref(),
        now: Timestamp::now(),
    })
    .map_err(|e| ApiError::InvalidParameter(e.to_string()))?;
    let id = header.job_id.clone();
    let builder: callscope_store::CallBuilder = Box::new(move |existing| {
        Ok(match existing {
            Some(existing) => {
                let mut call = callscope_otel::complete_with_report(existing, report);
                call.updated_at = Timestamp::now();
                call
            }
            None => report,
        })
    });
    let written = state
        .store
        .write_call(org, &id, WriteMode::Upsert, builder)
        .await?;
    state.signals.wake();
    // LiveKit's recorder writes the caller on the left and the agent on the right
    // (`voice/recorder_io`): that is a dual recording, as a stereo telephony one is.
    let recording = match parts.audio.take() {
        Some(audio) => {
            let channels = if audio.channels == Some(2) {
                Channels::Dual
            } else {
                Channels::Mono
            };
            Some(recordings::attach(state, org, &id, channels, audio).await?)
        }
        None => None,
    };
    Ok(axum::Json(SessionReportStored {
        call_id: id,
        status: written.call.status,
        transcript_entries: written.call.transcript.len(),
        recording,
    })
    .into_response())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECRET: &str = "a-livekit-api-secret-of-some-length";

    /// A token as `livekit.api.AccessToken().to_jwt()` makes it, signed independently of
    /// the verifier (the MAC is computed here from the RFC 7519 rule).
    fn token(header: &Value, claims: &Value, secret: &str) -> String {
        let head = URL_SAFE_NO_PAD.encode(header.to_string());
        let body = URL_SAFE_NO_PAD.encode(claims.to_string());
        let mut mac = crate::signing::hmac_sha256(secret.as_bytes());
        mac.update(format!("{head}.{body}").as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{head}.{body}.{signature}")
    }

    fn claims(now: i64) -> Value {
        json!({"observability": {"write": true}, "sub": "", "iss": "APIkey1", "nbf": now, "exp": now + 21_600})
    }

    fn keys() -> LiveKitKeys {
        LiveKitKeys::parse([
            format!("acme=APIkey1:{SECRET}").as_str(),
            "globex=APIkey2:other",
        ])
        .unwrap()
    }

    const NOW: i64 = 1_796_000_000;

    #[test]
    fn a_token_of_a_configured_key_is_its_organizations_writer() {
        let hs256 = json!({"alg": "HS256", "typ": "JWT"});
        let principal = keys()
            .verify(&token(&hs256, &claims(NOW), SECRET), NOW)
            .unwrap();
        assert_eq!(principal.organization_id, "acme");
        assert_eq!(principal.scopes, vec![Scope::Write]);
    }

    #[test]
    fn forged_expired_unsigned_and_ungranted_tokens_are_refused() {
        let hs256 = json!({"alg": "HS256", "typ": "JWT"});
        let keys = keys();
        let refused = |token: String| keys.verify(&token, NOW).unwrap_err();
        assert!(matches!(
            refused(token(&hs256, &claims(NOW), "wrong")),
            ApiError::Unauthorized
        ));
        assert!(matches!(
            refused(token(&hs256, &claims(NOW - 30_000), SECRET)),
            ApiError::Unauthorized
        ));
        assert!(matches!(
            refused(token(&hs256, &claims(NOW + 3_600), SECRET)),
            ApiError::Unauthorized
        ));
        let none = json!({"alg": "none"});
        let unsigned = token(&none, &claims(NOW), SECRET);
        let (signed_part, _) = unsigned.rsplit_once('.').unwrap();
        assert!(matches!(
            refused(format!("{signed_part}.")),
            ApiError::Unauthorized
        ));
        assert!(matches!(refused(unsigned), ApiError::Unauthorized));
        let mut other_key = claims(NOW);
        other_key["iss"] = json!("APIunknown");
        assert!(matches!(
            refused(token(&hs256, &other_key, SECRET)),
            ApiError::Unauthorized
        ));
        let mut ungranted = claims(NOW);
        ungranted["observability"] = json!({"write": false});
        assert!(matches!(
            refused(token(&hs256, &ungranted, SECRET)),
            ApiError::Forbidden(_)
        ));
        assert!(matches!(
            refused("not.a.jwt.at-all".into()),
            ApiError::Unauthorized
        ));
    }

    #[test]
    fn keys_are_parsed_strictly_and_never_printed_with_secrets() {
        assert!(LiveKitKeys::parse(["acme=APIkey1"]).is_err());
        assert!(LiveKitKeys::parse(["APIkey1:secret"]).is_err());
        assert!(LiveKitKeys::parse(["acme=APIkey1:s", "globex=APIkey1:t"]).is_err());
        assert!(LiveKitKeys::parse(["acme=:secret"]).is_err());
        let printed = format!("{:?}", keys());
        assert!(printed.contains("APIkey1") && !printed.contains(SECRET));
    }
}
