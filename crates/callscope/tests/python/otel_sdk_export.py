"""Sends scripted conversations to Callscope with the OpenTelemetry Python SDK.

Run by tests/otlp_sdk.rs: ``python otel_sdk_export.py BASE KEY SCRIPT_JSON``. The script
(a JSON list of conversations, each with its turns) comes from the Rust test, which knows
the expected answers. Every conversation is a Pipecat-shaped trace (``conversation`` →
``turn`` → ``stt``/``llm``/``tts``) built with the SDK's own tracer and explicit times, and
is sent one of three ways, as its ``mode`` says:

- ``protobuf``: the SDK's OTLP/HTTP exporter, as a runtime would use it;
- ``protobuf-gzip``: the same exporter with gzip compression;
- ``json``: the SDK's own OTLP encoder, the request turned into OTLP/JSON (ids in hex, as
  the specification asks; the Python SDK ships no JSON exporter), gzip'd, POSTed by hand.
"""

import base64
import gzip
import json
import sys
import urllib.error
import urllib.request

from google.protobuf.json_format import MessageToDict
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

MS = 1_000_000


def record(provider, conversation, t0):
    """Records one conversation's spans on ``provider``'s tracer."""
    tracer = provider.get_tracer("pipecat")
    cid = conversation["id"]
    end = t0 + 6_000 * MS * len(conversation["turns"])
    root = tracer.start_span(
        "conversation",
        start_time=t0,
        attributes={"conversation.id": cid, "conversation.type": "voice"},
    )
    root_context = trace.set_span_in_context(root)
    for n, turn in enumerate(conversation["turns"]):
        at = t0 + 6_000 * MS * n
        span = tracer.start_span(
            "turn",
            context=root_context,
            start_time=at,
            attributes={
                "turn.number": n + 1,
                "conversation.id": cid,
                "turn.was_interrupted": False,
                "turn.user_bot_latency_seconds": turn["user_bot"],
            },
        )
        context = trace.set_span_in_context(span)
        services = [
            ("stt", 100, 1_800, {
                "transcript": turn["user"], "is_final": True, "metrics.ttfb": turn["ttfb"][0],
                "metrics.audio_seconds": turn["audio_seconds"],
                "gen_ai.provider.name": "deepgram", "gen_ai.request.model": "nova-3"}),
            ("llm", 1_900, 2_900, {
                "output": turn["agent"], "metrics.ttfb": turn["ttfb"][1],
                "gen_ai.usage.input_tokens": turn["tokens"][0],
                "gen_ai.usage.output_tokens": turn["tokens"][1],
                "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini"}),
            ("tts", 3_000, 4_500, {
                "text": turn["agent"], "metrics.ttfb": turn["ttfb"][2],
                "metrics.character_count": len(turn["agent"]),
                "gen_ai.provider.name": "cartesia", "gen_ai.request.model": "sonic-2"}),
        ]
        for name, start, stop, attributes in services:
            child = tracer.start_span(name, context=context, start_time=at + start * MS, attributes=attributes)
            child.end(end_time=at + stop * MS)
        span.end(end_time=at + 5_000 * MS)
    root.end(end_time=end)


def hex_ids(value):
    """OTLP/JSON wants trace and span ids in hex; protobuf's JSON mapping gives base64."""
    if isinstance(value, dict):
        return {
            key: (base64.b64decode(item).hex() if key in ("traceId", "spanId", "parentSpanId") else hex_ids(item))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [hex_ids(item) for item in value]
    return value


def main():
    base, key, script = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    t0 = script["t0_unix_nano"]
    resource = Resource.create({"service.name": "sdk-bot"})
    for conversation in script["conversations"]:
        mode = conversation["mode"]
        provider = TracerProvider(resource=resource)
        if mode == "json":
            memory = InMemorySpanExporter()
            provider.add_span_processor(SimpleSpanProcessor(memory))
            record(provider, conversation, t0)
            # OTLP/JSON encodes enums as integers.
            message = encode_spans(memory.get_finished_spans())
            request = hex_ids(MessageToDict(message, use_integers_for_enums=True))
            body = gzip.compress(json.dumps(request).encode())
            post = urllib.request.Request(
                f"{base}/v1/traces",
                data=body,
                method="POST",
                headers={
                    "Content-Type": "application/json",
                    "Content-Encoding": "gzip",
                    "Authorization": f"Bearer {key}",
                },
            )
            try:
                with urllib.request.urlopen(post) as answer:
                    print(f"{conversation['id']}: {answer.read().decode()}")
            except urllib.error.HTTPError as refused:
                sys.exit(f"{conversation['id']}: HTTP {refused.code}: {refused.read().decode()}")
        else:
            exporter = OTLPSpanExporter(
                endpoint=f"{base}/v1/traces",
                headers={"Authorization": f"Bearer {key}"},
                compression=Compression.Gzip if mode == "protobuf-gzip" else Compression.NoCompression,
            )
            # Small batches, as a long conversation's spans go out while it runs.
            provider.add_span_processor(BatchSpanProcessor(exporter, max_export_batch_size=4))
            record(provider, conversation, t0)
            assert provider.force_flush(10_000), "the exporter did not flush"
            print(f"{conversation['id']}: exported")
        provider.shutdown()


if __name__ == "__main__":
    main()
