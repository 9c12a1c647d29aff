"""The paths in a workspace that the person's own git setup makes git run or read: what its
configuration names (`core.hooksPath = tools/hooks`, `include.path = ../team.gitconfig`,
`alias.x = !sh scripts/x.sh`, `core.fsmonitor = tools/watch`, ...) and what its git directory,
config and hooks really are when symlinks lead them into the tree (`.git/hooks/pre-commit ->
../../scripts/pre-commit.sh`). A change to one of those (or to a directory above one) is held
back like a change under `.git/`.

Read with `git config --list`, which follows includes and never runs anything; without git on
the host there is nothing that would run them either."""

from __future__ import annotations

import fnmatch
import os
import posixpath
import re
import shutil
import subprocess
from pathlib import Path

# Where a path in a value can start: the start, whitespace, quotes, `=`, `:`, `;`, `|`, `&`, `!`.
_TOKEN = re.compile(r"[^\s\"'=:;|&!()`<>]+")
_GIT_TIMEOUT = 30.0


def _git(root: Path, *args: str) -> str | None:
    git = shutil.which("git")
    if git is None:
        return None
    try:
        done = subprocess.run(
            [git, *args],
            cwd=root,
            capture_output=True,
            timeout=_GIT_TIMEOUT,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return os.fsdecode(done.stdout) if done.returncode == 0 else None


def _inside(path: Path, root: Path) -> str | None:
    """`path`, all symlinks resolved, relative to `root` (resolved) when it is inside it."""
    try:
        relative = path.resolve().relative_to(root.resolve())
    except ValueError:
        return None
    return relative.as_posix() if relative.parts else None


def git_linked_paths(root: Path) -> frozenset[str]:
    """The paths in `root` that the git directory, its config, and its hooks directory and hooks
    really are, symlinks followed (most are below .git/ and held anyway)."""
    listing = _git(
        root, "rev-parse", "--absolute-git-dir", "--git-common-dir", "--git-path", "hooks", "--git-path", "config"
    )
    if not listing:
        return frozenset()
    places = [root / line for line in listing.splitlines() if line]
    hooks = places[2] if len(places) > 2 else None
    if hooks is not None and hooks.is_dir():
        places += sorted(hooks.iterdir())
    return frozenset(filter(None, (_inside(place, root) for place in places)))


def git_named_paths(root: Path, keys: list[str]) -> frozenset[str]:
    """Paths relative to `root` (POSIX) that the value of a key matching one of `keys` (fnmatch,
    lower case) in the git configuration in force in `root` names, taken relative to `root`, the
    top of its working tree and the directory of the file that sets it."""
    listing = _git(root, "config", "--list", "--includes", "--show-origin", "-z")
    if not listing:
        return frozenset()
    top = _git(root, "rev-parse", "--show-toplevel")
    bases = {root.resolve()}
    if top and top.strip():
        bases.add(Path(top.strip()).resolve())
    root_text = str(root.resolve())
    named: set[str] = set()
    fields = listing.split("\0")
    # -z with --show-origin: "file:PATH", then "key\nvalue", per entry.
    for origin, entry in zip(fields[::2], fields[1::2], strict=False):
        key, _, value = entry.partition("\n")
        if not any(fnmatch.fnmatchcase(key.lower(), pattern) for pattern in keys):
            continue
        # Origins are given relative to `root` (where git ran) when they are inside it.
        origin_dir = {(root / origin.removeprefix("file:")).parent.resolve()} if origin.startswith("file:") else set()
        for token in _TOKEN.findall(value):
            for base in bases | origin_dir:
                relative = posixpath.relpath(posixpath.normpath(posixpath.join(str(base), token)), root_text)
                if relative != "." and not relative.startswith("../") and relative != "..":
                    named.add(relative)
    return frozenset(named)
