//! Email addresses in text: written (`john.smith@example.com`) or dictated as speech
//! recognition writes them (`john dot smith at example dot com`).

use regex::{Match, Regex};
use std::sync::LazyLock;

/// A practical subset of RFC 5322: a dot-atom local part, `@`, dot-separated labels and a
/// TLD of two or more letters. Quoted local parts and IP-literal domains are left out.
static WRITTEN: LazyLock<Regex> = LazyLock::new(|| {
    // A constant pattern, compiled by every email test: it cannot fail at run time.
    Regex::new(r"[\w.%+\-]+@(?:[\w\-]+\.)+[A-Za-z]{2,63}")
        .expect("the written email pattern compiles")
});

/// Top-level domains a dictated address may end in. Words that are also English after
/// "dot" (`it`, `in`, `me`, `us`) are left out: "look at the dot in the corner".
const SPOKEN_TLDS: &str = "com|net|org|edu|gov|mil|info|biz|io|co|uk|ca|de|fr|es|nl|au|ai|app|dev";

/// `local at domain dot tld`, where the local part is spelled letters (`j o h n`) or words
/// joined by `dot`, `underscore`, `dash` or `hyphen`, and the domain's dots are spoken or
/// written. Matches are then checked by [`is_plausible_spoken`].
static SPOKEN: LazyLock<Regex> = LazyLock::new(|| {
    let word = r"[a-z0-9][a-z0-9._%+\-]*";
    let label = r"[a-z0-9][a-z0-9\-]*";
    let dot = r"(?:[ \t]+dot[ \t]+|\.)";
    let pattern = format!(
        r"(?i)\b(?:[a-z0-9]\b(?:[ \t]+[a-z0-9]\b)+|{word}(?:[ \t]+(?:dot|underscore|dash|hyphen)[ \t]+{word})*)[ \t]+at[ \t]+{label}(?:{dot}{label})*{dot}(?:{SPOKEN_TLDS})\b"
    );
    // A constant pattern, compiled by every email test: it cannot fail at run time.
    Regex::new(&pattern).expect("the spoken email pattern compiles")
});

/// One-word local parts that are ordinary English before "at": "visit us at example dot
/// com", "I am at amazon dot com", "look at the dot com page". Such a match is a website or
/// a sentence, not an address.
const NOT_A_LOCAL_PART: &[&str] = &[
    "i",
    "im",
    "am",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "being",
    "we",
    "you",
    "they",
    "he",
    "she",
    "it",
    "me",
    "us",
    "them",
    "him",
    "her",
    "who",
    "that",
    "this",
    "there",
    "here",
    "look",
    "looking",
    "looked",
    "visit",
    "visiting",
    "find",
    "found",
    "see",
    "seen",
    "go",
    "going",
    "went",
    "check",
    "shop",
    "shopping",
    "buy",
    "bought",
    "order",
    "ordered",
    "sign",
    "signed",
    "log",
    "logged",
    "apply",
    "register",
    "online",
    "available",
    "listed",
    "posted",
    "out",
    "up",
    "site",
    "website",
    "page",
    "stuff",
    "things",
    "something",
    "anything",
    "everything",
    "nothing",
    "more",
    "info",
    "information",
    "details",
    "live",
    "work",
    "working",
    "stay",
    "meet",
    "arrive",
    "arrived",
    "and",
    "or",
    "but",
    "so",
    "the",
    "a",
    "an",
    "to",
    "of",
    "in",
    "on",
    "for",
    "with",
    "from",
    "by",
    "just",
    "now",
    "still",
];

/// First domain words that make the match a sentence: "at the dot com", "at this dot org".
const NOT_A_DOMAIN: &[&str] = &[
    "the", "a", "an", "this", "that", "my", "your", "our", "their", "his", "her", "its", "some",
    "any",
];

/// Calls `found` with the byte range of every email address in `text`, written ones first
/// and then dictated ones; the two lists may overlap.
pub(crate) fn find_emails(text: &str, mut found: impl FnMut(usize, usize)) {
    if text.contains('@') {
        for address in WRITTEN.find_iter(text) {
            found(address.start(), address.end());
        }
    }
    let mut from = 0;
    while let Some(address) = SPOKEN.find_at(text, from) {
        if is_plausible_spoken(text, address) {
            found(address.start(), address.end());
            from = address.end();
        } else {
            // Try again from the next word: "us at example dot com" is no address, but
            // "visit us at john at example dot com" holds one.
            let first_word = address
                .as_str()
                .find(char::is_whitespace)
                .unwrap_or(address.len());
            from = address.start() + first_word;
        }
    }
}

fn is_plausible_spoken(text: &str, address: Match<'_>) -> bool {
    // "we're at example dot com" would otherwise take `re` as the local part.
    if text[..address.start()].ends_with(['\'', '’']) {
        return false;
    }
    let mut words = address.as_str().split_whitespace();
    let local_words = words
        .by_ref()
        .take_while(|word| !word.eq_ignore_ascii_case("at"))
        .count();
    let domain = words.next().unwrap_or_default();
    let domain_first = domain.split('.').next().unwrap_or_default();
    let single_local = address
        .as_str()
        .split_whitespace()
        .next()
        .unwrap_or_default();
    let ordinary_local = local_words == 1
        && NOT_A_LOCAL_PART
            .iter()
            .any(|word| single_local.eq_ignore_ascii_case(word));
    let ordinary_domain = NOT_A_DOMAIN
        .iter()
        .any(|word| domain_first.eq_ignore_ascii_case(word));
    local_words > 0 && !ordinary_local && !ordinary_domain
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emails(text: &str) -> Vec<&str> {
        let mut found = Vec::new();
        find_emails(text, |start, end| found.push(&text[start..end]));
        found
    }

    #[test]
    fn written_addresses() {
        assert_eq!(
            emails("mail john.smith+calls@example.co.uk, or (ops_2@mail-gw.example.io)."),
            ["john.smith+calls@example.co.uk", "ops_2@mail-gw.example.io"]
        );
        assert_eq!(
            emails("user@localhost, @handle, a@b.c, 10@20"),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn dictated_addresses() {
        assert_eq!(
            emails("it's john dot smith at example dot com thanks"),
            ["john dot smith at example dot com"]
        );
        assert_eq!(
            emails("email me at j o h n at gmail dot com"),
            ["j o h n at gmail dot com"]
        );
        assert_eq!(
            emails("Sales underscore team at acme.co dot uk."),
            ["Sales underscore team at acme.co dot uk"]
        );
        assert_eq!(
            emails("write to mary at example.com please"),
            ["mary at example.com"]
        );
    }

    #[test]
    fn ordinary_english_with_at_and_dot_is_no_address() {
        for text in [
            "look at the dot on the screen",
            "visit us at example dot com",
            "I am at amazon dot com right now",
            "we're at example dot com",
            "look at the dot com bubble",
            "meet at noon at the station",
            "put a dot in the box at home",
            "I arrived at 5 dot 30",
        ] {
            assert_eq!(emails(text), Vec::<&str>::new(), "{text}");
        }
    }
}
