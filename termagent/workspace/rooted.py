"""Paths below a root directory, reached without ever following a symlink on the host.

Every component is opened relative to its parent's descriptor with O_NOFOLLOW, so a symlink
(or a directory swapped for one while we work) anywhere on the way is an error, never a detour
out of the tree. Staging and apply both write only through this.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from termagent.workspace.entries import Entry

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_CHUNK = 1 << 20


class BrokenPath(OSError):
    """A directory on the way to a path is missing, a symlink, or not a directory."""


class Rooted:
    """A directory held open; use as a context manager. `relative` paths are validated POSIX names."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.fd = os.open(root, _DIR_FLAGS)

    def __enter__(self) -> Rooted:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    @contextlib.contextmanager
    def parent(self, relative: str, *, create: bool = False) -> Iterator[tuple[int, str]]:
        """(descriptor of the directory holding `relative`, its last name). Raises OSError
        BrokenPath when a directory on the way is missing, a symlink or not a directory; with
        `create`, missing directories are made (mode 0700)."""
        *parents, name = relative.split("/")
        fd = os.dup(self.fd)
        try:
            for part in parents:
                child = _open_directory(fd, part, create)
                os.close(fd)
                fd = child
            yield fd, name
        finally:
            os.close(fd)

    def entry(self, relative: str) -> Entry | None:
        """What is at `relative` (symlinks not followed); None when nothing is, or when a
        directory on the way is not a real directory any more."""
        try:
            with self.parent(relative) as (fd, name):
                return entry_at(fd, name)
        except BrokenPath:
            return None

    def open_file(self, relative: str, flags: int = os.O_RDONLY, mode: int = 0o600) -> int:
        """A descriptor of the regular file `relative`, opened with O_NOFOLLOW."""
        with self.parent(relative, create=bool(flags & os.O_CREAT)) as (fd, name):
            return open_regular(fd, name, flags, mode)


def _open_directory(parent: int, name: str, create: bool) -> int:
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=parent)
    except FileNotFoundError as error:
        if not create:
            raise BrokenPath(error.errno, f"{name} is missing") from error
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.ENOTDIR):
            raise BrokenPath(error.errno, f"{name} is not a directory") from error
        raise
    os.mkdir(name, 0o700, dir_fd=parent)
    return os.open(name, _DIR_FLAGS, dir_fd=parent)


def open_regular(dir_fd: int, name: str, flags: int = os.O_RDONLY, mode: int = 0o600) -> int:
    descriptor = os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=dir_fd)
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise IsADirectoryError(f"{name} is not a regular file")
    return descriptor


def entry_at(dir_fd: int, name: str) -> Entry | None:
    try:
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None
    mode = stat.S_IMODE(info.st_mode)
    if stat.S_ISLNK(info.st_mode):
        return Entry("symlink", mode, target=os.readlink(name, dir_fd=dir_fd))
    if stat.S_ISDIR(info.st_mode):
        return Entry("dir", mode)
    if stat.S_ISREG(info.st_mode):
        descriptor = open_regular(dir_fd, name)
        with os.fdopen(descriptor, "rb") as handle:
            return Entry("file", mode, info.st_size, hash_stream(handle))
    return Entry("file", mode, digest="special")  # never equal to a carried file: shows as a conflict


def hash_stream(handle, copy_to=None) -> str:
    """The sha256 of what `handle` reads to its end; the bytes also written to `copy_to`, if given."""
    digest = hashlib.sha256()
    while chunk := handle.read(_CHUNK):
        digest.update(chunk)
        if copy_to is not None:
            copy_to.write(chunk)
    return digest.hexdigest()
