//! The closed vocabularies of the call model.
//!
//! Every enum parses from the same strings in JSON bodies and in query strings, through one
//! `FromStr`, so an unknown value gets the same message wherever it arrives.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A string that is not one of an enum's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown value `{value}`, expected one of: {}", .expected.join(", "))]
pub struct UnknownVariant {
    /// What was given.
    pub value: String,
    /// Every accepted value.
    pub expected: &'static [&'static str],
}

macro_rules! string_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire name of this value.
            pub fn as_str(&self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownVariant;

            fn from_str(text: &str) -> Result<Self, UnknownVariant> {
                match text {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownVariant { value: text.to_owned(), expected: &[$($text),+] }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::Type::String)
                    .enum_values(Some([$($text),+]))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

string_enum! {
    /// The medium a session ran over. `voice` is what Vonage AI Studio's own example
    /// document calls its phone channel, kept so Vonage sessions render back unchanged.
    pub enum Channel {
        Telephony => "telephony",
        Voice => "voice",
        Whatsapp => "whatsapp",
        Http => "http",
        Web => "web",
        Chat => "chat",
    }
}

string_enum! {
    /// Who placed the call.
    pub enum Direction {
        Inbound => "inbound",
        Outbound => "outbound",
    }
}

string_enum! {
    /// Seed 002's `kind` and seed 003's `call_type`.
    pub enum CallKind {
        TelephonyInbound => "telephony_inbound",
        TelephonyOutbound => "telephony_outbound",
        Chat => "chat",
        Web => "web",
    }
}

string_enum! {
    /// Where the call is in its life.
    pub enum CallStatus {
        InProgress => "in_progress",
        Completed => "completed",
        Failed => "failed",
        NoAnswer => "no_answer",
        Busy => "busy",
        Canceled => "canceled",
    }
}

impl CallStatus {
    /// Whether the call is over; live appends are refused then.
    pub fn is_terminal(&self) -> bool {
        !matches!(self, Self::InProgress)
    }
}

string_enum! {
    /// Why the call ended (seed 003's `disconnectionReason`).
    pub enum DisconnectionReason {
        UserHangup => "user_hangup",
        AgentHangup => "agent_hangup",
        DialNoAnswer => "dial_no_answer",
        DialBusy => "dial_busy",
        DialFailed => "dial_failed",
        Timeout => "timeout",
        Transfer => "transfer",
        Error => "error",
    }
}

string_enum! {
    /// Who said a transcript entry.
    pub enum Role {
        User => "user",
        Agent => "agent",
        System => "system",
        Tool => "tool",
    }
}

string_enum! {
    /// Where a call's recording is.
    pub enum RecordingStatus {
        InProgress => "in_progress",
        Processing => "processing",
        Available => "available",
        Failed => "failed",
    }
}

string_enum! {
    /// How the post-call report was made (seed 002's `analysis_status`).
    pub enum AnalysisStatus {
        Pending => "pending",
        Heuristic => "heuristic",
        Completed => "completed",
        Failed => "failed",
    }
}

string_enum! {
    /// Overall tone of the caller.
    pub enum Sentiment {
        Positive => "positive",
        Neutral => "neutral",
        Negative => "negative",
    }
}

string_enum! {
    /// Delivery state of the post-call webhook (seed 002's `post_call_webhook_status`).
    pub enum WebhookStatus {
        NotConfigured => "not_configured",
        Pending => "pending",
        Delivered => "delivered",
        Failed => "failed",
    }
}

string_enum! {
    /// What a line of cost was spent on.
    pub enum CostComponent {
        Stt => "stt",
        Llm => "llm",
        Tts => "tts",
        Telephony => "telephony",
        Platform => "platform",
    }
}

string_enum! {
    /// What a usage record's `units` count. Minutes are taken as 60 seconds each.
    pub enum UsageUnit {
        Seconds => "seconds",
        Minutes => "minutes",
        Tokens => "tokens",
        InputTokens => "input_tokens",
        OutputTokens => "output_tokens",
        Characters => "characters",
    }
}

string_enum! {
    /// What an API key may do. `admin` includes the other two.
    pub enum Scope {
        Read => "read",
        Write => "write",
        Admin => "admin",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_round_trips_through_its_wire_name() {
        for status in CallStatus::ALL {
            assert_eq!(status.as_str().parse::<CallStatus>().ok(), Some(*status));
        }
        for kind in CallKind::ALL {
            assert_eq!(kind.as_str().parse::<CallKind>().ok(), Some(*kind));
        }
    }

    #[test]
    fn an_unknown_value_is_named_with_the_accepted_ones() {
        let message = serde_json::from_str::<CallStatus>("\"done\"")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(message.contains("unknown value `done`"), "{message}");
        assert!(message.contains("in_progress, completed"), "{message}");
    }
}

string_enum! {
    /// How a live transfer hands the caller over (seed 002's transfer `kind`).
    pub enum TransferKind {
        /// Straight to the target.
        Blind => "blind",
        /// Through a consultation with the target first.
        Warm => "warm",
    }
}

string_enum! {
    /// Where one transfer attempt is.
    pub enum TransferStatus {
        Requested => "requested",
        Dialing => "dialing",
        Ringing => "ringing",
        /// Warm transfers only: the agent briefs the human before the caller joins.
        Consulting => "consulting",
        Completed => "completed",
        Failed => "failed",
        Canceled => "canceled",
    }
}

impl TransferStatus {
    /// Whether the attempt is over.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Canceled)
    }
}

string_enum! {
    /// What happens to the caller when every transfer target has failed.
    pub enum FallbackAction {
        /// Book a callback: it appears as `scheduled_callback` on the call's report.
        ScheduledCallback => "scheduled_callback",
        Voicemail => "voicemail",
        ReturnToAgent => "return_to_agent",
        Hangup => "hangup",
    }
}

string_enum! {
    /// What a webhook endpoint can subscribe to.
    pub enum WebhookEvent {
        CallStarted => "call.started",
        CallEnded => "call.ended",
        CallAnalyzed => "call.analyzed",
        TransferUpdated => "transfer.updated",
    }
}

string_enum! {
    /// Where one webhook delivery is.
    pub enum DeliveryStatus {
        Pending => "pending",
        Delivered => "delivered",
        /// Every attempt failed; only a redelivery sends it again.
        Failed => "failed",
    }
}
