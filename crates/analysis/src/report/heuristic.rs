//! The heuristic analyzer: outcome from the call's status, disconnection reason and wording
//! cues; an extractive summary built from the transcript's own sentences. No network.

use super::text::{cue_regex, sentences, turns_by, word_count};
use callscope_model::{
    Call, CallStatus, Channel, Direction, DisconnectionReason, Role, TranscriptEntry,
};
use regex::Regex;
use std::sync::LazyLock;

// Cue tables. Each is a short list of generic phrasings (English, plus Spanish for the
// Spanish-speaking agents callscope serves), compiled into one word-bounded,
// case-insensitive regex. They describe what people and agents say when an outcome happens,
// not any one script; `\w*` ends a word stem ("cancel\w*").

/// An answering machine's greeting, heard as the "caller's" first words.
static VOICEMAIL: LazyLock<Regex> = LazyLock::new(|| {
    cue_regex(&[
        r"leave (?:a|your|me a) message",
        r"after the (?:tone|beep)",
        r"at the (?:tone|beep)",
        r"voice ?mail",
        r"messaging system",
        r"record your message",
        r"is not available",
        r"deje su mensaje",
        r"buz[oó]n de voz",
        r"despu[eé]s de la señal",
    ])
});

/// The agent handing the caller to a person or another line.
static TRANSFER: LazyLock<Regex> = LazyLock::new(|| {
    cue_regex(&[
        r"transferr?ing you",
        r"transfer you",
        r"connect(?:ing)? you (?:with|to)",
        r"put(?:ting)? you through",
        r"le (?:paso|transfiero|pongo) con",
    ])
});

/// Someone asking for, or promising, a call later.
static CALLBACK: LazyLock<Regex> = LazyLock::new(|| {
    cue_regex(&[
        r"call (?:me|you|him|her|us) back",
        r"call back later",
        r"callback",
        r"schedule_callback",
        r"ring (?:me|you) back",
        r"get back to (?:me|you) (?:later|tomorrow)",
        r"llamar(?:me|le|nos)? (?:m[aá]s tarde|luego|despu[eé]s)",
        r"le llamaremos",
        r"devolver(?:le)? la llamada",
    ])
});

/// The caller declining an offer, or the agent recording that they did.
static DECLINED: LazyLock<Regex> = LazyLock::new(|| {
    cue_regex(&[
        r"not interested",
        r"no (?:thanks|thank you)",
        r"stop calling",
        r"remove (?:you|me|your number)",
        r"removed your number",
        r"take (?:you|me) off",
        r"do_not_call",
        r"do not call",
        r"already (?:switched|signed|have|bought|went)",
        r"no me interesa",
    ])
});

/// The agent stating an appointment was cancelled (past tense: a question about cancelling
/// is not a cancellation).
static CANCELED: LazyLock<Regex> = LazyLock::new(|| {
    cue_regex(&[
        r"cancell?ed",
        r"cancel_appointment",
        r"cancelad[ao]",
        r"anulad[ao]",
    ])
});

/// The agent stating an appointment was moved.
static RESCHEDULED: LazyLock<Regex> = LazyLock::new(|| {
    cue_regex(&[
        r"rescheduled",
        r"reschedule_appointment",
        r"moved your (?:appointment|booking|\w+) to",
        r"is now (?:on|at|for)",
        r"(?:queda|ha quedado) cambiad[ao]",
        r"reprogramad[ao]",
    ])
});

/// The agent stating an appointment stands.
static CONFIRMED: LazyLock<Regex> = LazyLock::new(|| {
    cue_regex(&[
        r"confirmed",
        r"confirm_appointment",
        r"(?:you're|you are) all set for",
        r"confirmad[ao]",
    ])
});

/// Talk of an appointment, or a reminder of one: only then do confirmation cues mean an
/// appointment outcome rather than, say, a confirmed table booking.
static APPOINTMENT: LazyLock<Regex> = LazyLock::new(|| {
    cue_regex(&[
        r"appointments?",
        r"appt",
        r"remind\w*",
        r"cita",
        r"recordar\w*",
        r"recordatorio",
    ])
});

/// A pitch: something is being sold or offered.
static PITCH: LazyLock<Regex> = LazyLock::new(|| {
    cue_regex(&[
        r"offer\w*",
        r"quote",
        r"savings?",
        r"renewal",
        r"upgrade",
        r"discount",
        r"promotion",
        r"free (?:trial|consultation|estimate)",
        r"consultation",
        r"(?:save|cut) (?:you|your)",
        r"oferta",
    ])
});

/// The caller buying or committing, or the agent recording the sale.
static SALE: LazyLock<Regex> = LazyLock::new(|| {
    cue_regex(&[
        r"sign me up",
        r"signed (?:you )?up",
        r"renewed",
        r"(?:you're|you are) booked",
        r"booked (?:you|for|in)",
        r"book_\w+",
        r"purchased?",
        r"order (?:is )?placed",
        r"(?:i'll|i will|we'll) take it",
        r"let's do it",
        r"contratad[ao]",
    ])
});

/// The agent could not do what was asked, or handed the problem to a later follow-up.
static AGENT_UNRESOLVED: LazyLock<Regex> = LazyLock::new(|| {
    cue_regex(&[
        r"ticket",
        r"claim",
        r"escalat\w*",
        r"investigat\w*",
        r"technician",
        r"follow(?:-| )up with you",
        r"unfortunately",
        r"(?:not able|unable) to",
        r"(?:i|we) (?:can't|cannot|couldn't|won't be able to)",
        r"fully booked",
        r"lo siento, no (?:puedo|podemos)",
    ])
});

/// The caller, after stating the problem, says it persists or gives up.
static CALLER_UNRESOLVED: LazyLock<Regex> = LazyLock::new(|| {
    cue_regex(&[
        r"still (?:not|no|doesn't|isn't|won't|broken|down)",
        r"(?:not|isn't|wasn't|hasn't been) (?:working|fixed|resolved|delivered)",
        r"(?:doesn't|didn't|won't) work",
        r"never ?mind",
        r"sigue sin",
        r"no (?:lo )?(?:han )?resuelto",
    ])
});

/// The outcome label (one of [`callscope_model::OUTCOMES`]) of `call`.
///
/// The call's own fields decide first: its status and why it disconnected are facts, where
/// wording is only evidence. A completed conversation is then read for cues, most decisive
/// first: an answering machine, a transfer, a callback, a refusal, an appointment change,
/// a sale, an unresolved problem; a conversation with none of these is taken as resolved.
pub fn outcome(call: &Call) -> &'static str {
    match call.status {
        CallStatus::InProgress => return "in_progress",
        CallStatus::NoAnswer => return "no_answer",
        CallStatus::Busy => return "busy",
        CallStatus::Canceled => return "canceled",
        CallStatus::Failed => return "failed",
        CallStatus::Completed => {}
    }
    match call.disconnection_reason {
        Some(DisconnectionReason::Transfer) => return "transferred",
        Some(DisconnectionReason::DialNoAnswer) => return "no_answer",
        Some(DisconnectionReason::DialBusy) => return "busy",
        Some(DisconnectionReason::DialFailed | DisconnectionReason::Error) => return "failed",
        _ => {}
    }
    if reached_voicemail(call) {
        return "voicemail";
    }
    // The caller went silent before the conversation concluded.
    if call.disconnection_reason == Some(DisconnectionReason::Timeout) {
        return "unresolved";
    }
    let spoken = |role: Role| turns_by(call, role).collect::<Vec<_>>().join("\n");
    let agent = format!("{}\n{}", spoken(Role::Agent), spoken(Role::Tool));
    let everything = format!("{agent}\n{}", spoken(Role::User));
    // What the caller said after stating why they called: the opening complaint ("my
    // internet isn't working") is the reason for the call, not its result.
    let caller_later = turns_by(call, Role::User)
        .skip_while(|text| word_count(text) < 4)
        .skip(1)
        .collect::<Vec<_>>()
        .join("\n");
    if TRANSFER.is_match(&agent) {
        "transferred"
    } else if CALLBACK.is_match(&everything) {
        "callback_requested"
    } else if DECLINED.is_match(&everything) {
        "not_interested"
    } else if APPOINTMENT.is_match(&everything) && CANCELED.is_match(&agent) {
        "appointment_canceled"
    } else if APPOINTMENT.is_match(&everything) && RESCHEDULED.is_match(&agent) {
        "appointment_rescheduled"
    } else if APPOINTMENT.is_match(&everything) && CONFIRMED.is_match(&agent) {
        "appointment_confirmed"
    } else if PITCH.is_match(&agent) && SALE.is_match(&everything) {
        "sale_made"
    } else if AGENT_UNRESOLVED.is_match(&agent)
        || CALLER_UNRESOLVED.is_match(&caller_later)
        || !heard_caller(call)
    {
        "unresolved"
    } else {
        "resolved"
    }
}

/// Whether an answering machine took the call: its greeting is the first thing heard from
/// the far end and nobody spoke after it.
fn reached_voicemail(call: &Call) -> bool {
    let mut far_end = turns_by(call, Role::User);
    match (far_end.next(), far_end.next()) {
        (Some(greeting), None) => VOICEMAIL.is_match(greeting),
        _ => false,
    }
}

fn heard_caller(call: &Call) -> bool {
    turns_by(call, Role::User).any(|text| !text.trim().is_empty())
}

/// Short replies and pleasantries that say nothing about why someone called.
static SMALL_TALK: LazyLock<Regex> = LazyLock::new(|| {
    cue_regex(&[
        r"hi",
        r"hello",
        r"hey",
        r"hola",
        r"good (?:morning|afternoon|evening)",
        r"speaking",
        r"this is \w+",
        r"who is this",
        r"yes",
        r"thanks?(?: you)?(?: so much)?(?: for calling)?",
    ])
});

/// Whether `sentence` carries content: more than a greeting, an acknowledgement or thanks.
fn substantive(sentence: &str) -> bool {
    let rest = SMALL_TALK.replace_all(sentence, "");
    let words = rest
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .count();
    words >= 3 && word_count(sentence) >= 4
}

/// The first sentences of the first turn by `role` that says something substantive, up to
/// two sentences, stopping at small talk.
fn first_request(turns: &[&TranscriptEntry], role: Role) -> Option<String> {
    turns
        .iter()
        .filter(|entry| entry.role == role)
        .find_map(|entry| {
            let picked: Vec<&str> = sentences(&entry.text)
                .into_iter()
                .skip_while(|s| !substantive(s))
                .take_while(|s| substantive(s))
                .take(2)
                .collect();
            (!picked.is_empty()).then(|| picked.join(" "))
        })
}

/// Why an agent places a call, when it says so ("I'm calling to remind you…").
static PURPOSE: LazyLock<Regex> = LazyLock::new(|| {
    cue_regex(&[
        r"calling (?:to|about|because|from|regarding)",
        r"remind\w*",
        r"regarding",
        r"le llamo",
        r"recordar\w*",
    ])
});

/// The outbound agent's stated purpose: the first agent sentences with a purpose cue, else
/// its first substantive ones.
fn purpose(turns: &[&TranscriptEntry]) -> Option<String> {
    turns
        .iter()
        .filter(|entry| entry.role == Role::Agent)
        .flat_map(|entry| sentences(&entry.text))
        .find(|sentence| PURPOSE.is_match(sentence) && substantive(sentence))
        .map(str::to_owned)
        .or_else(|| first_request(turns, Role::Agent))
}

/// Closing pleasantries of an agent: not how the call ended, only that it did.
static FAREWELL: LazyLock<Regex> = LazyLock::new(|| {
    cue_regex(&[
        r"goodbye",
        r"bye",
        r"have a (?:great|good|nice|lovely) (?:day|one|evening)",
        r"anything else",
        r"take care",
        r"you're welcome",
        r"thanks? (?:you )?for calling",
        r"are you still there",
        r"adi[oó]s",
        r"hasta (?:pronto|luego)",
        r"algo m[aá]s",
    ])
});

/// The agent's last substantive sentences: what it concluded or did.
fn conclusion(call: &Call) -> Option<String> {
    call.transcript
        .iter()
        .rev()
        .filter(|entry| entry.role == Role::Agent)
        .find_map(|entry| {
            let kept: Vec<&str> = sentences(&entry.text)
                .into_iter()
                .filter(|s| !FAREWELL.is_match(s) && substantive(s))
                .take(2)
                .collect();
            (!kept.is_empty()).then(|| kept.join(" "))
        })
}

/// The agent's description: its name, else its id.
fn agent_label(call: &Call) -> String {
    call.agent
        .name
        .clone()
        .or_else(|| call.agent.id.clone())
        .map_or_else(|| "the agent".to_owned(), |name| format!("agent {name}"))
}

/// Who was on the line: the agent and the other party's number.
fn who(call: &Call) -> String {
    let agent = agent_label(call);
    let medium = match call.channel {
        Some(Channel::Chat | Channel::Whatsapp) => "chat",
        Some(Channel::Web | Channel::Http) => "web call",
        _ => "call",
    };
    match call.direction {
        Some(Direction::Outbound) => match &call.to_number {
            Some(number) => format!("Outbound {medium}: {agent} called {number}."),
            None => format!("Outbound {medium} by {agent}."),
        },
        _ => match &call.from_number {
            Some(number) => format!("Inbound {medium} from {number} to {agent}."),
            None => format!("Inbound {medium} to {agent}."),
        },
    }
}

/// How the call ended, in the words of its fields.
fn ending(call: &Call, outcome: &str) -> String {
    let how = match call.disconnection_reason {
        Some(DisconnectionReason::UserHangup) => "the caller hung up",
        Some(DisconnectionReason::AgentHangup) => "the agent hung up",
        Some(DisconnectionReason::DialNoAnswer) => "nobody answered",
        Some(DisconnectionReason::DialBusy) => "the line was busy",
        Some(DisconnectionReason::DialFailed) => "the dial failed",
        Some(DisconnectionReason::Timeout) => "the caller went silent",
        Some(DisconnectionReason::Transfer) => "it was transferred",
        Some(DisconnectionReason::Error) => "an error cut it off",
        None => "",
    };
    let status = call.status.as_str().replace('_', " ");
    if how.is_empty() {
        format!("Status: {status}; outcome: {}.", outcome.replace('_', " "))
    } else {
        format!(
            "Ended ({status}): {how}; outcome: {}.",
            outcome.replace('_', " ")
        )
    }
}

/// An extractive summary: who called whom, why (the first substantive request, quoted from
/// the transcript), what the agent concluded (quoted) and how the call ended. Quoting rather
/// than paraphrasing keeps every claim traceable to the transcript.
pub fn summary(call: &Call, outcome: &str) -> String {
    let mut parts = vec![who(call)];
    let turns: Vec<&TranscriptEntry> = call
        .transcript
        .iter()
        .filter(|entry| matches!(entry.role, Role::User | Role::Agent))
        .collect();
    if call.direction == Some(Direction::Outbound)
        && let Some(purpose) = purpose(&turns)
    {
        parts.push(format!("Agent: \u{201c}{purpose}\u{201d}"));
    }
    if !reached_voicemail(call)
        && let Some(request) = first_request(&turns, Role::User)
    {
        parts.push(format!("Caller: \u{201c}{request}\u{201d}"));
    }
    if let Some(conclusion) = conclusion(call)
        && !parts.iter().any(|part| part.contains(&conclusion))
    {
        parts.push(format!("Agent: \u{201c}{conclusion}\u{201d}"));
    }
    parts.push(ending(call, outcome));
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::call_with;

    fn completed(turns: &[(Role, &str)], reason: Option<DisconnectionReason>) -> Call {
        let mut call = call_with(turns);
        call.status = CallStatus::Completed;
        call.disconnection_reason = reason;
        call
    }

    #[test]
    fn status_and_disconnection_decide_before_wording() {
        let mut call = completed(&[(Role::User, "Please call me back")], None);
        for (status, expected) in [
            (CallStatus::InProgress, "in_progress"),
            (CallStatus::NoAnswer, "no_answer"),
            (CallStatus::Busy, "busy"),
            (CallStatus::Canceled, "canceled"),
            (CallStatus::Failed, "failed"),
        ] {
            call.status = status;
            assert_eq!(outcome(&call), expected);
        }
        call.status = CallStatus::Completed;
        call.disconnection_reason = Some(DisconnectionReason::Transfer);
        assert_eq!(outcome(&call), "transferred");
        call.disconnection_reason = Some(DisconnectionReason::Timeout);
        assert_eq!(outcome(&call), "unresolved");
    }

    #[test]
    fn an_answering_machine_is_voicemail() {
        let call = completed(
            &[
                (Role::User, "Hi, it's Ann. Leave a message after the beep."),
                (
                    Role::Agent,
                    "Hi Ann, this is Acme Dental. Please call us back.",
                ),
            ],
            Some(DisconnectionReason::AgentHangup),
        );
        assert_eq!(outcome(&call), "voicemail");
    }

    #[test]
    fn wording_picks_the_outcome_of_a_conversation() {
        let cases: &[(&[(Role, &str)], &str)] = &[
            (
                &[
                    (Role::User, "I want a human."),
                    (Role::Agent, "Sure, I'm transferring you now."),
                ],
                "transferred",
            ),
            (
                &[
                    (Role::User, "I'm driving, can you call me back tonight?"),
                    (Role::Agent, "Will do."),
                ],
                "callback_requested",
            ),
            (
                &[
                    (Role::Agent, "Can I offer you a quote?"),
                    (Role::User, "No, I'm not interested."),
                ],
                "not_interested",
            ),
            (
                &[
                    (
                        Role::Agent,
                        "About your appointment on Monday: would you like to reschedule instead of canceling?",
                    ),
                    (Role::User, "No, cancel it."),
                    (Role::Agent, "Done, your appointment has been canceled."),
                ],
                "appointment_canceled",
            ),
            (
                &[
                    (Role::Agent, "Can you make your appointment on Monday?"),
                    (Role::User, "I need another day."),
                    (
                        Role::Agent,
                        "All right, I've moved your appointment to Friday.",
                    ),
                ],
                "appointment_rescheduled",
            ),
            (
                &[
                    (Role::Agent, "Can you make your appointment on Monday?"),
                    (Role::User, "Yes."),
                    (Role::Agent, "Great, it's confirmed."),
                ],
                "appointment_confirmed",
            ),
            (
                &[
                    (Role::Agent, "I can offer you a renewal at $20 less."),
                    (Role::User, "Sign me up!"),
                    (Role::Agent, "Your policy is renewed."),
                ],
                "sale_made",
            ),
            (
                &[
                    (Role::User, "My internet is down."),
                    (Role::Agent, "I've opened a ticket for a technician visit."),
                ],
                "unresolved",
            ),
            (
                &[
                    (Role::User, "When do you close tonight?"),
                    (Role::Agent, "At ten."),
                    (Role::User, "Great, thanks!"),
                ],
                "resolved",
            ),
            (
                &[
                    (Role::User, "Book a table for two, please."),
                    (Role::Agent, "Your table is confirmed for 8 pm."),
                ],
                "resolved",
            ),
        ];
        for (turns, expected) in cases {
            let call = completed(turns, Some(DisconnectionReason::AgentHangup));
            assert_eq!(outcome(&call), *expected, "{turns:?}");
        }
    }

    #[test]
    fn the_summary_names_the_caller_the_reason_and_the_ending() {
        let mut call = completed(
            &[
                (
                    Role::Agent,
                    "Hi, thanks for calling QuickCart. I'm Sam. How can I help?",
                ),
                (
                    Role::User,
                    "Hi! I'm just checking on my order, it's QC-876887. Thanks so much!",
                ),
                (
                    Role::Agent,
                    "Your order QC-876887 is out for delivery and should arrive today.",
                ),
                (Role::User, "Great, thank you!"),
                (Role::Agent, "Anything else? Have a great day!"),
            ],
            Some(DisconnectionReason::UserHangup),
        );
        call.agent.name = Some("Sam – QuickCart".into());
        call.direction = Some(Direction::Inbound);
        call.from_number = Some("+15105558361".into());
        let outcome = outcome(&call);
        let text = summary(&call, outcome);
        assert!(
            text.contains("from +15105558361 to agent Sam – QuickCart"),
            "{text}"
        );
        assert!(
            text.contains("\u{201c}I'm just checking on my order, it's QC-876887.\u{201d}"),
            "{text}"
        );
        assert!(
            text.contains("Your order QC-876887 is out for delivery"),
            "{text}"
        );
        assert!(
            text.contains("the caller hung up; outcome: resolved."),
            "{text}"
        );
        assert!(!text.contains("Thanks so much"), "{text}");
        assert!(!text.contains("Have a great day"), "{text}");
    }

    #[test]
    fn an_outbound_summary_quotes_the_agents_purpose() {
        let mut call = completed(
            &[
                (Role::User, "Hello?"),
                (
                    Role::Agent,
                    "Hi, this is Sarah from Acme Dental. Just a quick reminder that you have a cleaning on Monday at 9 AM. Will you be able to make it?",
                ),
                (Role::User, "Yes, I'll be there."),
                (
                    Role::Agent,
                    "Great, your appointment is confirmed. Goodbye!",
                ),
            ],
            Some(DisconnectionReason::AgentHangup),
        );
        call.direction = Some(Direction::Outbound);
        call.to_number = Some("+14155550142".into());
        let text = summary(&call, outcome(&call));
        assert!(
            text.starts_with("Outbound call: the agent called +14155550142."),
            "{text}"
        );
        assert!(
            text.contains("Just a quick reminder that you have a cleaning on Monday at 9 AM."),
            "{text}"
        );
        assert!(text.contains("your appointment is confirmed"), "{text}");
        assert!(text.ends_with("outcome: appointment confirmed."), "{text}");
    }
}
