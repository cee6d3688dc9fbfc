//! What callscope reads from an uploaded recording: its container format (from the bytes,
//! not from what the uploader claims) and its duration (from the audio, with symphonia).

use crate::AnalysisError;
use std::path::Path;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

/// The recording formats accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AudioFormat {
    Wav,
    Mp3,
    Ogg,
}

impl AudioFormat {
    /// Recognises a format from the first bytes of a file.
    pub fn sniff(head: &[u8]) -> Option<Self> {
        match head {
            [
                b'R',
                b'I',
                b'F',
                b'F',
                _,
                _,
                _,
                _,
                b'W',
                b'A',
                b'V',
                b'E',
                ..,
            ] => Some(Self::Wav),
            [b'O', b'g', b'g', b'S', ..] => Some(Self::Ogg),
            [b'I', b'D', b'3', ..] => Some(Self::Mp3),
            // An MPEG audio frame header: 11 sync bits.
            [0xFF, second, ..] if second & 0xE0 == 0xE0 => Some(Self::Mp3),
            _ => None,
        }
    }

    pub fn content_type(&self) -> &'static str {
        match self {
            Self::Wav => "audio/wav",
            Self::Mp3 => "audio/mpeg",
            Self::Ogg => "audio/ogg",
        }
    }

    pub fn extension(&self) -> &'static str {
        match self {
            Self::Wav => "wav",
            Self::Mp3 => "mp3",
            Self::Ogg => "ogg",
        }
    }

    /// The format of a stored file's extension.
    pub fn from_extension(extension: &str) -> Option<Self> {
        [Self::Wav, Self::Mp3, Self::Ogg]
            .into_iter()
            .find(|format| format.extension() == extension)
    }
}

/// What a recording's container says of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AudioInfo {
    pub duration_ms: u64,
    /// How many channels the audio track has, when the container says.
    pub channels: Option<usize>,
}

/// Reads the duration and channel count of the recording at `path`. The container's frame
/// count is used when it has one; otherwise (an MP3 without a Xing header, say) the packets
/// are walked and their durations summed, without decoding.
pub fn inspect(path: &Path, format: AudioFormat) -> Result<AudioInfo, AnalysisError> {
    let bad = |what: &str| AnalysisError::BadAudio(what.to_owned());
    let file = std::fs::File::open(path).map_err(|e| bad(&format!("cannot open: {e}")))?;
    let stream = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    hint.with_extension(format.extension());
    let probed = symphonia::default::get_probe()
        .format(
            &hint,
            stream,
            &FormatOptions::default(),
            &MetadataOptions::default(),
        )
        .map_err(|e| bad(&format!("not a readable {} file: {e}", format.extension())))?;
    let mut reader = probed.format;
    let track = reader
        .default_track()
        .ok_or_else(|| bad("the file holds no audio track"))?;
    let params = &track.codec_params;
    let track_id = track.id;
    let channels = params.channels.map(|channels| channels.count());
    let time_base = params
        .time_base
        .or_else(|| {
            params
                .sample_rate
                .map(|rate| symphonia::core::units::TimeBase::new(1, rate))
        })
        .ok_or_else(|| bad("the audio track has no sample rate"))?;
    let frames = match params.n_frames {
        Some(frames) => frames,
        None => {
            let mut total = 0u64;
            while let Ok(packet) = reader.next_packet() {
                if packet.track_id() == track_id {
                    total = total.saturating_add(packet.dur);
                }
            }
            total
        }
    };
    let time = time_base.calc_time(frames);
    Ok(AudioInfo {
        duration_ms: time.seconds.saturating_mul(1000) + (time.frac * 1000.0).round() as u64,
        channels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A PCM WAV file of `samples` silent 16-bit mono samples at `rate` Hz.
    fn wav(rate: u32, samples: u32) -> Vec<u8> {
        let data = samples * 2;
        let mut bytes = Vec::new();
        bytes.extend_from_slice(b"RIFF");
        bytes.extend_from_slice(&(36 + data).to_le_bytes());
        bytes.extend_from_slice(b"WAVEfmt ");
        bytes.extend_from_slice(&16u32.to_le_bytes());
        bytes.extend_from_slice(&1u16.to_le_bytes()); // PCM
        bytes.extend_from_slice(&1u16.to_le_bytes()); // mono
        bytes.extend_from_slice(&rate.to_le_bytes());
        bytes.extend_from_slice(&(rate * 2).to_le_bytes());
        bytes.extend_from_slice(&2u16.to_le_bytes());
        bytes.extend_from_slice(&16u16.to_le_bytes());
        bytes.extend_from_slice(b"data");
        bytes.extend_from_slice(&data.to_le_bytes());
        bytes.resize(bytes.len() + data as usize, 0);
        bytes
    }

    #[test]
    fn a_wav_file_is_recognised_and_timed_from_its_samples() {
        let bytes = wav(8000, 12_000);
        assert_eq!(AudioFormat::sniff(&bytes), Some(AudioFormat::Wav));
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        file.write_all(&bytes).expect("write");
        assert_eq!(
            inspect(file.path(), AudioFormat::Wav),
            Ok(AudioInfo {
                duration_ms: 1500,
                channels: Some(1)
            })
        );
    }

    #[test]
    fn other_bytes_are_not_audio() {
        assert_eq!(AudioFormat::sniff(b"<html>"), None);
        assert_eq!(AudioFormat::sniff(b"OggS\0"), Some(AudioFormat::Ogg));
        assert_eq!(AudioFormat::sniff(b"ID3\x04"), Some(AudioFormat::Mp3));
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        file.write_all(b"RIFF\0\0\0\0WAVEjunk").expect("write");
        assert!(inspect(file.path(), AudioFormat::Wav).is_err());
    }
}
