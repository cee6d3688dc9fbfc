//! Query-string helpers shared by every surface: each parameter arrives as text and is
//! parsed here, so that each error names its parameter.

use crate::error::ApiError;
use callscope_model::TimeBound;

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

/// A time in any accepted form, remembering whether it named a whole day.
pub(crate) fn parse_time(
    parameter: &str,
    value: Option<String>,
) -> Result<Option<TimeBound>, ApiError> {
    non_empty(value)
        .map(|text| TimeBound::parse(&text).map_err(|e| invalid(parameter, e)))
        .transpose()
}
