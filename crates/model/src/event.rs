//! Call events: telephony and runtime signals over a call's life (seed 002's `/events`).

use crate::ValidationError;
use crate::call::Object;
use crate::id::{new_id, validate_id};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// One event, as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Event {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    pub event_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_cause: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip_status_code: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip_status: Option<String>,
    pub occurred_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Object>,
    pub created_at: Timestamp,
}

/// An event as a client writes it: `id` and `occurred_at` are optional.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventDraft {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub provider: Option<String>,
    pub event_type: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub failure_cause: Option<String>,
    #[serde(default)]
    pub sip_status_code: Option<u16>,
    #[serde(default)]
    pub sip_status: Option<String>,
    #[serde(default)]
    pub occurred_at: Option<Timestamp>,
    #[serde(default)]
    pub payload: Option<Object>,
}

impl EventDraft {
    /// Validates the draft and fills what the server assigns. `position` names the event in
    /// error messages when several arrive in one body.
    pub fn into_event(self, position: usize, now: Timestamp) -> Result<Event, ValidationError> {
        let field = |name: &str| format!("events[{position}].{name}");
        if self.event_type.trim().is_empty() {
            return Err(ValidationError::new(
                field("event_type"),
                "must not be empty",
            ));
        }
        if let Some(code) = self
            .sip_status_code
            .filter(|code| !(100..=699).contains(code))
        {
            return Err(ValidationError::new(
                field("sip_status_code"),
                format!("{code} is not a SIP status code (100 to 699)"),
            ));
        }
        let id = match self.id {
            Some(id) => {
                validate_id(&field("id"), &id)?;
                id
            }
            None => new_id(),
        };
        Ok(Event {
            id,
            provider: self.provider,
            event_type: self.event_type,
            status: self.status,
            failure_cause: self.failure_cause,
            sip_status_code: self.sip_status_code,
            sip_status: self.sip_status,
            occurred_at: self.occurred_at.unwrap_or(now),
            payload: self.payload,
            created_at: now,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(json: &str) -> EventDraft {
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"))
    }

    #[test]
    fn fills_id_and_time_and_refuses_impossible_sip_codes() {
        let now = Timestamp::now();
        let event =
            draft(r#"{"event_type":"sip.ringing","sip_status_code":180}"#).into_event(0, now);
        let Ok(event) = event else {
            panic!("{event:?}")
        };
        assert_eq!(event.occurred_at, now);
        assert!(!event.id.is_empty());
        let refused = draft(r#"{"event_type":"sip","sip_status_code":42}"#).into_event(3, now);
        assert!(refused.is_err_and(|e| e.field == "events[3].sip_status_code"));
    }
}
