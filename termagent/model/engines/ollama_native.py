"""Ollama's native API (ollama/ollama docs/api.md), which the openai engine speaks when the server
is Ollama: POST /api/chat takes the action schema as `format` and the decoding settings and the
context window as `options` (so the window termagent budgets for is the one the server runs with:
Ollama silently truncates a longer prompt), and the last object of its NDJSON stream counts the
prompt and the reply (prompt_eval_count, eval_count). GET /api/tags lists the models, POST
/api/show states a model's trained context length."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from termagent.model.conversation import Message
from termagent.model.engines.base import DecodingSettings, TokenCallback
from termagent.model.engines.json_http import HttpStatusError, JsonHttp
from termagent.model.engines.server_dialects import UnexpectedShape

CHAT = "/api/chat"


class StreamError(Exception):
    """An error object in the stream: the answer had begun (200), so only the stream says so."""


@dataclass(frozen=True)
class NativeReply:
    text: str
    done_reason: str | None
    counts: tuple[int, int] | None  # (prompt, reply) tokens, when the last object states both


def chat_body(
    model: str,
    messages: list[Message],
    settings: DecodingSettings,
    fields: dict[str, Any],
    *,
    num_ctx: int | None,
    stream: bool,
) -> dict[str, Any]:
    options: dict[str, Any] = {
        "temperature": settings.temperature,
        "top_p": settings.top_p,
        "num_predict": settings.max_tokens,
    }
    if num_ctx:
        options["num_ctx"] = num_ctx
    return {"model": model, "messages": messages, "stream": stream, "options": options} | fields


def chat(http: JsonHttp, body: dict[str, Any], on_token: TokenCallback | None) -> NativeReply:
    """One streamed /api/chat request. Leaving early (an error, on_token raising) closes the
    connection, which stops the server's work on it."""
    pieces: list[str] = []
    with http.open(CHAT, body) as response:
        for line in response:
            if not line.strip():
                continue
            chunk = _object(line)
            content = _content(chunk)
            if content:
                pieces.append(content)
                if on_token is not None:
                    on_token(content)
            if chunk.get("done") is True:
                return NativeReply("".join(pieces), _text_or_none(chunk.get("done_reason")), _counts(chunk))
    raise StreamError("the stream ended without its last (done) object")


def probe(http: JsonHttp, body: dict[str, Any]) -> str:
    """The text of a non-streamed /api/chat request (the first one may wait for Ollama to load the
    model: the client's whole timeout)."""
    answer = http(CHAT, body | {"stream": False})
    if not isinstance(answer, dict):
        raise UnexpectedShape(f"{CHAT} answered {str(answer)[:120]!r}")
    if "error" in answer:
        raise StreamError(str(answer["error"]))
    return _content(answer)


def served_models(http: JsonHttp, timeout: float) -> list[str]:
    """The model names /api/tags lists (empty when it does not answer as documented)."""
    try:
        answer = http("/api/tags", timeout=timeout)
    except (HttpStatusError, UnexpectedShape, OSError):
        return []
    models = answer.get("models") if isinstance(answer, dict) else None
    names = [entry.get("name") or entry.get("model") for entry in models or [] if isinstance(entry, dict)]
    return [name for name in names if isinstance(name, str)]


def serves(served: list[str], model: str) -> bool:
    """Whether `model` is among `served`; a name without a tag means `:latest` (docs/api.md)."""
    return model in served or (":" not in model and f"{model}:latest" in served)


def trained_context(http: JsonHttp, model: str, timeout: float) -> int | None:
    """`<architecture>.context_length` of /api/show's model_info: the most num_ctx can be."""
    try:
        answer = http("/api/show", {"model": model}, timeout=timeout)
    except (HttpStatusError, UnexpectedShape, OSError):
        return None
    info = answer.get("model_info") if isinstance(answer, dict) else None
    if not isinstance(info, dict):
        return None
    length = info.get(f"{info.get('general.architecture')}.context_length")
    return length if isinstance(length, int) and not isinstance(length, bool) and length > 0 else None


def _object(line: bytes) -> dict[str, Any]:
    try:
        chunk = json.loads(line)
    except ValueError as error:
        raise UnexpectedShape(f"{CHAT} streamed a line that is not JSON: {line[:120]!r}") from error
    if not isinstance(chunk, dict):
        raise UnexpectedShape(f"{CHAT} streamed {str(chunk)[:120]!r}, not an object")
    if "error" in chunk:
        raise StreamError(str(chunk["error"])[:500])
    return chunk


def _content(chunk: dict[str, Any]) -> str:
    message = chunk.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, str) else ""


def _counts(chunk: dict[str, Any]) -> tuple[int, int] | None:
    prompt, reply = _count(chunk.get("prompt_eval_count")), _count(chunk.get("eval_count"))
    return (prompt, reply) if prompt is not None and reply is not None else None


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None
