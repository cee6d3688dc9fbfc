//! Identifiers: the ones callscope assigns (UUID v7, so they sort by creation time) and the
//! rules for ones a client brings (a runtime's own call id, an organization slug).

use crate::ValidationError;

/// Longest identifier accepted, in bytes.
pub const MAX_ID_LEN: usize = 128;

/// A fresh time-ordered identifier.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Checks an identifier a client supplied for `field`.
///
/// Ids appear in URL paths, so they are limited to characters that need no escaping there:
/// ASCII letters, digits and `-`, `_`, `.`, `:`; at most [`MAX_ID_LEN`] bytes.
pub fn validate_id(field: &str, id: &str) -> Result<(), ValidationError> {
    if id.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if id.len() > MAX_ID_LEN {
        return Err(ValidationError::new(
            field,
            format!(
                "is {} bytes long; at most {MAX_ID_LEN} are allowed",
                id.len()
            ),
        ));
    }
    if let Some(bad) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':')))
    {
        return Err(ValidationError::new(
            field,
            format!(
                "contains {bad:?}; ids may use ASCII letters, digits and the characters - _ . :"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assigned_ids_are_valid_and_time_ordered() {
        let first = new_id();
        let second = new_id();
        assert!(validate_id("id", &first).is_ok());
        assert!(
            first < second,
            "UUID v7 sorts by creation: {first} < {second}"
        );
    }

    #[test]
    fn refuses_ids_that_would_break_a_url_path() {
        for bad in ["", "a/b", "a b", "ünï", "a?b", &"x".repeat(MAX_ID_LEN + 1)] {
            assert!(validate_id("id", bad).is_err(), "{bad:?} should be refused");
        }
        for good in ["call_1", "7f3d8e00-a1b2-4c3d-9e4f-567890abcdef", "sip:42.a"] {
            assert!(validate_id("id", good).is_ok(), "{good:?} should pass");
        }
    }
}
