"""What changed in a copied workspace, and how to show it: a summary table and unified diffs."""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from termagent.workspace.archive import Entry, Manifest, host_entry

Status = Literal["added", "deleted", "modified", "type changed", "mode changed"]
# Diffs of larger files would drown the summary; they are reported by size only.
_DIFF_LIMIT = 1 << 20


@dataclass(frozen=True)
class Change:
    path: str  # relative to the workspace, POSIX separators
    status: Status
    old: Entry | None  # as copied in; None when added
    new: Entry | None  # as found in the sandbox; None when deleted

    def detail(self) -> str:
        old, new = self.old, self.new
        if old is None or new is None:
            entry = new or old
            return {"file": f"{entry.size} B, {entry.mode:04o}", "dir": f"{entry.mode:04o}",
                    "symlink": f"-> {entry.target}"}[entry.kind]
        parts = []
        if old.kind != new.kind:
            parts.append(f"{old.kind} -> {new.kind}")
        elif new.kind == "symlink" and old.target != new.target:
            parts.append(f"-> {old.target} now -> {new.target}")
        elif new.kind == "file" and old.digest != new.digest:
            parts.append(f"{old.size} B -> {new.size} B")
        if old.mode != new.mode and old.kind == new.kind and new.kind != "symlink":
            parts.append(f"mode {old.mode:04o} -> {new.mode:04o}")
        return ", ".join(parts)


@dataclass(frozen=True)
class WorkspaceChanges:
    """The difference between what was copied into /app and what /app holds now."""

    root: Path  # the host directory the changes would go to
    staging: Path | None  # new contents of added and modified files, mirrored by path
    changes: tuple[Change, ...]

    def __bool__(self) -> bool:
        return bool(self.changes)

    def counts(self) -> dict[str, int]:
        return dict(Counter(change.status for change in self.changes))

    def staged(self, change: Change) -> Path:
        """Where the new content of a changed file waits."""
        return self.staging / change.path

    def summary(self) -> str:
        if not self.changes:
            return f"no changes to {self.root}"
        counts = ", ".join(f"{number} {status}" for status, number in sorted(self.counts().items()))
        width = max(len(change.path) for change in self.changes)
        rows = [f"changes to {self.root}: {counts}"]
        for change in self.changes:
            kind = (change.new or change.old).kind
            texts = self._texts(change) if _shows_diff(change) else ()
            note = f" ({texts})" if isinstance(texts, str) else ""
            rows.append(f"  {change.status:<12} {kind:<7} {change.path:<{width}}  {change.detail()}{note}")
        return "\n".join(rows)

    def diff(self) -> Iterator[str]:
        """Unified diffs of the changed text files, one file at a time."""
        for change in self.changes:
            if not _shows_diff(change):
                continue
            texts = self._texts(change)
            if isinstance(texts, str):
                yield f"{change.path}: no text diff ({texts})\n"
                continue
            old_text, new_text = texts
            lines = difflib.unified_diff(
                old_text.splitlines(keepends=True), new_text.splitlines(keepends=True),
                fromfile="/dev/null" if change.old is None or change.old.kind != "file" else f"a/{change.path}",
                tofile="/dev/null" if change.new is None or change.new.kind != "file" else f"b/{change.path}")
            yield "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)

    def render(self) -> str:
        return self.summary() + "\n\n" + "".join(self.diff())

    def _texts(self, change: Change) -> tuple[str, str] | str:
        """(old, new) text of a file change, or why there is no text diff."""
        sides = []
        for entry, path in ((change.old, self.root / change.path), (change.new, self.staged(change))):
            if entry is None or entry.kind != "file":
                sides.append("")
                continue
            if entry.size > _DIFF_LIMIT:
                return f"over {_DIFF_LIMIT >> 20} MiB"
            if entry is change.old and host_entry(path) != entry:
                return "the host copy changed since"  # apply reports it as a conflict
            data = path.read_bytes()
            if b"\0" in data:
                return "binary"
            try:
                sides.append(data.decode("utf-8"))
            except UnicodeDecodeError:
                return "binary"
        return sides[0], sides[1]


def _shows_diff(change: Change) -> bool:
    """A file's bytes changed (a file on at least one side, more than its mode)."""
    kinds = {getattr(change.old, "kind", None), getattr(change.new, "kind", None)}
    return "file" in kinds and change.status != "mode changed"


def compare(before: Manifest, after: Manifest) -> tuple[Change, ...]:
    """The changes from `before` to `after`, in path order."""
    found = []
    for path in sorted(before.keys() | after.keys()):
        old, new = before.get(path), after.get(path)
        status = _status(old, new)
        if status is not None:
            found.append(Change(path, status, old, new))
    return tuple(found)


def _status(old: Entry | None, new: Entry | None) -> Status | None:
    if old is None:
        return "added"
    if new is None:
        return "deleted"
    if old.kind != new.kind:
        return "type changed"
    if not old.same_content(new):
        return "modified"
    # A symlink's own mode means nothing on Linux.
    if old.mode != new.mode and new.kind != "symlink":
        return "mode changed"
    return None
