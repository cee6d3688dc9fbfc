//! Configured extractors: values pulled out of a call's transcript (a regex, or a typed value:
//! date, phone number, email address, number, yes/no answer), merged with the parameters a
//! flow agent collected into the report's `structured_data`.

use crate::AnalysisError;
use callscope_model::{Call, Object, Role, TranscriptEntry};
use chrono::{Datelike, Duration, NaiveDate};
use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};
use std::sync::LazyLock;

/// One value to pull out of a call's transcript, configured per agent.
///
/// Wire form: `{"name": "order", "type": "regex", "pattern": "PX-(\\d+)"}`, or a typed
/// extractor `{"name": "callback_date", "type": "date", "role": "user"}`. `role` says whose
/// words are searched (default: the caller's); `question`, a regex, narrows the search to the
/// first such turn after an other-side turn matching it ("the answer to the question").
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawExtractor", into = "RawExtractor")]
pub struct Extractor {
    /// The key the value is stored under in `structured_data`.
    pub name: String,
    pub kind: ExtractorKind,
    /// Whose words to search; `None` means the caller's (`user`).
    pub role: Option<Role>,
    /// Only the answer to a turn matching this regex (case-insensitive) is searched.
    pub question: Option<String>,
}

/// An extractor's wire form is `RawExtractor`'s.
impl utoipa::PartialSchema for Extractor {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <RawExtractor as utoipa::PartialSchema>::schema()
    }
}

impl utoipa::ToSchema for Extractor {
    fn name() -> std::borrow::Cow<'static, str> {
        <RawExtractor as utoipa::ToSchema>::name()
    }

    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        <RawExtractor as utoipa::ToSchema>::schemas(schemas);
    }
}

/// What an extractor looks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExtractorKind {
    /// The first match of `pattern`: its first capture group when it has one, else the whole
    /// match. Stored as a string.
    Regex { pattern: String },
    /// A calendar date: ISO (`2025-03-03`), spoken (`March 3rd`, `the 3rd of March`, with or
    /// without a year) or relative (`today`, `tomorrow`, `yesterday`, from the call's start).
    /// Stored as `YYYY-MM-DD`.
    Date,
    /// A phone number of 7 to 15 digits; stored as `+` and digits when written with a
    /// country code, else as digits.
    Phone,
    /// An email address, stored lowercased.
    Email,
    /// A number (`$1,200.50` → 1200.5), stored as a JSON number.
    Number,
    /// Whether the answer was yes or no, stored as a boolean.
    YesNo,
}

/// The serialized shape of an [`Extractor`]: a flat object with a `type` tag. A separate
/// struct because serde's `deny_unknown_fields` does not combine with `flatten`, and
/// `try_from` lets every deserialized extractor be validated (a bad regex is refused when the
/// configuration is read, not silently ignored on every call).
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Extractor)]
struct RawExtractor {
    name: String,
    #[serde(rename = "type")]
    kind: KindName,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pattern: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    role: Option<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    question: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = ExtractorType)]
enum KindName {
    Regex,
    Date,
    Phone,
    Email,
    Number,
    YesNo,
}

impl TryFrom<RawExtractor> for Extractor {
    type Error = AnalysisError;

    fn try_from(raw: RawExtractor) -> Result<Self, AnalysisError> {
        let kind = match (raw.kind, raw.pattern) {
            (KindName::Regex, Some(pattern)) => ExtractorKind::Regex { pattern },
            (KindName::Regex, None) => {
                return Err(bad(
                    &raw.name,
                    "pattern",
                    "is required for a regex extractor",
                ));
            }
            (_, Some(_)) => {
                return Err(bad(
                    &raw.name,
                    "pattern",
                    "is only allowed with type `regex`",
                ));
            }
            (KindName::Date, None) => ExtractorKind::Date,
            (KindName::Phone, None) => ExtractorKind::Phone,
            (KindName::Email, None) => ExtractorKind::Email,
            (KindName::Number, None) => ExtractorKind::Number,
            (KindName::YesNo, None) => ExtractorKind::YesNo,
        };
        let extractor = Self {
            name: raw.name,
            kind,
            role: raw.role,
            question: raw.question,
        };
        extractor.validate()?;
        Ok(extractor)
    }
}

impl From<Extractor> for RawExtractor {
    fn from(extractor: Extractor) -> Self {
        let (kind, pattern) = match extractor.kind {
            ExtractorKind::Regex { pattern } => (KindName::Regex, Some(pattern)),
            ExtractorKind::Date => (KindName::Date, None),
            ExtractorKind::Phone => (KindName::Phone, None),
            ExtractorKind::Email => (KindName::Email, None),
            ExtractorKind::Number => (KindName::Number, None),
            ExtractorKind::YesNo => (KindName::YesNo, None),
        };
        Self {
            name: extractor.name,
            kind,
            pattern,
            role: extractor.role,
            question: extractor.question,
        }
    }
}

fn bad(name: &str, field: &'static str, message: impl Into<String>) -> AnalysisError {
    AnalysisError::BadExtractor {
        name: name.to_owned(),
        field,
        message: message.into(),
    }
}

/// Longest accepted extractor name, in bytes; it becomes a JSON key in every report.
const MAX_NAME_LEN: usize = 128;

impl Extractor {
    /// A typed extractor searching the caller's words.
    pub fn new(name: impl Into<String>, kind: ExtractorKind) -> Self {
        Self {
            name: name.into(),
            kind,
            role: None,
            question: None,
        }
    }

    /// Checks what the type cannot: a usable name and patterns that compile. Configuration
    /// loaders call this (deserializing does it too) so that a mistake is reported once, when
    /// the agent is configured, instead of yielding a silently empty value on every call.
    pub fn validate(&self) -> Result<(), AnalysisError> {
        if self.name.trim().is_empty() {
            return Err(bad(&self.name, "name", "must not be empty"));
        }
        if self.name.len() > MAX_NAME_LEN {
            return Err(bad(
                &self.name,
                "name",
                format!(
                    "is {} bytes long; at most {MAX_NAME_LEN} are allowed",
                    self.name.len()
                ),
            ));
        }
        if self.name.chars().any(char::is_control) {
            return Err(bad(
                &self.name,
                "name",
                "must not contain control characters",
            ));
        }
        if let ExtractorKind::Regex { pattern } = &self.kind {
            let regex = Regex::new(pattern)
                .map_err(|e| bad(&self.name, "pattern", format!("is not a valid regex: {e}")))?;
            if regex.captures_len() > 2 {
                return Err(bad(
                    &self.name,
                    "pattern",
                    "has more than one capture group; use (?:…) for the others",
                ));
            }
        }
        if let Some(question) = &self.question {
            question_regex(question)
                .map_err(|e| bad(&self.name, "question", format!("is not a valid regex: {e}")))?;
        }
        Ok(())
    }

    /// The first value this extractor finds in `call`, or `None`. An invalid extractor (one
    /// that `validate` refuses) finds nothing.
    pub fn extract(&self, call: &Call) -> Option<Value> {
        self.find_all(call).into_iter().next()
    }

    /// The last value found, for facts that later turns settle (a callback time).
    pub(crate) fn extract_last(&self, call: &Call) -> Option<Value> {
        self.find_all(call).pop()
    }

    /// Every value found, one per searched turn, in transcript order.
    fn find_all(&self, call: &Call) -> Vec<Value> {
        let role = self.role.unwrap_or(Role::User);
        let compiled = match &self.kind {
            ExtractorKind::Regex { pattern } => match Regex::new(pattern) {
                Ok(regex) => Some(regex),
                Err(_) => return Vec::new(),
            },
            _ => None,
        };
        let question = match self.question.as_deref().map(question_regex) {
            Some(Ok(regex)) => Some(regex),
            Some(Err(_)) => return Vec::new(),
            None => None,
        };
        let reference = call_date(call);
        candidate_turns(&call.transcript, role, question.as_ref())
            .filter_map(|text| match &self.kind {
                ExtractorKind::Regex { .. } => compiled.as_ref().and_then(|regex| {
                    let captures = regex.captures(text)?;
                    let found = captures.get(1).or_else(|| captures.get(0))?;
                    Some(Value::String(found.as_str().to_owned()))
                }),
                ExtractorKind::Date => find_date(text, reference)
                    .map(|date| Value::String(date.format("%Y-%m-%d").to_string())),
                ExtractorKind::Phone => find_phone(text).map(Value::String),
                ExtractorKind::Email => find_email(text).map(Value::String),
                ExtractorKind::Number => find_number(text).map(Value::Number),
                ExtractorKind::YesNo => yes_or_no(text).map(Value::Bool),
            })
            .collect()
    }
}

fn question_regex(question: &str) -> Result<Regex, regex::Error> {
    Regex::new(&format!("(?i){question}"))
}

/// The turns an extractor searches: every turn by `role`, or with a question only the first
/// turn by `role` after each other-side turn matching it.
fn candidate_turns<'a>(
    transcript: &'a [TranscriptEntry],
    role: Role,
    question: Option<&'a Regex>,
) -> impl Iterator<Item = &'a str> {
    let mut asked = question.is_none();
    transcript.iter().filter_map(move |entry| {
        if entry.role == role {
            if asked {
                if question.is_some() {
                    asked = false;
                }
                return Some(entry.text.as_str());
            }
        } else if let Some(question) = question
            && question.is_match(&entry.text)
        {
            asked = true;
        }
        None
    })
}

/// The day relative dates are counted from: the call's start, else its creation.
fn call_date(call: &Call) -> NaiveDate {
    call.started_at.unwrap_or(call.created_at).date()
}

/// The collected parameters (last value per name) and every extractor's value (`null` when it
/// found nothing, so a report always has the configured keys); an extractor overrides a
/// parameter of the same name. `None` when there is neither.
pub fn structured_data(call: &Call, extractors: &[Extractor]) -> Option<Object> {
    let mut data = collected_parameters(call);
    for extractor in extractors {
        data.insert(
            extractor.name.clone(),
            extractor.extract(call).unwrap_or(Value::Null),
        );
    }
    (!data.is_empty()).then_some(data)
}

/// The parameters a flow agent collected, the last value of each name.
pub(crate) fn collected_parameters(call: &Call) -> Object {
    call.last_parameters()
        .into_iter()
        .map(|parameter| (parameter.name.clone(), parameter.value.clone()))
        .collect()
}

/// Compiles a constant pattern of this module; failures are programming errors that the unit
/// tests catch.
fn constant(pattern: &str) -> Regex {
    #[allow(clippy::expect_used)]
    Regex::new(pattern).expect("constant patterns are valid regexes")
}

const MONTHS: &str = "jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|\
                      aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?";

static ISO_DATE: LazyLock<Regex> = LazyLock::new(|| constant(r"\b(\d{4})-(\d{2})-(\d{2})\b"));
static MONTH_DAY: LazyLock<Regex> = LazyLock::new(|| {
    constant(&format!(
        r"(?i)\b({MONTHS})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(\d{{4}})\b)?"
    ))
});
static DAY_MONTH: LazyLock<Regex> = LazyLock::new(|| {
    constant(&format!(
        r"(?i)\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({MONTHS})\b\.?(?:,?\s+(\d{{4}})\b)?"
    ))
});
static RELATIVE_DAY: LazyLock<Regex> =
    LazyLock::new(|| constant(r"(?i)\b(today|tonight|tomorrow|yesterday)\b"));

/// The first date written in `text`; `reference` supplies the year when none is said (the
/// nearest such date to it, so "January 3" said on December 30 is next year's) and the day
/// for relative words.
fn find_date(text: &str, reference: NaiveDate) -> Option<NaiveDate> {
    let mut found: Vec<(usize, NaiveDate)> = Vec::new();
    if let Some(c) = ISO_DATE.captures(text) {
        let date =
            NaiveDate::from_ymd_opt(c[1].parse().ok()?, c[2].parse().ok()?, c[3].parse().ok()?);
        found.extend(date.map(|d| (c.get(0).map_or(0, |m| m.start()), d)));
    }
    for (regex, month_at, day_at) in [(&*MONTH_DAY, 1, 2), (&*DAY_MONTH, 2, 1)] {
        if let Some(c) = regex.captures(text) {
            let month = month_number(&c[month_at]);
            let day: Option<u32> = c[day_at].parse().ok();
            let year: Option<i32> = c.get(3).and_then(|y| y.as_str().parse().ok());
            let date = match (month, day) {
                (Some(month), Some(day)) => spoken_date(year, month, day, reference),
                _ => None,
            };
            found.extend(date.map(|d| (c.get(0).map_or(0, |m| m.start()), d)));
        }
    }
    if let Some(m) = RELATIVE_DAY.find(text) {
        let offset = match m.as_str().to_lowercase().as_str() {
            "tomorrow" => 1,
            "yesterday" => -1,
            _ => 0,
        };
        found.push((m.start(), reference + Duration::days(offset)));
    }
    found
        .into_iter()
        .min_by_key(|(at, _)| *at)
        .map(|(_, date)| date)
}

fn month_number(name: &str) -> Option<u32> {
    let prefix: String = name.to_lowercase().chars().take(3).collect();
    let months = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let index = months.iter().position(|m| *m == prefix)?;
    u32::try_from(index + 1).ok()
}

fn spoken_date(year: Option<i32>, month: u32, day: u32, reference: NaiveDate) -> Option<NaiveDate> {
    if let Some(year) = year {
        return NaiveDate::from_ymd_opt(year, month, day);
    }
    let year = reference.year();
    [year - 1, year, year + 1]
        .into_iter()
        .filter_map(|y| NaiveDate::from_ymd_opt(y, month, day))
        .min_by_key(|date| (*date - reference).num_days().abs())
}

static PHONE: LazyLock<Regex> = LazyLock::new(|| constant(r"(\+)?\d[\d\s().-]{5,}\d"));

/// The first phone number in `text`: a run of 7 to 15 digits with the usual separators.
fn find_phone(text: &str) -> Option<String> {
    PHONE.captures_iter(text).find_map(|c| {
        let whole = c.get(0)?.as_str();
        let digits: String = whole.chars().filter(char::is_ascii_digit).collect();
        if !(7..=15).contains(&digits.len()) {
            return None;
        }
        Some(if c.get(1).is_some() {
            format!("+{digits}")
        } else {
            digits
        })
    })
}

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    constant(
        r"(?i)\b[a-z0-9][a-z0-9._%+-]*@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b",
    )
});

fn find_email(text: &str) -> Option<String> {
    EMAIL.find(text).map(|m| m.as_str().to_lowercase())
}

/// A number not glued to a word or an id ("PX-1234" is not the number 1234).
static NUMBER: LazyLock<Regex> =
    LazyLock::new(|| constant(r"(?:^|[^\w.-])(-?\d(?:[\d,]*\d)?(?:\.\d+)?)\b"));

fn find_number(text: &str) -> Option<Number> {
    NUMBER.captures_iter(text).find_map(|c| {
        let digits = c.get(1)?.as_str().replace(',', "");
        if let Ok(whole) = digits.parse::<i64>() {
            return Some(Number::from(whole));
        }
        digits.parse::<f64>().ok().and_then(Number::from_f64)
    })
}

/// Openings that answer yes and no; checked on the answer's first words only, so that a
/// later "no problem" or "not at all" does not flip it.
const YES: &[&str] = &[
    "yes",
    "yeah",
    "yep",
    "yup",
    "sure",
    "absolutely",
    "definitely",
    "of course",
    "correct",
    "that's right",
    "that is right",
    "certainly",
    "i can",
    "i will",
    "si",
    "sí",
    "claro",
    "vale",
];
const NO: &[&str] = &[
    "no",
    "nope",
    "nah",
    "not really",
    "never",
    "i can't",
    "i cannot",
    "i won't",
    "negative",
];
/// Fillers that may precede the answer.
const FILLERS: &[&str] = &[
    "oh", "um", "uh", "well", "hmm", "actually", "ah", "okay", "ok",
];

/// Whether `text` opens with a yes or a no.
fn yes_or_no(text: &str) -> Option<bool> {
    let lowered = text.to_lowercase();
    let mut words: Vec<&str> = lowered
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | '.' | '!' | '?' | '¿' | '¡'))
        .filter(|w| !w.is_empty())
        .collect();
    while words.len() > 1 && words.first().is_some_and(|w| FILLERS.contains(w)) {
        words.remove(0);
    }
    let opening = words.iter().take(3).copied().collect::<Vec<_>>().join(" ");
    let starts = |cues: &[&str]| {
        cues.iter()
            .any(|cue| opening == *cue || opening.starts_with(&format!("{cue} ")))
    };
    if starts(NO) {
        Some(false)
    } else if starts(YES) {
        Some(true)
    } else if words.len() == 1 && FILLERS.contains(&words[0]) {
        // A bare "okay" agrees.
        Some(true)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::call_with;
    use serde_json::json;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    fn extractor(value: Value) -> Result<Extractor, String> {
        serde_json::from_value(value).map_err(|e| e.to_string())
    }

    #[test]
    fn regex_takes_the_capture_group_or_the_whole_match() {
        let call = call_with(&[
            (Role::Agent, "Your order PX-111 is on its way."),
            (Role::User, "Actually I meant order PX-751137."),
        ]);
        let group = Extractor::new(
            "order",
            ExtractorKind::Regex {
                pattern: r"PX-(\d+)".into(),
            },
        );
        assert_eq!(group.extract(&call), Some(json!("751137")));
        let whole = Extractor::new(
            "order",
            ExtractorKind::Regex {
                pattern: r"PX-\d+".into(),
            },
        );
        assert_eq!(whole.extract(&call), Some(json!("PX-751137")));
        let agent = Extractor {
            role: Some(Role::Agent),
            ..whole
        };
        assert_eq!(agent.extract(&call), Some(json!("PX-111")));
    }

    #[test]
    fn a_bad_regex_or_an_empty_name_is_refused_naming_the_field() {
        let bad_regex = Extractor::new(
            "order",
            ExtractorKind::Regex {
                pattern: "PX-(".into(),
            },
        );
        let message = bad_regex
            .validate()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            message.starts_with("extractor `order`: pattern is not a valid regex"),
            "{message}"
        );
        let message = Extractor::new(" ", ExtractorKind::Date)
            .validate()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(message.contains("name must not be empty"), "{message}");
        let message = extractor(json!({"name": "o", "type": "regex", "pattern": "("}))
            .err()
            .unwrap_or_default();
        assert!(message.contains("extractor `o`: pattern"), "{message}");
        for refused in [
            json!({"name": "o", "type": "regex"}),
            json!({"name": "o", "type": "date", "pattern": "x"}),
            json!({"name": "o", "type": "colour"}),
            json!({"name": "o", "type": "date", "colour": "red"}),
            json!({"name": "o", "type": "date", "question": "(when"}),
        ] {
            assert!(
                extractor(refused.clone()).is_err(),
                "{refused} was accepted"
            );
        }
        assert!(extractor(json!({"name": "o", "type": "regex", "pattern": "(a)(b)"})).is_err());
    }

    #[test]
    fn the_wire_form_round_trips() {
        let wire = json!({"name": "ok", "type": "yes_no", "role": "user", "question": "confirm"});
        let parsed = extractor(wire.clone());
        assert_eq!(
            parsed.clone().ok(),
            Some(Extractor {
                name: "ok".into(),
                kind: ExtractorKind::YesNo,
                role: Some(Role::User),
                question: Some("confirm".into()),
            })
        );
        assert_eq!(
            parsed.ok().and_then(|p| serde_json::to_value(p).ok()),
            Some(wire)
        );
    }

    #[test]
    fn dates_in_iso_spoken_and_relative_forms() {
        let reference = day(2025, 9, 10);
        let cases = [
            ("On 2025-03-03 please", day(2025, 3, 3)),
            ("Victor Campbell, March 3rd, 1984.", day(1984, 3, 3)),
            (
                "Does Thursday, September 18 at 2:30 PM work?",
                day(2025, 9, 18),
            ),
            (
                "on Saturday the 13th of September at 4:45 pm",
                day(2025, 9, 13),
            ),
            ("Let's say Jan 2", day(2026, 1, 2)),
            ("Can we do it tomorrow instead?", day(2025, 9, 11)),
        ];
        for (text, expected) in cases {
            assert_eq!(find_date(text, reference), Some(expected), "{text}");
        }
        assert_eq!(find_date("February 30", reference), None);
        assert_eq!(find_date("No dates here, 2025 maybe", reference), None);
    }

    #[test]
    fn phones_emails_and_numbers() {
        assert_eq!(
            find_phone("Call 512-555-0188 please").as_deref(),
            Some("5125550188")
        );
        assert_eq!(
            find_phone("my cell is +44 7700 900632").as_deref(),
            Some("+447700900632")
        );
        assert_eq!(find_phone("Order 12345"), None);
        assert_eq!(
            find_email("It's Jane.Doe@Example.co.uk, thanks").as_deref(),
            Some("jane.doe@example.co.uk")
        );
        assert_eq!(find_email("at example dot com"), None);
        assert_eq!(
            find_number("About $1,260.50 a month"),
            Number::from_f64(1260.5)
        );
        assert_eq!(
            find_number("Order PX-751137, zip 34765."),
            Some(Number::from(34765))
        );
        assert_eq!(find_number("none"), None);
    }

    #[test]
    fn yes_no_reads_the_opening_of_the_answer() {
        assert_eq!(yes_or_no("Yes, same car."), Some(true));
        assert_eq!(yes_or_no("Oh, absolutely! Thanks"), Some(true));
        assert_eq!(yes_or_no("No, none."), Some(false));
        assert_eq!(yes_or_no("Nope, that's it."), Some(false));
        assert_eq!(yes_or_no("Sí, allí estaré."), Some(true));
        assert_eq!(yes_or_no("I'd like to reschedule"), None);
    }

    #[test]
    fn a_question_narrows_the_search_to_its_answer() {
        let call = call_with(&[
            (Role::Agent, "Do you own your home?"),
            (Role::User, "Yes, we own it."),
            (Role::Agent, "Any claims in the last three years?"),
            (Role::User, "No, none."),
            (Role::Agent, "Anything else?"),
            (Role::User, "No, that's all."),
        ]);
        let claims = Extractor {
            question: Some("claims".into()),
            ..Extractor::new("had_claims", ExtractorKind::YesNo)
        };
        assert_eq!(claims.extract(&call), Some(json!(false)));
        let owner = Extractor::new("owner", ExtractorKind::YesNo);
        assert_eq!(owner.extract(&call), Some(json!(true)));
    }

    #[test]
    fn structured_data_merges_parameters_and_extractors() {
        let mut call = call_with(&[(Role::User, "Reach me at ann@example.com.")]);
        call.flow = serde_json::from_value(json!({"collected_parameters": [
            {"name": "zip", "value": "111"}, {"name": "zip", "value": "222"},
            {"name": "email", "value": "old@example.com"}
        ]}))
        .ok();
        let extractors = [
            Extractor::new("email", ExtractorKind::Email),
            Extractor::new("phone", ExtractorKind::Phone),
        ];
        assert_eq!(
            structured_data(&call, &extractors).map(Value::Object),
            Some(json!({"zip": "222", "email": "ann@example.com", "phone": null}))
        );
        assert_eq!(structured_data(&call_with(&[]), &[]), None);
    }
}
