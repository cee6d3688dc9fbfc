//! Query-string helpers shared by every surface: each parameter arrives as text and is
//! parsed here, so that each error names its parameter.

use crate::error::ApiError;
use callscope_model::TimeBound;
use callscope_query::{Limits, limit_note};

/// A refusal of `parameter`, its message starting with the parameter's name.
pub(crate) fn invalid(parameter: &str, message: impl std::fmt::Display) -> ApiError {
    ApiError::InvalidParameter(format!("{parameter}: {message}"))
}

/// The value, unless it is absent or blank (`?agent_id=` means no filter).
pub(crate) fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|text| !text.trim().is_empty())
}

/// A whole number within `range`, if given.
pub(crate) fn parse_number<T: std::str::FromStr + PartialOrd + std::fmt::Display>(
    parameter: &str,
    value: Option<String>,
    range: std::ops::RangeInclusive<T>,
) -> Result<Option<T>, ApiError> {
    let Some(text) = non_empty(value) else {
        return Ok(None);
    };
    let number: T = text
        .trim()
        .parse()
        .map_err(|_| invalid(parameter, format!("`{text}` is not a whole number")))?;
    if !range.contains(&number) {
        return Err(invalid(
            parameter,
            format!(
                "{number} is out of range ({} to {})",
                range.start(),
                range.end()
            ),
        ));
    }
    Ok(Some(number))
}

/// A page size from 1 to the `max_page_size` limit, `default` when not given.
pub(crate) fn page_size(
    parameter: &str,
    value: Option<String>,
    default: u32,
    limits: &Limits,
) -> Result<u32, ApiError> {
    let Some(size) = parse_number(parameter, value, 1..=u32::MAX)? else {
        return Ok(default.min(limits.max_page_size));
    };
    within_page_size(parameter, size, limits)
}

/// `size` when it is at most the `max_page_size` limit.
pub(crate) fn within_page_size(
    parameter: &str,
    size: u32,
    limits: &Limits,
) -> Result<u32, ApiError> {
    let max = limits.max_page_size;
    if size > max {
        return Err(invalid(
            parameter,
            format!(
                "{size} is more than {max} {}",
                limit_note("max_page_size", max)
            ),
        ));
    }
    Ok(size)
}

/// Refuses a page whose end lies deeper than the `max_result_window` limit.
pub(crate) fn within_window(
    parameter: &str,
    offset: u64,
    size: u32,
    limits: &Limits,
    deeper: &str,
) -> Result<(), ApiError> {
    let window = limits.max_result_window;
    if offset.saturating_add(u64::from(size)) > window {
        return Err(invalid(
            parameter,
            format!(
                "pages may reach at most {window} calls deep {}; {deeper}",
                limit_note("max_result_window", window)
            ),
        ));
    }
    Ok(())
}

/// A time in any accepted form, remembering whether it named a whole day.
pub(crate) fn parse_time(
    parameter: &str,
    value: Option<String>,
) -> Result<Option<TimeBound>, ApiError> {
    non_empty(value)
        .map(|text| TimeBound::parse(&text).map_err(|e| invalid(parameter, e)))
        .transpose()
}
