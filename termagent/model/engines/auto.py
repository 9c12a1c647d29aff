"""Build the engine the user asked for; `auto` picks the best one this machine can run."""

from __future__ import annotations

import importlib.util
import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from termagent.errors import TermagentError
from termagent.model.engines.base import DecodingSettings, Engine

SEED_MODEL = "LLM-OS-Models/gemma-4-E4B-Terminal-SFT-Native-Liquid-1Epoch"
DEFAULT_BASE_URL = "http://localhost:8000/v1"
ENGINE_KINDS = ("auto", "openai", "vllm", "transformers", "replay")
PROBE_SECONDS = 2.0


@dataclass(frozen=True)
class EngineOptions:
    kind: str = "auto"
    model: str = SEED_MODEL
    base_url: str = DEFAULT_BASE_URL
    api_key: str | None = None
    replay_path: str | None = None
    settings: DecodingSettings = field(default_factory=DecodingSettings)
    max_model_len: int | None = None
    gpu_memory_utilization: float = 0.9
    tensor_parallel_size: int = 1


@dataclass(frozen=True)
class EngineChoice:
    engine: Engine
    reason: str  # one line for the user: which engine, and why


def create_engine(options: EngineOptions) -> EngineChoice:
    if options.kind == "auto":
        return _auto(options)
    if options.kind not in ENGINE_KINDS:
        raise TermagentError(f"unknown engine {options.kind!r}", hint=f"choose one of {', '.join(ENGINE_KINDS)}")
    return EngineChoice(_build(options.kind, options), f"engine: {options.kind} (as asked)")


def _build(kind: str, options: EngineOptions) -> Engine:
    common = {"settings": options.settings, "max_model_len": options.max_model_len}
    if kind == "openai":
        from termagent.model.engines.openai_server import OpenAIServerEngine

        return OpenAIServerEngine(options.model, base_url=options.base_url, api_key=options.api_key, **common)
    if kind == "vllm":
        from termagent.model.engines.vllm_inprocess import VllmEngine

        return VllmEngine(
            options.model,
            gpu_memory_utilization=options.gpu_memory_utilization,
            tensor_parallel_size=options.tensor_parallel_size,
            **common,
        )
    if kind == "transformers":
        from termagent.model.engines.transformers_local import TransformersEngine

        return TransformersEngine(options.model, **common)
    from termagent.model.engines.replay import ReplayEngine

    if not options.replay_path:
        raise TermagentError("--engine replay needs --replay FILE (a JSONL file of recorded replies)")
    return ReplayEngine(options.replay_path, **common)


def server_answers(base_url: str, api_key: str | None = None) -> bool:
    """Whether an OpenAI-compatible server answers GET /models at `base_url`."""
    request = urllib.request.Request(
        base_url.rstrip("/") + "/models", headers={"Authorization": f"Bearer {api_key}"} if api_key else {}
    )
    try:
        with urllib.request.urlopen(request, timeout=PROBE_SECONDS) as response:
            return isinstance(json.load(response), dict)
    except (OSError, ValueError):  # URLError and timeouts are OSErrors
        return False


def gpu_present() -> bool:
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return torch.cuda.is_available()


def _auto(options: EngineOptions) -> EngineChoice:
    if options.replay_path:
        return EngineChoice(_build("replay", options), f"engine: replay of {options.replay_path} (--replay given)")
    if server_answers(options.base_url, options.api_key):
        return EngineChoice(_build("openai", options), f"engine: openai, the server at {options.base_url} answered")
    if importlib.util.find_spec("vllm") is not None and gpu_present():
        return EngineChoice(
            _build("vllm", options), f"engine: vllm in-process (no server at {options.base_url}; vllm and a GPU are here)"
        )
    if importlib.util.find_spec("transformers") is None:
        raise TermagentError(
            f"no engine available: no model server at {options.base_url}, and neither vllm nor transformers is installed",
            hint=f"start a server with `vllm serve {options.model}`, or pip install 'termagent[transformers]'",
        )
    return EngineChoice(
        _build("transformers", options),
        f"engine: transformers in-process (no server at {options.base_url}, no vllm with a GPU)",
    )
