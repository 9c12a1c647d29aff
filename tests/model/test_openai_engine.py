"""The openai engine against a real HTTP server on 127.0.0.1 that records what it was sent."""

from __future__ import annotations

import json

import pytest
from openai_stub_server import MAX_MODEL_LEN, MODEL, StubServer

from termagent.errors import TermagentError
from termagent.model.conversation import Conversation
from termagent.model.engines.base import DecodingSettings
from termagent.model.engines.openai_server import OpenAIServerEngine
from termagent.model.schema import action_schema

REPLY = json.dumps({"analysis": "a", "plan": "p", "commands": [{"keystrokes": "ls\n", "duration": 0.1}]}, indent=2)


def _messages() -> list[dict[str, str]]:
    conversation = Conversation("make the tests pass", "root@box:/app# ")
    conversation.add_reply(REPLY)
    conversation.add_observation("ls\nMakefile\nroot@box:/app# ")
    return conversation.messages


def _engine(server: StubServer, **kwargs) -> OpenAIServerEngine:
    return OpenAIServerEngine(MODEL, base_url=server.base_url, max_retries=1, **kwargs)


def test_sends_schema_thinking_off_decoding_settings_and_messages(stub_server: StubServer) -> None:
    stub_server.state.replies = [REPLY]
    engine = _engine(stub_server)
    completion = engine.complete(_messages())
    assert completion.text == REPLY
    assert (completion.prompt_tokens, completion.finish_reason) == (11, "stop")
    [body] = stub_server.state.chat_bodies()  # vLLM's dialect is certain: no probe
    assert body["messages"] == _messages()
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "termagent_action", "schema": action_schema(), "strict": True},
    }
    assert "guided_json" not in body
    assert body["chat_template_kwargs"] == {"enable_thinking": False}
    assert (body["temperature"], body["top_p"], body["max_tokens"]) == (0.0, 1.0, 1024)
    assert body["model"] == MODEL


def test_streams_tokens_to_the_caller(stub_server: StubServer) -> None:
    stub_server.state.replies = [REPLY]
    pieces: list[str] = []
    completion = _engine(stub_server).complete(_messages(), on_token=pieces.append)
    assert len(pieces) > 3
    assert "".join(pieces) == completion.text == REPLY
    assert completion.completion_tokens == len(REPLY) // 4
    assert stub_server.state.chat_bodies()[0]["stream"] is True


def test_settings_change_what_is_sent_and_unconstrained_sends_no_schema(stub_server: StubServer) -> None:
    stub_server.state.replies = [REPLY]
    settings = DecodingSettings(temperature=0.7, top_p=0.9, max_tokens=256, constrained=False)
    _engine(stub_server, settings=settings).complete(_messages())
    [body] = stub_server.state.chat_bodies()
    assert (body["temperature"], body["top_p"], body["max_tokens"]) == (0.7, 0.9, 256)
    assert "response_format" not in body


def test_context_length_and_token_count_come_from_the_server(stub_server: StubServer) -> None:
    engine = _engine(stub_server)
    assert engine.max_model_len == MAX_MODEL_LEN
    messages = _messages()
    expected = len("".join(m["content"] for m in messages)) // 4 + 3 * len(messages)
    assert engine.count_tokens(messages) == expected
    path, body = stub_server.state.requests[-1]
    assert path == "/tokenize"
    assert body["chat_template_kwargs"] == {"enable_thinking": False}
    assert body["add_generation_prompt"] is True


def test_a_smaller_max_model_len_option_wins_a_larger_one_does_not(stub_server: StubServer) -> None:
    assert _engine(stub_server, max_model_len=2048).max_model_len == 2048
    assert _engine(stub_server, max_model_len=10**6).max_model_len == MAX_MODEL_LEN


def test_without_tokenize_the_count_is_an_overestimate_anchored_on_the_servers_usage(stub_server: StubServer) -> None:
    stub_server.state.tokenize = False
    stub_server.state.replies = [REPLY]
    engine = _engine(stub_server)
    messages = _messages()
    assert engine.count_tokens(messages) > len("".join(m["content"] for m in messages)) // 4
    engine.complete(messages)  # the stub reports 11 prompt tokens
    later = messages + [{"role": "assistant", "content": REPLY}, {"role": "user", "content": "x" * 30}]
    new_text = f"\x00assistant:{REPLY}\x00user:{'x' * 30}"
    assert engine.count_tokens(later) == 11 + len(new_text) // 3 + 2 * 8


def test_retries_a_5xx_then_succeeds(stub_server: StubServer) -> None:
    stub_server.state.replies = [REPLY]
    stub_server.state.statuses = [503]
    assert _engine(stub_server).complete(_messages()).text == REPLY
    assert len(stub_server.state.chat_bodies()) == 2


def test_a_persistent_error_is_reported_with_the_status(stub_server: StubServer) -> None:
    stub_server.state.statuses = [400]
    with pytest.raises(TermagentError, match="answered 400: injected 400"):
        _engine(stub_server, settings=DecodingSettings(constrained=False)).complete(_messages())


def test_every_dialect_refused_after_none_worked_is_an_error_with_the_way_out(stub_server: StubServer) -> None:
    stub_server.state.statuses = [400, 400]
    with pytest.raises(TermagentError, match="refused every structured-output dialect") as caught:
        _engine(stub_server).complete(_messages())
    assert "--no-constrained" in caught.value.hint


def test_a_server_too_slow_for_the_timeout_is_reported(stub_server: StubServer) -> None:
    stub_server.state.replies = [REPLY]
    stub_server.state.delay = 1.0
    engine = OpenAIServerEngine(MODEL, base_url=stub_server.base_url, timeout=0.2, max_retries=0)
    with pytest.raises(TermagentError, match="did not answer within 0.2 s"):
        engine.complete(_messages())


def test_no_server_gives_an_actionable_error(closed_port_url: str) -> None:
    with pytest.raises(TermagentError) as caught:
        OpenAIServerEngine(MODEL, base_url=closed_port_url, max_retries=0)
    assert str(caught.value).startswith(f"no model server at {closed_port_url}: start one with `vllm serve {MODEL}`")


def test_a_model_the_server_does_not_serve_is_named(stub_server: StubServer) -> None:
    with pytest.raises(TermagentError, match=f"does not serve other/model; it serves: {MODEL}"):
        OpenAIServerEngine("other/model", base_url=stub_server.base_url)
