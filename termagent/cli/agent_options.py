"""The agent's command-line options (policy, approvals, limits), shared by `run`, `batch` and
`eval live`, and the part of a `RunConfig` built from them."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from termagent.cli.engine_options import instructions_from_args, options_from_args

if TYPE_CHECKING:
    from termagent.agent.runner import RunConfig
    from termagent.sandbox.container import SandboxSpec


class ArgumentAdder(Protocol):
    """A parser or an argument group of one."""

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action: ...


@dataclass(frozen=True)
class AgentFlags:
    """Where the options differ: one run with a person at hand, or many tasks without one."""

    policy_default: str | None
    policy_help: str
    approve_choices: tuple[str, ...]
    approve_default: str | None
    approve_help: str
    timeout_help: str


ONE_RUN = AgentFlags(
    policy_default=None,
    policy_help="policy name or file (default: your policy file, else `default`)",
    approve_choices=("ask", "deny", "allow"),
    approve_default=None,
    approve_help="what an `ask` becomes without a person (headless default: deny; never overrides a deny)",
    timeout_help="wall-clock limit in seconds",
)
# Tasks run without a person: `ask` cannot be answered, so it is denied or allowed.
PER_TASK = AgentFlags(
    policy_default="sandboxed-auto",
    policy_help="policy for tasks that name none (default: %(default)s)",
    approve_choices=("deny", "allow"),
    approve_default="deny",
    approve_help="what `ask` becomes (default: %(default)s)",
    timeout_help="per-task wall-clock limit in seconds (default: the task's, else none)",
)


def add_agent_arguments(policy: ArgumentAdder, limits: ArgumentAdder, flags: AgentFlags) -> None:
    policy.add_argument("--policy", default=flags.policy_default, help=flags.policy_help)
    policy.add_argument(
        "--approve", choices=list(flags.approve_choices), default=flags.approve_default, help=flags.approve_help
    )
    limits.add_argument("--max-steps", type=int, default=50, help="(default: %(default)s)")
    limits.add_argument("--timeout", type=float, default=None, help=flags.timeout_help)


def agent_config_from_args(
    args: argparse.Namespace, *, task: str, sandbox: SandboxSpec, approve_default: str = "deny", **extra: Any
) -> RunConfig:
    """The run configuration of the agent and engine options; `extra` sets the other fields."""
    from termagent.agent.loop import AgentLimits
    from termagent.agent.runner import RunConfig
    from termagent.policy.loader import default_reference

    return RunConfig(
        task=task,
        engine=options_from_args(args),
        sandbox=sandbox,
        policy=args.policy or default_reference(),
        approve=args.approve or approve_default,
        limits=AgentLimits(max_steps=args.max_steps, timeout=args.timeout),
        instructions=instructions_from_args(args),
        **extra,
    )
