"""Tar in and out: a host tree into a container's /app, and /app back out, entry by entry.

Both directions stream: the outgoing tar is spooled to a temporary file, the incoming one is read
member by member, so a large tree is never held whole in memory. Every file's sha256 is taken
from the very bytes that travel, so the snapshot describes exactly what the container got.
The incoming archive is hostile input: each member is checked (members.py) before anything is
written, and written only below the staging directory, through descriptors (rooted.py).
"""

from __future__ import annotations

import hashlib
import os
import socket
import stat
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from docker.errors import APIError

from termagent.errors import WorkspaceError
from termagent.sandbox.docker_connect import raw_socket
from termagent.workspace.entries import Entry, Manifest
from termagent.workspace.members import (
    Budget,
    CollectLimits,
    HostileArchive,
    Unrepresentable,
    climbs_out,
    member_path,
    shown,
    symlink_target,
)
from termagent.workspace.rooted import Rooted, hash_stream

APP = "/app"
_CHUNK = 1 << 20
# Files up to this size are read whole in memory on the way back; larger ones go straight to staging.
_IN_MEMORY = 1 << 20
# What tar may add around its members: headers and the padding of its last record.
_HEADER_ALLOWANCE = 2048


@dataclass(frozen=True)
class Packed:
    """A tar of a host tree, ready to send, and what it holds."""

    tar: BinaryIO
    manifest: Manifest
    skipped: tuple[str, ...]  # fifos, sockets, devices: nothing a project carries
    # A relative symlink climbing out of the tree: Docker's archive API refuses to extract it.
    links_leave_tree: bool = False


def pack_tree(root: Path) -> Packed:
    """Tar `root` (symlinks as symlinks, modes kept, owned by root inside) into a temporary file.

    Unreadable files make it fail as a whole, listing them, before anything has been sent."""
    tar_file = tempfile.TemporaryFile(prefix="termagent-workspace-")  # noqa: SIM115 (returned, the caller closes it)
    manifest: Manifest = {}
    skipped: list[str] = []
    unreadable: list[str] = []
    links_leave_tree = False
    with tarfile.open(fileobj=tar_file, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for relative, path, info in _walk(root, unreadable):
            mode = stat.S_IMODE(info.st_mode)
            member = _member(relative, mode, info.st_mtime)
            if stat.S_ISLNK(info.st_mode):
                member.type, member.linkname = tarfile.SYMTYPE, os.readlink(path)
                manifest[relative] = Entry("symlink", mode, target=member.linkname)
                links_leave_tree = links_leave_tree or (
                    not member.linkname.startswith("/") and climbs_out(relative, member.linkname)
                )
                tar.addfile(member)
            elif stat.S_ISDIR(info.st_mode):
                member.type = tarfile.DIRTYPE
                manifest[relative] = Entry("dir", mode)
                tar.addfile(member)
            elif stat.S_ISREG(info.st_mode):
                try:
                    handle = path.open("rb")
                except PermissionError:
                    unreadable.append(relative)
                    continue
                with handle:
                    reader = _HashingReader(handle)
                    member.size = os.fstat(handle.fileno()).st_size
                    try:
                        tar.addfile(member, reader)
                    except OSError as error:  # it shrank while being read
                        tar_file.close()
                        raise WorkspaceError(
                            f"{path} changed while it was being copied: {error}",
                            hint="Start again once nothing else writes to the workspace.",
                        ) from error
                manifest[relative] = Entry("file", mode, member.size, reader.digest.hexdigest())
            else:
                skipped.append(relative)
    if unreadable:
        tar_file.close()
        shown = ", ".join(unreadable[:20]) + (f" and {len(unreadable) - 20} more" if len(unreadable) > 20 else "")
        raise WorkspaceError(
            f"cannot read {len(unreadable)} path(s) in the workspace {root}: {shown}",
            hint="Make them readable (chmod), or use a workspace without them.",
        )
    tar_file.seek(0)
    return Packed(tar_file, manifest, tuple(skipped), links_leave_tree)


def _walk(root: Path, unreadable: list[str]) -> Iterator[tuple[str, Path, os.stat_result]]:
    """(relative path, path, lstat) for everything below root, parents before children."""
    pending = [(root, "")]
    while pending:
        directory, prefix = pending.pop()
        try:
            with os.scandir(directory) as listing:
                children = sorted(listing, key=lambda child: child.name)
        except PermissionError:
            unreadable.append(prefix or ".")
            continue
        for child in children:
            relative = f"{prefix}{child.name}"
            info = child.stat(follow_symlinks=False)
            yield relative, Path(child.path), info
            if stat.S_ISDIR(info.st_mode):
                pending.append((Path(child.path), f"{relative}/"))


def _member(name: str, mode: int, mtime: float) -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.mode, member.mtime = mode, int(mtime)
    # Owned by the container's root, so it can work on every file whatever the capabilities.
    member.uid = member.gid = 0
    member.uname = member.gname = "root"
    return member


class _HashingReader:
    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        self.digest.update(data)
        return data


# -- moving tars in and out of the container ------------------------------------------------


def app_is_tmpfs(container) -> bool:
    # Docker's archive API neither writes to a read-only root nor sees into tmpfs mounts
    # (the strict profile's /app), so there the tar goes through `tar` inside the container.
    container.reload()
    return APP in (container.attrs.get("HostConfig", {}).get("Tmpfs") or {})


def send_tar(container, packed: Packed) -> None:
    """Extract the tar into the container's /app."""
    try:
        if packed.links_leave_tree or app_is_tmpfs(container):
            _exec_tar_in(container, packed.tar)
        else:
            container.put_archive(APP, packed.tar)
    except APIError as error:
        raise WorkspaceError(f"could not copy the workspace into the sandbox: {error.explanation or error}") from error


def _exec_tar_in(container, tar: BinaryIO) -> None:
    api = container.client.api
    exec_id = api.exec_create(
        container.id, ["tar", "-x", "--no-same-owner", "-p", "-C", APP], stdin=True, stdout=True, stderr=True
    )["Id"]
    connection = api.exec_start(exec_id, socket=True)
    raw = raw_socket(connection)
    output = b""
    try:
        while chunk := tar.read(_CHUNK):
            raw.sendall(chunk)
        raw.shutdown(socket.SHUT_WR)
        while data := raw.recv(65536):
            output += data
    except OSError as error:  # tar stopped reading (a full /app): its status and output say why
        output += str(error).encode()
    finally:
        connection.close()
    code = api.exec_inspect(exec_id)["ExitCode"]
    if code != 0:
        raise WorkspaceError(
            f"tar inside the sandbox failed ({code}): {output.decode('utf-8', 'replace')[-500:]}",
            hint="The image needs GNU tar for a workspace on a tmpfs /app.",
        )


def container_chunks(container) -> Iterator[bytes]:
    """The container's /app as a tar stream, made by `tar` inside the sandbox (so it also sees
    a tmpfs /app, which Docker's archive API cannot). A process in the sandbox can replace that
    tar, so what comes out is checked member by member (unpack_stream)."""
    api = container.client.api
    try:
        exec_id = api.exec_create(container.id, ["tar", "-c", "-C", APP, "."], stdout=True, stderr=True)["Id"]
        errors = []
        for out, err in api.exec_start(exec_id, stream=True, demux=True):
            if err:
                errors.append(err)
            if out:
                yield out
        code = api.exec_inspect(exec_id)["ExitCode"]
    except APIError as error:
        raise WorkspaceError(
            f"could not read the workspace back from the sandbox: {shown(str(error.explanation or error))}"
        ) from error
    if code != 0:
        # A file tar could not read would otherwise look deleted: fail rather than misreport.
        message = shown(b"".join(errors).decode("utf-8", "replace")[-500:])
        raise WorkspaceError(
            f"reading /app in the sandbox failed: {message}",
            hint="Without capabilities root cannot read a file whose mode denies it: make it "
            "readable inside the sandbox (chmod u+r) and collect again.",
        )


class _ChunkReader:
    """A file-like view of a chunk iterator that refuses to read more than `ceiling` bytes."""

    def __init__(self, chunks: Iterator[bytes], ceiling: int) -> None:
        self._chunks = chunks
        self._chunk = b""
        self._offset = 0
        self._left = ceiling

    def read(self, size: int = -1) -> bytes:
        parts = []
        wanted = size if size >= 0 else 1 << 62
        while wanted > 0:
            if self._offset >= len(self._chunk):
                self._chunk, self._offset = next(self._chunks, b""), 0
                if not self._chunk:
                    break
                self._left -= len(self._chunk)
                if self._left < 0:
                    raise HostileArchive("the archive of /app is larger than its members account for.")
            piece = self._chunk[self._offset : self._offset + wanted]
            self._offset += len(piece)
            wanted -= len(piece)
            parts.append(piece)
        return b"".join(parts)

    def drain(self) -> None:
        """Read to the end, so that the producer's exit status is checked."""
        while self.read(_CHUNK):
            pass


@dataclass(frozen=True)
class Collected:
    manifest: Manifest
    # Paths in /app that cannot come back (devices, fifos, names that are not UTF-8), with why.
    refused: tuple[tuple[str, str], ...]


Keep = Callable[[str, Entry], bool]
_REFUSED_TYPES = {tarfile.CHRTYPE: "a character device", tarfile.BLKTYPE: "a block device", tarfile.FIFOTYPE: "a fifo"}


def unpack_stream(
    chunks: Iterator[bytes], staging: Rooted, keep: Keep, host: Rooted, limits: CollectLimits
) -> Collected:
    """Read a tar stream of /app into a manifest, checking every member first; the files for
    which keep(path, entry) holds are written below `staging` (nothing is written anywhere else).
    Hard links become files with the content of their target, taken from staging or, when the
    target was not kept, from `host` (the workspace directory)."""
    ceiling = limits.max_bytes + limits.max_files * _HEADER_ALLOWANCE + _CHUNK
    reader = _ChunkReader(chunks, ceiling)
    budget = Budget(limits)
    manifest: Manifest = {}
    refused: list[tuple[str, str]] = []
    try:
        # typeshed's _Fileobj also asks for write/seek/tell/close, which stream mode ("r|") never calls.
        with tarfile.open(fileobj=reader, mode="r|") as tar:  # type: ignore[call-overload]
            for member in tar:
                budget.take(member.size if member.isfile() else 0)  # every member counts, refused ones too
                try:
                    relative = member_path(member.name, directory=member.isdir())
                except Unrepresentable:
                    refused.append((member.name.removeprefix("./"), "its name is not valid UTF-8"))
                    continue
                try:
                    entry = _checked(member, relative, manifest, budget)
                except Unrepresentable:
                    refused.append((relative, "what it links to is not valid UTF-8"))
                    continue
                if entry is None:
                    if relative:
                        refused.append((relative, _REFUSED_TYPES.get(member.type, "not a file, directory or link")))
                    continue
                if member.isfile():
                    entry = _unpack_file(tar, member, relative, entry, staging, keep)
                elif member.islnk():
                    _unpack_hard_link(member, relative, entry, staging, keep, host)
                manifest[relative] = entry
        reader.drain()
    except (tarfile.TarError, EOFError, ValueError) as error:
        raise HostileArchive(f"the archive of /app is not a valid tar: {shown(str(error))}") from error
    return Collected(manifest, tuple(refused))


def _checked(member: tarfile.TarInfo, relative: str, manifest: Manifest, budget: Budget) -> Entry | None:
    """The entry a member stands for, None for /app itself and for what is not carried back.
    Raises HostileArchive when the member could not come from a walk of a real tree."""
    if not relative:
        if not member.isdir() or manifest:
            raise HostileArchive("the archive names /app itself other than as its first directory.")
        return None
    if relative in manifest:
        raise HostileArchive(f"the archive holds {shown(relative)} twice.")
    parent = relative.rpartition("/")[0]
    if parent and getattr(manifest.get(parent), "kind", None) != "dir":
        raise HostileArchive(
            f"the archive puts {shown(relative)} below something that is not a directory listed before it."
        )
    mode = member.mode & 0o7777
    if member.isfile():
        return Entry("file", mode, member.size)
    if member.isdir():
        return Entry("dir", mode)
    if member.issym():
        return Entry("symlink", mode, target=symlink_target(member.linkname))
    if member.islnk():
        target = member_path(member.linkname, directory=False)
        linked = manifest.get(target)
        if linked is None or linked.kind != "file":
            raise HostileArchive(
                f"{shown(relative)} is a hard link to {shown(member.linkname)}, which the archive "
                "does not hold as a file before it."
            )
        budget.add_bytes(linked.size)  # its content is copied again
        return Entry("file", mode, linked.size, linked.digest)
    return None


_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL


def _unpack_file(
    tar: tarfile.TarFile, member: tarfile.TarInfo, relative: str, entry: Entry, staging: Rooted, keep: Keep
) -> Entry:
    source = tar.extractfile(member)
    if source is None:  # the caller checked member.isfile(); tarfile has no reader for anything else
        raise HostileArchive(f"{shown(relative)}: a file member without content")
    if member.size <= _IN_MEMORY:
        data = source.read()
        entry = Entry("file", entry.mode, len(data), hashlib.sha256(data).hexdigest())
        if keep(relative, entry):
            with os.fdopen(staging.open_file(relative, _NEW_FILE), "wb") as staged:
                staged.write(data)
        return entry
    # Too big to hold: staged while it is hashed, dropped again when it is not a change.
    with os.fdopen(staging.open_file(relative, _NEW_FILE), "wb") as staged:
        entry = Entry("file", entry.mode, member.size, hash_stream(source, staged))
    if not keep(relative, entry):
        with staging.parent(relative) as (directory, name):
            os.unlink(name, dir_fd=directory)
    return entry


def _unpack_hard_link(
    member: tarfile.TarInfo, relative: str, entry: Entry, staging: Rooted, keep: Keep, host: Rooted
) -> None:
    if not keep(relative, entry):
        return
    target = member_path(member.linkname, directory=False)
    for tree in (staging, host):
        try:
            source = os.fdopen(tree.open_file(target), "rb")
        except OSError:
            continue
        with source, os.fdopen(staging.open_file(relative, _NEW_FILE), "wb") as staged:
            digest = hash_stream(source, staged)
        if digest == entry.digest:
            return
        with staging.parent(relative) as (directory, name):
            os.unlink(name, dir_fd=directory)
    raise WorkspaceError(
        f"/app/{shown(relative)} is a hard link whose content could not be recovered.",
        hint=f"The host file {shown(target)} changed during the session; collect again.",
    )
