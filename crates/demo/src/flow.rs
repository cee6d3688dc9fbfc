//! Flow agents' node-by-node record of a call, in the shape of seed 001's `flow_path` and
//! `flow_data`: which nodes ran, under which request id, what each webhook sent and got back,
//! which parameters were collected and which tags were raised.

use crate::catalog::AgentProfile;
use crate::rng::{Rng, stable_hex, uuid_v7};
use crate::script::{Lookup, Script, TagFamily};
use callscope_model::{Flow, FlowNode, Object, Parameter, Role, Tag};
use serde_json::{Value, json};

/// The host that plays prompts and places transfers, as Vonage's telephony connector does
/// in seed 001.
const CONNECTOR: &str = "https://telephony-connector.example.com/api/actions";

/// What the flow builder needs to know about the call.
#[derive(Debug)]
pub(crate) struct FlowInput<'a> {
    pub(crate) agent: &'static AgentProfile,
    pub(crate) call_id: &'a str,
    pub(crate) started_ms: i64,
    pub(crate) script: &'a Script,
    /// `(start_ms, end_ms)` of each line, from the call's start.
    pub(crate) offsets: &'a [(u64, u64)],
    pub(crate) transferred_to: Option<&'a str>,
    /// Whether the call reached its end node (not cut off by an error or still running).
    pub(crate) ended: bool,
    /// Whether the call died on an internal error.
    pub(crate) errored: bool,
    /// Whether a webhook needed a retry (the call's `status_code` is then 100).
    pub(crate) warning: bool,
    /// Spoken (telephony or web) rather than typed.
    pub(crate) spoken: bool,
    pub(crate) language: &'a str,
    pub(crate) injected_customer_id: Option<&'a str>,
}

/// Builds the flow of one call.
pub(crate) fn build(input: &FlowInput<'_>, rng: &mut Rng) -> Flow {
    let script = input.script;
    let lines = &script.lines;
    let greeting = lines.iter().position(|line| line.role == Role::Agent);
    let after_greeting = greeting.map_or(0, |g| g + 1);
    let user_turns: Vec<usize> = (after_greeting..lines.len())
        .filter(|&i| lines[i].role == Role::User)
        .take(2)
        .collect();
    let second_user = user_turns.get(1).copied();

    // Request ids change at each caller turn, as a flow engine issues one request per
    // input; seed 001 shows two or three per session.
    let mut request_ids = vec![uuid_v7(input.started_ms, rng)];
    for &turn in &user_turns {
        let at = input.started_ms + input.offsets.get(turn).map_or(0, |o| o.1) as i64;
        request_ids.push(uuid_v7(at, rng));
    }
    if request_ids.len() < 2 {
        // A call without caller input (a voicemail message) still issues a second request
        // for its closing nodes.
        let last_end = input.offsets.last().map_or(0, |o| o.1) as i64;
        request_ids.push(uuid_v7(input.started_ms + last_end, rng));
    }
    let request = |stage: usize| request_ids[stage.min(request_ids.len() - 1)].clone();

    let definitions = parameter_definitions(script);
    let collected: Vec<Parameter> = script
        .collected
        .iter()
        .map(|item| {
            let mut parameter = item.parameter.clone();
            if input.spoken {
                parameter.audio_url = Some(format!(
                    "https://recordings.example.com/{}/params/{}.wav",
                    input.call_id, parameter.name
                ));
            }
            parameter
        })
        .collect();
    // The parameters known by the time of the second caller turn feed the collect node; all
    // of them feed the completion node.
    let early_limit = second_user.map_or(lines.len(), |i| i + 1);
    let early: Vec<&Parameter> = script
        .collected
        .iter()
        .filter(|item| item.at <= early_limit)
        .map(|item| &item.parameter)
        .collect();
    let all: Vec<&Parameter> = script
        .collected
        .iter()
        .map(|item| &item.parameter)
        .collect();

    let tags: Vec<Tag> = script
        .tags
        .iter()
        .map(|t| Tag {
            tag: t.tag.to_owned(),
            category: category(input.agent, t.family),
        })
        .collect();
    let (first_tags, later_tags) = tags.split_at(tags.len().min(1));

    let mut nodes = Vec::with_capacity(8);
    let node_id = |kind: &str| stable_hex(&[input.agent.slug, kind], 24);
    let nothing_known = state(&definitions, &[]);
    let early_known = state(&definitions, &early);
    let all_known = state(&definitions, &all);

    nodes.push(exchange_node(
        "start",
        node_id("start"),
        request(0),
        &nothing_known,
        Exchange {
            code: 200,
            ..Exchange::default()
        },
        0,
    ));

    if let Some(g) = greeting {
        let id = node_id("speak");
        let (url, payload) = connector_call(input, &id, "speak", &lines[g].text);
        let message = format!(
            "{{\"message\": \"Successfully registered SPEAK action for session_id: {}\"}}",
            input.call_id
        );
        let exchange = Exchange {
            url,
            payload,
            code: 201,
            body: message.clone(),
            status_message: message,
            ..Exchange::default()
        };
        nodes.push(exchange_node(
            "speak",
            id,
            request(0),
            &nothing_known,
            exchange,
            rng.between(15, 120),
        ));
    }

    if let Some(&first) = user_turns.first() {
        let node_tags = if second_user.is_some() {
            first_tags.to_vec()
        } else {
            tags.clone()
        };
        nodes.push(FlowNode {
            tags: node_tags,
            ..plain_node(
                "collect_input",
                node_id("collect_input"),
                request(1),
                context(&early_known, &lines[first].text, Value::Null, "", 200, ""),
                rng.between(5, 60),
            )
        });
    }

    let mut lookups = script.lookups.iter();
    if let Some(lookup) = lookups.next() {
        let id = node_id("webhook");
        let retried = input.warning;
        nodes.push(webhook(
            input,
            lookup,
            id,
            request(1),
            &early_known,
            retried,
            rng,
        ));
    }

    if let Some(second) = second_user {
        // The classifier's input is the caller line that raised its intent, when there is
        // one after the first input.
        let intent = script
            .tags
            .iter()
            .skip(first_tags.len())
            .find(|t| t.family == TagFamily::Intent);
        let output = intent.map_or(Value::Null, |t| Value::String(t.tag.to_owned()));
        let said = intent
            .and_then(|t| t.at.checked_sub(1))
            .filter(|&i| lines.get(i).is_some_and(|l| l.role == Role::User))
            .unwrap_or(second);
        nodes.push(FlowNode {
            tags: later_tags.to_vec(),
            ..plain_node(
                "classification",
                node_id("classification"),
                request(2),
                context(&early_known, &lines[said].text, output, "", 200, ""),
                rng.between(120, 700),
            )
        });
    }

    // Optional nodes, dropped first when the path would exceed eight nodes.
    let mut optional = Vec::new();
    if all.len() > early.len() {
        optional.push(plain_node(
            "param_completion",
            node_id("param_completion"),
            request(2),
            context(&all_known, "", Value::Null, "", 200, ""),
            rng.between(1, 30),
        ));
    }
    if let Some(lookup) = lookups.next() {
        let id = node_id("webhook_2");
        optional.push(webhook(
            input,
            lookup,
            id,
            request(2),
            &all_known,
            false,
            rng,
        ));
    }

    let mut closing = Vec::new();
    if let Some(destination) = input.transferred_to {
        let message = "{\"message\": \"Transfer initiated\"}";
        let exchange = Exchange {
            url: format!("{CONNECTOR}/transfer"),
            payload:
                json!({"session_id": input.call_id, "destination": destination, "type": "blind"})
                    .to_string(),
            code: 201,
            body: message.to_owned(),
            status_message: message.to_owned(),
            output: Value::String(destination.to_owned()),
            ..Exchange::default()
        };
        let time = rng.between(40, 250);
        closing.push(exchange_node(
            "transfer",
            node_id("transfer"),
            request(2),
            &all_known,
            exchange,
            time,
        ));
    } else if input.ended {
        let message = "{\"message\": \"Call ended\"}";
        let exchange = Exchange {
            url: format!("{CONNECTOR}/hangup"),
            payload: json!({"session_id": input.call_id}).to_string(),
            code: 201,
            body: message.to_owned(),
            status_message: message.to_owned(),
            ..Exchange::default()
        };
        let time = rng.between(10, 80);
        closing.push(exchange_node(
            "end_call",
            node_id("end_call"),
            request(2),
            &all_known,
            exchange,
            time,
        ));
    }

    let room = 8usize.saturating_sub(nodes.len() + closing.len());
    nodes.extend(optional.into_iter().take(room));
    nodes.extend(closing);
    nodes.truncate(8);

    if input.errored
        && let Some(last) = nodes.last_mut()
    {
        set_status(
            last,
            500,
            "Internal error while executing node: upstream request timed out",
        );
    }

    let collected_tags = nodes.iter().flat_map(|n| n.tags.iter().cloned()).collect();
    let injected_parameters = input
        .injected_customer_id
        .map(|id| {
            vec![Parameter {
                name: "customer_id".to_owned(),
                param_type: Some("sys.any".to_owned()),
                entity: None,
                value: Value::String(id.to_owned()),
                value_text: Some(id.to_owned()),
                completed: Some(true),
                audio_url: None,
            }]
        })
        .unwrap_or_default();
    Flow {
        path: nodes,
        collected_tags,
        collected_parameters: collected,
        injected_parameters,
    }
}

/// A tag category: a readable family name, or an opaque id as seed 001's agents use.
fn category(agent: &AgentProfile, family: TagFamily) -> String {
    if agent.hex_tag_categories {
        stable_hex(&[agent.slug, "tag_category", family.name()], 32)
    } else {
        family.name().to_owned()
    }
}

/// The distinct parameters the flow collects, in order of first collection.
fn parameter_definitions(script: &Script) -> Vec<(String, String)> {
    let mut definitions: Vec<(String, String)> = Vec::new();
    for item in &script.collected {
        if !definitions
            .iter()
            .any(|(name, _)| *name == item.parameter.name)
        {
            definitions.push((
                item.parameter.name.clone(),
                item.parameter.param_type.clone().unwrap_or_default(),
            ));
        }
    }
    definitions
}

/// Every defined parameter with its latest collected value, as a node's
/// `execution_parameters`.
fn state(definitions: &[(String, String)], known: &[&Parameter]) -> Value {
    Value::Array(
        definitions
            .iter()
            .map(|(name, entity)| {
                let latest = known.iter().rev().find(|p| p.name == *name);
                json!({
                    "name": name,
                    "type": entity,
                    "value": latest.map_or(Value::String(String::new()), |p| p.value.clone()),
                    "value_text": latest.and_then(|p| p.value_text.clone()).unwrap_or_default(),
                    "completed": latest.is_some(),
                })
            })
            .collect(),
    )
}

fn context(
    execution_parameters: &Value,
    user_input: &str,
    output: Value,
    url: &str,
    code: u16,
    message: &str,
) -> Object {
    let mut context = Object::new();
    context.insert("output".into(), output);
    context.insert("user_input".into(), Value::String(user_input.to_owned()));
    context.insert("execution_parameters".into(), execution_parameters.clone());
    context.insert("url".into(), Value::String(url.to_owned()));
    context.insert("status".into(), json!({"code": code, "message": message}));
    context
}

fn set_status(node: &mut FlowNode, code: u16, message: &str) {
    if let Some(context) = &mut node.context {
        context.insert("status".into(), json!({"code": code, "message": message}));
    }
}

/// A node that only ran logic: no request of its own.
fn plain_node(
    node_type: &str,
    node_id: String,
    request_id: String,
    context: Object,
    execution_time: u64,
) -> FlowNode {
    FlowNode {
        node_type: node_type.to_owned(),
        node_id: Some(node_id),
        request_id: Some(request_id),
        request: None,
        response: None,
        context: Some(context),
        tags: Vec::new(),
        execution_time: Some(execution_time),
        synchronized: Some(true),
    }
}

/// The HTTP call a node made (to the telephony connector or a business webhook).
#[derive(Default)]
struct Exchange {
    url: String,
    /// The JSON body sent, as a string, as seed 001 stores it.
    payload: String,
    code: u16,
    /// The response body.
    body: String,
    /// What the node recorded as the outcome; usually the body.
    status_message: String,
    output: Value,
    /// Sent with the business's credentials (webhooks), not the platform's own.
    authorized: bool,
}

/// A node that made an HTTP call: `request`, `response` and a context that mirrors them.
fn exchange_node(
    node_type: &str,
    node_id: String,
    request_id: String,
    known: &Value,
    exchange: Exchange,
    execution_time: u64,
) -> FlowNode {
    let headers = match (exchange.authorized, exchange.url.is_empty()) {
        (true, _) => "{\"Content-Type\": \"application/json\", \"Authorization\": \"Bearer ****\"}",
        (false, true) => "",
        (false, false) => "{\"Content-Type\": \"application/json\"}",
    };
    let mut request = Object::new();
    request.insert("headers".into(), Value::String(headers.to_owned()));
    request.insert("payload".into(), Value::String(exchange.payload));
    request.insert("verb".into(), Value::String("POST".to_owned()));
    request.insert("url".into(), Value::String(exchange.url.clone()));
    let mut response = Object::new();
    response.insert("code".into(), json!(exchange.code));
    response.insert("payload".into(), Value::String(exchange.body));
    let context = context(
        known,
        "",
        exchange.output,
        &exchange.url,
        exchange.code,
        &exchange.status_message,
    );
    FlowNode {
        request: Some(request),
        response: Some(response),
        ..plain_node(node_type, node_id, request_id, context, execution_time)
    }
}

/// The connector URL and JSON payload of a prompt, as seed 001's speak node sends them.
fn connector_call(
    input: &FlowInput<'_>,
    action_id: &str,
    kind: &str,
    text: &str,
) -> (String, String) {
    let action = if input.spoken { kind } else { "send_message" };
    let url = format!("{CONNECTOR}/{action}");
    let payload = json!({
        "session_id": input.call_id,
        "action_id": action_id,
        "is_collect_input": false,
        "type": kind,
        "text": text,
        "audio": null,
        "voice_id": input.agent.voice,
        "language_code": input.language,
    })
    .to_string();
    (url, payload)
}

/// A webhook node calling the business's API for `lookup`. A `retried` call timed out once
/// first, which is what makes the call's `status_code` a warning.
fn webhook(
    input: &FlowInput<'_>,
    lookup: &Lookup,
    node_id: String,
    request_id: String,
    known: &Value,
    retried: bool,
    rng: &mut Rng,
) -> FlowNode {
    let mut args = lookup.args.clone();
    args.insert("session_id".into(), Value::String(input.call_id.to_owned()));
    let body = Value::Object(lookup.result.clone()).to_string();
    let (status_message, execution_time) = if retried {
        (
            "OK after 1 retry (first attempt timed out after 5000 ms)".to_owned(),
            rng.between(5_200, 9_000),
        )
    } else {
        (body.clone(), rng.between(60, 900))
    };
    let exchange = Exchange {
        url: format!("https://{}/v1/{}", input.agent.api_host, lookup.name),
        payload: Value::Object(args).to_string(),
        code: 200,
        output: Value::String(body.clone()),
        body,
        status_message,
        authorized: true,
    };
    exchange_node(
        "webhook",
        node_id,
        request_id,
        known,
        exchange,
        execution_time,
    )
}
