"""What a workspace knows of one path: its kind, permission bits and content."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["file", "dir", "symlink"]


@dataclass(frozen=True)
class Entry:
    kind: Kind
    mode: int  # permission bits only (st_mode & 0o7777)
    size: int = 0
    digest: str = ""  # sha256 of a file's bytes
    target: str = ""  # a symlink's target, as written

    def same_content(self, other: Entry) -> bool:
        return (self.kind, self.digest, self.target) == (other.kind, other.digest, other.target)


Manifest = dict[str, Entry]  # relative POSIX path -> entry
