//! Masks personal data in call text: phone numbers, email addresses, payment card numbers
//! and organization-configured patterns become `[PHONE]`, `[EMAIL]`, `[CARD]` and `[NAME]`.
//!
//! An organization's [`RedactionSettings`] compile into a [`Redactor`]; [`Redactor::redact`]
//! masks one text, [`redact_call`], [`redact_event`] and [`redact_json`] mask every
//! free-text place of a call, an event or a JSON value. No I/O.
//!
//! # What is masked in a call
//!
//! - `transcript[].text`, and every string leaf of `transcript[].metadata`;
//! - `flow.path[].request`, `.response` and `.context`: every string leaf (payloads,
//!   headers, url, `user_input`, `output`, execution and altered parameters);
//! - `flow.collected_parameters[]` and `flow.injected_parameters[]`: every string leaf of
//!   `value`, and `value_text`;
//! - `metadata` and `span_tree`: every string leaf;
//! - `analysis.summary`, `analysis.fallback_reason`, `analysis.failure_reason`, and every
//!   string leaf of `analysis.structured_data` and `analysis.scheduled_callback`;
//! - `from_number` and `to_number`, replaced whole by `[PHONE]`, only with
//!   `mask_call_numbers`.
//!
//! Left alone, as structure rather than content: ids (`id`, `organization_id`,
//! `request_ids`, transcript entry ids, flow node ids and types), `agent`, `campaign_id`,
//! `room_name`, `language`, every enum and timestamp, `metrics`, `cost`, `recording` (URLs),
//! parameter `name`/`type`/`entity`/`audio_url`, flow tags, `analysis.outcome`, `transfer`
//! (its `connected_to` is the business's target, not the caller), and `pipeline_config`:
//! it is the deployer's configuration (models, voices, prompt templates), and masking it
//! would make it unreadable without hiding anything the caller said. Only string values are
//! masked: a phone number stored as a JSON number stays. In an event: every string leaf of
//! `payload`, and `failure_cause`.
//!
//! # What is caught
//!
//! - **Email**: `local@domain.tld` with a dot-atom local part (letters, digits, `._%+-`) and a
//!   TLD of two or more letters; dictated `john dot smith at example dot com`, spelled
//!   `j o h n at gmail dot com`, `underscore`/`dash`/`hyphen` in the local part, spoken or
//!   written dots in the domain, when the TLD is a common one (`com net org edu gov mil info
//!   biz io co uk ca de fr es nl au ai app dev`) and the local part is not an ordinary
//!   English word ("visit us at example dot com", "look at the dot com page" are kept).
//! - **Card**: 13–19 digits starting with 2–6 (the issuer ranges of Visa, Mastercard, Amex,
//!   Discover, JCB, Diners, UnionPay, Maestro) with a valid Luhn digit, bare
//!   (`4111111111111111`) or grouped by single spaces or hyphens as issuers print them
//!   (`4111 1111 1111 1111`, `4111-1111-1111-1111`, Amex `3782 822463 10005`: a first group
//!   of 4, then groups of 4–6, the last of 3–6). A written run with a wrong check digit is
//!   left alone.
//! - **Phone**: `+` and 8–15 digits in groups separated by single spaces, dots or hyphens
//!   (`+14155552671`, `+44 20 7946 0958`, `+49 30 1234567`, `+44 (0)20 7946 0958`); North
//!   American 3-3-4 groups with an optional leading 1, whatever the separators
//!   (`(415) 555-2671`, `415-555-2671`, `415.555.2671`, `415 555 2671`, `1-415-555-2671`);
//!   a bare run of 10 digits (11 with a leading 1) only when it is a plausible North
//!   American number (area code and exchange start with 2–9) and neither of the two words
//!   before it is a reference word (`order`, `ticket`, `invoice`, `confirmation`, …).
//! - **Dictated numbers**: digit words as speech recognition writes them (`zero`/`oh`,
//!   `one`…`nine`, `double five`, `triple two`, any case, hyphenated `four-one-five`), mixed
//!   with numerals (`four one five, 555 2671`), separated by blanks with at most one `,`
//!   `.` or `-`; also runs of lone numerals (`4 1 5 5 5 5 2 6 7 1`). The whole run is masked:
//!   as a card when it is one (as above), otherwise as a phone when it has 10 or more digits
//!   (so a dictated card with a wrong check digit still becomes `[PHONE]`).
//! - **Patterns**: every match of each configured regex, after the built-in kinds.
//!
//! Overlapping matches merge into one mask named by the earliest-starting, longest match.
//!
//! # What is not caught, on purpose or not yet
//!
//! - Digits glued to letters or inside identifiers (`ORD-4155552671`, `x4155552671`,
//!   `v1.2.3`), after `#` or a currency sign, in times, dates and thousands (`10:30`,
//!   `12/04/2026`, `1,234`): never a phone or card. So `tel:4155552671` is caught but
//!   `https://x.test/calls/a4155552671` is not.
//! - Local and national numbers without `+` that are not North American: `555-2671`,
//!   `020 7946 0958`, `030 1234567`, `0044 20 7946 0958`.
//! - Ordinary numbers: order ids, `#48213`, times, dates, ISO timestamps, prices,
//!   durations, 4–7 digit codes, years, UUIDs, hex ids, version numbers, IP addresses (an
//!   octet has at most 3 digits, so `192.168.1.1` never has the 3-3-4 shape).
//! - Tens and hundreds words (`five fifty-five`, `eight hundred`), number words in other
//!   languages, full-width digits, and a number split over two transcript entries (each
//!   text is redacted on its own).
//! - Dictated emails with a spelled domain (`at g mail dot com`), an unlisted TLD, or a
//!   one-word local part that is common English (`me at …` when `me` is the whole local
//!   part).
//! - A bare number right before a card or phone may join it (`2024 4111 …`) when the
//!   joined digits happen to form a valid number; a digit word right after a number joins a
//!   dictated run (`415 555 2671, one more thing` masks `, one`).

mod call;
mod email;
mod numbers;
mod redactor;
mod settings;

pub use call::{
    redact_analysis, redact_call, redact_entry, redact_event, redact_json, redact_transfer,
    redact_transfer_report,
};
pub use redactor::Redactor;
pub use settings::{
    CustomPattern, MAX_PATTERN_LEN, MAX_PATTERN_NAME_LEN, MAX_PATTERNS, PATTERN_SIZE_LIMIT,
    PiiKind, RedactionSettings,
};

/// Why a redaction setting was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedactError {
    /// The caller's setting breaks a limit or does not compile. `field` is the JSON path
    /// (`patterns[2].regex`) and the message names the limit, so it can be shown as is.
    #[error("{field}: {message}")]
    InvalidSetting { field: String, message: String },
}

impl RedactError {
    fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidSetting {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The JSON path of the refused field.
    pub fn field(&self) -> &str {
        match self {
            Self::InvalidSetting { field, .. } => field,
        }
    }

    /// Why it was refused, naming the limit it breaks.
    pub fn message(&self) -> &str {
        match self {
            Self::InvalidSetting { message, .. } => message,
        }
    }
}
