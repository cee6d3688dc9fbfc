//! The demo's recording files: which generated calls get one, and writing them where and how
//! the server keeps recordings, so its links and file route serve them as uploads.
//!
//! The layout and the `recording` fields are the server's own for an upload
//! (`callscope_server::recording_folder` and `recording_resource`): `<folder>/<mono|dual>.wav`,
//! and `mono`/`dual` set to the API resource `/v1/calls/{id}/recording?channels=…`. The
//! server's link endpoint looks only at the files; the native view offers
//! `recording_resource_uri` only when a `mono` or `dual` is set. `tests/demo_recordings.rs`
//! checks through the API and the signed link that they serve.

use anyhow::Context;
use callscope_demo::DemoConfig;
use callscope_demo::audio::{CallAudio, audio_duration_ms, wav_size};
use callscope_model::{Call, RecordingStatus, Role};
use callscope_server::{Channels, recording_folder, recording_resource};
use std::collections::HashSet;
use std::path::Path;

/// At most this many demo calls get recording files…
const MAX_CALLS: usize = 200;
/// …each at most three minutes of audio…
const MAX_DURATION_MS: u64 = 3 * 60_000;
/// …and all their files together at most 64 MiB (a minute is 0.96 MB mono, twice that in
/// stereo), so a demo of any size writes a few dozen files.
const MAX_BYTES: u64 = 64 << 20;

/// The calls of a corpus that get recording files, by index.
#[derive(Debug, Default)]
pub(super) struct Chosen {
    calls: HashSet<usize>,
    /// What their files take on disk.
    pub(super) bytes: u64,
}

impl Chosen {
    pub(super) fn contains(&self, index: usize) -> bool {
        self.calls.contains(&index)
    }

    pub(super) fn len(&self) -> usize {
        self.calls.len()
    }
}

/// The most recent calls of `config` that can have a recording, newest first, until one
/// more would pass [`MAX_CALLS`] or [`MAX_BYTES`]: every eligible call newer than the oldest
/// chosen one is chosen too. Walks back from the anchor, generating only as many calls as it
/// looks at.
pub(super) fn choose(config: &DemoConfig) -> Chosen {
    let mut chosen = Chosen::default();
    for (index, labelled) in callscope_demo::generate(config).enumerate().rev() {
        let Some(bytes) = files_size(&labelled.call) else {
            continue;
        };
        if chosen.calls.len() == MAX_CALLS || chosen.bytes + bytes > MAX_BYTES {
            break;
        }
        chosen.calls.insert(index);
        chosen.bytes += bytes;
    }
    chosen
}

/// What the files of `call` would take, when it can have them: it ended, its recording is
/// available, someone speaks at known times, and the audio is at most [`MAX_DURATION_MS`].
fn files_size(call: &Call) -> Option<u64> {
    let recording = call.recording.as_ref()?;
    let spoken = call.transcript.iter().any(|entry| {
        matches!(entry.role, Role::User | Role::Agent)
            && entry.start_ms.is_some()
            && entry.end_ms.is_some()
    });
    let duration_ms = audio_duration_ms(call);
    let playable = call.status.is_terminal()
        && recording.status == Some(RecordingStatus::Available)
        && spoken
        && duration_ms <= MAX_DURATION_MS;
    let dual = if recording.dual.is_some() {
        wav_size(duration_ms, 2)
    } else {
        0
    };
    playable.then_some(wav_size(duration_ms, 1) + dual)
}

/// Renders the recording of `call`, writes `mono.wav` (and `dual.wav` when the call has a
/// stereo recording) into its folder under `dir`, and points the call's recording at them.
pub(super) fn write(call: &mut Call, dir: &Path) -> anyhow::Result<()> {
    let audio = CallAudio::render(call)
        .with_context(|| format!("call `{}` is too long to render", call.id))?;
    let folder = recording_folder(dir, &call.organization_id, &call.id);
    std::fs::create_dir_all(&folder)
        .with_context(|| format!("cannot create {}", folder.display()))?;
    let recording = call.recording.get_or_insert_with(Default::default);
    let dual = recording.dual.is_some();
    store(&folder, Channels::Mono, &audio.mono_wav())?;
    if dual {
        store(&folder, Channels::Dual, &audio.dual_wav())?;
    }
    recording.status = Some(RecordingStatus::Available);
    recording.duration_ms = Some(audio.duration_ms());
    recording.mono = Some(recording_resource(&call.id, Channels::Mono));
    recording.dual = dual.then(|| recording_resource(&call.id, Channels::Dual));
    Ok(())
}

/// Drops the links of a call that has no file: the generator's `recordings.example.com`
/// URLs lead nowhere, and a dashboard would offer a player that cannot play. The status and
/// duration stay, so counts by recording status are the generator's.
pub(super) fn unlink(call: &mut Call) {
    if let Some(recording) = &mut call.recording {
        recording.mono = None;
        recording.dual = None;
    }
}

/// Writes `<folder>/<channels>.wav` whole or not at all: a running server never serves half
/// a file (it looks only at the final names).
fn store(folder: &Path, channels: Channels, bytes: &[u8]) -> anyhow::Result<()> {
    let channels = channels.as_str();
    let partial = folder.join(format!("{channels}.demo-partial"));
    let target = folder.join(format!("{channels}.wav"));
    std::fs::write(&partial, bytes)
        .with_context(|| format!("cannot write {}", partial.display()))?;
    std::fs::rename(&partial, &target).with_context(|| format!("cannot write {}", target.display()))
}
