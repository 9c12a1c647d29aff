"""Render a conversation into the prompt text the model reads.

The tokenizer's own chat template comes first, always with `enable_thinking=False` (Gemma 4 opens a
thinking channel otherwise). Without a template: Gemma 4 turn markers for Gemma models, ChatML for
the rest, both exactly as in docs/protocol.md.
"""

from __future__ import annotations

from typing import Any, Protocol

from termagent.model.conversation import Message

CHAT_TEMPLATE_KWARGS = {"enable_thinking": False}


class ChatRenderer(Protocol):
    def render(self, messages: list[Message]) -> str: ...


class TemplateRenderer:
    """The tokenizer's chat template (a Hugging Face tokenizer with `chat_template` set)."""

    def __init__(self, tokenizer: Any) -> None:
        self._tokenizer = tokenizer

    def render(self, messages: list[Message]) -> str:
        return self._tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True, **CHAT_TEMPLATE_KWARGS
        )


class Gemma4Renderer:
    """`<bos>` then `<|turn>{user|model}\\n{content}<turn|>\\n` per turn, then `<|turn>model\\n`.

    The 26B/31B variants also expect an empty thought channel after the opener; history turns do
    not carry it, so for them each prompt extends the previous one only up to that channel.
    """

    def __init__(self, *, empty_thought_channel: bool = False) -> None:
        self._opener = "<|turn>model\n" + ("<|channel>thought\n<channel|>" if empty_thought_channel else "")

    def render(self, messages: list[Message]) -> str:
        turns = "".join(
            f"<|turn>{'model' if m['role'] == 'assistant' else m['role']}\n{m['content']}<turn|>\n" for m in messages
        )
        return f"<bos>{turns}{self._opener}"


class ChatMLRenderer:
    def render(self, messages: list[Message]) -> str:
        turns = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
        return f"{turns}<|im_start|>assistant\n"


def renderer_for(tokenizer: Any, model: str) -> ChatRenderer:
    if getattr(tokenizer, "chat_template", None):
        return TemplateRenderer(tokenizer)
    vocab = tokenizer.get_vocab() if hasattr(tokenizer, "get_vocab") else {}
    if "gemma" in model.lower() or "<|turn>" in vocab:
        big = any(size in model.lower() for size in ("26b", "31b"))
        return Gemma4Renderer(empty_thought_channel=big)
    return ChatMLRenderer()
