//! The list query of `GET /v1/calls`: filters, one sort key with the id as tie-break, and
//! paging by page number or by an opaque keyset cursor.

use crate::{Result, StoreError};
use callscope_model::{CallKind, CallStatus, Timestamp, ValidationError};
use serde::{Deserialize, Serialize};

/// Filters, sort and paging of a call list. Every filter narrows; empty lists mean "any".
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListCalls {
    pub agent_id: Option<String>,
    pub campaign_id: Option<String>,
    pub statuses: Vec<CallStatus>,
    pub kinds: Vec<CallKind>,
    /// Exact call id, or a substring of the from or to number, ignoring ASCII case (SIP
    /// addresses are case-insensitive in their host part and users type them either way).
    pub search: Option<String>,
    /// `created_at` at or after this instant.
    pub created_from: Option<Timestamp>,
    /// `created_at` strictly before this instant.
    pub created_before: Option<Timestamp>,
    pub sort: SortField,
    pub order: SortOrder,
    pub paging: Paging,
}

/// A sortable call field. Calls without a value for it come last in either order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortField {
    #[default]
    CreatedAt,
    UpdatedAt,
    StartedAt,
    EndedAt,
    DurationMs,
}

impl SortField {
    /// Every sortable field with its name in `sort=` parameters.
    pub const NAMES: [(&'static str, SortField); 5] = [
        ("created_at", SortField::CreatedAt),
        ("updated_at", SortField::UpdatedAt),
        ("started_at", SortField::StartedAt),
        ("ended_at", SortField::EndedAt),
        ("duration_ms", SortField::DurationMs),
    ];

    /// The field named `name`, or an error listing the sortable ones.
    pub fn parse(name: &str) -> Result<Self, ValidationError> {
        Self::NAMES
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(_, field)| *field)
            .ok_or_else(|| {
                let known: Vec<_> = Self::NAMES.iter().map(|(known, _)| *known).collect();
                ValidationError::new(
                    "sort",
                    format!(
                        "cannot sort on `{name}`; sortable fields: {}",
                        known.join(", ")
                    ),
                )
            })
    }

    /// The name of this field in `sort=` parameters.
    pub fn name(&self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(_, field)| field == self)
            .map_or("", |(name, _)| name)
    }
}

/// Direction of the sort.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortOrder {
    Asc,
    #[default]
    Desc,
}

/// Which slice of the sorted result to return.
#[derive(Clone, Debug, PartialEq)]
pub enum Paging {
    /// Skip `offset` calls, return up to `limit`.
    Offset { offset: u64, limit: u32 },
    /// Return up to `limit` calls after the one the cursor points at; cost does not grow
    /// with depth.
    After { cursor: Cursor, limit: u32 },
}

impl Default for Paging {
    fn default() -> Self {
        Self::Offset {
            offset: 0,
            limit: 10,
        }
    }
}

impl Paging {
    /// Most calls this page may hold.
    pub fn limit(&self) -> u32 {
        match self {
            Self::Offset { limit, .. } | Self::After { limit, .. } => *limit,
        }
    }
}

/// A position in a sorted list: the sort field, the value of the last call returned and its
/// id. Opaque to clients, who receive it as `next_cursor` and send it back as `cursor`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub sort: SortField,
    pub order: SortOrder,
    /// The last call's value of the sort field (milliseconds or a number); `None` when it
    /// had none.
    pub value: Option<i64>,
    pub id: String,
}

impl Cursor {
    /// The opaque text form: hex of a compact JSON array, safe in a URL without escaping.
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        crate::keys::to_hex(&json)
    }

    /// Reads a cursor a client sent back.
    pub fn decode(text: &str) -> Result<Self, ValidationError> {
        let refuse = || {
            ValidationError::new(
                "cursor",
                "is not a cursor this server issued (use next_cursor)",
            )
        };
        if !text.len().is_multiple_of(2) || text.len() > 2048 {
            return Err(refuse());
        }
        let bytes = (0..text.len())
            .step_by(2)
            .map(|at| {
                text.get(at..at + 2)
                    .and_then(|pair| u8::from_str_radix(pair, 16).ok())
            })
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(refuse)?;
        serde_json::from_slice(&bytes).map_err(|_| refuse())
    }
}

/// One page of a list.
#[derive(Clone, Debug, PartialEq)]
pub struct CallPage {
    pub calls: Vec<callscope_model::Call>,
    /// Calls matching the filters, over all pages.
    pub total: u64,
    /// Where the next page starts; `None` on the last page.
    pub next_cursor: Option<Cursor>,
}

/// Turns a rejected cursor for another sort into a clear error.
pub(crate) fn check_cursor_matches(cursor: &Cursor, query: &ListCalls) -> Result<()> {
    if cursor.sort != query.sort || cursor.order != query.order {
        return Err(StoreError::Invalid(ValidationError::new(
            "cursor",
            format!(
                "was issued for sort={}:{}; send the same sort with it",
                cursor.sort.name(),
                if cursor.order == SortOrder::Asc {
                    "asc"
                } else {
                    "desc"
                }
            ),
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_survives_its_text_form_and_garbage_is_refused() {
        let cursor = Cursor {
            sort: SortField::StartedAt,
            order: SortOrder::Asc,
            value: None,
            id: "c-1".into(),
        };
        assert_eq!(Cursor::decode(&cursor.encode()).ok(), Some(cursor));
        for garbage in ["", "zz", "abc", "7b7d"] {
            assert!(Cursor::decode(garbage).is_err(), "{garbage:?}");
        }
    }

    #[test]
    fn unknown_sort_fields_are_named() {
        let error = SortField::parse("colour")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.contains("`colour`") && error.contains("duration_ms"),
            "{error}"
        );
    }
}
