"""The archive read back from the sandbox is hostile input: the checks on each member, on
crafted tar files written here (no engine needed)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
from workspace_helpers import tree

from termagent.workspace.archive import unpack_stream
from termagent.workspace.members import CollectLimits, HostileArchive, OverLimit, Unrepresentable, member_path
from termagent.workspace.rooted import Rooted


@pytest.mark.parametrize(
    "name",
    [
        "/etc/passwd",
        "../x",
        "./../x",
        "./a/../../x",
        "./a//b",
        "",
        "x",
        "a/b",
        "./a\0b",
        "./.",
        "./a/./b",
        "./a/..",
        ".//a",
        "./" + "n" * 256,
    ],
)
def test_names_a_tree_walk_cannot_produce_are_refused(name):
    with pytest.raises(HostileArchive):
        member_path(name, directory=False)


def test_plain_names_pass_and_invalid_utf8_is_only_unrepresentable():
    assert member_path("./a", directory=False) == "a"
    assert member_path("./a/b c", directory=False) == "a/b c"
    assert member_path("./dir/", directory=True) == "dir"
    assert member_path("./", directory=True) == member_path(".", directory=True) == ""
    with pytest.raises(Unrepresentable):
        member_path("./bad\udcff", directory=False)
    with pytest.raises(HostileArchive):  # the structure is judged first: hostile beats unrepresentable
        member_path("./../bad\udcff", directory=False)


def crafted(*members: tuple) -> bytes:
    """A tar of (name, type, extra) members: type "file" (extra: bytes), "dir", "symlink" or
    "hardlink" (extra: link name), "chr" or "fifo"."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, kind, *extra in members:
            member = tarfile.TarInfo(name)
            member.mode = extra[1] if len(extra) > 1 else 0o644
            if kind == "file":
                member.size = len(extra[0])
                tar.addfile(member, io.BytesIO(extra[0]))
                continue
            member.type = {
                "dir": tarfile.DIRTYPE,
                "symlink": tarfile.SYMTYPE,
                "hardlink": tarfile.LNKTYPE,
                "chr": tarfile.CHRTYPE,
                "fifo": tarfile.FIFOTYPE,
            }[kind]
            if kind in ("symlink", "hardlink"):
                member.linkname = extra[0]
            tar.addfile(member)
    return buffer.getvalue()


@pytest.fixture
def box(tmp_path):
    """(staging, host, outside): staging and the host workspace side by side with a directory
    that must stay empty whatever the archive says."""
    for name in ("staging", "host", "outside"):
        (tmp_path / name).mkdir()
    return tmp_path / "staging", tmp_path / "host", tmp_path / "outside"


def unpack(data: bytes, staging: Path, host: Path, limits: CollectLimits | None = None, chunk: int = 4096):
    chunks = iter([data[offset : offset + chunk] for offset in range(0, len(data), chunk)])
    with Rooted(staging) as staged, Rooted(host) as host_tree:
        return unpack_stream(chunks, staged, lambda path, entry: True, host_tree, limits or CollectLimits())


def hostile_members(outside: Path) -> list[tuple]:
    return [
        (str(outside / "absolute"), "file", b"pwned"),
        ("./" + "../" * 30 + str(outside).lstrip("/") + "/dotdot", "file", b"pwned"),
        ("./a/../../" + outside.name + "/normalised", "file", b"pwned"),
        ("./a//b", "file", b"pwned"),
        ("./link/through", "file", b"pwned"),  # below a symlink listed before it
        ("./hard", "hardlink", str(outside / "x")),
        ("./hard", "hardlink", "./../outside/x"),
        ("./twice", "file", b"pwned"),  # a name given twice
        ("./orphan/file", "file", b"pwned"),  # a parent never listed
        ("./f/under-a-file", "file", b"pwned"),
        ("./empty-target", "symlink", ""),
    ]


@pytest.mark.parametrize("index", range(11))
def test_a_hostile_member_stops_everything_and_nothing_lands_outside(box, index):
    staging, host, outside = box
    hostile = hostile_members(outside)[index]
    prelude = [
        (".", "dir"),
        ("./a", "dir"),
        ("./link", "symlink", str(outside)),
        ("./twice", "file", b"1"),
        ("./f", "file", b"f"),
        ("./ok.txt", "file", b"legit"),
    ]
    with pytest.raises(HostileArchive):
        unpack(crafted(*prelude, hostile), staging, host)
    assert tree(outside) == {} and tree(host) == {}
    # Staging holds nothing but plain files and directories the checks let through.
    assert all(kind in ("file", "dir") for kind, *_ in tree(staging).values())


def test_devices_fifos_and_bad_names_are_listed_and_the_rest_comes_back(box):
    staging, host, _ = box
    collected = unpack(
        crafted(
            (".", "dir"),
            ("./disk", "chr"),
            ("./pipe", "fifo"),
            ("./bad\udcff", "file", b"x"),
            ("./badlink", "symlink", "/tmp/\udcfe"),
            ("./ok.txt", "file", b"legit"),
            ("./setuid", "file", b"#!/bin/sh\n", 0o4755),
        ),
        staging,
        host,
    )
    assert dict(collected.refused) == {
        "disk": "a character device",
        "pipe": "a fifo",
        "bad\udcff": "its name is not valid UTF-8",
        "badlink": "what it links to is not valid UTF-8",
    }
    assert set(collected.manifest) == {"ok.txt", "setuid"}
    assert collected.manifest["setuid"].mode == 0o4755  # as the sandbox set it; changes.py decides what applies
    # Staged files are private to us, whatever mode the archive gave them.
    assert tree(staging) == {"ok.txt": ("file", 0o600, b"legit"), "setuid": ("file", 0o600, b"#!/bin/sh\n")}


@pytest.mark.parametrize(
    "limits, members",
    [
        (
            CollectLimits(max_files=3),
            [("./f1", "file", b"1"), ("./f2", "file", b"2"), ("./f3", "file", b"3"), ("./f4", "file", b"4")],
        ),
        (CollectLimits(max_bytes=10), [("./big", "file", b"x" * 11)]),
        (CollectLimits(max_bytes=10), [("./a", "file", b"x" * 6), ("./b", "hardlink", "./a")]),
    ],
)
def test_over_the_caps_stops_collection(box, limits, members):
    staging, host, _ = box
    with pytest.raises(OverLimit, match="nothing will be applied"):
        unpack(crafted((".", "dir"), *members), staging, host, limits)


def test_garbage_and_trailing_floods_are_refused(box):
    staging, host, _ = box
    with pytest.raises(HostileArchive):
        unpack(b"\x01" * 5000, staging, host)
    flood = crafted((".", "dir"), ("./a", "file", b"a")) + b"\0" * (4 << 20)
    with pytest.raises(HostileArchive, match="larger than"):
        unpack(flood, staging, host, CollectLimits(max_bytes=100, max_files=10), chunk=1 << 16)


def test_large_files_are_staged_only_when_kept_and_hard_links_carry_their_content(box):
    staging, host, _ = box
    big, other = bytes(range(256)) * 9000, b"y" * (3 << 20)  # both over the in-memory size
    data = crafted(
        (".", "dir"),
        ("./big", "file", big),
        ("./same", "file", other),
        ("./link", "hardlink", "./big"),
        ("./link-to-same", "hardlink", "./same"),
    )
    (host / "same").write_bytes(other)  # unchanged: not staged, its hard link's content comes from the host
    chunks = iter([data[offset : offset + 65536] for offset in range(0, len(data), 65536)])
    with Rooted(staging) as staged, Rooted(host) as host_tree:
        collected = unpack_stream(chunks, staged, lambda path, entry: path != "same", host_tree, CollectLimits())
    assert set(collected.manifest) == {"big", "same", "link", "link-to-same"}
    assert collected.manifest["link"].digest == collected.manifest["big"].digest
    assert tree(staging) == {
        "big": ("file", 0o600, big),
        "link": ("file", 0o600, big),
        "link-to-same": ("file", 0o600, other),
    }


def test_refused_members_count_against_the_caps_too(box):
    staging, host, _ = box
    flood = [(f"./bad-{number}-\udcff", "file", b"") for number in range(5)]
    with pytest.raises(OverLimit):
        unpack(crafted((".", "dir"), *flood), staging, host, CollectLimits(max_files=4))
