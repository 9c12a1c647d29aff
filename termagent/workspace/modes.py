"""The workspace modes and the Workspace object the agent drives through a session.

Order of calls: `mounts()` into the SandboxSpec, `populate(container)` once the sandbox runs,
`collect(container)` before it is closed, `apply(changes)` only after the person approved,
`close()` at the end (or use it as a context manager).
"""

from __future__ import annotations

import enum
import tempfile
from pathlib import Path

from docker.types import Mount

from termagent.errors import TermagentError
from termagent.workspace.apply import ApplyResult, apply_changes
from termagent.workspace.archive import (
    APP,
    Manifest,
    app_is_tmpfs,
    container_chunks,
    pack_tree,
    send_tar,
    unpack_stream,
)
from termagent.workspace.changes import WorkspaceChanges, compare


class WorkspaceMode(enum.Enum):
    COPY = "copy"  # copied in; changes come back only through apply()
    MOUNT = "mount"  # bind-mounted read-write: the sandbox writes the host directory directly
    NONE = "none"  # an empty /app


def mount_warning(directory: Path) -> str:
    return (f"WARNING: --workspace-mode mount: {directory} is mounted read-write at {APP}. Everything "
            "the model does there (edits, deletions) happens to your files at once, with no review and "
            "no undo, and files it creates belong to root. Use --workspace-mode copy to review changes "
            "before they are applied.")


class Workspace:
    def __init__(self, directory: Path | str | None, mode: WorkspaceMode = WorkspaceMode.COPY) -> None:
        self.mode = mode
        self.directory = _checked_directory(directory) if mode is not WorkspaceMode.NONE else None
        self.snapshot: Manifest | None = None
        self.skipped: tuple[str, ...] = ()  # host paths not carried (fifos, sockets, devices)
        self._staging: tempfile.TemporaryDirectory | None = None

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    @property
    def warning(self) -> str | None:
        """What the CLI must say loudly before starting, if anything."""
        return mount_warning(self.directory) if self.mode is WorkspaceMode.MOUNT else None

    def mounts(self) -> tuple[Mount, ...]:
        if self.mode is not WorkspaceMode.MOUNT:
            return ()
        return (Mount(target=APP, source=str(self.directory), type="bind", read_only=False),)

    def populate(self, container) -> None:
        """Copy mode: put the directory into the running container's /app and remember what went.
        Mount mode: check that /app really is the directory."""
        if self.mode is WorkspaceMode.MOUNT and app_is_tmpfs(container):
            raise TermagentError(
                f"the sandbox put an in-memory /app over the mounted {self.directory}: nothing would reach it.",
                hint="Use a profile without a read-only root (default), or --workspace-mode copy.")
        if self.mode is not WorkspaceMode.COPY:
            return
        packed = pack_tree(self.directory)
        with packed.tar:
            send_tar(container, packed)
        self.snapshot, self.skipped = packed.manifest, packed.skipped

    def collect(self, container) -> WorkspaceChanges:
        """Copy mode: what the session changed in /app, against what was copied in. Nothing on
        the host changes; the new contents wait in a temporary directory until apply or close."""
        if self.mode is not WorkspaceMode.COPY:
            return WorkspaceChanges(self.directory or Path(APP), None, ())
        if self.snapshot is None:
            raise TermagentError("collect() before populate(): nothing was copied into the sandbox.")
        self._drop_staging()
        self._staging = tempfile.TemporaryDirectory(prefix="termagent-changes-")
        staging = Path(self._staging.name)
        snapshot = self.snapshot

        def keep(path, entry) -> bool:
            return snapshot.get(path) is None or not snapshot[path].same_content(entry)

        current = unpack_stream(container_chunks(container), staging, keep, self.directory)
        return WorkspaceChanges(self.directory, staging, compare(snapshot, current))

    def apply(self, changes: WorkspaceChanges) -> ApplyResult:
        if self.mode is not WorkspaceMode.COPY:
            raise TermagentError(f"apply() is for the copy mode; this workspace is {self.mode.value}.")
        return apply_changes(changes)

    def close(self) -> None:
        self._drop_staging()

    def _drop_staging(self) -> None:
        if self._staging is not None:
            self._staging.cleanup()
            self._staging = None


def _checked_directory(directory: Path | str | None) -> Path:
    if directory is None:
        raise TermagentError("this workspace mode needs a directory.", hint="Pass --workspace DIR.")
    path = Path(directory).expanduser()
    if not path.exists():
        raise TermagentError(f"the workspace {path} does not exist.", hint="Check the path given to --workspace.")
    if not path.is_dir():
        raise TermagentError(f"the workspace {path} is not a directory.",
                             hint="--workspace takes a directory (the project to work on).")
    return path.resolve()
