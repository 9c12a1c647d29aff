"""Entry point of the `termagent` command.

Each subcommand lives in its own module exposing `register(subparsers)`, which returns its
parser; the module
imports its heavy dependencies inside the handler, so `termagent policy check` does
not pay for Docker or Textual.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from termagent import __version__
from termagent.errors import EXIT_CONFIG_ERROR, TermagentError, exit_status_for
from termagent.text_safety import printable

# name -> module with `register(subparsers)`; order is the order shown in --help.
SUBCOMMAND_MODULES = {
    "run": "termagent.cli.run_cmd",
    "sandbox": "termagent.cli.sandbox_cmd",
    "doctor": "termagent.cli.doctor_cmd",
    "replay": "termagent.cli.replay_cmd",
    "batch": "termagent.cli.batch_cmd",
    "policy": "termagent.cli.policy_cmd",
    "eval": "termagent.cli.eval_cmd",
    "export": "termagent.cli.export_cmd",
}


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The top-level parser, and each subcommand's own parser by name."""
    parser = argparse.ArgumentParser(
        prog="termagent",
        description="A terminal agent that runs a local model's keystrokes in a hardened Docker sandbox.",
    )
    parser.add_argument("--version", action="version", version=f"termagent {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands = {
        name: importlib.import_module(module_name).register(subparsers)
        for name, module_name in SUBCOMMAND_MODULES.items()
    }
    return parser, commands


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # `termagent "TASK" [options]` is `termagent run "TASK" [options]`.
    if argv and argv[0] not in SUBCOMMAND_MODULES and argv[0] not in ("-h", "--help", "--version"):
        argv = ["run", *argv]
    parser, commands = build_parser()
    try:
        if argv and argv[0] == "run":
            from termagent.cli.run_cmd import apply_config_file

            apply_config_file(commands["run"], argv[1:])
    except TermagentError as error:
        print(f"termagent: error: {printable(str(error))}", file=sys.stderr)
        return exit_status_for(error)
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_CONFIG_ERROR
    try:
        return int(args.handler(args) or 0)
    except TermagentError as error:
        print(f"termagent: error: {printable(str(error))}", file=sys.stderr)
        return exit_status_for(error)
    except KeyboardInterrupt as interrupt:
        print("termagent: interrupted", file=sys.stderr)
        return exit_status_for(interrupt)
    except BrokenPipeError:
        # The reader of our output went away (`| head`): nothing left to say to it.
        sys.stderr.close()
        return 1
