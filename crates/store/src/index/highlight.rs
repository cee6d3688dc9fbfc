//! Highlighting (`highlight` of a search, Elasticsearch's answer shape): the words of the
//! search's `match` and `match_phrase` clauses marked in the text of each call it returns.
//!
//! The index keeps no text, so the fragments are cut from the calls as read from SQLite. The
//! text is analysed with the index's own analyzer, so a word is marked exactly when the
//! search could have matched it there: `Refund,` for `refund`, not `refunded`. A field's
//! words come from the clauses on fields that share its text (`transcript.text` with each
//! role's field), as Elasticsearch's `require_field_match`.

use super::document::{self, fields_of};
use callscope_model::Call;
use callscope_query::{Highlight, HighlightField, TextClause};
use std::collections::BTreeMap;
use tantivy::tokenizer::TextAnalyzer;

/// Fragments by field, as the request named the fields.
pub(crate) type Highlights = BTreeMap<String, Vec<String>>;

/// What a field's clauses ask to mark: single words, and phrases (words in a row).
#[derive(Default)]
struct Wanted {
    words: Vec<String>,
    phrases: Vec<Vec<String>>,
}

fn words_of(analyzer: &mut TextAnalyzer, text: &str) -> Vec<(String, usize, usize)> {
    let mut stream = analyzer.token_stream(text);
    let mut words = Vec::new();
    while stream.advance() {
        let token = stream.token();
        words.push((token.text.clone(), token.offset_from, token.offset_to));
    }
    words
}

/// The highlights of `call` for `highlight`, the words taken from `clauses`; fields without
/// a marked word are left out.
pub(crate) fn highlight(
    call: &Call,
    highlight: &Highlight,
    clauses: &[TextClause<'_>],
    analyzer: &mut TextAnalyzer,
) -> Highlights {
    let texts = document::texts(call);
    let mut answer = Highlights::new();
    for field in &highlight.fields {
        let indexed = fields_of(&field.field.path);
        let mut wanted = Wanted::default();
        for clause in clauses {
            if !fields_of(&clause.field.path)
                .iter()
                .any(|path| indexed.contains(path))
            {
                continue;
            }
            let words: Vec<String> = words_of(analyzer, clause.text)
                .into_iter()
                .map(|(word, ..)| word)
                .collect();
            if clause.phrase && words.len() > 1 {
                wanted.phrases.push(words);
            } else {
                wanted.words.extend(words);
            }
        }
        if wanted.words.is_empty() && wanted.phrases.is_empty() {
            continue;
        }
        let mut fragments: Vec<(usize, String)> = Vec::new();
        for (_, text) in texts.iter().filter(|(path, _)| indexed.contains(path)) {
            let spans = marked(analyzer, text, &wanted);
            if spans.is_empty() {
                continue;
            }
            fragments.extend(cut(text, &spans, field, highlight));
        }
        if highlight.by_score {
            // Stable: equal scores keep the text's order.
            fragments.sort_by_key(|fragment| std::cmp::Reverse(fragment.0));
        }
        let keep = match field.number_of_fragments {
            0 => usize::MAX,
            n => n,
        };
        let fragments: Vec<String> = fragments
            .into_iter()
            .take(keep)
            .map(|(_, text)| text)
            .collect();
        if !fragments.is_empty() {
            answer.insert(field.name.clone(), fragments);
        }
    }
    answer
}

/// The byte spans of `text` to mark, in order and not overlapping.
fn marked(analyzer: &mut TextAnalyzer, text: &str, wanted: &Wanted) -> Vec<(usize, usize)> {
    let words = words_of(analyzer, text);
    let mut spans: Vec<(usize, usize)> = words
        .iter()
        .filter(|(word, ..)| wanted.words.contains(word))
        .map(|(_, from, to)| (*from, *to))
        .collect();
    for phrase in &wanted.phrases {
        for window in words.windows(phrase.len()) {
            if window
                .iter()
                .zip(phrase)
                .all(|((word, ..), want)| word == want)
            {
                spans.push((window[0].1, window[window.len() - 1].2));
            }
        }
    }
    spans.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
    for (from, to) in spans {
        match merged.last_mut() {
            Some(last) if from <= last.1 => last.1 = last.1.max(to),
            _ => merged.push((from, to)),
        }
    }
    merged
}

/// The fragments of one value, each with its score (the spans it marks).
fn cut(
    text: &str,
    spans: &[(usize, usize)],
    field: &HighlightField,
    highlight: &Highlight,
) -> Vec<(usize, String)> {
    if field.number_of_fragments == 0 || text.len() <= field.fragment_size {
        return vec![(spans.len(), render(text, 0, text.len(), spans, highlight))];
    }
    let mut fragments = Vec::new();
    let mut next = 0;
    while next < spans.len() {
        let (first_from, first_to) = spans[next];
        // Centre the fragment on its first span, within the text.
        let room = field.fragment_size.saturating_sub(first_to - first_from);
        let mut start = first_from.saturating_sub(room / 2);
        let mut end = (start + field.fragment_size).max(first_to).min(text.len());
        start = end.saturating_sub(field.fragment_size).min(start);
        start = word_start(text, start, first_from);
        end = word_end(text, end, first_to);
        let mut last = next;
        while last + 1 < spans.len() && spans[last + 1].1 <= end {
            last += 1;
        }
        let inside = &spans[next..=last];
        fragments.push((inside.len(), render(text, start, end, inside, highlight)));
        next = last + 1;
    }
    fragments
}

/// A fragment start at or after `at` that does not cut a word, and not after `limit`.
fn word_start(text: &str, at: usize, limit: usize) -> usize {
    if at == 0 {
        return 0;
    }
    let mut at = at;
    while !text.is_char_boundary(at) {
        at += 1;
    }
    match text[at..limit.max(at)].find(char::is_whitespace) {
        Some(space) => {
            let after = at + space;
            after + text[after..].chars().next().map_or(0, char::len_utf8)
        }
        None => at,
    }
}

/// A fragment end at or before `at` that does not cut a word, and not before `limit`.
fn word_end(text: &str, at: usize, limit: usize) -> usize {
    if at >= text.len() {
        return text.len();
    }
    let mut at = at;
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    match text[limit.min(at)..at].rfind(char::is_whitespace) {
        Some(space) => limit.min(at) + space,
        None => at,
    }
}

/// `text[start..end]` with each span marked, escaped for HTML when asked.
fn render(
    text: &str,
    start: usize,
    end: usize,
    spans: &[(usize, usize)],
    highlight: &Highlight,
) -> String {
    let escape = |part: &str, out: &mut String| {
        if highlight.escape_html {
            for c in part.chars() {
                match c {
                    '<' => out.push_str("&lt;"),
                    '>' => out.push_str("&gt;"),
                    '&' => out.push_str("&amp;"),
                    '"' => out.push_str("&quot;"),
                    '\'' => out.push_str("&#x27;"),
                    other => out.push(other),
                }
            }
        } else {
            out.push_str(part);
        }
    };
    let mut out = String::with_capacity(end - start + spans.len() * 9);
    let mut at = start;
    for (from, to) in spans {
        let (from, to) = ((*from).max(start), (*to).min(end));
        if from >= to {
            continue;
        }
        escape(&text[at..from], &mut out);
        out.push_str(&highlight.pre_tag);
        escape(&text[from..to], &mut out);
        out.push_str(&highlight.post_tag);
        at = to;
    }
    escape(&text[at..end], &mut out);
    out.trim().to_owned()
}
