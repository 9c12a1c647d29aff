"""The workspace flags, for every command that starts a sandbox on the user's project."""

from __future__ import annotations

import argparse

from termagent.errors import TermagentError
from termagent.workspace import Workspace, WorkspaceMode


def add_workspace_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("workspace")
    group.add_argument("--workspace", metavar="DIR", help="the project to work on, at /app in the sandbox")
    group.add_argument("--workspace-mode", choices=[mode.value for mode in WorkspaceMode], default="copy",
                       help="copy: copied in, changes applied only after review (default); mount: DIR "
                            "bind-mounted read-write, changed directly; none: an empty /app")
    group.add_argument("--apply", action="store_true",
                       help="copy mode without a person to ask: apply the changes to DIR at the end")


def workspace_from_args(args: argparse.Namespace) -> Workspace:
    """The workspace the flags ask for; the default copy mode without --workspace is an empty /app."""
    mode = WorkspaceMode(args.workspace_mode)
    if args.workspace is None and mode is WorkspaceMode.COPY:
        mode = WorkspaceMode.NONE
    if args.apply and mode is not WorkspaceMode.COPY:
        raise TermagentError("--apply goes with a copied workspace.",
                             hint="Add --workspace DIR (with --workspace-mode copy, the default).")
    return Workspace(args.workspace, mode)
