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

from termagent.errors import SandboxError, WorkspaceError
from termagent.sandbox.docker_connect import connect
from termagent.sandbox.seccomp import setuid_loophole
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
from termagent.workspace.changes import WorkspaceChanges, compare, git_config_keys
from termagent.workspace.git_config import git_linked_paths, git_named_paths
from termagent.workspace.members import CollectLimits
from termagent.workspace.rooted import Rooted

# Asked of the engine for the mounted workspace; they protect the sandbox's own view only.
MOUNT_FLAGS = ("nosuid", "nodev")


class WorkspaceMode(enum.Enum):
    COPY = "copy"  # copied in; changes come back only through apply()
    MOUNT = "mount"  # bind-mounted read-write: the sandbox writes the host directory directly
    NONE = "none"  # an empty /app


def mount_warning(directory: Path) -> str:
    return (
        f"--workspace-mode mount: {directory} is mounted read-write at {APP}. Everything "
        "the model does there happens to your files at once, with no review and no undo: it can edit "
        "or delete any file, plant git hooks and config (.git/) that run on your next git command, "
        "leave scripts and programs that run with your rights when you run them, and create files and "
        "directories that belong to root (removing those may need sudo). The sandbox's disk limit does "
        f"not cover {directory}: what it writes there goes straight to that disk, without bound, and can "
        "fill it; symlinks it leaves there may point anywhere on your machine, and your tools follow them "
        "later. It cannot leave setuid or "
        "setgid programs, file capabilities or device nodes there: termagent's seccomp filter refuses "
        "them, and mount mode is refused when a check in the sandbox finds the filter not in force. "
        "Use --workspace-mode copy to review changes before they are applied."
    )


class Workspace:
    def __init__(
        self,
        directory: Path | str | None,
        mode: WorkspaceMode = WorkspaceMode.COPY,
        limits: CollectLimits | None = None,
    ) -> None:
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
    def host_directory(self) -> Path:
        """The person's directory, which the copy and mount modes work on."""
        if self.directory is None:
            raise WorkspaceError("this workspace has no directory: it was made with --workspace-mode none.")
        return self.directory

    @property
    def warning(self) -> str | None:
        """What the CLI must say loudly before starting, if anything."""
        return mount_warning(self.host_directory) if self.mode is WorkspaceMode.MOUNT else None

    def mounts(self) -> tuple[Mount, ...]:
        if self.mode is not WorkspaceMode.MOUNT:
            return ()
        options = {"type": "none", "o": ",".join(("bind", *MOUNT_FLAGS)), "device": str(self.directory)}
        return (Mount(target=APP, source=self._volume, type="volume", driver_config=DriverConfig("local", options)),)

    def populate(self, container) -> None:
        """Copy mode: put the directory into the running container's /app and remember what went.
        Mount mode: check that /app really is the directory and that the sandbox cannot leave
        setuid, setgid or file-capability programs in it."""
        self._client = container.client if container is not None else None
        if self.mode is WorkspaceMode.MOUNT:
            self._check_mount(container)
        if self.mode is not WorkspaceMode.COPY:
            return
        packed = pack_tree(self.host_directory)
        with packed.tar:
            send_tar(container, packed)
        self.snapshot, self.skipped = packed.manifest, packed.skipped

    def _check_mount(self, container) -> None:
        if app_is_tmpfs(container):
            raise WorkspaceError(
                f"the sandbox put an in-memory /app over the mounted {self.directory}: nothing would reach it.",
                hint="Use a profile without a read-only root (default), or --workspace-mode copy.",
            )
        # nosuid,nodev (when the engine applies them at all) hold inside the container only: the
        # host sees the directory as it is. What keeps root programs out of it is that nothing in
        # the sandbox can make one, which is tried here before the model runs anything.
        loophole = setuid_loophole(container)
        if loophole is not None:
            raise WorkspaceError(
                f"mount mode is refused: {loophole}. A setuid program the sandbox left in {self.directory} "
                "would run as root for any user of this machine.",
                hint="Use --workspace-mode copy (the default): changes come back for review, with setuid bits, "
                "devices and git hooks filtered out.",
            )

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
            with Rooted(staging) as staged, Rooted(self.host_directory) as host:
                collected = unpack_stream(container_chunks(container), staged, keep, host, self.limits)
            refused = frozenset(name for name, _ in collected.refused)
            root = self.host_directory
            git_named = git_named_paths(root, git_config_keys()) | git_linked_paths(root)
            changes = compare(snapshot, collected.manifest, refused, git_named=git_named)
        except BaseException:
            self._drop_staging()
            raise
        return WorkspaceChanges(self.host_directory, staging, changes, collected.refused)

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
            except SandboxError:  # no engine answers: none can have made the volume either
                return
            try:
                client.api.remove_volume(self._volume)
            except NotFound:
                pass
            except APIError as error:
                raise WorkspaceError(
                    f"could not remove the workspace volume {self._volume}: {error.explanation or error}",
                    hint=f"Remove it with `docker volume rm {self._volume}`.",
                ) from error

    def _drop_staging(self) -> None:
        if self._staging is not None:
            self._staging.cleanup()
            self._staging = None


def _checked_directory(directory: Path | str | None) -> Path:
    if directory is None:
        raise WorkspaceError("this workspace mode needs a directory.", hint="Pass --workspace DIR.")
    path = Path(directory).expanduser()
    if not path.exists():
        raise WorkspaceError(f"the workspace {path} does not exist.", hint="Check the path given to --workspace.")
    if not path.is_dir():
        raise WorkspaceError(
            f"the workspace {path} is not a directory.", hint="--workspace takes a directory (the project to work on)."
        )
    return path.resolve()
