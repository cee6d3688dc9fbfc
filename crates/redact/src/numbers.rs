//! Phone and card numbers in text: written (`(415) 555-2671`, `4111 1111 1111 1111`) or
//! dictated as speech recognition writes them (`four one five, five five five …`).
//!
//! The text is read as *atoms*: a numeral (digit groups joined by `-` or `.`, maybe after a
//! `+` or inside parentheses), a spoken digit word (`four`, `oh`, `double`, `four-one-five`),
//! or anything else (a word, an identifier, a price, a time), which ends a run. Atoms
//! separated by blanks, and in dictation by one `,` `.` or `-`, form a *run*. A dictated run
//! (one with a digit word, or only single-digit numerals) is judged whole; a written one is
//! searched for the longest valid window of whole atoms, from the earliest atom on. Nothing
//! here allocates, so clean text costs no allocation.

/// What a number is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NumberKind {
    Phone,
    Card,
}

/// Card numbers have 13 to 19 digits (ISO/IEC 7812).
const CARD_DIGITS: std::ops::RangeInclusive<usize> = 13..=19;
/// E.164 allows at most 15 digits; 8 is the shortest international number worth masking.
const INTERNATIONAL_DIGITS: std::ops::RangeInclusive<usize> = 8..=15;
/// A dictated run this long is a phone number (or a card, when it is one).
const DICTATED_PHONE_DIGITS: usize = 10;
/// Digit groups a written window may have: a 19-digit card in groups of 3 needs 7.
const MAX_GROUPS: usize = 8;
/// Characters that make the number after them a price or a reference, never a phone or card.
const TAINTING_PREFIXES: [char; 7] = ['#', '$', '€', '£', '¥', '₹', '№'];
/// Words that make a bare 10- or 11-digit number after them (within two words) a reference:
/// `order 4815162342`, `confirmation number 4815162342`. Formatted numbers are masked anyway.
const REFERENCE_WORDS: &[&str] = &[
    "order",
    "orders",
    "ticket",
    "invoice",
    "confirmation",
    "reference",
    "ref",
    "tracking",
    "booking",
    "reservation",
    "case",
    "claim",
    "policy",
    "transaction",
    "receipt",
    "serial",
    "sku",
    "part",
    "item",
];

/// Calls `found` with the byte range and kind of every phone or card number in `text`, in
/// order of position; the ranges do not overlap.
pub(crate) fn find_numbers(text: &str, mut found: impl FnMut(usize, usize, NumberKind)) {
    let mut next = next_atom(text, 0);
    while let Some(first) = next {
        if first.kind == AtomKind::Other {
            next = next_atom(text, first.end);
            continue;
        }
        let mut run = Run::new(first);
        next = loop {
            let Some(atom) = next_atom(text, run.last.end) else {
                break None;
            };
            if !run.accepts(text, atom) {
                break Some(atom);
            }
            run.push(atom);
        };
        run.report(text, &mut found);
    }
}

/// A spoken word that stands for digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DigitWord {
    Digit(u8),
    /// `double`, `triple`: the next digit, said that many times.
    Repeat(u8),
}

const DIGIT_WORDS: [(&str, DigitWord); 13] = [
    ("zero", DigitWord::Digit(0)),
    ("oh", DigitWord::Digit(0)),
    ("one", DigitWord::Digit(1)),
    ("two", DigitWord::Digit(2)),
    ("three", DigitWord::Digit(3)),
    ("four", DigitWord::Digit(4)),
    ("five", DigitWord::Digit(5)),
    ("six", DigitWord::Digit(6)),
    ("seven", DigitWord::Digit(7)),
    ("eight", DigitWord::Digit(8)),
    ("nine", DigitWord::Digit(9)),
    ("double", DigitWord::Repeat(2)),
    ("triple", DigitWord::Repeat(3)),
];

fn digit_word(word: &str) -> Option<DigitWord> {
    DIGIT_WORDS
        .iter()
        .find(|(spelling, _)| word.eq_ignore_ascii_case(spelling))
        .map(|&(_, meaning)| meaning)
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Atom {
    /// Byte range, including a leading `+` and enclosing parentheses.
    start: usize,
    end: usize,
    kind: AtomKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AtomKind {
    /// Digit groups joined by `-` or `.`; `paren` for a group of 1 to 4 digits in
    /// parentheses (`(415)`, the `(0)` of `+44 (0)20`).
    Numeral { plus: bool, paren: bool },
    /// Digit words joined by `-`.
    Spoken,
    /// Anything else; it ends a run.
    Other,
}

impl Atom {
    fn is_paren(self) -> bool {
        matches!(self.kind, AtomKind::Numeral { paren: true, .. })
    }

    fn is_single_digit(self) -> bool {
        matches!(
            self.kind,
            AtomKind::Numeral {
                plus: false,
                paren: false
            }
        ) && self.end - self.start == 1
    }
}

/// What a compound (words glued by joiners) is made of.
enum Shape {
    Numeral {
        groups: usize,
        first_group_len: usize,
    },
    Spoken,
    Other,
}

/// The first atom at or after `from`, which must be a character boundary that is not inside
/// a word (0 or the end of an earlier atom).
fn next_atom(text: &str, from: usize) -> Option<Atom> {
    let offset = text
        .get(from..)?
        .char_indices()
        .find(|&(_, c)| is_word_char(c))?
        .0;
    let start = from + offset;
    let (end, shape) = scan_compound(text, start);
    let kind_and_range = match shape {
        Shape::Spoken => (AtomKind::Spoken, start, end),
        Shape::Other => (AtomKind::Other, start, end),
        Shape::Numeral {
            groups,
            first_group_len,
        } => numeral_atom(text, start, end, groups == 1 && first_group_len <= 4),
    };
    let (kind, start, end) = kind_and_range;
    Some(Atom { start, end, kind })
}

/// The atom of a numeral compound at `start..end`: with its `+` or parentheses, or `Other`
/// when a `#` or currency sign before it makes it a reference or a price.
fn numeral_atom(
    text: &str,
    start: usize,
    end: usize,
    may_be_paren: bool,
) -> (AtomKind, usize, usize) {
    let before = text[..start].chars().next_back();
    // A `+` counts only when it is not an operator between two operands (`2+14155552671`).
    let plus_at = |index: usize| {
        text[..index].ends_with('+')
            && !text[..index - 1]
                .chars()
                .next_back()
                .is_some_and(is_word_char)
    };
    if before == Some('(') && may_be_paren && text[end..].starts_with(')') {
        let open = start - 1;
        let plus = plus_at(open);
        let atom_start = if plus { open - 1 } else { open };
        return (AtomKind::Numeral { plus, paren: true }, atom_start, end + 1);
    }
    if plus_at(start) {
        return (
            AtomKind::Numeral {
                plus: true,
                paren: false,
            },
            start - 1,
            end,
        );
    }
    if before.is_some_and(|c| TAINTING_PREFIXES.contains(&c)) {
        return (AtomKind::Other, start, end);
    }
    (
        AtomKind::Numeral {
            plus: false,
            paren: false,
        },
        start,
        end,
    )
}

/// The end and shape of the compound starting at `start`: words glued by joiners.
fn scan_compound(text: &str, start: usize) -> (usize, Shape) {
    let mut position = start;
    let (mut numeral, mut spoken) = (true, true);
    let (mut groups, mut first_group_len) = (0, 0);
    loop {
        let word_len = text[position..]
            .char_indices()
            .find(|&(_, c)| !is_word_char(c))
            .map_or(text.len() - position, |(index, _)| index);
        let word = &text[position..position + word_len];
        if !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit()) {
            if groups == 0 {
                first_group_len = word.len();
            }
            groups += 1;
        } else {
            numeral = false;
        }
        spoken &= digit_word(word).is_some();
        position += word_len;
        let Some(joiner) = text[position..].chars().next() else {
            break;
        };
        let after = &text[position + joiner.len_utf8()..];
        if !joins(word, joiner, after) {
            break;
        }
        match joiner {
            '-' => {}
            '.' => spoken = false,
            _ => (numeral, spoken) = (false, false),
        }
        position += joiner.len_utf8();
    }
    let shape = if numeral {
        Shape::Numeral {
            groups,
            first_group_len,
        }
    } else if spoken {
        Shape::Spoken
    } else {
        Shape::Other
    };
    (position, shape)
}

/// Whether `joiner` between `word` and `after` glues them into one compound. Hyphens, dots,
/// apostrophes, `@` and `+` glue any two words, so digits inside identifiers (`ORD-2024-118`,
/// `v1.2`, `a+4155552671`) are never a number of their own. `:` and `/` glue digits only
/// (`10:30`, `12/04/2026`), so `tel:4155552671` and a number in a URL path are still seen;
/// `,` glues a thousands group (`1,234`) but not a list (`4155552671,4155552672`).
fn joins(word: &str, joiner: char, after: &str) -> bool {
    if !after.chars().next().is_some_and(is_word_char) {
        return false;
    }
    let digit_before = word.bytes().last().is_some_and(|b| b.is_ascii_digit());
    let digit_after = after.bytes().next().is_some_and(|b| b.is_ascii_digit());
    match joiner {
        '-' | '.' | '\'' | '’' | '@' | '+' => true,
        ':' | '/' => digit_before && digit_after,
        ',' => {
            let group = after.bytes().take_while(u8::is_ascii_digit).count();
            digit_before && group == 3
        }
        _ => false,
    }
}

/// What separates two atoms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Gap {
    /// One space, or nothing after a parenthesised group: what written numbers use.
    Space,
    /// Blanks with at most one `,` `.` or `-`: what dictation uses.
    Dictated,
    /// Anything else: the run ends.
    Break,
}

fn gap(between: &str, after_paren: bool) -> Gap {
    if between == " " || (between.is_empty() && after_paren) {
        return Gap::Space;
    }
    if between.is_empty() {
        return Gap::Break;
    }
    let mut punctuated = false;
    for c in between.chars() {
        match c {
            ' ' | '\t' => {}
            ',' | '.' | '-' if !punctuated => punctuated = true,
            _ => return Gap::Break,
        }
    }
    Gap::Dictated
}

/// Consecutive atoms that may form one number.
struct Run {
    first: Atom,
    last: Atom,
    atoms: usize,
    /// Some atom is a digit word.
    spoken: bool,
    /// Every atom is a lone digit (`4 1 5 5 …`), as some recognizers write dictation.
    single_digits: bool,
}

impl Run {
    fn new(first: Atom) -> Self {
        Self {
            first,
            last: first,
            atoms: 1,
            spoken: first.kind == AtomKind::Spoken,
            single_digits: first.is_single_digit(),
        }
    }

    fn accepts(&self, text: &str, atom: Atom) -> bool {
        match atom.kind {
            AtomKind::Other | AtomKind::Numeral { plus: true, .. } => false,
            AtomKind::Numeral { .. } | AtomKind::Spoken => {
                gap(&text[self.last.end..atom.start], self.last.is_paren()) != Gap::Break
            }
        }
    }

    fn push(&mut self, atom: Atom) {
        self.last = atom;
        self.atoms += 1;
        self.spoken |= atom.kind == AtomKind::Spoken;
        self.single_digits &= atom.is_single_digit();
    }

    fn report(&self, text: &str, found: &mut impl FnMut(usize, usize, NumberKind)) {
        let (start, end) = (self.first.start, self.last.end);
        if self.spoken || (self.single_digits && self.atoms > 1) {
            if let Some(kind) = Digits::spoken_in(&text[start..end]).dictated_kind() {
                found(start, end, kind);
            }
            return;
        }
        let mut window_start = Some(self.first);
        while let Some(atom) = window_start.filter(|atom| atom.end <= end) {
            window_start = match longest_window(text, atom, end) {
                Some((window_end, kind)) => {
                    found(atom.start, window_end, kind);
                    next_atom(text, window_end)
                }
                None => next_atom(text, atom.end),
            };
        }
    }
}

/// The digits of a number, kept when there are few enough to be a card.
#[derive(Clone, Copy, Debug, Default)]
struct Digits {
    count: usize,
    kept: [u8; 19],
}

impl Digits {
    fn push(&mut self, digit: u8) {
        if let Some(slot) = self.kept.get_mut(self.count) {
            *slot = digit;
        }
        self.count += 1;
    }

    /// The digits, when all were kept.
    fn kept(&self) -> Option<&[u8]> {
        self.kept.get(..self.count)
    }

    /// The digits said in a dictated run: numerals, digit words, `double`/`triple`.
    fn spoken_in(run: &str) -> Self {
        let mut digits = Self::default();
        let mut repeat = 1;
        for word in run.split(|c: char| !is_word_char(c)) {
            match digit_word(word) {
                Some(DigitWord::Repeat(times)) => repeat = times,
                Some(DigitWord::Digit(digit)) => {
                    for _ in 0..repeat {
                        digits.push(digit);
                    }
                    repeat = 1;
                }
                None if word.bytes().all(|b| b.is_ascii_digit()) => {
                    for (index, b) in word.bytes().enumerate() {
                        let times = if index == 0 { repeat } else { 1 };
                        for _ in 0..times {
                            digits.push(b - b'0');
                        }
                    }
                    if !word.is_empty() {
                        repeat = 1;
                    }
                }
                None => {}
            }
        }
        digits
    }

    fn dictated_kind(&self) -> Option<NumberKind> {
        if self.is_card() {
            Some(NumberKind::Card)
        } else {
            (self.count >= DICTATED_PHONE_DIGITS).then_some(NumberKind::Phone)
        }
    }

    /// 13 to 19 digits in an issuer range (2 to 6: Mastercard, Amex, Diners, JCB, Visa,
    /// Discover, UnionPay, Maestro) with a valid Luhn check digit. The range test keeps
    /// nanosecond timestamps and other long counters (which start with 1) out.
    fn is_card(&self) -> bool {
        let Some(digits) = self.kept().filter(|d| CARD_DIGITS.contains(&d.len())) else {
            return false;
        };
        (2..=6).contains(&digits[0]) && luhn_valid(digits)
    }
}

/// The Luhn checksum: from the right, every second digit doubled (minus 9 past 9), the sum a
/// multiple of ten.
fn luhn_valid(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(position, &digit)| {
            let digit = u32::from(digit);
            match (position % 2 == 1, digit * 2) {
                (true, doubled) if doubled > 9 => doubled - 9,
                (true, doubled) => doubled,
                (false, _) => digit,
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The end and kind of the longest valid window of written atoms starting with `first` and
/// ending by `run_end`.
fn longest_window(text: &str, first: Atom, run_end: usize) -> Option<(usize, NumberKind)> {
    let mut window = Window::default();
    let mut atom = first;
    let mut best = None;
    loop {
        if !window.push(text, atom) {
            break;
        }
        if let Some(kind) = window.kind(text) {
            best = Some((atom.end, kind));
        }
        let Some(next) = next_atom(text, atom.end).filter(|next| next.end <= run_end) else {
            break;
        };
        if gap(&text[atom.end..next.start], atom.is_paren()) != Gap::Space {
            break;
        }
        atom = next;
    }
    best
}

/// Written atoms read as one candidate number.
#[derive(Debug, Default)]
struct Window {
    start: usize,
    atoms: usize,
    digits: Digits,
    groups: [usize; MAX_GROUPS],
    group_count: usize,
    plus: bool,
    /// Which group was in parentheses.
    paren_group: Option<usize>,
    dotted: bool,
}

impl Window {
    /// Adds `atom`; false when the window cannot grow into a number any more.
    fn push(&mut self, text: &str, atom: Atom) -> bool {
        let AtomKind::Numeral { plus, paren } = atom.kind else {
            return false;
        };
        if self.atoms == 0 {
            (self.start, self.plus) = (atom.start, plus);
        } else if plus {
            return false;
        }
        if paren {
            if self.paren_group.is_some() {
                return false;
            }
            self.paren_group = Some(self.group_count);
        }
        let mut in_group = false;
        for b in text[atom.start..atom.end].bytes() {
            match b {
                b'0'..=b'9' => {
                    if !in_group {
                        if self.group_count == MAX_GROUPS {
                            return false;
                        }
                        self.group_count += 1;
                        in_group = true;
                    }
                    self.groups[self.group_count - 1] += 1;
                    self.digits.push(b - b'0');
                    if self.digits.count > *CARD_DIGITS.end() {
                        return false;
                    }
                }
                b'.' => (self.dotted, in_group) = (true, false),
                _ => in_group = false,
            }
        }
        self.atoms += 1;
        true
    }

    fn kind(&self, text: &str) -> Option<NumberKind> {
        let digits = self.digits.kept()?;
        let groups = &self.groups[..self.group_count];
        if self.plus {
            return INTERNATIONAL_DIGITS
                .contains(&digits.len())
                .then_some(NumberKind::Phone);
        }
        let north_american = match (groups, self.paren_group) {
            ([3, 3, 4], None | Some(0)) => true,
            ([1, 3, 3, 4], None | Some(1)) => digits[0] == 1,
            _ => false,
        };
        if north_american || self.is_bare_phone(text, digits) {
            return Some(NumberKind::Phone);
        }
        // Bare, or grouped as issuers print them: 4-4-4-4, 4-6-5 (Amex), 4-6-4, 4-4-4-4-3.
        let card_groups = match groups {
            [_] => true,
            [4, middle @ .., last] => {
                middle.iter().all(|len| (4..=6).contains(len)) && (3..=6).contains(last)
            }
            _ => false,
        };
        let card =
            card_groups && self.paren_group.is_none() && !self.dotted && self.digits.is_card();
        card.then_some(NumberKind::Card)
    }

    /// A bare run of 10 digits (11 with a leading 1) is a phone only when it is a plausible
    /// North American number (area code and exchange start with 2 to 9) and no reference
    /// word comes just before it.
    fn is_bare_phone(&self, text: &str, digits: &[u8]) -> bool {
        if self.atoms != 1 || self.group_count != 1 || self.paren_group.is_some() {
            return false;
        }
        let national = match digits {
            [1, rest @ ..] if rest.len() == 10 => rest,
            all if all.len() == 10 => all,
            _ => return false,
        };
        national[0] >= 2 && national[3] >= 2 && !follows_reference_word(text, self.start)
    }
}

/// Whether one of the two words before `start` is a [`REFERENCE_WORDS`] entry.
fn follows_reference_word(text: &str, start: usize) -> bool {
    let mut before = &text[..start];
    for _ in 0..2 {
        before = before.trim_end_matches(|c: char| {
            c.is_whitespace() || matches!(c, ':' | '#' | '-' | '.' | '/' | ',')
        });
        let word_start = before
            .char_indices()
            .rev()
            .find(|&(_, c)| !is_word_char(c))
            .map_or(0, |(index, c)| index + c.len_utf8());
        let word = &before[word_start..];
        if word.is_empty() {
            return false;
        }
        if REFERENCE_WORDS
            .iter()
            .any(|reference| word.eq_ignore_ascii_case(reference))
        {
            return true;
        }
        before = &before[..word_start];
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(text: &str) -> Vec<(&str, NumberKind)> {
        let mut found = Vec::new();
        find_numbers(text, |start, end, kind| {
            found.push((&text[start..end], kind));
        });
        found
    }

    #[test]
    fn luhn_accepts_the_test_numbers_and_refuses_a_changed_digit() {
        let digits = |text: &str| -> Vec<u8> { text.bytes().map(|b| b - b'0').collect() };
        for valid in [
            "4111111111111111",
            "5555555555554444",
            "378282246310005",
            "79927398713",
        ] {
            assert!(luhn_valid(&digits(valid)), "{valid}");
        }
        for invalid in [
            "4111111111111112",
            "5555555555554445",
            "378282246310006",
            "79927398710",
        ] {
            assert!(!luhn_valid(&digits(invalid)), "{invalid}");
        }
    }

    #[test]
    fn atoms_glue_identifiers_and_keep_phone_punctuation() {
        fn atoms(text: &str) -> Vec<(&str, AtomKind)> {
            let mut atoms = Vec::new();
            let mut next = next_atom(text, 0);
            while let Some(atom) = next {
                atoms.push((&text[atom.start..atom.end], atom.kind));
                next = next_atom(text, atom.end);
            }
            atoms
        }
        let numeral = AtomKind::Numeral {
            plus: false,
            paren: false,
        };
        assert_eq!(
            atoms("ORD-2024-118 +44 (415) 10:30 $1,234.50 four-one x9"),
            [
                ("ORD-2024-118", AtomKind::Other),
                (
                    "+44",
                    AtomKind::Numeral {
                        plus: true,
                        paren: false
                    }
                ),
                (
                    "(415)",
                    AtomKind::Numeral {
                        plus: false,
                        paren: true
                    }
                ),
                ("10:30", AtomKind::Other),
                ("1,234.50", AtomKind::Other),
                ("four-one", AtomKind::Spoken),
                ("x9", AtomKind::Other),
            ]
        );
        assert_eq!(
            atoms("tel:4155552671"),
            [("tel", AtomKind::Other), ("4155552671", numeral)]
        );
        assert_eq!(atoms("2+2"), [("2+2", AtomKind::Other)]);
    }

    #[test]
    fn dictated_digits_expand_repeats() {
        let digits = Digits::spoken_in("four one five, double five 5 triple two 6-7 oh");
        assert_eq!(
            digits.kept(),
            Some(&[4, 1, 5, 5, 5, 5, 2, 2, 2, 6, 7, 0][..])
        );
    }

    #[test]
    fn a_card_followed_by_more_digits_is_still_found() {
        assert_eq!(
            numbers("4111 1111 1111 1111 123 and 4111 1111 1111 1111 2026"),
            [
                ("4111 1111 1111 1111", NumberKind::Card),
                ("4111 1111 1111 1111", NumberKind::Card)
            ]
        );
    }

    #[test]
    fn reference_words_within_two_words_keep_a_bare_number() {
        assert_eq!(numbers("order number 4815162342"), []);
        assert_eq!(numbers("Confirmation: 4815162342"), []);
        assert_eq!(
            numbers("my number is 4815162342"),
            [("4815162342", NumberKind::Phone)]
        );
        assert_eq!(
            numbers("order number 481-516-2342"),
            [("481-516-2342", NumberKind::Phone)]
        );
    }
}
