"""Writing collected changes into the host directory: per file atomic, never over a host change.

A change goes in only when the host path is still exactly as it was copied (kind, mode,
content; for an added path: still absent) and every directory above it is a real directory,
so nothing is written through a symlink. Anything else is a conflict: left alone and reported.
"""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from termagent.workspace.archive import host_entry
from termagent.workspace.changes import Change, WorkspaceChanges


@dataclass(frozen=True)
class Conflict:
    path: str
    reason: str


@dataclass(frozen=True)
class ApplyResult:
    root: Path
    applied: tuple[str, ...]
    conflicts: tuple[Conflict, ...]

    def summary(self) -> str:
        lines = [f"applied {len(self.applied)} change(s) to {self.root}"]
        if self.conflicts:
            lines.append(f"{len(self.conflicts)} change(s) NOT applied (the host copy is left as it is):")
            lines += [f"  {conflict.path}: {conflict.reason}" for conflict in self.conflicts]
        return "\n".join(lines)


def apply_changes(changes: WorkspaceChanges) -> ApplyResult:
    root = changes.root
    applied: list[str] = []
    conflicts: list[Conflict] = []
    removed: set[str] = set()
    deepest_first = sorted(changes.changes, key=lambda change: (-change.path.count("/"), change.path))
    for change in deepest_first:
        if change.status not in ("deleted", "type changed"):
            continue
        reason = _conflict(root, change)
        if reason is None:
            reason = _remove(root / change.path, change)
        if reason is not None:
            conflicts.append(Conflict(change.path, reason))
            continue
        removed.add(change.path)
        if change.status == "deleted":
            applied.append(change.path)
    directory_modes: list[tuple[Path, int]] = []
    for change in reversed(deepest_first):
        if change.new is None or (change.status == "type changed" and change.path not in removed):
            continue
        reason = None if change.path in removed else _conflict(root, change)
        if reason is None:
            try:
                _write(root / change.path, change, changes, directory_modes)
            except OSError as error:
                reason = f"could not write it: {error.strerror or error}"
        if reason is not None:
            conflicts.append(Conflict(change.path, reason))
            continue
        applied.append(change.path)
    # Directory modes last, deepest first, so a read-only directory is still filled first.
    for path, mode in reversed(directory_modes):
        os.chmod(path, mode)
    return ApplyResult(root, tuple(applied), tuple(conflicts))


def _conflict(root: Path, change: Change) -> str | None:
    parent = root
    for part in Path(change.path).parts[:-1]:
        parent = parent / part
        if getattr(host_entry(parent), "kind", None) != "dir":
            return f"{parent.relative_to(root)} on the host is no longer a directory"
    current = host_entry(root / change.path)
    if current == change.old:
        return None
    return "exists on the host now" if change.old is None else "changed on the host since the copy"


def _remove(path: Path, change: Change) -> str | None:
    try:
        if change.old.kind == "dir":
            path.rmdir()
        else:
            path.unlink()
    except OSError as error:
        return f"could not remove it: {error.strerror or error}"
    return None


def _write(path: Path, change: Change, changes: WorkspaceChanges, directory_modes: list[tuple[Path, int]]) -> None:
    new = change.new
    if new.kind == "dir":
        if change.status != "mode changed":
            path.mkdir(mode=0o700)
        directory_modes.append((path, new.mode))
        return
    if change.status == "mode changed":
        os.chmod(path, new.mode)
        return
    # Written beside the target and renamed over it: the file is either old or new, never half.
    temporary = path.with_name(f".{path.name}.termagent-{secrets.token_hex(4)}")
    try:
        if new.kind == "symlink":
            os.symlink(new.target, temporary)
        else:
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(descriptor, "wb") as target, changes.staged(change).open("rb") as source:
                shutil.copyfileobj(source, target, 1 << 20)
                target.flush()
                os.fchmod(target.fileno(), new.mode)
                os.fsync(target.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
