"""`termagent sandbox ...`: build the image, open a shell, replay keystrokes, prune leftovers."""

from __future__ import annotations

import argparse
import json
import sys

from termagent.cli.sandbox_options import add_sandbox_arguments, sandbox_spec_from_args
from termagent.cli.subcommands import Subcommands
from termagent.errors import ConfigurationError


def register(subparsers: Subcommands) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "sandbox",
        help="build, try and clean up the sandbox",
        description="Build, try and clean up termagent's Docker sandbox.",
    )
    commands = parser.add_subparsers(dest="sandbox_command", metavar="SUBCOMMAND", required=True)

    shell = commands.add_parser("shell", help="an interactive shell in a fresh sandbox, removed on exit")
    add_sandbox_arguments(shell)
    shell.set_defaults(handler=_shell)

    run = commands.add_parser(
        "run",
        help="send keystrokes to a fresh sandbox as the model would, print what it observes",
        description="Each KEYSTROKES argument is one command's keystrokes: literal text (end it with a "
        "newline to run it: use $'...' in bash) or a whole tmux key name such as C-c.",
    )
    add_sandbox_arguments(run)
    run.add_argument(
        "--duration",
        type=float,
        default=1.0,
        help="each command's upper bound in seconds (default 1.0); it returns early when done",
    )
    run.add_argument("--json", action="store_true", help="one JSON object per command, then the screen")
    run.add_argument("keystrokes", nargs="+", metavar="KEYSTROKES")
    run.set_defaults(handler=_run)

    build = commands.add_parser("build", help="build the default sandbox image (cached)")
    build.add_argument(
        "--offline",
        action="store_true",
        help="no registry: make the root filesystem with debootstrap from Debian's archive",
    )
    build.add_argument("--mirror", help="Debian mirror for --offline")
    build.add_argument("--force", action="store_true", help="rebuild even when the image is up to date")
    build.set_defaults(handler=_build)

    prune = commands.add_parser("prune", help="remove sandbox containers left by killed termagent processes")
    prune.add_argument("--all", action="store_true", help="remove every termagent sandbox, running or not")
    prune.set_defaults(handler=_prune)
    return parser


def _shell(args: argparse.Namespace) -> int:
    from termagent.cli.terminal_bridge import bridge
    from termagent.sandbox.container import Sandbox
    from termagent.sandbox.lifecycle import sigterm_as_exit

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise ConfigurationError(
            "`termagent sandbox shell` needs a terminal.",
            hint="Use `termagent sandbox run KEYSTROKES...` from scripts.",
        )
    with sigterm_as_exit(), Sandbox(sandbox_spec_from_args(args)) as sandbox:
        _print_warnings(sandbox.shell.warnings)
        sys.stdout.write(sandbox.shell.screen_text())
        sys.stdout.flush()
        bridge(sandbox.shell)
    print("\ntermagent: sandbox removed.", file=sys.stderr)
    return 0


def _run(args: argparse.Namespace) -> int:
    from termagent.sandbox.container import Sandbox
    from termagent.sandbox.lifecycle import sigterm_as_exit
    from termagent.text_safety import json_line, printable

    with sigterm_as_exit(), Sandbox(sandbox_spec_from_args(args)) as sandbox:
        shell = sandbox.shell
        _print_warnings(shell.warnings)
        for keystrokes in args.keystrokes:
            result = shell.run(keystrokes, args.duration)
            if args.json:
                print(json_line(result.to_dict()), flush=True)
            else:
                state = f"exit {result.exit_status}" if result.finished else f"still running: {result.foreground}"
                print(printable(f"--- {json.dumps(keystrokes)} [{state}, {result.elapsed:.3f}s, cwd {result.cwd}]"))
                print(printable(result.output), flush=True)
            if not result.alive:
                print("termagent: the sandbox shell has exited.", file=sys.stderr)
                break
        if args.json:
            print(json_line({"screen": shell.screen_text()}))
        else:
            print("--- screen\n" + printable(shell.screen_text()))
    return 0


def _build(args: argparse.Namespace) -> int:
    from rich.console import Console

    from termagent.sandbox.docker_connect import connect
    from termagent.sandbox.image import DEFAULT_MIRROR, build_image

    console = Console(stderr=True)
    with console.status("building the sandbox image") as status:

        def progress(message: str) -> None:
            if console.is_terminal:
                status.update(message)
            else:
                console.print(message, highlight=False)

        image = build_image(
            connect(), offline=args.offline, progress=progress, mirror=args.mirror or DEFAULT_MIRROR, force=args.force
        )
    console.print(f"sandbox image ready: {image}")
    return 0


def _prune(args: argparse.Namespace) -> int:
    from termagent.sandbox.docker_connect import connect
    from termagent.sandbox.lifecycle import reap_orphans

    removed = reap_orphans(connect(), everything=args.all)
    print(f"removed {len(removed)} sandbox container(s)" + (": " + ", ".join(removed) if removed else ""))
    return 0


def _print_warnings(warnings: list[str]) -> None:
    for warning in warnings:
        print(f"termagent: warning: {warning}", file=sys.stderr)
