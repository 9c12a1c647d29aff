"""`termagent "TASK"` (also `termagent run TASK`): the agent, in the TUI, a plain terminal, or headless."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from termagent.agent.cast import CastOptions
from termagent.cli.agent_options import ONE_RUN, add_agent_arguments, agent_config_from_args
from termagent.cli.engine_options import add_engine_arguments
from termagent.cli.sandbox_options import add_sandbox_arguments, sandbox_spec_from_args
from termagent.cli.subcommands import Subcommands
from termagent.cli.workspace_options import add_workspace_arguments, workspace_from_args
from termagent.errors import EXIT_CONFIG_ERROR, EXIT_INTERRUPTED, EXIT_NOT_COMPLETED, EXIT_OK, ConfigurationError
from termagent.paths import config_dir
from termagent.sandbox.disk import parse_size
from termagent.workspace.changes import ApplyAnswer


def register(subparsers: Subcommands) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "run",
        help='run the agent on a task (the default: `termagent "TASK"`)',
        description="Run the agent on TASK. Exit status: 0 completed and confirmed, 1 not completed "
        "(step limit, time limit, model gave up), 2 configuration or environment error, 130 interrupted "
        "(Ctrl-C twice, SIGTERM, or SIGHUP when the terminal closes).",
    )
    add_run_arguments(parser)
    parser.set_defaults(handler=run)
    return parser


def add_run_arguments(parser: argparse.ArgumentParser, *, with_task: bool = True) -> None:
    if with_task:
        parser.add_argument("task", metavar="TASK", help="what the agent should do")
    mode = parser.add_argument_group("mode")
    mode.add_argument("--headless", action="store_true", help="no person: `ask` decisions follow --approve")
    mode.add_argument("--no-tui", action="store_true", help="plain line-by-line interface with terminal approvals")
    mode.add_argument("--json", action="store_true", help="headless: print events as JSON lines")
    mode.add_argument("--config", help="config file (default: ~/.config/termagent/config.yaml)")
    policy = parser.add_argument_group("policy")
    limits = parser.add_argument_group("limits and records")
    add_agent_arguments(policy, limits, ONE_RUN)
    limits.add_argument("--trajectory", type=Path, help="JSONL trajectory (default: under ~/.local/state/termagent)")
    limits.add_argument("--cast", type=Path, help="record the sandbox terminal as an asciinema v2 file")
    limits.add_argument(
        "--cast-max-size",
        default="64m",
        metavar="SIZE",
        help="stop recording (with a note and a warning) when the --cast file reaches SIZE (default: %(default)s)",
    )
    add_engine_arguments(parser)
    add_sandbox_arguments(parser, profile_flag="--sandbox-profile")
    add_workspace_arguments(parser)


def config_path(args: argparse.Namespace) -> Path | None:
    if args.config:
        return Path(args.config)
    path = config_dir() / "config.yaml"
    return path if path.is_file() else None


def apply_config_file(parser: argparse.ArgumentParser, argv: list[str]) -> None:
    """Defaults from the config file; flags on the command line still win."""
    probe, _ = parser.parse_known_args(argv)
    path = config_path(probe)
    if path is None:
        return
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ConfigurationError(
            f"cannot read the config file {path}: {error}",
            hint="it is YAML with the long option names (`engine: openai`); --config FILE names another",
        ) from error
    known = set(vars(probe)) - {"handler"}
    settings = {key.replace("-", "_"): value for key, value in values.items()} if isinstance(values, dict) else None
    if settings is None or not set(settings) <= known:
        unknown = sorted(set(settings or {"(not a mapping)": 0}) - known)
        raise ConfigurationError(
            f"config file {path}: unknown setting(s) {', '.join(unknown)}",
            hint="settings are the long option names, e.g. `engine: openai`, `max-steps: 30`.",
        )
    parser.set_defaults(**settings)


def run(args: argparse.Namespace) -> int:
    from termagent.agent.runner import run_agent

    interactive = not args.headless and sys.stdin.isatty() and sys.stdout.isatty()
    config = agent_config_from_args(
        args,
        task=args.task,
        sandbox=sandbox_spec_from_args(args),
        approve_default="ask" if interactive else "deny",
        trajectory=args.trajectory,
        cast=_cast_options(args),
        workspace=workspace_from_args(args),
        apply_changes=args.apply,
        apply_git=args.apply_git,
    )
    if interactive and not args.no_tui:
        from termagent.tui.app import run_tui

        return _exit_status(run_tui(config))
    person = approve_changes = None
    if interactive:
        from termagent.policy.terminal_approver import TerminalApprover

        person = TerminalApprover()
        approve_changes = _ask_to_apply
    from termagent.views.event_lines import JsonLines, TextLines

    view = JsonLines() if args.json else TextLines()
    # Ctrl-C, SIGTERM and SIGHUP are handled during the run (termagent.agent.signals).
    result = run_agent(config, view, person=person, approve_changes=approve_changes, ctrl_c_interrupts=True)
    return _exit_status(result)


_MIN_CAST_SIZE = 1024  # room for the header, some output and the note that it was cut


def _cast_options(args: argparse.Namespace) -> CastOptions | None:
    if args.cast is None:
        return None
    try:
        max_bytes = parse_size(str(args.cast_max_size))  # the config file may give a number
    except (ValueError, KeyError, IndexError) as error:
        raise ConfigurationError(
            f"--cast-max-size {args.cast_max_size!r} is not a size.", hint="Give bytes with an optional unit: 64m, 1g."
        ) from error
    if max_bytes < _MIN_CAST_SIZE:
        raise ConfigurationError(
            f"--cast-max-size {args.cast_max_size!r} is too small for a recording.", hint="Give at least 1k."
        )
    return CastOptions(args.cast, max_bytes)


def _ask_to_apply(changes) -> ApplyAnswer:
    """The plain interface's review: the changes are already printed (event lines); ask once, and
    separately about the held-back ones (git data and hooks), if any."""
    from termagent.text_safety import printable

    answer = input(f"\nApply these changes to your workspace? {printable(changes.summary().splitlines()[0])} [y/N] ")
    if answer.strip().lower() not in ("y", "yes"):
        return ApplyAnswer.KEEP
    if not changes.held:
        return ApplyAnswer.APPLY
    answer = input(
        f"ALSO apply the {len(changes.held)} HELD-BACK change(s) listed above (git data and hooks: "
        "programs your next git command may run)? Type 'apply git' to apply them: "
    )
    return ApplyAnswer.APPLY_ALL if answer.strip().lower() == "apply git" else ApplyAnswer.APPLY


def _exit_status(result) -> int:
    from termagent.agent.loop import RunStatus

    if result.status is RunStatus.COMPLETED:
        return EXIT_OK
    if result.status is RunStatus.INTERRUPTED:
        return EXIT_INTERRUPTED
    if result.status is RunStatus.ERROR:
        return EXIT_CONFIG_ERROR
    return EXIT_NOT_COMPLETED
