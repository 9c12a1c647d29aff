"""`termagent policy check`: judge keystrokes against a policy, one string or a batch."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from termagent.cli.subcommands import Subcommands
from termagent.errors import ConfigurationError
from termagent.jsonl import read_json_lines

if TYPE_CHECKING:
    from termagent.policy.engine import Policy
    from termagent.policy.state import TerminalState


def register(subparsers: Subcommands) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("policy", help="inspect and debug policies")
    actions = parser.add_subparsers(dest="policy_command", metavar="ACTION", required=True)
    check = actions.add_parser(
        "check",
        help="judge keystrokes against a policy",
        description="Judge one keystroke string (as the model would send it; use $'...' for \\n) "
        "or, with --batch, one JSON string per input line. Exit status 0 whatever the decision.",
    )
    check.add_argument(
        "--policy",
        metavar="NAME_OR_FILE",
        help="a shipped policy name or a file (default: your policy file if it exists, else `default`)",
    )
    check.add_argument(
        "--foreground", default="shell", metavar="shell|PROGRAM", help="what holds the terminal (default: shell)"
    )
    check.add_argument(
        "--uncertain",
        action="store_true",
        help="judge as if it were not sure who holds the terminal (as a command line and as a program's input)",
    )
    check.add_argument("--json", action="store_true", help="print a JSON object")
    check.add_argument(
        "--batch",
        metavar="FILE",
        help="judge one JSON string per line of FILE (- for stdin); prints one JSON object per line",
    )
    check.add_argument("keystrokes", nargs="?", help="the keystrokes to judge")
    check.set_defaults(handler=run_check)
    return parser


def run_check(args: argparse.Namespace) -> int:
    from termagent.policy.loader import default_reference, load_policy
    from termagent.policy.state import TerminalState
    from termagent.text_safety import escape_for_display

    if (args.batch is None) == (args.keystrokes is None):
        raise ConfigurationError(
            "give either KEYSTROKES or --batch FILE", hint="e.g. termagent policy check $'ls -la\\n'"
        )
    policy = load_policy(args.policy or default_reference())
    state = TerminalState(foreground=None if args.foreground == "shell" else args.foreground, uncertain=args.uncertain)
    if args.batch is not None:
        return _run_batch(policy, state, args.batch)
    verdict = policy.judge(args.keystrokes, state)
    if args.json:
        print(json.dumps(verdict.to_json()))
        return 0
    print(
        f"decision: {verdict.decision}\nrule:     {verdict.rule}\nreason:   {verdict.reason}\n"
        f"keys:     {verdict.keystrokes}\npolicy:   {policy.name} ({policy.source})"
    )
    print("commands: " + (" ; ".join(verdict.commands) if verdict.commands else "(none)"))
    if verdict.findings:
        print("found:")
        for finding in verdict.findings:
            print(
                f"  {finding.decision!s:5}  {finding.rule:28} {escape_for_display(finding.command or finding.reason)}"
            )
    return 0


def _run_batch(policy: Policy, state: TerminalState, source: str) -> int:
    for place, keystrokes in read_json_lines(source, "keystrokes file", each="a JSON string"):
        if not isinstance(keystrokes, str):
            raise ConfigurationError(
                f"{place}: expected a JSON string, got {type(keystrokes).__name__}",
                hint='--batch FILE holds one JSON string of keystrokes per line, e.g. "ls -la\\n"',
            )
        print(json.dumps(policy.judge(keystrokes, state).to_json()))
    return 0
