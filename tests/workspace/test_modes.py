"""Mount and none modes, the user's errors, and the command-line flags."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from project_paths import TERMAGENT
from replay_run import replay_run_args
from workspace_helpers import reply, run, tree

from termagent.cli.workspace_options import add_workspace_arguments, workspace_from_args
from termagent.errors import TermagentError, WorkspaceError
from termagent.sandbox.container import Sandbox, SandboxSpec
from termagent.sandbox.profiles import load_profile
from termagent.workspace import Workspace, WorkspaceMode

NOBODY = 65534


@contextlib.contextmanager
def mounted(workspace: Workspace, spec: SandboxSpec, client) -> Iterator[Sandbox]:
    """A started sandbox with the workspace mounted (and checked: mount mode is refused unless
    the sandbox cannot leave setuid programs there, which termagent's seccomp filter ensures)."""
    with Sandbox(spec, client=client) as sandbox:
        workspace.populate(sandbox.container)
        yield sandbox


@pytest.mark.docker
def test_mount_mode_is_really_read_write(tmp_path, docker_client, sandbox_image, no_leftover_containers):
    (tmp_path / "host.txt").write_text("from the host\n")
    workspace = Workspace(tmp_path, WorkspaceMode.MOUNT)
    assert str(tmp_path) in workspace.warning and "read-write" in workspace.warning
    assert "disk limit does not cover" in workspace.warning  # what mount mode gives away, said plainly
    with (
        workspace,
        mounted(workspace, SandboxSpec(image=sandbox_image, mounts=workspace.mounts()), docker_client) as sandbox,
    ):
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


# The model's keystrokes: root programs for the host, every way a shell makes one.
MAKE_ROOT = (
    "cp /bin/bash /app/rootbash; chmod 4755 /app/rootbash; install -m 6755 /bin/bash /app/rootbash2; "
    "chmod 755 /app/rootbash2; cp -a /bin/su /app/su-copy; ln /bin/su /app/su-link; mknod /app/disk b 8 0; "
    'python3 -c \'import os; os.setxattr("/app/rootbash", "security.capability", '
    'bytes.fromhex("0100000280000000000000000000000000000000"))\'; ls -l /app\n'
)


@pytest.fixture
def host_project():
    """A project directory that an unprivileged host user can reach (pytest's own is private)."""
    project = Path(tempfile.mkdtemp())
    os.chmod(project, 0o755)
    yield project
    shutil.rmtree(project)


def privileged_files(root: Path) -> list[str]:
    """Files under root that give powers to whoever runs or opens them: setuid, setgid, device
    nodes, file capabilities."""
    found = []
    for path in root.rglob("*"):
        mode = path.lstat().st_mode
        if mode & 0o6000 or stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            found.append(f"{path.name} {oct(mode)}")
        if not path.is_symlink():
            with contextlib.suppress(OSError):
                os.getxattr(path, "security.capability")
                found.append(f"{path.name} has file capabilities")
    return found


@pytest.mark.docker
def test_mount_mode_never_gives_root(host_project, tmp_path, docker_client, sandbox_image, no_leftover_containers):
    """The model, through the real agent (every command approved), copies bash into the mounted
    project and tries to make it setuid root (chmod, install, cp -a of su, file capabilities, a
    disk device, a hard link to the image's su). An unprivileged host user who runs the copy
    stays who they are."""
    replies = tmp_path / "replies.jsonl"
    replies.write_text(reply([MAKE_ROOT], False) + reply([], True) + reply([], True))
    completed = subprocess.run(
        [
            TERMAGENT,
            "--headless",
            *replay_run_args(
                "make a root shell",
                replies,
                tmp_path / "t.jsonl",
                "--approve",
                "allow",
                "--image",
                sandbox_image,
                "--workspace",
                str(host_project),
                "--workspace-mode",
                "mount",
            ),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    assert "It cannot leave setuid or setgid programs" in output  # the warning was shown
    # The keystrokes ran (the copies are on the host) and each attempt was refused.
    assert output.count("Operation not permitted") >= 4 and "Operation not supported" in output, output
    assert "Invalid cross-device link" in output  # the link: /app is another filesystem
    user = NOBODY if os.geteuid() == 0 else os.geteuid()
    for copy in ("rootbash", "rootbash2"):
        assert as_nobody_output([str(host_project / copy), "-p", "-c", "id -u"]).strip() == str(user)
    assert privileged_files(host_project) == []
    # The run's volume (the one naming this project) is gone.
    leftovers = [
        volume.name
        for volume in docker_client.volumes.list(filters={"name": "termagent-workspace-"})
        if (volume.attrs.get("Options") or {}).get("device") == str(host_project)
    ]
    assert leftovers == []


@pytest.mark.docker
def test_no_system_call_leaves_a_root_program_in_the_mounted_project(
    host_project, docker_client, sandbox_image, no_leftover_containers
):
    """Every call that sets a mode or makes a file, made raw into the mounted project."""
    attacks = (Path(__file__).parents[1] / "sandbox" / "seccomp_attacks.py").read_text(encoding="utf-8")
    workspace = Workspace(host_project, WorkspaceMode.MOUNT)
    with (
        workspace,
        mounted(workspace, SandboxSpec(image=sandbox_image, mounts=workspace.mounts()), docker_client) as sandbox,
    ):
        code, output = sandbox.container.exec_run(["python3", "-c", attacks], environment={"ATTACK_DIR": "/app"})
    assert code == 0, output
    found = json.loads(output)
    refused = [case for case, outcome in found.items() if case.endswith(("-setuid", "-setgid"))]
    assert len(refused) >= 16 and all(found[case][0] == -1 for case in refused), found
    # The plain variants reached the host directory: the attacks did write there.
    made = [path for path in host_project.rglob("*-plain") if path.stat().st_mode & 0o777 == 0o755]
    assert len(made) >= 6, made
    assert privileged_files(host_project) == []


@pytest.mark.docker
def test_mount_mode_is_refused_where_the_filter_does_not_hold(host_project, docker_client, sandbox_image):
    """A container in which chmod 4755 works (Docker's own seccomp profile, root's usual
    capabilities) does not get the project: fail closed."""
    container = docker_client.containers.run(
        sandbox_image,
        ["sleep", "infinity"],
        detach=True,
        network_mode="none",
        cap_drop=["ALL"],
        cap_add=["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID"],
        security_opt=["no-new-privileges"],
    )
    try:
        with Workspace(host_project, WorkspaceMode.MOUNT) as workspace, pytest.raises(WorkspaceError) as refused:
            workspace.populate(container)
    finally:
        container.remove(force=True)
    assert "mount mode is refused" in refused.value.message and "chmod 4755" in refused.value.message
    assert "copy" in refused.value.hint


def as_nobody_output(command: list[str]) -> str:
    """What `command` prints when run by the unprivileged nobody user on the host."""

    def drop() -> None:
        os.setgroups([])
        os.setresgid(NOBODY, NOBODY, NOBODY)
        os.setresuid(NOBODY, NOBODY, NOBODY)

    result = subprocess.run(
        command, capture_output=True, text=True, preexec_fn=drop if os.geteuid() == 0 else None, timeout=60
    )
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


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda path: None, "does not exist"),
        (lambda path: path.write_text("a file"), "is not a directory"),
    ],
)
def test_a_workspace_that_is_not_a_directory(tmp_path, make, message):
    path = tmp_path / "project"
    make(path)
    with pytest.raises(WorkspaceError, match=message) as raised:
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
    """The WorkspaceError message `action` raises, run as the nobody user when we are root."""
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
    except WorkspaceError as error:
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
