"""A real HTTP server on 127.0.0.1 that speaks the OpenAI chat-completions API (as vLLM serves it,
with /tokenize and max_model_len) and records every request it gets."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODEL = "test/tiny-model"
MAX_MODEL_LEN = 4096


@dataclass
class ServerState:
    replies: list[str] = field(default_factory=list)  # served in order; then the last one again
    statuses: list[int] = field(default_factory=list)  # HTTP errors to answer first, one per request
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (path, JSON body)
    tokenize: bool = True
    delay: float = 0.0  # seconds before answering a chat request

    def chat_bodies(self) -> list[dict[str, Any]]:
        return [body for path, body in self.requests if path == "/v1/chat/completions"]


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
            if self.path == "/v1/models":
                model = {"id": MODEL, "object": "model", "created": 0, "owned_by": "test", "max_model_len": MAX_MODEL_LEN}
                self._json(200, {"object": "list", "data": [model]})
            else:
                self._json(404, {"error": {"message": "not found"}})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
            state.requests.append((self.path, body))
            if state.statuses:
                status = state.statuses.pop(0)
                self._json(status, {"error": {"message": f"injected {status}", "code": status}})
            elif self.path == "/tokenize" and state.tokenize:
                text = "".join(m["content"] for m in body["messages"])
                self._json(200, {"count": len(text) // 4 + 3 * len(body["messages"]), "max_model_len": MAX_MODEL_LEN})
            elif self.path == "/v1/chat/completions":
                time.sleep(state.delay)
                reply = state.replies.pop(0) if len(state.replies) > 1 else state.replies[0]
                self._chat(body, reply)
            else:
                self._json(404, {"error": {"message": "not found"}})

        def _chat(self, body: dict[str, Any], reply: str) -> None:
            usage = {"prompt_tokens": 11, "completion_tokens": len(reply) // 4, "total_tokens": 11 + len(reply) // 4}
            base = {"id": "c1", "created": 0, "model": body["model"]}
            if not body.get("stream"):
                message = {"role": "assistant", "content": reply}
                choice = {"index": 0, "message": message, "finish_reason": "stop"}
                self._json(200, base | {"object": "chat.completion", "choices": [choice], "usage": usage})
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            pieces = [reply[i : i + 7] for i in range(0, len(reply), 7)]
            chunks = [{"index": 0, "delta": {"content": piece}, "finish_reason": None} for piece in pieces]
            chunks.append({"index": 0, "delta": {}, "finish_reason": "stop"})
            for choice in chunks:
                self._event(base | {"object": "chat.completion.chunk", "choices": [choice]})
            self._event(base | {"object": "chat.completion.chunk", "choices": [], "usage": usage})
            self.wfile.write(b"data: [DONE]\n\n")
            self.close_connection = True

        def _event(self, payload: Any) -> None:
            self.wfile.write(f"data: {json.dumps(payload)}\n\n".encode())

    return Handler


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (the timeout test) breaks the pipe; that is expected here


class StubServer:
    def __init__(self) -> None:
        self.state = ServerState()
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
