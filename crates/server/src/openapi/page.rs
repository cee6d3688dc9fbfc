//! `GET /docs`: the OpenAPI document as one HTML page, rendered by the server from the same
//! document `/openapi.json` serves. No script and nothing fetched from elsewhere, so it works
//! on a machine without internet: operations by tag, each with its parameters, body and
//! answers, and every schema as a table of its fields with links between them.

use super::Document;
use axum::Extension;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde_json::Value;

const STYLE: &str = include_str!("page.css");
const SCHEMA_PREFIX: &str = "#/components/schemas/";
const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// The reference page: this document as HTML.
///
/// Rendered by the server, with no script and nothing fetched from elsewhere; no key needed.
#[utoipa::path(
    get,
    path = "/docs",
    tag = "operations",
    operation_id = "reference_page",
    security(()),
    responses((status = 200, description = "The reference page", content_type = "text/html", body = String)),
)]
pub(crate) async fn reference_page(Extension(document): Extension<Document>) -> Response {
    let mut response = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        document.page,
    )
        .into_response();
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    response
}

pub(super) fn render(api: &Value) -> Markup {
    let title = api["info"]["title"].as_str().unwrap_or("API");
    let version = api["info"]["version"].as_str().unwrap_or("");
    let tags: Vec<(&str, &str)> = api["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|tag| {
            (
                tag["name"].as_str().unwrap_or(""),
                tag["description"].as_str().unwrap_or(""),
            )
        })
        .collect();
    // (tag, method, path, operation), in document order.
    let mut listed = Vec::new();
    for (path, item) in api["paths"].as_object().into_iter().flatten() {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                let tag = operation["tags"][0].as_str().unwrap_or("");
                listed.push((tag, method, path.as_str(), operation));
            }
        }
    }
    let schemas = api["components"]["schemas"].as_object();
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " API reference" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                nav aria-label="Contents" {
                    p .brand { (title) " " span .version { (version) } }
                    p { a href="/openapi.json" { "openapi.json" } }
                    @for (tag, _) in &tags {
                        details open {
                            summary { a href={ "#tag-" (tag) } { (tag) } }
                            ul {
                                @for (_, method, path, operation) in listed.iter().filter(|l| l.0 == *tag) {
                                    li { a href={ "#" (anchor(operation, method, path)) } {
                                        span class={ "method " (method) } { (method.to_uppercase()) } " " (path)
                                    } }
                                }
                            }
                        }
                    }
                    details {
                        summary { a href="#schemas" { "schemas" } }
                        ul {
                            @for name in schemas.into_iter().flat_map(|s| s.keys()) {
                                li { a href={ "#schema-" (name) } { (name) } }
                            }
                        }
                    }
                }
                main {
                    h1 { (title) " API reference" }
                    @if let Some(description) = api["info"]["description"].as_str() { (paragraphs(description)) }
                    (security(api))
                    @for (tag, description) in &tags {
                        section id={ "tag-" (tag) } {
                            h2 { (tag) }
                            (paragraphs(description))
                            @for (_, method, path, operation) in listed.iter().filter(|l| l.0 == *tag) {
                                (render_operation(method, path, operation))
                            }
                        }
                    }
                    section #schemas {
                        h2 { "Schemas" }
                        @for (name, schema) in schemas.into_iter().flatten() {
                            (render_schema(name, schema))
                        }
                    }
                }
            }
        }
    }
}

fn anchor(operation: &Value, method: &str, path: &str) -> String {
    match operation["operationId"].as_str() {
        Some(id) => format!("op-{id}"),
        None => format!("op-{method}-{}", path.replace(['/', '{', '}', '.'], "-")),
    }
}

fn security(api: &Value) -> Markup {
    let schemes = api["components"]["securitySchemes"].as_object();
    html! {
        section #authentication {
            h2 { "Authentication" }
            p { "Operations that take an API key accept it either way; the others say what they take instead." }
            dl {
                @for (name, scheme) in schemes.into_iter().flatten() {
                    dt { code { (name) } }
                    dd { (inline(scheme["description"].as_str().unwrap_or(""))) }
                }
            }
        }
    }
}

fn render_operation(method: &str, path: &str, operation: &Value) -> Markup {
    let parameters = operation["parameters"].as_array();
    let keyless = operation["security"].as_array().is_some_and(|s| {
        s.iter()
            .all(|r| r.as_object().is_some_and(|o| o.is_empty()))
    });
    html! {
        article .operation id=(anchor(operation, method, path)) {
            h3 { span class={ "method " (method) } { (method.to_uppercase()) } " " code { (path) } }
            @if let Some(summary) = operation["summary"].as_str() { p .summary { (summary) } }
            @if let Some(description) = operation["description"].as_str() { (paragraphs(description)) }
            @if keyless { p .note { "No API key." } }
            @if let Some(parameters) = parameters.filter(|p| !p.is_empty()) {
                h4 { "Parameters" }
                table {
                    thead { tr { th { "name" } th { "in" } th { "type" } th { "description" } } }
                    tbody {
                        @for parameter in parameters {
                            tr {
                                td { code { (parameter["name"].as_str().unwrap_or("")) }
                                     @if parameter["required"].as_bool() == Some(true) { " " span .required { "required" } } }
                                td { (parameter["in"].as_str().unwrap_or("")) }
                                td { (type_of(&parameter["schema"])) }
                                td { (inline(parameter["description"].as_str().unwrap_or(""))) }
                            }
                        }
                    }
                }
            }
            @if let Some(body) = operation["requestBody"].as_object() {
                h4 { "Body" @if body.get("required").and_then(Value::as_bool) == Some(true) { " " span .required { "required" } } }
                @if let Some(description) = body.get("description").and_then(Value::as_str) { (paragraphs(description)) }
                (contents(body.get("content").unwrap_or(&Value::Null)))
            }
            h4 { "Responses" }
            table {
                thead { tr { th { "status" } th { "description" } th { "body" } } }
                tbody {
                    @for (status, response) in operation["responses"].as_object().into_iter().flatten() {
                        tr {
                            td { code { (status) } }
                            td { (inline(response["description"].as_str().unwrap_or(""))) }
                            td { (contents(&response["content"])) }
                        }
                    }
                }
            }
        }
    }
}

/// A body's media types, each with its schema and example.
fn contents(content: &Value) -> Markup {
    html! {
        @for (media, body) in content.as_object().into_iter().flatten() {
            div .content {
                code .media { (media) } " " (type_of(&body["schema"]))
                @if let Some(example) = body.get("example") { (example_block(example)) }
                @for (name, example) in body["examples"].as_object().into_iter().flatten() {
                    p .example-name { (name) }
                    (example_block(&example["value"]))
                }
            }
        }
    }
}

fn example_block(example: &Value) -> Markup {
    let text = serde_json::to_string_pretty(example).unwrap_or_default();
    html! { pre { code { (text) } } }
}

fn render_schema(name: &str, schema: &Value) -> Markup {
    let required: Vec<&str> = schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    html! {
        article .schema id={ "schema-" (name) } {
            h3 { (name) }
            @if let Some(description) = schema["description"].as_str() { (paragraphs(description)) }
            @if let Some(properties) = schema["properties"].as_object() {
                table {
                    thead { tr { th { "field" } th { "type" } th { "description" } } }
                    tbody {
                        @for (field, property) in properties {
                            tr {
                                td { code { (field) } @if required.contains(&field.as_str()) { " " span .required { "required" } } }
                                td { (type_of(property)) }
                                td { (inline(property["description"].as_str().unwrap_or(""))) }
                            }
                        }
                    }
                }
                @if schema["additionalProperties"] == Value::Bool(false) { p .note { "No other fields are accepted." } }
            } @else {
                p { (type_of(schema)) }
            }
            @if let Some(example) = schema.get("example") { (example_block(example)) }
            @for example in schema["examples"].as_array().into_iter().flatten() { (example_block(example)) }
        }
    }
}

/// A schema in a few words, with links to the named schemas it uses.
fn type_of(schema: &Value) -> Markup {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.strip_prefix(SCHEMA_PREFIX).unwrap_or(reference);
        return html! { a href={ "#schema-" (name) } { (name) } };
    }
    for combinator in ["oneOf", "anyOf", "allOf"] {
        if let Some(items) = schema[combinator].as_array() {
            let joiner = if combinator == "allOf" {
                " and "
            } else {
                " or "
            };
            return html! {
                @for (i, item) in items.iter().enumerate() {
                    @if i > 0 { (joiner) }
                    (type_of(item))
                }
            };
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(one) => vec![one.as_str()],
        Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let values = schema["enum"].as_array();
    let format = schema["format"].as_str();
    html! {
        @if types.is_empty() && values.is_none() { "any" }
        @for (i, kind) in types.iter().enumerate() {
            @if i > 0 { " or " }
            @if *kind == "array" { "array of " (type_of(&schema["items"])) }
            @else if *kind == "object" && schema["additionalProperties"].is_object() {
                "map of " (type_of(&schema["additionalProperties"]))
            }
            @else { (kind) }
        }
        @if let Some(format) = format { " (" (format) ")" }
        @if let Some(values) = values {
            " one of "
            @for (i, value) in values.iter().enumerate() {
                @if i > 0 { ", " }
                code { (value.as_str().map_or_else(|| value.to_string(), str::to_owned)) }
            }
        }
    }
}

/// Text with blank-line paragraphs.
fn paragraphs(text: &str) -> Markup {
    html! {
        @for paragraph in text.split("\n\n") { p { (inline(paragraph)) } }
    }
}

/// Text whose `backticked` spans are code.
fn inline(text: &str) -> Markup {
    html! {
        @for (i, part) in text.split('`').enumerate() {
            @if i % 2 == 1 { code { (part) } } @else { (part) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_nullable_reference_reads_as_its_schema_or_null() {
        let markup =
            type_of(&json!({"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Agent"}]}));
        assert_eq!(
            markup.into_string(),
            "null or <a href=\"#schema-Agent\">Agent</a>"
        );
    }

    #[test]
    fn backticked_words_are_code() {
        assert_eq!(
            inline("send `refresh=wait_for` to <wait>").into_string(),
            "send <code>refresh=wait_for</code> to &lt;wait&gt;"
        );
    }

    #[test]
    fn an_enum_lists_its_values() {
        let markup = type_of(&json!({"type": "string", "enum": ["inbound", "outbound"]}));
        assert_eq!(
            markup.into_string(),
            "string one of <code>inbound</code>, <code>outbound</code>"
        );
    }
}
