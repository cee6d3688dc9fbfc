"""Runs a real LiveKit Agents ``AgentSession`` and sends what LiveKit Cloud would get to Callscope.

Usage: ``python livekit_session.py BASE_URL SCRIPT_JSON`` (SCRIPT_JSON is the JSON text, or
``@path`` to a file holding it), with ``LIVEKIT_API_KEY`` / ``LIVEKIT_API_SECRET`` in the
environment: LiveKit signs its observability JWTs with them (``livekit.api.AccessToken()``
reads them from there), so the server under test must know the same pair.

No LiveKit server and no network besides BASE_URL. Everything that produces the traffic is
livekit-agents 1.7.0's own code:

- the job is ``livekit.agents.testing.fake_job_context()``, LiveKit's helper for running an
  agent in-process without a worker. It is a real ``JobContext``, so ``AgentSession.start``
  does what it does in a worker: ``JobContext.init_recording`` calls ``_setup_cloud_tracer``
  (OTLP/HTTP protobuf, gzip, to ``BASE_URL/observability/{traces,logs,metrics}/otlp/v0``,
  found through ``LIVEKIT_OBSERVABILITY_URL``, the variable LiveKit reads for a self-hosted
  endpoint), the ``agent_session`` span gets ``lk.job_id`` / ``lk.agent_name`` /
  ``lk.pii.room_name``, and a ``RecorderIO`` records both audio channels to an Ogg/Opus file;
- the session is a real ``AgentSession`` with VAD/STT/LLM/TTS and audio I/O built on
  LiveKit's base classes, scripted the way LiveKit's own tests script them
  (``tests/fake_vad.py``, ``fake_stt.py``, ``fake_llm.py``, ``fake_tts.py``, ``fake_io.py``);
- the end of the job is what ``ipc/job_proc_lazy_main.py`` does: ``session.aclose()``, then
  ``JobContext.make_session_report`` and ``_upload_session_report`` (chat history as OTLP
  logs, then a multipart POST to ``BASE_URL/observability/recordings/v0``), then
  ``_shutdown_telemetry`` (which flushes the last spans, logs and metrics).

Time is virtual, as in LiveKit's ``tests/virtual_time.py``: the session runs on an event loop
whose clock jumps straight to the next timer, and ``time.time`` / ``time.perf_counter`` /
the OpenTelemetry SDK's clock read that clock while on the loop. A conversation of half a
minute takes a fraction of a second, and every delay LiveKit measures is exactly the scripted
one (no scheduler jitter), so ``lk.response.ttft`` is the LLM's scripted ttft, and so on.
Threads (the OTLP exporters, the Ogg encoder) and the upload keep the real clock.

The script (all keys but ``turns`` optional)::

    {"job_id": "AJ_...", "room": "support-1", "room_id": "RM_...", "agent_name": "front-desk",
     "started_at": 1767225600.0,          # Unix seconds of the session start; default: now
     "llm": {"provider": "openai", "model": "gpt-4o-mini"},
     "tts": {"provider": "cartesia", "model": "sonic-2"},
     "stt": {"provider": "deepgram", "model": "nova-3"},
     "turns": [{"user": "...", "agent": "...",
                "pause": 1.0,            # s of silence before the caller speaks
                "speech": 1.5,           # s the caller speaks
                "stt_delay": 0.2,        # s from end of speech to the final transcript
                "llm_ttft": 0.4, "llm_duration": 0.6,
                "tts_ttfb": 0.25, "audio": 2.0,   # s of agent speech
                "input_tokens": 120, "output_tokens": 24}]}

It prints one JSON object: what it sent (span count and names from an in-memory exporter on
the same tracer provider, the job id, the Ogg's duration, the chat items) and the values
LiveKit measured per turn, read back from those spans.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import json
import logging
import math
import os
import selectors
import struct
import sys
import threading
import time
from collections.abc import Mapping
from typing import Any
from unittest import mock

import numpy as np
import opentelemetry.sdk.trace as otel_sdk_trace
from opentelemetry._logs import get_logger_provider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import BaseModel
from pydantic_core import SchemaValidator

from livekit import rtc
from livekit.agents import (
    NOT_GIVEN,
    Agent,
    AgentSession,
    APIConnectOptions,
    EndpointingOptions,
    InterruptionOptions,
    LanguageCode,
    llm,
    stt,
    tts,
    utils,
    vad,
)
from livekit.agents.llm import chat_context
from livekit.agents.telemetry import _upload_session_report
from livekit.agents.telemetry.traces import _shutdown_telemetry, tracer
from livekit.agents.testing import fake_job_context
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS
from livekit.agents.voice import events
from livekit.agents.voice.agent_session import RecordingOptions
from livekit.agents.voice.io import AudioInput, AudioOutput, AudioOutputCapabilities


# --------------------------------------------------------------------------------------------
# Virtual time (after LiveKit's tests/virtual_time.py)
# --------------------------------------------------------------------------------------------

# Unix seconds of virtual time 0; set in main() before the loop runs.
_EPOCH = 0.0
_REAL_TIME = time.time
_REAL_PERF = time.perf_counter
_REAL_TIME_NS = time.time_ns
_TICK = 1e-6  # wall-clock reads within one instant still increase: chat items sort by created_at


class _Timer(asyncio.TimerHandle):
    """A timer that sorts after the timers scheduled before it for the same instant, so they
    fire in the order real time would fire them (asyncio's heap alone leaves ties to chance).
    LiveKit's tests nudge each timer by a nanosecond instead; that shifts measured delays."""

    _next = itertools.count()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._seq = next(self._next)

    def __lt__(self, other: Any) -> bool:
        return (self._when, self._seq) < (other._when, getattr(other, "_seq", -1))


class _VirtualLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock only moves when it would otherwise sleep: then it jumps to
    the next timer. Real I/O (the loop's self-pipe for thread wake-ups) still works."""

    def __init__(self) -> None:
        self._now = 0.0
        self._read = 0.0
        super().__init__(selector=_JumpSelector(self))

    def time(self) -> float:
        return self._now

    def read(self) -> float:
        self._read = self._now if self._now > self._read else self._read + _TICK
        return self._read

    def call_at(self, when: float, callback: Any, *args: Any, context: Any = None) -> Any:
        # BaseEventLoop.call_at, with the ordered timer
        self._check_closed()
        timer = _Timer(when, callback, args, self, context)
        heapq.heappush(self._scheduled, timer)
        timer._scheduled = True
        return timer


class _JumpSelector(selectors.BaseSelector):
    def __init__(self, loop: _VirtualLoop) -> None:
        self._loop = loop
        self._real = selectors.DefaultSelector()

    def register(self, fileobj: Any, mask: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.register(fileobj, mask, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._real.unregister(fileobj)

    def modify(self, fileobj: Any, mask: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.modify(fileobj, mask, data)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = self._real.select(0)
        if ready or timeout == 0:
            return ready
        if timeout is None:
            # nothing scheduled: genuinely waiting for another thread (the Ogg encoder)
            return self._real.select(None)
        self._loop._now += timeout
        return []

    def get_map(self) -> Any:
        return self._real.get_map()

    def close(self) -> None:
        self._real.close()


def _virtual() -> _VirtualLoop | None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    return loop if isinstance(loop, _VirtualLoop) else None


def _now() -> float:
    loop = _virtual()
    return _EPOCH + loop.read() if loop is not None else _REAL_TIME()


def _perf() -> float:
    # durations only: no nudge, so a scripted 0.4 s measures as 0.4 s
    loop = _virtual()
    return loop.time() if loop is not None else _REAL_PERF()


def _now_ns() -> int:
    loop = _virtual()
    # the epoch and the offset apart, so the sum keeps nanoseconds a float would round off
    return round(_EPOCH * 1e9) + round(loop.read() * 1e9) if loop is not None else _REAL_TIME_NS()


@contextlib.contextmanager
def _virtual_clocks():
    """Points the clocks LiveKit and the OpenTelemetry SDK read at the virtual loop's clock.

    ``time.time`` / ``time.perf_counter`` are read through the module, so patching it reaches
    them. Two references were captured at import and need their own patch: the SDK's span
    clock (``from time import time_ns`` in opentelemetry.sdk.trace) and pydantic's
    ``Field(default_factory=time.time)`` on chat items and session events, whose validators
    are rebuilt with the virtual clock (LiveKit's tests/virtual_time.py does the same).
    """
    swapped: list[tuple[type, Any]] = []
    for module in (chat_context, events):
        for model in vars(module).values():
            if not (isinstance(model, type) and issubclass(model, BaseModel)):
                continue
            fields = [n for n, f in model.model_fields.items() if f.default_factory is _REAL_TIME]
            if not fields:
                continue
            schema = _plain(model.__pydantic_core_schema__)
            node = schema
            while node.get("type") != "model":
                node = node["schema"]
            for name in fields:
                node["schema"]["fields"][name]["schema"]["default_factory"] = _now
            patched = SchemaValidator(schema, node.get("config"), _use_prebuilt=False)
            swapped.append((model, model.__pydantic_validator__))
            model.__pydantic_validator__ = patched
    try:
        with (
            mock.patch.object(time, "time", _now),
            mock.patch.object(time, "perf_counter", _perf),
            mock.patch.object(otel_sdk_trace, "time_ns", _now_ns),
        ):
            yield
    finally:
        for model, original in swapped:
            model.__pydantic_validator__ = original


def _plain(obj: Any) -> Any:
    if isinstance(obj, Mapping):  # pydantic hands out a lazy mapping proxy
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    return obj


# --------------------------------------------------------------------------------------------
# The scripted call
# --------------------------------------------------------------------------------------------

MIN_SPEECH = 0.05  # VAD: speech needed before START_OF_SPEECH
MIN_SILENCE = 0.5  # VAD: silence needed before END_OF_SPEECH
MIN_ENDPOINTING = 0.5  # AgentSession: wait after end of speech before the turn is committed
INPUT_RATE = 16_000  # the caller's audio, as a room track would give it after resampling
TTS_RATE = 24_000
FRAME = 0.1  # s per pushed input frame


def plan(script: dict) -> list[dict]:
    """The turns with defaults filled in and the caller's speech placed on the timeline.

    Like LiveKit's fakes, the caller's speech is a fixed schedule (seconds since the first
    audio frame). Each turn starts ``pause`` after an upper bound of when the reply before it
    has finished playing; the bound is generous because under virtual time waiting is free.
    """
    turns, at = [], 0.0
    for n, raw in enumerate(script["turns"]):
        t = {
            "pause": 1.0, "speech": 1.5, "stt_delay": 0.2, "llm_ttft": 0.4,
            "llm_duration": 0.6, "tts_ttfb": 0.25, "audio": 2.0,
            "input_tokens": 100 + 20 * n, "output_tokens": 20 + 5 * n,
            **raw,
        }
        t["llm_duration"] = max(t["llm_duration"], t["llm_ttft"])
        t["start"] = at + t["pause"]
        t["end"] = t["start"] + t["speech"]
        reply_done = (
            t["end"] + max(MIN_SILENCE, t["stt_delay"]) + MIN_ENDPOINTING
            + t["llm_duration"] + t["tts_ttfb"] + t["audio"]
        )
        at = t["done"] = reply_done + 1.0
        turns.append(t)
    if len({t["user"] for t in turns}) != len(turns):
        raise SystemExit("each turn needs its own user text: the LLM answers by it")
    return turns


def tone(seconds: float, rate: int, pitch: float, start: float = 0.0) -> bytes:
    """16-bit mono PCM: a soft harmonic tone with a syllable-like envelope (4 per second),
    so the recording sounds like someone talking rather than silence."""
    n = int(round(seconds * rate))
    t = start + np.arange(n) / rate
    wave = sum(np.sin(2 * np.pi * pitch * k * t) / k for k in (1, 2, 3))
    envelope = np.abs(np.sin(np.pi * 4 * t))
    return (wave * envelope * 0.2 * 32767 / 1.83).astype(np.int16).tobytes()


# --------------------------------------------------------------------------------------------
# Fakes on LiveKit's base classes (after LiveKit's tests/fake_*.py)
# --------------------------------------------------------------------------------------------


class ScriptedVAD(vad.VAD):
    """Speech starts and ends when the script says, counted from the first audio frame."""

    def __init__(self, turns: list[dict]) -> None:
        super().__init__(capabilities=vad.VADCapabilities(update_interval=0.1))
        self.turns = turns

    def stream(self) -> vad.VADStream:
        return ScriptedVADStream(self)


class ScriptedVADStream(vad.VADStream):
    async def _main_task(self) -> None:
        turns = self._vad.turns
        async for frame in self._input_ch:
            if isinstance(frame, rtc.AudioFrame):
                break
        else:
            return
        origin = time.perf_counter()

        def now() -> float:
            return time.perf_counter() - origin

        async def until(at: float) -> None:
            if now() < at:
                await asyncio.sleep(at - now())

        for t in turns:
            await until(t["start"] + MIN_SPEECH)
            self._send(vad.VADEventType.START_OF_SPEECH, t, now())
            while now() < t["end"] + MIN_SILENCE - 2 * MIN_SPEECH:
                await asyncio.sleep(MIN_SPEECH)
                self._send(vad.VADEventType.INFERENCE_DONE, t, now())
            await until(t["end"] + MIN_SILENCE)
            self._send(vad.VADEventType.END_OF_SPEECH, t, now())
        async for _ in self._input_ch:
            pass

    def _send(self, kind: vad.VADEventType, t: dict, at: float) -> None:
        speaking = at <= t["end"]
        self._event_ch.send_nowait(
            vad.VADEvent(
                type=kind,
                samples_index=0,
                timestamp=at,
                speech_duration=min(at, t["end"]) - t["start"],
                silence_duration=max(0.0, at - t["end"]),
                raw_accumulated_speech=at - t["start"] if speaking else 0.0,
                raw_accumulated_silence=0.0 if speaking else at - t["end"],
            )
        )


class ScriptedSTT(stt.STT):
    """Streams an interim (the first two words) and then the final transcript of each turn,
    ``stt_delay`` after its speech ends, and then the turn's usage (its speech's length)."""

    def __init__(self, turns: list[dict], provider: str, model: str) -> None:
        super().__init__(capabilities=stt.STTCapabilities(streaming=True, interim_results=True))
        self.turns, self._provider, self._model = turns, provider, model

    @property
    def provider(self) -> str:
        return self._provider

    @property
    def model(self) -> str:
        return self._model

    async def _recognize_impl(self, buffer, *, language, conn_options) -> stt.SpeechEvent:
        raise NotImplementedError("streaming only")

    def stream(
        self, *, language=NOT_GIVEN, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> stt.RecognizeStream:
        return ScriptedRecognizeStream(stt=self, conn_options=conn_options)


class ScriptedRecognizeStream(stt.RecognizeStream):
    async def _run(self) -> None:
        await self._input_ch.recv()
        origin = time.perf_counter()
        for t in self._stt.turns:
            for at, text, final in (
                (t["end"] + t["stt_delay"] / 2, " ".join(t["user"].split()[:2]), False),
                (t["end"] + t["stt_delay"], t["user"], True),
            ):
                wait = at - (time.perf_counter() - origin)
                if wait > 0:
                    await asyncio.sleep(wait)
                kind = stt.SpeechEventType.FINAL_TRANSCRIPT if final else (
                    stt.SpeechEventType.INTERIM_TRANSCRIPT)
                self._event_ch.send_nowait(
                    stt.SpeechEvent(
                        type=kind,
                        alternatives=[stt.SpeechData(text=text, language=LanguageCode("en"),
                                                     confidence=0.95)],
                    )
                )
            # what the provider bills for the turn (LiveKit turns it into STT usage)
            self._event_ch.send_nowait(stt.SpeechEvent(
                type=stt.SpeechEventType.RECOGNITION_USAGE,
                recognition_usage=stt.RecognitionUsage(audio_duration=t["speech"])))
        async for _ in self._input_ch:
            pass


class ScriptedLLM(llm.LLM):
    """Answers the latest user message with its turn's reply: the first chunk after
    ``llm_ttft``, the last (with the token usage) at ``llm_duration``."""

    def __init__(self, turns: list[dict], provider: str, model: str) -> None:
        super().__init__()
        self.by_user = {t["user"]: t for t in turns}
        self._provider, self._model = provider, model

    @property
    def provider(self) -> str:
        return self._provider

    @property
    def model(self) -> str:
        return self._model

    def chat(self, *, chat_ctx: llm.ChatContext, tools=None,
             conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS, **_: Any):
        return ScriptedLLMStream(self, chat_ctx=chat_ctx, tools=tools or [],
                                 conn_options=conn_options)


class ScriptedLLMStream(llm.LLMStream):
    async def _run(self) -> None:
        start = time.perf_counter()
        last = self.chat_ctx.items[-1]
        t = self._llm.by_user.get(last.text_content if last.type == "message" else None)
        if t is None:
            return  # nothing scripted (e.g. a preemptive guess): an empty reply
        await asyncio.sleep(t["llm_ttft"])
        reply = t["agent"]
        for at in range(0, len(reply), 8):
            self._chunk(content=reply[at:at + 8])
        await asyncio.sleep(max(0.0, t["llm_duration"] - (time.perf_counter() - start)))
        self._chunk(usage=llm.CompletionUsage(
            prompt_tokens=t["input_tokens"], completion_tokens=t["output_tokens"],
            total_tokens=t["input_tokens"] + t["output_tokens"]))

    def _chunk(self, *, content: str | None = None, usage: llm.CompletionUsage | None = None):
        self._event_ch.send_nowait(llm.ChatChunk(
            id=f"chatcmpl-{id(self)}",
            delta=llm.ChoiceDelta(role="assistant", content=content) if content else None,
            usage=usage))


class ScriptedTTS(tts.TTS):
    """Streaming TTS: each flushed sentence becomes ``audio`` seconds of speech (split over
    the reply's sentences by length), the first audio ``tts_ttfb`` after the text arrives."""

    def __init__(self, turns: list[dict], provider: str, model: str) -> None:
        super().__init__(capabilities=tts.TTSCapabilities(streaming=True),
                         sample_rate=TTS_RATE, num_channels=1)
        self.turns, self._provider, self._model = turns, provider, model

    @property
    def provider(self) -> str:
        return self._provider

    @property
    def model(self) -> str:
        return self._model

    def turn_of(self, text: str) -> dict | None:
        return next((t for t in self.turns if text.strip() and text.strip() in t["agent"]), None)

    def synthesize(self, text: str, *, conn_options=DEFAULT_API_CONNECT_OPTIONS):
        raise NotImplementedError("streaming only")

    def stream(self, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS):
        return ScriptedSynthesizeStream(tts=self, conn_options=conn_options)


class ScriptedSynthesizeStream(tts.SynthesizeStream):
    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        output_emitter.initialize(request_id=utils.shortuuid("tts_"), sample_rate=TTS_RATE,
                                  num_channels=1, mime_type="audio/pcm", stream=True)
        text = ""
        async for data in self._input_ch:
            if isinstance(data, str):
                text += data
                continue
            if not text.strip():
                continue
            start = time.perf_counter()
            self._mark_started()
            t = self._tts.turn_of(text)
            seconds = t["audio"] * len(text.strip()) / len(t["agent"]) if t else 0.5
            await asyncio.sleep(max(0.0, (t["tts_ttfb"] if t else 0.1)
                                    - (time.perf_counter() - start)))
            output_emitter.start_segment(segment_id=utils.shortuuid("segment_"))
            pcm = tone(seconds, TTS_RATE, 180.0)
            step = TTS_RATE // 100 * 2  # 10 ms chunks, as a provider streams them
            for at in range(0, len(pcm), step):
                output_emitter.push(pcm[at:at + step])
            output_emitter.flush()
            text = ""


class CallerAudio(AudioInput):
    """The caller's microphone: a continuous 16 kHz stream (the recorder assumes one), a tone
    while the script has the caller speaking and silence otherwise."""

    def __init__(self, turns: list[dict]) -> None:
        super().__init__(label="ScriptedCaller")
        self._turns = turns
        self._at = 0.0
        self._started: float | None = None

    async def __anext__(self) -> rtc.AudioFrame:
        if self._started is None:
            self._started = time.perf_counter()
        else:
            # real time between frames, like a microphone
            wait = self._at - (time.perf_counter() - self._started)
            if wait > 0:
                await asyncio.sleep(wait)
        samples = int(FRAME * INPUT_RATE)
        speaking = any(t["start"] <= self._at < t["end"] for t in self._turns)
        data = tone(FRAME, INPUT_RATE, 130.0, self._at) if speaking else b"\0\0" * samples
        self._at += FRAME
        return rtc.AudioFrame(data=data, sample_rate=INPUT_RATE, num_channels=1,
                              samples_per_channel=samples)


class Speaker(AudioOutput):
    """The caller's loudspeaker: plays pushed audio in real time and reports when it has."""

    def __init__(self) -> None:
        super().__init__(label="ScriptedSpeaker", next_in_chain=None, sample_rate=None,
                         capabilities=AudioOutputCapabilities(pause=False))
        self._pushed = 0.0
        self._started_at: float | None = None
        self._done: asyncio.TimerHandle | None = None

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        self._pushed += frame.duration
        if self._started_at is None:
            self._started_at = time.time()
            self.on_playback_started(created_at=self._started_at)

    def flush(self) -> None:
        super().flush()
        if not self._pushed:
            return
        pushed, played = self._pushed, time.time() - (self._started_at or time.time())

        def finished() -> None:
            self._reset()
            self.on_playback_finished(playback_position=pushed, interrupted=False,
                                      synchronized_transcript=None)

        self._done = asyncio.get_event_loop().call_later(max(pushed - played, 0.0), finished)

    def clear_buffer(self) -> None:
        if not self._pushed:
            return
        position = min(time.time() - (self._started_at or time.time()), self._pushed)
        self._reset()
        self.on_playback_finished(playback_position=position, interrupted=True,
                                  synchronized_transcript=None)

    def _reset(self) -> None:
        self._pushed, self._started_at = 0.0, None
        if self._done:
            self._done.cancel()
            self._done = None


# --------------------------------------------------------------------------------------------
# The job
# --------------------------------------------------------------------------------------------


async def run_session(script: dict, turns: list[dict], memory: InMemorySpanExporter) -> dict:
    """Runs the job up to the session report, on the virtual loop. Returns what the upload
    needs; the upload itself runs on a real loop (see main)."""
    room = rtc.Room()
    room._info.name = script.get("room", "callscope-room")  # as the job runner names it
    with fake_job_context(room=room, job_id=script.get("job_id", "AJ_callscope")) as job:
        job.job.agent_name = script.get("agent_name", "")
        if "room_id" in script:
            job.job.room.sid = script["room_id"]
        record = RecordingOptions(audio=True, traces=True, logs=True, transcript=True)
        # What AgentSession.start does first; done here so the in-memory exporter is on the
        # tracer provider _setup_cloud_tracer made before the first span starts.
        job.init_recording(record)
        tracer._tracer_provider.add_span_processor(SimpleSpanProcessor(memory))

        services = {k: script.get(k, {}) for k in ("stt", "llm", "tts")}
        session = AgentSession(
            vad=ScriptedVAD(turns),
            stt=ScriptedSTT(turns, services["stt"].get("provider", "deepgram"),
                            services["stt"].get("model", "nova-3")),
            llm=ScriptedLLM(turns, services["llm"].get("provider", "openai"),
                            services["llm"].get("model", "gpt-4o-mini")),
            tts=ScriptedTTS(turns, services["tts"].get("provider", "cartesia"),
                            services["tts"].get("model", "sonic-2")),
            turn_handling={
                # VAD endpointing, as LiveKit's tests use: the default turn detector model
                # cannot judge synthetic audio
                "turn_detection": None,
                "endpointing": EndpointingOptions(min_delay=MIN_ENDPOINTING, max_delay=6.0),
                # the speaker cannot pause, so LiveKit could not resume after a false one
                "interruption": InterruptionOptions(min_duration=0.5,
                                                    resume_false_interruption=False),
            },
            aec_warmup_duration=None,
            user_away_timeout=None,
        )
        session.input.audio = CallerAudio(turns)
        session.output.audio = Speaker()

        replies = asyncio.Event()
        done: list[str] = []

        @session.on("conversation_item_added")
        def _added(ev) -> None:
            if getattr(ev.item, "role", None) == "assistant":
                done.append(ev.item.text_content or "")
                if len(done) >= len(turns):
                    replies.set()

        await session.start(
            agent=Agent(instructions="You are the front desk of a dental clinic."),
            record=record,
        )
        ticks = asyncio.create_task(export_ticks(turns)) if script.get("flush_each_turn", True) \
            else None
        await asyncio.wait_for(replies.wait(), timeout=600)
        if ticks:
            await ticks
        await asyncio.sleep(1.0)  # the caller listens a moment, then hangs up
        # the job runner's shutdown: close the session, then the report
        await session.aclose()
        report = job.make_session_report(session)
        # SessionReport.timestamp's default_factory captured the real time.time
        report.timestamp = time.time()
        if report.audio_recording_started_at:
            report.duration = report.timestamp - report.audio_recording_started_at
        return {"report": report, "tagger": job.tagger,
                "agent_name": job.job.agent_name, "metadata": job._otel_metadata(record)}


async def export_ticks(turns: list[dict]) -> None:
    """Exports what has ended after each turn, as the SDK's batch processors do on their own
    schedule during a real call (spans every 5 s, logs every second). Those schedules run on
    the real clock, which barely moves here, so without this every span would leave at the
    end. The flush blocks the loop on purpose: virtual time must not move meanwhile."""
    def flush() -> None:
        tracer._tracer_provider.force_flush()
        get_logger_provider().force_flush()

    origin = time.perf_counter()
    for t in turns:
        await asyncio.sleep(max(0.0, t["done"] - (time.perf_counter() - origin)))
        # Another thread, joined: the exporter runs on the caller's thread and times its
        # retries with time.time, which on this one would be the frozen virtual clock.
        flusher = threading.Thread(target=flush)
        flusher.start()
        flusher.join()


async def upload(base_url: str, ended: dict) -> None:
    # an http session of LiveKit's http_context, as a job process has
    utils.http_context._new_session_ctx()
    try:
        await _upload_session_report(
            agent_name=ended["agent_name"],
            observability_url=base_url,
            report=ended["report"],
            tagger=ended["tagger"],
            http_session=utils.http_context.http_session(),
            metadata=ended["metadata"],
        )
    finally:
        await utils.http_context._close_http_ctx()


def ogg_channels(path) -> int:
    """The channel count its OpusHead declares."""
    data = open(path, "rb").read()
    return data[data.find(b"OpusHead") + 9]


def ogg_duration_ms(path) -> int:
    """The recording's length as an Ogg reader computes it: the last page's granule position
    (48 kHz samples for Opus) less the pre-skip the OpusHead declares."""
    data = open(path, "rb").read()
    head = data.find(b"OpusHead")
    pre_skip = struct.unpack_from("<H", data, head + 10)[0]
    granule, at = 0, 0
    while (at := data.find(b"OggS", at)) >= 0:
        position = struct.unpack_from("<q", data, at + 6)[0]
        segments = data[at + 27:at + 27 + data[at + 26]]
        granule = position if position >= 0 else granule
        at += 27 + len(segments) + sum(segments)
    return round((granule - pre_skip) / 48)


def summary(spans, report, export_errors: list[str]) -> dict:
    def attrs(name: str) -> list[dict]:
        return [dict(s.attributes) for s in sorted(spans, key=lambda s: s.start_time)
                if s.name == name]

    measured = []
    for n, (user, agent, llm_node, tts_node) in enumerate(zip(
            attrs("user_turn"), attrs("agent_turn"), attrs("llm_node"), attrs("tts_node"))):
        measured.append({
            "turn": n + 1,
            "transcription_delay": user.get("lk.transcription_delay"),
            "end_of_turn_delay": user.get("lk.end_of_turn_delay"),
            "e2e_latency": agent.get("lk.e2e_latency"),
            "ttft": llm_node.get("lk.response.ttft"),
            "ttfb": tts_node.get("lk.response.ttfb"),
        })
    names: dict[str, int] = {}
    for s in spans:
        names[s.name] = names.get(s.name, 0) + 1
    root = next(s for s in spans if s.name == "agent_session")
    return {
        "job_id": report.job_id,
        "room": report.room,
        "room_id": report.room_id,
        "trace_id": format(root.context.trace_id, "032x"),
        "spans": len(spans),
        "span_names": dict(sorted(names.items())),
        "audio_ms": ogg_duration_ms(report.audio_recording_path),
        "audio_bytes": os.path.getsize(report.audio_recording_path),
        "audio_channels": ogg_channels(report.audio_recording_path),
        "audio_recording_started_at": report.audio_recording_started_at,
        "started_at": report.started_at,
        "ended_at": report.timestamp,
        # as the session report log lists them: zeros left out
        "usage": [{k: v for k, v in u.model_dump().items() if v != 0}
                  for u in report.model_usage or []],
        "chat_items": [
            {"type": item.type, "role": getattr(item, "role", None),
             "text": getattr(item, "text_content", None), "created_at": item.created_at}
            for item in report.chat_history.items
        ],
        "measured": measured,
        "export_errors": export_errors,
    }


def main() -> None:
    global _EPOCH
    base_url = sys.argv[1].rstrip("/")
    raw = sys.argv[2]
    script = json.loads(open(raw[1:]).read() if raw.startswith("@") else raw)
    for key in ("LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"):
        if not os.environ.get(key):
            raise SystemExit(f"{key} must be set: LiveKit signs its observability JWT with it")
    # where a self-hosted LiveKit deployment points the agent's observability uploads
    os.environ["LIVEKIT_OBSERVABILITY_URL"] = base_url

    turns = plan(script)
    # By default the session is placed so that it ends about now (its length is bounded by the
    # plan), so no timestamp lies in the future when the server receives it.
    _EPOCH = float(script.get("started_at", math.floor(_REAL_TIME() - turns[-1]["done"] - 5)))
    memory = InMemorySpanExporter()
    # The OTLP exporters report a refused export only in their log: keep those to fail on.
    export_errors = _ErrorLog()
    logging.getLogger("opentelemetry").addHandler(export_errors)

    loop = _VirtualLoop()
    try:
        with _virtual_clocks():
            ended = loop.run_until_complete(run_session(script, turns, memory))
    finally:
        loop.close()
    # The upload makes real HTTP requests, so it runs on an ordinary loop with the real clock
    # (on the virtual one, aiohttp's timeouts would fire the moment the loop waited).
    asyncio.run(upload(base_url, ended))
    # what JobContext._on_cleanup does last: flush and shut the providers down
    _shutdown_telemetry()

    print(json.dumps(summary(memory.get_finished_spans(), ended["report"], export_errors.lines)))
    if export_errors.lines:
        sys.exit(1)


class _ErrorLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


if __name__ == "__main__":
    main()
