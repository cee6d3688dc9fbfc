//! The compiled setting: finds every span to mask in a text and rewrites the text once.

use crate::RedactError;
use crate::email::find_emails;
use crate::numbers::{NumberKind, find_numbers};
use crate::settings::{PiiKind, RedactionSettings};
use regex::Regex;
use std::borrow::Cow;
use std::cmp::Reverse;

/// A [`RedactionSettings`] checked and compiled, ready to mask text. Cheap to share across
/// threads; build it once per setting, not per text.
#[derive(Clone, Debug)]
pub struct Redactor {
    phone: bool,
    email: bool,
    card: bool,
    /// `([NAME], regex)` in configured order.
    patterns: Vec<(String, Regex)>,
    mask_call_numbers: bool,
}

/// What a span becomes. The order is the precedence between spans that start and end at
/// the same place: built-in kinds first, then patterns in configured order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Mask {
    Email,
    Card,
    Phone,
    Pattern(usize),
}

#[derive(Clone, Copy, Debug)]
struct Span {
    start: usize,
    end: usize,
    mask: Mask,
}

impl Redactor {
    /// Checks `settings` (see [`RedactionSettings::validate`]) and compiles them.
    pub fn new(settings: &RedactionSettings) -> Result<Self, RedactError> {
        let patterns = settings.compile_patterns()?;
        let has = |kind| settings.kinds.contains(&kind);
        Ok(Self {
            phone: has(PiiKind::Phone),
            email: has(PiiKind::Email),
            card: has(PiiKind::Card),
            patterns,
            mask_call_numbers: settings.mask_call_numbers,
        })
    }

    /// True when this redactor masks nothing, neither in text nor in a call's numbers.
    pub fn is_off(&self) -> bool {
        !self.masks_text() && !self.mask_call_numbers
    }

    /// Whether [`crate::redact_call`] replaces `from_number` and `to_number`.
    pub fn masks_call_numbers(&self) -> bool {
        self.mask_call_numbers
    }

    fn masks_text(&self) -> bool {
        self.phone || self.email || self.card || !self.patterns.is_empty()
    }

    /// `text` with every detected value replaced by its mask (`[PHONE]`, `[EMAIL]`,
    /// `[CARD]`, `[NAME]`). Borrowed, without allocating, when nothing matched.
    ///
    /// Every detector reads the original text, so a mask is never matched again and masks
    /// never nest. Overlapping spans merge into one mask: the earliest-starting span wins,
    /// the longest among those, then built-in kinds before patterns; the mask covers the
    /// union, so no part of a losing match is left behind.
    pub fn redact<'t>(&self, text: &'t str) -> Cow<'t, str> {
        if !self.masks_text() {
            return Cow::Borrowed(text);
        }
        let mut spans = Vec::new();
        self.find_spans(text, &mut spans);
        if spans.is_empty() {
            return Cow::Borrowed(text);
        }
        spans.sort_unstable_by_key(|span| (span.start, Reverse(span.end), span.mask));
        Cow::Owned(self.rewrite(text, &spans))
    }

    fn find_spans(&self, text: &str, spans: &mut Vec<Span>) {
        if self.email {
            find_emails(text, |start, end| {
                spans.push(Span {
                    start,
                    end,
                    mask: Mask::Email,
                });
            });
        }
        if self.phone || self.card {
            find_numbers(text, |start, end, kind| {
                let (wanted, mask) = match kind {
                    NumberKind::Phone => (self.phone, Mask::Phone),
                    NumberKind::Card => (self.card, Mask::Card),
                };
                if wanted {
                    spans.push(Span { start, end, mask });
                }
            });
        }
        for (index, (_, regex)) in self.patterns.iter().enumerate() {
            // Validation refuses patterns that match emptily; one that still does somewhere
            // has nothing to mask there.
            let matches = regex.find_iter(text).filter(|found| !found.is_empty());
            spans.extend(matches.map(|found| Span {
                start: found.start(),
                end: found.end(),
                mask: Mask::Pattern(index),
            }));
        }
    }

    /// `text` with `spans` (sorted by start, longest first) masked.
    fn rewrite(&self, text: &str, spans: &[Span]) -> String {
        let mut masked = String::with_capacity(text.len());
        let mut copied_to = 0;
        let mut spans = spans.iter().peekable();
        while let Some(winner) = spans.next() {
            let mut end = winner.end;
            while let Some(overlapping) = spans.next_if(|span| span.start < end) {
                end = end.max(overlapping.end);
            }
            masked.push_str(&text[copied_to..winner.start]);
            masked.push_str(self.mask_text(winner.mask));
            copied_to = end;
        }
        masked.push_str(&text[copied_to..]);
        masked
    }

    fn mask_text(&self, mask: Mask) -> &str {
        match mask {
            Mask::Email => PiiKind::Email.mask(),
            Mask::Card => PiiKind::Card.mask(),
            Mask::Phone => PiiKind::Phone.mask(),
            Mask::Pattern(index) => self
                .patterns
                .get(index)
                .map_or("[REDACTED]", |(mask, _)| mask.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::CustomPattern;

    const ALL_KINDS: [PiiKind; 3] = [PiiKind::Phone, PiiKind::Email, PiiKind::Card];

    fn redactor(kinds: &[PiiKind], patterns: &[(&str, &str)]) -> Redactor {
        let settings = RedactionSettings {
            kinds: kinds.to_vec(),
            patterns: patterns
                .iter()
                .map(|&(name, regex)| CustomPattern {
                    name: name.into(),
                    regex: regex.into(),
                })
                .collect(),
            mask_call_numbers: false,
        };
        Redactor::new(&settings).unwrap_or_else(|error| panic!("{error}"))
    }

    fn redact_all(text: &str) -> String {
        redactor(&ALL_KINDS, &[]).redact(text).into_owned()
    }

    fn assert_masked(cases: &[(&str, &str)]) {
        for &(text, expected) in cases {
            assert_eq!(redact_all(text), expected, "input: {text}");
        }
    }

    #[test]
    fn every_phone_format_is_masked() {
        assert_masked(&[
            ("call +14155552671 now", "call [PHONE] now"),
            ("call (415) 555-2671 now", "call [PHONE] now"),
            ("call (415)555-2671 now", "call [PHONE] now"),
            ("call 415-555-2671 now", "call [PHONE] now"),
            ("call 415.555.2671 now", "call [PHONE] now"),
            ("call 415 555 2671 now", "call [PHONE] now"),
            ("call 1-415-555-2671 now", "call [PHONE] now"),
            ("call 1 (415) 555-2671 now", "call [PHONE] now"),
            ("call +1 415 555 2671 now", "call [PHONE] now"),
            ("call +1 (415) 555-2671 now", "call [PHONE] now"),
            ("call +1-415-555-2671 now", "call [PHONE] now"),
            ("call +44 20 7946 0958 now", "call [PHONE] now"),
            ("call +44 (0)20 7946 0958 now", "call [PHONE] now"),
            ("call +49 30 1234567 now", "call [PHONE] now"),
            ("call +33 1 23 45 67 89 now", "call [PHONE] now"),
            ("call 4155552671 now", "call [PHONE] now"),
            ("call 14155552671 now", "call [PHONE] now"),
            ("(4155552671)", "([PHONE])"),
            ("tel:+14155552671", "tel:[PHONE]"),
            ("tel:4155552671", "tel:[PHONE]"),
            ("4155552671,6505550199", "[PHONE],[PHONE]"),
            ("It's 415-555-2671.", "It's [PHONE]."),
            ("123-456-7890", "[PHONE]"),
        ]);
    }

    #[test]
    fn implausible_bare_numbers_and_digits_in_identifiers_are_no_phone() {
        for text in [
            "1234567890",
            "4150552671",
            "24155552671",
            "ORD-415-555-2671",
            "x4155552671",
            "4155552671ext",
            "#4155552671",
            "$4155552671",
            "+1234567",
            "2+14155552671",
            "555-2671",
            "020 7946 0958",
        ] {
            assert_eq!(redact_all(text), text);
        }
    }

    #[test]
    fn luhn_valid_cards_are_masked_in_every_format() {
        assert_masked(&[
            ("card 4111111111111111.", "card [CARD]."),
            ("card 4111 1111 1111 1111.", "card [CARD]."),
            ("card 4111-1111-1111-1111.", "card [CARD]."),
            ("card 5555555555554444.", "card [CARD]."),
            ("card 5555 5555 5555 4444.", "card [CARD]."),
            ("card 378282246310005.", "card [CARD]."),
            ("card 3782 822463 10005.", "card [CARD]."),
            ("card 3782-822463-10005.", "card [CARD]."),
            ("card 6011111111111117.", "card [CARD]."),
            ("card 6011 1111 1111 1117.", "card [CARD]."),
            ("card 4222222222222.", "card [CARD]."),
        ]);
    }

    #[test]
    fn a_changed_digit_leaves_a_written_card_alone() {
        for text in [
            "card 4111111111111112.",
            "card 4111 1111 1111 1121.",
            "card 4111-1111-1111-1110.",
            "card 5555555555554445.",
            "card 5555 5555 5555 4440.",
            "card 378282246310006.",
            "card 3782 822463 10006.",
            "card 6011111111111118.",
            "card 6011 1111 1111 1118.",
        ] {
            assert_eq!(redact_all(text), text);
        }
    }

    #[test]
    fn emails_written_and_dictated() {
        assert_masked(&[
            ("write to john.smith@example.com.", "write to [EMAIL]."),
            ("<ops+calls@mail.example.co.uk>", "<[EMAIL]>"),
            ("it's john dot smith at example dot com", "it's [EMAIL]"),
            (
                "email me at jane at gmail dot com ok",
                "email me at [EMAIL] ok",
            ),
            ("it is j o h n at gmail dot com", "it is [EMAIL]"),
            ("look at the dot on the map", "look at the dot on the map"),
            ("visit us at example dot com", "visit us at example dot com"),
        ]);
    }

    #[test]
    fn dictated_phones_and_cards_mask_the_whole_span() {
        assert_masked(&[
            (
                "my number is four one five five five five two six seven one thanks",
                "my number is [PHONE] thanks",
            ),
            ("it's four one five, 555 2671.", "it's [PHONE]."),
            (
                "Four-one-five, five-five-five, two-six-seven-oh.",
                "[PHONE].",
            ),
            (
                "four one five double five five two six seven one",
                "[PHONE]",
            ),
            ("six five oh, triple five, oh one nine nine", "[PHONE]"),
            ("4 1 5 5 5 5 2 6 7 1", "[PHONE]"),
            (
                "plus one four one five five five five two six seven one",
                "plus [PHONE]",
            ),
            (
                "card is four one one one one one one one one one one one one one one one ok",
                "card is [CARD] ok",
            ),
            (
                "three seven eight two, eight two two four six three, one oh oh oh five",
                "[CARD]",
            ),
            // A wrong check digit: not a card, but ten or more dictated digits are a phone.
            (
                "four one one one one one one one one one one one one one one two",
                "[PHONE]",
            ),
        ]);
    }

    #[test]
    fn mixed_text() {
        assert_masked(&[(
            "Call me at (415) 555-2671 or mail jane@example.org, card 4111-1111-1111-1111. \
             Or say four one five five five five two six seven one.",
            "Call me at [PHONE] or mail [EMAIL], card [CARD]. Or say [PHONE].",
        )]);
    }

    #[test]
    fn ordinary_numbers_come_back_unchanged_and_borrowed() {
        let redactor = redactor(&ALL_KINDS, &[]);
        for text in [
            "The meeting is at 10:30 tomorrow",
            "Delivered on 2026-12-04",
            "It costs $1,234.50 in total",
            "Your order ORD-2024-118 has shipped",
            "Ticket #48213 is open",
            "Request 550e8400-e29b-41d4-a716-446655440000 failed",
            "Request 12345678-1234-1234-1234-123456789012 failed",
            "Object id 5f7f2f337340dc7249f81406",
            "Started 2026-12-04T10:30:00Z, ended 2026-12-04T10:32:20.123+02:00",
            "From 2026-12-04 10:30:00 to 2026-12-04 11:00:00",
            "I have 2 kids and 3 dogs",
            "I'm in room 1204",
            "call me at 5",
            "Version 1.2.3 is out",
            "Servers 192.168.1.1, 10.0.0.254 and 192.168.100.1:8080",
            "I'm free between 9 and 5",
            "Your code is 482913",
            "The PIN is 1234567",
            "It took 2h 30m, about 150 minutes",
            "Back in 1999 and again in 2024",
            "That's 1,000,000 dollars or 2,500,000,000 yen",
            "Zip code 94105-1234",
            "Flight UA 1234 leaves at 7:45pm",
            "Order number 4815162342 is ready",
            "Unix time 1700000000 or 1733312345678",
            "Nanoseconds 1733312345678901234",
            "One or two of them, maybe three",
            "Take the 5 train to 42nd street",
            "Score was 3:2 after 90 minutes",
            "Pi is 3.14159",
            "Page 12 of 300, line 4",
            "Temperature -12.5 degrees",
            "Balance: 12345.67 USD",
            "The 7 day trial ends 12/04/2026",
            "Please press one, then two",
            "A double room for two nights",
            "Invoice 2026-0001-3345",
            "Meet at noon at the station",
            "Call 911 now",
        ] {
            let redacted = redactor.redact(text);
            assert!(
                matches!(redacted, Cow::Borrowed(_)),
                "{text} became {redacted}"
            );
        }
    }

    #[test]
    fn only_the_chosen_kinds_are_masked() {
        let text = "415-555-2671, jane@example.org, 4111111111111111";
        let cases: [(&[PiiKind], &str); 4] = [
            (&[], text),
            (
                &[PiiKind::Phone],
                "[PHONE], jane@example.org, 4111111111111111",
            ),
            (&[PiiKind::Email], "415-555-2671, [EMAIL], 4111111111111111"),
            (&[PiiKind::Card], "415-555-2671, jane@example.org, [CARD]"),
        ];
        for (kinds, expected) in cases {
            assert_eq!(redactor(kinds, &[]).redact(text), expected, "{kinds:?}");
        }
    }

    #[test]
    fn configured_patterns_mask_in_order_after_the_built_in_kinds() {
        let redactor = redactor(
            &[PiiKind::Phone],
            &[
                ("ORDER_ID", "ORD-[0-9]{6}"),
                ("INTL", r"\+1[0-9]{10}"),
                ("UPPER", "[A-Z]{5}"),
                ("EXTENSION", "2671 ext [0-9]+"),
                ("ACCOUNT", "(?i)acct-[0-9]+"),
            ],
        );
        assert_masked_by(
            &redactor,
            &[
                ("order ORD-123456 shipped", "order [ORDER_ID] shipped"),
                // The same span: the built-in kind wins.
                ("call +14155552671", "call [PHONE]"),
                // A mask is never matched again: `PHONE` is five capitals.
                ("call 415-555-2671", "call [PHONE]"),
                ("HELLO there", "[UPPER] there"),
                // Overlapping spans merge; the earliest-starting one names the mask.
                ("dial 415-555-2671 ext 22 please", "dial [PHONE] please"),
                ("ACCT-4155552671 and acct-77", "[ACCOUNT] and [ACCOUNT]"),
            ],
        );
    }

    fn assert_masked_by(redactor: &Redactor, cases: &[(&str, &str)]) {
        for &(text, expected) in cases {
            assert_eq!(redactor.redact(text), expected, "input: {text}");
        }
    }

    #[test]
    fn an_off_redactor_borrows_everything() {
        let off = redactor(&[], &[]);
        assert!(off.is_off());
        assert!(matches!(off.redact("415-555-2671"), Cow::Borrowed(_)));
        let clean = redactor(&ALL_KINDS, &[("X", "secret")]);
        assert!(!clean.is_off());
        assert!(matches!(
            clean.redact("nothing to hide here"),
            Cow::Borrowed(_)
        ));
        assert!(matches!(clean.redact(""), Cow::Borrowed(_)));
    }

    #[test]
    fn unicode_text_around_matches_is_kept() {
        assert_masked(&[
            ("Ünïcödé: 415-555-2671 — ok ✓", "Ünïcödé: [PHONE] — ok ✓"),
            ("jöhn@exämple.com", "[EMAIL]"),
            ("четыре 4155552671", "четыре [PHONE]"),
        ]);
    }

    /// A tiny xorshift64 generator: the property test needs repeatable randomness only.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }

        fn below(&mut self, bound: usize) -> usize {
            (self.next() % bound as u64) as usize
        }

        fn pick<'a>(&mut self, choices: &[&'a str]) -> &'a str {
            choices[self.below(choices.len())]
        }

        fn digits(&mut self, count: usize) -> String {
            (0..count)
                .map(|_| char::from(b'0' + self.below(10) as u8))
                .collect()
        }

        /// A digit from 2 to 9, as North American area codes and exchanges start.
        fn leading_digit(&mut self) -> char {
            char::from(b'2' + self.below(8) as u8)
        }
    }

    /// Phrases that must come back as they are. None starts with a numeral or a digit word,
    /// so a planted value's trailing punctuation cannot join them to it.
    const ORDINARY: [&str; 24] = [
        "The meeting is at 10:30 tomorrow.",
        "Delivered on 2026-12-04",
        "it costs $1,234.50 in total",
        "your order ORD-2024-118 has shipped",
        "ticket #48213 is open",
        "request 550e8400-e29b-41d4-a716-446655440000 failed",
        "object 5f7f2f337340dc7249f81406",
        "started 2026-12-04T10:30:00Z",
        "I have 2 kids and 3 dogs",
        "room 1204",
        "call me at 5",
        "version 1.2.3",
        "server 192.168.1.1",
        "between 9 and 5",
        "code 482913",
        "in 1999",
        "zip 94105-1234",
        "look at the dot",
        "Order number 4815162342 is ready",
        "press one, then two",
        "a double room",
        "pay 2,500 dollars",
        "see you soon!",
        "thanks, bye",
    ];

    const SPOKEN_DIGITS: [&str; 10] = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    ];

    fn spoken(rng: &mut XorShift, digits: &str) -> String {
        let words: Vec<&str> = digits
            .bytes()
            .map(|b| match b {
                b'0' => rng.pick(&["zero", "oh"]),
                other => SPOKEN_DIGITS[usize::from(other - b'0')],
            })
            .collect();
        let mut text = String::new();
        for (index, word) in words.iter().enumerate() {
            if index > 0 {
                text.push_str(rng.pick(&[" ", " ", " ", ", ", "-"]));
            }
            text.push_str(word);
        }
        text
    }

    /// A phone number in one of the formats the crate documents.
    fn planted_phone(rng: &mut XorShift) -> String {
        let area = format!("{}{}", rng.leading_digit(), rng.digits(2));
        let exchange = format!("{}{}", rng.leading_digit(), rng.digits(2));
        let line = rng.digits(4);
        match rng.below(12) {
            0 => format!("+1{area}{exchange}{line}"),
            1 => format!("({area}) {exchange}-{line}"),
            2 => format!("{area}-{exchange}-{line}"),
            3 => format!("{area}.{exchange}.{line}"),
            4 => format!("{area} {exchange} {line}"),
            5 => format!("1-{area}-{exchange}-{line}"),
            6 => format!("+1 {area} {exchange} {line}"),
            7 => format!("{area}{exchange}{line}"),
            8 => format!("+44 20 {} {}", rng.digits(4), rng.digits(4)),
            9 => format!("+49 30 {}", rng.digits(7)),
            10 => spoken(rng, &format!("{area}{exchange}{line}")),
            _ => format!("{}, {exchange} {line}", spoken(rng, &area)),
        }
    }

    /// A Luhn-valid card number of a real issuer range, in one of the documented formats.
    fn planted_card(rng: &mut XorShift) -> String {
        let amex = rng.below(4) == 0;
        let prefix = if amex {
            rng.pick(&["34", "37"]).to_owned()
        } else {
            rng.pick(&["4", "51", "55", "6011", "2221"]).to_owned()
        };
        let length = if amex { 15 } else { 16 };
        let body = format!("{prefix}{}", rng.digits(length - 1 - prefix.len()));
        // The check digit makes the Luhn sum of body and digit a multiple of ten.
        let sum: u32 = body
            .bytes()
            .rev()
            .enumerate()
            .map(|(position, b)| {
                let digit = u32::from(b - b'0');
                if position % 2 == 0 {
                    let doubled = digit * 2;
                    doubled / 10 + doubled % 10
                } else {
                    digit
                }
            })
            .sum();
        let number = format!("{body}{}", (10 - sum % 10) % 10);
        let groups: Vec<&str> = if amex {
            vec![&number[..4], &number[4..10], &number[10..]]
        } else {
            vec![&number[..4], &number[4..8], &number[8..12], &number[12..]]
        };
        match rng.below(4) {
            0 => number.clone(),
            1 => groups.join(" "),
            2 => groups.join("-"),
            _ => spoken(rng, &number),
        }
    }

    fn planted_email(rng: &mut XorShift) -> String {
        let first = rng.pick(&["john", "maria", "li", "ahmed", "olga"]);
        let last = rng.pick(&["smith", "garcia", "wong", "k", "novak"]);
        let domain = rng.pick(&["example", "mail-host", "acme"]);
        let tld = rng.pick(&["com", "org", "co.uk", "io"]);
        match rng.below(3) {
            0 => format!("{first}.{last}@{domain}.{tld}"),
            1 => format!("{first}_{}@{domain}.{tld}", rng.digits(2)),
            _ => format!(
                "{first} dot {last} at {domain} dot {}",
                tld.replace('.', " dot ")
            ),
        }
    }

    #[test]
    fn random_text_loses_every_planted_value_and_keeps_every_ordinary_phrase() {
        let redactor = redactor(&ALL_KINDS, &[]);
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        for _ in 0..600 {
            let (mut text, mut expected) = (String::new(), String::new());
            let mut planted = Vec::new();
            for segment in 0..(4 + rng.below(8)) {
                if segment > 0 {
                    text.push(' ');
                    expected.push(' ');
                }
                if rng.below(3) > 0 {
                    let phrase = rng.pick(&ORDINARY);
                    text.push_str(phrase);
                    expected.push_str(phrase);
                    continue;
                }
                let (value, mask) = match rng.below(3) {
                    0 => (planted_phone(&mut rng), "[PHONE]"),
                    1 => (planted_card(&mut rng), "[CARD]"),
                    _ => (planted_email(&mut rng), "[EMAIL]"),
                };
                let lead = rng.pick(&["is", "call", "number", "reach me on", "it's", "use"]);
                let trail = rng.pick(&["", ".", "?", " and", " thanks", "!"]);
                text.push_str(&format!("{lead} {value}{trail}"));
                expected.push_str(&format!("{lead} {mask}{trail}"));
                planted.push(value);
            }
            let redacted = redactor.redact(&text);
            assert_eq!(redacted, expected, "input: {text}");
            for value in &planted {
                assert!(
                    !redacted.contains(value.as_str()),
                    "{value} left in {redacted}"
                );
            }
        }
    }
}
