"""Writing collected changes into the host directory: per file atomic, never over a host change.

A change goes in only when the host path is still exactly as it was copied (kind, mode,
content; for an added path: still absent). Every directory on the way is opened with
O_NOFOLLOW relative to its parent (rooted.py), so nothing is written through a symlink, even
one swapped in while apply runs. Anything else is a conflict: left alone and reported. Modes
are the safe ones computed in the review (changes.py); held-back changes wait for an explicit yes.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import secrets
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

from termagent.errors import WorkspaceError
from termagent.workspace.changes import Change, WorkspaceChanges
from termagent.workspace.members import shown
from termagent.workspace.rooted import BrokenPath, Rooted, entry_at, open_regular


@dataclass(frozen=True)
class Conflict:
    path: str  # as the sandbox named it: shown only through line()
    reason: str

    def line(self) -> str:
        return f"{shown(self.path)}: {self.reason}"


@dataclass(frozen=True)
class ApplyResult:
    root: Path
    applied: tuple[str, ...]
    conflicts: tuple[Conflict, ...]
    held_back: tuple[str, ...] = ()  # left out because nobody asked for them separately

    def summary(self) -> str:
        lines = [f"applied {len(self.applied)} change(s) to {shown(str(self.root))}"]
        if self.conflicts:
            lines.append(f"{len(self.conflicts)} change(s) NOT applied (the host copy is left as it is):")
            lines += [f"  {conflict.line()}" for conflict in self.conflicts]
        if self.held_back:
            lines.append(
                f"{len(self.held_back)} held-back change(s) NOT applied (git data and hooks; --apply-git applies them):"
            )
            lines += [f"  {shown(path)}" for path in self.held_back]
        return "\n".join(lines)


def apply_changes(changes: WorkspaceChanges, *, include_held: bool = False) -> ApplyResult:
    if changes.staging is None:
        raise WorkspaceError("these changes were not collected from a copied workspace: there is nothing to apply.")
    with Rooted(changes.root) as host, Rooted(changes.staging) as staging:
        return _Applier(host, staging).run(changes, include_held)


class _Applier:
    def __init__(self, host: Rooted, staging: Rooted) -> None:
        self.host, self.staging = host, staging

    def run(self, changes: WorkspaceChanges, include_held: bool) -> ApplyResult:
        chosen = [change for change in changes.changes if include_held or not change.held]
        held = tuple(change.path for change in changes.changes if change.held and not include_held)
        applied: list[str] = []
        conflicts: list[Conflict] = []
        removed: set[str] = set()
        deepest_first = sorted(chosen, key=lambda change: (-change.path.count("/"), change.path))
        for change in deepest_first:
            if change.status not in ("deleted", "type changed"):
                continue
            reason = self._attempt(change, functools.partial(_remove, change=change), check=True)
            if reason is not None:
                conflicts.append(Conflict(change.path, reason))
                continue
            removed.add(change.path)
            if change.status == "deleted":
                applied.append(change.path)
        directory_modes: list[tuple[str, int]] = []
        for change in reversed(deepest_first):
            if change.new is None or (change.status == "type changed" and change.path not in removed):
                continue
            write = functools.partial(self._write, change=change, directory_modes=directory_modes)
            reason = self._attempt(change, write, check=change.path not in removed)
            if reason is not None:
                conflicts.append(Conflict(change.path, reason))
                continue
            applied.append(change.path)
        # Directory modes last, deepest first, so a read-only directory is still filled first.
        for path, mode in reversed(directory_modes):
            self._attempt_mode(path, mode, conflicts)
        return ApplyResult(self.host.root, tuple(applied), tuple(conflicts), held)

    def _attempt(self, change: Change, action, *, check: bool) -> str | None:
        """Run action(parent descriptor, name) when the host path is as copied; else why not."""
        try:
            with self.host.parent(change.path) as (directory, name):
                if check and entry_at(directory, name) != change.old:
                    return "exists on the host now" if change.old is None else "changed on the host since the copy"
                action(directory, name)
        except BrokenPath:
            return "a directory above it on the host is missing or no longer a directory"
        except OSError as error:
            return f"could not write it: {error.strerror or error}"
        return None

    def _attempt_mode(self, path: str, mode: int, conflicts: list[Conflict]) -> None:
        try:
            with self.host.parent(path) as (directory, name):
                descriptor = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=directory)
                try:
                    os.fchmod(descriptor, mode)
                finally:
                    os.close(descriptor)
        except OSError as error:
            conflicts.append(Conflict(path, f"could not set its mode: {error.strerror or error}"))

    def _write(self, directory: int, name: str, change: Change, directory_modes: list[tuple[str, int]]) -> None:
        new = change.entry  # run() writes only changes with a new entry
        if new.kind == "dir":
            if change.status != "mode changed":
                os.mkdir(name, 0o700, dir_fd=directory)
            directory_modes.append((change.path, change.host_mode))
            return
        if change.status == "mode changed":
            descriptor = os.open(name, os.O_PATH | os.O_NOFOLLOW, dir_fd=directory)
            try:
                if not stat.S_ISREG(os.fstat(descriptor).st_mode):
                    raise IsADirectoryError(errno.EISDIR, "it is no longer a regular file")
                os.chmod(f"/proc/self/fd/{descriptor}", change.host_mode)  # fchmod cannot take an O_PATH descriptor
            finally:
                os.close(descriptor)
            return
        # Written beside the target and renamed over it: the file is either old or new, never half.
        temporary = f".{name[:200]}.termagent-{secrets.token_hex(4)}"
        try:
            if new.kind == "symlink":
                os.symlink(new.target, temporary, dir_fd=directory)
            else:
                descriptor = open_regular(directory, temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with (
                    os.fdopen(descriptor, "wb") as target,
                    os.fdopen(self.staging.open_file(change.path), "rb") as source,
                ):
                    shutil.copyfileobj(source, target, 1 << 20)
                    target.flush()
                    os.fchmod(target.fileno(), change.host_mode)
                    os.fsync(target.fileno())
            os.replace(temporary, name, src_dir_fd=directory, dst_dir_fd=directory)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary, dir_fd=directory)
            raise


def _remove(directory: int, name: str, change: Change) -> None:
    if change.old is None:
        raise ValueError(f"{change.path!r} was added: there is nothing on the host to remove")
    if change.old.kind == "dir":
        os.rmdir(name, dir_fd=directory)
    else:
        os.unlink(name, dir_fd=directory)
