"""The checks a member of the archive read back from the sandbox passes before anything is written.

The archive comes out of the container, so a process in the sandbox may have written it: every
name is checked to be exactly what `tar -c -C /app .` makes of a real tree ("./a/b", parents
before children), and anything else stops the collection as a whole.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from termagent.errors import WorkspaceError
from termagent.text_safety import printable

_NAME_MAX, _PATH_MAX = 255, 4096  # bytes, as Linux allows them


@dataclass(frozen=True)
class CollectLimits:
    """Caps on what one collection may bring to the host; a real project fits the defaults."""

    max_bytes: int = 2 << 30
    max_files: int = 200_000


class HostileArchive(WorkspaceError):
    """The archive is not what a tree walk of /app produces: someone in the sandbox made it."""

    default_hint = (
        "Something in the sandbox replaced the archive of /app; nothing was collected and nothing "
        "will be applied. Inspect the sandbox's work by other means."
    )


class OverLimit(WorkspaceError):
    default_hint = "Raise the cap with --collect-max-size / --collect-max-files if the project really is that big."


class Unrepresentable(Exception):
    """A name that is not valid UTF-8: reported and skipped, the rest of the tree still collected."""


def shown(name: str) -> str:
    """A name (or any text from the sandbox) as it may be shown: every character that could act on
    a terminal or hide, escaped; a newline too, so one name is one line."""
    return printable(name).replace("\n", "\\n")


def member_path(name: str, *, directory: bool) -> str:
    """The path below /app that a member name stands for ("" for /app itself).

    Raises HostileArchive for an absolute name, a `..` or `.` component, an empty component
    (`a//b`), a NUL, or a name not under "./"; Unrepresentable for invalid UTF-8."""
    if "\0" in name:
        raise HostileArchive(f"an archive member name holds a NUL byte: {shown(name)}")
    if name in (".", "./") and directory:
        return ""
    if not name.startswith("./"):
        raise HostileArchive(f"an archive member is not below /app: {shown(name)}")
    rest = name[2:]
    if directory and rest.endswith("/"):
        rest = rest[:-1]
    parts = rest.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise HostileArchive(f"an archive member name is not a plain path below /app: {shown(name)}")
    try:
        encoded = [part.encode("utf-8") for part in parts]
    except UnicodeEncodeError as error:
        raise Unrepresentable(name) from error
    if any(len(part) > _NAME_MAX for part in encoded) or len(rest.encode("utf-8")) > _PATH_MAX:
        raise HostileArchive(f"an archive member name is longer than Linux allows: {shown(name)[:300]}...")
    return rest


def symlink_target(target: str) -> str:
    """A symlink's target, stored as written and never followed; must be a possible Linux target."""
    if not target or "\0" in target or len(target.encode("utf-8", "surrogateescape")) > _PATH_MAX:
        raise HostileArchive(f"an archive symlink has an impossible target: {shown(target)[:300]}")
    try:
        target.encode("utf-8")
    except UnicodeEncodeError as error:
        raise Unrepresentable(target) from error
    return target


def climbs_out(relative: str, target: str) -> bool:
    """Whether a relative symlink target, from the link at `relative`, climbs above the tree."""
    return posixpath.normpath(posixpath.join(posixpath.dirname(relative), target)).split("/")[0] == ".."


def leaves_tree(relative: str, target: str) -> bool:
    """Whether a symlink at `relative` to `target` leads out of the tree (absolute, or climbing)."""
    return target.startswith("/") or climbs_out(relative, target)


class Budget:
    """Counts members and bytes against the limits; over either, the collection stops."""

    def __init__(self, limits: CollectLimits) -> None:
        self.limits = limits
        self.files = self.bytes = 0

    def take(self, size: int) -> None:
        """One more member, of `size` bytes."""
        self.files += 1
        if self.files > self.limits.max_files:
            raise OverLimit(
                f"/app in the sandbox holds more than {self.limits.max_files} files; collection "
                "stopped and nothing will be applied."
            )
        self.add_bytes(size)

    def add_bytes(self, size: int) -> None:
        self.bytes += size
        if self.bytes > self.limits.max_bytes:
            raise OverLimit(
                f"/app in the sandbox holds more than {self.limits.max_bytes} bytes; collection "
                "stopped and nothing will be applied."
            )
