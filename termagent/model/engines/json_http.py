"""JSON over HTTP with urllib, for the endpoints the openai client does not know: tokenizers,
server properties, and Ollama's native API (whose stream is NDJSON, not server-sent events)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from http.client import HTTPResponse
from typing import Any

from termagent.model.engines.server_dialects import UnexpectedShape


class HttpStatusError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"HTTP {status}")
        self.status, self.body = status, body


class JsonHttp:
    def __init__(self, root: str, api_key: str | None, timeout: float) -> None:
        self.root, self.timeout = root, timeout
        self._headers = {"Content-Type": "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"

    def __call__(self, path: str, body: dict[str, Any] | None = None, *, timeout: float | None = None) -> Any:
        with self.open(path, body, timeout=timeout) as response:
            try:
                return json.load(response)
            except json.JSONDecodeError as error:
                raise UnexpectedShape(f"{path} answered something that is not JSON") from error

    def open(self, path: str, body: dict[str, Any] | None = None, *, timeout: float | None = None) -> HTTPResponse:
        """The response to read (a stream); closing it tells the server the request is abandoned.
        An error status is HttpStatusError with the answer's JSON body."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.root + path, data=data, headers=self._headers)
        try:
            response: HTTPResponse = urllib.request.urlopen(request, timeout=timeout or self.timeout)
        except urllib.error.HTTPError as error:
            raise HttpStatusError(error.code, _read_error_body(error)) from error
        return response


def _read_error_body(error: urllib.error.HTTPError) -> Any:
    try:
        return json.loads(error.read() or b"null")
    except (ValueError, OSError):
        return None
