"""Build the engine the user asked for; `auto` picks the best one this machine can run."""

from __future__ import annotations

import importlib.util
import socket
import sys
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypedDict

from termagent.errors import ConfigurationError, ModelServerError
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
    reason: str  # for the user: which engine and why, what it could switch on, and any warning
    warnings: tuple[str, ...] = ()  # what the engine could not switch on; every view shows them


def _to_stderr(message: str) -> None:
    print(f"termagent: {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class EnginePlan:
    """The engine a run would build on this machine, before anything is loaded."""

    kind: str  # one of ENGINE_KINDS but "auto"
    reason: str  # why this one, for the user


def plan_engine(options: EngineOptions) -> EnginePlan:
    """The one choice of engine, shared by runs and `termagent doctor`: what was asked, or for
    `auto` the best this machine can run."""
    if options.kind not in ENGINE_KINDS:
        raise ConfigurationError(f"unknown engine {options.kind!r}", hint=f"choose one of {', '.join(ENGINE_KINDS)}")
    if options.kind != "auto":
        return EnginePlan(options.kind, "as asked")
    if options.replay_path:
        return EnginePlan("replay", f"replay of {options.replay_path}, --replay given")
    if server_listening(options.base_url):
        # A server that is there is used, however slowly it answers: it is waited for, never replaced.
        return EnginePlan("openai", f"a server listens at {options.base_url}")
    if vllm_usable():
        return EnginePlan("vllm", f"in-process: no server at {options.base_url}; vllm and a GPU are here")
    if not transformers_installed():
        raise ModelServerError(
            f"no engine available: no model server at {options.base_url}, and neither vllm nor transformers "
            "is installed",
            hint=f"start a server with `vllm serve {options.model}`, or pip install 'termagent[transformers]'",
        )
    return EnginePlan("transformers", f"in-process: no server at {options.base_url}, no vllm with a GPU")


def create_engine(options: EngineOptions, *, on_wait: Callable[[str], None] = _to_stderr) -> EngineChoice:
    """`on_wait` hears progress while a busy server is waited for."""
    plan = plan_engine(options)
    engine = _build(plan.kind, options, on_wait)
    warnings = tuple(getattr(engine, "warnings", ()))
    details = f"\n  {engine.describe()}" if hasattr(engine, "describe") else ""
    loud = "".join(f"\n  WARNING: {warning}" for warning in warnings)
    return EngineChoice(engine, f"engine: {engine.name} ({plan.reason}){details}{loud}", warnings)


class _CommonOptions(TypedDict):
    """What every engine takes."""

    settings: DecodingSettings | None
    max_model_len: int | None


def _build(kind: str, options: EngineOptions, on_wait: Callable[[str], None] = _to_stderr) -> Engine:
    common = _CommonOptions(settings=options.settings, max_model_len=options.max_model_len)
    if kind == "openai":
        from termagent.model.engines.openai_server import OpenAIServerEngine

        return OpenAIServerEngine(
            options.model, base_url=options.base_url, api_key=options.api_key, on_wait=on_wait, **common
        )
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
        raise ConfigurationError("--engine replay needs --replay FILE (a JSONL file of recorded replies)")
    return ReplayEngine(options.replay_path, **common)


def server_listening(base_url: str) -> bool:
    """Whether something accepts connections at `base_url`'s host and port. Only the connection:
    a busy single-request server may take minutes to answer, and must not be mistaken for none."""
    url = urllib.parse.urlsplit(base_url)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "localhost", port), timeout=PROBE_SECONDS):
            return True
    except OSError:
        return False


def gpu_present() -> bool:
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return torch.cuda.is_available()


def vllm_usable() -> bool:
    return importlib.util.find_spec("vllm") is not None and gpu_present()


def transformers_installed() -> bool:
    return importlib.util.find_spec("transformers") is not None
