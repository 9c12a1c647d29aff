"""The openai engine against imitations of llama-server, Ollama and a server without structured
output (tests/model/openai_stub_server.py, written from their documentation): a real HTTP server on
127.0.0.1 each, recording what termagent sent."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator

import pytest
from openai_stub_server import (
    LLAMA_SERVER_N_CTX,
    LLAMA_SERVER_SLOTS,
    MODEL,
    OLLAMA_DEFAULT_NUM_CTX,
    OLLAMA_MODEL,
    OLLAMA_TRAINED_CTX,
    StubServer,
    _chatml,
    _fake_token_ids,
)
from project_paths import EXAMPLES, TERMAGENT

from termagent.errors import ModelServerError
from termagent.model.conversation import Conversation
from termagent.model.engines import openai_server
from termagent.model.engines.auto import EngineOptions, create_engine
from termagent.model.engines.base import DecodingSettings
from termagent.model.engines.openai_server import OpenAIServerEngine
from termagent.model.engines.server_dialects import context_exceeded, token_count
from termagent.model.gbnf import schema_to_gbnf
from termagent.model.schema import action_schema
from termagent.model.step import next_action

REPLY = json.dumps({"analysis": "a", "plan": "p", "commands": [{"keystrokes": "ls\n", "duration": 0.1}]}, indent=2)


@pytest.fixture
def server(request) -> Iterator[StubServer]:
    with StubServer(request.param) as stub:
        stub.state.replies = [REPLY]
        yield stub


def _engine(server: StubServer, **kwargs) -> OpenAIServerEngine:
    return OpenAIServerEngine(MODEL, base_url=server.base_url, max_retries=0, **kwargs)


def _messages() -> list[dict[str, str]]:
    conversation = Conversation("make the tests pass", "root@box:/app# ")
    conversation.add_reply(REPLY)
    conversation.add_observation("ls\nMakefile\nroot@box:/app# ")
    return conversation.messages


@pytest.mark.parametrize("server", ["llama-server"], indirect=True)
def test_llama_server_is_recognised_with_its_context_slots_tokenizer_and_cache(server: StubServer) -> None:
    engine = _engine(server)
    assert engine.server.name == "llama-server"
    assert (engine.max_model_len, engine.parallel_requests, engine.concurrent) == (LLAMA_SERVER_N_CTX, 2, True)
    assert engine.dialect is not None and engine.dialect.name == "json_schema"
    messages = _messages()
    assert engine.count_tokens(messages) == len(_fake_token_ids(_chatml(messages)))
    completion = engine.complete(messages)
    assert completion.text == REPLY and not completion.tokens_estimated
    assert completion.cached_prompt_tokens == len(_fake_token_ids(_chatml(messages))) // 2
    body = server.state.chat_bodies()[-1]
    assert body["response_format"]["json_schema"]["schema"] == action_schema()
    assert f"{LLAMA_SERVER_SLOTS} request(s) at a time" in engine.describe()
    assert "n_ctx of llama-server's /props" in engine.describe()


@pytest.mark.parametrize("server", ["llama-server"], indirect=True)
def test_a_tokenize_answer_of_another_shape_falls_back_to_a_stated_estimate(server: StubServer) -> None:
    server.state.tokenize_answer = {"ids": [1, 2, 3]}
    engine = _engine(server)
    messages = _messages()
    assert engine.count_tokens(messages) > len("".join(m["content"] for m in messages)) // 4
    assert any("estimates" in warning and "neither `count` nor `tokens`" in warning for warning in engine.warnings)
    assert "estimated" in engine.token_counting()


@pytest.mark.parametrize("server", ["llama-server"], indirect=True)
def test_a_context_exceeded_answer_compacts_and_retries(server: StubServer) -> None:
    engine = _engine(server, settings=DecodingSettings(max_tokens=64))
    engine.max_model_len = None  # as a server that does not state its window: only the 400 tells
    conversation = Conversation("task", "$ ")
    for step in range(40):
        conversation.add_reply(REPLY)
        conversation.add_observation(f"output of step {step}: " + "x" * 80)
    outcome = next_action(engine, conversation)
    assert outcome.action.commands[0].keystrokes == "ls\n"
    assert outcome.compactions and outcome.compactions[0].dropped_steps > 0
    assert engine.max_model_len == LLAMA_SERVER_N_CTX  # learnt from the refusal, for every later step
    refused, sent = server.state.chat_bodies()[-2:]
    assert len(_fake_token_ids(_chatml(refused["messages"]))) >= LLAMA_SERVER_N_CTX
    assert len(_fake_token_ids(_chatml(sent["messages"]))) < LLAMA_SERVER_N_CTX


@pytest.mark.parametrize("server", ["ollama"], indirect=True)
def test_ollama_native_api_gets_the_schema_as_format_the_window_as_num_ctx_and_counts(server: StubServer) -> None:
    engine = _engine(server, settings=DecodingSettings(max_tokens=99, temperature=0.25))
    assert engine.server.name == "ollama" and not engine.concurrent
    assert engine.dialect is not None and engine.dialect.name == "ollama_format"
    assert engine.max_model_len == OLLAMA_DEFAULT_NUM_CTX
    assert "Ollama's native /api/chat format" in engine.describe()
    assert f"context: {OLLAMA_DEFAULT_NUM_CTX} (sent as options.num_ctx;" in engine.describe()
    messages = _messages()
    heard: list[str] = []
    completion = engine.complete(messages, on_token=heard.append)
    assert completion.text == REPLY == "".join(heard) and len(heard) > 1
    assert not completion.tokens_estimated  # prompt_eval_count and eval_count of the last object
    assert completion.prompt_tokens == len(_fake_token_ids(_chatml(messages)))
    assert completion.completion_tokens == len(_fake_token_ids(REPLY))
    assert completion.finish_reason == "stop"
    body = server.state.native_bodies()[-1]
    assert body["format"] == action_schema() and body["stream"] is True and body["messages"] == messages
    assert body["options"] == {"temperature": 0.25, "top_p": 1.0, "num_predict": 99, "num_ctx": OLLAMA_DEFAULT_NUM_CTX}
    assert not server.state.chat_bodies()  # nothing went to the OpenAI endpoint, not even the probe


@pytest.mark.parametrize("server", ["ollama"], indirect=True)
def test_ollama_num_ctx_follows_max_model_len_up_to_the_trained_length(server: StubServer) -> None:
    assert _engine(server, max_model_len=4096).max_model_len == 4096
    engine = _engine(server, max_model_len=10 * OLLAMA_TRAINED_CTX)
    assert engine.max_model_len == OLLAMA_TRAINED_CTX and "trained length" in engine.describe()
    engine.complete(_messages())
    assert server.state.native_bodies()[-1]["options"]["num_ctx"] == OLLAMA_TRAINED_CTX


@pytest.mark.parametrize("server", ["ollama"], indirect=True)
def test_ollama_never_gets_a_prompt_longer_than_the_num_ctx_it_was_sent(server: StubServer) -> None:
    engine = _engine(server, settings=DecodingSettings(max_tokens=64))
    conversation = Conversation("task", "$ ")
    for step in range(60):
        conversation.add_reply(REPLY)
        conversation.add_observation(f"output of step {step}: " + "x" * 200)
    outcome = next_action(engine, conversation)
    assert outcome.action.commands[0].keystrokes == "ls\n"
    assert outcome.compactions and outcome.compactions[0].dropped_steps > 0
    assert server.state.native_bodies() and server.state.truncated == 0  # Ollama would have cut it silently


@pytest.mark.parametrize("server", ["ollama"], indirect=True)
def test_an_ollama_without_schema_format_is_asked_through_its_openai_endpoint(server: StubServer) -> None:
    server.state.ollama_schema_format = False  # before Ollama 0.5, format took "json" only
    engine = _engine(server)
    assert engine.dialect is not None and engine.dialect.name == "json_schema"
    assert engine.max_model_len == 2048 and "assumed" in engine.describe()
    engine.complete(_messages())
    assert server.state.formats[-1] == action_schema()
    assert "chat_template_kwargs" not in server.state.chat_bodies()[-1]
    assert "estimated" in engine.token_counting()


@pytest.mark.parametrize("server", ["ollama"], indirect=True)
def test_an_error_in_an_ollama_stream_is_a_clear_error(server: StubServer) -> None:
    server.state.ollama_stream_error = "an error was encountered while running the model"
    engine = _engine(server)
    with pytest.raises(ModelServerError, match="broke off its reply: an error was encountered while running"):
        engine.complete(_messages())


@pytest.mark.parametrize("server", ["ollama"], indirect=True)
def test_ollama_is_told_the_model_it_does_not_have(server: StubServer) -> None:
    with pytest.raises(ModelServerError, match=f"does not serve other-model; it serves: {OLLAMA_MODEL}"):
        OpenAIServerEngine("other-model", base_url=server.base_url, max_retries=0)


@pytest.mark.parametrize("server", ["plain"], indirect=True)
def test_no_dialect_working_turns_constraints_off_loudly(server: StubServer) -> None:
    choice = create_engine(EngineOptions(kind="openai", model=MODEL, base_url=server.base_url))
    engine = choice.engine
    assert engine.dialect is None
    [warning] = choice.warnings
    assert warning.startswith("constrained decoding is OFF") and "WARNING: constrained decoding is OFF" in choice.reason
    probes = server.state.chat_bodies()
    fields = ("response_format", "structured_outputs", "json_schema", "grammar")
    assert {key for body in probes for key in fields if key in body} == set(fields)
    assert engine.complete(_messages()).text == REPLY
    assert not set(fields) & server.state.chat_bodies()[-1].keys()


@pytest.mark.parametrize("server", ["llama-server"], indirect=True)
def test_a_llama_server_that_takes_no_json_schema_gets_the_schema_as_a_gbnf_grammar(server: StubServer) -> None:
    pytest.importorskip("xgrammar")  # the imitation parses the grammar and checks its replies with it
    server.state.rejected_fields = {"response_format", "json_schema"}
    engine = _engine(server)
    assert engine.dialect is not None and engine.dialect.name == "gbnf_grammar"
    assert "structured output: llama.cpp's GBNF grammar field" in engine.describe()
    assert engine.complete(_messages()).text == REPLY
    body = server.state.chat_bodies()[-1]
    assert body["grammar"] == schema_to_gbnf(action_schema()) and "response_format" not in body
    assert len(server.state.grammars) == 2  # the probe's first token and the whole reply matched it


@pytest.mark.parametrize("server", ["vllm"], indirect=True)
def test_chat_template_kwargs_is_dropped_for_a_server_that_rejects_it(server: StubServer) -> None:
    server.state.rejected_fields = {"chat_template_kwargs"}
    engine = _engine(server)
    assert engine.complete(_messages()).text == REPLY
    first, second = server.state.chat_bodies()
    assert "chat_template_kwargs" in first and "chat_template_kwargs" not in second
    engine.complete(_messages())
    assert "chat_template_kwargs" not in server.state.chat_bodies()[-1]


@pytest.mark.parametrize("server", ["vllm"], indirect=True)
def test_a_first_refused_dialect_moves_on_to_the_next(server: StubServer) -> None:
    server.state.statuses = [400]
    engine = _engine(server)
    assert engine.complete(_messages()).text == REPLY
    assert engine.dialect is not None and engine.dialect.name == "structured_outputs"
    assert server.state.chat_bodies()[-1]["structured_outputs"] == {"json": action_schema()}


@pytest.mark.parametrize("server", ["vllm"], indirect=True)
def test_a_stream_without_usage_is_counted_another_way_and_marked(server: StubServer) -> None:
    server.state.stream_usage = False
    engine = _engine(server)
    messages = _messages()
    completion = engine.complete(messages)
    assert completion.tokens_estimated
    assert completion.prompt_tokens == engine.count_tokens(messages) > 0
    assert completion.completion_tokens > 0


@pytest.mark.parametrize("server", ["vllm", "ollama"], indirect=True)
def test_an_abandoned_request_closes_its_stream(server: StubServer) -> None:
    server.state.chunk_delay = 0.05
    engine = _engine(server)

    class Abandon(Exception):
        pass

    def give_up(text: str) -> None:
        raise Abandon

    with pytest.raises(Abandon):
        engine.complete(_messages(), on_token=give_up)
    done = threading.Event()
    for _ in range(2400):  # the server notices at its next write (generous: the machine may be busy)
        if server.state.disconnects:
            break
        done.wait(0.05)
    assert server.state.disconnects == 1


@pytest.mark.parametrize("server", ["vllm"], indirect=True)
def test_auto_waits_for_a_busy_server_and_says_so(server: StubServer, monkeypatch) -> None:
    monkeypatch.setattr(openai_server, "PROBE_TIMEOUT_SECONDS", 0.1)
    monkeypatch.setattr(openai_server, "BUSY_PROGRESS_SECONDS", 0.1)
    server.state.models_delay = 1.0
    heard: list[str] = []
    choice = create_engine(EngineOptions(kind="auto", model=MODEL, base_url=server.base_url), on_wait=heard.append)
    assert choice.engine.name == "openai"
    assert heard and "accepted the connection but has not answered" in heard[0] and "busy" in heard[0]


def test_tokenizer_answer_shapes() -> None:
    assert token_count({"count": 7}) == 7
    assert token_count({"tokens": [1, 2, 3]}) == 3
    assert token_count({"tokens": [{"id": 1, "piece": "a"}]}) == 1
    for odd in ({}, {"count": "7"}, [], None, {"tokens": 3}):
        with pytest.raises(ValueError):
            token_count(odd)


def test_context_exceeded_wordings_of_each_server() -> None:
    vllm = {"message": "This model's maximum context length is 2048 tokens. However, you requested 2100 tokens"}
    llama = {
        "type": "exceed_context_size_error",
        "n_ctx": 1024,
        "message": "the request exceeds the available context size, try increasing it",
    }
    assert context_exceeded(400, vllm) == (True, 2048)
    assert context_exceeded(400, llama) == (True, 1024)
    assert context_exceeded(400, {"message": "unsupported response_format"}) == (False, None)
    assert context_exceeded(503, vllm) == (False, None)


@pytest.mark.parametrize("server", ["llama-server", "ollama", "plain"], indirect=True)
def test_doctor_makes_a_real_constrained_request_and_says_what_it_found(server: StubServer) -> None:
    completed = subprocess.run(
        [TERMAGENT, "doctor", "--engine", "openai", "--base-url", server.base_url, "--model", MODEL],
        capture_output=True,
        text=True,
        timeout=120,
    )
    [line] = [line for line in completed.stdout.splitlines() if "model engine" in line]
    assert "Traceback" not in completed.stderr
    if server.state.flavor == "llama-server":
        assert line.startswith("  ok    model engine: llama.cpp llama-server at ")
        assert "structured output: response_format json_schema" in line
        assert f"context: {LLAMA_SERVER_N_CTX} (n_ctx of llama-server's /props)" in line
        assert "a one-token constrained request answered" in line and "counts" in line
        probe = next(body for body in server.state.chat_bodies() if body.get("max_tokens") == 1)
        assert probe["response_format"]["json_schema"]["schema"] == action_schema()
    elif server.state.flavor == "ollama":
        assert line.startswith("  ok    model engine: Ollama at ")
        assert "structured output: Ollama's native /api/chat format" in line
        assert f"context: {OLLAMA_DEFAULT_NUM_CTX} (sent as options.num_ctx;" in line
        probe = server.state.native_bodies()[0]
        assert probe["format"] == action_schema() and probe["options"]["num_predict"] == 1
    else:
        assert line.startswith("  FAIL  model engine: constrained decoding is OFF")


def test_servers_are_told_apart_by_their_model_cards() -> None:
    from termagent.model.engines.server_dialects import recognise

    cards = {
        "vllm": {"id": "m", "owned_by": "vllm", "max_model_len": 8192},
        "sglang": {"id": "m", "owned_by": "sglang", "max_model_len": 8192},
        "llama-server": {"id": "m", "owned_by": "llamacpp", "meta": {"n_ctx_train": 8192}},
        "llama-cpp-python": {"id": "m", "owned_by": "me", "permissions": []},
        "ollama": {"id": "m", "owned_by": "library"},
        "lmstudio": {"id": "m", "owned_by": "organization_owner"},
        "unknown": {"id": "m", "owned_by": "someone"},
    }
    assert {name: recognise([card]).name for name, card in cards.items()} == {name: name for name in cards}
    assert recognise([]).name == "unknown"


@pytest.mark.parametrize("server", ["llama-cpp-python"], indirect=True)
def test_llama_cpp_python_gets_json_object_with_schema_and_one_request_at_a_time(server: StubServer) -> None:
    engine = _engine(server)
    assert engine.server.name == "llama-cpp-python"
    assert engine.dialect is not None and engine.dialect.name == "json_object_schema"
    assert (engine.max_model_len, engine.parallel_requests, engine.concurrent) == (2048, 1, False)
    messages = _messages()
    completion = engine.complete(messages, on_token=lambda text: None)
    assert completion.text == REPLY and completion.tokens_estimated
    text_tokens = len(_fake_token_ids("\n".join(m["content"] for m in messages)))
    assert completion.prompt_tokens == engine.count_tokens(messages) == text_tokens + 8 * len(messages)
    assert server.state.chat_bodies()[-1]["response_format"] == {"type": "json_object", "schema": action_schema()}


@pytest.mark.parametrize("server", ["llama-cpp-python"], indirect=True)
def test_a_refusal_that_only_cuts_the_stream_is_heard_and_compacts(server: StubServer) -> None:
    engine = _engine(server, settings=DecodingSettings(max_tokens=64))
    engine.max_model_len = None  # only the refusal tells
    conversation = Conversation("task", "$ ")
    for step in range(40):
        conversation.add_reply(REPLY)
        conversation.add_observation(f"output of step {step}: " + "x" * 200)
    outcome = next_action(engine, conversation, on_token=lambda text: None)
    assert outcome.compactions and engine.max_model_len == 2048
    streamed_then_plain = [body.get("stream", False) for body in server.state.chat_bodies()[-3:]]
    assert streamed_then_plain == [True, False, True]


@pytest.mark.parametrize("server", ["ollama"], indirect=True)
def test_eval_replay_speaks_ollamas_native_api_and_says_so(server: StubServer, tmp_path) -> None:
    completed = subprocess.run(
        [
            TERMAGENT,
            "eval",
            "replay",
            str(EXAMPLES / "replay" / "tb2_mini.jsonl"),
            "--engine",
            "openai",
            "--base-url",
            server.base_url,
            "--model",
            MODEL,
            "--limit",
            "2",
            "--output-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "Traceback" not in completed.stderr, completed.stderr
    said = " ".join(completed.stderr.split())  # the console wraps long lines
    assert "Ollama at " in said and "structured output: Ollama's native /api/chat format" in said
    steps = [json.loads(line) for line in (tmp_path / "steps.jsonl").read_text().splitlines()]
    assert len(steps) == 2 and all(step["schema_valid"] for step in steps), completed.stderr
    replies = [body for body in server.state.native_bodies() if body["stream"]]
    assert len(replies) == 2 and all(body["format"] == action_schema() for body in replies)
    assert not server.state.chat_bodies()
