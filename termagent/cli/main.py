"""Entry point of the `termagent` command.

Each subcommand lives in its own module exposing `register(subparsers)`; the module
imports its heavy dependencies inside the handler, so `termagent policy check` does
not pay for Docker or Textual.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from termagent import __version__
from termagent.errors import TermagentError

# name -> module with `register(subparsers)`; order is the order shown in --help.
SUBCOMMAND_MODULES = {
    "sandbox": "termagent.cli.sandbox_cmd",
    "policy": "termagent.cli.policy_cmd",
}

EXIT_CONFIG_ERROR = 2
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="termagent",
        description="A terminal agent that runs a local model's keystrokes in a hardened Docker sandbox.",
    )
    parser.add_argument("--version", action="version", version=f"termagent {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in SUBCOMMAND_MODULES.values():
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_CONFIG_ERROR
    try:
        return int(args.handler(args) or 0)
    except TermagentError as error:
        print(f"termagent: error: {error}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    except KeyboardInterrupt:
        print("termagent: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
