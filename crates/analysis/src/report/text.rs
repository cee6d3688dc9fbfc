//! Text helpers shared by the heuristic analyzers: sentence splitting and cue tables compiled
//! into case-insensitive, word-bounded regexes.

use callscope_model::{Call, Role};
use regex::Regex;

/// Abbreviations whose full stop does not end a sentence ("Dr. Shah").
const ABBREVIATIONS: &[&str] = &["dr", "mr", "mrs", "ms", "st", "sr", "jr", "vs", "no"];

/// The sentences of `text`, trimmed, in order. A sentence ends at `.`, `!` or `?` followed by
/// white space (so "$69.98" and "PX-1.2" stay whole), except after a title like "Dr.".
pub(crate) fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if !matches!(c, '.' | '!' | '?') {
            continue;
        }
        let next_is_space = chars.peek().is_none_or(|(_, next)| next.is_whitespace());
        if !next_is_space {
            continue;
        }
        let candidate = &text[start..at];
        let last_word = candidate
            .rsplit(|ch: char| !ch.is_alphanumeric())
            .next()
            .unwrap_or_default()
            .to_lowercase();
        if c == '.' && ABBREVIATIONS.contains(&last_word.as_str()) {
            continue;
        }
        let end = at + c.len_utf8();
        let sentence = text[start..end].trim();
        if !sentence.is_empty() {
            out.push(sentence);
        }
        start = end;
    }
    let rest = text[start..].trim();
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

/// A case-insensitive regex matching any of `cues` as whole words (a cue may end in a word
/// prefix such as `cancel`, written `cancel\w*`). The cue tables are constants of this
/// crate, so a failure to compile is a programming error caught by the unit tests.
pub(crate) fn cue_regex(cues: &[&str]) -> Regex {
    let alternatives = cues.join("|");
    #[allow(clippy::expect_used)]
    Regex::new(&format!(r"(?i)\b(?:{alternatives})\b")).expect("cue tables are valid regexes")
}

/// Words a person says; the text of every turn by `role`.
pub(crate) fn turns_by(call: &Call, role: Role) -> impl Iterator<Item = &str> {
    call.transcript
        .iter()
        .filter(move |entry| entry.role == role)
        .map(|entry| entry.text.as_str())
}

/// Number of words in `text`.
pub(crate) fn word_count(text: &str) -> usize {
    text.split_whitespace().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_split_at_terminal_punctuation_but_not_inside_numbers_or_titles() {
        assert_eq!(
            sentences("Hi! My bill is $69.98. I saw Dr. Shah today? Thanks"),
            [
                "Hi!",
                "My bill is $69.98.",
                "I saw Dr. Shah today?",
                "Thanks"
            ]
        );
        assert!(sentences("  ").is_empty());
    }

    #[test]
    fn cues_match_whole_words_case_insensitively() {
        let cues = cue_regex(&["cancel\\w*", "call me back"]);
        assert!(cues.is_match("I've CANCELED it"));
        assert!(cues.is_match("please call me back"));
        assert!(!cues.is_match("uncancellable"));
    }
}
