"""Any OpenAI-compatible chat server: vLLM, SGLang, llama.cpp's llama-server, llama-cpp-python,
Ollama, LM Studio; and Ollama's native API (ollama_native.py), which takes the context window per
request.

At start the engine reads GET /v1/models to tell which server it is (server_dialects.py), its
context length and how many requests it runs at once, and, unless the server is vLLM (whose dialect
is certain), sends a one-token probe to find the structured-output dialect the server really takes.
What it found (or could not switch on) is in `describe()` and `warnings`. Every request streams, so
that a request termagent abandons closes its connection and the server stops working on it.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from termagent.errors import ModelServerError
from termagent.model.chat_render import CHAT_TEMPLATE_KWARGS
from termagent.model.context_budget import ContextExceededError, PrefixTokenCounter
from termagent.model.conversation import Message
from termagent.model.engines import ollama_native
from termagent.model.engines.base import Completion, DecodingSettings, TokenCallback, tightest_context
from termagent.model.engines.json_http import HttpStatusError, JsonHttp
from termagent.model.engines.server_dialects import (
    Dialect,
    ServerKind,
    UnexpectedShape,
    card_context,
    context_exceeded,
    dotted,
    recognise,
    rejects_field,
    server_kinds,
    token_count,
)
from termagent.model.schema import action_schema

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam

# Without a tokenizer endpoint, a deliberately low characters-per-token ratio over-counts rather than
# under-counts; each turn's markers cost a few tokens more. The server's own count of the last prompt
# anchors it.
ESTIMATE_CHARS_PER_TOKEN = 3
ESTIMATE_TOKENS_PER_TURN = 8
_TURN_SEPARATOR = "\x00"
PROBE_TIMEOUT_SECONDS = 5.0
# A server that accepted the connection but does not answer is busy (llama-cpp-python answers even
# GET /v1/models only between requests): it is waited for this long, with a message this often.
BUSY_WAIT_SECONDS = 900.0
BUSY_PROGRESS_SECONDS = 10.0
PROBE_MESSAGES: list[Message] = [{"role": "user", "content": "Answer with a JSON object."}]
_TEMPLATE_KWARGS_FIELD = "chat_template_kwargs"


def _estimate_tokens(text: str) -> int:
    return len(text) // ESTIMATE_CHARS_PER_TOKEN + ESTIMATE_TOKENS_PER_TURN * text.count(_TURN_SEPARATOR)


def _chat_messages(messages: list[Message]) -> list[ChatCompletionMessageParam]:
    """The conversation's turns as the openai client types them (a conversation has user and
    assistant turns only)."""
    typed: list[ChatCompletionMessageParam] = []
    for message in messages:
        role, content = message["role"], message["content"]
        if role == "user":
            typed.append({"role": "user", "content": content})
        elif role == "assistant":
            typed.append({"role": "assistant", "content": content})
        else:
            raise ValueError(f"a chat message with the role {role!r}: only user and assistant turns are sent")
    return typed


def _estimate_key(messages: list[Message]) -> str:
    return "".join(f"{_TURN_SEPARATOR}{m['role']}:{m['content']}" for m in messages)


def server_root(base_url: str) -> str:
    """`http://host:8000/v1` -> `http://host:8000` (tokenizer and property endpoints sit beside /v1)."""
    root = base_url.rstrip("/")
    return root[: -len("/v1")] if root.endswith("/v1") else root


def no_server_error(base_url: str, model: str) -> ModelServerError:
    return ModelServerError(
        f"no model server at {base_url}: start one with `vllm serve {model}`",
        hint="or pass --base-url for a server elsewhere (llama-server, llama-cpp-python, Ollama, LM Studio, "
        "SGLang), or --engine transformers to run the model in-process",
    )


class _StreamBroken(Exception):
    """A reply stream that ended before any text, without saying why."""


@dataclass(frozen=True)
class ServerFacts:
    """What GET /v1/models (and the server's own property endpoints) told."""

    kind: ServerKind
    served: list[str]
    context: int | None
    context_source: str
    parallel_requests: int
    trained_context: int | None = None  # the most a context the server sizes per request can be (Ollama)


def _wait_for(http: JsonHttp, path: str, base_url: str, on_wait: Callable[[str], None]) -> Any:
    """GET `path`, telling `on_wait` while a busy server keeps us waiting. One request only: a
    single-request server would otherwise queue every retry."""
    outcome: dict[str, Any] = {}

    def fetch() -> None:
        try:
            outcome["value"] = http(path, timeout=BUSY_WAIT_SECONDS)
        except BaseException as error:  # handed to the waiting thread, which raises it
            outcome["error"] = error

    worker = threading.Thread(target=fetch, name="termagent-server-probe", daemon=True)
    started = time.monotonic()
    worker.start()
    worker.join(PROBE_TIMEOUT_SECONDS)
    while worker.is_alive():
        on_wait(
            f"the model server at {base_url} accepted the connection but has not answered for "
            f"{time.monotonic() - started:.0f} s: it is busy (another request?); waiting up to "
            f"{BUSY_WAIT_SECONDS:.0f} s (Ctrl-C to stop)"
        )
        worker.join(BUSY_PROGRESS_SECONDS)
    if "error" in outcome:
        error = outcome["error"]
        if isinstance(error, TimeoutError) or isinstance(getattr(error, "reason", None), TimeoutError):
            raise ModelServerError(
                f"the model server at {base_url} accepted the connection but did not answer in "
                f"{BUSY_WAIT_SECONDS:.0f} s",
                hint="it is busy or stuck: check its log",
            ) from error
        raise error
    return outcome["value"]


def discover(http: JsonHttp, base_url: str, model: str, on_wait: Callable[[str], None]) -> ServerFacts:
    """Which server answers at `base_url`, what it serves, its context length and parallelism.
    Raises ModelServerError when nothing answers, the key is refused or `model` is not served."""
    v1 = base_url.rstrip("/")[len(http.root) :]
    try:
        listing = _wait_for(http, v1 + "/models", base_url, on_wait)
    except ModelServerError:
        raise
    except HttpStatusError as error:
        if error.status in (401, 403):
            raise ModelServerError(
                f"the model server at {base_url} refused the API key", hint="pass the right one with --api-key"
            ) from error
        listing = None  # a server without /models: nothing to learn from it
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        raise no_server_error(base_url, model) from error
    except UnexpectedShape:
        listing = None
    cards = (
        [card for card in (listing or {}).get("data", []) if isinstance(card, dict)]
        if isinstance(listing, dict)
        else []
    )
    served = [str(card.get("id")) for card in cards if card.get("id") is not None]
    kind = recognise(cards)
    if kind.name == "unknown" and _answers(http, "/api/version"):
        kind = server_kinds()["ollama"]  # Ollama's own API answers beside its OpenAI endpoint
    trained = None
    if kind.name == "ollama":
        served = ollama_native.served_models(http, PROBE_TIMEOUT_SECONDS) or served
        trained = ollama_native.trained_context(http, model, PROBE_TIMEOUT_SECONDS)
    if served and not ollama_native.serves(served, model):
        raise ModelServerError(
            f"the server at {base_url} does not serve {model}; it serves: {', '.join(served)}",
            hint=f"pass --model {served[0]}",
        )
    card = next((card for card in cards if card.get("id") == model), {})
    context, source = _served_context(http, kind, card)
    parallel = kind.parallel_requests
    if parallel is None:  # llama-server: as many as it has slots
        slots = _property(http, "/props", "total_slots")
        parallel = slots if isinstance(slots, int) and slots > 0 else 1
    return ServerFacts(kind, served, context, source, parallel, trained)


def _answers(http: JsonHttp, path: str) -> bool:
    try:
        return isinstance(http(path, timeout=PROBE_TIMEOUT_SECONDS), dict)
    except (HttpStatusError, UnexpectedShape, OSError):
        return False


def _property(http: JsonHttp, path: str, field: str) -> Any:
    try:
        return dotted(http(path, timeout=PROBE_TIMEOUT_SECONDS), field)
    except (HttpStatusError, UnexpectedShape, OSError, AttributeError):
        return None


def _served_context(http: JsonHttp, kind: ServerKind, card: dict[str, Any]) -> tuple[int | None, str]:
    if kind.name == "llama-server":  # the context it runs with, per slot (meta only has the trained one)
        n_ctx = _property(http, "/props", "default_generation_settings.n_ctx")
        if isinstance(n_ctx, int) and n_ctx > 0:
            return n_ctx, "n_ctx of llama-server's /props"
    found = card_context(kind, card)
    if found:
        return found[0], f"{found[1]} of /v1/models"
    if kind.default_context:
        return None, f"{kind.default_context.tokens} assumed: {kind.default_context.why}"
    return None, "unknown (the server does not say; pass --max-model-len)"


class OpenAIServerEngine:
    name = "openai"
    concurrent = True  # the server batches requests

    def __init__(
        self,
        model: str,
        *,
        base_url: str = "http://localhost:8000/v1",
        api_key: str | None = None,
        settings: DecodingSettings | None = None,
        max_model_len: int | None = None,
        timeout: float = 300.0,
        max_retries: int = 3,
        probe: bool | None = None,
        on_wait: Callable[[str], None] = lambda message: None,
    ) -> None:
        import openai  # light, but only this engine needs it

        self._openai = openai
        self.model = model
        self.base_url = base_url
        self.settings = settings or DecodingSettings()
        # The client retries connection errors, 408/429 and 5xx itself, with exponential backoff.
        self._client = openai.OpenAI(
            base_url=base_url, api_key=api_key or "EMPTY", timeout=timeout, max_retries=max_retries
        )
        self._http = JsonHttp(server_root(base_url), api_key, timeout)
        facts = discover(self._http, base_url, model, on_wait)
        self.server = facts.kind
        self.parallel_requests = facts.parallel_requests
        self.concurrent = facts.parallel_requests > 1  # a single-request server queues the rest
        self.max_model_len, self.context_source = _context(max_model_len, facts)
        self.warnings: list[str] = []
        self._send_template_kwargs = facts.kind.chat_template_kwargs
        self._dialects = list(facts.kind.dialects) if self.settings.constrained else []
        self.dialect: Dialect | None = self._dialects[0] if self._dialects else None
        self._dialect_confirmed = False  # once a constrained reply came back, a refusal is not the dialect's
        self._tokenizer = facts.kind.tokenize
        self._estimate = PrefixTokenCounter(_estimate_tokens)
        if self.dialect is not None and (probe if probe is not None else facts.kind.name != "vllm"):
            self.negotiate()
        if self._native():
            self.context_source = f"sent as options.num_ctx; {self.context_source}"

    # -- what was found ---------------------------------------------------------------------

    def describe(self) -> str:
        """One line for the run's first event and for doctor."""
        constrained = (
            f"structured output: {self.dialect.describe}"
            if self.dialect
            else "structured output: OFF (lenient parsing)"
        )
        return (
            f"{self.server.label} at {self.base_url}; {constrained}; context: "
            f"{self.max_model_len or 'unknown'} ({self.context_source}); token counts: {self.token_counting()}; "
            f"{self.parallel_requests} request(s) at a time"
        )

    def token_counting(self) -> str:
        return {
            "vllm": "the server's /tokenize",
            "llama-server": "the server's /apply-template and /tokenize",
            "llama-cpp-python": "the server's tokenizer on the message text, turn markers estimated",
        }.get(
            self._tokenizer,
            f"estimated ({ESTIMATE_CHARS_PER_TOKEN} characters a token, corrected by the server's usage)",
        )

    # -- structured-output dialect ----------------------------------------------------------

    def negotiate(self) -> None:
        """Find the first dialect the server takes with a one-token probe; when none does, turn
        constrained decoding off and say so loudly (`warnings`)."""
        failures: list[str] = []
        for dialect in list(self._dialects):
            failure = self._probe(dialect)
            if failure is None:
                self.dialect, self._dialect_confirmed = dialect, True
                return
            failures.append(failure)
        self.dialect = None
        self.warnings.append(
            f"constrained decoding is OFF: {self.server.label} at {self.base_url} took none of termagent's "
            f"structured-output dialects ({'; '.join(failures)}). Replies are parsed leniently, and a small "
            "model may never write a usable action; use a server that constrains output (vLLM, llama-server, "
            "llama-cpp-python, Ollama, LM Studio, SGLang), or --engine transformers."
        )

    def _probe(self, dialect: Dialect) -> str | None:
        """None when `dialect` works, else why not. Also learns whether chat_template_kwargs is taken."""
        if dialect.transport == "ollama":
            return self._probe_native(dialect)
        last = ""
        for with_kwargs in [True, False] if self._send_template_kwargs else [False]:
            arguments = self._arguments(dialect, with_kwargs) | {"max_tokens": 1, "temperature": 0.0}
            try:
                response = self._client.with_options(max_retries=0).chat.completions.create(
                    messages=_chat_messages(PROBE_MESSAGES), **arguments
                )
            except self._openai.APIStatusError as error:
                last = f"{dialect.describe}: HTTP {error.status_code} {_error_message(error)[:160]}"
                continue
            except self._openai.APIConnectionError as error:
                raise no_server_error(self.base_url, self.model) from error
            self._send_template_kwargs = with_kwargs
            return _probe_reply(dialect, (response.choices[0].message.content or "") if response.choices else "")
        return last

    def _probe_native(self, dialect: Dialect) -> str | None:
        settings = DecodingSettings(max_tokens=1, temperature=0.0, top_p=self.settings.top_p)
        body = ollama_native.chat_body(
            self.model, PROBE_MESSAGES, settings, dialect.fields(action_schema()), num_ctx=None, stream=False
        )
        try:
            text = ollama_native.probe(self._http, body)
        except HttpStatusError as error:
            return f"{dialect.describe}: HTTP {error.status} {_body_message(error.body, '')[:160]}"
        except (UnexpectedShape, ollama_native.StreamError) as error:
            return f"{dialect.describe}: {str(error)[:160]}"
        except TimeoutError as error:
            raise ModelServerError(
                f"Ollama at {self.base_url} did not answer a one-token request within {self._http.timeout} s",
                hint="it may still be loading the model: try again, or check `ollama ps`",
            ) from error
        except (urllib.error.URLError, ConnectionError) as error:
            raise no_server_error(self.base_url, self.model) from error
        return _probe_reply(dialect, text)

    def _native(self) -> bool:
        return self.dialect is not None and self.dialect.transport == "ollama"

    def request_arguments(self) -> dict[str, Any]:
        """Everything sent besides the messages."""
        return self._arguments(self.dialect, self._send_template_kwargs)

    def _arguments(self, dialect: Dialect | None, with_kwargs: bool) -> dict[str, Any]:
        arguments: dict[str, Any] = {
            "model": self.model,
            "temperature": self.settings.temperature,
            "top_p": self.settings.top_p,
            "max_tokens": self.settings.max_tokens,
        }
        extra: dict[str, Any] = {_TEMPLATE_KWARGS_FIELD: dict(CHAT_TEMPLATE_KWARGS)} if with_kwargs else {}
        if dialect is not None:
            fields = dialect.fields(action_schema())
            if "response_format" in fields:
                arguments["response_format"] = fields.pop("response_format")
            extra |= fields
        if extra:
            arguments["extra_body"] = extra
        return arguments

    # -- completion -------------------------------------------------------------------------

    def complete(self, messages: list[Message], *, on_token: TokenCallback | None = None) -> Completion:
        while True:
            try:
                completion = self._complete_once(messages, on_token)
                self._dialect_confirmed = True
                return completion
            except self._openai.APIStatusError as error:
                status, body, message = error.status_code, error.body, _error_message(error)
            except HttpStatusError as error:
                status, body = error.status, error.body
                message = _body_message(body, str(error))
            if not self._adapt(status, body, message):
                raise ModelServerError(f"the model server at {self.base_url} answered {status}: {message}")

    def _adapt(self, status: int, body: Any, message: str) -> bool:
        """Change what is sent after a refusal, if that can help; False when nothing can."""
        exceeded, limit = context_exceeded(status, body)
        if exceeded:
            if limit:  # the server stated its window: remember it for every later step too
                self.max_model_len = tightest_context(self.max_model_len, limit)
                self.context_source = "stated by the server when it refused a prompt"
            raise ContextExceededError(
                f"the model server at {self.base_url} refused the prompt as too long: {message}",
                limit=limit,
            )
        if self._send_template_kwargs and rejects_field(body, _TEMPLATE_KWARGS_FIELD):
            self._send_template_kwargs = False
            return True
        if self.dialect is not None and not self._dialect_confirmed and status in (400, 422, 500):
            later = self._dialects[self._dialects.index(self.dialect) + 1 :]
            if later:
                self.dialect = later[0]
                return True
            raise ModelServerError(
                f"{self.server.label} at {self.base_url} refused every structured-output dialect termagent "
                f"speaks; the last answer: HTTP {status} {message}",
                hint="pass --no-constrained to go on with lenient parsing (a small model may then fail)",
            )
        return False

    def _complete_once(self, messages: list[Message], on_token: TokenCallback | None) -> Completion:
        started = time.perf_counter()
        try:
            if self._native():
                text, finish_reason, counts, cached = self._native_stream(messages, on_token)
            else:
                try:
                    text, finish_reason, counts, cached = self._stream(messages, on_token)
                except _StreamBroken:
                    # llama-cpp-python answers 200 before it reads the request, so a refusal (a prompt
                    # too long) ends the stream instead: asked once without streaming, it gives the status.
                    text, finish_reason, counts, cached = self._plain(messages)
        except (self._openai.APITimeoutError, TimeoutError) as error:
            raise ModelServerError(
                f"the model server at {self.base_url} did not answer within {self._client.timeout} s",
                hint="a server on a CPU or a busy GPU may need a lower --max-tokens",
            ) from error
        except (self._openai.APIConnectionError, urllib.error.URLError, ConnectionError) as error:
            raise no_server_error(self.base_url, self.model) from error
        if counts is not None:
            self._estimate.remember(_estimate_key(messages), counts[0])
            prompt_tokens, completion_tokens, estimated = counts[0], counts[1], False
        else:  # e.g. llama-cpp-python streams no usage: count both another way, and say so
            prompt_tokens, completion_tokens, estimated = self.count_tokens(messages), self._count_text(text), True
        return Completion(
            text=text,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            elapsed=time.perf_counter() - started,
            finish_reason=finish_reason,
            tokens_estimated=estimated,
            cached_prompt_tokens=cached,
        )

    def _native_stream(
        self, messages: list[Message], on_token: TokenCallback | None
    ) -> tuple[str, str | None, tuple[int, int] | None, int | None]:
        assert self.dialect is not None
        body = ollama_native.chat_body(
            self.model,
            messages,
            self.settings,
            self.dialect.fields(action_schema()),
            num_ctx=self.max_model_len,
            stream=True,
        )
        try:
            reply = ollama_native.chat(self._http, body, on_token)
        except (UnexpectedShape, ollama_native.StreamError) as error:
            raise ModelServerError(f"the model server at {self.base_url} broke off its reply: {error}") from error
        return reply.text, reply.done_reason, reply.counts, None

    def _stream(
        self, messages: list[Message], on_token: TokenCallback | None
    ) -> tuple[str, str | None, tuple[int, int] | None, int | None]:
        stream = self._client.chat.completions.create(
            messages=_chat_messages(messages),
            stream=True,
            stream_options={"include_usage": True},
            **self.request_arguments(),
        )
        pieces: list[str] = []
        finish_reason = usage = cached = None
        try:
            for chunk in self._chunks(stream, pieces):
                usage = chunk.usage or usage
                cached = _cached_tokens(chunk) if _cached_tokens(chunk) is not None else cached
                if not chunk.choices:
                    continue
                choice = chunk.choices[0]
                finish_reason = choice.finish_reason or finish_reason
                if choice.delta and choice.delta.content:
                    pieces.append(choice.delta.content)
                    if on_token is not None:
                        on_token(choice.delta.content)
        finally:
            stream.close()  # abandoned (an error, Ctrl-C): the server sees the disconnect and stops
        if not pieces and finish_reason is None:
            raise _StreamBroken
        return "".join(pieces), finish_reason, _counts(usage), cached

    def _chunks(self, stream: Any, pieces: list[str]) -> Any:
        """The stream's chunks; a stream cut before any text is _StreamBroken, after it an error."""
        try:
            yield from stream
        # Only reading the stream runs in here (the caller's on_token does not): whatever its HTTP
        # library raises for a connection cut mid-body, or an SSE error event (openai.APIError).
        except Exception as error:
            if isinstance(error, self._openai.APIStatusError) or not pieces:
                raise _StreamBroken from error
            raise ModelServerError(f"the model server at {self.base_url} broke off its reply: {error}") from error

    def _plain(self, messages: list[Message]) -> tuple[str, str | None, tuple[int, int] | None, int | None]:
        response = self._client.chat.completions.create(messages=_chat_messages(messages), **self.request_arguments())
        choice = response.choices[0] if response.choices else None
        text = (choice.message.content or "") if choice else ""
        return text, choice.finish_reason if choice else None, _counts(response.usage), None

    # -- token counting ---------------------------------------------------------------------

    def count_tokens(self, messages: list[Message]) -> int:
        if self._tokenizer != "none":
            try:
                return self._count_with_server(messages)
            except HttpStatusError as error:
                if error.status not in (404, 405, 501):
                    raise ModelServerError(f"counting tokens at {self.base_url} failed: HTTP {error.status}") from error
                self._tokenizer = "none"  # no such endpoint here: estimate from now on
            except UnexpectedShape as error:
                self._tokenizer = "none"
                self.warnings.append(f"token counts are estimates from now on: {error}")
            except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
                raise no_server_error(self.base_url, self.model) from error
        return self._estimate(_estimate_key(messages))

    def _count_with_server(self, messages: list[Message]) -> int:
        if self._tokenizer == "vllm":
            body: dict[str, Any] = {"model": self.model, "messages": messages, "add_generation_prompt": True}
            if self._send_template_kwargs:
                body[_TEMPLATE_KWARGS_FIELD] = dict(CHAT_TEMPLATE_KWARGS)
            return token_count(self._http("/tokenize", body))
        if self._tokenizer == "llama-server":
            rendered = self._http("/apply-template", {"messages": messages})
            if not isinstance(rendered, dict) or not isinstance(rendered.get("prompt"), str):
                raise UnexpectedShape(f"/apply-template answered without a prompt: {str(rendered)[:120]!r}")
            return token_count(self._http("/tokenize", {"content": rendered["prompt"]}))
        # llama-cpp-python tokenizes plain text only: the messages' text, plus the turn markers estimated.
        text = "\n".join(message["content"] for message in messages)
        return self._count_text(text) + ESTIMATE_TOKENS_PER_TURN * len(messages)

    def _count_text(self, text: str) -> int:
        try:
            if self._tokenizer == "llama-server":
                return token_count(self._http("/tokenize", {"content": text}))
            if self._tokenizer == "llama-cpp-python":
                return token_count(self._http("/extras/tokenize/count", {"input": text}))
        except (HttpStatusError, UnexpectedShape, OSError):
            pass  # only a figure for a view: the estimate below will do, and it is marked as one
        return _estimate_tokens(text)

    def close(self) -> None:
        self._client.close()


def _context(option: int | None, facts: ServerFacts) -> tuple[int | None, str]:
    """The context window: the server's own figure (an option may lower it), else the option, else
    the server kind's stated default."""
    if facts.context is not None:
        length = tightest_context(option, facts.context)
        return length, facts.context_source if length == facts.context else "--max-model-len"
    trained = facts.trained_context
    if option:
        capped = tightest_context(option, trained)
        return (
            capped,
            "--max-model-len" if capped == option else f"the model's trained length (--max-model-len {option})",
        )
    default = facts.kind.default_context
    if default is None:
        return None, facts.context_source
    return tightest_context(default.tokens, trained), facts.context_source


def _cached_tokens(chunk: Any) -> int | None:
    """Prompt tokens served from the prefix cache: llama-server's timings.cache_n, or OpenAI's
    usage.prompt_tokens_details.cached_tokens (vLLM with prefix caching stats)."""
    timings = getattr(chunk, "timings", None)
    if isinstance(timings, dict) and isinstance(timings.get("cache_n"), int):
        return timings["cache_n"]
    details = getattr(chunk.usage, "prompt_tokens_details", None) if chunk.usage else None
    cached = getattr(details, "cached_tokens", None)
    return cached if isinstance(cached, int) else None


def _counts(usage: Any) -> tuple[int, int] | None:
    return (usage.prompt_tokens, usage.completion_tokens) if usage is not None else None


def _probe_reply(dialect: Dialect, text: str) -> str | None:
    if text.lstrip()[:1] not in ("", "{"):
        return f"{dialect.describe}: ignored (the constrained reply began {text[:20]!r})"
    return None


def _error_message(error: Any) -> str:
    return _body_message(getattr(error, "body", None), str(error.message))


def _body_message(body: Any, fallback: str) -> str:
    """The message of an error answer: OpenAI's {"error": {"message"}}, Ollama's {"error": "..."},
    FastAPI's {"detail"}."""
    if isinstance(body, dict):
        nested = body.get("error")
        if isinstance(nested, str):
            return nested
        inner: dict[str, Any] = nested if isinstance(nested, dict) else body
        return str(inner.get("message") or inner.get("detail") or body)
    return fallback
