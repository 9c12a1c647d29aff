"""Copy mode against the real Docker engine: in, changed, collected, applied, byte for byte."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from workspace_helpers import review_of, run, tree

from termagent.errors import WorkspaceError

pytestmark = pytest.mark.docker

BINARY = bytes(range(256)) * 300  # NULs and every byte value
NEW_BINARY = "bytes(range(255, -1, -1)) * 7"  # evaluated by python3 in the sandbox and here


def make_project(root: Path) -> None:
    (root / "src").mkdir()
    (root / "src" / "main.py").write_text("print('hello')\n")
    (root / "run.sh").write_text("#!/bin/sh\necho run\n")
    os.chmod(root / "run.sh", 0o755)
    (root / "data.bin").write_bytes(BINARY)
    (root / "notes.txt").write_text("keep\n")
    (root / "gone.txt").write_text("delete me\n")
    (root / "becomes_dir").write_text("a file first\n")
    (root / "olddir").mkdir()
    (root / "olddir" / "inner.txt").write_text("inner\n")


def test_changes_reach_the_host_only_through_apply(tmp_path, copied):
    project = tmp_path / "project"
    project.mkdir()
    make_project(project)
    before = tree(project)
    workspace, sandbox = copied(project)
    assert "\nprint('hello')\n" in run(sandbox, "cat /app/src/main.py")
    run(
        sandbox,
        "cd /app && printf 'print(42)\\n' >> src/main.py && rm gone.txt && chmod 600 notes.txt"
        " && mkdir -p new/deep && printf 'fresh' > new/deep/file.txt && ln notes.txt hard.txt"
        f" && python3 -c 'import sys; sys.stdout.buffer.write({NEW_BINARY})' > data.bin"
        " && rm becomes_dir && mkdir becomes_dir && echo x > becomes_dir/x"
        " && rm -r olddir && echo now-a-file > olddir",
    )

    changes = workspace.collect(sandbox.container)

    assert tree(project) == before
    statuses = {change.path: change.status for change in changes.changes}
    assert statuses == {
        "src/main.py": "modified",
        "gone.txt": "deleted",
        "notes.txt": "mode changed",
        "data.bin": "modified",
        "new": "added",
        "new/deep": "added",
        "new/deep/file.txt": "added",
        "hard.txt": "added",
        "becomes_dir": "type changed",
        "becomes_dir/x": "added",
        "olddir": "type changed",
        "olddir/inner.txt": "deleted",
    }
    rendered = review_of(changes)
    assert "+print(42)" in rendered and "data.bin: no text diff (binary)" in rendered
    assert "mode 0644 -> 0600" in rendered

    result = workspace.apply(changes)

    assert result.conflicts == ()
    expected = dict(before)
    del expected["gone.txt"], expected["olddir/inner.txt"]
    expected.update(
        {
            "src/main.py": ("file", 0o644, b"print('hello')\nprint(42)\n"),
            "notes.txt": ("file", 0o600, b"keep\n"),
            "hard.txt": ("file", 0o600, b"keep\n"),
            "data.bin": ("file", 0o644, eval(NEW_BINARY)),
            "new": ("dir", 0o755),
            "new/deep": ("dir", 0o755),
            "new/deep/file.txt": ("file", 0o644, b"fresh"),
            "becomes_dir": ("dir", 0o755),
            "becomes_dir/x": ("file", 0o644, b"x\n"),
            "olddir": ("file", 0o644, b"now-a-file\n"),
        }
    )
    assert tree(project) == expected


def test_symlinks_pointing_outside_are_carried_never_followed(tmp_path, copied):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("host secret\n")
    project = tmp_path / "project"
    project.mkdir()
    os.symlink(outside / "secret.txt", project / "to_file")
    os.symlink(outside, project / "to_dir")
    os.symlink("../outside/secret.txt", project / "relative")
    outside_before = tree(outside)
    workspace, sandbox = copied(project)

    listing = run(sandbox, "readlink /app/to_file /app/to_dir /app/relative; cat /app/to_file || true")
    assert f"{outside}/secret.txt" in listing and "No such file or directory" in listing
    # The agent replaces the directory link with a real directory and writes into it.
    run(sandbox, "cd /app && rm to_dir && mkdir to_dir && echo mine > to_dir/secret.txt && ln -sfn /etc to_file")
    changes = workspace.collect(sandbox.container)
    assert {change.path: change.status for change in changes.changes} == {
        "to_dir": "type changed",
        "to_dir/secret.txt": "added",
        "to_file": "modified",
    }

    assert workspace.apply(changes).conflicts == ()

    assert tree(outside) == outside_before
    assert tree(project) == {
        "to_dir": ("dir", 0o755),
        "to_dir/secret.txt": ("file", 0o644, b"mine\n"),
        "to_file": ("symlink", "/etc"),
        "relative": ("symlink", "../outside/secret.txt"),
    }


def test_a_few_thousand_files(tmp_path, copied):
    project = tmp_path / "project"
    for directory in range(30):
        (project / f"d{directory:02}").mkdir(parents=True)
        for number in range(100):
            (project / f"d{directory:02}" / f"f{number:03}.txt").write_text(f"{directory} {number}\n")
    expected = tree(project)
    workspace, sandbox = copied(project)

    run(
        sandbox,
        "cd /app && for n in 000 001 002; do echo changed >> d05/f$n.txt; done"
        " && rm d07/f010.txt d07/f011.txt && echo added > d29/new.txt && find . -type f | wc -l",
    )
    changes = workspace.collect(sandbox.container)
    assert changes.counts() == {"modified": 3, "deleted": 2, "added": 1}

    workspace.apply(changes)
    for number in ("000", "001", "002"):
        path = f"d05/f{number}.txt"
        expected[path] = ("file", 0o644, expected[path][2] + b"changed\n")
    del expected["d07/f010.txt"], expected["d07/f011.txt"]
    expected["d29/new.txt"] = ("file", 0o644, b"added\n")
    assert tree(project) == expected


def test_git_repository_is_carried_and_its_changes_come_back(tmp_path, copied):
    project = tmp_path / "project"
    project.mkdir()
    git = ["git", "-C", str(project), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    (project / "a.txt").write_text("one\n")
    subprocess.run([*git, "add", "a.txt"], check=True)
    subprocess.run([*git, "commit", "-qm", "first"], check=True)
    before = tree(project)
    workspace, sandbox = copied(project)

    assert "first" in run(sandbox, "cd /app && git log --oneline")
    run(sandbox, "echo two >> a.txt && git -c user.name=agent -c user.email=a@a commit -qam second")
    changes = workspace.collect(sandbox.container)
    changed = {change.path for change in changes.changes}
    assert "a.txt" in changed and ".git/refs/heads/main" in changed and ".git/index" in changed
    assert tree(project) == before

    # A plain apply leaves git's own data alone: the commit made in the sandbox is held back.
    result = workspace.apply(changes)
    assert result.conflicts == () and result.applied == ("a.txt",)
    assert ".git/refs/heads/main" in result.held_back and ".git/index" in result.held_back
    git_data = {path: entry for path, entry in tree(project).items() if path.startswith(".git")}
    assert git_data == {path: entry for path, entry in before.items() if path.startswith(".git")}
    assert "held-back change(s) NOT applied" in result.summary()

    # Asked for separately, it comes too (a.txt is already there, so it is now a conflict).
    result = workspace.apply(changes, include_held=True)
    assert [conflict.path for conflict in result.conflicts] == ["a.txt"] and result.held_back == ()
    log = subprocess.run([*git, "log", "--format=%s"], check=True, capture_output=True, text=True).stdout
    assert log.split() == ["second", "first"]
    status = subprocess.run([*git, "status", "--porcelain"], check=True, capture_output=True, text=True).stdout
    assert status == ""
    subprocess.run([*git, "fsck", "--strict"], check=True, capture_output=True)


def test_a_host_change_since_the_copy_is_a_conflict_and_kept(tmp_path, copied):
    project = tmp_path / "project"
    project.mkdir()
    (project / "shared.txt").write_text("original\n")
    (project / "agent_only.txt").write_text("original\n")
    (project / "sub").mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    workspace, sandbox = copied(project)
    run(
        sandbox,
        "cd /app && echo agent > shared.txt && echo agent > agent_only.txt && echo agent > both_new.txt"
        " && echo agent > sub/new.txt",
    )
    changes = workspace.collect(sandbox.container)
    # The person edits their copy while the agent works, and swaps a directory for a symlink.
    (project / "shared.txt").write_text("person\n")
    (project / "both_new.txt").write_text("person\n")
    (project / "sub").rmdir()
    os.symlink(outside, project / "sub")

    result = workspace.apply(changes)

    assert {conflict.path for conflict in result.conflicts} == {"shared.txt", "both_new.txt", "sub/new.txt"}
    assert result.applied == ("agent_only.txt",)
    assert tree(project) == {
        "shared.txt": ("file", 0o644, b"person\n"),
        "both_new.txt": ("file", 0o644, b"person\n"),
        "agent_only.txt": ("file", 0o644, b"agent\n"),
        "sub": ("symlink", str(outside)),
    }
    assert tree(outside) == {}
    assert "shared.txt: changed on the host since the copy" in result.summary()


def test_files_the_mode_forbids(tmp_path, copied):
    project = tmp_path / "project"
    (project / "locked").mkdir(parents=True)
    (project / "locked" / "inside.txt").write_text("inside\n")
    (project / "none.txt").write_text("mode 000\n")
    (project / "readonly.txt").write_text("read only\n")
    os.chmod(project / "none.txt", 0)
    os.chmod(project / "readonly.txt", 0o444)
    os.chmod(project / "locked", 0o555)
    before = tree(project)
    workspace, sandbox = copied(project)
    listing = run(sandbox, "stat -c '%a %n' /app/none.txt /app/readonly.txt /app/locked")
    assert "0 /app/none.txt" in listing and "444 /app/readonly.txt" in listing and "555 /app/locked" in listing

    # The default profile keeps DAC_OVERRIDE: root in the sandbox writes them regardless of mode.
    run(sandbox, "cd /app && echo more >> readonly.txt && cat none.txt && echo new > locked/added.txt")
    changes = workspace.collect(sandbox.container)
    assert {change.path: change.status for change in changes.changes} == {
        "readonly.txt": "modified",
        "locked/added.txt": "added",
    }
    assert workspace.apply(changes).conflicts == ()
    before["readonly.txt"] = ("file", 0o444, b"read only\nmore\n")
    before["locked/added.txt"] = ("file", 0o644, b"new\n")
    assert tree(project) == before


def test_strict_profile_copies_into_its_tmpfs_and_refuses_what_it_cannot_read(tmp_path, copied):
    project = tmp_path / "project"
    project.mkdir()
    (project / "a.txt").write_text("a\n")
    (project / "none.txt").write_text("mode 000\n")
    os.chmod(project / "none.txt", 0)
    before = tree(project)
    workspace, sandbox = copied(project, "strict")
    assert "a\n" in run(sandbox, "cat /app/a.txt")
    assert "Permission denied" in sandbox.shell.run("cat /app/none.txt\n", duration=5).output

    run(sandbox, "echo b >> /app/a.txt")
    # Without capabilities tar cannot read none.txt: collecting fails instead of calling it deleted.
    with pytest.raises(WorkspaceError, match="none.txt"):
        workspace.collect(sandbox.container)
    run(sandbox, "chmod 600 /app/none.txt")
    changes = workspace.collect(sandbox.container)
    statuses = {change.path: change.status for change in changes.changes}
    assert statuses == {"a.txt": "modified", "none.txt": "mode changed"}
    workspace.apply(changes)
    before["a.txt"] = ("file", 0o644, b"a\nb\n")
    before["none.txt"] = ("file", 0o600, b"mode 000\n")
    assert tree(project) == before
