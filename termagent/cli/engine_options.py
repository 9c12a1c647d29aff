"""The model-engine flags, shared by every subcommand that talks to a model (agent, eval)."""

from __future__ import annotations

import argparse

from termagent.model.conversation import load_instructions
from termagent.model.engines.auto import (
    DEFAULT_BASE_URL,
    ENGINE_KINDS,
    SEED_MODEL,
    EngineChoice,
    EngineOptions,
    create_engine,
)
from termagent.model.engines.base import DecodingSettings

_CARD = DecodingSettings()


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model engine")
    group.add_argument(
        "--engine",
        choices=ENGINE_KINDS,
        default="auto",
        help="where the model runs; auto: the server at --base-url if one listens (a busy one is waited "
        "for), else in-process vLLM (with a GPU), else transformers (default: auto)",
    )
    group.add_argument(
        "--model", default=SEED_MODEL, help="model id, local folder or .gguf file (default: %(default)s)"
    )
    group.add_argument("--base-url", default=DEFAULT_BASE_URL, help="OpenAI-compatible server (default: %(default)s)")
    group.add_argument("--api-key", default=None, help="API key for the server, if it wants one")
    group.add_argument("--replay", metavar="FILE", default=None, help='replay recorded replies (JSONL, {"reply": ...})')
    group.add_argument("--temperature", type=float, default=_CARD.temperature, help="(default: %(default)s)")
    group.add_argument("--top-p", type=float, default=_CARD.top_p, help="(default: %(default)s)")
    group.add_argument(
        "--max-tokens", type=int, default=_CARD.max_tokens, help="reply length limit (default: %(default)s)"
    )
    group.add_argument(
        "--max-model-len",
        type=int,
        default=None,
        help="context length in tokens (default: what the engine or server reports, else its stated default)",
    )
    group.add_argument(
        "--prompt-template",
        metavar="FILE",
        default=None,
        help="instructions for the model, replacing the built-in ones",
    )
    group.add_argument("--gpu-memory-utilization", type=float, default=0.9, help="vllm engine (default: %(default)s)")
    group.add_argument("--tensor-parallel-size", type=int, default=1, help="vllm engine (default: %(default)s)")
    group.add_argument(
        "--no-constrained",
        dest="constrained",
        action="store_false",
        help="do not constrain decoding to the action schema (replies are then parsed leniently)",
    )


def options_from_args(args: argparse.Namespace) -> EngineOptions:
    return EngineOptions(
        kind=args.engine,
        model=args.model,
        base_url=args.base_url,
        api_key=args.api_key,
        replay_path=args.replay,
        settings=DecodingSettings(
            temperature=args.temperature, top_p=args.top_p, max_tokens=args.max_tokens, constrained=args.constrained
        ),
        max_model_len=args.max_model_len,
        gpu_memory_utilization=args.gpu_memory_utilization,
        tensor_parallel_size=args.tensor_parallel_size,
    )


def engine_from_args(args: argparse.Namespace) -> EngineChoice:
    return create_engine(options_from_args(args))


def instructions_from_args(args: argparse.Namespace) -> str:
    return load_instructions(args.prompt_template)
