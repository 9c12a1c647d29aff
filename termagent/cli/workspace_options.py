"""The workspace flags, for every command that starts a sandbox on the user's project."""

from __future__ import annotations

import argparse

from termagent.errors import ConfigurationError
from termagent.sandbox.disk import parse_size
from termagent.workspace import CollectLimits, Workspace, WorkspaceMode

_DEFAULTS = CollectLimits()


def add_workspace_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("workspace")
    group.add_argument("--workspace", metavar="DIR", help="the project to work on, at /app in the sandbox")
    group.add_argument(
        "--workspace-mode",
        choices=[mode.value for mode in WorkspaceMode],
        default="copy",
        help="copy: copied in, changes applied only after review (default); mount: DIR "
        "bind-mounted read-write (setuid bits refused), changed directly; none: an empty /app",
    )
    group.add_argument(
        "--apply",
        action="store_true",
        help="copy mode without a person to ask: apply the changes to DIR at the end "
        "(not changes to .git/ and git hook files: see --apply-git)",
    )
    group.add_argument(
        "--apply-git",
        action="store_true",
        help="with --apply, also apply the held-back changes: anything under .git/ and git "
        "hook or config files, which can make your machine run programs later",
    )
    group.add_argument(
        "--collect-max-size",
        metavar="SIZE",
        default=f"{_DEFAULTS.max_bytes >> 20}m",
        help="stop collecting the changes when /app holds more (default: %(default)s)",
    )
    group.add_argument(
        "--collect-max-files",
        metavar="N",
        type=int,
        default=_DEFAULTS.max_files,
        help="stop collecting the changes when /app holds more entries (default: %(default)s)",
    )


def workspace_from_args(args: argparse.Namespace) -> Workspace:
    """The workspace the flags ask for; the default copy mode without --workspace is an empty /app."""
    mode = WorkspaceMode(args.workspace_mode)
    if args.workspace is None and mode is WorkspaceMode.COPY:
        mode = WorkspaceMode.NONE
    if args.apply and mode is not WorkspaceMode.COPY:
        raise ConfigurationError(
            "--apply goes with a copied workspace.",
            hint="Add --workspace DIR (with --workspace-mode copy, the default).",
        )
    if args.apply_git and not args.apply:
        raise ConfigurationError(
            "--apply-git goes with --apply.",
            hint="Use both, or answer the TUI's separate question about held-back changes.",
        )
    try:
        limits = CollectLimits(max_bytes=parse_size(args.collect_max_size), max_files=args.collect_max_files)
    except (ValueError, KeyError, IndexError) as error:
        raise ConfigurationError(
            f"--collect-max-size {args.collect_max_size!r} is not a size.",
            hint="Give bytes with an optional unit: 500m, 4g.",
        ) from error
    return Workspace(args.workspace, mode, limits)
