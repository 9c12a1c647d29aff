"""termagent against a REAL llama-cpp-python server started here on 127.0.0.1, serving the real small
model (SmolLM2-135M-Instruct, GGUF): the server that answered termagent's json_schema with HTTP 500,
streams no usage and runs one request at a time."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request

import pytest
from llama_cpp_server import ALIAS, N_CTX, LlamaCppServer, llama_cpp_missing
from project_paths import EXAMPLES, TERMAGENT
from smollm2 import smollm2_gguf

from termagent.model.conversation import Conversation
from termagent.model.engines.auto import EngineOptions, create_engine
from termagent.model.engines.base import DecodingSettings
from termagent.model.engines.openai_server import OpenAIServerEngine
from termagent.model.engines.server_dialects import dialects
from termagent.model.gbnf import schema_to_gbnf
from termagent.model.schema import action_schema, validate_action
from termagent.model.step import next_action

pytestmark = [pytest.mark.slow, pytest.mark.skipif(llama_cpp_missing() is not None, reason=str(llama_cpp_missing()))]
MAX_TOKENS = 384  # a server grammar has no closing reserve: room to finish the JSON
TASKS = [
    "Create /app/hello.txt containing hello",
    "Show the disk usage of /var",
    "Find every Python file under /app and count its lines",
    "Print the current date",
    "List running processes",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with LlamaCppServer(smollm2_gguf(), tmp_path_factory.mktemp("llama") / "server.log") as running:
        yield running


def _engine(server: LlamaCppServer, **settings) -> OpenAIServerEngine:
    return OpenAIServerEngine(
        ALIAS, base_url=server.base_url, settings=DecodingSettings(**({"max_tokens": MAX_TOKENS} | settings))
    )


def test_it_refuses_the_json_schema_dialect_termagent_used_to_send(server) -> None:
    body = {
        "model": ALIAS,
        "max_tokens": 1,
        "messages": [{"role": "user", "content": "hi"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": action_schema()}},
    }
    request = urllib.request.Request(
        server.base_url + "/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=120)
    assert refused.value.code >= 400


def test_it_is_recognised_with_its_dialect_context_and_single_request(server) -> None:
    engine = _engine(server)
    assert engine.server.name == "llama-cpp-python"
    assert engine.dialect is not None and engine.dialect.name == "json_object_schema"
    assert (engine.max_model_len, engine.parallel_requests, engine.concurrent) == (N_CTX, 1, False)
    assert "response_format json_object with a schema" in engine.describe()
    assert "llama-cpp-python's default --n_ctx" in engine.describe()


def test_constrained_streamed_replies_are_all_valid_and_token_counts_are_marked_estimates(server) -> None:
    engine = _engine(server)
    for task in TASKS:
        pieces: list[str] = []
        messages = Conversation(task, "root@sandbox:/app# ").messages
        completion = engine.complete(messages, on_token=pieces.append)
        assert validate_action(json.loads(completion.text)) == [], completion.text
        assert len(pieces) > 1 and "".join(pieces) == completion.text
        assert completion.tokens_estimated  # llama-cpp-python streams no usage
        assert completion.prompt_tokens == engine.count_tokens(messages) > 0
        assert completion.completion_tokens > 0


def test_the_action_schema_as_gbnf_constrains_the_real_model(server) -> None:
    """The `grammar` dialect (for llama.cpp servers that take no JSON schema): llama.cpp's own
    parser and sampler take termagent's GBNF, and every reply is a valid action."""
    engine = _engine(server)
    engine.dialect = dialects()["gbnf_grammar"]
    assert engine.request_arguments()["extra_body"]["grammar"] == schema_to_gbnf(action_schema())
    for task in TASKS[:3]:
        completion = engine.complete(Conversation(task, "root@sandbox:/app# ").messages)
        assert validate_action(json.loads(completion.text)) == [], completion.text


def test_a_prompt_longer_than_its_context_is_compacted_and_retried(server) -> None:
    engine = _engine(server, max_tokens=64)
    engine.max_model_len = None  # as if the window were unknown: only the server's 400 tells
    conversation = Conversation("Count the lines of every log file", "root@sandbox:/app# ")
    reply = json.dumps({"analysis": "a", "plan": "p", "commands": [{"keystrokes": "ls\n", "duration": 0.1}]})
    for step in range(60):
        conversation.add_reply(reply)
        conversation.add_observation(f"step {step}: " + "log line with some words in it\n" * 6)
    outcome = next_action(engine, conversation)
    assert outcome.compactions and outcome.compactions[0].dropped_steps > 0
    assert engine.max_model_len == N_CTX  # stated in the server's refusal


def test_auto_finds_the_server(server) -> None:
    choice = create_engine(
        EngineOptions(
            kind="auto", model=ALIAS, base_url=server.base_url, settings=DecodingSettings(max_tokens=MAX_TOKENS)
        )
    )
    assert choice.engine.name == "openai" and choice.engine.server.name == "llama-cpp-python"
    assert choice.reason.startswith(f"engine: openai (a server listens at {server.base_url})")
    assert not choice.warnings


def test_doctor_checks_the_real_server(server) -> None:
    completed = subprocess.run(
        [TERMAGENT, "doctor", "--engine", "openai", "--base-url", server.base_url, "--model", ALIAS],
        capture_output=True,
        text=True,
        timeout=300,
    )
    [line] = [line for line in completed.stdout.splitlines() if "model engine" in line]
    assert line.startswith("  ok    model engine: llama-cpp-python at "), completed.stdout
    assert "response_format json_object with a schema" in line and f"context: {N_CTX}" in line
    assert "a one-token constrained request answered" in line


def test_eval_replay_on_the_example_data(server, tmp_path) -> None:
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
            ALIAS,
            "--max-tokens",
            str(MAX_TOKENS),
            "--limit",
            "4",
            "--output-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert "Traceback" not in completed.stderr, completed.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    steps = [json.loads(line) for line in (tmp_path / "steps.jsonl").read_text().splitlines()]
    assert len(steps) == 4, completed.stderr
    assert "llama-cpp-python" in completed.stderr and summary["engine"] == "openai"
    assert all(step["schema_valid"] for step in steps), [step.get("reply") for step in steps]
