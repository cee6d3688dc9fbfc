//! UTC timestamps: the input forms callscope accepts and the one form it renders.
//!
//! Every time in the canonical model is a [`Timestamp`]: UTC with millisecond precision.
//! Inputs may be RFC 3339 with an offset, a naive ISO date-time (taken as UTC, as seed 001's
//! `2021-01-15T08:09:43.377776`), or a plain date (midnight UTC). Output is always RFC 3339
//! with milliseconds and a `Z`. Precision is cut to milliseconds at parse time so that what is
//! stored, sorted on and rendered are the same instant.

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// An instant in UTC with millisecond precision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

/// Why a time string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid time `{0}`: expected RFC 3339 (2024-01-15T10:30:15Z), an ISO date-time without \
     offset taken as UTC (2021-01-15T08:09:43.377776) or a date (2021-01-15)"
)]
pub struct TimeError(pub String);

impl Timestamp {
    /// The current instant, cut to milliseconds.
    pub fn now() -> Self {
        Self::from_millis(Utc::now().timestamp_millis()).unwrap_or(Self(DateTime::UNIX_EPOCH))
    }

    /// The instant `ms` milliseconds after the Unix epoch, if it is representable.
    pub fn from_millis(ms: i64) -> Option<Self> {
        Utc.timestamp_millis_opt(ms).single().map(Self)
    }

    /// Milliseconds since the Unix epoch; this is how stores keep and compare times.
    pub fn as_millis(&self) -> i64 {
        self.0.timestamp_millis()
    }

    /// Parses any accepted input form (see the module documentation).
    pub fn parse(input: &str) -> Result<Self, TimeError> {
        TimeBound::parse(input).map(|bound| bound.start())
    }

    /// This instant moved by a signed number of milliseconds, saturating at the representable
    /// range.
    pub fn plus_millis(&self, ms: i64) -> Self {
        Self::from_millis(self.as_millis().saturating_add(ms)).unwrap_or(*self)
    }

    /// RFC 3339 with milliseconds and `Z`, the one rendered form.
    pub fn to_rfc3339(&self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    /// The calendar date of this instant in UTC.
    pub fn date(&self) -> NaiveDate {
        self.0.date_naive()
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(value: DateTime<Utc>) -> Self {
        Self::from_millis(value.timestamp_millis()).unwrap_or(Self(value))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_rfc3339())
    }
}

/// Rendered as RFC 3339; the looser input forms are described, since a schema's `date-time`
/// names only the first.
impl utoipa::PartialSchema for Timestamp {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .description(Some(
                "UTC, rendered as RFC 3339 with milliseconds; accepted also as an ISO \
                 date-time without offset (taken as UTC) or a date",
            ))
            .examples(["2024-01-15T10:30:15.000Z"])
            .into()
    }
}

impl utoipa::ToSchema for Timestamp {}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A time given as a query bound, remembering whether it named a whole day.
///
/// A plain date used as the end of a range covers that whole day, as seed 001's
/// `from_date=2020-08-20&to_date=2020-08-20` ("all calls that happened on the 20th") expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeBound {
    /// An exact instant.
    Instant(Timestamp),
    /// A whole UTC day.
    Day(NaiveDate),
}

impl TimeBound {
    /// Parses any accepted input form.
    pub fn parse(input: &str) -> Result<Self, TimeError> {
        let text = input.trim();
        let refuse = || TimeError(input.to_owned());
        if let Ok(with_offset) = DateTime::parse_from_rfc3339(text) {
            return Ok(Self::Instant(with_offset.with_timezone(&Utc).into()));
        }
        const NAIVE_FORMATS: [&str; 4] = [
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%d %H:%M:%S%.f",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M",
        ];
        for format in NAIVE_FORMATS {
            if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
                return Ok(Self::Instant(naive.and_utc().into()));
            }
        }
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(Self::Day)
            .map_err(|_| refuse())
    }

    /// The first instant the bound covers.
    pub fn start(&self) -> Timestamp {
        match self {
            Self::Instant(at) => *at,
            Self::Day(day) => day.and_time(chrono::NaiveTime::MIN).and_utc().into(),
        }
    }

    /// The first instant after the bound: an exact instant covers itself only, a day covers
    /// all of its 24 hours.
    pub fn end_exclusive(&self) -> Timestamp {
        match self {
            Self::Instant(at) => at.plus_millis(1),
            Self::Day(_) => self.start().plus_millis(86_400_000),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(text: &str) -> i64 {
        Timestamp::parse(text)
            .map(|t| t.as_millis())
            .unwrap_or(i64::MIN)
    }

    #[test]
    fn accepts_each_documented_form_as_the_same_instant() {
        // 2021-01-15T08:09:43.377Z is 1610698183377 ms after the epoch (computed by hand:
        // 18642 days * 86400000 + 8h 9m 43.377s).
        let expected = 18_642 * 86_400_000 + (8 * 3600 + 9 * 60 + 43) * 1000 + 377;
        assert_eq!(millis("2021-01-15T08:09:43.377Z"), expected);
        assert_eq!(millis("2021-01-15T10:09:43.377+02:00"), expected);
        assert_eq!(
            millis("2021-01-15T08:09:43.377776"),
            expected,
            "micros are cut"
        );
        assert_eq!(millis("2021-01-15 08:09:43.377"), expected);
        assert_eq!(millis("2021-01-15"), 18_642 * 86_400_000);
    }

    #[test]
    fn renders_rfc3339_with_milliseconds() {
        let at = Timestamp::parse("2024-01-15T10:30:15Z").ok();
        assert_eq!(
            at.map(|t| t.to_rfc3339()).as_deref(),
            Some("2024-01-15T10:30:15.000Z")
        );
    }

    #[test]
    fn refuses_garbage_with_a_message_naming_the_input() {
        let err = Timestamp::parse("yesterday").err().map(|e| e.to_string());
        assert!(err.is_some_and(|m| m.contains("`yesterday`") && m.contains("RFC 3339")));
        assert!(Timestamp::parse("2021-13-01").is_err());
        assert!(Timestamp::parse("2021-02-30").is_err());
    }

    #[test]
    fn a_day_bound_covers_the_whole_day() {
        let Ok(bound) = TimeBound::parse("2020-08-20") else {
            panic!("a plain date is a valid bound");
        };
        assert_eq!(
            bound.end_exclusive().as_millis() - bound.start().as_millis(),
            86_400_000
        );
        let Ok(exact) = TimeBound::parse("2020-08-20T10:00:00Z") else {
            panic!("an instant is a valid bound");
        };
        assert_eq!(
            exact.end_exclusive().as_millis() - exact.start().as_millis(),
            1
        );
    }
}
