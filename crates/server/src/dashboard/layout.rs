//! The page shell (header, navigation, sign-out) and the formatting every page shares.

use super::Viewer;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use callscope_model::{Agent, MicroUsd, Scope, Timestamp};
use maud::{DOCTYPE, Markup, html};

/// Which section of the navigation a page belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Section {
    Calls,
    Live,
    Analytics,
    Settings,
}

/// A whole page for a signed-in viewer.
pub(crate) fn page(viewer: &Viewer, section: Section, title: &str, body: &Markup) -> Response {
    let principal = &viewer.session.principal;
    let role = if principal.allows(Scope::Admin) {
        "admin"
    } else if principal.allows(Scope::Write) {
        "read and write"
    } else {
        "read only"
    };
    let shell = html! {
        a .skip href="#main" { "Skip to content" }
        header .top {
            a .brand href="/calls" { "Callscope" }
            nav aria-label="Sections" {
                @for (target, href, label) in [(Section::Calls, "/calls", "Calls"), (Section::Live, "/live", "Live"), (Section::Analytics, "/analytics", "Analytics")] {
                    a href=(href) aria-current=[(section == target).then_some("page")] { (label) }
                }
                @if principal.allows(Scope::Admin) {
                    a href="/settings" aria-current=[(section == Section::Settings).then_some("page")] { "Settings" }
                }
            }
            div .who {
                span { (principal.organization_id) " · " (role) }
                form method="post" action="/sign-out" {
                    input type="hidden" name="csrf" value=(viewer.session.csrf_token);
                    button .link type="submit" { "Sign out" }
                }
            }
        }
        main #main tabindex="-1" { (body) }
    };
    let mut response = document(title, &shell).into_response();
    super::page_headers(&mut response);
    response
}

/// A page without the navigation: sign-in.
pub(crate) fn bare_page(title: &str, body: &Markup) -> Response {
    let mut response = document(title, body).into_response();
    super::page_headers(&mut response);
    response
}

/// A failure, as a page with the API's status and sentence.
pub(crate) fn error_page(status: StatusCode, message: &str) -> Response {
    let body = html! {
        main #main .narrow {
            h1 { (status.as_u16()) " " (status.canonical_reason().unwrap_or("Error")) }
            p role="alert" { (message) }
            p { a href="/calls" { "Back to calls" } }
        }
    };
    let mut response = (status, document("Error", &body)).into_response();
    super::page_headers(&mut response);
    response
}

fn document(title: &str, body: &Markup) -> Html<String> {
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (title) " · Callscope" }
                link rel="icon" href="/assets/icon.svg" type="image/svg+xml";
                link rel="stylesheet" href="/assets/app.css";
                script src="/assets/app.js" defer {}
            }
            body { (body) }
        }
    };
    Html(page.into_string())
}

/// `2026-12-03 13:51` (UTC), for tables.
pub(crate) fn minute(at: Timestamp) -> String {
    chrono::DateTime::from_timestamp_millis(at.as_millis())
        .map(|time| time.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

/// `2026-12-03 13:51:07 UTC`, for a call's header.
pub(crate) fn second(at: Timestamp) -> String {
    chrono::DateTime::from_timestamp_millis(at.as_millis())
        .map(|time| time.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

/// A time as a `<time>` element, machine-readable and shown to the minute.
pub(crate) fn time(at: Timestamp) -> Markup {
    html! { time datetime=(at.to_rfc3339()) { (minute(at)) } }
}

/// `m:ss` (or `h:mm:ss`) of a length in milliseconds.
pub(crate) fn clock(ms: u64) -> String {
    let seconds = ms / 1000;
    let (hours, minutes, seconds) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if hours > 0 {
        format!("{hours}:{minutes:02}:{seconds:02}")
    } else {
        format!("{minutes}:{seconds:02}")
    }
}

/// Dollars to the cent, or to the hundredth of a cent below a dollar (calls cost cents).
pub(crate) fn usd(amount: MicroUsd) -> String {
    let micros = amount.0;
    if micros >= 1_000_000 {
        format!("${}.{:02}", micros / 1_000_000, micros % 1_000_000 / 10_000)
    } else {
        format!("${}.{:04}", micros / 1_000_000, micros % 1_000_000 / 100)
    }
}

/// How a call's agent is shown in lists: its name, else its id.
pub(crate) fn agent_label(agent: &Agent) -> &str {
    agent.name.as_deref().or(agent.id.as_deref()).unwrap_or("—")
}

/// A label as a small badge whose class names its value, so the stylesheet can colour it.
pub(crate) fn badge(kind: &str, value: &str) -> Markup {
    html! { span class={ "badge " (kind) "-" (value) } { (value.replace('_', " ")) } }
}

/// Percent-encodes a query-string component.
pub(crate) fn encode_component(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                encoded.push(char::from(byte));
            }
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    encoded
}

/// A query string of the non-empty pairs, `?a=1&b=2`, or nothing.
pub(crate) fn query_string<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let joined: Vec<String> = pairs
        .into_iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| format!("{name}={}", encode_component(value)))
        .collect();
    if joined.is_empty() {
        String::new()
    } else {
        format!("?{}", joined.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_read_as_a_clock() {
        assert_eq!(clock(0), "0:00");
        assert_eq!(clock(59_999), "0:59");
        assert_eq!(clock(61_000), "1:01");
        assert_eq!(clock(3_723_000), "1:02:03");
    }

    #[test]
    fn money_reads_in_dollars() {
        assert_eq!(usd(MicroUsd(0)), "$0.0000");
        assert_eq!(usd(MicroUsd(123_456)), "$0.1234");
        assert_eq!(usd(MicroUsd(12_345_678)), "$12.34");
    }

    #[test]
    fn query_strings_encode_and_skip_empty_values() {
        assert_eq!(
            query_string([("q", "refund & more"), ("agent", ""), ("to", "2026-12-03")]),
            "?q=refund%20%26%20more&to=2026-12-03"
        );
        assert_eq!(query_string([("q", "")]), "");
    }
}
