"""The workspace modes and the Workspace object the agent drives through a session.

Order of calls: `mounts()` into the SandboxSpec, `populate(container)` once the sandbox runs,
`collect(container)` before it is closed, `apply(changes)` only after the person approved,
`close()` at the end (or use it as a context manager).
"""

from __future__ import annotations

import enum
import secrets
import tempfile
from pathlib import Path

from docker.errors import APIError, NotFound
from docker.types import DriverConfig, Mount

from termagent.errors import TermagentError, WorkspaceError
from termagent.sandbox.docker_connect import connect
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
from termagent.workspace.members import CollectLimits
from termagent.workspace.rooted import Rooted

# What a mounted workspace must never give the sandbox on the host: setuid programs, devices.
MOUNT_FLAGS = ("nosuid", "nodev")


class WorkspaceMode(enum.Enum):
    COPY = "copy"  # copied in; changes come back only through apply()
    MOUNT = "mount"  # bind-mounted read-write: the sandbox writes the host directory directly
    NONE = "none"  # an empty /app


def mount_warning(directory: Path) -> str:
    return (f"WARNING: --workspace-mode mount: {directory} is mounted read-write at {APP}. Everything "
            "the model does there happens to your files at once, with no review and no undo: it can edit "
            "or delete any file, plant git hooks and config (.git/) that run on your next git command, and "
            "create files that belong to root. nosuid,nodev hold inside the sandbox only: a program it "
            "leaves there runs with your rights when you run it. Use --workspace-mode copy to review "
            "changes before they are applied.")


class Workspace:
    def __init__(self, directory: Path | str | None, mode: WorkspaceMode = WorkspaceMode.COPY,
                 limits: CollectLimits | None = None) -> None:
        self.mode = mode
        self.directory = _checked_directory(directory) if mode is not WorkspaceMode.NONE else None
        self.limits = limits or CollectLimits()
        self.snapshot: Manifest | None = None
        self.skipped: tuple[str, ...] = ()  # host paths not carried (fifos, sockets, devices)
        self._staging: tempfile.TemporaryDirectory | None = None
        # Mount mode goes through a local volume, the one way Docker takes mount flags for a bind.
        self._volume = f"termagent-workspace-{secrets.token_hex(6)}"
        self._client = None

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
        options = {"type": "none", "o": ",".join(("bind", *MOUNT_FLAGS)), "device": str(self.directory)}
        return (Mount(target=APP, source=self._volume, type="volume", driver_config=DriverConfig("local", options)),)

    def populate(self, container) -> None:
        """Copy mode: put the directory into the running container's /app and remember what went.
        Mount mode: check that /app really is the directory, mounted nosuid,nodev."""
        self._client = container.client if container is not None else None
        if self.mode is WorkspaceMode.MOUNT:
            self._check_mount(container)
        if self.mode is not WorkspaceMode.COPY:
            return
        packed = pack_tree(self.directory)
        with packed.tar:
            send_tar(container, packed)
        self.snapshot, self.skipped = packed.manifest, packed.skipped

    def _check_mount(self, container) -> None:
        if app_is_tmpfs(container):
            raise WorkspaceError(
                f"the sandbox put an in-memory /app over the mounted {self.directory}: nothing would reach it.",
                hint="Use a profile without a read-only root (default), or --workspace-mode copy.")
        # Read before the model has run anything: the container is still as we made it.
        options = _mount_options(container, APP)
        missing = [flag for flag in MOUNT_FLAGS if flag not in options]
        if missing:
            raise WorkspaceError(
                f"the Docker engine mounted {self.directory} at {APP} without {','.join(missing)} "
                f"(it has: {','.join(options) or 'no such mount'}), so a program the sandbox makes setuid "
                "there, or a device node, would keep its powers on this machine. Mount mode is refused.",
                hint="Use --workspace-mode copy (the default): changes come back for review, with setuid bits, "
                     "devices and git hooks filtered out.")

    def collect(self, container) -> WorkspaceChanges:
        """Copy mode: what the session changed in /app, against what was copied in. Nothing on
        the host changes; the new contents wait in a private temporary directory (0700) until
        apply or close. Any failure removes it at once."""
        if self.mode is not WorkspaceMode.COPY:
            return WorkspaceChanges(self.directory or Path(APP), None, ())
        if self.snapshot is None:
            raise WorkspaceError("collect() before populate(): nothing was copied into the sandbox.")
        self._drop_staging()
        self._staging = tempfile.TemporaryDirectory(prefix="termagent-changes-")
        staging = Path(self._staging.name)
        snapshot = self.snapshot

        def keep(path, entry) -> bool:
            return snapshot.get(path) is None or not snapshot[path].same_content(entry)

        try:
            with Rooted(staging) as staged, Rooted(self.directory) as host:
                collected = unpack_stream(container_chunks(container), staged, keep, host, self.limits)
            refused = frozenset(name for name, _ in collected.refused)
            changes = compare(snapshot, collected.manifest, refused)
        except BaseException:
            self._drop_staging()
            raise
        return WorkspaceChanges(self.directory, staging, changes, collected.refused)

    def apply(self, changes: WorkspaceChanges, *, include_held: bool = False) -> ApplyResult:
        """Write the changes; those held back (git data, hooks) only with `include_held`."""
        if self.mode is not WorkspaceMode.COPY:
            raise WorkspaceError(f"apply() is for the copy mode; this workspace is {self.mode.value}.")
        return apply_changes(changes, include_held=include_held)

    def close(self) -> None:
        self._drop_staging()
        if self.mode is WorkspaceMode.MOUNT:
            # Only the volume's record goes: a bind volume's removal leaves the directory alone.
            # Docker made it with the container, which may have failed before populate().
            try:
                client = self._client or connect()
            except TermagentError:  # no engine answers: none can have made the volume either
                return
            try:
                client.api.remove_volume(self._volume)
            except NotFound:
                pass
            except APIError as error:
                raise WorkspaceError(f"could not remove the workspace volume {self._volume}: "
                                     f"{error.explanation or error}",
                                     hint=f"Remove it with `docker volume rm {self._volume}`.") from error

    def _drop_staging(self) -> None:
        if self._staging is not None:
            self._staging.cleanup()
            self._staging = None


def _mount_options(container, target: str) -> list[str]:
    """The per-mount options of `target` inside the container, from its mountinfo."""
    api = container.client.api
    exec_id = api.exec_create(container.id, ["cat", "/proc/self/mountinfo"], stdout=True, stderr=False)["Id"]
    mountinfo = api.exec_start(exec_id).decode("utf-8", "replace")
    for line in mountinfo.splitlines():
        fields = line.split()
        if len(fields) > 5 and fields[4] == target:
            return fields[5].split(",")
    return []


def _checked_directory(directory: Path | str | None) -> Path:
    if directory is None:
        raise WorkspaceError("this workspace mode needs a directory.", hint="Pass --workspace DIR.")
    path = Path(directory).expanduser()
    if not path.exists():
        raise WorkspaceError(f"the workspace {path} does not exist.", hint="Check the path given to --workspace.")
    if not path.is_dir():
        raise WorkspaceError(f"the workspace {path} is not a directory.",
                             hint="--workspace takes a directory (the project to work on).")
    return path.resolve()
