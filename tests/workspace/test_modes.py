"""Mount and none modes, the user's errors, and the command-line flags."""

from __future__ import annotations

import argparse
import os

import pytest

from termagent.cli.workspace_options import add_workspace_arguments, workspace_from_args
from termagent.errors import TermagentError
from termagent.sandbox.container import Sandbox, SandboxSpec
from termagent.workspace import Workspace, WorkspaceMode

from workspace_helpers import run, tree


@pytest.mark.docker
def test_mount_mode_is_really_read_write(tmp_path, docker_client, sandbox_image, no_leftover_containers):
    (tmp_path / "host.txt").write_text("from the host\n")
    workspace = Workspace(tmp_path, WorkspaceMode.MOUNT)
    assert str(tmp_path) in workspace.warning and "read-write" in workspace.warning
    with Sandbox(SandboxSpec(image=sandbox_image, mounts=workspace.mounts()), client=docker_client) as sandbox:
        workspace.populate(sandbox.container)
        assert "from the host" in run(sandbox, "cat /app/host.txt")
        run(sandbox, "echo from the sandbox > /app/made.txt && rm /app/host.txt")
        # No collect and no apply: the host sees it at once.
        assert tree(tmp_path) == {"made.txt": ("file", 0o644, b"from the sandbox\n")}
        assert not workspace.collect(sandbox.container)


@pytest.mark.docker
def test_none_mode_gives_an_empty_app(sandbox_factory):
    workspace = Workspace(None, WorkspaceMode.NONE)
    assert workspace.mounts() == () and workspace.warning is None
    sandbox = sandbox_factory()
    workspace.populate(sandbox.container)
    assert "\n0\n" in run(sandbox, "ls -A /app | wc -l")
    run(sandbox, "echo x > /app/x")
    assert not workspace.collect(sandbox.container)


def test_copy_mode_mounts_nothing(tmp_path):
    workspace = Workspace(tmp_path)
    assert workspace.mode is WorkspaceMode.COPY and workspace.mounts() == () and workspace.warning is None


@pytest.mark.parametrize("make, message", [
    (lambda path: None, "does not exist"),
    (lambda path: path.write_text("a file"), "is not a directory"),
])
def test_a_workspace_that_is_not_a_directory(tmp_path, make, message):
    path = tmp_path / "project"
    make(path)
    with pytest.raises(TermagentError, match=message) as raised:
        Workspace(path, WorkspaceMode.COPY)
    assert raised.value.hint


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_unreadable_files_are_listed_before_anything_is_copied(tmp_path):
    (tmp_path / "secret").write_text("no")
    os.chmod(tmp_path / "secret", 0)
    with pytest.raises(TermagentError, match="secret"):
        Workspace(tmp_path).populate(container=None)


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_workspace_arguments(parser)
    return parser.parse_args(argv)


def test_flags(tmp_path):
    assert workspace_from_args(parse("--workspace", str(tmp_path))).mode is WorkspaceMode.COPY
    assert workspace_from_args(parse("--workspace", str(tmp_path), "--workspace-mode", "mount")).mode is WorkspaceMode.MOUNT
    assert workspace_from_args(parse()).mode is WorkspaceMode.NONE
    assert parse("--workspace", str(tmp_path), "--apply").apply
    with pytest.raises(TermagentError, match="--apply"):
        workspace_from_args(parse("--apply"))
    with pytest.raises(TermagentError, match="needs a directory"):
        workspace_from_args(parse("--workspace-mode", "mount"))
    with pytest.raises(SystemExit):
        parse("--workspace-mode", "elsewhere")
