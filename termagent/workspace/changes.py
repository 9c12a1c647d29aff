"""What changed in a copied workspace, what applying it would do, and how to show it.

Everything here is computed from the validated manifest (archive.py), never from the sandbox's
own account. Modes are made safe for the host before they are shown (what the review says is
what apply does), changes that could make the host run a program later are held back with the
reason, and every name and diff line is escaped before it reaches a view.
"""

from __future__ import annotations

import difflib
import enum
import functools
import os
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml

from termagent.workspace.entries import Entry, Manifest
from termagent.workspace.members import leaves_tree, shown
from termagent.workspace.rooted import Rooted

Status = Literal["added", "deleted", "modified", "type changed", "mode changed"]
# Diffs of larger files would drown the summary; they are reported by size only.
_DIFF_LIMIT = 1 << 20
_SPECIAL_BITS = {0o4000: "setuid", 0o2000: "setgid", 0o1000: "sticky"}
_OTHERS_WRITE = 0o022


class ApplyAnswer(enum.Enum):
    """What the review's answer was. True for "apply" of either kind, so a plain yes/no works too."""

    KEEP = "keep"
    APPLY = "apply"  # everything but the held-back changes
    APPLY_ALL = "apply, held-back changes included"  # only on a separate, explicit yes

    def __bool__(self) -> bool:
        return self is not ApplyAnswer.KEEP

    @classmethod
    def unattended(cls, apply: bool, apply_git: bool) -> ApplyAnswer:
        """The answer of --apply / --apply-git, when nobody is asked."""
        if not apply:
            return cls.KEEP
        return cls.APPLY_ALL if apply_git else cls.APPLY


@dataclass(frozen=True)
class Change:
    path: str  # relative to the workspace, POSIX separators
    status: Status
    old: Entry | None  # as copied in; None when added
    new: Entry | None  # as found in the sandbox (its mode as the sandbox set it); None when deleted
    mode: int | None = None  # the permission bits apply gives it; None for deletions and symlinks
    notes: tuple[str, ...] = ()  # what the review must point out ("newly executable", bits dropped)
    held: str | None = None  # why it is held back from a plain apply, if it is

    @property
    def entry(self) -> Entry:
        """The entry as the sandbox left it, or as it was copied in for a deletion."""
        entry = self.new or self.old
        if entry is None:
            raise ValueError(f"a change of {self.path!r} with neither an old nor a new entry")
        return entry

    @property
    def host_mode(self) -> int:
        """The mode apply gives a new or changed file or directory (deletions and symlinks have none)."""
        if self.mode is None:
            raise ValueError(f"a change of {self.path!r} with no mode to apply")
        return self.mode

    def detail(self) -> str:
        old, new = self.old, self.new
        notes = list(self.notes)
        if old is None or new is None:
            entry = self.entry
            if entry.kind == "symlink":  # no mode: symlinks have none on the host
                text = f"-> {shown(entry.target)}"
            else:
                mode = entry.mode if self.mode is None else self.mode  # a deletion keeps its old mode
                text = f"{entry.size} B, {mode:04o}" if entry.kind == "file" else f"{mode:04o}"
            return ", ".join([text, *notes])
        parts = []
        if old.kind != new.kind:
            parts.append(f"{old.kind} -> {new.kind}")
        elif new.kind == "symlink" and old.target != new.target:
            parts.append(f"-> {shown(old.target)} now -> {shown(new.target)}")
        elif new.kind == "file" and old.digest != new.digest:
            parts.append(f"{old.size} B -> {new.size} B")
        if self.mode is not None and old.mode != self.mode and old.kind == new.kind:
            parts.append(f"mode {old.mode:04o} -> {self.mode:04o}")
        return ", ".join(parts + notes)


@dataclass(frozen=True)
class WorkspaceChanges:
    """The difference between what was copied into /app and what /app holds now."""

    root: Path  # the host directory the changes would go to
    staging: Path | None  # new contents of added and modified files, mirrored by path
    changes: tuple[Change, ...]
    # What the sandbox holds but cannot come back (devices, fifos, names that are not UTF-8), with why.
    refused: tuple[tuple[str, str], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.changes or self.refused)

    @property
    def held(self) -> tuple[Change, ...]:
        return tuple(change for change in self.changes if change.held)

    def counts(self) -> dict[str, int]:
        counts: Counter[str] = Counter(change.status for change in self.changes if not change.held)
        if self.held:
            counts["held back"] = len(self.held)
        if self.refused:
            counts["not carried back"] = len(self.refused)
        return dict(counts)

    def summary(self) -> str:
        """The review's table: one escaped row per change, held-back changes apart with why."""
        if not self:
            return f"no changes to {shown(str(self.root))}"
        counts = ", ".join(f"{number} {status}" for status, number in sorted(self.counts().items()))
        rows = [f"changes to {shown(str(self.root))}: {counts}"]
        plain = [change for change in self.changes if not change.held]
        rows += self._rows(plain)
        if self.held:
            rows.append(
                f"HELD BACK, not applied unless you ask for them separately (--apply-git): "
                f"{len(self.held)} change(s) that could make your machine run a program later"
            )
            rows += self._rows(self.held)
        if self.refused:
            rows.append(f"NOT CARRIED BACK from the sandbox: {len(self.refused)} path(s)")
            rows += [f"  {shown(name)}: {why}" for name, why in self.refused]
        return "\n".join(rows)

    def _rows(self, changes: list[Change] | tuple[Change, ...]) -> list[str]:
        names = [shown(change.path) for change in changes]
        width = max(map(len, names), default=0)
        rows = []
        for change, name in zip(changes, names, strict=True):
            kind = change.entry.kind
            texts = self._texts(change) if _shows_diff(change) else ()
            note = f" ({texts})" if isinstance(texts, str) else ""
            rows.append(f"  {change.status:<12} {kind:<7} {name:<{width}}  {change.detail()}{note}")
            if change.held:
                rows.append(f"      why: {change.held}")
        return rows

    def diff(self) -> Iterator[str]:
        """Unified diffs of the changed text files, one file at a time, every line escaped."""
        for change in self.changes:
            if not _shows_diff(change):
                continue
            texts = self._texts(change)
            name = shown(change.path)
            if isinstance(texts, str):
                yield f"{name}: no text diff ({texts})\n"
                continue
            old_text, new_text = texts
            lines = difflib.unified_diff(
                old_text.splitlines(keepends=True),
                new_text.splitlines(keepends=True),
                fromfile="/dev/null" if change.old is None or change.old.kind != "file" else f"a/{name}",
                tofile="/dev/null" if change.new is None or change.new.kind != "file" else f"b/{name}",
                lineterm="\n",
            )
            yield "".join(_shown_line(line) for line in lines)

    def _texts(self, change: Change) -> tuple[str, str] | str:
        """(old, new) text of a file change, or why there is no text diff."""
        sides = []
        for entry, root in ((change.old, self.root), (change.new, self.staging)):
            if entry is None or entry.kind != "file":
                sides.append("")
                continue
            if entry.size > _DIFF_LIMIT:
                return f"over {_DIFF_LIMIT >> 20} MiB"
            if root is None:  # collect() stages every new file; changes without staging have none
                raise ValueError(f"{change.path!r}: a new file without a staging directory")
            with Rooted(root) as tree:
                if entry is change.old and tree.entry(change.path) != entry:
                    return "the host copy changed since"  # apply reports it as a conflict
                with os.fdopen(tree.open_file(change.path), "rb") as handle:
                    data = handle.read()
            if b"\0" in data:
                return "binary"
            try:
                sides.append(data.decode("utf-8"))
            except UnicodeDecodeError:
                return "binary"
        return sides[0], sides[1]


def _shown_line(line: str) -> str:
    """A diff line with its content escaped; difflib's own lines end in a newline or not at all."""
    body = line[:-1] if line.endswith("\n") else line
    ending = "\n" if line.endswith("\n") else "\n\\ No newline at end of file\n"
    return shown(body) + ending


def _shows_diff(change: Change) -> bool:
    """A file's bytes changed (a file on at least one side, more than its mode)."""
    kinds = {getattr(change.old, "kind", None), getattr(change.new, "kind", None)}
    return "file" in kinds and change.status != "mode changed"


def compare(
    before: Manifest,
    after: Manifest,
    refused: frozenset[str] = frozenset(),
    umask: int | None = None,
    git_named: frozenset[str] = frozenset(),
) -> tuple[Change, ...]:
    """The changes from `before` to `after`, in path order, with the modes apply will give and
    the reasons some are held back (`git_named`: the paths the person's git configuration names,
    git_config.py). What could not come back (`refused`, names that are not UTF-8) is left out
    on both sides: the collection reports it, and it must not look deleted."""
    umask = current_umask() if umask is None else umask
    before = {path: entry for path, entry in before.items() if path not in refused and _representable(path)}
    git_directories = _git_directories(before.keys() | after.keys())
    found = []
    for path in sorted(before.keys() | after.keys()):
        old, new = before.get(path), after.get(path)
        status = _status(old, new)
        if status is None:
            continue
        mode = applied_mode(old, new, umask)
        held = held_reason(path, git_directories, git_named)
        found.append(Change(path, status, old, new, mode, _notes(path, old, new, mode), held))
    return tuple(found)


def applied_mode(old: Entry | None, new: Entry | None, umask: int) -> int | None:
    """The bits a new or changed entry gets on the host: never setuid, setgid or sticky; write
    for group and others only where the host copy already had it (new paths: the umask decides)."""
    if new is None or new.kind == "symlink":
        return None
    mode = new.mode & 0o777
    if old is not None and old.kind == new.kind:
        return mode & ~(_OTHERS_WRITE & ~old.mode)
    return mode & ~(_OTHERS_WRITE | umask)


def _notes(path: str, old: Entry | None, new: Entry | None, mode: int | None) -> tuple[str, ...]:
    if new is not None and new.kind == "symlink" and (old is None or old.target != new.target):
        # What later writes or reads through it reaches a file outside the project.
        return ("LEADS OUTSIDE THE WORKSPACE",) if leaves_tree(path, new.target or "") else ()
    if new is None or mode is None:
        return ()
    notes = []
    dropped = [name for bit, name in _SPECIAL_BITS.items() if new.mode & bit]
    if dropped:
        notes.append(f"{'/'.join(dropped)} bit not applied")
    if new.mode & _OTHERS_WRITE & ~mode:
        notes.append("group/other write not applied")
    was_executable = old is not None and old.kind == "file" and old.mode & 0o111
    if new.kind == "file" and mode & 0o111 and not was_executable:
        notes.append("NEWLY EXECUTABLE")
    return tuple(notes)


@functools.cache
def _held_rules() -> dict:
    return yaml.safe_load(Path(__file__).with_name("held_back.yaml").read_text(encoding="utf-8"))


def _normalised(component: str) -> str:
    """A name as a case-insensitive filesystem that ignores invisible characters would see it."""
    visible = "".join(char for char in component if unicodedata.category(char) != "Cf")
    return visible.rstrip(". ").casefold()


def git_config_keys() -> list[str]:
    """The keys of the person's git configuration whose values name what git runs (git_config.py)."""
    return _held_rules()["git_config_keys"]


def held_reason(path: str, git_directories: set[str], git_named: frozenset[str] = frozenset()) -> str | None:
    """Why a change to `path` must not be applied without a separate yes, or None."""
    components = _held_rules()["components"]
    for part in path.split("/"):
        reason = components.get(_normalised(part))
        if reason:
            return f"{_normalised(part)}: {reason}"
    for directory in git_directories:
        if not directory or path == directory or path.startswith(directory + "/"):
            return _held_rules()["git_directory_reason"]
    for named in git_named:
        if path == named or path.startswith(named + "/") or named.startswith(path + "/"):
            return f"{shown(named)}: {_held_rules()['git_config_reason']}"
    return None


def _git_directories(paths: set[str]) -> set[str]:
    """The directories (relative, "" for the top) that git would take for a git directory."""
    found = set()
    for marks in _held_rules()["git_directory"]:
        candidates = {path.rpartition("/")[0] for path in paths if path.rpartition("/")[2] == marks[0]}
        found |= {
            directory
            for directory in candidates
            if all((f"{directory}/{mark}" if directory else mark) in paths for mark in marks)
        }
    return found


def _representable(path: str) -> bool:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def current_umask() -> int:
    """The process's umask, read without changing it (other threads may be creating files)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:  # no /proc: the classic way, briefly changing it
        pass
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


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
