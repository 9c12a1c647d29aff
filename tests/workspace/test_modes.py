"""Mount and none modes, the user's errors, and the command-line flags."""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from workspace_helpers import run, tree

from termagent.cli.workspace_options import add_workspace_arguments, workspace_from_args
from termagent.errors import TermagentError, WorkspaceError
from termagent.sandbox.container import Sandbox, SandboxSpec
from termagent.sandbox.profiles import load_profile
from termagent.workspace import Workspace, WorkspaceMode

NOBODY = 65534


def mounted(workspace: Workspace, spec: SandboxSpec, client) -> Sandbox:
    """A started sandbox with the workspace mounted; skips when the engine cannot mount it
    nosuid,nodev (mount mode is then refused, which test_mount_mode_never_gives_root checks)."""
    sandbox = Sandbox(spec, client=client).__enter__()
    try:
        workspace.populate(sandbox.container)
    except WorkspaceError as error:
        sandbox.close()
        workspace.close()
        pytest.skip(f"this Docker engine cannot mount a directory nosuid,nodev: {error.message}")
    except BaseException:
        sandbox.close()
        raise
    return sandbox


@pytest.mark.docker
def test_mount_mode_is_really_read_write(tmp_path, docker_client, sandbox_image, no_leftover_containers):
    (tmp_path / "host.txt").write_text("from the host\n")
    workspace = Workspace(tmp_path, WorkspaceMode.MOUNT)
    assert str(tmp_path) in workspace.warning and "read-write" in workspace.warning
    with workspace, mounted(workspace, SandboxSpec(image=sandbox_image, mounts=workspace.mounts()),
                            docker_client) as sandbox:
        assert "from the host" in run(sandbox, "cat /app/host.txt")
        run(sandbox, "echo from the sandbox > /app/made.txt && rm /app/host.txt")
        # No collect and no apply: the host sees it at once.
        assert tree(tmp_path) == {"made.txt": ("file", 0o644, b"from the sandbox\n")}
        assert not workspace.collect(sandbox.container)


@pytest.mark.docker
def test_mount_mode_works_under_the_read_only_profile(tmp_path, docker_client, sandbox_image, no_leftover_containers):
    # The strict profile puts /app in memory, but not over a mounted workspace.
    workspace = Workspace(tmp_path, WorkspaceMode.MOUNT)
    spec = SandboxSpec(image=sandbox_image, profile=load_profile("strict"), mounts=workspace.mounts())
    with workspace, mounted(workspace, spec, docker_client) as sandbox:
        run(sandbox, "echo from-strict > /app/made-here")
    assert (tmp_path / "made-here").read_text() == "from-strict\n"


@pytest.mark.docker
def test_mount_mode_never_gives_root(docker_client, sandbox_image, no_leftover_containers):
    """A setuid copy of bash made in the sandbox must not make an unprivileged host user root:
    either the engine mounts the workspace so that it cannot, or mount mode is refused."""
    project = Path(tempfile.mkdtemp())  # outside pytest's private folder, so nobody can reach it
    os.chmod(project, 0o755)
    workspace = Workspace(project, WorkspaceMode.MOUNT)
    spec = SandboxSpec(image=sandbox_image, mounts=workspace.mounts())
    try:
        with workspace, Sandbox(spec, client=docker_client) as sandbox:
            try:
                workspace.populate(sandbox.container)
            except WorkspaceError as error:
                assert "nosuid" in error.message and "refused" in error.message and error.hint
                refused = True
            else:
                refused = False
                run(sandbox, "cp /bin/bash /app/rootbash && chmod 4755 /app/rootbash && mknod /app/disk b 8 0 || true")
        if not refused:
            found = as_nobody_output([str(project / "rootbash"), "-p", "-c", "id -u"])
            assert found.strip() not in ("0", ""), found
            assert not (project / "disk").exists()
        assert not any(path.stat().st_mode & 0o6000 for path in project.iterdir() if not path.is_symlink())
        volumes = docker_client.volumes.list(filters={"name": "termagent-workspace-"})
        assert [volume.name for volume in volumes if volume.name == workspace._volume] == []
    finally:
        shutil.rmtree(project)


def as_nobody_output(command: list[str]) -> str:
    """What `command` prints when run by the unprivileged nobody user on the host."""
    import subprocess

    def drop() -> None:
        os.setgroups([])
        os.setresgid(NOBODY, NOBODY, NOBODY)
        os.setresuid(NOBODY, NOBODY, NOBODY)

    result = subprocess.run(command, capture_output=True, text=True, preexec_fn=drop if os.geteuid() == 0 else None,
                            timeout=60)
    return result.stdout + result.stderr


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


def test_unreadable_files_are_listed_before_anything_is_copied():
    # As root every file is readable: the check runs in a child that became nobody, on a tree
    # outside pytest's private temporary folder (which nobody could not enter).
    project = Path(tempfile.mkdtemp())
    try:
        (project / "closed").mkdir()
        (project / "open.txt").write_text("yes")
        (project / "secret.txt").write_text("no")
        os.chmod(project / "secret.txt", 0)
        os.chmod(project / "closed", 0)
        for path in (project, project / "open.txt"):
            os.chown(path, NOBODY, NOBODY)
        message = as_nobody(lambda: Workspace(project).populate(container=None))
    finally:
        shutil.rmtree(project)
    assert "cannot read 2 path(s)" in message and "secret.txt" in message and "closed" in message


def as_nobody(action) -> str:
    """The TermagentError message `action` raises, run as the nobody user when we are root."""
    if os.geteuid() != 0:
        return _error_message(action)
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:
        try:
            os.setgroups([])
            os.setresgid(NOBODY, NOBODY, NOBODY)
            os.setresuid(NOBODY, NOBODY, NOBODY)
            os.write(write_end, _error_message(action).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        message = pipe.read().decode()
    os.waitpid(child, 0)
    return message


def _error_message(action) -> str:
    try:
        action()
    except TermagentError as error:
        return str(error)
    return "no error"


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_workspace_arguments(parser)
    return parser.parse_args(argv)


def test_flags(tmp_path):
    assert workspace_from_args(parse("--workspace", str(tmp_path))).mode is WorkspaceMode.COPY
    mounted = workspace_from_args(parse("--workspace", str(tmp_path), "--workspace-mode", "mount"))
    assert mounted.mode is WorkspaceMode.MOUNT
    assert workspace_from_args(parse()).mode is WorkspaceMode.NONE
    assert parse("--workspace", str(tmp_path), "--apply").apply
    with pytest.raises(TermagentError, match="--apply"):
        workspace_from_args(parse("--apply"))
    with pytest.raises(TermagentError, match="needs a directory"):
        workspace_from_args(parse("--workspace-mode", "mount"))
    with pytest.raises(SystemExit):
        parse("--workspace-mode", "elsewhere")
