//! Progress bars for long commands: drawn on a terminal, silent otherwise.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar of `length` units labelled `message` (hidden when stderr is not a terminal).
pub fn bar(length: u64, message: &'static str, unit: &str) -> ProgressBar {
    let template = format!("{{msg}} {{wide_bar}} {{pos}}/{{len}} {unit}, {{per_sec}}, eta {{eta}}");
    let style =
        ProgressStyle::with_template(&template).unwrap_or_else(|_| ProgressStyle::default_bar());
    let bar = ProgressBar::new(length).with_style(style);
    bar.set_message(message);
    bar
}
