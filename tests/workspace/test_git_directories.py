"""Git directories that are not called `.git`, planted by the sandbox as the attacker against the
real Docker engine: git takes any directory holding HEAD and `commondir` for a linked worktree's
git directory, and reads config (a pager, fsmonitor, hooks) from the directory `commondir` names.
After a plain apply, the person's git run in such a directory runs nothing the sandbox planted."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from workspace_helpers import review_of, run

pytestmark = pytest.mark.docker


def host_git(directory: Path, *args: str) -> subprocess.CompletedProcess:
    # -p: the pager runs even without a terminal, as it would at the person's terminal.
    env = {key: value for key, value in os.environ.items() if key not in ("GIT_PAGER", "PAGER")}
    return subprocess.run(["git", "-p", *args], cwd=directory, capture_output=True, text=True, env=env)


PLANT = (
    "cd /app && mkdir -p src evil/objects evil/refs"
    " && printf 'ref: refs/heads/main\\n' > src/HEAD && printf '../evil\\n' > src/commondir"
    " && printf '[core]\\n\\tpager = \"touch {marker}; cat\"\\n' > evil/config"
    " && echo 'print(1)' > main.py"
)


def test_a_worktree_git_directory_with_its_commondir_is_held_back(tmp_path, copied):
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "main.py").write_text("print(0)\n")
    marker = tmp_path / "pager-ran"
    workspace, sandbox = copied(project)
    run(sandbox, PLANT.format(marker=marker))

    changes = workspace.collect(sandbox.container)
    held = {change.path for change in changes.held}
    assert held == {"src/HEAD", "src/commondir", "evil", "evil/config", "evil/objects", "evil/refs"}
    assert "looks like a git directory" in review_of(changes)
    result = workspace.apply(changes)  # --apply without --apply-git

    assert result.applied == ("main.py",) and (project / "main.py").read_text() == "print(1)\n"
    assert not (project / "src" / "HEAD").exists() and not (project / "evil").exists()
    host_git(project / "src", "branch")
    host_git(project / "src", "log")
    assert not marker.exists()
