"""Workspaces: the user's project in the sandbox at /app (copied, mounted, or none), and the
changes brought back for review. Knows Docker containers and host directories, nothing else."""

from termagent.workspace.apply import ApplyResult, Conflict
from termagent.workspace.changes import ApplyAnswer, Change, WorkspaceChanges
from termagent.workspace.members import CollectLimits
from termagent.workspace.modes import Workspace, WorkspaceMode, mount_warning

__all__ = [
    "ApplyAnswer",
    "ApplyResult",
    "Change",
    "CollectLimits",
    "Conflict",
    "Workspace",
    "WorkspaceChanges",
    "WorkspaceMode",
    "mount_warning",
]
