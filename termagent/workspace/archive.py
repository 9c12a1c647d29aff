"""Tar in and out: a host tree into a container's /app, and /app back out, entry by entry.

Both directions stream: the outgoing tar is spooled to a temporary file, the incoming one is read
member by member, so a large tree is never held whole in memory. Every file's sha256 is taken
from the very bytes that travel, so the snapshot describes exactly what the container got.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import shutil
import socket
import stat
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from docker.errors import APIError

from termagent.errors import TermagentError

APP = "/app"
Kind = Literal["file", "dir", "symlink"]
_CHUNK = 1 << 20
# Files up to this size are hashed in memory on the way out; larger ones spill to disk.
_SPOOL_LIMIT = 1 << 20


@dataclass(frozen=True)
class Entry:
    """One path of a tree as far as a workspace cares: what it is, its bits, its content."""

    kind: Kind
    mode: int  # permission bits only (st_mode & 0o7777)
    size: int = 0
    digest: str = ""  # sha256 of a file's bytes
    target: str = ""  # a symlink's target, as written

    def same_content(self, other: Entry) -> bool:
        return (self.kind, self.digest, self.target) == (other.kind, other.digest, other.target)


Manifest = dict[str, Entry]  # relative POSIX path -> entry


@dataclass(frozen=True)
class Packed:
    """A tar of a host tree, ready to send, and what it holds."""

    tar: BinaryIO
    manifest: Manifest
    skipped: tuple[str, ...]  # fifos, sockets, devices: nothing a project carries
    # A relative symlink climbing out of the tree: Docker's archive API refuses to extract it.
    links_leave_tree: bool = False


def host_entry(path: Path) -> Entry | None:
    """The entry of a host path, never following a symlink; None when nothing is there."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return None
    mode = stat.S_IMODE(info.st_mode)
    if stat.S_ISLNK(info.st_mode):
        return Entry("symlink", mode, target=os.readlink(path))
    if stat.S_ISDIR(info.st_mode):
        return Entry("dir", mode)
    if stat.S_ISREG(info.st_mode):
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
        return Entry("file", mode, info.st_size, digest.hexdigest())
    return Entry("file", mode, digest="special")  # never equal to a carried file: shows as a conflict


def pack_tree(root: Path) -> Packed:
    """Tar `root` (symlinks as symlinks, modes kept, owned by root inside) into a temporary file.

    Unreadable files make it fail as a whole, listing them, before anything has been sent."""
    tar_file = tempfile.TemporaryFile(prefix="termagent-workspace-")
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
                links_leave_tree = links_leave_tree or _leaves_tree(relative, member.linkname)
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
                        raise TermagentError(f"{path} changed while it was being copied: {error}",
                                             hint="Start again once nothing else writes to the workspace.") from error
                manifest[relative] = Entry("file", mode, member.size, reader.digest.hexdigest())
            else:
                skipped.append(relative)
    if unreadable:
        tar_file.close()
        shown = ", ".join(unreadable[:20]) + (f" and {len(unreadable) - 20} more" if len(unreadable) > 20 else "")
        raise TermagentError(f"cannot read {len(unreadable)} path(s) in the workspace {root}: {shown}",
                             hint="Make them readable (chmod), or use a workspace without them.")
    tar_file.seek(0)
    return Packed(tar_file, manifest, tuple(skipped), links_leave_tree)


def _leaves_tree(relative: str, target: str) -> bool:
    if target.startswith("/"):
        return False
    return posixpath.normpath(posixpath.join(posixpath.dirname(relative), target)).startswith("..")


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
        raise TermagentError(
            f"could not copy the workspace into the sandbox: {error.explanation or error}") from error


def _exec_tar_in(container, tar: BinaryIO) -> None:
    api = container.client.api
    exec_id = api.exec_create(container.id, ["tar", "-x", "--no-same-owner", "-p", "-C", APP],
                              stdin=True, stdout=True, stderr=True)["Id"]
    connection = api.exec_start(exec_id, socket=True)
    raw = getattr(connection, "_sock", connection)
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
        raise TermagentError(f"tar inside the sandbox failed ({code}): {output.decode('utf-8', 'replace')[-500:]}",
                             hint="The image needs GNU tar for a workspace on a tmpfs /app.")


def container_chunks(container) -> Iterator[bytes]:
    """The container's /app as a tar stream whose member names are relative to /app."""
    try:
        if not app_is_tmpfs(container):
            chunks, _ = container.get_archive(APP)
            yield from chunks  # names start with "app/"
            return
        yield from _exec_tar_out(container)  # names start with "./"
    except APIError as error:
        raise TermagentError(
            f"could not read the workspace back from the sandbox: {error.explanation or error}") from error


def _exec_tar_out(container) -> Iterator[bytes]:
    api = container.client.api
    exec_id = api.exec_create(container.id, ["tar", "-c", "-C", APP, "."], stdout=True, stderr=True)["Id"]
    errors = []
    for out, err in api.exec_start(exec_id, stream=True, demux=True):
        if err:
            errors.append(err)
        if out:
            yield out
    code = api.exec_inspect(exec_id)["ExitCode"]
    if code != 0:
        # A file tar could not read would otherwise look deleted: fail rather than misreport.
        message = b"".join(errors).decode("utf-8", "replace")[-500:]
        raise TermagentError(f"reading /app in the sandbox failed: {message}",
                             hint="Without capabilities root cannot read a file whose mode denies it: make it "
                                  "readable inside the sandbox (chmod u+r) and collect again.")


def relative_name(member_name: str) -> str:
    """A member's path below /app ("" for /app itself), from get_archive's "app/..." or tar's "./..." names."""
    name = member_name.rstrip("/")
    for prefix in ("app", "."):
        if name == prefix:
            return ""
        if name.startswith(prefix + "/"):
            return name[len(prefix) + 1:]
    return name


class _ChunkReader:
    """A file-like view of a chunk iterator, read to its end by drain() (so errors surface)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._chunk = b""
        self._offset = 0

    def read(self, size: int = -1) -> bytes:
        parts = []
        wanted = size if size >= 0 else 1 << 62
        while wanted > 0:
            if self._offset >= len(self._chunk):
                self._chunk, self._offset = next(self._chunks, b""), 0
                if not self._chunk:
                    break
            piece = self._chunk[self._offset:self._offset + wanted]
            self._offset += len(piece)
            wanted -= len(piece)
            parts.append(piece)
        return b"".join(parts)

    def drain(self) -> None:
        for _ in self._chunks:
            pass


Keep = Callable[[str, Entry], bool]


def unpack_stream(chunks: Iterator[bytes], staging: Path, keep: Keep, fallback: Path) -> Manifest:
    """Read a tar stream into a manifest; files for which keep(path, entry) holds are written
    below `staging` (the only contents collected). Hard links become files with the content of
    their target, taken from staging or, when the target was not kept, from `fallback`."""
    reader = _ChunkReader(chunks)
    manifest: Manifest = {}
    with tarfile.open(fileobj=reader, mode="r|") as tar:
        for member in tar:
            relative = relative_name(member.name)
            if not relative:
                continue
            mode = member.mode & 0o7777
            if member.issym():
                manifest[relative] = Entry("symlink", mode, target=member.linkname)
            elif member.isdir():
                manifest[relative] = Entry("dir", mode)
            elif member.isfile():
                manifest[relative] = _unpack_file(tar, member, relative, mode, staging, keep)
            elif member.islnk():
                manifest[relative] = _unpack_hard_link(member, relative, mode, manifest, staging, keep, fallback)
            # Devices and fifos made inside the sandbox are not carried back to the host.
    reader.drain()
    return manifest


def _unpack_file(tar: tarfile.TarFile, member: tarfile.TarInfo, relative: str, mode: int,
                 staging: Path, keep: Keep) -> Entry:
    source = tar.extractfile(member)
    digest = hashlib.sha256()
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_LIMIT) as spool:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            spool.write(chunk)
        entry = Entry("file", mode, member.size, digest.hexdigest())
        if keep(relative, entry):
            spool.seek(0)
            with _staged_path(staging, relative).open("wb") as staged:
                shutil.copyfileobj(spool, staged, _CHUNK)
    return entry


def _unpack_hard_link(member: tarfile.TarInfo, relative: str, mode: int, manifest: Manifest,
                      staging: Path, keep: Keep, fallback: Path) -> Entry:
    target = relative_name(member.linkname)
    linked = manifest.get(target)
    if linked is None or linked.kind != "file":
        raise TermagentError(f"/app/{relative} is a hard link to {member.linkname}, which the archive does not hold.")
    entry = Entry("file", mode, linked.size, linked.digest)
    if keep(relative, entry):
        source = staging / target if (staging / target).is_file() else fallback / target
        found = host_entry(source)
        if found is None or found.digest != linked.digest:
            raise TermagentError(f"/app/{relative} is a hard link whose content could not be recovered.",
                                 hint=f"The host file {target} changed during the session; collect again.")
        shutil.copyfile(source, _staged_path(staging, relative), follow_symlinks=False)
    return entry


def _staged_path(staging: Path, relative: str) -> Path:
    path = staging / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
