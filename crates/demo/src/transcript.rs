//! Puts a script on the clock: when each line starts and ends, where tool calls sit, and how
//! long the call lasts.
//!
//! Speech takes time in proportion to its words, the agent answers after its pipeline
//! latency, callers pause to think. When the natural length of the exchange is shorter than
//! what calls of this kind usually last, the difference goes mostly into holds (lookups,
//! "let me check") and a little into slower speech, as it does on real support lines.

use crate::rng::Rng;
use crate::script::Script;
use callscope_model::Role;

/// One transcript entry with its offsets from the call's start.
#[derive(Clone, Debug)]
pub(crate) struct Timed {
    pub(crate) role: Role,
    pub(crate) text: String,
    pub(crate) start: u64,
    pub(crate) end: u64,
    /// For a tool entry, the lookup's name.
    pub(crate) tool: Option<&'static str>,
    /// Index of the script line this entry says (`None` for tool entries).
    pub(crate) line: Option<usize>,
}

/// How the conversation is paced.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pace {
    /// Mean agent response time after the caller stops speaking.
    pub(crate) response_ms: f64,
    pub(crate) typed: bool,
    /// Typical length of such a call; the layout stretches to reach it.
    pub(crate) target_ms: Option<u64>,
    /// The last two agent lines are spoken into silence (the caller stopped answering).
    pub(crate) silence_tail: bool,
    /// Show lookups as `tool` entries (pipeline agents); flow agents record them as webhook
    /// nodes instead.
    pub(crate) tools: bool,
}

struct Item {
    role: Role,
    text: String,
    tool: Option<&'static str>,
    line: Option<usize>,
    gap: f64,
    speech: f64,
    /// The gap before this item is a hold, which absorbs most of any stretching.
    hold_gap: bool,
}

pub(crate) fn lay_out(script: &Script, pace: &Pace, rng: &mut Rng) -> Vec<Timed> {
    let mut items: Vec<Item> = Vec::with_capacity(script.lines.len() + script.lookups.len());
    let mut lookups = script.lookups.iter().peekable();
    for (index, line) in script.lines.iter().enumerate() {
        while let Some(lookup) = lookups.next_if(|l| l.at <= index) {
            if pace.tools {
                items.push(tool_item(lookup));
            }
        }
        items.push(Item {
            role: line.role,
            text: line.text.clone(),
            tool: None,
            line: Some(index),
            gap: 0.0,
            speech: 0.0,
            hold_gap: false,
        });
    }
    if pace.tools {
        items.extend(lookups.map(tool_item));
    }

    let count = items.len();
    let mut previous: Option<Role> = None;
    let mut pending_hold = false;
    for (position, item) in items.iter_mut().enumerate() {
        let words = item.text.split_whitespace().count() as f64;
        item.speech = match (item.role, pace.typed) {
            (Role::Tool, _) => rng.uniform(120.0, 1400.0),
            (Role::Agent, false) => words * rng.uniform(300.0, 350.0) + 250.0,
            (Role::Agent, true) => rng.uniform(40.0, 250.0),
            (_, false) => words * rng.uniform(300.0, 420.0) + 200.0,
            (_, true) => item.text.len() as f64 * rng.uniform(150.0, 280.0),
        };
        let in_silence = pace.silence_tail && position + 2 >= count && item.role == Role::Agent;
        item.gap = match (previous, item.role) {
            (None, _) if pace.typed => rng.uniform(500.0, 3000.0),
            (None, _) => rng.uniform(250.0, 900.0),
            (_, Role::Tool) => rng.uniform(80.0, 300.0),
            (_, Role::Agent) if in_silence => rng.uniform(6_000.0, 10_000.0),
            (Some(Role::User), Role::Agent) => pace.response_ms * rng.uniform(0.75, 1.5),
            (Some(Role::Tool), Role::Agent) => rng.uniform(200.0, 600.0),
            (Some(_), Role::Agent) => rng.uniform(250.0, 800.0),
            (Some(Role::User), _) => rng.uniform(400.0, 1200.0),
            (Some(_), _) if pace.typed => rng.uniform(2_000.0, 9_000.0),
            (Some(_), _) => rng.uniform(250.0, 1400.0),
        };
        // A hold ("let me check", "hold on") delays the next thing anyone says; a lookup
        // made during the hold happens at its start.
        if pending_hold && item.role != Role::Tool {
            item.gap += rng.uniform(3_000.0, 20_000.0);
            item.hold_gap = true;
            pending_hold = false;
        }
        previous = Some(item.role);
        pending_hold |= item.line.is_some_and(|i| script.lines[i].hold);
    }

    if let Some(target) = pace.target_ms {
        // Only calls with holds can grow much: a quick exchange stretched to several minutes
        // would be mostly silence.
        let natural: f64 = items.iter().map(|i| i.gap + i.speech).sum();
        let has_hold = items.iter().any(|i| i.hold_gap);
        let cap = natural * if has_hold { 5.0 } else { 1.8 };
        stretch(&mut items, (target as f64).min(cap), pace.typed, rng);
    }

    let mut clock = 0.0_f64;
    items
        .into_iter()
        .map(|item| {
            clock += item.gap;
            let start = clock.round() as u64;
            clock += item.speech;
            let end = (clock.round() as u64).max(start);
            Timed {
                role: item.role,
                text: item.text,
                start,
                end,
                tool: item.tool,
                line: item.line,
            }
        })
        .collect()
}

fn tool_item(lookup: &crate::script::Lookup) -> Item {
    let args = serde_json::Value::Object(lookup.args.clone());
    let result = serde_json::Value::Object(lookup.result.clone());
    Item {
        role: Role::Tool,
        text: format!("{}({args}) -> {result}", lookup.name),
        tool: Some(lookup.name),
        line: None,
        gap: 0.0,
        speech: 0.0,
        hold_gap: false,
    }
}

/// Lengthens the layout towards `target` milliseconds.
///
/// The agent's side keeps its pace (its speech rate is the synthesiser's, its response time
/// the pipeline's); the time goes to the caller (slower speech, pauses of a few seconds
/// before answering) and above all to holds.
fn stretch(items: &mut [Item], target: f64, typed: bool, rng: &mut Rng) {
    let natural: f64 = items.iter().map(|i| i.gap + i.speech).sum();
    if natural >= target || items.is_empty() {
        return;
    }
    if !typed {
        let factor = (target / natural).min(1.5);
        for item in items.iter_mut().filter(|i| i.role == Role::User) {
            item.speech *= factor;
        }
    }
    let stretched: f64 = items.iter().map(|i| i.gap + i.speech).sum();
    let mut remaining = (target - stretched).max(0.0);
    // Callers pause a little longer before answering, up to a few seconds each; whatever is
    // left is time on hold. A call without holds simply stays shorter than the target.
    let pauses: Vec<usize> = (1..items.len())
        .filter(|&i| items[i].role == Role::User && !items[i].hold_gap)
        .collect();
    let share = remaining / pauses.len().max(1) as f64;
    for &i in &pauses {
        items[i].gap += share.min(rng.uniform(1_500.0, 4_000.0));
    }
    remaining = (target - items.iter().map(|i| i.gap + i.speech).sum::<f64>()).max(0.0);
    let holds: Vec<(usize, f64)> = (0..items.len())
        .filter(|&i| items[i].hold_gap)
        .map(|i| (i, rng.uniform(0.5, 1.5)))
        .collect();
    let total: f64 = holds.iter().map(|(_, weight)| weight).sum();
    for (i, weight) in holds {
        items[i].gap += remaining * weight / total;
    }
}
