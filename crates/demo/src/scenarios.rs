//! The conversations: one script per topic, branching on the call's outcome, with the
//! caller's wording chosen to match their mood.
//!
//! Sentiment ground truth comes from here, so the rule is strict: a positive caller thanks or
//! praises, a negative caller complains in words a person would call angry ("this is
//! ridiculous", "third time I'm calling"), and a neutral caller says neither. The agent is
//! polite in every case; the label is about the caller.

use crate::catalog::{Locale, Topic};
use crate::script::{TagFamily, Writer};
use crate::wording::{iso_day, money, spoken_day, spoken_time, weekday_name};
use chrono::NaiveDate;
use serde_json::json;

/// What happened on the call; `label` is the ground-truth outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    AppointmentConfirmed,
    AppointmentRescheduled,
    AppointmentCanceled,
    Transferred,
    Voicemail,
    NoAnswer,
    Busy,
    Resolved,
    Unresolved,
    SaleMade,
    NotInterested,
    CallbackRequested,
    Failed,
    Canceled,
    InProgress,
}

impl Outcome {
    #[cfg(test)]
    pub(crate) const ALL: [Outcome; 15] = [
        Self::AppointmentConfirmed,
        Self::AppointmentRescheduled,
        Self::AppointmentCanceled,
        Self::Transferred,
        Self::Voicemail,
        Self::NoAnswer,
        Self::Busy,
        Self::Resolved,
        Self::Unresolved,
        Self::SaleMade,
        Self::NotInterested,
        Self::CallbackRequested,
        Self::Failed,
        Self::Canceled,
        Self::InProgress,
    ];

    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::AppointmentConfirmed => "appointment_confirmed",
            Self::AppointmentRescheduled => "appointment_rescheduled",
            Self::AppointmentCanceled => "appointment_canceled",
            Self::Transferred => "transferred",
            Self::Voicemail => "voicemail",
            Self::NoAnswer => "no_answer",
            Self::Busy => "busy",
            Self::Resolved => "resolved",
            Self::Unresolved => "unresolved",
            Self::SaleMade => "sale_made",
            Self::NotInterested => "not_interested",
            Self::CallbackRequested => "callback_requested",
            Self::Failed => "failed",
            Self::Canceled => "canceled",
            Self::InProgress => "in_progress",
        }
    }
}

/// When the call happens, in the business's local time.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LocalNow {
    pub(crate) today: NaiveDate,
    pub(crate) minutes: u32,
}

/// Writes the conversation of a connected call about `topic` that ends in `outcome`.
///
/// `outcome` must be one a conversation can have (not `NoAnswer`, `Busy`, …); others get
/// the script's most common ending.
pub(crate) fn write(
    w: &mut Writer<'_>,
    topic: Topic,
    outcome: Outcome,
    inbound: bool,
    now: LocalNow,
) {
    if outcome == Outcome::Voicemail {
        voicemail(w, topic, now);
        return;
    }
    match (topic, w.locale) {
        (Topic::DentalReminder | Topic::ClinicReminder, Locale::EsEs) => {
            reminder_es(w, outcome, inbound, now);
        }
        (Topic::DentalReminder | Topic::ClinicReminder, _) => {
            reminder_en(w, topic, outcome, inbound, now);
        }
        (Topic::Outage, _) => outage(w, outcome, now),
        (Topic::Billing, _) => billing(w, outcome),
        (Topic::Solar, _) => solar(w, outcome, inbound, now),
        (Topic::Insurance, _) => insurance(w, outcome, inbound, now),
        (Topic::Reservation, _) => reservation(w, outcome, now),
        (Topic::Delivery, _) => delivery(w, outcome),
    }
}

/// The lines an agent says when the caller has gone silent, ending the call on a timeout.
pub(crate) fn silence(w: &mut Writer<'_>) {
    if w.locale == Locale::EsEs {
        w.agent(&["¿Hola? ¿Sigue ahí?", "¿Me escucha?"]);
        w.agent(&[
            "No le escucho, así que voy a colgar. Puede llamarnos cuando quiera. ¡Adiós!",
            "Parece que se ha cortado. Le volveremos a llamar más tarde. Adiós.",
        ]);
    } else {
        w.agent(&[
            "Are you still there?",
            "Hello? Are you still on the line?",
            "Hello?",
        ]);
        w.agent(&[
            "I'm sorry, I can't hear you. I'll end the call now. Feel free to call us back anytime. Goodbye.",
            "It seems we've lost the connection. We'll try again later. Goodbye.",
            "I haven't heard anything for a while, so I'm going to hang up. Goodbye.",
        ]);
    }
}

// ---------------------------------------------------------------------------------------
// Shared phrasings

const CLOSE_POSITIVE_US: &[&str] = &[
    "Thank you so much, that's really helpful!",
    "Perfect, thanks a lot. Have a great day!",
    "That's great, I really appreciate your help. Thank you!",
    "Awesome, thank you! You've been super helpful.",
    "Wonderful, thanks so much for your help.",
];
const CLOSE_POSITIVE_GB: &[&str] = &[
    "Brilliant, thank you ever so much!",
    "Lovely, cheers for that. That's really helpful.",
    "That's great, thank you so much for your help.",
    "Perfect, thanks a lot. Have a lovely day!",
];
const CLOSE_NEUTRAL: &[&str] = &[
    "No, that's all.",
    "No, that's it. Bye.",
    "Okay. Bye.",
    "Alright, that's everything.",
    "Nope, that's it.",
];
const CLOSE_NEGATIVE: &[&str] = &[
    "No. Honestly, this whole thing has been a waste of my time.",
    "No. I'm really not happy about this.",
    "That's all. This has been a terrible experience, to be honest.",
    "No. I'm really frustrated with all of this.",
    "No. Just get it right next time, this is ridiculous.",
];

/// The caller's last words, in their mood.
fn close(w: &mut Writer<'_>) {
    let positive = if w.locale == Locale::EnGb {
        CLOSE_POSITIVE_GB
    } else {
        CLOSE_POSITIVE_US
    };
    w.user_mood(positive, CLOSE_NEUTRAL, CLOSE_NEGATIVE);
}

fn anything_else(w: &mut Writer<'_>) {
    w.agent(&[
        "Is there anything else I can help you with today?",
        "Anything else I can do for you?",
        "Is there anything else you need?",
    ]);
}

fn goodbye(w: &mut Writer<'_>) {
    w.agent(&[
        "Thanks for calling {business}, {first}. Have a great day!",
        "You're welcome, {first}. Goodbye!",
        "Take care, {first}. Goodbye!",
        "Thank you, {first}. Have a good one!",
    ]);
}

/// An inbound greeting: spoken on the phone, or written in a chat window.
fn greet_inbound(w: &mut Writer<'_>, phone: &[&str]) {
    if w.typed {
        w.agent(&[
            "Hi! I'm {agent}, {business}'s virtual assistant. How can I help you today?",
            "Hello and welcome to {business}. I'm {agent}, what can I do for you?",
        ]);
    } else if w.online {
        w.agent(&[
            "Hi, I'm {agent}, the {business} voice assistant. How can I help?",
            "Hello! You're speaking with {agent} from {business}. What can I do for you?",
        ]);
    } else {
        w.agent(phone);
    }
}

/// How a human hand-off is announced.
fn transfer_line(w: &mut Writer<'_>, team: &str) {
    w.set("team", team);
    w.agent(&[
        "Of course. I'm transferring you to {team} now. Please hold for a moment.",
        "I understand. Let me connect you with {team}. The current wait time is about {wait} minutes.",
        "Sure, one moment while I transfer you to {team}.",
    ]);
}

/// The caller asks for a person; angry callers sometimes have to ask twice.
fn ask_for_human(w: &mut Writer<'_>, positive: &[&str], neutral: &[&str]) {
    w.user_mood(
        positive,
        neutral,
        &[
            "I don't want to talk to a robot, this is so frustrating. Get me a real person, please.",
            "Can I speak to a human? This is the third time I'm calling about this.",
            "Stop. I want to talk to a human agent. Now. This is ridiculous.",
            "This is ridiculous. Let me speak to a real person.",
        ],
    );
    w.tag("human_request", TagFamily::Intent);
    if w.mood == callscope_model::Sentiment::Negative && w.chance(0.5) {
        w.agent(&[
            "I can help with most questions myself. Could you tell me what you need?",
            "I'd be happy to try to help first. What's going on?",
        ]);
        w.user(&[
            "No. A human. This is ridiculous.",
            "I said a real person. I'm sick of these bots.",
        ]);
        w.tag("human_request", TagFamily::Intent);
    }
}

/// A callback time the caller offers, with how the agent repeats it and its stored value.
const CALLBACK_TIMES: &[(&str, &str, &str)] = &[
    (
        "Tomorrow morning, around ten.",
        "tomorrow around 10 AM",
        "10:00",
    ),
    ("After five today.", "today after 5 PM", "17:00"),
    ("Any time after six.", "this evening after 6 PM", "18:00"),
    ("Tomorrow afternoon works.", "tomorrow afternoon", "14:00"),
    (
        "Monday morning, if that's okay.",
        "on Monday morning",
        "09:30",
    ),
];

fn callback_time(w: &mut Writer<'_>) {
    let i = w.index(CALLBACK_TIMES.len());
    let (said, repeated, value) = CALLBACK_TIMES[i];
    w.user(&[said]);
    w.set("callback", repeated);
    w.param(
        "callback_time",
        "sys.time",
        value,
        said.trim_end_matches('.'),
    );
}

fn pick_minutes(w: &mut Writer<'_>, slots: &[u32]) -> u32 {
    *w.rng.pick(slots)
}

/// Sets `{<prefix>when}` ("on Friday, March 13", "tomorrow"), `{<prefix>date}` (the same
/// without its preposition, for "booked for Friday, March 13"), `{<prefix>day}`,
/// `{<prefix>time}` and `{<prefix>iso}` for a day `days_ahead` after today at `minutes`.
fn set_moment(
    w: &mut Writer<'_>,
    names: [&'static str; 5],
    now: LocalNow,
    days_ahead: u32,
    minutes: u32,
) {
    let locale = w.locale;
    let when = spoken_day(locale, now.today, days_ahead);
    let date = when.strip_prefix("on ").unwrap_or(&when).to_owned();
    w.set(names[0], when);
    w.set(names[1], date);
    w.set(names[2], weekday_name(locale, now.today, days_ahead));
    w.set(names[3], spoken_time(locale, minutes));
    w.set(
        names[4],
        format!(
            "{}T{:02}:{:02}",
            iso_day(now.today, days_ahead),
            minutes / 60,
            minutes % 60
        ),
    );
}

const DAY_SLOTS: &[u32] = &[
    8 * 60 + 30,
    9 * 60,
    9 * 60 + 45,
    10 * 60 + 30,
    11 * 60 + 15,
    13 * 60,
    14 * 60,
    14 * 60 + 30,
    15 * 60 + 15,
    16 * 60,
    16 * 60 + 45,
];

// ---------------------------------------------------------------------------------------
// Appointment reminders

fn reminder_en(w: &mut Writer<'_>, topic: Topic, outcome: Outcome, inbound: bool, now: LocalNow) {
    let dental = topic == Topic::DentalReminder;
    let (appointments, providers, bring): (&[&str], &[&str], &str) = if dental {
        (
            &[
                "cleaning",
                "check-up",
                "filling",
                "crown fitting",
                "whitening consultation",
            ],
            &[
                "Dr. Patel",
                "Dr. Nguyen",
                "Dr. Romero",
                "our hygienist Kim",
                "Dr. Feldman",
            ],
            "your insurance card",
        )
    } else {
        (
            &[
                "annual check-up",
                "flu jab",
                "blood test",
                "follow-up appointment",
                "asthma review",
            ],
            &[
                "Dr. Okafor",
                "Dr. Hughes",
                "Nurse Bennett",
                "Dr. Lewis",
                "Dr. Shah",
            ],
            "a list of any medication you're taking",
        )
    };
    let appointment = *w.rng.pick(appointments);
    let provider = *w.rng.pick(providers);
    w.set("appt", appointment);
    let article = if appointment.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    w.set("appt_a", format!("{article} {appointment}"));
    w.set("provider", provider);
    w.set("bring", bring);
    let days = w.rng.between(1, 6) as u32;
    let minutes = pick_minutes(w, DAY_SLOTS);
    set_moment(
        w,
        ["when", "date", "day", "time", "iso"],
        now,
        days,
        minutes,
    );
    let appointment_id = format!("apt_{}", w.rng.between(100_000, 999_999));

    if inbound {
        w.agent(&[
            "Thank you for calling {business}, this is {agent}, the virtual assistant. How can I help you today?",
            "Hi, you've reached {business}. I'm {agent}, how can I help?",
        ]);
        w.user(&[
            "Hi, I missed a call from this number. I think it was about my appointment.",
            "Hello, somebody from {business} called me earlier about an appointment.",
            "Hi, I'm returning a call about my appointment.",
        ]);
        w.agent(&[
            "I can help with that. Can I have your full name, please?",
            "Sure. Could you tell me your first and last name?",
        ]);
        w.user(&[
            "It's {first} {last}.",
            "{first} {last}.",
            "Yes, it's {first} {last}.",
        ]);
        let full = format!("{} {}", w.var("first"), w.var("last"));
        w.param("name", "sys.names", full.clone(), full.clone());
        w.tag("identity_verified", TagFamily::Step);
        w.lookup(
            "find_appointment",
            json!({"patient_name": full}),
            json!({"appointment_id": appointment_id, "start": w.var("iso"), "provider": provider, "type": appointment}),
        );
        w.agent(&[
            "Thanks, {first}. I see your {appt} with {provider} {when} at {time}. We were calling to confirm it. Will you be able to make it?",
            "Thank you. You have {appt_a} with {provider} {when} at {time}. Can you confirm you'll be there?",
        ]);
    } else {
        if w.chance(0.45) {
            w.user(&[
                "Hello?",
                "Hello, who's calling?",
                "Yeah, hello?",
                "Hi, this is {first}.",
            ]);
        }
        w.agent(&[
            "Hi, this is {agent}, the virtual assistant from {business}. Am I speaking with {first}?",
            "Hello! This is {agent} calling from {business}. May I speak with {first} {last}?",
            "Hi there, this is {agent} from {business}. Is this {first}?",
        ]);
        w.user_mood(
            &[
                "Yes, this is {first}. Hi, nice to hear from you!",
                "Oh hi, yes, speaking. Thanks for calling!",
            ],
            &[
                "Yes, speaking.",
                "Yes, this is {first}.",
                "Speaking.",
                "Yes, that's me.",
            ],
            &[
                "Yeah. What is it now? This is the third call from you people this week.",
                "Yes. Who is this again? I'm at work, this is really annoying.",
                "Yes. If this is another annoying sales call, I'm hanging up.",
            ],
        );
        w.agent(&[
            "I'm calling to remind you about your {appt} with {provider} {when} at {time}. Can you confirm you'll be able to make it?",
            "Just a quick reminder that you have {appt_a} with {provider} {when} at {time}. Will you be able to make it?",
            "You're scheduled for {appt_a} with {provider} {when} at {time}. Would you like to confirm this appointment?",
        ]);
    }

    match outcome {
        Outcome::AppointmentRescheduled => {
            w.user_mood(
                &[
                    "Oh, thanks for the reminder! Actually, something came up. Could I reschedule?",
                    "Thanks for calling! I was actually going to call you, I need to reschedule.",
                ],
                &[
                    "Actually, I can't make it then. Can I reschedule?",
                    "I need to reschedule that, please.",
                    "That doesn't work for me anymore. Can we move it?",
                ],
                &[
                    "No, I can't make it, and I already told your office that last week. This is ridiculous. I need to reschedule. Again.",
                    "Ugh, no. Nobody asked me if that time works, so frustrating. I need to change it.",
                ],
            );
            w.param("confirmation", "sys.yes_no", "no", "no");
            w.tag("reschedule", TagFamily::Intent);
            w.agent(&[
                "No problem. Let me check what's available.",
                "Of course. One moment while I look at the schedule.",
                "Sure, let me see what we have.",
            ]);
            w.hold();
            let first_days = days + w.rng.between(1, 4) as u32;
            let second_days = first_days + w.rng.between(1, 5) as u32;
            let first_minutes = pick_minutes(w, DAY_SLOTS);
            let second_minutes = pick_minutes(w, DAY_SLOTS);
            set_moment(
                w,
                [
                    "alt1_when",
                    "alt1_date",
                    "alt1_day",
                    "alt1_time",
                    "alt1_iso",
                ],
                now,
                first_days,
                first_minutes,
            );
            set_moment(
                w,
                [
                    "alt2_when",
                    "alt2_date",
                    "alt2_day",
                    "alt2_time",
                    "alt2_iso",
                ],
                now,
                second_days,
                second_minutes,
            );
            w.lookup(
                "find_open_slots",
                json!({"provider": provider, "after": iso_day(now.today, days)}),
                json!({"slots": [w.var("alt1_iso"), w.var("alt2_iso")]}),
            );
            w.agent(&[
                "I have {alt1_when} at {alt1_time}, or {alt2_when} at {alt2_time}. Which works better for you?",
                "The next openings with {provider} are {alt1_when} at {alt1_time} and {alt2_when} at {alt2_time}. Would either of those work?",
            ]);
            let (when, date, day, time, iso) = if w.chance(0.5) {
                w.user(&[
                    "The first one, please.",
                    "{alt1_day} at {alt1_time} works.",
                    "Let's do {alt1_day}.",
                ]);
                (
                    "alt1_when",
                    "alt1_date",
                    "alt1_day",
                    "alt1_time",
                    "alt1_iso",
                )
            } else {
                w.user(&[
                    "The second one, please.",
                    "{alt2_day} at {alt2_time} works.",
                    "Let's do {alt2_day}.",
                ]);
                (
                    "alt2_when",
                    "alt2_date",
                    "alt2_day",
                    "alt2_time",
                    "alt2_iso",
                )
            };
            let (new_when, new_date, new_day, new_time, new_iso) = (
                w.var(when),
                w.var(date),
                w.var(day),
                w.var(time),
                w.var(iso),
            );
            w.set("new_when", new_when);
            w.set("new_date", new_date);
            w.set("new_time", new_time.clone());
            w.param(
                "new_date",
                "sys.date",
                new_iso.clone(),
                format!("{new_day} at {new_time}"),
            );
            w.lookup(
                "reschedule_appointment",
                json!({"appointment_id": appointment_id, "new_start": new_iso}),
                json!({"status": "rescheduled", "sms_sent": true}),
            );
            w.agent(&[
                "Done. I've moved your appointment to {new_date} at {new_time}. You'll get a confirmation text shortly.",
                "All set. Your {appt} is now {new_when} at {new_time}.",
            ]);
            close(w);
            goodbye(w);
        }
        Outcome::AppointmentCanceled => {
            w.user_mood(
                &["Thanks for calling. Actually, I need to cancel. I'm moving away, but you've all been great."],
                &[
                    "Actually, I need to cancel that appointment.",
                    "I'd like to cancel, please. I've found somewhere closer to work.",
                    "Please cancel it. I won't need it anymore.",
                ],
                &[
                    "Cancel it. I've been waiting three weeks and nobody returned my calls. Unacceptable.",
                    "I want to cancel. Your office double-charged me last time and nobody fixed it. Unacceptable.",
                ],
            );
            w.param("confirmation", "sys.yes_no", "no", "cancel");
            w.tag("cancel", TagFamily::Intent);
            w.agent(&[
                "I'm sorry to hear that. Would you like to reschedule instead of canceling?",
                "I can do that. Before I cancel, would you prefer to pick a new date instead?",
            ]);
            w.user_mood(
                &["No, thank you. Just cancel it, please."],
                &["No. Just cancel it.", "No, please cancel it."],
                &["No. Cancel it. I'm done with this terrible service."],
            );
            w.lookup(
                "cancel_appointment",
                json!({"appointment_id": appointment_id}),
                json!({"status": "canceled"}),
            );
            w.agent(&[
                "Okay, I've canceled your {appt} {when}. If you change your mind, just call us at {business_phone}.",
                "Your appointment {when} at {time} has been canceled. You can always book again at {business_phone}.",
            ]);
            close(w);
            goodbye(w);
        }
        Outcome::CallbackRequested => {
            w.user_mood(
                &["Oh, thanks for calling! I'm driving right now though. Could you call me back later?"],
                &[
                    "I'm driving right now. Can you call me back later?",
                    "I'm at work, can someone call me back?",
                    "Can't talk now. Call me back later.",
                ],
                &[
                    "I'm in the middle of something, this is a really bad time. So annoying. Call me back later.",
                    "Seriously, you're calling me at work again? This is ridiculous. Call back later.",
                ],
            );
            w.tag("callback", TagFamily::Intent);
            w.agent(&[
                "Of course. What time works best for a callback?",
                "No problem. When would be a good time to call you back?",
            ]);
            callback_time(w);
            w.agent(&[
                "Got it. We'll call you back {callback}. Goodbye!",
                "Okay, I've scheduled a callback for {callback}. Talk to you then.",
            ]);
        }
        Outcome::Transferred => {
            ask_for_human(
                w,
                &[
                    "Thanks for calling! I actually have a question about my bill, could I talk to someone at the front desk?",
                ],
                &[
                    "I actually have a question about my insurance coverage. Can I talk to someone at the front desk?",
                    "Can I speak to a person at the office? I have a question about the treatment plan.",
                ],
            );
            w.set("wait", "2");
            transfer_line(w, "our front desk");
        }
        _ => {
            w.user_mood(
                &[
                    "Yes, I'll be there. Thank you for the reminder!",
                    "Yes, absolutely. Thanks so much for calling!",
                    "Oh, great, thanks for reminding me! Yes, I'll be there.",
                ],
                &["Yes, I'll be there.", "Yes, that works. I confirm.", "Yep, I can make it.", "Yes. Confirm it."],
                &[
                    "Yes, I'll be there. You don't need to keep calling me, this is the third time you've called this week.",
                    "Yeah, yeah, I'll be there. These calls are really annoying.",
                    "Yes. And last time I waited forty minutes past my appointment time, which was ridiculous.",
                ],
            );
            w.param("confirmation", "sys.yes_no", "yes", "yes");
            w.tag("confirm", TagFamily::Intent);
            w.lookup(
                "confirm_appointment",
                json!({"appointment_id": appointment_id}),
                json!({"status": "confirmed"}),
            );
            w.agent(&[
                "Perfect, you're all set for {when} at {time}. Please arrive about ten minutes early and bring {bring}.",
                "Great, your appointment is confirmed. We'll see you {when} at {time}.",
                "Thank you, {first}. I've marked your appointment as confirmed.",
            ]);
            if w.chance(0.4) {
                const QUESTIONS: &[(&str, &str)] = &[
                    (
                        "Do I need to bring anything?",
                        "Just bring {bring} and a photo ID.",
                    ),
                    (
                        "Is there parking near the office?",
                        "Yes, there's free parking right behind the building.",
                    ),
                    (
                        "How long will it take?",
                        "It usually takes about forty-five minutes.",
                    ),
                    ("Sorry, what time was it again?", "It's at {time}, {when}."),
                    ("Is it still with {provider}?", "Yes, it's with {provider}."),
                ];
                let i = w.index(QUESTIONS.len());
                w.user(&[QUESTIONS[i].0]);
                w.agent(&[QUESTIONS[i].1]);
            }
            anything_else(w);
            close(w);
            w.agent(&[
                "Thanks, {first}. See you {when}. Goodbye!",
                "Have a great day, {first}. Goodbye!",
            ]);
        }
    }
}

fn reminder_es(w: &mut Writer<'_>, outcome: Outcome, inbound: bool, now: LocalNow) {
    let appointment = *w
        .rng
        .pick(&["limpieza dental", "revisión", "empaste", "ortodoncia"]);
    let provider = *w
        .rng
        .pick(&["la doctora Ruiz", "el doctor Navarro", "la doctora Vidal"]);
    w.set("appt", appointment);
    w.set("provider", provider);
    let days = w.rng.between(1, 6) as u32;
    let minutes = pick_minutes(w, DAY_SLOTS);
    set_moment(
        w,
        ["when", "date", "day", "time", "iso"],
        now,
        days,
        minutes,
    );
    let appointment_id = format!("cita_{}", w.rng.between(10_000, 99_999));

    if inbound {
        w.agent(&["Clínica Dental Sonrisa, le atiende {agent}, la asistente virtual. ¿En qué puedo ayudarle?"]);
        w.user(&[
            "Hola, tengo una llamada perdida de este número. Creo que era por una cita.",
            "Buenas, me han llamado de la clínica por mi cita.",
        ]);
        w.agent(&["Claro. ¿Me dice su nombre completo, por favor?"]);
        w.user(&["{first} {last}.", "Soy {first} {last}."]);
        let full = format!("{} {}", w.var("first"), w.var("last"));
        w.param("nombre", "sys.names", full.clone(), full.clone());
        w.lookup(
            "buscar_cita",
            json!({"paciente": full}),
            json!({"cita_id": appointment_id, "inicio": w.var("iso")}),
        );
        w.agent(&["Gracias, {first}. Tiene una cita de {appt} con {provider} {when} a las {time}. ¿Podrá venir?"]);
    } else {
        if w.chance(0.5) {
            w.user(&["¿Sí?", "¿Diga?", "¿Hola?"]);
        }
        w.agent(&[
            "Hola, le llama {agent}, la asistente virtual de {business}. ¿Hablo con {first}?",
            "Buenos días, soy {agent} de {business}. ¿Es usted {first} {last}?",
        ]);
        w.user_mood(
            &["Sí, soy yo. ¡Hola, qué amables!"],
            &["Sí, soy yo.", "Sí, dígame."],
            &["Sí. ¿Otra vez ustedes? Es muy molesto, ¿qué quieren ahora?"],
        );
        w.agent(&[
            "Le llamo para recordarle su cita de {appt} con {provider} {when} a las {time}. ¿Puede confirmar su asistencia?",
            "Le recordamos que tiene cita de {appt} {when} a las {time}. ¿Podrá venir?",
        ]);
    }

    match outcome {
        Outcome::AppointmentRescheduled => {
            w.user_mood(
                &["¡Gracias por avisar! Justo quería cambiarla, ¿se puede?"],
                &["Pues no puedo ese día. ¿Podemos cambiarla?", "Necesito cambiar la cita, por favor."],
                &["No, no puedo, y ya lo dije la semana pasada. Es la tercera vez que llamo para cambiarla. Es ridículo."],
            );
            w.param("confirmacion", "sys.yes_no", "no", "no");
            w.tag("reprogramar", TagFamily::Intent);
            w.agent(&["Por supuesto, déjeme ver la agenda."]);
            w.hold();
            let new_days = days + w.rng.between(1, 5) as u32;
            let new_minutes = pick_minutes(w, DAY_SLOTS);
            set_moment(
                w,
                ["new_when", "new_date", "new_day", "new_time", "new_iso"],
                now,
                new_days,
                new_minutes,
            );
            w.lookup(
                "buscar_huecos",
                json!({"despues_de": iso_day(now.today, days)}),
                json!({"huecos": [w.var("new_iso")]}),
            );
            w.agent(&["Tengo un hueco {new_when} a las {new_time}. ¿Le viene bien?"]);
            w.user(&["Sí, ese me va bien.", "Vale, ese día puedo."]);
            let text = format!("{} a las {}", w.var("new_day"), w.var("new_time"));
            w.param("nueva_fecha", "sys.date", w.var("new_iso"), text);
            w.agent(&["Listo, su cita queda cambiada para {new_when} a las {new_time}. Recibirá un SMS de confirmación."]);
            close_es(w);
            w.agent(&["Gracias, {first}. ¡Hasta pronto!"]);
        }
        Outcome::AppointmentCanceled => {
            w.user_mood(
                &["Muchas gracias por llamar, pero tengo que cancelarla. Me mudo de ciudad."],
                &["Quiero cancelar la cita, por favor.", "Tengo que anular la cita."],
                &["Cancélela. Llevo semanas esperando y nadie me devuelve las llamadas. Es una vergüenza."],
            );
            w.param("confirmacion", "sys.yes_no", "no", "cancelar");
            w.tag("cancelar", TagFamily::Intent);
            w.agent(&["De acuerdo. He cancelado su cita {when}. Si quiere pedir otra, llámenos al {business_phone}."]);
            close_es(w);
            w.agent(&["Gracias, {first}. Adiós."]);
        }
        Outcome::CallbackRequested => {
            w.user_mood(
                &["Gracias por llamar, pero ahora estoy conduciendo. ¿Me pueden llamar más tarde?"],
                &[
                    "Ahora no puedo hablar. ¿Me llaman luego?",
                    "Estoy trabajando, llámenme por la tarde.",
                ],
                &["Estoy ocupadísimo y siempre llaman en el peor momento, es muy molesto. Llamen más tarde."],
            );
            w.tag("rellamada", TagFamily::Intent);
            w.agent(&["Sin problema. ¿A qué hora le viene bien?"]);
            w.user(&["Después de las cinco.", "Mañana por la mañana."]);
            w.param(
                "hora_rellamada",
                "sys.time",
                "17:00",
                "después de las cinco",
            );
            w.agent(&["Perfecto, le llamaremos entonces. ¡Hasta luego!"]);
        }
        Outcome::Transferred => {
            w.user_mood(
                &["Gracias. Oiga, ¿podría hablar con recepción? Tengo una duda sobre el presupuesto."],
                &["¿Puedo hablar con alguien de recepción? Tengo una pregunta sobre el seguro."],
                &["No quiero hablar con una máquina. Páseme con una persona, por favor. Es ridículo."],
            );
            w.tag("hablar_con_persona", TagFamily::Intent);
            w.agent(&["Claro, le paso con recepción. Un momento, por favor."]);
        }
        _ => {
            w.user_mood(
                &[
                    "Sí, allí estaré. ¡Muchas gracias por el recordatorio!",
                    "Sí, perfecto, gracias por avisar.",
                ],
                &["Sí, allí estaré.", "Sí, confirmo.", "Vale, sí."],
                &["Sí, iré. Pero no hace falta que me llamen tres veces, es muy molesto."],
            );
            w.param("confirmacion", "sys.yes_no", "si", "sí");
            w.tag("confirmar", TagFamily::Intent);
            w.lookup(
                "confirmar_cita",
                json!({"cita_id": appointment_id}),
                json!({"estado": "confirmada"}),
            );
            w.agent(&[
                "Perfecto, su cita queda confirmada. Le esperamos {when} a las {time}.",
                "Estupendo, cita confirmada. Recuerde llegar diez minutos antes.",
            ]);
            w.agent(&["¿Necesita algo más?"]);
            close_es(w);
            w.agent(&[
                "Gracias, {first}. ¡Hasta pronto!",
                "Que tenga un buen día. Adiós.",
            ]);
        }
    }
}

fn close_es(w: &mut Writer<'_>) {
    w.user_mood(
        &[
            "¡Muchas gracias, muy amable!",
            "Perfecto, gracias. ¡Que tenga un buen día!",
            "Genial, se lo agradezco mucho.",
        ],
        &["No, eso es todo.", "Vale. Adiós.", "No, nada más."],
        &[
            "Nada más. Muy mal servicio, la verdad. Un desastre.",
            "No. Estoy harto de tantas llamadas.",
            "No. Esto es un desastre.",
        ],
    );
}

// ---------------------------------------------------------------------------------------
// Voicemail

fn voicemail(w: &mut Writer<'_>, topic: Topic, now: LocalNow) {
    let days = w.rng.between(1, 6) as u32;
    let minutes = pick_minutes(w, DAY_SLOTS);
    set_moment(
        w,
        ["when", "date", "day", "time", "iso"],
        now,
        days,
        minutes,
    );
    if w.locale == Locale::EsEs {
        w.user(&[
            "Hola, soy {first}. Ahora no puedo atenderte, deja tu mensaje después de la señal.",
            "El número al que llama no está disponible en este momento. Deje su mensaje después de la señal.",
        ]);
        w.agent(&["Hola, {first}, le llamamos de {business} para recordarle su cita {when} a las {time}. Si necesita cambiarla, llámenos al {business_phone}. Gracias, ¡hasta luego!"]);
        return;
    }
    w.user(&[
        "Hi, you've reached {first}. I can't take your call right now, please leave a message after the tone.",
        "The person you are calling is not available. Please leave a message after the tone.",
        "Hey, it's {first}. Leave a message and I'll get back to you.",
        "Your call has been forwarded to an automated voice messaging system. At the tone, please record your message.",
    ]);
    match topic {
        Topic::Solar => w.agent(&[
            "Hi {first}, this is {agent} from {business}. You requested information about solar panels for your home. Give us a call back at {business_phone} whenever it's convenient. Thanks!",
        ]),
        Topic::Insurance => w.agent(&[
            "Hi {first}, this is {agent} with {business}, calling about your policy renewal. Please call us back at {business_phone}. Thank you.",
        ]),
        _ => w.agent(&[
            "Hi {first}, this is {agent} from {business}, calling to remind you about your appointment {when} at {time}. To confirm or reschedule, please call us back at {business_phone}. Thank you, goodbye!",
            "Hello {first}, it's {agent} from {business} with a reminder about your appointment {when} at {time}. If you need to reschedule, call {business_phone}. Bye!",
        ]),
    }
}

// ---------------------------------------------------------------------------------------
// Customer support: outages

fn outage(w: &mut Writer<'_>, outcome: Outcome, now: LocalNow) {
    // A mobile network's customers lose data on their phone, not broadband at a router.
    let (service, device) = if w.var("business").contains("Mobile") {
        ("mobile data", "phone")
    } else {
        ("internet", "router")
    };
    w.set("service", service);
    w.set(
        "code_name",
        if w.locale == Locale::EnGb {
            "postcode"
        } else {
            "ZIP code"
        },
    );
    w.set("device", device);
    let causes = [
        "a fiber cut",
        "planned maintenance",
        "a power failure at a local cabinet",
        "storm damage",
    ];
    let cause = *w.rng.pick(&causes);
    w.set("cause", cause);
    let eta_minutes = (now.minutes + 60 * w.rng.between(2, 6) as u32).min(23 * 60);
    w.set("eta", spoken_time(w.locale, eta_minutes / 15 * 15));
    let ticket = format!("TCK-{}", w.rng.between(100_000, 999_999));
    w.set("ticket", ticket);
    let credit = money(w.locale, w.rng.between(5, 25) * 100);
    w.set("credit", credit);
    let wait = w.rng.between(2, 12).to_string();
    w.set("wait", wait);
    let visit_days = w.rng.between(1, 4) as u32;
    let visit = spoken_day(w.locale, now.today, visit_days);
    w.set(
        "visit_date",
        visit.strip_prefix("on ").unwrap_or(&visit).to_owned(),
    );
    w.set("visit", visit);
    let window = *w.rng.pick(&["8 and 12", "12 and 4", "1 and 5"]);
    w.set("window", window);

    greet_inbound(
        w,
        &[
            "Thank you for calling {business}. This is {agent}, your virtual assistant. How can I help you today?",
            "Hi, you've reached {business} support. I'm {agent}. What can I help you with?",
        ],
    );
    w.user_mood(
        &[
            "Hi! I think my {service} might be down, hoping you can help me out. Thanks!",
            "Hello there! My {service} stopped working, could you help me out please? Thank you!",
        ],
        &[
            "Hi, my {service} isn't working. Is there an outage in my area?",
            "My {service} connection keeps dropping since this morning.",
            "Hi, I have no {service} at all right now.",
        ],
        &[
            "My {service} has been down since yesterday. This is the third time I'm calling about this!",
            "Your service is down AGAIN. This is ridiculous, I work from home.",
            "I'm so frustrated. My {service} keeps cutting out and nobody fixes it.",
        ],
    );
    w.tag("outage", TagFamily::Topic);
    w.agent(&[
        "I'm sorry about that. Can I have the account holder's name and the {code_name} on the account?",
        "I'm sorry to hear that. To look into it, can you give me your name and the {code_name} on the account?",
    ]);
    w.user(&[
        "{first} {last}, and it's {postcode}.",
        "It's {first} {last}. The code is {postcode}.",
        "{first} {last}. {postcode}.",
    ]);
    let full = format!("{} {}", w.var("first"), w.var("last"));
    w.param("name", "sys.names", full.clone(), full);
    w.param(
        "zip_code",
        "sys.zip_code",
        w.var("postcode"),
        w.var("postcode"),
    );
    w.tag("identity_verified", TagFamily::Step);

    w.agent(&[
        "Thanks. Let me check for outages in your area.",
        "One moment while I check the network status near you.",
    ]);
    w.hold();
    // A known outage explains most calls; otherwise the agent walks through a restart.
    let known_outage = match outcome {
        Outcome::Unresolved => false,
        Outcome::CallbackRequested => true,
        _ => w.chance(0.55),
    };
    w.lookup(
        "check_outage",
        json!({"zip_code": w.var("postcode")}),
        if known_outage {
            json!({"outage": true, "cause": w.var("cause"), "eta": w.var("eta")})
        } else {
            json!({"outage": false})
        },
    );

    if outcome == Outcome::Transferred {
        ask_for_human(
            w,
            &[
                "Thanks for checking! I'd still love to talk to someone about upgrading my plan while I'm here.",
            ],
            &[
                "Can I talk to a technician, please? I'd rather speak to a person.",
                "I'd like to speak to a human agent, please.",
            ],
        );
        transfer_line(w, "a support specialist");
        return;
    }

    if known_outage {
        w.agent(&[
            "Thanks, {first}. I can see a service outage in your area caused by {cause}. Our technicians are on it and we expect service to be restored by about {eta}.",
            "Thank you. There's a known outage near {postcode} due to {cause}. The current estimate for restoration is {eta}.",
        ]);
        if outcome == Outcome::CallbackRequested {
            w.user_mood(
                &["Thanks for letting me know! Could someone call me back once it's fixed?"],
                &[
                    "Can someone just call me back when it's fixed? I can't stay on the line.",
                    "Okay. Can you call me when it's back up?",
                ],
                &["Unbelievable. Just call me back when it's actually fixed. I'm not waiting on the line again."],
            );
            w.tag("callback", TagFamily::Intent);
            w.lookup(
                "schedule_callback",
                json!({"reason": "outage_restored", "ticket": w.var("ticket")}),
                json!({"scheduled": true}),
            );
            w.agent(&["Of course. I've scheduled a callback to the number on your account as soon as service is restored. Your reference is {ticket}."]);
            close(w);
            goodbye(w);
            return;
        }
        w.user_mood(
            &["Okay, thank you for letting me know! I really appreciate the update."],
            &["Okay. So around {eta}?", "Okay, understood."],
            &["{eta}? I've already lost a whole day of work. This is unacceptable."],
        );
        w.agent(&[
            "Yes, around {eta}. I've also applied a {credit} credit to your account for the downtime. You'll see it on your next invoice.",
            "That's the current estimate. I've added a {credit} credit to your account for the trouble, it will show on your next invoice.",
        ]);
        w.lookup(
            "apply_credit",
            json!({"amount": w.var("credit")}),
            json!({"applied": true}),
        );
        anything_else(w);
        close(w);
        goodbye(w);
        return;
    }

    w.agent(&[
        "Thanks, {first}. I don't see an outage in your area, so let's try restarting your {device}. Please switch it off, wait thirty seconds, and switch it back on.",
        "Thank you. There's no outage reported near {postcode}. Could you restart your {device} for me? Turn it off for thirty seconds, then back on.",
    ]);
    w.user(&["Okay, hold on.", "Okay, give me a second.", "One moment."]);
    w.hold();
    w.user(&[
        "Okay, it's back on.",
        "Alright, I restarted it.",
        "Done. It's restarting.",
    ]);
    w.agent(&["Great. Give it a minute, then check your connection again. Is it working now?"]);
    if outcome == Outcome::Unresolved {
        w.user_mood(
            &["Hmm, still nothing, unfortunately. Thanks for trying though."],
            &[
                "No, it's still not working. The light is blinking red.",
                "No. Still no connection.",
            ],
            &["No! It's still not working. I've done this five times already, it's so frustrating."],
        );
        w.agent(&["I'm sorry about that. I've opened ticket {ticket}, and a technician can visit {visit} between {window}."]);
        w.lookup(
            "create_ticket",
            json!({"type": "technician_visit", "zip_code": w.var("postcode")}),
            json!({"ticket": w.var("ticket"), "status": "open"}),
        );
        w.user_mood(
            &["Okay, that's fine. Thank you for sorting out the visit."],
            &["Okay. I guess I'll wait for the technician.", "Alright, {visit_date} then."],
            &[
                "Not until {visit_date}? That's unacceptable. I work from home and I can't wait that long. This is ridiculous.",
                "Seriously? Days without {service}? Terrible service.",
            ],
        );
        w.agent(&[
            "I understand, and I'm sorry for the inconvenience. Your ticket number is {ticket}.",
        ]);
        close(w);
        return;
    }
    w.user_mood(
        &[
            "Oh, it's working again! Thank you so much!",
            "Yes! It's back. That's great, thanks!",
        ],
        &["Okay, it's working now.", "Yes, it's connected now."],
        &["Alright, it works now. Took long enough, honestly this was terrible."],
    );
    w.agent(&["Glad to hear it's working again!"]);
    anything_else(w);
    close(w);
    goodbye(w);
}

// ---------------------------------------------------------------------------------------
// Customer support: billing

fn billing(w: &mut Writer<'_>, outcome: Outcome) {
    let plan_cents = *w.rng.pick(&[3999_u64, 4999, 5999, 6499, 7999]);
    let fees = [
        ("late payment fee", 1500_u64),
        ("modem rental fee", 1200),
        ("installation charge", 4900),
        ("roaming charge", 2375),
        ("premium support fee", 999),
    ];
    let (fee_name, fee_cents) = *w.rng.pick(&fees);
    let total = plan_cents + fee_cents;
    w.set("plan", money(w.locale, plan_cents));
    w.set("amount", money(w.locale, total));
    w.set("fee_name", fee_name);
    w.set("fee", money(w.locale, fee_cents));
    let invoice = format!("INV-{}", w.rng.between(2_000_000, 9_999_999));
    w.set("invoice", invoice);
    let account = format!("{}", w.rng.between(10_000_000, 99_999_999));
    w.set("account", account);
    let wait = w.rng.between(2, 9).to_string();
    w.set("wait", wait);

    greet_inbound(
        w,
        &[
            "Thank you for calling {business} billing. This is {agent}, your virtual assistant. How can I help?",
            "Hi, you've reached {business}. I'm {agent}, I can help with bills and payments. What can I do for you?",
        ],
    );
    w.user_mood(
        &[
            "Hi! I have a quick question about my last invoice, hoping you can help. Thanks!",
            "Hello! Thanks for picking up so fast. I'm a bit confused by my latest bill.",
        ],
        &[
            "Hi, I have a question about my bill. I was charged {amount} this month instead of {plan}.",
            "I'd like to understand a charge on my latest invoice.",
            "Hi. My invoice is higher than usual this month.",
        ],
        &[
            "You overcharged me again! My bill is {amount} and my plan is {plan}. I want a refund, this is unacceptable.",
            "This is the third time I'm calling about my invoice. Why is it {amount}?",
            "I'm really annoyed. There's a charge on my bill I never agreed to.",
        ],
    );
    w.tag("billing", TagFamily::Topic);
    if w.typed {
        w.agent(&["I can help with that. Could you share your account number?"]);
    } else {
        w.agent(&[
            "I can help with that. Can you confirm the account number or the phone number on the account?",
            "Sure. What's your account number, please?",
        ]);
    }
    w.user(&["It's {account}.", "Account number {account}.", "{account}."]);
    w.param(
        "account_number",
        "sys.number",
        w.var("account"),
        w.var("account"),
    );
    w.tag("identity_verified", TagFamily::Step);
    w.agent(&[
        "Thank you. Let me pull up your account.",
        "One moment while I find your latest invoice.",
    ]);
    w.hold();
    w.lookup(
        "get_latest_invoice",
        json!({"account": w.var("account")}),
        json!({"invoice": w.var("invoice"), "total": w.var("amount"), "items": [
            {"description": "monthly plan", "amount": w.var("plan")},
            {"description": fee_name, "amount": w.var("fee")}
        ]}),
    );
    w.agent(&[
        "Thanks. I see invoice {invoice} for {amount}. It includes your {plan} plan plus a one-time {fee_name} of {fee}.",
        "Thank you, {first}. Your latest invoice, {invoice}, is {amount}: the {plan} plan and a {fee_name} of {fee}.",
    ]);

    match outcome {
        Outcome::Transferred => {
            ask_for_human(
                w,
                &[
                    "Thanks for explaining! I'd like to go over my whole contract with a billing specialist, if possible.",
                ],
                &[
                    "I'd like to speak to a billing specialist about this.",
                    "Can I talk to a person about my contract?",
                ],
            );
            transfer_line(w, "a billing specialist");
        }
        Outcome::CallbackRequested => {
            w.user_mood(
                &["Oh, thanks! Could someone from billing call me back? I'd like to check my bank statement first."],
                &["Can someone from billing call me back? I need to check my bank statement first."],
                &["I don't have time for this right now. This is ridiculous. Have someone call me back and fix it."],
            );
            w.tag("callback", TagFamily::Intent);
            w.agent(&["Of course. When is a good time for our billing team to call you?"]);
            callback_time(w);
            w.agent(&["Done. Our billing team will call you back {callback}. Your invoice reference is {invoice}."]);
            close(w);
        }
        Outcome::Unresolved => {
            w.user_mood(
                &["I see, thanks. Is there any way to remove it?"],
                &[
                    "I never asked for that. Can you remove it?",
                    "Can that be waived?",
                ],
                &["I never agreed to that fee, this is unacceptable. Remove it and refund me. Now."],
            );
            w.tag("refund_request", TagFamily::Intent);
            w.agent(&[
                "I'm sorry, but that {fee_name} is part of your contract, so I can't remove it.",
                "I've checked, and unfortunately I'm not able to waive the {fee_name} on this account.",
            ]);
            w.user_mood(
                &["Alright, I understand. Thanks for checking anyway."],
                &[
                    "Okay. I'll look at my contract then.",
                    "Okay. I'll check my paperwork.",
                ],
                &[
                    "That's ridiculous. I never agreed to that. I'm going to cancel my service.",
                    "Unbelievable. This is the worst customer service I've ever dealt with.",
                ],
            );
            w.agent(&["I understand. If you'd like to review your options, you can also visit any {business} store."]);
            close(w);
        }
        _ => {
            w.user_mood(
                &["Oh, I see, thanks for explaining. Is there any way to remove that fee?"],
                &[
                    "I never asked for that. Can you remove it?",
                    "Can that be waived?",
                ],
                &["I never agreed to that fee, this is unacceptable. Remove it and refund me. Now."],
            );
            w.tag("refund_request", TagFamily::Intent);
            let refund_id = format!("RF-{}", w.rng.between(10_000, 99_999));
            w.lookup(
                "issue_refund",
                json!({"invoice": w.var("invoice"), "amount": w.var("fee")}),
                json!({"refund_id": refund_id, "status": "approved"}),
            );
            w.agent(&[
                "I've reversed the {fee_name}. You'll see a refund of {fee} within three to five business days.",
                "Done. I've refunded the {fee} {fee_name}; it will appear on your account in a few days.",
            ]);
            anything_else(w);
            close(w);
            goodbye(w);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Sales: solar lead qualification

fn solar(w: &mut Writer<'_>, outcome: Outcome, inbound: bool, now: LocalNow) {
    let bill_dollars = w.rng.between(9, 38) * 10;
    w.set("bill", money(w.locale, bill_dollars * 100));
    let kw = format!("{}.{}", w.rng.between(4, 11), w.rng.below(10));
    w.set("kw", kw);
    let pct = (w.rng.between(6, 18) * 5).to_string();
    w.set("pct", pct);
    let wait = w.rng.between(1, 4).to_string();
    w.set("wait", wait);
    let days = w.rng.between(2, 8) as u32;
    let minutes = pick_minutes(w, DAY_SLOTS);
    set_moment(
        w,
        ["when", "date", "day", "time", "iso"],
        now,
        days,
        minutes,
    );

    if inbound {
        w.agent(&["Thanks for calling {business}, this is {agent}. How can I help?"]);
        w.user(&[
            "Hi, I got a voicemail from you guys about solar panels.",
            "Hello, I'm calling back about a solar quote.",
        ]);
        w.agent(&["Thanks for calling back! Can I have your name, please?"]);
        w.user(&["{first} {last}.", "It's {first} {last}."]);
        let lead_id = format!("L-{}", w.rng.between(100_000, 999_999));
        w.lookup(
            "find_lead",
            json!({"phone": w.var("customer_phone")}),
            json!({"lead_id": lead_id, "address": w.var("street")}),
        );
        w.agent(&["Great, I have your request here for {street}. Do you have a couple of minutes to go over it?"]);
    } else {
        if w.chance(0.5) {
            w.user(&["Hello?", "Yeah?", "Hello, who is this?"]);
        }
        w.agent(&[
            "Hi, is this {first}? This is {agent} with {business}. You asked about solar for your home on {street}. Do you have two minutes?",
            "Hi {first}, this is {agent} calling from {business}. You recently requested a quote for solar panels. Is now a good time?",
        ]);
    }

    // Interested leads are qualified first, whether they book or want a person.
    if matches!(outcome, Outcome::SaleMade | Outcome::Transferred) {
        w.user_mood(
            &[
                "Yes, absolutely! We've been thinking about going solar for a while. Thanks for calling!",
                "Oh great, yes, I've been waiting for your call!",
            ],
            &["Sure, I have a couple of minutes.", "Yes, go ahead."],
            &["Fine, but make it quick. The last company wasted an hour of my time, it was terrible."],
        );
        w.tag("interested", TagFamily::Intent);
        w.agent(&["Great. First, do you own your home?"]);
        w.user(&[
            "Yes, we own it.",
            "Yes, we've owned it for about six years.",
            "Yes.",
        ]);
        w.param("owns_home", "sys.yes_no", "yes", "yes");
        w.agent(&["And roughly how much is your electric bill each month?"]);
        w.user(&[
            "About {bill} a month.",
            "Around {bill}, more in the summer.",
            "Usually {bill}.",
        ]);
        w.param("monthly_bill", "sys.currency", bill_dollars, w.var("bill"));
        w.agent(&[
            "Okay, let me run the numbers for your address.",
            "Give me a second to check what your roof could produce.",
        ]);
        w.hold();
        w.lookup(
            "estimate_savings",
            json!({"zip_code": w.var("postcode"), "monthly_bill": bill_dollars}),
            json!({"system_kw": w.var("kw"), "savings_percent": w.var("pct")}),
        );
        w.agent(&["Thanks. Based on your usage, a {kw} kilowatt system could cut your bill by around {pct} percent."]);
    }

    match outcome {
        Outcome::SaleMade => {
            w.agent(&[
                "I'd love to set up a free in-home consultation. Does {date} at {time} work?",
            ]);
            w.user_mood(
                &[
                    "Yes, that works perfectly. Thank you!",
                    "That's great, let's do it!",
                ],
                &["Yes, that works.", "Okay, book it."],
                &["Fine. Book it. But I'm not signing anything on the spot, the last company was terrible."],
            );
            w.param("consultation_date", "sys.date", w.var("iso"), w.var("when"));
            let booking_id = format!("SP-{}", w.rng.between(10_000, 99_999));
            w.lookup(
                "book_consultation",
                json!({"start": w.var("iso"), "address": w.var("street")}),
                json!({"booking_id": booking_id}),
            );
            w.agent(&["You're booked for {date} at {time}. Our energy advisor will come to {street}. You'll get a text confirmation shortly."]);
            close(w);
            goodbye(w);
        }
        Outcome::CallbackRequested => {
            w.user_mood(
                &["Oh, I'm definitely interested, thanks for calling! But I'm in a meeting. Could you call me back later?"],
                &[
                    "Now's not a good time. Can you call me back?",
                    "I'm at work. Could you call back later?",
                ],
                &["I'm busy. You people always call at the worst time. Call back later."],
            );
            w.tag("callback", TagFamily::Intent);
            w.agent(&["No problem at all. When would be a better time?"]);
            callback_time(w);
            w.agent(&["Perfect, I'll call you back {callback}. Talk soon!"]);
        }
        Outcome::Transferred => {
            ask_for_human(
                w,
                &["This sounds great! Could I talk to someone about financing options?"],
                &[
                    "I have some detailed questions about financing. Can I talk to a real person?",
                    "Is there a specialist I can speak to about the tax credit?",
                ],
            );
            transfer_line(w, "one of our energy advisors");
        }
        _ => {
            w.user_mood(
                &["Thanks for calling, but we've decided to wait a year or two. Have a great day though!"],
                &[
                    "No, I'm not interested.",
                    "We're not interested anymore, we decided against it.",
                    "Actually, we already signed with another company.",
                ],
                &[
                    "Stop calling me. This is the fourth call this week, it's ridiculous.",
                    "I never asked for this. Take me off your list, now. This is so annoying.",
                ],
            );
            w.tag("decline", TagFamily::Intent);
            w.agent(&[
                "I understand. Would you like me to remove you from our call list?",
                "No problem. Should I take you off our list?",
            ]);
            w.user_mood(
                &["Yes, please. Thank you!"],
                &["Yes, please.", "Yes."],
                &["Yes. Obviously. Stop wasting my time."],
            );
            w.param("do_not_call", "sys.yes_no", "yes", "yes");
            w.lookup(
                "update_lead",
                json!({"do_not_call": true}),
                json!({"updated": true}),
            );
            w.agent(&[
                "Done. You won't receive any more calls from us. Have a good day.",
                "Okay, I've removed your number. Sorry for the interruption. Goodbye.",
            ]);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Sales: insurance renewals

fn insurance(w: &mut Writer<'_>, outcome: Outcome, inbound: bool, now: LocalNow) {
    let vehicles = [
        "2019 Honda Civic",
        "2021 Toyota RAV4",
        "2017 Ford F-150",
        "2022 Tesla Model 3",
        "2018 Subaru Outback",
    ];
    let vehicle = *w.rng.pick(&vehicles);
    w.set("vehicle", vehicle);
    let current = w.rng.between(110, 240);
    let saving = w.rng.between(8, 35);
    w.set("current", money(w.locale, current * 100));
    w.set("premium", money(w.locale, (current - saving) * 100 + 50));
    w.set("saving", money(w.locale, saving * 100 - 50));
    let policy = format!(
        "SHA-{}-{}",
        w.rng.between(1000, 9999),
        w.rng.between(100, 999)
    );
    w.set("policy", policy);
    let wait = w.rng.between(1, 6).to_string();
    w.set("wait", wait);
    let days = w.rng.between(5, 20) as u32;
    w.set("when", spoken_day(w.locale, now.today, days));

    if inbound {
        w.agent(&["Thank you for calling {business}. This is {agent}. How can I help you today?"]);
        w.user(&[
            "Hi, you left me a message about my policy renewal.",
            "Hello, I'm returning a call about my car insurance.",
        ]);
        w.agent(&["Thanks for calling back. Can I have your name and date of birth?"]);
        w.user(&[
            "{first} {last}, March 3rd, 1984.",
            "It's {first} {last}, born June 12th, 1979.",
        ]);
        w.agent(&["Thank you, {first}. Your auto policy renews {when}, and I'd like to review your options."]);
    } else {
        if w.chance(0.4) {
            w.user(&["Hello?", "Hi, who's this?"]);
        }
        w.agent(&[
            "Hi {first}, this is {agent} from {business}. I'm calling because your auto policy renews {when}. Do you have a minute to review your options?",
            "Hello, may I speak with {first} {last}? This is {agent} with {business}, calling about your upcoming policy renewal.",
        ]);
    }

    // Reviews start the same way, whether they end in a renewal or with a person.
    if matches!(outcome, Outcome::SaleMade | Outcome::Transferred) {
        w.user_mood(
            &["Oh, perfect timing, thanks for calling! Sure, go ahead."],
            &["Sure, go ahead.", "Okay, I have a minute."],
            &["Fine. But my premium went up a lot last year and I'm not happy about it."],
        );
        w.tag("renewal_review", TagFamily::Intent);
        w.agent(&["Great. Are you still driving the {vehicle}?"]);
        w.user(&["Yes, same car.", "Yep, still the {vehicle}."]);
        w.param("vehicle", "sys.any", w.var("vehicle"), w.var("vehicle"));
        w.agent(&["And any accidents or claims in the last three years?"]);
        w.user(&["No, none.", "No, nothing."]);
        w.param("claims_3y", "sys.number", 0, "none");
        w.agent(&[
            "Thanks. Let me run a renewal quote for you.",
            "One moment while I check our current rates.",
        ]);
        w.hold();
        w.lookup(
            "quote_renewal",
            json!({"vehicle": w.var("vehicle"), "claims": 0}),
            json!({"monthly_premium": w.var("premium"), "saving": w.var("saving")}),
        );
    }

    match outcome {
        Outcome::SaleMade => {
            w.agent(&["Good news: I can offer you a renewal at {premium} a month, which is {saving} less than you're paying now, with the same coverage."]);
            w.user_mood(
                &[
                    "That's great! Let's do it. Thank you!",
                    "Wonderful, sign me up!",
                ],
                &["Okay, let's go with that.", "Alright, renew it."],
                &["Fine, renew it. It should have been this price last year, which is ridiculous."],
            );
            w.lookup(
                "bind_policy",
                json!({"policy": w.var("policy"), "monthly_premium": w.var("premium")}),
                json!({"status": "bound"}),
            );
            w.agent(&["Perfect. Your policy is renewed. Your policy number is {policy}, and the documents will be emailed to you today."]);
            close(w);
            goodbye(w);
        }
        Outcome::CallbackRequested => {
            w.user_mood(
                &["Thanks for the heads-up! I can't talk right now, could you call me back?"],
                &[
                    "I can't talk right now. Can you call me back?",
                    "Call me back later, please.",
                ],
                &["I'm driving. Why do you always call at the worst time? Call back later."],
            );
            w.tag("callback", TagFamily::Intent);
            w.agent(&["Of course. When's a good time?"]);
            callback_time(w);
            w.agent(&["I'll call you back {callback}. Thank you, {first}."]);
        }
        Outcome::Transferred => {
            ask_for_human(
                w,
                &[
                    "Thanks for calling! I'd like to add my son to the policy, could I talk to an agent about that?",
                ],
                &[
                    "I'd like to talk to my agent about adding a driver.",
                    "Can I speak to a licensed agent about my coverage?",
                ],
            );
            transfer_line(w, "a licensed agent");
        }
        _ => {
            w.user_mood(
                &["Thanks so much for calling, but I've already renewed online. Have a great day!"],
                &[
                    "I already switched to another insurer, so no.",
                    "No, I'm not interested in changing anything.",
                ],
                &[
                    "No. Your rates went up twenty percent last year, it's ridiculous. I'm done with you people.",
                    "Not interested. Stop calling me, it's ridiculous.",
                ],
            );
            w.tag("decline", TagFamily::Intent);
            w.agent(&[
                "I understand. I've made a note of that. Is there anything else I can help with?",
            ]);
            close(w);
            goodbye(w);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Restaurant reservations

fn reservation(w: &mut Writer<'_>, outcome: Outcome, now: LocalNow) {
    let party = w.rng.between(2, 8);
    w.set("party", party.to_string());
    let big_party = w.rng.between(14, 40).to_string();
    w.set("big_party", big_party);
    let days = w.rng.between(0, 10) as u32;
    let dinner = [
        18 * 60,
        18 * 60 + 30,
        19 * 60,
        19 * 60 + 30,
        20 * 60,
        20 * 60 + 30,
        12 * 60 + 30,
        13 * 60,
    ];
    let minutes = pick_minutes(w, &dinner);
    set_moment(
        w,
        ["res_when", "res_date", "res_day", "res_time", "res_iso"],
        now,
        days,
        minutes,
    );
    w.set("late_time", spoken_time(w.locale, 21 * 60 + 15));
    w.set("wait", "1");
    let reference = format!("R-{}", w.rng.between(1000, 9999));
    w.set("reference", reference);

    greet_inbound(
        w,
        &[
            "Thanks for calling {business}! This is {agent}. How can I help you?",
            "{business}, this is {agent} speaking. How can I help?",
            "Hello, you've reached {business}. I'm {agent}, the reservations assistant. How can I help?",
        ],
    );

    match outcome {
        Outcome::Transferred => {
            if w.mood == callscope_model::Sentiment::Negative {
                w.user(&[
                    "I want to speak to a manager. Our order last night was completely wrong and nobody cared. Unacceptable.",
                    "I need to talk to the manager. We waited over an hour for our food last night, it was ridiculous.",
                ]);
                w.tag("complaint", TagFamily::Intent);
                w.agent(&[
                    "I'm so sorry to hear that. Could you tell me a bit more about what happened?",
                ]);
                w.user(&[
                    "Two of the dishes were wrong and the bill was wrong too. I'm not explaining it to a bot, this is so frustrating.",
                    "We were ignored for forty minutes. Terrible. Just get me the manager.",
                ]);
                w.tag("human_request", TagFamily::Intent);
                transfer_line(w, "our restaurant manager");
                return;
            }
            w.user_mood(
                &["Hi! We had a wonderful dinner last week, and I'd love to book the private room for a party. Thank you!"],
                &["Hi, I'd like to book the private room for a party next month."],
                &["Hi, I'd like to book the private room for a party next month."],
            );
            w.tag("private_event", TagFamily::Intent);
            w.agent(&[
                "Happy to help with that. How many guests, and which date are you thinking of?",
            ]);
            w.user(&[
                "About {big_party} people, {res_day} evening.",
                "{big_party} guests, on a {res_day}.",
            ]);
            w.param(
                "party_size",
                "sys.number",
                w.var("big_party"),
                w.var("big_party"),
            );
            w.agent(&["For groups of that size our events manager takes care of the booking and the menu."]);
            transfer_line(w, "our events manager");
        }
        Outcome::CallbackRequested => {
            w.user_mood(
                &["Hi! We love your place. Could the manager call me back about a private event? Thank you!"],
                &["Hi, could the manager call me back about a private event?"],
                &["I've left two messages already about a private event and nobody called back. This is ridiculous."],
            );
            w.tag("private_event", TagFamily::Intent);
            w.agent(&["Of course. When is a good time for our events manager to call you?"]);
            callback_time(w);
            w.agent(&["Done. Our events manager will call you back {callback}."]);
            close(w);
        }
        _ => {
            let kind = if outcome == Outcome::Unresolved {
                0
            } else {
                w.index(4)
            };
            if kind == 2 {
                // Cancelling an existing booking.
                w.user_mood(
                    &["Hi! Unfortunately I need to cancel my reservation {res_when}, under {last}. Sorry about that, and thank you!"],
                    &["Hi, I need to cancel my reservation {res_when}. It's under {last}."],
                    &["I need to cancel my booking {res_when}, under {last}. Your website wouldn't let me, which is ridiculous."],
                );
                w.tag("cancel_reservation", TagFamily::Intent);
                w.lookup(
                    "find_reservation",
                    json!({"name": w.var("last"), "date": w.var("res_iso")}),
                    json!({"reservation_id": w.var("reference"), "party_size": party}),
                );
                w.agent(&["I found it: a table for {party} {res_when} at {res_time}. I've canceled it for you. Hope to see you another time!"]);
                close(w);
                return;
            }
            if kind == 3 {
                // A question rather than a booking.
                const QUESTIONS: &[(&str, &str)] = &[
                    (
                        "Hi, what time do you close tonight?",
                        "We're open until 10:30 tonight, and the kitchen takes last orders at 10.",
                    ),
                    (
                        "Hi, do you have gluten-free options?",
                        "Yes, most of our pasta dishes can be made with gluten-free pasta, and the menu marks every allergen.",
                    ),
                    (
                        "Hi, is there parking nearby?",
                        "There's a public parking lot two minutes' walk away, and street parking is free in the evening.",
                    ),
                    (
                        "Hi, do you do takeout?",
                        "Yes, you can order takeout by phone or on our website, and pick it up at the bar.",
                    ),
                ];
                let i = w.index(QUESTIONS.len());
                w.user(&[QUESTIONS[i].0]);
                w.tag("question", TagFamily::Intent);
                w.agent(&[QUESTIONS[i].1]);
                w.user_mood(
                    &["Perfect, thank you so much!", "Great, thanks a lot!"],
                    &["Okay, got it.", "Alright."],
                    &["Okay. Your website should really say that, it's terrible."],
                );
                anything_else(w);
                close(w);
                return;
            }
            w.user_mood(
                &[
                    "Hi! I'd love to book a table for {party} {res_when} at {res_time}. It's my wife's birthday!",
                    "Hello! Could I book a table for {party} {res_when} around {res_time}? We loved it last time.",
                ],
                &[
                    "Hi, I'd like to book a table for {party} {res_when} at {res_time}.",
                    "Do you have a table for {party} {res_when} around {res_time}?",
                ],
                &[
                    "Hi. I've tried booking online three times and your website keeps failing, it's so frustrating. I need a table for {party} {res_when} at {res_time}.",
                    "I've been on hold forever, this is ridiculous. I need a table for {party} {res_when} at {res_time}.",
                ],
            );
            w.tag("book_table", TagFamily::Intent);
            w.param("party_size", "sys.number", party, w.var("party"));
            w.param("date", "sys.date", w.var("res_iso"), w.var("res_when"));
            w.param("time", "sys.time", w.var("res_iso"), w.var("res_time"));
            w.agent(&[
                "Let me check availability for you.",
                "One moment while I check.",
            ]);
            w.hold();
            let available = outcome != Outcome::Unresolved;
            let table = format!("T{}", w.rng.between(1, 24));
            w.lookup(
                "check_availability",
                json!({"party_size": party, "start": w.var("res_iso")}),
                if available {
                    json!({"available": true, "table": table})
                } else {
                    json!({"available": false, "alternatives": ["21:15"]})
                },
            );
            if !available {
                w.agent(&["I'm sorry, we're fully booked at {res_time}. The closest I have is {late_time}. Would that work?"]);
                w.user_mood(
                    &["Ah, that's a bit late for us, but thanks for checking!"],
                    &["That's too late for us. Never mind.", "No, that doesn't work."],
                    &["Seriously? I called last week and was told there'd be space. This is ridiculous."],
                );
                w.agent(&["I'm sorry about that. Would you like me to add you to the waitlist for {res_time}?"]);
                w.user(&["No.", "No, we'll go somewhere else.", "Not this time."]);
                w.agent(&["Understood. I hope we can welcome you another time. Goodbye!"]);
                return;
            }
            w.agent(&["Good news, we have a table for {party} {res_when} at {res_time}. Can I get a name for the reservation?"]);
            w.user(&["It's under {last}.", "{first} {last}.", "{last}, please."]);
            w.param("name", "sys.names", w.var("last"), w.var("last"));
            if w.online {
                w.agent(&["And a phone number in case we need to reach you?"]);
                w.user(&["{customer_phone}."]);
            }
            w.agent(&["Any special requests, like dietary restrictions or a high chair?"]);
            w.user_mood(
                &["It's a birthday, so a nice table by the window would be lovely. Thank you!"],
                &["One of us is vegetarian.", "No, that's all.", "We'll need a high chair, please."],
                &["Just make sure the table is ready on time. Last time we waited half an hour, which was unacceptable."],
            );
            w.lookup(
                "create_reservation",
                json!({"name": w.var("last"), "party_size": party, "start": w.var("res_iso")}),
                json!({"reservation_id": w.var("reference"), "status": "booked"}),
            );
            w.agent(&["You're all set: a table for {party} {res_when} at {res_time} under {last}. Your reference is {reference}. We look forward to seeing you!"]);
            close(w);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Delivery status

fn delivery(w: &mut Writer<'_>, outcome: Outcome) {
    let prefix = if w.var("business") == "QuickCart" {
        "QC"
    } else {
        "PX"
    };
    let order = format!("{prefix}-{}", w.rng.between(100_000, 999_999));
    w.set("order", order);
    let carriers = ["UPS", "FedEx", "USPS", "DHL", "our own courier"];
    let carrier = *w.rng.pick(&carriers);
    w.set("carrier", carrier);
    let window = *w.rng.pick(&[
        "2 and 6 PM",
        "10 AM and 2 PM",
        "4 and 8 PM",
        "noon and 4 PM",
    ]);
    w.set("window", window);
    let claim = format!("CLM-{}", w.rng.between(10_000, 99_999));
    w.set("claim", claim);
    let refund = money(w.locale, w.rng.between(900, 18_900));
    w.set("refund", refund);
    let wait = w.rng.between(2, 10).to_string();
    w.set("wait", wait);

    greet_inbound(
        w,
        &[
            "Hi, thanks for calling {business}. I'm {agent}, your virtual assistant. How can I help?",
            "Welcome to {business} support, this is {agent}. What can I do for you today?",
        ],
    );
    w.user_mood(
        &[
            "Hi! I'm just checking on my order, it's {order}. Thanks so much!",
            "Hello! Could you tell me when my package will arrive? The order number is {order}. Thanks!",
        ],
        &[
            "Hi, where's my order? The order number is {order}.",
            "I'm calling about a delivery. Order {order}.",
            "Can you tell me when my package will arrive? Order number {order}.",
        ],
        &[
            "My package was supposed to arrive two days ago. Order {order}. This is the third time I'm calling!",
            "Where is my order? It's {order}, and it's a week late. This is ridiculous.",
        ],
    );
    w.tag("order_status", TagFamily::Intent);
    w.param(
        "order_number",
        "sys.alphanumeric",
        w.var("order"),
        w.var("order"),
    );
    if w.chance(0.12) {
        // The recogniser misheard the order number the first time; the flow collects it
        // again, which is why seed 001 allows repeated parameters.
        w.agent(&["Sorry, I didn't catch that. Could you repeat the order number?"]);
        w.user(&["{order}.", "It's {order}."]);
        w.param(
            "order_number",
            "sys.alphanumeric",
            w.var("order"),
            w.var("order"),
        );
    }
    // Orders are looked up with a second identifier, as tracking pages ask for one.
    w.agent(&[
        "Thanks. To verify, what's the ZIP code of the delivery address?",
        "Got it. Can you confirm the ZIP code the order is going to?",
    ]);
    w.user(&["{postcode}.", "It's {postcode}."]);
    w.param(
        "zip_code",
        "sys.zip_code",
        w.var("postcode"),
        w.var("postcode"),
    );
    w.agent(&[
        "Let me look that up for you.",
        "One moment while I check that order.",
    ]);
    w.hold();

    match outcome {
        Outcome::Unresolved => {
            w.lookup(
                "track_order",
                json!({"order_number": w.var("order")}),
                json!({"status": "delivered", "left_at": "front door", "carrier": w.var("carrier")}),
            );
            w.agent(&[
                "It shows as delivered yesterday afternoon by {carrier}, left at the front door.",
            ]);
            w.user_mood(
                &["Oh, that's odd, I haven't seen it. Thanks for checking though."],
                &[
                    "It's not here. I checked everywhere.",
                    "I didn't get anything.",
                ],
                &["It was NOT delivered. I've been home all day. Unbelievable."],
            );
            w.agent(&["I'm sorry. I've opened a claim, number {claim}. Our team will investigate within 48 hours and contact you."]);
            w.lookup(
                "open_claim",
                json!({"order_number": w.var("order"), "reason": "not_received"}),
                json!({"claim": w.var("claim")}),
            );
            w.user_mood(
                &["Okay, thank you for opening the claim."],
                &["Okay. I'll wait to hear back.", "Alright."],
                &["I don't want a claim, I want a refund. This is ridiculous."],
            );
            close(w);
        }
        Outcome::Transferred => {
            w.lookup(
                "track_order",
                json!({"order_number": w.var("order")}),
                json!({"status": "delayed", "carrier": w.var("carrier")}),
            );
            w.agent(&["Your order is delayed at the {carrier} depot. I don't have a new delivery date yet."]);
            ask_for_human(
                w,
                &[
                    "Oh, okay, thanks. Could I speak with someone about changing the delivery address?",
                ],
                &[
                    "Can I talk to a human agent, please?",
                    "I'd like to speak to a person about this.",
                ],
            );
            transfer_line(w, "a customer care specialist");
        }
        Outcome::CallbackRequested => {
            w.lookup(
                "track_order",
                json!({"order_number": w.var("order")}),
                json!({"status": "delayed", "carrier": w.var("carrier")}),
            );
            w.agent(&["Your order is delayed at the {carrier} depot. I don't have a new delivery date yet."]);
            w.user_mood(
                &["Thanks for checking! Could someone call me once you know more?"],
                &["Can someone call me when you know where it is?"],
                &["That's useless. Call me when you actually know something."],
            );
            w.tag("callback", TagFamily::Intent);
            w.agent(&["Yes, we'll call you back as soon as the carrier gives us an update, usually within 24 hours."]);
            close(w);
        }
        _ => {
            w.lookup(
                "track_order",
                json!({"order_number": w.var("order")}),
                json!({"status": "out_for_delivery", "carrier": w.var("carrier"), "window": w.var("window")}),
            );
            w.agent(&["Your order {order} is out for delivery with {carrier} and should arrive today between {window}."]);
            w.user_mood(
                &[
                    "Oh, perfect! Thanks so much.",
                    "Great, that's good news. Thank you!",
                ],
                &["Okay, got it.", "Okay."],
                &["Finally. It should have been here days ago, this is terrible service."],
            );
            if w.chance(0.3) {
                w.user(&[
                    "Also, one item from my last order arrived damaged. The box was crushed.",
                ]);
                w.tag("refund_request", TagFamily::Intent);
                w.lookup(
                    "issue_refund",
                    json!({"reason": "damaged"}),
                    json!({"amount": w.var("refund"), "status": "approved"}),
                );
                w.agent(&["I'm sorry about that. I've issued a refund of {refund} to your original payment method; it should appear within five to seven business days."]);
            }
            anything_else(w);
            close(w);
            goodbye(w);
        }
    }
}
