"""Any OpenAI-compatible chat server; `vllm serve MODEL` is the normal way to run the seed model.

The schema goes as `response_format` json_schema (what current vLLM reads; the old `guided_json`
is silently ignored there), thinking is turned off through `chat_template_kwargs`, and the decoding
settings are always sent. Token counts come from vLLM's `/tokenize` when the server has it.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

from termagent.errors import TermagentError
from termagent.model.chat_render import CHAT_TEMPLATE_KWARGS
from termagent.model.context_budget import PrefixTokenCounter
from termagent.model.conversation import Message
from termagent.model.engines.base import Completion, DecodingSettings, TokenCallback, tightest_context
from termagent.model.schema import action_schema

# Without /tokenize, a deliberately low characters-per-token ratio over-counts rather than under-counts;
# each turn's markers cost a few tokens more. The server's own count of the last prompt anchors it.
ESTIMATE_CHARS_PER_TOKEN = 3
ESTIMATE_TOKENS_PER_TURN = 8
_TURN_SEPARATOR = "\x00"


def _estimate_tokens(text: str) -> int:
    return len(text) // ESTIMATE_CHARS_PER_TOKEN + ESTIMATE_TOKENS_PER_TURN * text.count(_TURN_SEPARATOR)


def _estimate_key(messages: list[Message]) -> str:
    return "".join(f"{_TURN_SEPARATOR}{m['role']}:{m['content']}" for m in messages)
PROBE_TIMEOUT_SECONDS = 5.0


def server_root(base_url: str) -> str:
    """`http://host:8000/v1` -> `http://host:8000` (vLLM serves /tokenize beside /v1)."""
    root = base_url.rstrip("/")
    return root[: -len("/v1")] if root.endswith("/v1") else root


def no_server_error(base_url: str, model: str) -> TermagentError:
    return TermagentError(
        f"no model server at {base_url}: start one with `vllm serve {model}`",
        hint="or pass --base-url for a server elsewhere, or --engine transformers to run the model in-process",
    )


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
        self._api_key = api_key
        self._tokenize_available = True
        self._estimate = PrefixTokenCounter(_estimate_tokens)
        self.max_model_len = tightest_context(max_model_len, self._served_max_model_len())

    def _served_max_model_len(self) -> int | None:
        try:
            served = self._client.with_options(timeout=PROBE_TIMEOUT_SECONDS).models.list().data
        except self._openai.APIConnectionError as error:
            raise no_server_error(self.base_url, self.model) from error
        except self._openai.AuthenticationError as error:
            raise TermagentError(
                f"the model server at {self.base_url} refused the API key", hint="pass the right one with --api-key"
            ) from error
        except self._openai.APIStatusError:
            return None  # a server without /models: fine, the context length stays unknown
        names = [entry.id for entry in served]
        if names and self.model not in names:
            raise TermagentError(
                f"the server at {self.base_url} does not serve {self.model}; it serves: {', '.join(names)}",
                hint=f"pass --model {names[0]}",
            )
        entry = next((entry for entry in served if entry.id == self.model), None)
        length = getattr(entry, "max_model_len", None)  # a vLLM extension of the model card
        return int(length) if isinstance(length, int) else None

    def request_arguments(self) -> dict[str, Any]:
        """Everything sent besides the messages."""
        arguments: dict[str, Any] = {
            "model": self.model,
            "temperature": self.settings.temperature,
            "top_p": self.settings.top_p,
            "max_tokens": self.settings.max_tokens,
            "extra_body": {"chat_template_kwargs": dict(CHAT_TEMPLATE_KWARGS)},
        }
        if self.settings.constrained:
            arguments["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "termagent_action", "schema": action_schema(), "strict": True},
            }
        return arguments

    def complete(self, messages: list[Message], *, on_token: TokenCallback | None = None) -> Completion:
        started = time.perf_counter()
        try:
            if on_token is None:
                response = self._client.chat.completions.create(messages=messages, **self.request_arguments())
                choice = response.choices[0]
                usage = response.usage
                text = choice.message.content or ""
                finish_reason = choice.finish_reason
            else:
                text, finish_reason, usage = self._stream(messages, on_token)
        except self._openai.APITimeoutError as error:
            raise TermagentError(
                f"the model server at {self.base_url} did not answer within {self._client.timeout} s",
                hint="a server on a CPU or a busy GPU may need a lower --max-tokens",
            ) from error
        except self._openai.APIConnectionError as error:
            raise no_server_error(self.base_url, self.model) from error
        except self._openai.APIStatusError as error:
            raise TermagentError(
                f"the model server at {self.base_url} answered {error.status_code}: {_error_message(error)}"
            ) from error
        if usage:
            self._estimate.remember(_estimate_key(messages), usage.prompt_tokens)
        return Completion(
            text=text,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            elapsed=time.perf_counter() - started,
            finish_reason=finish_reason,
        )

    def _stream(self, messages: list[Message], on_token: TokenCallback) -> tuple[str, str | None, Any]:
        stream = self._client.chat.completions.create(
            messages=messages, stream=True, stream_options={"include_usage": True}, **self.request_arguments()
        )
        pieces: list[str] = []
        finish_reason = usage = None
        for chunk in stream:
            usage = chunk.usage or usage
            if not chunk.choices:
                continue
            choice = chunk.choices[0]
            finish_reason = choice.finish_reason or finish_reason
            if choice.delta and choice.delta.content:
                pieces.append(choice.delta.content)
                on_token(choice.delta.content)
        return "".join(pieces), finish_reason, usage

    def count_tokens(self, messages: list[Message]) -> int:
        if self._tokenize_available:
            try:
                return self._tokenize(messages)
            except urllib.error.HTTPError as error:
                if error.code not in (404, 405):
                    raise TermagentError(f"counting tokens at {self.base_url} failed: HTTP {error.code}") from error
                self._tokenize_available = False  # not vLLM: estimate from now on
            except (urllib.error.URLError, TimeoutError) as error:
                raise no_server_error(self.base_url, self.model) from error
        return self._estimate(_estimate_key(messages))

    def _tokenize(self, messages: list[Message]) -> int:
        body = {
            "model": self.model,
            "messages": messages,
            "add_generation_prompt": True,
            "chat_template_kwargs": dict(CHAT_TEMPLATE_KWARGS),
        }
        request = urllib.request.Request(
            server_root(self.base_url) + "/tokenize",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"}
            | ({"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}),
        )
        with urllib.request.urlopen(request, timeout=PROBE_TIMEOUT_SECONDS * 6) as response:
            return int(json.load(response)["count"])

    def close(self) -> None:
        self._client.close()


def _error_message(error: Any) -> str:
    body = getattr(error, "body", None)
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error") or body)
    return str(error.message)
