"""Copy mode against the real Docker engine: in, changed, collected, applied, byte for byte."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from termagent.errors import TermagentError

from workspace_helpers import run, tree

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
    run(sandbox, "cd /app && printf 'print(42)\\n' >> src/main.py && rm gone.txt && chmod 600 notes.txt"
                 " && mkdir -p new/deep && printf 'fresh' > new/deep/file.txt && ln notes.txt hard.txt"
                 f" && python3 -c 'import sys; sys.stdout.buffer.write({NEW_BINARY})' > data.bin"
                 " && rm becomes_dir && mkdir becomes_dir && echo x > becomes_dir/x"
                 " && rm -r olddir && echo now-a-file > olddir")

    changes = workspace.collect(sandbox.container)

    assert tree(project) == before
    statuses = {change.path: change.status for change in changes.changes}
    assert statuses == {
        "src/main.py": "modified", "gone.txt": "deleted", "notes.txt": "mode changed", "data.bin": "modified",
        "new": "added", "new/deep": "added", "new/deep/file.txt": "added", "hard.txt": "added",
        "becomes_dir": "type changed", "becomes_dir/x": "added", "olddir": "type changed",
        "olddir/inner.txt": "deleted",
    }
    rendered = changes.render()
    assert "+print(42)" in rendered and "Binary or large file data.bin differs" in rendered
    assert "mode 0644 -> 0600" in rendered

    result = workspace.apply(changes)

    assert result.conflicts == ()
    expected = dict(before)
    del expected["gone.txt"], expected["olddir/inner.txt"]
    expected.update({
        "src/main.py": ("file", 0o644, b"print('hello')\nprint(42)\n"),
        "notes.txt": ("file", 0o600, b"keep\n"),
        "hard.txt": ("file", 0o600, b"keep\n"),
        "data.bin": ("file", 0o644, eval(NEW_BINARY)),
        "new": ("dir", 0o755), "new/deep": ("dir", 0o755), "new/deep/file.txt": ("file", 0o644, b"fresh"),
        "becomes_dir": ("dir", 0o755), "becomes_dir/x": ("file", 0o644, b"x\n"),
        "olddir": ("file", 0o644, b"now-a-file\n"),
    })
    assert tree(project) == expected
