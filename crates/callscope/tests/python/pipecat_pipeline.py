"""Runs a real Pipecat pipeline, with tracing on, whose conversation ends up in Callscope.

Run by tests/otlp_pipecat.rs: ``python pipecat_pipeline.py BASE KEY SCRIPT_JSON``. The script
(the conversation id, the VAD's stop time, the silence the STT pads a segment with, the turns: what the caller says and for how
long, what the agent answers, each service's scripted time to first byte, the LLM's token
counts) comes from the Rust test, which knows the expected answers.

Everything between the audio and the services is Pipecat 1.14 as a bot runs it: a
``PipelineWorker`` with ``enable_tracing=True`` (its ``TurnTraceObserver`` makes the
``conversation`` and ``turn`` spans), ``VADProcessor``, the universal context aggregators
with their turn strategies, the base input and output transports, the service base classes
and their tracing decorators, and ``setup_tracing`` with the OTLP/HTTP exporter. What stands
in for the outside world:

- the caller: audio pushed into a ``BaseInputTransport`` in real time, a tone while speaking
  and silence after, and a VAD analyzer that hears speech wherever the audio is not silent
  (Silero needs its model);
- the speaker: a ``BaseOutputTransport`` that plays audio into nothing, at its real pace;
- STT: a ``SegmentedSTTService`` that answers each segment with the scripted transcript
  after the scripted delay (``@traced_stt``);
- LLM: Pipecat's ``OpenAILLMService`` itself, with the OpenAI SDK's HTTP client answering
  from the script (an ``httpx.MockTransport`` streaming chat-completion chunks and usage
  after the scripted delay), so ``@traced_llm`` and the token accounting are the real ones;
- TTS: a ``TTSService`` that returns audio for each sentence, the first after the scripted
  delay (``@traced_tts``).

Pipecat names a span's ``gen_ai.provider.name`` after the service's class, so the stand-ins
carry the names of the services they imitate (``DeepgramSTTService`` reads as ``deepgram``,
``CartesiaTTSService`` as ``cartesia``): those are what the test's price table prices.

Every span also goes to an in-memory exporter; what it holds is printed as JSON on the last
line of stdout, so the test knows how many spans Pipecat made.
"""

import asyncio
import json
import math
import struct
import sys
import time

import httpx
from openai import AsyncOpenAI
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from pipecat.audio.vad.vad_analyzer import VADAnalyzer, VADParams
from pipecat.frames.frames import (
    BotStoppedSpeakingFrame,
    EndFrame,
    InputAudioRawFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.processors.audio.vad_processor import VADProcessor
from pipecat.services.openai import llm as openai_llm
from pipecat.services.settings import STTSettings, TTSSettings
from pipecat.services.stt_service import SegmentedSTTService
from pipecat.services.tts_service import TTSService
from pipecat.transports.base_input import BaseInputTransport
from pipecat.transports.base_output import BaseOutputTransport
from pipecat.transports.base_transport import TransportParams
from pipecat.turns.user_stop import SpeechTimeoutUserTurnStopStrategy
from pipecat.turns.user_turn_strategies import UserTurnStrategies
from pipecat.utils.time import time_now_iso8601
from pipecat.utils.tracing.service_decorators import traced_stt, traced_tts
from pipecat.utils.tracing.setup import setup_tracing
from pipecat.workers.runner import WorkerRunner

IN_RATE = 16_000
OUT_RATE = 24_000
CHUNK_SECS = 0.02
# Seconds of synthesized speech per character of the reply.
SPEECH_SECS_PER_CHAR = 0.01
# The user's turn ends this long after the VAD stops, or at the transcript if that is later;
# shorter than every scripted STT delay, so the transcript is what ends each turn.
USER_SPEECH_TIMEOUT = 0.05


def tone(seconds, rate):
    """16-bit mono PCM of a 220 Hz tone: what the VAD takes for speech."""
    count = int(rate * seconds)
    return struct.pack(f"<{count}h", *(int(8_000 * math.sin(2 * math.pi * 220 * n / rate)) for n in range(count)))


class ToneVADAnalyzer(VADAnalyzer):
    """Hears speech wherever the audio is not silent, in 20 ms windows."""

    def num_frames_required(self):
        return int(self.sample_rate * CHUNK_SECS)

    def voice_confidence(self, buffer):
        return 1.0 if any(buffer) else 0.0


class CallerInput(BaseInputTransport):
    """The caller's side of a transport: audio arrives through ``push_audio_frame``."""

    async def start(self, frame):
        await super().start(frame)
        await self.set_transport_ready(frame)

    async def say(self, speech_secs, silence_secs):
        """Streams speech then silence in 20 ms chunks, at the pace a microphone would."""
        audio = tone(speech_secs, IN_RATE) + bytes(2 * int(IN_RATE * silence_secs))
        size = 2 * int(IN_RATE * CHUNK_SECS)
        began = time.monotonic()
        for n, at in enumerate(range(0, len(audio), size)):
            await self.push_audio_frame(InputAudioRawFrame(audio[at : at + size], IN_RATE, 1))
            await asyncio.sleep(max(0.0, began + (n + 1) * CHUNK_SECS - time.monotonic()))


class SpeakerOutput(BaseOutputTransport):
    """The bot's side of a transport: audio is played into nothing, as fast as it plays."""

    async def start(self, frame):
        await super().start(frame)
        await self.set_transport_ready(frame)

    async def write_audio_frame(self, frame):
        await asyncio.sleep(len(frame.audio) / (2 * frame.num_channels * frame.sample_rate))
        return True


class DeepgramSTTService(SegmentedSTTService):
    """Transcribes the nth speech segment as the nth turn's words, after its delay."""

    def __init__(self, turns, *, vad_stop_secs, trailing_silence_secs):
        super().__init__(
            ttfs_p99_latency=vad_stop_secs + max(t["stt_delay"] for t in turns),
            trailing_silence_secs=trailing_silence_secs,
            settings=STTSettings(model="nova-3", language="en"),
        )
        self._turns = iter(turns)

    def can_generate_metrics(self):
        return True

    @traced_stt
    async def run_stt(self, audio):
        turn = next(self._turns)
        await asyncio.sleep(turn["stt_delay"])
        yield TranscriptionFrame(turn["user"], "caller", time_now_iso8601())


class CartesiaTTSService(TTSService):
    """Speaks each sentence as silence of its length; a reply's first audio waits its delay."""

    def __init__(self, turns, **kwargs):
        super().__init__(
            push_start_frame=True,
            push_stop_frames=True,
            sample_rate=OUT_RATE,
            settings=TTSSettings(model="sonic-2", voice="scripted", language="en"),
            **kwargs,
        )
        self._turns = turns

    def can_generate_metrics(self):
        return True

    @traced_tts
    async def run_tts(self, text, context_id):
        said = text.strip()
        reply = next(t for t in self._turns if said in t["agent"])
        if reply["agent"].startswith(said):
            await asyncio.sleep(reply["tts_ttfb"])
        # Stopped as the audio arrives, as Pipecat's HTTP services (OpenAITTSService) do. Left
        # to the base class it stops at playback, after traced_tts has closed the span (an
        # HTTP service's span ends once the reply is synthesized), which then has no ttfb.
        await self.stop_ttfb_metrics()
        audio = bytes(2 * int(OUT_RATE * SPEECH_SECS_PER_CHAR * len(text)))
        yield TTSAudioRawFrame(audio, OUT_RATE, 1, context_id=context_id)


class OpenAILLMService(openai_llm.OpenAILLMService):
    """Pipecat's OpenAI service; only the SDK's HTTP client is the script's.

    It keeps the class name: Pipecat names the span's provider after it.
    """

    def __init__(self, turns, **kwargs):
        self._script_turns = turns
        super().__init__(
            api_key="sk-scripted",
            settings=openai_llm.OpenAILLMService.Settings(
                model="gpt-4o-mini",
                system_instruction="You help callers change their delivery.",
            ),
            **kwargs,
        )

    def create_client(self, api_key=None, base_url=None, **kwargs):
        return scripted_openai(self._script_turns)


def scripted_openai(turns):
    """An OpenAI SDK client whose HTTP requests the script answers."""

    async def complete(request):
        """Streams the reply of the turn whose words the user said last, after its delay."""
        messages = json.loads(request.content)["messages"]
        said = next(m["content"] for m in reversed(messages) if m["role"] == "user")
        if isinstance(said, list):
            said = " ".join(part.get("text", "") for part in said)
        turn = next(t for t in turns if t["user"] in said)
        await asyncio.sleep(turn["llm_ttfb"])
        words = turn["agent"].split(" ")
        deltas = [words[0]] + [" " + w for w in words[1:]]
        chunk = {"id": "chatcmpl-scripted", "object": "chat.completion.chunk", "created": 0, "model": "gpt-4o-mini"}
        events = [
            {**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": d}, "finish_reason": None}]}
            for d in deltas
        ]
        events.append({**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        prompt, completion = turn["tokens"]
        events.append({
            **chunk,
            "choices": [],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
        })
        body = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body.encode())

    return AsyncOpenAI(api_key="sk-scripted", http_client=httpx.AsyncClient(transport=httpx.MockTransport(complete)))


async def warm_up_openai_sdk(turns):
    """Sends one completion before the call.

    The SDK builds its request and response machinery on first use (over half a second
    here), which a running bot has done long before a call; without this the first turn's
    time to first byte would measure that.
    """
    turn = {**turns[0], "llm_ttfb": 0}
    stream = await scripted_openai([turn]).chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": turn["user"]}],
        stream=True,
        stream_options={"include_usage": True},
    )
    async for _ in stream:
        pass


def span_summary(span):
    return {
        "name": span.name,
        "span_id": format(span.context.span_id, "016x"),
        "parent_id": format(span.parent.span_id, "016x") if span.parent else None,
        "start": span.start_time,
        "end": span.end_time,
        "attributes": {k: (v if isinstance(v, (str, int, float, bool)) else list(v)) for k, v in span.attributes.items()},
    }


async def converse(script, exporter_endpoint, key):
    turns = script["turns"]
    stop_secs = script["vad_stop_secs"]
    await warm_up_openai_sdk(turns)

    caller = CallerInput(TransportParams(audio_in_enabled=True))
    speaker = SpeakerOutput(TransportParams(audio_out_enabled=True, audio_out_end_silence_secs=0))
    vad = VADProcessor(vad_analyzer=ToneVADAnalyzer(params=VADParams(stop_secs=stop_secs, min_volume=0.0)))
    stt = DeepgramSTTService(
        turns, vad_stop_secs=stop_secs, trailing_silence_secs=script["stt_trailing_silence_secs"]
    )
    llm = OpenAILLMService(turns)
    tts = CartesiaTTSService(turns)
    user, assistant = LLMContextAggregatorPair(
        LLMContext(),
        user_params=LLMUserAggregatorParams(
            user_turn_strategies=UserTurnStrategies(
                stop=[SpeechTimeoutUserTurnStopStrategy(user_speech_timeout=USER_SPEECH_TIMEOUT)]
            ),
        ),
    )
    worker = PipelineWorker(
        Pipeline([caller, vad, stt, user, llm, tts, speaker, assistant]),
        params=PipelineParams(enable_metrics=True, enable_usage_metrics=True),
        enable_tracing=True,
        conversation_id=script["conversation_id"],
        enable_rtvi=False,
        idle_timeout_secs=None,
    )

    started = asyncio.Event()
    bot_done = asyncio.Event()
    turns_ended = asyncio.Queue()

    @worker.event_handler("on_pipeline_started")
    async def on_started(_worker, _frame):
        started.set()

    worker.set_reached_downstream_filter((BotStoppedSpeakingFrame,))

    @worker.event_handler("on_frame_reached_downstream")
    async def on_reached(_worker, _frame):
        bot_done.set()

    @worker.turn_tracking_observer.event_handler("on_turn_ended")
    async def on_turn_ended(_tracker, number, _duration, interrupted):
        await turns_ended.put((number, interrupted))

    async def call():
        await started.wait()
        for turn in turns:
            bot_done.clear()
            await caller.say(turn["speech_secs"], stop_secs)
            await bot_done.wait()
        # The last turn ends once the bot has been quiet for the tracker's timeout; hanging
        # up before that would end it as interrupted.
        ended = [await turns_ended.get() for _ in turns]
        assert ended == [(n + 1, False) for n in range(len(turns))], ended
        await worker.queue_frame(EndFrame())

    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    await asyncio.wait_for(asyncio.gather(runner.run(), call()), timeout=60)


def main():
    base, key, script = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    exporter = OTLPSpanExporter(endpoint=f"{base}/v1/traces", headers={"Authorization": f"Bearer {key}"})
    assert setup_tracing(service_name=script["service_name"], exporter=exporter), "tracing is not set up"
    provider = trace.get_tracer_provider()
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))

    asyncio.run(converse(script, f"{base}/v1/traces", key))

    assert provider.force_flush(10_000), "the exporter did not flush"
    spans = memory.get_finished_spans()
    provider.shutdown()
    print(json.dumps({
        "span_count": len(spans),
        "trace_ids": sorted({format(s.context.trace_id, "032x") for s in spans}),
        "spans": [span_summary(s) for s in spans],
    }))


if __name__ == "__main__":
    main()
