//! The fictional cast of the demo: agents, their businesses and campaigns, and the pool of
//! customers who call them or get called.
//!
//! Everything here is fixed data so that agent ids, names and campaigns are the same in
//! every corpus, whatever the seed; only who calls when, and what they say, depends on it.
//! Phone numbers use ranges reserved for fiction where one exists (US 555, Ofcom's drama
//! ranges) so a demo never shows a real person's number.

use crate::rng::{Rng, stable_hash};
use callscope_model::Direction;

/// The five kinds of work the demo agents do; `label` is the ground-truth `use_case`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UseCase {
    Reminder,
    Support,
    Sales,
    Restaurant,
    Delivery,
}

impl UseCase {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Reminder => "appointment_reminder",
            Self::Support => "customer_support",
            Self::Sales => "sales",
            Self::Restaurant => "restaurant_reservation",
            Self::Delivery => "delivery_status",
        }
    }
}

/// What one call is about, more precisely than its use case; picks the script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Topic {
    DentalReminder,
    ClinicReminder,
    Outage,
    Billing,
    Solar,
    Insurance,
    Reservation,
    Delivery,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Locale {
    EnUs,
    EnGb,
    EsEs,
}

impl Locale {
    pub(crate) fn code(self) -> &'static str {
        match self {
            Self::EnUs => "en-US",
            Self::EnGb => "en-GB",
            Self::EsEs => "es-ES",
        }
    }

    pub(crate) fn region(self) -> &'static str {
        match self {
            Self::EnUs => "us",
            Self::EnGb => "uk",
            Self::EsEs => "es",
        }
    }
}

/// How an agent is built, which decides the shape of its calls: `Flow` agents are
/// Vonage-AI-Studio-like node graphs (they fill `flow`, `request_ids` and `status_code`
/// details), `Pipeline` agents are LiveKit/Pipecat-like STT → LLM → TTS loops (they fill
/// `room_name`, `pipeline_config` and tool entries in the transcript).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Runtime {
    Flow,
    Pipeline,
}

/// The weekly rhythm of an agent's traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Hours {
    /// Outbound dialling: weekday office hours only, a little on Saturday morning.
    Office,
    /// A support line: around the clock, busiest on weekday mornings.
    Support,
    /// A restaurant: lunch and dinner peaks, busiest before the weekend.
    Restaurant,
    /// Delivery questions: daytime every day, a bump after work.
    Delivery,
}

/// A `(provider, model)` pair of one pipeline stage.
pub(crate) type Engine = (&'static str, &'static str);

#[derive(Clone, Copy, Debug)]
pub(crate) struct Stack {
    pub(crate) stt: Engine,
    pub(crate) llm: Engine,
    pub(crate) tts: Engine,
}

#[derive(Debug)]
pub(crate) struct AgentProfile {
    /// Short stable name, used for hashing ids and in URLs.
    pub(crate) slug: &'static str,
    pub(crate) id: &'static str,
    /// The version live in the first 60% of the window, then the one after it.
    pub(crate) versions: [&'static str; 2],
    pub(crate) name: &'static str,
    /// The first name the agent introduces itself with.
    pub(crate) persona: &'static str,
    pub(crate) business: &'static str,
    pub(crate) voice: &'static str,
    pub(crate) locale: Locale,
    pub(crate) use_case: UseCase,
    pub(crate) topics: &'static [Topic],
    pub(crate) direction: Direction,
    /// Share of telephony calls that go the other way (a customer returning a missed
    /// reminder call, a lead calling back the sales line).
    pub(crate) opposite_share: f64,
    pub(crate) web_share: f64,
    pub(crate) chat_share: f64,
    pub(crate) runtime: Runtime,
    /// The telephony provider named in events.
    pub(crate) carrier: &'static str,
    pub(crate) stack: Stack,
    pub(crate) campaigns: &'static [&'static str],
    /// The agent's own phone numbers.
    pub(crate) lines: &'static [&'static str],
    /// Relative call volume.
    pub(crate) weight: f64,
    /// Hours from UTC of the business (fixed; daylight saving is not worth modelling here).
    pub(crate) utc_offset: i64,
    pub(crate) hours: Hours,
    /// Whether flow tag categories are opaque hex ids, as in seed 001, or readable names.
    pub(crate) hex_tag_categories: bool,
    /// Host of the business's own API, called from webhook nodes.
    pub(crate) api_host: &'static str,
}

const POLLY: Engine = ("amazon", "polly-neural");
const OPENAI_TTS: Engine = ("openai", "tts-1");
const NOVA_3: Engine = ("deepgram", "nova-3");
const VONAGE_ASR: Engine = ("vonage", "asr");
const GPT_4O_MINI: Engine = ("openai", "gpt-4o-mini");

pub(crate) static AGENTS: &[AgentProfile] = &[
    AgentProfile {
        slug: "acme_dental_reminders",
        id: "64f1c2a9e8b7d6f5a4c3b201",
        versions: ["64f1c2a9e8b7d6f5a4c3b2f0", "6601d3b8a7c6e5f4d3c2b1a0"],
        name: "Sarah – Acme Dental reminders",
        persona: "Sarah",
        business: "Acme Dental",
        voice: "Salli",
        locale: Locale::EnUs,
        use_case: UseCase::Reminder,
        topics: &[Topic::DentalReminder],
        direction: Direction::Outbound,
        opposite_share: 0.08,
        web_share: 0.0,
        chat_share: 0.0,
        runtime: Runtime::Flow,
        carrier: "vonage",
        stack: Stack {
            stt: VONAGE_ASR,
            llm: GPT_4O_MINI,
            tts: POLLY,
        },
        campaigns: &["spring_recall_2026", "hygiene_reminders_q2"],
        lines: &["+14155550142", "+14155550143"],
        weight: 18.0,
        utc_offset: -8,
        hours: Hours::Office,
        hex_tag_categories: true,
        api_host: "api.acmedental.example",
    },
    AgentProfile {
        slug: "clinica_sonrisa_recordatorios",
        id: "650a9e3f2b1c4d5e6f708192",
        versions: ["650a9e3f2b1c4d5e6f7081a3", "66120b4c5d6e7f8091a2b3c4"],
        name: "Lucía – Clínica Sonrisa recordatorios",
        persona: "Lucía",
        business: "Clínica Dental Sonrisa",
        voice: "Lucia",
        locale: Locale::EsEs,
        use_case: UseCase::Reminder,
        topics: &[Topic::DentalReminder],
        direction: Direction::Outbound,
        opposite_share: 0.06,
        web_share: 0.0,
        chat_share: 0.0,
        runtime: Runtime::Flow,
        carrier: "vonage",
        stack: Stack {
            stt: VONAGE_ASR,
            llm: GPT_4O_MINI,
            tts: POLLY,
        },
        campaigns: &["recordatorios_marzo_2026"],
        lines: &["+34910555014"],
        weight: 6.0,
        utc_offset: 1,
        hours: Hours::Office,
        hex_tag_categories: false,
        api_host: "api.clinicasonrisa.example",
    },
    AgentProfile {
        slug: "riverside_clinic_reminders",
        id: "agent_riverside_clinic_reminders",
        versions: ["v14", "v15"],
        name: "Emma – Riverside Family Clinic reminders",
        persona: "Emma",
        business: "Riverside Family Clinic",
        voice: "Amy",
        locale: Locale::EnGb,
        use_case: UseCase::Reminder,
        topics: &[Topic::ClinicReminder],
        direction: Direction::Outbound,
        opposite_share: 0.07,
        web_share: 0.0,
        chat_share: 0.0,
        runtime: Runtime::Pipeline,
        carrier: "telnyx",
        stack: Stack {
            stt: NOVA_3,
            llm: GPT_4O_MINI,
            tts: POLLY,
        },
        campaigns: &["flu_clinic_2026", "annual_checkup_reminders"],
        lines: &["+442079460321"],
        weight: 10.0,
        utc_offset: 0,
        hours: Hours::Office,
        hex_tag_categories: false,
        api_host: "api.riversideclinic.example",
    },
    AgentProfile {
        slug: "northwind_fiber_support",
        id: "agent_northwind_fiber_support",
        versions: ["2026-01-28.2", "2026-03-04.1"],
        name: "Max – Northwind Fiber tech support",
        persona: "Max",
        business: "Northwind Fiber",
        voice: "echo",
        locale: Locale::EnUs,
        use_case: UseCase::Support,
        topics: &[Topic::Outage],
        direction: Direction::Inbound,
        opposite_share: 0.0,
        web_share: 0.10,
        chat_share: 0.0,
        runtime: Runtime::Pipeline,
        carrier: "twilio",
        stack: Stack {
            stt: NOVA_3,
            llm: ("openai", "gpt-4o"),
            tts: OPENAI_TTS,
        },
        campaigns: &[],
        lines: &["+18005550199", "+13125550170"],
        weight: 12.0,
        utc_offset: -6,
        hours: Hours::Support,
        hex_tag_categories: false,
        api_host: "api.northwindfiber.example",
    },
    AgentProfile {
        slug: "northwind_fiber_billing",
        id: "652c7d8e9fa0b1c2d3e4f506",
        versions: ["652c7d8e9fa0b1c2d3e4f517", "661f2a3b4c5d6e7f8a9b0c1d"],
        name: "Ava – Northwind Fiber billing",
        persona: "Ava",
        business: "Northwind Fiber",
        voice: "Joanna",
        locale: Locale::EnUs,
        use_case: UseCase::Support,
        topics: &[Topic::Billing],
        direction: Direction::Inbound,
        opposite_share: 0.0,
        web_share: 0.0,
        chat_share: 0.15,
        runtime: Runtime::Flow,
        carrier: "vonage",
        stack: Stack {
            stt: VONAGE_ASR,
            llm: GPT_4O_MINI,
            tts: POLLY,
        },
        campaigns: &[],
        lines: &["+18005550143"],
        weight: 10.0,
        utc_offset: -6,
        hours: Hours::Support,
        hex_tag_categories: false,
        api_host: "billing.northwindfiber.example",
    },
    AgentProfile {
        slug: "brightline_mobile_care",
        id: "agent_brightline_mobile_care",
        versions: ["v3", "v4"],
        name: "Harper – Brightline Mobile customer care",
        persona: "Harper",
        business: "Brightline Mobile",
        voice: "Charlotte",
        locale: Locale::EnGb,
        use_case: UseCase::Support,
        topics: &[Topic::Outage, Topic::Billing],
        direction: Direction::Inbound,
        opposite_share: 0.0,
        web_share: 0.05,
        chat_share: 0.20,
        runtime: Runtime::Pipeline,
        carrier: "telnyx",
        stack: Stack {
            stt: NOVA_3,
            llm: ("anthropic", "claude-3-5-haiku"),
            tts: ("elevenlabs", "eleven_flash_v2_5"),
        },
        campaigns: &[],
        lines: &["+443069990142"],
        weight: 7.0,
        utc_offset: 0,
        hours: Hours::Support,
        hex_tag_categories: false,
        api_host: "api.brightline.example",
    },
    AgentProfile {
        slug: "sunpeak_solar_leads",
        id: "agent_sunpeak_solar_leads",
        versions: ["v22", "v23"],
        name: "Jake – SunPeak Solar lead qualification",
        persona: "Jake",
        business: "SunPeak Solar",
        voice: "alloy",
        locale: Locale::EnUs,
        use_case: UseCase::Sales,
        topics: &[Topic::Solar],
        direction: Direction::Outbound,
        opposite_share: 0.12,
        web_share: 0.0,
        chat_share: 0.0,
        runtime: Runtime::Pipeline,
        carrier: "twilio",
        stack: Stack {
            stt: NOVA_3,
            llm: GPT_4O_MINI,
            tts: ("cartesia", "sonic-2"),
        },
        campaigns: &["solar_leads_march_2026", "solar_webinar_followup"],
        lines: &["+15125550188"],
        weight: 11.0,
        utc_offset: -6,
        hours: Hours::Office,
        hex_tag_categories: false,
        api_host: "crm.sunpeaksolar.example",
    },
    AgentProfile {
        slug: "shield_insurance_renewals",
        id: "653e1f2a3b4c5d6e7f8a9b0c",
        versions: ["653e1f2a3b4c5d6e7f8a9b1d", "6620c1d2e3f4a5b6c7d8e9f0"],
        name: "Grace – Shield Insurance renewals",
        persona: "Grace",
        business: "Shield Insurance",
        voice: "Ruth",
        locale: Locale::EnUs,
        use_case: UseCase::Sales,
        topics: &[Topic::Insurance],
        direction: Direction::Outbound,
        opposite_share: 0.05,
        web_share: 0.0,
        chat_share: 0.0,
        runtime: Runtime::Flow,
        carrier: "vonage",
        stack: Stack {
            stt: VONAGE_ASR,
            llm: GPT_4O_MINI,
            tts: POLLY,
        },
        campaigns: &["auto_renewal_2026", "home_quote_followup"],
        lines: &["+16175550123"],
        weight: 9.0,
        utc_offset: -5,
        hours: Hours::Office,
        hex_tag_categories: true,
        api_host: "quotes.shieldinsurance.example",
    },
    AgentProfile {
        slug: "trattoria_bella_reservations",
        id: "agent_trattoria_bella_reservations",
        versions: ["v8", "v9"],
        name: "Leo – Trattoria Bella reservations",
        persona: "Leo",
        business: "Trattoria Bella",
        voice: "onyx",
        locale: Locale::EnUs,
        use_case: UseCase::Restaurant,
        topics: &[Topic::Reservation],
        direction: Direction::Inbound,
        opposite_share: 0.0,
        web_share: 0.20,
        chat_share: 0.0,
        runtime: Runtime::Pipeline,
        carrier: "twilio",
        stack: Stack {
            stt: NOVA_3,
            llm: GPT_4O_MINI,
            tts: OPENAI_TTS,
        },
        campaigns: &[],
        lines: &["+12125550176"],
        weight: 8.0,
        utc_offset: -5,
        hours: Hours::Restaurant,
        hex_tag_categories: false,
        api_host: "tables.trattoriabella.example",
    },
    AgentProfile {
        slug: "copper_pot_bookings",
        id: "654f2a3b4c5d6e7f8091a2b3",
        versions: ["654f2a3b4c5d6e7f8091a2c4", "6625d3e4f5a6b7c8d9e0f1a2"],
        name: "Chloe – The Copper Pot bookings",
        persona: "Chloe",
        business: "The Copper Pot",
        voice: "Emma",
        locale: Locale::EnGb,
        use_case: UseCase::Restaurant,
        topics: &[Topic::Reservation],
        direction: Direction::Inbound,
        opposite_share: 0.0,
        web_share: 0.0,
        chat_share: 0.0,
        runtime: Runtime::Flow,
        carrier: "vonage",
        stack: Stack {
            stt: VONAGE_ASR,
            llm: GPT_4O_MINI,
            tts: POLLY,
        },
        campaigns: &[],
        lines: &["+441632960555"],
        weight: 5.0,
        utc_offset: 0,
        hours: Hours::Restaurant,
        hex_tag_categories: false,
        api_host: "bookings.copperpot.example",
    },
    AgentProfile {
        slug: "parcelly_delivery_updates",
        id: "agent_parcelly_delivery_updates",
        versions: ["v41", "v42"],
        name: "Nina – Parcelly delivery updates",
        persona: "Nina",
        business: "Parcelly",
        voice: "shimmer",
        locale: Locale::EnUs,
        use_case: UseCase::Delivery,
        topics: &[Topic::Delivery],
        direction: Direction::Inbound,
        opposite_share: 0.0,
        web_share: 0.0,
        chat_share: 0.30,
        runtime: Runtime::Pipeline,
        carrier: "telnyx",
        stack: Stack {
            stt: NOVA_3,
            llm: GPT_4O_MINI,
            tts: OPENAI_TTS,
        },
        campaigns: &[],
        lines: &["+18885550134"],
        weight: 9.0,
        utc_offset: -5,
        hours: Hours::Delivery,
        hex_tag_categories: false,
        api_host: "track.parcelly.example",
    },
    AgentProfile {
        slug: "quickcart_order_tracking",
        id: "655a3b4c5d6e7f8091a2b3c4",
        versions: ["655a3b4c5d6e7f8091a2b3d5", "6628e4f5a6b7c8d9e0f1a2b3"],
        name: "Sam – QuickCart order tracking",
        persona: "Sam",
        business: "QuickCart",
        voice: "Kendra",
        locale: Locale::EnUs,
        use_case: UseCase::Delivery,
        topics: &[Topic::Delivery],
        direction: Direction::Inbound,
        opposite_share: 0.0,
        web_share: 0.15,
        chat_share: 0.40,
        runtime: Runtime::Flow,
        carrier: "vonage",
        stack: Stack {
            stt: VONAGE_ASR,
            llm: GPT_4O_MINI,
            tts: POLLY,
        },
        campaigns: &[],
        lines: &["+18775550111"],
        weight: 8.0,
        utc_offset: -8,
        hours: Hours::Delivery,
        hex_tag_categories: true,
        api_host: "api.quickcart.example",
    },
];

/// A person in the customer pool. The same pool index always gives the same person, so a
/// caller recurs across calls with the same name and number.
#[derive(Clone, Debug)]
pub(crate) struct Customer {
    pub(crate) first: &'static str,
    pub(crate) last: String,
    pub(crate) phone: String,
    pub(crate) customer_id: String,
    pub(crate) crm_ref: String,
    pub(crate) postcode: String,
    pub(crate) street: String,
}

const FIRST_EN: &[&str] = &[
    "Maria", "James", "Aisha", "Robert", "Emily", "Daniel", "Priya", "Michael", "Olivia", "David",
    "Sophia", "Kevin", "Grace", "Luis", "Hannah", "Marcus", "Chloe", "Ethan", "Fatima", "Ryan",
    "Megan", "Tom", "Jasmine", "Carlos", "Rachel", "Samuel", "Nadia", "Brian", "Linda", "Victor",
    "Zoe", "Andrew", "Keisha", "Paul", "Mei", "Oscar", "Laura", "Jamal", "Sarah", "Noah",
];
const LAST_EN: &[&str] = &[
    "Lopez", "Smith", "Khan", "Johnson", "Chen", "Williams", "Patel", "Brown", "Garcia", "Miller",
    "Davis", "Nguyen", "Wilson", "Martinez", "Anderson", "Taylor", "Thomas", "Moore", "Jackson",
    "Okafor", "Harris", "Clark", "Lewis", "Walker", "Young", "Allen", "Wright", "Scott", "Green",
    "Baker", "Adams", "Nelson", "Hill", "Campbell", "Murphy", "O'Brien", "Kowalski", "Rossi",
    "Schmidt", "Cohen",
];
const FIRST_ES: &[&str] = &[
    "María",
    "José",
    "Carmen",
    "Antonio",
    "Lucía",
    "Manuel",
    "Elena",
    "Javier",
    "Sofía",
    "Pablo",
    "Marta",
    "Alejandro",
    "Laura",
    "Diego",
    "Paula",
    "Sergio",
    "Isabel",
    "Raúl",
    "Cristina",
    "Andrés",
];
const LAST_ES: &[&str] = &[
    "García",
    "Fernández",
    "González",
    "Rodríguez",
    "López",
    "Martínez",
    "Sánchez",
    "Pérez",
    "Gómez",
    "Martín",
    "Jiménez",
    "Ruiz",
    "Hernández",
    "Díaz",
    "Moreno",
    "Álvarez",
    "Romero",
    "Navarro",
    "Torres",
    "Domínguez",
];
const US_AREA_CODES: &[&str] = &[
    "212", "312", "415", "617", "512", "303", "206", "404", "305", "713", "602", "919", "614",
    "503", "718", "646", "773", "510", "408", "702",
];
const STREETS_US: &[&str] = &[
    "Maple Avenue",
    "Oak Street",
    "Cedar Lane",
    "Lakeview Drive",
    "Elm Street",
    "Sunset Boulevard",
    "Park Place",
    "Willow Way",
    "Highland Road",
    "Pine Court",
    "Mission Street",
    "Chestnut Avenue",
];
const STREETS_GB: &[&str] = &[
    "Church Road",
    "High Street",
    "Victoria Road",
    "Park Lane",
    "Station Road",
    "Queen's Road",
    "Mill Lane",
    "Albert Street",
];
const STREETS_ES: &[&str] = &[
    "Calle Mayor",
    "Calle de Alcalá",
    "Avenida de América",
    "Calle de Serrano",
    "Calle de Toledo",
    "Paseo de las Delicias",
];
const GB_OUTWARD: &[&str] = &[
    "SE1", "N1", "E2", "NW3", "SW9", "W12", "M4", "B15", "LS6", "BS8", "EH3", "CF10",
];

/// The person at `index` of the `locale` pool of corpus `seed`.
pub(crate) fn customer(seed: u64, locale: Locale, index: u64) -> Customer {
    let salt = stable_hash(&["customer", locale.code()]);
    let mut rng = Rng::stream(seed ^ salt, index);
    let letters = |rng: &mut Rng, n: usize| -> String {
        (0..n)
            .map(|_| char::from(b'A' + rng.below(26) as u8))
            .collect()
    };
    let (first, last, phone, postcode, street) = match locale {
        Locale::EnUs => (
            *rng.pick(FIRST_EN),
            (*rng.pick(LAST_EN)).to_owned(),
            format!(
                "+1{}555{:04}",
                rng.pick(US_AREA_CODES),
                rng.between(200, 9999)
            ),
            format!("{:05}", rng.between(10_001, 99_950)),
            format!("{} {}", rng.between(2, 2999), rng.pick(STREETS_US)),
        ),
        Locale::EnGb => (
            *rng.pick(FIRST_EN),
            (*rng.pick(LAST_EN)).to_owned(),
            // Ofcom reserves 07700 900000–900999 for drama.
            format!("+447700900{:03}", rng.below(1000)),
            format!(
                "{} {}{}",
                rng.pick(GB_OUTWARD),
                rng.between(1, 9),
                letters(&mut rng, 2)
            ),
            format!("{} {}", rng.between(1, 180), rng.pick(STREETS_GB)),
        ),
        Locale::EsEs => (
            *rng.pick(FIRST_ES),
            format!("{} {}", rng.pick(LAST_ES), rng.pick(LAST_ES)),
            format!("+346{:08}", rng.below(100_000_000)),
            format!("28{:03}", rng.between(1, 55)),
            format!("{}, {}", rng.pick(STREETS_ES), rng.between(1, 140)),
        ),
    };
    let customer_id = format!("cus_{}", base36(rng.next_u64(), 10));
    let crm_ref = if rng.chance(0.5) {
        format!(
            "SF-00Q{}",
            letters(&mut rng, 2).to_lowercase() + &base36(rng.next_u64(), 9)
        )
    } else {
        format!("HS-{}", rng.between(10_000_000, 99_999_999))
    };
    Customer {
        first,
        last,
        phone,
        customer_id,
        crm_ref,
        postcode,
        street,
    }
}

/// The last `len` base-36 digits of `value`, lowercase.
pub(crate) fn base36(mut value: u64, len: usize) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = vec![b'0'; len];
    for slot in out.iter_mut().rev() {
        *slot = DIGITS[(value % 36) as usize];
        value /= 36;
    }
    String::from_utf8_lossy(&out).into_owned()
}
