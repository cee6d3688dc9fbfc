//! The seeds' call documents as the canonical call's JSON: the inverse of the renderings
//! (DESIGN §2), so calls kept by another platform can be imported. Each function answers
//! the canonical object (without `organization_id`, which the importer sets) or the reason,
//! naming the field, that the document is not one of its kind.

use serde_json::{Map, Value, json};

/// Which kind of document an object is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Shape {
    Canonical,
    /// Seed 001's session document (Vonage AI Studio Insights).
    Vonage,
    /// Seed 004's call.
    Seed004,
}

impl Shape {
    /// The kind an object is by the keys only its kind has; canonical otherwise.
    pub(super) fn of(object: &Map<String, Value>) -> Self {
        let has = |key: &str| object.contains_key(key);
        if has("session_start_time") || has("transcription") || has("account_id") {
            Self::Vonage
        } else if has("transcript_segments")
            || has("call_summary")
            || has("recording_url")
            || (has("duration") && !has("duration_ms"))
            || object.get("transcript").is_some_and(Value::is_string)
        {
            Self::Seed004
        } else {
            Self::Canonical
        }
    }
}

/// The keys of a session document, in seed 001's order. `account_id` is the importer's
/// organization and `api_key` a placeholder; `tags`, `params`, `tags_list` and `params_list`
/// are derived from `flow_data`, so all six are read past.
const VONAGE_KEYS: [&str; 20] = [
    "transcription",
    "account_id",
    "api_key",
    "status",
    "id",
    "language",
    "tags",
    "params",
    "tags_list",
    "params_list",
    "agent_information",
    "source",
    "destination",
    "channel",
    "session_start_time",
    "session_end_time",
    "request_ids",
    "channel_data",
    "flow_data",
    "flow_path",
];

/// Seed 001's session document as a canonical call.
pub(super) fn from_vonage(mut doc: Map<String, Value>) -> Result<Map<String, Value>, String> {
    if let Some(key) = doc.keys().find(|key| !VONAGE_KEYS.contains(&key.as_str())) {
        return Err(format!(
            "`{key}` is not a field of a seed-001 session document"
        ));
    }
    let mut call = Map::new();
    let mut take = |from: &str, to: &str, call: &mut Map<String, Value>| {
        if let Some(value) = doc.remove(from).filter(|v| !v.is_null()) {
            call.insert(to.to_owned(), value);
        }
    };
    for (from, to) in [
        ("id", "id"),
        ("language", "language"),
        ("agent_information", "agent"),
        ("source", "from_number"),
        ("destination", "to_number"),
        ("channel", "channel"),
        ("request_ids", "request_ids"),
        ("session_end_time", "ended_at"),
    ] {
        take(from, to, &mut call);
    }
    let start = doc
        .remove("session_start_time")
        .filter(|v| !v.is_null())
        .ok_or("missing field `session_start_time`")?;
    let updated = call
        .get("ended_at")
        .cloned()
        .unwrap_or_else(|| start.clone());
    call.insert("created_at".into(), start.clone());
    call.insert("started_at".into(), start);
    call.insert("updated_at".into(), updated);

    let mut channel_data = match doc.remove("channel_data") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(data)) => data,
        Some(other) => return Err(format!("channel_data: expected an object, got {other}")),
    };
    let status = doc
        .remove("status")
        .or_else(|| channel_data.remove("call_status"))
        .ok_or("missing field `status`")?;
    let status = match status.as_str() {
        Some("ended") => "completed",
        Some("in_progress" | "started") => "in_progress",
        _ => {
            return Err(format!(
                "status: `{status}` is not a session status: use ended or in_progress"
            ));
        }
    };
    call.insert("status".into(), json!(status));
    for (key, value) in channel_data {
        match key.as_str() {
            "duration" => call.insert("duration_ms".into(), value),
            "status_code" => call.insert("status_code".into(), value),
            "audio_url" if !value.is_null() => call.insert(
                "recording".into(),
                json!({"status": "available", "mono": value}),
            ),
            "audio_url" | "call_status" => None,
            other => {
                return Err(format!(
                    "channel_data.{other}: not a field of seed 001's channel_data"
                ));
            }
        };
    }

    let mut flow = match doc.remove("flow_data") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(data)) => data,
        Some(other) => return Err(format!("flow_data: expected an object, got {other}")),
    };
    if let Some(path) = doc.remove("flow_path").filter(|v| !v.is_null()) {
        flow.insert("path".into(), path);
    }
    if !flow.is_empty() {
        call.insert("flow".into(), Value::Object(flow));
    }

    if let Some(lines) = doc.remove("transcription").filter(|v| !v.is_null()) {
        let Value::Array(lines) = lines else {
            return Err("transcription: expected a list of {speaker: text} objects".into());
        };
        let entries = lines
            .into_iter()
            .enumerate()
            .map(|(at, line)| match line {
                Value::Object(line) if line.len() == 1 => {
                    let (speaker, text) = line.into_iter().next().unwrap_or_default();
                    // Seed 001 keys the agent's lines by its version id (or, in callscope's
                    // rendering, its id): anything but a named role is the agent.
                    let role = match speaker.as_str() {
                        "user" | "system" | "tool" => speaker.as_str(),
                        _ => "agent",
                    };
                    Ok(json!({"role": role, "text": text}))
                }
                _ => Err(format!(
                    "transcription[{at}]: expected one {{speaker: text}} pair"
                )),
            })
            .collect::<Result<Vec<_>, _>>()?;
        call.insert("transcript".into(), Value::Array(entries));
    }
    Ok(call)
}

/// The keys of seed 004's call.
const SEED004_KEYS: [&str; 17] = [
    "id",
    "agent_id",
    "from_number",
    "to_number",
    "direction",
    "status",
    "duration",
    "recording_url",
    "transcript",
    "transcript_segments",
    "sentiment",
    "call_summary",
    "metadata",
    "started_at",
    "ended_at",
    "created_at",
    "updated_at",
];

/// Seed 004's call as a canonical call.
pub(super) fn from_seed004(mut doc: Map<String, Value>) -> Result<Map<String, Value>, String> {
    if let Some(key) = doc.keys().find(|key| !SEED004_KEYS.contains(&key.as_str())) {
        return Err(format!("`{key}` is not a field of a seed-004 call"));
    }
    let mut call = Map::new();
    for key in [
        "id",
        "from_number",
        "to_number",
        "direction",
        "status",
        "metadata",
        "started_at",
        "ended_at",
        "created_at",
        "updated_at",
    ] {
        if let Some(value) = doc.remove(key).filter(|v| !v.is_null()) {
            call.insert(key.to_owned(), value);
        }
    }
    if let Some(agent) = doc.remove("agent_id").filter(|v| !v.is_null()) {
        call.insert("agent".into(), json!({"id": agent}));
    }
    if let Some(campaign) = call
        .get("metadata")
        .and_then(|m| m.get("campaign"))
        .filter(|c| c.is_string())
    {
        call.insert("campaign_id".into(), campaign.clone());
    }
    if !call.contains_key("created_at") {
        let start = call
            .get("started_at")
            .cloned()
            .ok_or("missing field `created_at` (or `started_at`)")?;
        call.insert("created_at".into(), start);
    }
    if !call.contains_key("updated_at") {
        let latest = call
            .get("ended_at")
            .or_else(|| call.get("created_at"))
            .cloned()
            .unwrap_or_default();
        call.insert("updated_at".into(), latest);
    }
    if let Some(duration) = doc.remove("duration").filter(|v| !v.is_null()) {
        let seconds = duration
            .as_f64()
            .filter(|s| s.is_finite() && *s >= 0.0 && *s < 1e12)
            .ok_or_else(|| format!("duration: expected seconds, got {duration}"))?;
        call.insert(
            "duration_ms".into(),
            json!((seconds * 1000.0).round() as u64),
        );
    }
    if let Some(url) = doc.remove("recording_url").filter(|v| !v.is_null()) {
        call.insert(
            "recording".into(),
            json!({"status": "available", "mono": url}),
        );
    }
    let flat = doc.remove("transcript").filter(|v| !v.is_null());
    let transcript = match doc.remove("transcript_segments").filter(|v| !v.is_null()) {
        Some(segments) => segments_transcript(segments)?,
        None => match flat {
            Some(Value::String(text)) => flat_transcript(&text)?,
            Some(other) => return Err(format!("transcript: expected text, got {other}")),
            None => Vec::new(),
        },
    };
    if !transcript.is_empty() {
        call.insert("transcript".into(), Value::Array(transcript));
    }
    let mut analysis = Map::new();
    for (from, to) in [("sentiment", "sentiment"), ("call_summary", "summary")] {
        if let Some(value) = doc.remove(from).filter(|v| !v.is_null()) {
            analysis.insert(to.to_owned(), value);
        }
    }
    if !analysis.is_empty() {
        call.insert("analysis".into(), Value::Object(analysis));
    }
    Ok(call)
}

/// A seed-004 speaker as a role.
fn role(speaker: &str) -> Option<&'static str> {
    match speaker.to_ascii_lowercase().as_str() {
        "caller" | "user" | "customer" => Some("user"),
        "agent" | "assistant" | "bot" => Some("agent"),
        "system" => Some("system"),
        _ => None,
    }
}

/// `transcript_segments` (`speaker`, `text`, `start_time`/`end_time` in seconds) as entries.
fn segments_transcript(segments: Value) -> Result<Vec<Value>, String> {
    let Value::Array(segments) = segments else {
        return Err("transcript_segments: expected a list".into());
    };
    segments
        .into_iter()
        .enumerate()
        .map(|(at, segment)| {
            let speaker = segment["speaker"].as_str().unwrap_or_default();
            let role = role(speaker).ok_or_else(|| {
                format!("transcript_segments[{at}].speaker: `{speaker}` is not caller or agent")
            })?;
            let mut entry = json!({"role": role, "text": segment["text"]});
            for (from, to) in [("start_time", "start_ms"), ("end_time", "end_ms")] {
                match &segment[from] {
                    Value::Null => {}
                    value => {
                        let seconds = value
                            .as_f64()
                            .filter(|s| s.is_finite() && *s >= 0.0 && *s < 1e12)
                            .ok_or_else(|| {
                                format!("transcript_segments[{at}].{from}: expected seconds")
                            })?;
                        entry[to] = json!((seconds * 1000.0).round() as u64);
                    }
                }
            }
            Ok(entry)
        })
        .collect()
}

/// Seed 004's flat transcript, `Speaker: text` paragraphs apart, as entries.
fn flat_transcript(text: &str) -> Result<Vec<Value>, String> {
    text.split("\n\n")
        .map(str::trim)
        .filter(|paragraph| !paragraph.is_empty())
        .map(|paragraph| {
            let (speaker, said) = paragraph.split_once(':').unwrap_or_default();
            let role = role(speaker.trim()).ok_or_else(|| {
                let start: String = paragraph.chars().take(30).collect();
                format!("transcript: `{start}` does not start with `Agent:` or `Caller:`")
            })?;
            Ok(json!({"role": role, "text": said.trim()}))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_told_apart_by_their_own_keys() {
        let shape = |value: Value| Shape::of(value.as_object().unwrap_or(&Map::new()));
        assert_eq!(
            shape(json!({"id": "a", "session_start_time": "2020"})),
            Shape::Vonage
        );
        assert_eq!(shape(json!({"id": "a", "duration": 5})), Shape::Seed004);
        assert_eq!(
            shape(json!({"id": "a", "transcript": "Agent: hi"})),
            Shape::Seed004
        );
        assert_eq!(
            shape(json!({"id": "a", "transcript": []})),
            Shape::Canonical
        );
        assert_eq!(
            shape(json!({"id": "a", "duration_ms": 5})),
            Shape::Canonical
        );
    }

    #[test]
    fn a_flat_transcript_is_read_by_its_speakers() {
        let entries = flat_transcript("Agent: Hello: there.\n\nCaller: Hi.\n\n");
        assert_eq!(
            entries,
            Ok(vec![
                json!({"role": "agent", "text": "Hello: there."}),
                json!({"role": "user", "text": "Hi."}),
            ])
        );
        assert!(
            flat_transcript("Narrator: once")
                .is_err_and(|reason| reason.contains("`Narrator: once`"))
        );
    }
}
