//! What a conversation consists of before it becomes a call: the lines said, the lookups the
//! agent made, the parameters and tags it collected, and the writer the scenario scripts use
//! to produce them.

use crate::catalog::Locale;
use crate::rng::Rng;
use crate::wording::Vars;
use callscope_model::{Object, Parameter, Role, Sentiment};
use serde_json::Value;

/// One utterance (or, for `Role::Tool`, one lookup result) in order.
#[derive(Clone, Debug)]
pub(crate) struct Line {
    pub(crate) role: Role,
    pub(crate) text: String,
    /// A long pause follows (the agent put the caller on hold, or a slow lookup).
    pub(crate) hold: bool,
}

/// A call the agent made to the business's systems (a tool call in a pipeline agent, a
/// webhook node in a flow agent).
#[derive(Clone, Debug)]
pub(crate) struct Lookup {
    /// How many lines had been said when the lookup ran.
    pub(crate) at: usize,
    pub(crate) name: &'static str,
    pub(crate) args: Object,
    pub(crate) result: Object,
}

/// The three families of tag the flows collect. Deliberately no `outcome` or `sentiment`
/// family: those are what the analyzer must infer, and a tag naming them would hand it the
/// ground-truth label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TagFamily {
    /// What the caller asked for (`confirm`, `reschedule`, `human_request`, …).
    Intent,
    /// What the call was about (`billing`, `outage`, …).
    Topic,
    /// Milestones of the flow (`identity_verified`, …).
    Step,
}

impl TagFamily {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Intent => "intent",
            Self::Topic => "topic",
            Self::Step => "flow_step",
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Collected {
    pub(crate) at: usize,
    pub(crate) parameter: Parameter,
}

#[derive(Clone, Debug)]
pub(crate) struct Tagged {
    pub(crate) at: usize,
    pub(crate) tag: &'static str,
    pub(crate) family: TagFamily,
}

/// A whole conversation as the scenario wrote it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Script {
    pub(crate) lines: Vec<Line>,
    pub(crate) lookups: Vec<Lookup>,
    pub(crate) collected: Vec<Collected>,
    pub(crate) tags: Vec<Tagged>,
}

impl Script {
    /// Keeps the first `keep` lines and what happened while they were said.
    pub(crate) fn truncate(&mut self, keep: usize) {
        self.lines.truncate(keep);
        self.lookups.retain(|lookup| lookup.at <= keep);
        self.collected.retain(|item| item.at <= keep);
        self.tags.retain(|item| item.at <= keep);
    }
}

/// The pen a scenario writes with: picks one of several phrasings, fills in the call's
/// details, and records lines, lookups, parameters and tags in order.
#[derive(Debug)]
pub(crate) struct Writer<'a> {
    pub(crate) rng: &'a mut Rng,
    pub(crate) vars: Vars,
    pub(crate) mood: Sentiment,
    pub(crate) locale: Locale,
    /// A typed chat rather than a spoken call; greetings say so.
    pub(crate) typed: bool,
    /// A web or chat session rather than a phone call.
    pub(crate) online: bool,
    pub(crate) script: Script,
}

impl Writer<'_> {
    fn say(&mut self, role: Role, options: &[&str]) {
        let template = *self.rng.pick(options);
        let text = self.vars.fill(template);
        self.script.lines.push(Line {
            role,
            text,
            hold: false,
        });
    }

    pub(crate) fn agent(&mut self, options: &[&str]) {
        self.say(Role::Agent, options);
    }

    pub(crate) fn user(&mut self, options: &[&str]) {
        self.say(Role::User, options);
    }

    /// A caller line whose wording carries the caller's mood.
    pub(crate) fn user_mood(&mut self, positive: &[&str], neutral: &[&str], negative: &[&str]) {
        let options = match self.mood {
            Sentiment::Positive => positive,
            Sentiment::Neutral => neutral,
            Sentiment::Negative => negative,
        };
        self.user(options);
    }

    /// Marks the last line as followed by a long pause.
    pub(crate) fn hold(&mut self) {
        if let Some(line) = self.script.lines.last_mut() {
            line.hold = true;
        }
    }

    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.rng.chance(p)
    }

    pub(crate) fn index(&mut self, n: usize) -> usize {
        self.rng.below(n as u64) as usize
    }

    pub(crate) fn set(&mut self, name: &'static str, value: impl Into<String>) {
        self.vars.set(name, value);
    }

    pub(crate) fn var(&self, name: &str) -> String {
        self.vars.get(name).to_owned()
    }

    /// Records a lookup; `args` and `result` are JSON objects (anything else is dropped).
    pub(crate) fn lookup(&mut self, name: &'static str, args: Value, result: Value) {
        let as_object = |value: Value| match value {
            Value::Object(map) => map,
            _ => Object::new(),
        };
        self.script.lookups.push(Lookup {
            at: self.script.lines.len(),
            name,
            args: as_object(args),
            result: as_object(result),
        });
    }

    /// Records a collected parameter: `value` is the normalised value, `text` what the
    /// caller actually said for it.
    pub(crate) fn param(
        &mut self,
        name: &str,
        entity: &str,
        value: impl Into<Value>,
        text: impl Into<String>,
    ) {
        self.script.collected.push(Collected {
            at: self.script.lines.len(),
            parameter: Parameter {
                name: name.to_owned(),
                param_type: Some(entity.to_owned()),
                entity: None,
                value: value.into(),
                value_text: Some(text.into()),
                completed: Some(true),
                audio_url: None,
            },
        });
    }

    pub(crate) fn tag(&mut self, tag: &'static str, family: TagFamily) {
        self.script.tags.push(Tagged {
            at: self.script.lines.len(),
            tag,
            family,
        });
    }
}
