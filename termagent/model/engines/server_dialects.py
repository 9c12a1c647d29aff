"""What differs between OpenAI-compatible servers, read from servers.json: how each takes a schema
for constrained decoding (its dialect), how it is recognised, how it counts tokens, where it states
its context length and how many requests it runs at once. Pure data handling: no HTTP here."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from termagent.model.gbnf import schema_to_gbnf

SCHEMA_PLACEHOLDER = "$SCHEMA"
GRAMMAR_PLACEHOLDER = "$GRAMMAR"


@dataclass(frozen=True)
class Dialect:
    name: str
    describe: str
    _body: str  # the JSON template, kept as text so every request gets a fresh copy
    transport: str = "openai"  # "openai": /v1/chat/completions; "ollama": Ollama's native /api/chat

    def fields(self, schema: dict[str, Any]) -> dict[str, Any]:
        """The request fields that constrain a reply to `schema`."""
        return _fill(json.loads(self._body), schema)


@dataclass(frozen=True)
class DefaultContext:
    tokens: int
    why: str


@dataclass(frozen=True)
class ServerKind:
    name: str
    label: str
    owned_by: tuple[str, ...]
    card_fields: tuple[str, ...]
    dialects: tuple[Dialect, ...]
    chat_template_kwargs: bool  # whether to send chat_template_kwargs at first
    tokenize: str  # "vllm", "llama-server", "llama-cpp-python" or "none"
    context_fields: tuple[str, ...]  # dotted paths into the /v1/models card
    default_context: DefaultContext | None
    parallel_requests: int | None  # None: ask the server (llama-server's slots)


def _fill(template: Any, schema: dict[str, Any]) -> Any:
    if template == SCHEMA_PLACEHOLDER:
        return schema
    if template == GRAMMAR_PLACEHOLDER:
        return schema_to_gbnf(schema)
    if isinstance(template, dict):
        return {key: _fill(value, schema) for key, value in template.items()}
    return template


@cache
def _table() -> dict[str, Any]:
    text = resources.files("termagent.model.engines").joinpath("servers.json").read_text(encoding="utf-8")
    return json.loads(text)


@cache
def dialects() -> dict[str, Dialect]:
    return {
        name: Dialect(name, entry["describe"], json.dumps(entry["body"]), entry.get("transport", "openai"))
        for name, entry in _table()["dialects"].items()
    }


@cache
def server_kinds() -> dict[str, ServerKind]:
    kinds = {}
    for name, entry in _table()["servers"].items():
        default = entry.get("default_context")
        kinds[name] = ServerKind(
            name=name,
            label=entry["label"],
            owned_by=tuple(entry["owned_by"]),
            card_fields=tuple(entry["card_fields"]),
            dialects=tuple(dialects()[dialect] for dialect in entry["dialects"]),
            chat_template_kwargs=entry["chat_template_kwargs"],
            tokenize=entry["tokenize"],
            context_fields=tuple(entry["context_fields"]),
            default_context=DefaultContext(default["tokens"], default["why"]) if default else None,
            parallel_requests=entry["parallel_requests"],
        )
    return kinds


def recognise(cards: list[dict[str, Any]]) -> ServerKind:
    """The kind of server whose GET /v1/models listed `cards` (`unknown` when nothing tells)."""
    kinds = server_kinds()
    # owned_by first: SGLang's cards also carry vLLM's max_model_len.
    for matches in (
        lambda kind, card: card.get("owned_by") in kind.owned_by,
        lambda kind, card: any(field in card for field in kind.card_fields),
    ):
        for card in cards:
            for kind in kinds.values():
                if matches(kind, card):
                    return kind
    return kinds["unknown"]


def dotted(card: dict[str, Any], path: str) -> Any:
    value: Any = card
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def card_context(kind: ServerKind, card: dict[str, Any]) -> tuple[int, str] | None:
    """(context length, the field it came from) from a model card, if the card states it."""
    for path in kind.context_fields:
        value = dotted(card, path)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value, path
    return None


class UnexpectedShape(ValueError):
    """A server's answer that is not shaped as documented."""


def token_count(payload: Any) -> int:
    """The count in a tokenizer endpoint's answer: vLLM's {"count": n}, llama.cpp's and
    llama-cpp-python's {"tokens": [...]} (ids, or {"id", "piece"} objects with pieces)."""
    if isinstance(payload, dict):
        count = payload.get("count")
        if isinstance(count, int) and not isinstance(count, bool) and count >= 0:
            return count
        tokens = payload.get("tokens")
        if isinstance(tokens, list):
            return len(tokens)
    raise UnexpectedShape(f"a tokenizer answer with neither `count` nor `tokens`: {str(payload)[:120]!r}")


# How servers word a prompt that does not fit (vLLM and llama-cpp-python: OpenAI's wording;
# llama-server: its error type and fields).
_EXCEEDED = re.compile(
    r"maximum context length|exceed_context_size|exceeds the available context size|"
    r"context window|context length exceeded|too many tokens",
    re.IGNORECASE,
)
_STATED_LIMIT = re.compile(r"maximum context length is (\d+)|context window of (\d+)|n_ctx\D{0,4}(\d+)", re.IGNORECASE)


def context_exceeded(status: int, body: Any) -> tuple[bool, int | None]:
    """Whether an error answer says the prompt was too long, and the context length it states."""
    if status not in (400, 413, 422, 500):
        return False, None
    text = json.dumps(body) if not isinstance(body, str) else body
    if not _EXCEEDED.search(text):
        return False, None
    stated = body.get("n_ctx") if isinstance(body, dict) else None
    if isinstance(stated, int):
        return True, stated
    match = _STATED_LIMIT.search(text)
    return True, next((int(group) for group in match.groups() if group), None) if match else None


def rejects_field(body: Any, field: str) -> bool:
    """Whether an error answer names `field` as one the server does not take."""
    return field in (json.dumps(body) if not isinstance(body, str) else body)
