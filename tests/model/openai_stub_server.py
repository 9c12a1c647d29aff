"""A real HTTP server on 127.0.0.1 that speaks the OpenAI chat-completions API and records every
request it gets. Its `flavor` imitates a server, from that server's documentation:

- "vllm" (default): max_model_len in /v1/models, /tokenize answering {"count": n}, response_format
  json_schema and structured_outputs;
- "llama-server" (llama.cpp tools/server README): owned_by "llamacpp" with `meta`, /props (n_ctx,
  total_slots), /apply-template, /tokenize answering {"tokens": [...]}, response_format json_schema
  or the `json_schema` field or a GBNF `grammar` (parsed, and the reply checked against it, by
  xgrammar, whose EBNF is GBNF; recorded in `grammars`), `timings.cache_n` in the last chunk, and
  its context-size error;
- "ollama" (Ollama docs/openai.md and docs/api.md): owned_by "library", /api/version, no tokenizer,
  response_format json_schema turned into its native `format` (recorded in `formats`); and its native
  API: /api/tags, /api/show (model_info `<arch>.context_length`), /api/chat taking `format` ("json"
  or a schema; `ollama_schema_format` False imitates an Ollama before structured outputs, which
  takes "json" only), `options` and `stream`, answering NDJSON whose last object (done) counts
  prompt_eval_count and eval_count, errors as {"error": "..."}, mid-stream as such an object; a
  prompt longer than options.num_ctx (default 2048) is silently truncated, as Ollama does
  (counted in `truncated`);
- "llama-cpp-python" (its server's source): owned_by "me", response_format json_object with a
  schema (json_schema: HTTP 500), /extras/tokenize/count, no usage in streams, and a stream that
  has started (200) before a refusal, which then only cuts it;
- "plain": a server that takes no structured-output field at all (400 for each)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODEL = "test/tiny-model"
MAX_MODEL_LEN = 4096
LLAMA_SERVER_N_CTX = 1024
LLAMA_SERVER_SLOTS = 2
OLLAMA_VERSION = "0.6.2"
OLLAMA_MODEL = MODEL + ":latest"  # Ollama lists a name without a tag as `:latest`
OLLAMA_TRAINED_CTX = 8192
OLLAMA_DEFAULT_NUM_CTX = 2048
# Fields of a chat request that constrain its output, per flavor; any other such field gets a 400.
_ACCEPTED = {
    "vllm": {("response_format", "json_schema"), ("structured_outputs", None)},
    "llama-server": {
        ("response_format", "json_schema"),
        ("response_format", "json_object"),
        ("json_schema", None),
        ("grammar", None),
    },
    "ollama": {("response_format", "json_schema"), ("response_format", "json_object")},
    "llama-cpp-python": {("response_format", "json_object"), ("response_format", "text")},
    "plain": set(),
}
LLAMA_CPP_PYTHON_N_CTX = 2048
_CONSTRAINING = ("response_format", "structured_outputs", "json_schema", "grammar", "format")


@dataclass
class ServerState:
    replies: list[str] = field(default_factory=list)  # served in order; then the last one again
    statuses: list[int] = field(default_factory=list)  # HTTP errors to answer first, one per request
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (path, JSON body)
    tokenize: bool = True
    delay: float = 0.0  # seconds before answering a chat request
    flavor: str = "vllm"
    formats: list[Any] = field(default_factory=list)  # ollama: the native `format` each request became
    stream_usage: bool = True  # False: streams carry no usage chunk (as llama-cpp-python's)
    tokenize_answer: Any = None  # when set, what /tokenize answers instead (an unexpected shape)
    rejected_fields: set[str] = field(default_factory=set)  # request fields answered with a 400
    models_delay: float = 0.0  # seconds before answering GET /v1/models (a busy server)
    chunk_delay: float = 0.0  # seconds between streamed chunks
    disconnects: int = 0  # streams the client closed before their end
    ollama_schema_format: bool = True  # False: /api/chat takes format "json" only (Ollama < 0.5)
    ollama_stream_error: str | None = None  # an error object sent after the first piece of a reply
    truncated: int = 0  # ollama: prompts longer than their num_ctx, which Ollama cuts silently
    grammars: list[str] = field(default_factory=list)  # GBNF grammars that parsed and matched the reply

    def chat_bodies(self) -> list[dict[str, Any]]:
        return [body for path, body in self.requests if path == "/v1/chat/completions"]

    def native_bodies(self) -> list[dict[str, Any]]:
        return [body for path, body in self.requests if path == "/api/chat"]


def _handler(state: ServerState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _json(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            flavor = state.flavor
            if self.path == "/v1/models":
                time.sleep(state.models_delay)
                self._json(200, {"object": "list", "data": [_model_card(flavor)]})
            elif self.path == "/props" and flavor == "llama-server":
                self._json(
                    200,
                    {
                        "default_generation_settings": {"n_ctx": LLAMA_SERVER_N_CTX},
                        "total_slots": LLAMA_SERVER_SLOTS,
                        "chat_template": "chatml",
                    },
                )
            elif self.path == "/api/version" and flavor == "ollama":
                self._json(200, {"version": OLLAMA_VERSION})
            elif self.path == "/api/tags" and flavor == "ollama":
                details = {"format": "gguf", "family": "llama", "parameter_size": "135M"}
                self._json(200, {"models": [{"name": OLLAMA_MODEL, "model": OLLAMA_MODEL, "details": details}]})
            else:
                self._json(404, {"error": {"message": "not found"}})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
            state.requests.append((self.path, body))
            if state.statuses:
                status = state.statuses.pop(0)
                self._json(status, {"error": {"message": f"injected {status}", "code": status}})
            elif self.path == "/tokenize" and state.tokenize_answer is not None:
                self._json(200, state.tokenize_answer)
            elif self.path == "/tokenize" and state.tokenize and state.flavor == "vllm":
                text = "".join(m["content"] for m in body["messages"])
                self._json(200, {"count": len(text) // 4 + 3 * len(body["messages"]), "max_model_len": MAX_MODEL_LEN})
            elif self.path == "/tokenize" and state.tokenize and state.flavor == "llama-server":
                self._json(200, {"tokens": _fake_token_ids(body["content"])})
            elif self.path == "/extras/tokenize/count" and state.flavor == "llama-cpp-python":
                self._json(200, {"count": len(_fake_token_ids(body["input"]))})
            elif self.path == "/apply-template" and state.flavor == "llama-server":
                self._json(200, {"prompt": _chatml(body["messages"])})
            elif self.path == "/v1/chat/completions":
                self._chat_request(body)
            elif self.path == "/api/show" and state.flavor == "ollama":
                if body.get("model") not in (MODEL, OLLAMA_MODEL):
                    self._json(404, {"error": f"model '{body.get('model')}' not found"})
                    return
                info = {"general.architecture": "llama", "llama.context_length": OLLAMA_TRAINED_CTX}
                self._json(200, {"details": {"format": "gguf", "family": "llama"}, "model_info": info})
            elif self.path == "/api/chat" and state.flavor == "ollama":
                self._ollama_chat(body)
            else:
                self._json(404, {"error": {"message": "not found"}})

        def _chat_request(self, body: dict[str, Any]) -> None:
            refused = _refusal(state, body)
            if refused is not None and state.flavor == "llama-cpp-python" and body.get("stream"):
                self._begin_stream()  # it answers 200 first; the refusal then only ends the stream
                self.close_connection = True
                return
            if refused is not None:
                status = 500 if "response_format json_schema" in refused["message"] else 400
                self._json(status if state.flavor == "llama-cpp-python" else 400, {"error": refused})
                return
            probe = body.get("max_tokens") == 1  # the first token of a JSON reply, no reply used up
            if not probe:
                time.sleep(state.delay)
            reply = "{" if probe else state.replies.pop(0) if len(state.replies) > 1 else state.replies[0]
            if "grammar" in body:
                failure = _grammar_failure(body["grammar"], reply, whole=not probe)
                if failure is not None:
                    self._json(400, {"error": {"code": 400, "message": failure, "type": "invalid_request_error"}})
                    return
                state.grammars.append(body["grammar"])
            self._chat(body, reply)

        def _ollama_chat(self, body: dict[str, Any]) -> None:
            error = _ollama_refusal(state, body)
            if error is not None:
                self._json(404 if "not found" in error else 400, {"error": error})
                return
            options = body.get("options") or {}
            prompt_tokens = len(_fake_token_ids(_chatml(body["messages"])))
            if prompt_tokens > options.get("num_ctx", OLLAMA_DEFAULT_NUM_CTX):
                state.truncated += 1
            if options.get("num_predict") == 1:  # a probe
                reply = "{"
            else:
                time.sleep(state.delay)
                reply = state.replies.pop(0) if len(state.replies) > 1 else state.replies[0]
            base = {"model": body["model"], "created_at": "2025-01-01T00:00:00Z"}
            last = base | {
                "message": {"role": "assistant", "content": ""},
                "done": True,
                "done_reason": "stop",
                "total_duration": 1000,
                "prompt_eval_count": prompt_tokens,
                "eval_count": len(_fake_token_ids(reply)),
            }
            if body.get("stream") is False:
                self._json(200, last | {"message": {"role": "assistant", "content": reply}})
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson")
            self.send_header("Connection", "close")
            self.end_headers()
            pieces = [reply[i : i + 7] for i in range(0, len(reply), 7)]
            try:
                for index, piece in enumerate(pieces):
                    message = {"role": "assistant", "content": piece}
                    self._line(base | {"message": message, "done": False})
                    if state.ollama_stream_error and index == 0:
                        self._line({"error": state.ollama_stream_error})
                        self.close_connection = True
                        return
                    time.sleep(state.chunk_delay)
            except (BrokenPipeError, ConnectionResetError):
                state.disconnects += 1
                self.close_connection = True
                return
            self._line(last)
            self.close_connection = True

        def _line(self, payload: Any) -> None:
            self.wfile.write(json.dumps(payload).encode() + b"\n")
            self.wfile.flush()

        def _chat(self, body: dict[str, Any], reply: str) -> None:
            usage = {"prompt_tokens": 11, "completion_tokens": len(reply) // 4, "total_tokens": 11 + len(reply) // 4}
            base = {"id": "c1", "created": 0, "model": body["model"]}
            if not body.get("stream"):
                message = {"role": "assistant", "content": reply}
                choice = {"index": 0, "message": message, "finish_reason": "stop"}
                self._json(200, base | {"object": "chat.completion", "choices": [choice], "usage": usage})
                return
            self._begin_stream()
            pieces = [reply[i : i + 7] for i in range(0, len(reply), 7)]
            chunks = [{"index": 0, "delta": {"content": piece}, "finish_reason": None} for piece in pieces]
            chunks.append({"index": 0, "delta": {}, "finish_reason": "stop"})
            try:
                for choice in chunks:
                    self._event(base | {"object": "chat.completion.chunk", "choices": [choice]})
                    time.sleep(state.chunk_delay)
            except (BrokenPipeError, ConnectionResetError):
                state.disconnects += 1
                self.close_connection = True
                return
            if state.flavor == "llama-server":  # its last chunk carries timings; cache_n: tokens reused
                prompt_n = len(_fake_token_ids(_chatml(body["messages"])))
                self._event(
                    base
                    | {
                        "object": "chat.completion.chunk",
                        "choices": [],
                        "timings": {"cache_n": prompt_n // 2, "prompt_n": prompt_n - prompt_n // 2},
                    }
                )
            if state.stream_usage and state.flavor != "llama-cpp-python":
                self._event(base | {"object": "chat.completion.chunk", "choices": [], "usage": usage})
            self.wfile.write(b"data: [DONE]\n\n")
            self.close_connection = True

        def _begin_stream(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()

        def _event(self, payload: Any) -> None:
            self.wfile.write(f"data: {json.dumps(payload)}\n\n".encode())

    return Handler


def _model_card(flavor: str) -> dict[str, Any]:
    card: dict[str, Any] = {"id": MODEL, "object": "model", "created": 0}
    if flavor == "vllm":
        return card | {"owned_by": "vllm", "max_model_len": MAX_MODEL_LEN}
    if flavor == "llama-server":
        return card | {
            "owned_by": "llamacpp",
            "meta": {
                "vocab_type": 2,
                "n_vocab": 49152,
                "n_ctx_train": 8192,
                "n_embd": 576,
                "n_params": 134515008,
                "size": 98346240,
            },
        }
    if flavor == "ollama":
        return card | {"id": OLLAMA_MODEL, "owned_by": "library"}
    if flavor == "llama-cpp-python":
        return card | {"owned_by": "me", "permissions": []}
    return card | {"owned_by": "someone"}


def _chatml(messages: list[dict[str, str]]) -> str:
    return "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages) + "<|im_start|>assistant\n"


def _fake_token_ids(text: str) -> list[int]:
    """One token per 4 characters, as a stand-in tokenizer."""
    return [len(text[i : i + 4]) for i in range(0, len(text), 4)]


def _refusal(state: ServerState, body: dict[str, Any]) -> dict[str, Any] | None:
    """The error a server of this flavor answers for `body`, or None when it takes it."""
    for name in state.rejected_fields & body.keys():
        return {"message": f"Unrecognized request argument supplied: {name}", "type": "invalid_request_error"}
    accepted = _ACCEPTED[state.flavor]
    for name in _CONSTRAINING:
        if name not in body:
            continue
        kind = body[name].get("type") if name == "response_format" else None
        if (name, kind) not in accepted:
            return {"message": f"unsupported {name} {kind or ''}".strip(), "type": "invalid_request_error", "code": 400}
        if state.flavor == "ollama" and name == "response_format":
            state.formats.append(body[name]["json_schema"]["schema"] if kind == "json_schema" else "json")
    if state.flavor == "llama-cpp-python":
        prompt_tokens = len(_fake_token_ids("".join(m["content"] for m in body["messages"])))
        requested = prompt_tokens + (body.get("max_tokens") or 0)
        if requested > LLAMA_CPP_PYTHON_N_CTX:
            return {
                "message": f"This model's maximum context length is {LLAMA_CPP_PYTHON_N_CTX} tokens. However, "
                f"you requested {requested} tokens ({prompt_tokens} in the messages, {body.get('max_tokens')} "
                "in the completion). Please reduce the length of the messages or completion.",
                "type": "invalid_request_error",
            }
    if state.flavor == "llama-server":
        prompt_tokens = len(_fake_token_ids(_chatml(body["messages"])))
        if prompt_tokens >= LLAMA_SERVER_N_CTX:
            return {
                "code": 400,
                "message": "the request exceeds the available context size, try increasing it",
                "type": "exceed_context_size_error",
                "n_prompt_tokens": prompt_tokens,
                "n_ctx": LLAMA_SERVER_N_CTX,
            }
    return None


def _grammar_failure(grammar: Any, reply: str, *, whole: bool) -> str | None:
    """Why a `grammar` field is refused (llama-server: "Failed to parse grammar"), or, as a real
    server could not have written it, why `reply` does not match it; None when all is well."""
    import xgrammar

    try:
        compiled = xgrammar.GrammarCompiler(xgrammar.TokenizerInfo([])).compile_grammar(
            xgrammar.Grammar.from_ebnf(grammar)
        )
    except (RuntimeError, ValueError, TypeError) as error:
        return f"Failed to parse grammar: {str(error)[:200]}"
    matcher = xgrammar.GrammarMatcher(compiled, terminate_without_stop_token=True)
    if not matcher.accept_string(reply) or (whole and not matcher.is_terminated()):
        return f"stub: the reply {reply[:40]!r} does not match the grammar sent"
    return None


def _ollama_refusal(state: ServerState, body: dict[str, Any]) -> str | None:
    """Ollama's {"error": ...} message for a native /api/chat request it does not take, or None."""
    if body.get("model") not in (MODEL, OLLAMA_MODEL):
        return f"model '{body.get('model')}' not found"
    messages = body.get("messages")
    if not isinstance(messages, list) or not all(
        isinstance(m, dict)
        and m.get("role") in ("system", "user", "assistant", "tool")
        and isinstance(m.get("content"), str)
        for m in messages
    ):
        return "invalid message format"
    if not isinstance(body.get("options", {}), dict):
        return "invalid options"
    fmt = body.get("format")
    if fmt is None or fmt == "json" or (isinstance(fmt, dict) and state.ollama_schema_format):
        if fmt is not None:
            state.formats.append(fmt)
        return None
    return f"invalid format: {json.dumps(fmt)[:40]}"


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (the timeout test) breaks the pipe; that is expected here


class StubServer:
    def __init__(self, flavor: str = "vllm") -> None:
        self.state = ServerState(flavor=flavor)
        self._server = _QuietServer(("127.0.0.1", 0), _handler(self.state))
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> StubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
