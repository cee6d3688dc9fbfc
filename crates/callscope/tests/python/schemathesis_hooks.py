"""Schemathesis hooks for tests/openapi.rs (loaded through SCHEMATHESIS_HOOKS).

Schemathesis has no serializer for NDJSON, the body of `POST /v1/calls/import`: a generated
string goes on the wire as it is, so malformed and cut-off lines reach the importer too; any
other generated value goes as one JSON document a line.
"""

import json

import schemathesis


@schemathesis.serializer("application/x-ndjson")
def ndjson(ctx, value):
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    documents = value if isinstance(value, list) else [value]
    return "".join(json.dumps(document) + "\n" for document in documents).encode()
