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


def host_git_setup(project: Path, *config: tuple[str, str]) -> None:
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=project, check=True)
    for key, value in config:
        subprocess.run(["git", "config", key, value], cwd=project, check=True)


# What the person's own git configuration names, and what the sandbox plants there: git runs it.
NAMED = {
    "core.hooksPath": (
        ("core.hooksPath", "tools/hooks"),
        "mkdir -p tools/hooks && printf '#!/bin/sh\\ntouch {marker}\\n' > tools/hooks/pre-commit"
        " && chmod 755 tools/hooks/pre-commit",
        "tools/hooks/pre-commit",
    ),
    "include.path": (
        ("include.path", "../team.gitconfig"),
        "printf '[core]\\n\\tpager = \"touch {marker}; cat\"\\n' > team.gitconfig",
        "team.gitconfig",
    ),
    "alias": (
        ("alias.lint", "!sh scripts/lint.sh"),
        "mkdir -p scripts && printf 'touch {marker}\\n' > scripts/lint.sh",
        "scripts/lint.sh",
    ),
}


@pytest.mark.parametrize("how", list(NAMED))
def test_what_the_persons_git_config_names_is_held_back(tmp_path, copied, how):
    setting, plant, planted = NAMED[how]
    project = tmp_path / "project"
    project.mkdir()
    (project / "main.py").write_text("print(0)\n")
    host_git_setup(project, ("user.name", "t"), ("user.email", "t@t"), setting)
    marker = tmp_path / "ran"
    workspace, sandbox = copied(project)
    run(sandbox, f"cd /app && {plant.format(marker=marker)} && echo 'print(1)' > main.py")

    changes = workspace.collect(sandbox.container)
    assert planted in {change.path for change in changes.held}
    assert "your git configuration names it" in review_of(changes)
    result = workspace.apply(changes)  # --apply without --apply-git

    assert result.applied == ("main.py",) and (project / "main.py").read_text() == "print(1)\n"
    assert not (project / planted).exists()
    subprocess.run(["git", "add", "main.py"], cwd=project, check=True)
    host_git(project, "commit", "-qm", "the agent's work")
    host_git(project, "log")
    host_git(project, "lint")
    assert not marker.exists()


def test_a_hook_that_is_a_symlink_into_the_tree_is_held_back(tmp_path, copied):
    project = tmp_path / "project"
    (project / "scripts").mkdir(parents=True)
    (project / "scripts" / "pre-commit.sh").write_text("#!/bin/sh\nexit 0\n")
    (project / "scripts" / "pre-commit.sh").chmod(0o755)
    (project / "main.py").write_text("print(0)\n")
    host_git_setup(project, ("user.name", "t"), ("user.email", "t@t"))
    (project / ".git" / "hooks" / "pre-commit").symlink_to("../../scripts/pre-commit.sh")
    marker = tmp_path / "ran"
    workspace, sandbox = copied(project)
    run(
        sandbox,
        f"cd /app && printf '#!/bin/sh\\ntouch {marker}\\n' > scripts/pre-commit.sh && echo 'print(1)' > main.py",
    )

    changes = workspace.collect(sandbox.container)
    assert {change.path for change in changes.held} == {"scripts/pre-commit.sh"}
    result = workspace.apply(changes)  # --apply without --apply-git

    assert result.applied == ("main.py",)
    subprocess.run(["git", "add", "main.py"], cwd=project, check=True)
    assert host_git(project, "commit", "-qm", "the agent's work").returncode == 0
    assert not marker.exists()
