//! The OpenAPI 3.1 document (`GET /openapi.json`) and the reference page rendered from it
//! (`GET /docs`, in `openapi/page.rs`).
//!
//! Every route is registered through utoipa-axum's `routes!`, which takes a route's path and
//! methods from its handler's `#[utoipa::path]`: the router and the document are built from
//! one list, so neither can name a route the other lacks. `tests/openapi.rs` checks both
//! ways on the live server, and that no route is added any other way. What every operation
//! shares (the two ways to send a key, the answers the guards in front of every handler give)
//! is added here once rather than written on each handler.

pub(crate) mod page;

use crate::error::ErrorBody;
use axum::Extension;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, LicenseBuilder, OpenApi, RefOr,
    ResponseBuilder, Server,
};
use utoipa::{PartialSchema, ToSchema};

/// The security requirement of an operation that takes an API key; operations that take
/// none say `security(())`.
pub(crate) const API_KEY: &str = "api_key";
/// Seed 001's header for the same key.
pub(crate) const VGAI_KEY: &str = "vgai_key";
/// A LiveKit agent's access token (`/observability`).
const LIVEKIT: &str = "livekit";
/// The dashboard's session cookie.
const SESSION: &str = "session";

/// The surfaces, in the order the reference page shows them.
const TAGS: &[(&str, &str)] = &[
    (
        "calls",
        "The native call resource (seed 002 with seed 003's filters): create, read, list, \
         search by ids, replace, patch and delete.",
    ),
    (
        "search",
        "The bool query language of DESIGN §4 over every call: query, sort, projection, \
         aggregations, highlighting, `search_after`.",
    ),
    (
        "ingest",
        "What a runtime sends while a call happens: transcript lines, events, usage metrics, \
         OpenTelemetry traces.",
    ),
    (
        "recordings",
        "Recording uploads and the signed links that serve them.",
    ),
    (
        "reports",
        "Post-call reports (summary, outcome, sentiment, structured data) and each agent's \
         analysis settings.",
    ),
    (
        "transfers",
        "Live transfers of a call to a person or another agent.",
    ),
    (
        "webhooks",
        "Endpoints that receive call events, signed, with durable retried deliveries.",
    ),
    (
        "data",
        "Export, import, retention, bulk delete and the organization's settings (PII \
         redaction among them).",
    ),
    (
        "insights",
        "Vonage AI Studio's Insights API (seed 001): the same calls as session documents, \
         searched with `filter_by`.",
    ),
    (
        "observability",
        "What LiveKit Agents sends LiveKit Cloud, received here when \
         `LIVEKIT_OBSERVABILITY_URL` names this server. Authenticated with a LiveKit access \
         token, not an API key.",
    ),
    (
        "dashboard",
        "The web dashboard's pages and forms: HTML for a browser signed in with a session \
         cookie, not an API. Listed so that every route is in this document.",
    ),
    (
        "operations",
        "Liveness, readiness, Prometheus metrics and this reference.",
    ),
];

/// The answers any operation may give before its handler runs, beside its own.
const SHARED: &[(&str, &str)] = &[
    (
        "400",
        "The request is invalid: a parameter, a body field or the body itself. `error` names \
         the part at fault and every limit names itself.",
    ),
    (
        "408",
        "The client stopped sending the request body before it ended.",
    ),
    (
        "413",
        "The body is larger than this route allows (`max_body_bytes`, or the route's own \
         limit, named in `error`).",
    ),
    (
        "503",
        "The server is at a bound (`OVERLOADED`: requests or searches at once) or ran past its \
         deadline (`TIMEOUT`); `Retry-After` says when to come back.",
    ),
];

/// The answers of an operation that takes an API key, beside [`SHARED`].
const KEYED: &[(&str, &str)] = &[
    (
        "401",
        "No key, an unknown key or a revoked key (the body does not say which).",
    ),
    (
        "403",
        "The key lacks the scope this operation needs (`read`, `write` or `admin`).",
    ),
    (
        "429",
        "The key sent more requests than its rate allows; `Retry-After` says when to come \
         back.",
    ),
];

/// The answers of a dashboard operation (one that takes the `session` cookie) before its
/// handler runs: HTML pages and redirects, not the API's JSON.
fn add_session_refusals(operation: &mut utoipa::openapi::path::Operation) {
    use utoipa::openapi::HeaderBuilder;
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    let string = || ObjectBuilder::new().schema_type(Type::String).build();
    let responses = &mut operation.responses.responses;
    responses.entry("303".to_owned()).or_insert_with(|| {
        ResponseBuilder::new()
            .description("Without a live session: to `/sign-in?next=…`")
            .header(
                "Location",
                HeaderBuilder::new()
                    .schema(string())
                    .description(Some("The sign-in page"))
                    .build(),
            )
            .into()
    });
    responses.entry("429".to_owned()).or_insert_with(|| {
        ResponseBuilder::new()
            .description("The session's key sent more requests than its rate allows")
            .content(
                "text/html",
                ContentBuilder::new().schema(Some(string())).build(),
            )
            .into()
    });
    // A page whose own searches find no free slot in time says so as a page; the bounds in
    // front of every handler answer in JSON.
    responses.entry("503".to_owned()).or_insert_with(|| {
        ResponseBuilder::new()
            .description(
                "The server is at a bound or ran past its deadline: a page when the page's \
                 own searches found no free slot in time, else the JSON error",
            )
            .content(
                "text/html",
                ContentBuilder::new().schema(Some(string())).build(),
            )
            .content("application/json", error_content())
            .into()
    });
}

/// The document served at `/openapi.json` and the page served at `/docs`, both rendered
/// once at start.
#[derive(Clone, Debug)]
pub(crate) struct Document {
    pub json: Bytes,
    pub page: Bytes,
}

impl Document {
    pub fn new(api: &OpenApi) -> Self {
        let value = serde_json::to_value(api).unwrap_or_default();
        Self {
            json: Bytes::from(serde_json::to_vec(&value).unwrap_or_default()),
            page: Bytes::from(page::render(&value).into_string()),
        }
    }
}

/// Completes what `routes!` collected: the title, the tags, the security schemes, the
/// shared error answers on every operation and the error schema they name.
pub(crate) fn finish(mut api: OpenApi) -> OpenApi {
    api.info = InfoBuilder::new()
        .title("Callscope")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "Call and session insights for voice AI agents. Every failure answers \
             `{\"error\", \"code\"}` with the status that fits; the reference page at `/docs` \
             shows this document.",
        ))
        .license(Some(LicenseBuilder::new().name("Apache-2.0").build()))
        .build();
    api.servers = Some(vec![Server::new("/")]);
    api.tags = Some(
        TAGS.iter()
            .map(|(name, description)| {
                TagBuilder::new()
                    .name(*name)
                    .description(Some(*description))
                    .build()
            })
            .collect(),
    );
    let mut components = api
        .components
        .take()
        .unwrap_or_else(|| ComponentsBuilder::new().build());
    components.add_security_scheme(
        API_KEY,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "`Authorization: Bearer <key>`, a key from `callscope keys create`",
                ))
                .build(),
        ),
    );
    components.add_security_scheme(
        VGAI_KEY,
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "X-Vgai-Key",
            "The same key in seed 001's header",
        ))),
    );
    components.add_security_scheme(
        LIVEKIT,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some(
                    "A LiveKit access token (HS256) minted from `LIVEKIT_API_KEY` and \
                     `LIVEKIT_API_SECRET` with the `observability.write` grant; the API key \
                     must be configured for an organization (`--livekit-key`)",
                ))
                .build(),
        ),
    );
    components.add_security_scheme(
        SESSION,
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
            "callscope_session",
            "The dashboard's session cookie, set by signing in at `/sign-in` with an API key",
        ))),
    );
    let mut error_schemas = Vec::new();
    ErrorBody::schemas(&mut error_schemas);
    components
        .schemas
        .insert(ErrorBody::name().into_owned(), ErrorBody::schema());
    components.schemas.extend(error_schemas);
    open_flattened_schemas(&mut components);
    api.components = Some(components);
    for item in api.paths.paths.values_mut() {
        for operation in operations_mut(item) {
            let keyed = operation.security.is_none();
            let session = operation.security.iter().flatten().any(|requirement| {
                serde_json::to_value(requirement).is_ok_and(|value| value.get(SESSION).is_some())
            });
            if session {
                add_session_refusals(operation);
            }
            if keyed {
                operation.security = Some(vec![
                    utoipa::openapi::security::SecurityRequirement::new::<_, _, &str>(API_KEY, []),
                    utoipa::openapi::security::SecurityRequirement::new::<_, _, &str>(VGAI_KEY, []),
                ]);
            }
            let shared = SHARED.iter().chain(if keyed { KEYED } else { &[] });
            for (status, description) in shared {
                operation
                    .responses
                    .responses
                    .entry((*status).to_owned())
                    .or_insert_with(|| error_response(description));
            }
        }
    }
    api
}

/// A struct flattened into another (`#[serde(flatten)]`, an `allOf` in the document) cannot
/// close itself with `additionalProperties: false`: JSON Schema checks each part of an
/// `allOf` alone, so the fields of the other parts would break it. Such a schema is left open;
/// the one it is part of still lists every field.
fn open_flattened_schemas(components: &mut utoipa::openapi::Components) {
    use utoipa::openapi::schema::{AdditionalProperties, Schema};
    let tree = serde_json::to_value(&components.schemas).unwrap_or_default();
    let mut flattened = Vec::new();
    allof_references(&tree, &mut flattened);
    for mut name in flattened {
        // A newtype's schema is a reference to its field's: open the schema it names.
        while let Some(RefOr::Ref(reference)) = components.schemas.get(&name) {
            name = schema_name(&reference.ref_location).to_owned();
        }
        if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(&name)
            && matches!(
                object.additional_properties.as_deref(),
                Some(AdditionalProperties::FreeForm(false))
            )
        {
            object.additional_properties = None;
        }
    }
}

/// The names of the schemas referenced as a part of an `allOf` anywhere under `schema`.
fn allof_references(schema: &serde_json::Value, names: &mut Vec<String>) {
    use serde_json::Value;
    match schema {
        Value::Object(fields) => {
            for (key, value) in fields {
                if key == "allOf" {
                    let parts = value.as_array().into_iter().flatten();
                    names.extend(
                        parts
                            .filter_map(|part| part["$ref"].as_str())
                            .map(|reference| schema_name(reference).to_owned()),
                    );
                }
                allof_references(value, names);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| allof_references(item, names)),
        _ => {}
    }
}

fn schema_name(reference: &str) -> &str {
    reference.trim_start_matches("#/components/schemas/")
}

/// The seeds' own examples (`testdata/seeds/`, the files the tests compare renderings with),
/// shown on the operations that answer or take the seed's shape.
pub(crate) mod seed {
    use serde_json::Value;

    fn parse(text: &str) -> Value {
        serde_json::from_str(text).unwrap_or_default()
    }

    /// Seed 001's search answer, its one session included.
    pub(crate) fn sessions_page() -> Value {
        parse(include_str!(
            "../../../testdata/seeds/seed001_session_example.json"
        ))
    }

    /// Seed 001's session document.
    pub(crate) fn session() -> Value {
        sessions_page()["hits"][0].clone()
    }

    /// Seed 002's call detail, its placeholders filled in.
    pub(crate) fn call() -> Value {
        parse(include_str!(
            "../../../testdata/seeds/seed002_call_filled.json"
        ))
    }

    /// Seed 004's call as one NDJSON line, as `POST /v1/calls/import` takes it.
    pub(crate) fn seed004_import() -> Value {
        let call = parse(include_str!(
            "../../../testdata/seeds/seed004_get_call.json"
        ));
        Value::String(format!("{call}\n"))
    }
}

/// A body of bytes that are not JSON (audio, protobuf).
pub(crate) struct Binary;

impl PartialSchema for Binary {
    fn schema() -> RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .into()
    }
}

impl ToSchema for Binary {}

/// A schema written as JSON: for wire formats that are not this server's types (OTLP's).
pub(crate) fn schema_of(json: serde_json::Value) -> RefOr<utoipa::openapi::schema::Schema> {
    serde_json::from_value(json).unwrap_or_else(|_| RefOr::T(Default::default()))
}

/// An error answer with the one error body.
pub(crate) fn error_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", error_content())
        .into()
}

/// The `{"error", "code"}` body as a response's content.
fn error_content() -> utoipa::openapi::Content {
    ContentBuilder::new()
        .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
            ErrorBody::name(),
        ))))
        .build()
}

/// Every operation of a path, in a fixed method order.
pub(crate) fn operations_mut(
    item: &mut utoipa::openapi::PathItem,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

/// This OpenAPI 3.1 document.
///
/// Generated from the handlers; no key needed. `callscope openapi` prints the same.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    operation_id = "openapi_document",
    security(()),
    responses((status = 200, description = "This document", content_type = "application/json", body = Object)),
)]
pub(crate) async fn document(Extension(document): Extension<Document>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        document.json,
    )
        .into_response()
}
