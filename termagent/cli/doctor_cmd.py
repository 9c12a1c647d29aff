"""`termagent doctor`: check Docker, the sandbox image, the model engine and the policy, and say
what to do about each failure."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from termagent.cli.engine_options import add_engine_arguments
from termagent.cli.sandbox_options import add_sandbox_arguments
from termagent.cli.subcommands import Subcommands
from termagent.errors import ConfigurationError, ModelServerError, SandboxError, TermagentError


def register(subparsers: Subcommands) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("doctor", help="check Docker, the image, the model and the policy")
    parser.add_argument("--policy", default=None, help="policy to check (default: your policy file, else `default`)")
    add_engine_arguments(parser)
    add_sandbox_arguments(parser, profile_flag="--sandbox-profile")
    parser.set_defaults(handler=doctor)
    return parser


def doctor(args: argparse.Namespace) -> int:
    checks: list[tuple[str, Callable[[], str]]] = [
        ("docker engine", _docker),
        ("sandbox image", lambda: _image(args.image)),
        ("model engine", lambda: _engine(args)),
        ("policy", lambda: _policy(args.policy)),
    ]
    failures = 0
    for name, check in checks:
        try:
            print(f"  ok    {name}: {check()}")
        except TermagentError as error:
            failures += 1
            print(f"  FAIL  {name}: {error.message}" + (f"\n        fix: {error.hint}" if error.hint else ""))
    print("all checks passed" if not failures else f"{failures} check(s) failed")
    return 0 if not failures else 2


def _docker() -> str:
    from termagent.sandbox.docker_connect import connect

    version = connect().version()
    return f"Docker {version.get('Version')} (API {version.get('ApiVersion')})"


def _image(image: str) -> str:
    from docker.errors import ImageNotFound

    from termagent.sandbox import DEFAULT_IMAGE
    from termagent.sandbox.docker_connect import connect
    from termagent.sandbox.image import image_is_current

    client = connect()
    try:
        client.images.get(image)
    except ImageNotFound:
        hint = "termagent sandbox build (or --offline)" if image == DEFAULT_IMAGE else f"docker pull {image}"
        raise SandboxError(f"{image} is not there", hint=f"run `{hint}`") from None
    if image == DEFAULT_IMAGE and not image_is_current(client):
        return f"{image} (built from an older recipe: `termagent sandbox build` updates it)"
    return image


def _engine(args: argparse.Namespace) -> str:
    """What the run would build (`plan_engine`), and whether it can: the file, the server, the
    GPU or the weights it needs."""
    from termagent.cli.engine_options import options_from_args
    from termagent.model.engines.auto import plan_engine, server_listening, transformers_installed, vllm_usable

    options = options_from_args(args)
    plan = plan_engine(options)
    if plan.kind == "replay":
        if not options.replay_path or not Path(options.replay_path).is_file():
            raise ConfigurationError(
                f"no replay file {options.replay_path!r}", hint='pass --replay FILE (JSONL of {"reply": ...})'
            )
        return f"replay of {options.replay_path}"
    if plan.kind == "openai":
        # `auto` chose it because a server listens; asked for, it may not.
        if options.kind == "openai" and not server_listening(options.base_url):
            raise ModelServerError(
                f"no model server at {options.base_url}", hint=f"start one: `vllm serve {options.model}`"
            )
        return _server(options)
    if plan.kind == "vllm":
        if not vllm_usable():
            raise ModelServerError(
                "vllm needs a CUDA GPU and `pip install 'termagent[vllm]'`",
                hint=f"or run the model elsewhere and pass --base-url (now {options.base_url})",
            )
        return f"vllm in-process with a GPU (no server at {options.base_url})"
    if not transformers_installed():
        raise ModelServerError(
            f"no model server at {options.base_url} and transformers is not installed",
            hint=f"start a server with `vllm serve {options.model}`, or pip install 'termagent[transformers]'",
        )
    if not _weights_on_disk(options.model):
        raise ModelServerError(
            f"no model server at {options.base_url}, and the weights of {options.model} are not on this machine",
            hint=f"start a server (`vllm serve {options.model}`), or download the model first "
            f"(`huggingface-cli download {options.model}`), or pass --model LOCAL_DIR",
        )
    return f"transformers in-process would load {options.model} (no server at {options.base_url}; slow on a CPU)"


def _server(options) -> str:
    """Check the server as a run would use it: the model name, a one-token constrained request in
    the dialect it takes, and a token count."""
    from termagent.model.conversation import Conversation
    from termagent.model.engines.openai_server import OpenAIServerEngine

    engine = OpenAIServerEngine(
        options.model,
        base_url=options.base_url,
        api_key=options.api_key,
        settings=options.settings,
        max_model_len=options.max_model_len,
        probe=True,
        on_wait=lambda message: print(f"        {message}", flush=True),
    )
    try:
        if options.settings.constrained and engine.dialect is None:
            raise ModelServerError(engine.warnings[0], hint="or pass --no-constrained to accept lenient parsing")
        tokens = engine.count_tokens(Conversation("print the date", "$ ").messages)
        request = "a one-token constrained request answered" if engine.dialect else "constrained decoding not asked"
        warnings = "".join(f"\n        warning: {warning}" for warning in engine.warnings)
        return (
            f"{engine.describe()}; {options.model} is served; {request}; a first prompt counts {tokens} tokens"
            + warnings
        )
    finally:
        engine.close()


def _weights_on_disk(model: str) -> bool:
    if Path(model).expanduser().is_dir():
        return True
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(model, "config.json"), str)


def _policy(reference: str | None) -> str:
    from termagent.policy.loader import default_reference, load_policy

    policy = load_policy(reference or default_reference())
    return f"{policy.name} ({len(policy.rules)} rules)"
