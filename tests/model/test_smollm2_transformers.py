"""A real model in the transformers engine: SmolLM2-135M-Instruct read from its GGUF file (transformers'
gguf_file= and the gguf package), with its own chat template, xgrammar over its real tokenizer, and a
headless run of a real task in the real sandbox."""

from __future__ import annotations

import io
import json

import pytest
from smollm2 import smollm2_gguf

from termagent.errors import TermagentError
from termagent.model.conversation import Conversation
from termagent.model.engines.base import DecodingSettings
from termagent.model.schema import validate_action

# Loading the GGUF (tokenizer conversion, dequantization) and CPU decoding take minutes on a busy
# machine; the grammar processor closes the JSON within the budget, so a short one still ends valid.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]
MAX_TOKENS = 48


@pytest.fixture(scope="module")
def engine():
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from termagent.model.engines.transformers_local import TransformersEngine

    torch.manual_seed(0)
    gguf = smollm2_gguf()
    engine = TransformersEngine(str(gguf), settings=DecodingSettings(max_tokens=MAX_TOKENS))
    yield engine
    engine.close()


def _conversation(task: str) -> Conversation:
    return Conversation(task, "root@sandbox:/app# ")


def test_a_gguf_file_or_a_folder_holding_one_is_read_with_gguf_file(tmp_path) -> None:
    from termagent.model.engines.transformers_local import weights_source

    gguf = smollm2_gguf()
    assert weights_source(str(gguf)) == (str(gguf.parent), {"gguf_file": gguf.name})
    folder = tmp_path / "one"
    folder.mkdir()
    (folder / "model.gguf").symlink_to(gguf)
    assert weights_source(str(folder)) == (str(folder), {"gguf_file": "model.gguf"})
    (folder / "other.gguf").symlink_to(gguf)
    with pytest.raises(TermagentError, match="holds several GGUF files: model.gguf, other.gguf") as caught:
        weights_source(str(folder))
    assert caught.value.hint == f"pass one of them: --model {folder / 'model.gguf'}"
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(TermagentError, match="neither a config.json nor a .gguf file"):
        weights_source(str(empty))
    (tmp_path / "weights.bin").write_bytes(b"\0" * 16)
    with pytest.raises(TermagentError, match="is a file but not a GGUF model"):
        weights_source(str(tmp_path / "weights.bin"))


def test_a_file_that_only_looks_like_a_gguf_is_a_clear_error(tmp_path) -> None:
    pytest.importorskip("transformers")
    from termagent.model.engines.transformers_local import TransformersEngine

    fake = tmp_path / "broken.gguf"
    fake.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(TermagentError, match="cannot load the model"):
        TransformersEngine(str(fake))


def test_the_models_own_chat_template_and_exact_token_counts(engine) -> None:
    messages = _conversation("list the files").messages
    rendered = engine.render(messages)
    assert rendered.startswith("<|im_start|>system\n") and rendered.endswith("<|im_start|>assistant\n")
    assert "list the files" in rendered
    exact = len(engine._tokenizer.encode(rendered, add_special_tokens=False))
    assert engine.count_tokens(messages) == exact
    assert engine.max_model_len == 8192  # SmolLM2's max_position_embeddings, read from the GGUF


@pytest.mark.parametrize("task", ["Create /app/hello.txt containing hello", "Show the disk usage of /var"])
def test_constrained_replies_of_the_real_model_are_all_valid_actions(engine, task: str) -> None:
    pieces: list[str] = []
    completion = engine.complete(_conversation(task).messages, on_token=pieces.append)
    assert validate_action(json.loads(completion.text)) == []
    assert "".join(pieces).strip() == completion.text.strip()
    assert completion.prompt_tokens == engine.count_tokens(_conversation(task).messages)


@pytest.mark.docker
def test_a_headless_run_of_a_real_task_reaches_the_step_limit_with_only_valid_replies(
    engine, sandbox_image, no_leftover_containers, tmp_path
) -> None:
    from termagent.agent.events import EventType
    from termagent.agent.loop import AgentLimits
    from termagent.agent.runner import RunConfig, run_agent
    from termagent.model.engines.auto import EngineOptions
    from termagent.sandbox.container import SandboxSpec
    from termagent.sandbox.profiles import load_profile
    from termagent.views.event_lines import TextLines

    events = []
    shown = io.StringIO()
    view = TextLines(shown)

    def record(event) -> None:
        events.append(event)
        view(event)

    config = RunConfig(
        task="Create /app/hello.txt containing the line 'Hello, termagent!'",
        engine=EngineOptions(kind="transformers"),
        sandbox=SandboxSpec(image=sandbox_image, profile=load_profile("default")),
        policy="sandboxed-auto",
        approve="deny",
        limits=AgentLimits(max_steps=2),
        trajectory=tmp_path / "run.jsonl",
    )
    result = run_agent(config, record, engine=engine)
    replies = [event.data["raw"] for event in events if event.type is EventType.MODEL_REPLIED]
    assert str(result.status) in ("max_steps", "completed"), shown.getvalue()
    assert replies and all(validate_action(json.loads(reply)) == [] for reply in replies)
    assert not [event for event in events if event.type is EventType.REPLY_REJECTED]
    assert result.steps == 2 or str(result.status) == "completed"
    assert "task: Create /app/hello.txt" in shown.getvalue()
