//! Synthetic recordings of demo calls: speech-like babble wherever the transcript says a
//! party speaks, silence everywhere else, as 16-bit PCM WAV bytes at 8 kHz.
//!
//! Each spoken entry (`user` or `agent`, with `start_ms` and `end_ms`) is rendered inside
//! `[start_ms, end_ms)` as one syllable per word, spread evenly over the span: a harmonic
//! tone at the speaker's pitch, coloured by the formants of a vowel drawn per syllable and
//! shaped by a smooth attack and decay, so a player sounds like muffled talk on a phone line
//! rather than a beep, and a dashboard that seeks to a turn hears it begin there. `tool` and
//! `system` entries are silent, as lookups and prompts are on a real line.
//!
//! The audio follows from the call alone: the agent's pitch from its voice (the same agent
//! sounds the same on every call), the caller's and each syllable's variation from the call
//! id. No I/O: the caller writes the bytes where recordings are kept.

use crate::rng::{Rng, stable_hash};
use callscope_model::{Call, Role};
use std::f64::consts::TAU;

/// Samples per second: narrow-band telephone audio.
pub const SAMPLE_RATE: u32 = 8_000;
/// Samples per millisecond, so that a recording of `n` ms has exactly `8n` samples.
const PER_MS: u64 = SAMPLE_RATE as u64 / 1000;
/// Size of the RIFF header this module writes (RIFF, `fmt ` and `data` chunk headers).
pub const WAV_HEADER_BYTES: u64 = 44;
/// The longest audio [`CallAudio::render`] makes: an hour is 58 MB of mono WAV (far from the
/// 4 GiB a RIFF size field can say) and 230 MB of tracks while it renders.
pub const MAX_DURATION_MS: u64 = 60 * 60_000;

/// A syllable is never shorter than this: many words in a short span become fewer, longer
/// syllables rather than clicks.
const MIN_SYLLABLE_MS: u64 = 90;
/// Peak level of one voice's tone; with its consonant bursts a voice stays within half of
/// full scale, so the mono mix cannot clip even where the two overlap (they never do in the
/// demo's transcripts).
const VOICE_GAIN: f64 = 0.4;
/// Harmonics stay below this, under the 4 kHz Nyquist limit of 8 kHz audio.
const BANDWIDTH_HZ: f64 = 3_400.0;
/// Most harmonics of a syllable: enough to reach the second formant of a low voice.
const MAX_HARMONICS: usize = 24;
/// Points of the one-period wavetable of a syllable (ten or more per cycle of its highest
/// harmonic), read with linear interpolation.
const PERIOD_SAMPLES: usize = 256;

/// First and second formants (Hz) of five vowels (/a/, /e/, /i/, /o/, /u/): what makes a
/// harmonic tone sound like a voice saying something.
const VOWELS: [(f64, f64); 5] = [
    (730.0, 1090.0),
    (530.0, 1840.0),
    (300.0, 2250.0),
    (570.0, 840.0),
    (320.0, 870.0),
];

/// The synthetic audio of one call, each party on its own track of `[-1, 1]` samples at
/// [`SAMPLE_RATE`].
#[derive(Clone, Debug)]
pub struct CallAudio {
    /// What the caller (`user` entries) says.
    caller: Vec<f32>,
    /// What the agent says.
    agent: Vec<f32>,
}

/// How long the recording of `call` is: its `duration_ms`, or the end of its last entry if
/// that is later (or if the call has no duration yet).
#[must_use]
pub fn audio_duration_ms(call: &Call) -> u64 {
    let last_end = call
        .transcript
        .iter()
        .filter_map(|entry| entry.end_ms)
        .max()
        .unwrap_or(0);
    call.duration_ms.unwrap_or(0).max(last_end)
}

/// The size in bytes of the WAV file of `duration_ms` of audio in `channels` channels, for
/// budgeting disk before anything is rendered.
#[must_use]
pub fn wav_size(duration_ms: u64, channels: u16) -> u64 {
    WAV_HEADER_BYTES + duration_ms * PER_MS * u64::from(channels) * 2
}

impl CallAudio {
    /// Renders the recording of `call`, [`audio_duration_ms`] long. `None` when that is
    /// longer than [`MAX_DURATION_MS`].
    #[must_use]
    pub fn render(call: &Call) -> Option<Self> {
        let duration_ms = audio_duration_ms(call);
        if duration_ms > MAX_DURATION_MS {
            return None;
        }
        // Bounded by MAX_DURATION_MS, so the sample count fits any usize.
        let samples = (duration_ms * PER_MS) as usize;
        let mut audio = Self {
            caller: vec![0.0; samples],
            agent: vec![0.0; samples],
        };
        let seed = stable_hash(&["recording", &call.id]);
        let agent_voice = call
            .agent
            .voice
            .as_deref()
            .or(call.agent.id.as_deref())
            .unwrap_or("agent");
        let agent_pitch = 125.0 + (stable_hash(&["voice", agent_voice]) % 90) as f64;
        let caller_pitch = caller_pitch(agent_pitch, &mut Rng::stream(seed, u64::MAX));
        for (index, entry) in call.transcript.iter().enumerate() {
            let (track, pitch) = match entry.role {
                Role::User => (&mut audio.caller, caller_pitch),
                Role::Agent => (&mut audio.agent, agent_pitch),
                Role::Tool | Role::System => continue,
            };
            // `end_ms` is at most the audio's length by construction. `normalize` refuses an
            // entry that ends before it starts, but this takes any `Call`, normalized or not.
            let (Some(start), Some(end)) = (entry.start_ms, entry.end_ms) else {
                continue;
            };
            if end <= start {
                continue;
            }
            let words = entry.text.split_whitespace().count();
            let question = entry.text.trim_end().ends_with('?');
            let span = (start * PER_MS) as usize..(end.min(duration_ms) * PER_MS) as usize;
            let mut rng = Rng::stream(seed, index as u64);
            speak(&mut track[span], words, pitch, question, &mut rng);
        }
        Some(audio)
    }

    /// The length of the audio, in milliseconds.
    #[must_use]
    pub fn duration_ms(&self) -> u64 {
        self.caller.len() as u64 / PER_MS
    }

    /// Both parties mixed into one channel: the `mono` recording.
    #[must_use]
    pub fn mono_wav(&self) -> Vec<u8> {
        let mixed = self
            .caller
            .iter()
            .zip(&self.agent)
            .map(|(caller, agent)| caller + agent);
        wav(1, self.caller.len(), mixed)
    }

    /// The caller on the left channel and the agent on the right: the `dual` recording.
    #[must_use]
    pub fn dual_wav(&self) -> Vec<u8> {
        let interleaved = self
            .caller
            .iter()
            .zip(&self.agent)
            .flat_map(|(caller, agent)| [*caller, *agent]);
        wav(2, self.caller.len(), interleaved)
    }
}

/// A caller's pitch (95 to 230 Hz, low and high voices alike), kept apart from the agent's
/// so the two are told apart by ear on the mono mix.
fn caller_pitch(agent_pitch: f64, rng: &mut Rng) -> f64 {
    let pitch = rng.uniform(95.0, 230.0);
    if (pitch / agent_pitch - 1.0).abs() >= 0.15 {
        pitch
    } else if agent_pitch > 160.0 {
        agent_pitch * 0.7
    } else {
        agent_pitch * 1.4
    }
}

/// Writes one utterance of `words` words into `span` (the samples of its entry), which it
/// never sounds outside of: every syllable starts and ends at zero inside its own slot.
fn speak(span: &mut [f32], words: usize, pitch: f64, question: bool, rng: &mut Rng) {
    let min_syllable = (MIN_SYLLABLE_MS * PER_MS) as usize;
    let syllables = words.min(span.len() / min_syllable).max(1);
    let slot = span.len() / syllables;
    if slot < 4 {
        return;
    }
    for syllable in 0..syllables {
        let progress = syllable as f64 / syllables as f64;
        // Declination: a sentence starts higher than it ends; a question rises at the end.
        let base = pitch * (1.08 - 0.16 * progress) * rng.uniform(0.93, 1.07);
        let last = syllable + 1 == syllables;
        let glide = if last && question {
            1.25
        } else {
            rng.uniform(0.96, 1.04)
        };
        // The first syllable starts the turn and the last one ends it, so the sound spans
        // what the transcript says; the others sit anywhere in their slots.
        let voiced = if syllables == 1 {
            slot
        } else {
            ((slot as f64) * rng.uniform(0.6, 0.88)) as usize
        };
        let offset = match syllable {
            0 => 0,
            _ if last => slot - voiced,
            _ => ((slot - voiced) as f64 * rng.unit()) as usize,
        };
        let gain = VOICE_GAIN * rng.uniform(0.6, 1.0) * if last { 0.8 } else { 1.0 };
        let vowel = *rng.pick(&VOWELS);
        let from = syllable * slot + offset;
        let noise = rng.next_u64();
        syllable_into(
            &mut span[from..from + voiced],
            Syllable {
                pitch: (base, base * glide),
                vowel,
                gain,
                noise,
            },
        );
    }
}

/// One voiced syllable.
#[derive(Clone, Copy)]
struct Syllable {
    /// Pitch at its start and end (Hz), glided linearly.
    pitch: (f64, f64),
    /// First and second formants (Hz).
    vowel: (f64, f64),
    gain: f64,
    /// Seed of the consonant's noise burst at its onset.
    noise: u64,
}

/// Adds a syllable to `out`: harmonics weighted by the vowel's formants under a tapered
/// envelope that is zero at both ends, plus a short noise burst as its consonant.
fn syllable_into(out: &mut [f32], syllable: Syllable) {
    let len = out.len();
    if len < 2 {
        return;
    }
    let (start_pitch, end_pitch) = syllable.pitch;
    let harmonics = ((BANDWIDTH_HZ / start_pitch.max(end_pitch)) as usize).clamp(1, MAX_HARMONICS);
    let mean_pitch = f64::midpoint(start_pitch, end_pitch);
    let resonance = |frequency: f64, formant: f64, width: f64| {
        1.0 / (1.0 + ((frequency - formant) / width).powi(2))
    };
    let (f1, f2) = syllable.vowel;
    let weights: Vec<f64> = (1..=harmonics)
        .map(|k| {
            let frequency = mean_pitch * k as f64;
            (resonance(frequency, f1, 110.0) + 0.6 * resonance(frequency, f2, 160.0) + 0.06)
                / (k as f64).sqrt()
        })
        .collect();
    let total: f64 = weights.iter().sum();
    let scale = syllable.gain / total.max(f64::EPSILON);
    // The syllable's spectrum is fixed while its pitch glides, so one period of its waveform
    // is computed once and read at the gliding rate.
    let period: Vec<f64> = (0..=PERIOD_SAMPLES)
        .map(|i| {
            let phase = TAU * i as f64 / PERIOD_SAMPLES as f64;
            let value: f64 = weights
                .iter()
                .enumerate()
                .map(|(k, weight)| weight * ((k + 1) as f64 * phase).sin())
                .sum();
            value * scale
        })
        .collect();
    let burst = (len / 6).min((25 * PER_MS) as usize);
    let mut noise = Rng::stream(syllable.noise, 0);
    let mut position = 0.0_f64;
    for (i, sample) in out.iter_mut().enumerate() {
        let t = i as f64 / (len - 1) as f64;
        let pitch = start_pitch + (end_pitch - start_pitch) * t;
        position += PERIOD_SAMPLES as f64 * pitch / f64::from(SAMPLE_RATE);
        if position >= PERIOD_SAMPLES as f64 {
            position -= PERIOD_SAMPLES as f64;
        }
        let index = position as usize;
        let fraction = position - index as f64;
        let value = period[index] + (period[index + 1] - period[index]) * fraction;
        let mut level = envelope(t) * value;
        if i < burst {
            let fade = 1.0 - i as f64 / burst as f64;
            level += envelope(t) * syllable.gain * 0.25 * fade * noise.uniform(-1.0, 1.0);
        }
        *sample += level as f32;
    }
}

/// A tapered (Tukey) window over `t` in `[0, 1]`: a quick rise, a plateau and a longer decay,
/// zero at both ends.
fn envelope(t: f64) -> f64 {
    const RISE: f64 = 0.2;
    const FALL: f64 = 0.35;
    let raised = |x: f64| 0.5 - 0.5 * (std::f64::consts::PI * x).cos();
    if t < RISE {
        raised(t / RISE)
    } else if t > 1.0 - FALL {
        raised((1.0 - t) / FALL)
    } else {
        1.0
    }
}

/// A 16-bit PCM RIFF WAV file of `frames` frames of `channels` interleaved samples.
fn wav(channels: u16, frames: usize, samples: impl Iterator<Item = f32>) -> Vec<u8> {
    let block = u32::from(channels) * 2;
    // The render bound (MAX_DURATION_MS) keeps every size far below 4 GiB.
    let data = u32::try_from(frames as u64 * u64::from(block)).unwrap_or(u32::MAX);
    let mut bytes = Vec::with_capacity(WAV_HEADER_BYTES as usize + data as usize);
    bytes.extend_from_slice(b"RIFF");
    bytes.extend_from_slice(&data.saturating_add(36).to_le_bytes());
    bytes.extend_from_slice(b"WAVE");
    bytes.extend_from_slice(b"fmt ");
    bytes.extend_from_slice(&16u32.to_le_bytes());
    bytes.extend_from_slice(&1u16.to_le_bytes()); // PCM
    bytes.extend_from_slice(&channels.to_le_bytes());
    bytes.extend_from_slice(&SAMPLE_RATE.to_le_bytes());
    bytes.extend_from_slice(&(SAMPLE_RATE * block).to_le_bytes());
    bytes.extend_from_slice(&channels.saturating_mul(2).to_le_bytes());
    bytes.extend_from_slice(&16u16.to_le_bytes());
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&data.to_le_bytes());
    for sample in samples {
        // A float-to-integer `as` saturates, so a mix past full scale clips rather than wraps.
        let [low, high] = ((sample * 32_767.0) as i16).to_le_bytes();
        bytes.push(low);
        bytes.push(high);
    }
    bytes
}

#[cfg(test)]
mod tests {
    //! The files are read back by a decoder written here from the RIFF layout, not by the
    //! writer's own code: a header the writer got wrong would fail these tests.

    use super::*;
    use crate::{DemoConfig, generate};
    use callscope_model::{CallStatus, RecordingStatus, Timestamp};
    use serde_json::json;

    /// A decoded PCM WAV file.
    struct Decoded {
        channels: u16,
        rate: u32,
        /// Samples of each channel.
        tracks: Vec<Vec<i16>>,
    }

    fn le16(bytes: &[u8], at: usize) -> u16 {
        u16::from_le_bytes([bytes[at], bytes[at + 1]])
    }

    fn le32(bytes: &[u8], at: usize) -> u32 {
        u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
    }

    fn decode(bytes: &[u8]) -> Decoded {
        assert_eq!(&bytes[0..4], b"RIFF");
        assert_eq!(le32(bytes, 4) as usize, bytes.len() - 8, "RIFF size");
        assert_eq!(&bytes[8..16], b"WAVEfmt ");
        assert_eq!(le32(bytes, 16), 16, "fmt chunk size");
        assert_eq!(le16(bytes, 20), 1, "PCM");
        let channels = le16(bytes, 22);
        let rate = le32(bytes, 24);
        assert_eq!(le32(bytes, 28), rate * u32::from(channels) * 2, "byte rate");
        assert_eq!(le16(bytes, 32), channels * 2, "block align");
        assert_eq!(le16(bytes, 34), 16, "bits per sample");
        assert_eq!(&bytes[36..40], b"data");
        let data = &bytes[44..];
        assert_eq!(le32(bytes, 40) as usize, data.len(), "data size");
        let mut tracks = vec![Vec::new(); usize::from(channels)];
        for (i, pair) in data.chunks_exact(2).enumerate() {
            tracks[i % usize::from(channels)].push(i16::from_le_bytes([pair[0], pair[1]]));
        }
        Decoded {
            channels,
            rate,
            tracks,
        }
    }

    fn rms(samples: &[i16]) -> f64 {
        if samples.is_empty() {
            return 0.0;
        }
        let sum: f64 = samples.iter().map(|s| f64::from(*s).powi(2)).sum();
        (sum / samples.len() as f64).sqrt()
    }

    /// Spans in samples (8 per ms) of one role's entries.
    fn spans(call: &Call, role: Role) -> Vec<(usize, usize)> {
        call.transcript
            .iter()
            .filter(|e| e.role == role)
            .filter_map(|e| Some((e.start_ms? as usize * 8, e.end_ms? as usize * 8)))
            .collect()
    }

    /// Every sample outside `spans` is silent and each span carries speech: its RMS is
    /// well above the noise floor, and so is that of its first and last quarters (the
    /// sound fills the turn rather than sitting in one corner of it).
    fn assert_speech_only_in(track: &[i16], spans: &[(usize, usize)], what: &str) {
        let mut inside = vec![false; track.len()];
        for &(start, end) in spans {
            assert!(
                end <= track.len(),
                "{what}: span {start}..{end} past the end"
            );
            inside[start..end].iter_mut().for_each(|i| *i = true);
            let span = &track[start..end];
            assert!(
                rms(span) > 500.0,
                "{what}: {start}..{end} rms {}",
                rms(span)
            );
            let quarter = span.len() / 4;
            for part in [&span[..quarter], &span[span.len() - quarter..]] {
                assert!(
                    rms(part) > 150.0,
                    "{what}: {start}..{end} has a silent quarter"
                );
            }
        }
        let loudest_outside = track
            .iter()
            .zip(&inside)
            .filter(|(_, inside)| !**inside)
            .map(|(s, _)| s.unsigned_abs())
            .max()
            .unwrap_or(0);
        assert!(
            loudest_outside <= 1,
            "{what}: {loudest_outside} outside speech"
        );
    }

    fn hand_written() -> Call {
        let call = json!({
            "id": "call-audio-1",
            "organization_id": "org",
            "agent": {"id": "agent-1", "voice": "Salli"},
            "status": "completed",
            "created_at": "2026-03-01T10:00:00Z",
            "updated_at": "2026-03-01T10:00:06Z",
            "duration_ms": 6000,
            "transcript": [
                {"role": "agent", "text": "Hello, this is the clinic calling.", "start_ms": 300, "end_ms": 2100},
                {"role": "user", "text": "Yes?", "start_ms": 2600, "end_ms": 3100},
                {"role": "tool", "text": "lookup({}) -> {}", "start_ms": 3200, "end_ms": 3500},
                {"role": "agent", "text": "Your appointment is tomorrow at nine.", "start_ms": 3700, "end_ms": 5500},
            ],
        });
        match serde_json::from_value(call) {
            Ok(call) => call,
            Err(error) => panic!("the hand-written call: {error}"),
        }
    }

    fn render(call: &Call) -> CallAudio {
        CallAudio::render(call).unwrap_or_else(|| panic!("{}: too long to render", call.id))
    }

    #[test]
    fn a_hand_written_call_sounds_only_where_its_parties_speak() {
        let call = hand_written();
        let audio = render(&call);
        assert_eq!(audio.duration_ms(), 6000);

        let mono = decode(&audio.mono_wav());
        assert_eq!((mono.channels, mono.rate), (1, 8000));
        assert_eq!(mono.tracks[0].len(), 48_000, "6 s at 8 kHz");
        let spoken = [(2400, 16_800), (20_800, 24_800), (29_600, 44_000)];
        assert_speech_only_in(&mono.tracks[0], &spoken, "mono");

        let dual = decode(&audio.dual_wav());
        assert_eq!((dual.channels, dual.rate), (2, 8000));
        assert_speech_only_in(&dual.tracks[0], &[(20_800, 24_800)], "caller (left)");
        assert_speech_only_in(
            &dual.tracks[1],
            &[(2400, 16_800), (29_600, 44_000)],
            "agent (right)",
        );
        assert_eq!(audio.mono_wav().len() as u64, wav_size(6000, 1));
        assert_eq!(audio.dual_wav().len() as u64, wav_size(6000, 2));
        // The same call gives the same bytes.
        assert_eq!(render(&call).dual_wav(), audio.dual_wav());
    }

    #[test]
    fn a_call_too_long_gets_none_entries_past_the_end_lengthen_it_and_reversed_ones_are_silent() {
        let mut call = hand_written();
        call.duration_ms = Some(MAX_DURATION_MS + 1);
        assert!(CallAudio::render(&call).is_none());
        call.duration_ms = Some(4000);
        assert_eq!(
            audio_duration_ms(&call),
            5500,
            "the last entry ends at 5.5 s"
        );
        assert_eq!(render(&call).duration_ms(), 5500);
        // An entry that ends before it starts (which `normalize` would refuse) is silence.
        call.transcript[1].start_ms = Some(3100);
        call.transcript[1].end_ms = Some(2600);
        let mono = decode(&render(&call).mono_wav());
        assert!(mono.tracks[0][20_800..24_800].iter().all(|s| *s == 0));
    }

    #[test]
    fn generated_calls_have_speech_in_every_turn_on_its_speakers_channel() {
        let Some(anchor) = Timestamp::from_millis(1_773_921_600_000) else {
            panic!("2026-03-19T12:00:00Z is representable")
        };
        let config = DemoConfig {
            seed: 5,
            organization_id: "org_demo".to_owned(),
            calls: 120,
            anchor,
            days: 30,
        };
        let mut checked = 0;
        for labelled in generate(&config) {
            let call = &labelled.call;
            let available = call
                .recording
                .as_ref()
                .is_some_and(|r| r.status == Some(RecordingStatus::Available));
            let short = call.duration_ms.is_some_and(|d| d <= 90_000);
            if call.status == CallStatus::InProgress || !available || !short {
                continue;
            }
            let audio = render(call);
            let expected_ms = call.duration_ms.unwrap_or_default();
            assert_eq!(audio.duration_ms(), expected_ms, "{}", call.id);
            let dual = decode(&audio.dual_wav());
            assert_eq!(dual.tracks[0].len() as u64, expected_ms * 8, "{}", call.id);
            let (caller, agent) = (spans(call, Role::User), spans(call, Role::Agent));
            assert_speech_only_in(&dual.tracks[0], &caller, &format!("{} caller", call.id));
            assert_speech_only_in(&dual.tracks[1], &agent, &format!("{} agent", call.id));
            let both: Vec<_> = caller.iter().chain(&agent).copied().collect();
            let mono = decode(&audio.mono_wav());
            assert_speech_only_in(&mono.tracks[0], &both, &format!("{} mono", call.id));
            checked += 1;
            if checked == 15 {
                break;
            }
        }
        assert!(checked >= 10, "only {checked} calls checked");
    }
}
