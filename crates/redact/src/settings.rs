//! The organization's redaction setting, as stored and as sent over the API, and the limits
//! a configured pattern must keep.

use crate::RedactError;
use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

/// Most configured patterns one setting may hold.
pub const MAX_PATTERNS: usize = 16;
/// Longest pattern name, in characters (all ASCII).
pub const MAX_PATTERN_NAME_LEN: usize = 32;
/// Longest pattern source, in bytes.
pub const MAX_PATTERN_LEN: usize = 512;
/// Most memory one compiled pattern (and, separately, its lazy DFA cache) may use, in bytes:
/// a short source such as `(?:\w{100}){100}` would otherwise compile to gigabytes.
pub const PATTERN_SIZE_LIMIT: usize = 1 << 20;

/// What an organization masks. Every field defaults, and the default masks nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedactionSettings {
    /// The built-in detectors to run.
    #[serde(default)]
    pub kinds: Vec<PiiKind>,
    /// Organization-specific patterns, applied after the built-in kinds, in order.
    #[serde(default)]
    pub patterns: Vec<CustomPattern>,
    /// Replace the call's `from_number` and `to_number` with `[PHONE]`.
    #[serde(default)]
    pub mask_call_numbers: bool,
}

/// A built-in detector.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PiiKind {
    Phone,
    Email,
    Card,
}

impl PiiKind {
    /// The text that replaces a match.
    pub fn mask(self) -> &'static str {
        match self {
            Self::Phone => "[PHONE]",
            Self::Email => "[EMAIL]",
            Self::Card => "[CARD]",
        }
    }
}

/// A configured pattern: every match of `regex` becomes `[name]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomPattern {
    /// 1 to 32 characters of `A-Z`, `0-9` and `_`.
    pub name: String,
    /// Rust `regex` syntax, at most 512 bytes.
    pub regex: String,
}

impl RedactionSettings {
    /// True when these settings would mask nothing at all.
    pub fn is_off(&self) -> bool {
        self.kinds.is_empty() && self.patterns.is_empty() && !self.mask_call_numbers
    }

    /// Checks every limit and compiles every pattern; the error names the field and the limit.
    pub fn validate(&self) -> Result<(), RedactError> {
        self.compile_patterns().map(drop)
    }

    /// The patterns compiled, with the mask each match becomes.
    pub(crate) fn compile_patterns(&self) -> Result<Vec<(String, Regex)>, RedactError> {
        if self.patterns.len() > MAX_PATTERNS {
            return Err(RedactError::invalid(
                "patterns",
                format!(
                    "more than the {MAX_PATTERNS} patterns a setting may have ({} given)",
                    self.patterns.len()
                ),
            ));
        }
        self.patterns
            .iter()
            .enumerate()
            .map(|(position, pattern)| {
                let field = |name: &str| format!("patterns[{position}].{name}");
                check_name(&pattern.name)
                    .map_err(|message| RedactError::invalid(field("name"), message))?;
                let regex = compile(&pattern.regex)
                    .map_err(|message| RedactError::invalid(field("regex"), message))?;
                Ok((format!("[{}]", pattern.name), regex))
            })
            .collect()
    }
}

fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if name.chars().count() > MAX_PATTERN_NAME_LEN {
        return Err(format!(
            "longer than the {MAX_PATTERN_NAME_LEN} characters a name may have"
        ));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(format!(
            "`{name}` may only contain A-Z, 0-9 and _ (it is shown as [{name}])"
        ));
    }
    Ok(())
}

/// Probes on which a pattern must not find an empty match. `regex` cannot say statically
/// whether a pattern can match nothing, and `\b` or `(?m)$` match emptily only beside a
/// character, so `""` alone would let them through.
const EMPTY_MATCH_PROBES: [&str; 6] = ["", " ", "a", "0", "a b", "-\n-"];

fn compile(source: &str) -> Result<Regex, String> {
    if source.len() > MAX_PATTERN_LEN {
        return Err(format!(
            "longer than the {MAX_PATTERN_LEN} bytes a pattern may have"
        ));
    }
    let regex = RegexBuilder::new(source)
        .size_limit(PATTERN_SIZE_LIMIT)
        .dfa_size_limit(PATTERN_SIZE_LIMIT)
        .build()
        .map_err(|error| match error {
            regex::Error::CompiledTooBig(_) => format!(
                "compiles to more than the {} MiB a pattern may use",
                PATTERN_SIZE_LIMIT >> 20
            ),
            other => format!("not a valid regular expression: {other}"),
        })?;
    let matches_empty = EMPTY_MATCH_PROBES
        .iter()
        .any(|probe| regex.find_iter(probe).any(|found| found.is_empty()));
    if matches_empty {
        return Err("matches the empty string; a pattern must match at least one character".into());
    }
    Ok(regex)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(json: &str) -> RedactionSettings {
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"))
    }

    fn refusal(patterns: Vec<CustomPattern>) -> String {
        let settings = RedactionSettings {
            patterns,
            ..RedactionSettings::default()
        };
        match settings.validate() {
            Ok(()) => panic!("{settings:?} was accepted"),
            Err(error) => error.to_string(),
        }
    }

    fn pattern(name: &str, regex: &str) -> CustomPattern {
        CustomPattern {
            name: name.into(),
            regex: regex.into(),
        }
    }

    #[test]
    fn the_documented_json_parses_and_the_empty_object_is_off() {
        let parsed = settings(
            r#"{"kinds": ["phone", "email", "card"],
                "patterns": [{"name": "ORDER_ID", "regex": "ORD-[0-9]{6}"}],
                "mask_call_numbers": false}"#,
        );
        assert_eq!(
            parsed.kinds,
            [PiiKind::Phone, PiiKind::Email, PiiKind::Card]
        );
        assert_eq!(parsed.patterns, [pattern("ORDER_ID", "ORD-[0-9]{6}")]);
        assert!(!parsed.is_off());
        assert!(parsed.validate().is_ok());

        let off = settings("{}");
        assert_eq!(off, RedactionSettings::default());
        assert!(off.is_off());
        assert!(!settings(r#"{"mask_call_numbers": true}"#).is_off());
    }

    #[test]
    fn unknown_fields_and_kinds_are_refused() {
        assert!(serde_json::from_str::<RedactionSettings>(r#"{"kind": ["phone"]}"#).is_err());
        assert!(serde_json::from_str::<RedactionSettings>(r#"{"kinds": ["ssn"]}"#).is_err());
        assert!(serde_json::from_str::<RedactionSettings>(r#"{"kinds": ["Phone"]}"#).is_err());
        assert!(
            serde_json::from_str::<RedactionSettings>(
                r#"{"patterns": [{"name": "A", "regex": "a", "flags": "i"}]}"#
            )
            .is_err()
        );
    }

    #[test]
    fn settings_round_trip_through_json() {
        let original =
            settings(r#"{"kinds": ["card"], "patterns": [{"name": "X", "regex": "x+"}]}"#);
        let text = serde_json::to_string(&original).unwrap_or_default();
        assert_eq!(
            text,
            r#"{"kinds":["card"],"patterns":[{"name":"X","regex":"x+"}],"mask_call_numbers":false}"#
        );
    }

    #[test]
    fn refusals_name_the_field_and_the_limit() {
        let long = format!("a{}", "b".repeat(MAX_PATTERN_LEN));
        let cases = [
            (
                vec![pattern("A", "a"), pattern("B", "b"), pattern("C", &long)],
                "patterns[2].regex: longer than the 512 bytes a pattern may have",
            ),
            (
                vec![pattern("order", "a")],
                "patterns[0].name: `order` may only contain A-Z, 0-9 and _ (it is shown as [order])",
            ),
            (
                vec![pattern("", "a")],
                "patterns[0].name: must not be empty",
            ),
            (
                vec![pattern(&"A".repeat(33), "a")],
                "patterns[0].name: longer than the 32 characters a name may have",
            ),
            (
                vec![pattern("BIG", r"(?:\w{100}){100}")],
                "patterns[0].regex: compiles to more than the 1 MiB a pattern may use",
            ),
            (
                vec![pattern("A", "a"), pattern("EMPTY", "x*")],
                "patterns[1].regex: matches the empty string; a pattern must match at least one character",
            ),
            (
                vec![pattern("EDGE", r"\b")],
                "patterns[0].regex: matches the empty string; a pattern must match at least one character",
            ),
        ];
        for (patterns, expected) in cases {
            assert_eq!(refusal(patterns), expected);
        }
        let too_many = (0..17).map(|n| pattern(&format!("P{n}"), "p")).collect();
        assert_eq!(
            refusal(too_many),
            "patterns: more than the 16 patterns a setting may have (17 given)"
        );
        let syntax = refusal(vec![pattern("BAD", "ORD-[0-9")]);
        assert!(
            syntax.starts_with("patterns[0].regex: not a valid regular expression"),
            "{syntax}"
        );
    }

    #[test]
    fn limits_themselves_are_accepted() {
        let at_limit = (0..MAX_PATTERNS)
            .map(|n| {
                pattern(
                    &format!("{:_<32}", format!("P{n}")),
                    &"a".repeat(MAX_PATTERN_LEN),
                )
            })
            .collect();
        let settings = RedactionSettings {
            patterns: at_limit,
            ..RedactionSettings::default()
        };
        assert_eq!(settings.validate(), Ok(()));
    }
}
