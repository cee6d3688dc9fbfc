//! Recordings (DESIGN §6): uploads streamed to the local disk, links signed with HMAC and an
//! expiry, and the public file route that checks them and serves byte ranges.
//!
//! Files live at `<dir>/<hex org>/<hex call id>/<mono|dual>.<wav|mp3|ogg>`: ids may contain
//! dots, so they are hex-encoded rather than trusted as path segments. A link is
//! `/recordings/{org}/{id}/{channels}?expires=<unix s>&signature=<hex>`, the signature an
//! HMAC-SHA256 of `"{org}/{id}/{channels}/{expires}"` under a key kept in the recordings
//! folder; an organization with public recordings is served without one.

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Caller, PathParams, QueryParams};
use crate::openapi::Binary;
use crate::signing::{hex, hmac_sha256, unhex};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use callscope_analysis::AudioFormat;
use callscope_model::{Recording, RecordingStatus, Scope, Timestamp, ValidationError};
use callscope_store::WriteMode;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::path::{Path as FsPath, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

/// Name of the link-signing key inside the recordings folder.
const KEY_FILE: &str = "url-signing.key";
/// Bytes read per chunk when serving a file.
const CHUNK: usize = 64 * 1024;

/// Where recordings live and how they are linked.
#[derive(Clone)]
pub struct RecordingSettings {
    pub dir: PathBuf,
    key: Vec<u8>,
    /// Largest upload accepted.
    pub max_bytes: u64,
    /// How long a signed link works.
    pub link_ttl: Duration,
    /// Longest an upload may send nothing before it is cut off (408).
    pub idle_timeout: Duration,
}

impl std::fmt::Debug for RecordingSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordingSettings")
            .field("dir", &self.dir)
            .field("max_bytes", &self.max_bytes)
            .field("link_ttl", &self.link_ttl)
            .field("idle_timeout", &self.idle_timeout)
            .finish_non_exhaustive()
    }
}

impl RecordingSettings {
    /// Opens (creating) the recordings folder and its signing key, so links stay valid
    /// across restarts.
    pub fn open(
        dir: &FsPath,
        max_bytes: u64,
        link_ttl: Duration,
        idle_timeout: Duration,
    ) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let key_path = dir.join(KEY_FILE);
        let key = match std::fs::read(&key_path) {
            Ok(key) if key.len() >= 32 => key,
            _ => {
                let mut key = vec![0u8; 32];
                getrandom::fill(&mut key).map_err(std::io::Error::other)?;
                write_private(&key_path, &key)?;
                key
            }
        };
        Ok(Self {
            dir: dir.to_owned(),
            key,
            max_bytes,
            link_ttl,
            idle_timeout,
        })
    }

    fn call_dir(&self, org: &str, id: &str) -> PathBuf {
        recording_folder(&self.dir, org, id)
    }

    fn sign(&self, org: &str, id: &str, channels: Channels, expires: i64) -> String {
        hex(&self.mac(org, id, channels, expires).finalize().into_bytes())
    }

    fn mac(&self, org: &str, id: &str, channels: Channels, expires: i64) -> Hmac<Sha256> {
        let mut mac = hmac_sha256(&self.key);
        mac.update(format!("{org}/{id}/{}/{expires}", channels.as_str()).as_bytes());
        mac
    }

    /// Whether `signature` (hex) signs this link; compared in constant time.
    fn verify(
        &self,
        org: &str,
        id: &str,
        channels: Channels,
        expires: i64,
        signature: &str,
    ) -> bool {
        let Some(bytes) = unhex(signature) else {
            return false;
        };
        self.mac(org, id, channels, expires)
            .verify_slice(&bytes)
            .is_ok()
    }

    /// Deletes a call's recordings; a missing folder is fine.
    pub fn remove(&self, org: &str, id: &str) {
        let dir = self.call_dir(org, id);
        if let Err(error) = std::fs::remove_dir_all(&dir)
            && error.kind() != std::io::ErrorKind::NotFound
        {
            tracing::error!(%error, dir = %dir.display(), "cannot delete a call's recordings");
        }
    }

    /// The stored file of a channel, with its format: the newest, should a crash between a
    /// replacement's rename and the old file's removal have left two.
    fn find(&self, org: &str, id: &str, channels: Channels) -> Option<(PathBuf, AudioFormat)> {
        self.files(org, id, channels)
            .into_iter()
            .max_by_key(|(path, _)| {
                std::fs::metadata(path)
                    .and_then(|meta| meta.modified())
                    .ok()
            })
    }

    /// Every stored file of a channel (one per format it was ever uploaded in and kept).
    fn files(&self, org: &str, id: &str, channels: Channels) -> Vec<(PathBuf, AudioFormat)> {
        let dir = self.call_dir(org, id);
        [AudioFormat::Wav, AudioFormat::Mp3, AudioFormat::Ogg]
            .into_iter()
            .map(|format| {
                let name = format!("{}.{}", channels.as_str(), format.extension());
                (dir.join(name), format)
            })
            .filter(|(path, _)| path.is_file())
            .collect()
    }
}

#[cfg(unix)]
fn write_private(path: &FsPath, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &FsPath, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

/// Whether `request` is a recording upload (`PUT /v1/calls/{id}/recording`, or LiveKit's
/// session report): its body is
/// streamed by its handler, so the layers that read bodies or bound a request's time leave it
/// to the upload's own limit and idle timeout.
pub(crate) fn is_upload(request: &axum::extract::Request) -> bool {
    (request.method() == axum::http::Method::PUT
        && request
            .extensions()
            .get::<axum::extract::MatchedPath>()
            .is_some_and(|path| path.as_str() == "/v1/calls/{id}/recording"))
        || (request.method() == axum::http::Method::POST && crate::livekit::is_upload(request))
}

/// The folder of a call's recording files under the recordings directory `dir`:
/// `<dir>/<hex org>/<hex call id>`, holding `<mono|dual>.<wav|mp3|ogg…>`. Hex keeps any id
/// a safe single path segment.
pub fn recording_folder(dir: &FsPath, org: &str, id: &str) -> PathBuf {
    dir.join(hex(org.as_bytes())).join(hex(id.as_bytes()))
}

/// What a stored recording's `mono`/`dual` field holds: the API resource that answers its
/// signed link.
pub fn recording_resource(id: &str, channels: Channels) -> String {
    format!("/v1/calls/{id}/recording?channels={}", channels.as_str())
}

/// Which recording of a call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Channels {
    /// Both parties mixed.
    #[default]
    Mono,
    /// Caller and agent on separate channels.
    Dual,
}

impl Channels {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mono => "mono",
            Self::Dual => "dual",
        }
    }
}

/// `?channels=` of the native recording endpoints.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChannelsParam {
    /// `mono` (the default): both parties mixed; `dual`: caller and agent on separate
    /// channels.
    #[serde(default)]
    #[param(value_type = Option<Channels>)]
    channels: Channels,
}

/// A recording as stored by an upload.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StoredRecording {
    call_id: String,
    channels: Channels,
    /// `available`.
    recording_status: RecordingStatus,
    recording_duration_ms: u64,
    /// `audio/wav`, `audio/mpeg` or `audio/ogg`, read from the bytes.
    content_type: &'static str,
    size_bytes: u64,
}

/// A link to a recording.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RecordingLink {
    /// `/recordings/{org}/{id}/{channels}` on this server's public base, signed unless the
    /// organization's recordings are public.
    url: String,
    /// When the signed link stops working; `null` for a public one.
    expires_at: Option<Timestamp>,
}

fn settings(state: &AppState) -> Result<&RecordingSettings, ApiError> {
    state
        .config
        .recordings
        .as_ref()
        .ok_or_else(|| ApiError::NotFound("this server keeps no recordings".into()))
}

/// Uploads a call's recording.
///
/// The body is the audio (WAV, MP3 or OGG), streamed to disk; its format is read from its
/// bytes and its duration from the audio. A second upload of a channel replaces the first.
/// Needs the `write` scope and a server that keeps recordings (`--recordings-dir`).
#[utoipa::path(
    put,
    path = "/calls/{id}/recording",
    tag = "recordings",
    operation_id = "upload_recording",
    params(("id" = String, Path, description = "The call's id"), ChannelsParam),
    request_body(content = Binary, content_type = "application/octet-stream", description = "The audio file's bytes"),
    responses(
        (status = 200, description = "The recording as stored", body = StoredRecording),
        (status = 404, description = "No call with this id, or this server keeps no recordings", body = ErrorBody),
    ),
)]
pub async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    QueryParams(param): QueryParams<ChannelsParam>,
    body: Body,
) -> Result<Response, ApiError> {
    caller.require(Scope::Write)?;
    let recordings = settings(&state)?;
    let org = caller.organization();
    if state.store.get_call(org, &id).await?.is_none() {
        return Err(ApiError::call_not_found(&id));
    }
    let audio = receive(
        body.into_data_stream(),
        &recordings.call_dir(org, &id),
        recordings,
    )
    .await?;
    let stored = attach(&state, org, &id, param.channels, audio).await?;
    Ok(axum::Json(stored).into_response())
}

/// Audio received into a partial file of the recordings folder and read as audio, not yet
/// any call's recording.
#[derive(Debug)]
pub(crate) struct ReceivedAudio {
    path: PathBuf,
    size: u64,
    format: AudioFormat,
    duration_ms: u64,
    /// The audio track's channels, when its container says.
    pub(crate) channels: Option<usize>,
}

impl ReceivedAudio {
    /// Removes the partial file.
    pub(crate) async fn discard(self) {
        let _ = tokio::fs::remove_file(&self.path).await;
    }
}

/// Receives a multipart upload's audio part (LiveKit's session report), to be
/// [`attach`]ed once the call it belongs to is known.
pub(crate) async fn receive_audio(
    state: &AppState,
    part: axum::extract::multipart::Field<'_>,
) -> Result<ReceivedAudio, ApiError> {
    let recordings = settings(state)?;
    receive(part, &recordings.dir.join(".incoming"), recordings).await
}

/// Streams `chunks` into a partial file in `dir` (on the recordings' filesystem, so that it
/// can be renamed into place), then reads its format and duration; nothing is left behind
/// when it is not audio.
async fn receive<E: std::fmt::Display>(
    chunks: impl futures_util::Stream<Item = Result<bytes::Bytes, E>>,
    dir: &FsPath,
    settings: &RecordingSettings,
) -> Result<ReceivedAudio, ApiError> {
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|e| ApiError::Internal(format!("recordings folder: {e}")))?;
    let path = dir.join(format!(".upload-{}", callscope_model::new_id()));
    let received = match write_chunks(chunks, &path, settings).await {
        Ok((size, head)) => inspect(&path, size, &head).await,
        Err(error) => Err(error),
    };
    if received.is_err() {
        let _ = tokio::fs::remove_file(&path).await;
    }
    received
}

/// Streams `chunks` into `path`, refusing more than the settings' `max_bytes` and a client
/// that sends nothing for `idle_timeout`; returns the size and the first bytes.
async fn write_chunks<E: std::fmt::Display>(
    chunks: impl futures_util::Stream<Item = Result<bytes::Bytes, E>>,
    path: &FsPath,
    settings: &RecordingSettings,
) -> Result<(u64, Vec<u8>), ApiError> {
    use futures_util::StreamExt;
    let io = |e: std::io::Error| ApiError::Internal(format!("writing a recording: {e}"));
    let max_bytes = settings.max_bytes;
    let mut file = tokio::fs::File::create(path).await.map_err(io)?;
    let mut chunks = std::pin::pin!(chunks);
    let mut size = 0u64;
    let mut head = Vec::with_capacity(16);
    loop {
        let Ok(next) = tokio::time::timeout(settings.idle_timeout, chunks.next()).await else {
            return Err(ApiError::RequestTimeout(format!(
                "the upload sent nothing for {} s; send the recording without pauses",
                settings.idle_timeout.as_secs_f64()
            )));
        };
        let Some(data) = next else { break };
        let data =
            data.map_err(|e| ApiError::InvalidParameter(format!("cannot read the upload: {e}")))?;
        size += data.len() as u64;
        if size > max_bytes {
            return Err(ApiError::PayloadTooLarge(format!(
                "the recording is larger than the {max_bytes} bytes this server accepts {}",
                callscope_query::limit_note("max_recording_bytes", max_bytes)
            )));
        }
        if head.len() < 16 {
            head.extend(data.iter().take(16 - head.len()));
        }
        file.write_all(&data).await.map_err(io)?;
    }
    file.sync_all().await.map_err(io)?;
    Ok((size, head))
}

/// The received file as audio: its format from its first bytes, its duration from the audio.
async fn inspect(path: &FsPath, size: u64, head: &[u8]) -> Result<ReceivedAudio, ApiError> {
    let format = AudioFormat::sniff(head).ok_or_else(|| {
        ApiError::InvalidParameter(
            "body: not a WAV, MP3 or OGG recording (checked from its first bytes)".into(),
        )
    })?;
    let owned = path.to_owned();
    let info =
        tokio::task::spawn_blocking(move || callscope_analysis::audio::inspect(&owned, format))
            .await
            .map_err(|e| ApiError::Internal(format!("reading a recording: {e}")))?
            .map_err(|e| ApiError::InvalidParameter(format!("body: {e}")))?;
    Ok(ReceivedAudio {
        path: path.to_owned(),
        size,
        format,
        duration_ms: info.duration_ms,
        channels: info.channels,
    })
}

/// Makes `audio` the `channels` recording of call `id`, and describes it; the partial file
/// is removed if the call cannot take it.
pub(crate) async fn attach(
    state: &AppState,
    org: &str,
    id: &str,
    channels: Channels,
    audio: ReceivedAudio,
) -> Result<StoredRecording, ApiError> {
    let path = audio.path.clone();
    let attached = attach_file(state, org, id, channels, &audio).await;
    if attached.is_err() {
        let _ = tokio::fs::remove_file(&path).await;
    }
    attached
}

async fn attach_file(
    state: &AppState,
    org: &str,
    id: &str,
    channels: Channels,
    audio: &ReceivedAudio,
) -> Result<StoredRecording, ApiError> {
    let recordings = settings(state)?;
    let duration = audio.duration_ms;
    // The call says the new recording is there before the file is: if the call cannot be
    // updated, the stored recording stays exactly as it was. Only then does the new file
    // take the old one's place.
    let resource = recording_resource(id, channels);
    let builder: callscope_store::CallBuilder = Box::new(move |existing| {
        let mut call =
            existing.ok_or_else(|| ValidationError::new("id", "the call no longer exists"))?;
        let recording = call.recording.get_or_insert_with(Recording::default);
        recording.status = Some(RecordingStatus::Available);
        match channels {
            Channels::Mono => {
                recording.mono = Some(resource);
                recording.duration_ms = Some(duration);
            }
            Channels::Dual => {
                recording.dual = Some(resource);
                recording.duration_ms.get_or_insert(duration);
            }
        }
        call.updated_at = Timestamp::now();
        Ok(call)
    });
    state
        .store
        .write_call(org, id, WriteMode::Update, builder)
        .await?;
    let folder = recordings.call_dir(org, id);
    tokio::fs::create_dir_all(&folder)
        .await
        .map_err(|e| ApiError::Internal(format!("recordings folder: {e}")))?;
    let target = folder.join(format!(
        "{}.{}",
        channels.as_str(),
        audio.format.extension()
    ));
    // Atomic within the filesystem: a reader sees the old file or the new one, never neither.
    tokio::fs::rename(&audio.path, &target)
        .await
        .map_err(|e| ApiError::Internal(format!("storing a recording: {e}")))?;
    // One file per channel: an upload in another format leaves the old one behind.
    for (old, _) in recordings.files(org, id, channels) {
        if old != target {
            let _ = tokio::fs::remove_file(old).await;
        }
    }
    Ok(StoredRecording {
        call_id: id.to_owned(),
        channels,
        recording_status: RecordingStatus::Available,
        recording_duration_ms: duration,
        content_type: audio.format.content_type(),
        size_bytes: audio.size,
    })
}

/// A link to a call's recording.
///
/// Signed and expiring unless the organization's recordings are public; whoever holds it can
/// fetch the file without a key, so it can go to a browser's `<audio>` as it is. Needs the
/// `read` scope.
#[utoipa::path(
    get,
    path = "/calls/{id}/recording",
    tag = "recordings",
    operation_id = "get_recording_link",
    params(("id" = String, Path, description = "The call's id"), ChannelsParam),
    responses(
        (status = 200, description = "The link", body = RecordingLink),
        (status = 404, description = "No call with this id, no recording on these channels, or this server keeps no recordings", body = ErrorBody),
    ),
)]
pub async fn link(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    PathParams(id): PathParams<String>,
    QueryParams(param): QueryParams<ChannelsParam>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    settings(&state)?;
    let org = caller.organization();
    if state.store.get_call(org, &id).await?.is_none() {
        return Err(ApiError::call_not_found(&id));
    }
    let channels = param.channels;
    let Some(link) = link_path(&state, org, &id, channels).await? else {
        return Err(ApiError::NotFound(format!(
            "call `{id}` has no {} recording",
            channels.as_str()
        )));
    };
    let answer = RecordingLink {
        url: format!("{}{}", public_base(&state, &headers), link.path),
        expires_at: link.expires_at,
    };
    Ok(axum::Json(answer).into_response())
}

/// A link to a stored recording, relative to the server's base.
#[derive(Debug)]
pub(crate) struct LinkPath {
    /// `/recordings/{org}/{id}/{channels}`, signed unless the organization's recordings are
    /// public.
    pub path: String,
    /// When a signed link stops working.
    pub expires_at: Option<Timestamp>,
}

/// The link to a call's recording on `channels`, or `None` when there is no such file (or
/// the server keeps no recordings). The caller has checked that the call is the caller's.
pub(crate) async fn link_path(
    state: &AppState,
    org: &str,
    id: &str,
    channels: Channels,
) -> Result<Option<LinkPath>, ApiError> {
    let Some(recordings) = &state.config.recordings else {
        return Ok(None);
    };
    if recordings.find(org, id, channels).is_none() {
        return Ok(None);
    }
    let path = format!("/recordings/{org}/{id}/{}", channels.as_str());
    if state.store.public_recordings(org).await? {
        return Ok(Some(LinkPath {
            path,
            expires_at: None,
        }));
    }
    let expires = Timestamp::now()
        .plus_millis(i64::try_from(recordings.link_ttl.as_millis()).unwrap_or(i64::MAX / 2));
    let seconds = expires.as_millis() / 1000;
    let signature = recordings.sign(org, id, channels, seconds);
    Ok(Some(LinkPath {
        path: format!("{path}?expires={seconds}&signature={signature}"),
        expires_at: Timestamp::from_millis(seconds * 1000),
    }))
}

/// The base of links this server hands out: `--public-url` when set (the address clients
/// reach, behind a proxy that terminates TLS, say), else `http://` and the `Host` the request
/// came to.
fn public_base(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(base) = &state.config.public_url {
        return base.clone();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}

/// Query string of a recording link.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LinkParams {
    /// When the link stops working, in seconds since the Unix epoch.
    expires: Option<i64>,
    /// The server's HMAC over the organization, call, channels and `expires`. Both are
    /// absent for a link to an organization whose recordings are public.
    signature: Option<String>,
}

/// A recording's file, for whoever holds a valid link.
///
/// No API key: the signature (or the organization's public setting) is the authorization.
/// Serves byte ranges, so a browser's `<audio>` can seek.
#[utoipa::path(
    get,
    path = "/recordings/{org}/{id}/{channels}",
    operation_id = "get_recording_file",
    tag = "recordings",
    security(()),
    params(
        ("org" = String, Path, description = "The call's organization"),
        ("id" = String, Path, description = "The call's id"),
        ("channels" = Channels, Path, description = "`mono` or `dual`"),
        ("Range" = Option<String>, Header, description = "One byte range, `bytes=a-b`, `bytes=a-` or `bytes=-n`"),
        LinkParams,
    ),
    responses(
        (status = 200, description = "The whole file (`audio/wav`, `audio/mpeg` or `audio/ogg`)", content_type = "application/octet-stream", body = Binary),
        (status = 206, description = "The range asked for, with `Content-Range`", content_type = "application/octet-stream", body = Binary),
        (status = 403, description = "The link is invalid or has expired", body = ErrorBody),
        (status = 404, description = "No such recording", body = ErrorBody),
        (status = 416, description = "The range is outside the file; `Content-Range: bytes */size`", body = ErrorBody),
    ),
)]
pub async fn serve_file(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams((org, id, channels)): PathParams<(String, String, Channels)>,
    QueryParams(link): QueryParams<LinkParams>,
) -> Result<Response, ApiError> {
    let recordings = settings(&state)?;
    let refused = || ApiError::Forbidden("the recording link is invalid or has expired".into());
    match (link.expires, link.signature.as_deref()) {
        (Some(expires), Some(signature)) => {
            let now = Timestamp::now().as_millis() / 1000;
            if expires < now || !recordings.verify(&org, &id, channels, expires, signature) {
                return Err(refused());
            }
        }
        (None, None) if state.store.public_recordings(&org).await? => {}
        _ => return Err(refused()),
    }
    let (path, format) = recordings
        .find(&org, &id, channels)
        .ok_or_else(|| ApiError::NotFound("no such recording".into()))?;
    let io = |e: std::io::Error| ApiError::Internal(format!("reading a recording: {e}"));
    let mut file = tokio::fs::File::open(&path).await.map_err(io)?;
    let size = file.metadata().await.map_err(io)?.len();
    let range = match headers.get(header::RANGE).and_then(|r| r.to_str().ok()) {
        None => None,
        Some(text) => match byte_range(text, size) {
            Some(range) => Some(range),
            None => return Err(ApiError::RangeNotSatisfiable { size }),
        },
    };
    let (start, end) = range.unwrap_or((0, size.saturating_sub(1)));
    let length = if size == 0 { 0 } else { end - start + 1 };
    file.seek(std::io::SeekFrom::Start(start))
        .await
        .map_err(io)?;
    let stream = futures_util::stream::unfold((file, length), |(mut file, left)| async move {
        if left == 0 {
            return None;
        }
        let mut buffer = vec![0u8; CHUNK.min(usize::try_from(left).unwrap_or(CHUNK))];
        match file.read(&mut buffer).await {
            Ok(0) => None,
            Ok(read) => {
                buffer.truncate(read);
                Some((Ok::<_, std::io::Error>(buffer), (file, left - read as u64)))
            }
            Err(error) => Some((Err(error), (file, 0))),
        }
    });
    let mut response = Response::new(Body::from_stream(stream));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    if range.is_some() {
        if let Ok(value) = HeaderValue::from_str(&format!("bytes {start}-{end}/{size}")) {
            headers.insert(header::CONTENT_RANGE, value);
        }
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
    }
    Ok(response)
}

/// The inclusive byte range a `Range` header asks of a `size`-byte file: `bytes=a-b`,
/// `bytes=a-` or `bytes=-n` (the last n). `None` when it cannot be satisfied; several ranges
/// are not supported and count as unsatisfiable.
fn byte_range(header: &str, size: u64) -> Option<(u64, u64)> {
    let spec = header.trim().strip_prefix("bytes=")?;
    if spec.contains(',') || size == 0 {
        return None;
    }
    let (first, last) = spec.split_once('-')?;
    let (start, end) = match (first.trim(), last.trim()) {
        ("", suffix) => {
            let n: u64 = suffix.parse().ok()?;
            if n == 0 {
                return None;
            }
            (size.saturating_sub(n), size - 1)
        }
        (start, "") => (start.parse().ok()?, size - 1),
        (start, end) => (start.parse().ok()?, end.parse::<u64>().ok()?.min(size - 1)),
    };
    (start <= end && start < size).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::byte_range;

    #[test]
    fn ranges_follow_rfc_9110() {
        assert_eq!(byte_range("bytes=0-99", 1000), Some((0, 99)));
        assert_eq!(byte_range("bytes=900-", 1000), Some((900, 999)));
        assert_eq!(byte_range("bytes=-100", 1000), Some((900, 999)));
        assert_eq!(byte_range("bytes=990-2000", 1000), Some((990, 999)));
        assert_eq!(byte_range("bytes=-5000", 1000), Some((0, 999)));
        assert_eq!(byte_range("bytes=1000-", 1000), None);
        assert_eq!(byte_range("bytes=5-1", 1000), None);
        assert_eq!(byte_range("bytes=0-1,5-6", 1000), None);
        assert_eq!(byte_range("items=0-1", 1000), None);
    }
}
