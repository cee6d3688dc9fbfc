//! Webhook endpoints as clients configure them (`/v1/webhooks`, DESIGN §6).

use crate::ValidationError;
use crate::enums::WebhookEvent;
use serde::Deserialize;

/// Longest endpoint URL accepted, in bytes.
pub const MAX_URL_LEN: usize = 2048;

/// An endpoint as a client writes it. On `PATCH` every field is optional.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookDraft {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub events: Option<Vec<WebhookEvent>>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
}

impl WebhookDraft {
    /// Checks what the draft sets; `creating` requires `url` and `events`.
    pub fn validate(&self, creating: bool) -> Result<(), ValidationError> {
        match &self.url {
            Some(url) => validate_url(url)?,
            None if creating => return Err(ValidationError::new("url", "is required")),
            None => {}
        }
        match &self.events {
            Some(events) if events.is_empty() => Err(ValidationError::new(
                "events",
                format!("must name at least one of: {}", event_names().join(", ")),
            )),
            None if creating => Err(ValidationError::new(
                "events",
                format!("is required; one or more of: {}", event_names().join(", ")),
            )),
            _ => Ok(()),
        }
    }
}

fn event_names() -> Vec<&'static str> {
    WebhookEvent::ALL.iter().map(WebhookEvent::as_str).collect()
}

/// An absolute `http` or `https` URL with a host.
fn validate_url(url: &str) -> Result<(), ValidationError> {
    let refuse = |why: &str| Err(ValidationError::new("url", why.to_owned()));
    if url.len() > MAX_URL_LEN {
        return refuse("is longer than 2048 bytes");
    }
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return refuse("must be an absolute http:// or https:// URL");
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || host.chars().any(char::is_whitespace) {
        return refuse("must name a host, as in https://example.com/hooks");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creating_needs_a_url_and_events() {
        let draft = |json| serde_json::from_value::<WebhookDraft>(json).expect("parses");
        let ok = draft(serde_json::json!({"url": "https://h.example/x", "events": ["call.ended"]}));
        assert!(ok.validate(true).is_ok());
        let field = |json, creating| draft(json).validate(creating).expect_err("refused").field;
        assert_eq!(
            field(serde_json::json!({"events": ["call.ended"]}), true),
            "url"
        );
        assert_eq!(
            field(
                serde_json::json!({"url": "ftp://x", "events": ["call.ended"]}),
                true
            ),
            "url"
        );
        assert_eq!(field(serde_json::json!({"url": "http:///x"}), false), "url");
        assert_eq!(
            field(serde_json::json!({"url": "http://h", "events": []}), false),
            "events"
        );
        assert!(
            draft(serde_json::json!({"enabled": false}))
                .validate(false)
                .is_ok()
        );
        assert!(
            serde_json::from_value::<WebhookDraft>(serde_json::json!({"events": ["call.done"]}))
                .is_err()
        );
    }
}
