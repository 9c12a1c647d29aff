"""The prompt: conversation shape, chat rendering and its fallbacks, and the append-only property."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from termagent.errors import TermagentError
from termagent.model.action import ParseResult
from termagent.model.chat_render import ChatMLRenderer, Gemma4Renderer, TemplateRenderer, renderer_for
from termagent.model.conversation import Conversation, load_instructions

REPLY = json.dumps({"analysis": "a", "plan": "p", "commands": [{"keystrokes": "ls\n", "duration": 0.1}]}, indent=2)


def _session(steps: int, *, instructions: str = "Do it.") -> Conversation:
    conversation = Conversation("build it", "root@box:/app# ", instructions=instructions)
    for step in range(steps):
        conversation.add_reply(REPLY)
        conversation.add_observation(f"output of step {step}\nroot@box:/app# ")
    return conversation


def test_first_turn_has_the_protocol_markers_and_no_system_message() -> None:
    conversation = Conversation("make hello", "root@box:/app# ", instructions="INSTRUCTIONS")
    assert conversation.messages == [
        {
            "role": "user",
            "content": "INSTRUCTIONS\n\nTask Description:\nmake hello\n\n"
            "Current terminal state:\nCurrent Terminal Screen:\nroot@box:/app# ",
        }
    ]


def test_later_turns_strip_thinking_and_use_the_output_headers() -> None:
    conversation = Conversation("t", "s", instructions="I")
    conversation.add_reply("<think>hmm</think>\n" + REPLY)
    conversation.add_observation("hello")
    conversation.add_reply(REPLY)
    conversation.add_observation("whole screen", full_screen=True)
    assert [m["role"] for m in conversation.messages] == ["user", "assistant", "user", "assistant", "user"]
    assert conversation.messages[1]["content"] == REPLY
    assert conversation.messages[2]["content"] == "New Terminal Output:\nhello"
    assert conversation.messages[4]["content"] == "Current Terminal Screen:\nwhole screen"


def test_correction_turn_says_what_was_wrong() -> None:
    conversation = _session(0)
    conversation.add_reply("nonsense")
    conversation.add_correction(ParseResult(None, "nonsense", errors=["no JSON object found in the reply"]))
    assert "- no JSON object found in the reply" in conversation.messages[-1]["content"]
    with pytest.raises(ValueError, match="two user turns in a row"):
        conversation.add_user("again")


def test_default_instructions_and_a_user_template(tmp_path) -> None:
    assert '"keystrokes"' in load_instructions() and "60" in load_instructions()
    template = tmp_path / "mine.txt"
    template.write_text("My own words.")
    assert (
        Conversation("t", "s", instructions=load_instructions(template))
        .messages[0]["content"]
        .startswith("My own words.\n\nTask Description:\nt")
    )
    with pytest.raises(TermagentError, match="cannot read the prompt template"):
        load_instructions(tmp_path / "missing.txt")


def test_gemma4_fallback_renders_the_turn_markers() -> None:
    conversation = Conversation("t", "s", instructions="I")
    conversation.add_reply(REPLY)
    conversation.add_observation("o")
    first = conversation.messages[0]["content"]
    assert Gemma4Renderer().render(conversation.messages) == (
        f"<bos><|turn>user\n{first}<turn|>\n<|turn>model\n{REPLY}<turn|>\n"
        "<|turn>user\nNew Terminal Output:\no<turn|>\n<|turn>model\n"
    )
    assert (
        Gemma4Renderer(empty_thought_channel=True)
        .render(conversation.messages)
        .endswith("<|turn>model\n<|channel>thought\n<channel|>")
    )


def test_chatml_fallback() -> None:
    messages = [{"role": "user", "content": "hi"}]
    assert ChatMLRenderer().render(messages) == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"


class _VocabOnly:
    chat_template = None

    def __init__(self, vocab: dict[str, int]) -> None:
        self._vocab = vocab

    def get_vocab(self) -> dict[str, int]:
        return self._vocab


def test_renderer_choice() -> None:
    assert isinstance(renderer_for(_VocabOnly({}), "google/gemma-4-E4B-it"), Gemma4Renderer)
    assert isinstance(renderer_for(_VocabOnly({"<|turn>": 5}), "my-finetune"), Gemma4Renderer)
    assert isinstance(renderer_for(_VocabOnly({}), "Qwen/Qwen3-8B"), ChatMLRenderer)


@pytest.mark.parametrize("renderer", [Gemma4Renderer(), ChatMLRenderer()], ids=["gemma4", "chatml"])
def test_each_prompt_extends_the_previous_prompt_plus_the_reply(renderer) -> None:
    conversation = _session(0)
    for step in range(6):
        prompt = renderer.render(conversation.messages)
        reply = f"<think>step {step}</think>{REPLY}" if step % 2 else REPLY
        conversation.add_reply(reply)
        conversation.add_observation(f"out {step}")
        assert renderer.render(conversation.messages).startswith(prompt + REPLY)


def test_the_tokenizer_template_is_append_only_and_has_thinking_off(tiny_gemma_dir) -> None:
    from transformers import AutoTokenizer

    renderer = renderer_for(AutoTokenizer.from_pretrained(tiny_gemma_dir), "tiny")
    assert isinstance(renderer, TemplateRenderer)
    conversation = _session(0)
    for step in range(4):
        prompt = renderer.render(conversation.messages)
        assert prompt.endswith("<|turn>model\n") and "<|channel>" not in prompt
        conversation.add_reply(REPLY)
        conversation.add_observation(f"out {step}")
        assert renderer.render(conversation.messages).startswith(prompt + REPLY)


def test_importing_the_model_side_loads_no_heavy_library() -> None:
    code = (
        "import sys, termagent.model.step, termagent.cli.engine_options, termagent.model.engines.openai_server, "
        "termagent.model.engines.transformers_local, termagent.model.engines.vllm_inprocess\n"
        "print(sorted(m for m in ('torch', 'transformers', 'vllm', 'xgrammar', 'openai') if m in sys.modules))"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"
