"""The workspace fixture: a project copied into a running sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from termagent.workspace import Workspace, WorkspaceMode


@pytest.fixture
def copied(sandbox_factory):
    """copied(directory, profile="default") -> (workspace, sandbox), the directory copied into /app."""
    opened = []

    def start(directory: Path, profile: str = "default"):
        workspace = Workspace(directory, WorkspaceMode.COPY)
        opened.append(workspace)
        sandbox = sandbox_factory(profile)
        workspace.populate(sandbox.container)
        return workspace, sandbox

    yield start
    for workspace in opened:
        workspace.close()
