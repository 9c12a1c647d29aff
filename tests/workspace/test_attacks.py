"""The sandbox as the attacker, against the real Docker engine: it swaps the archive that
collection reads, leaves setuid programs and git hooks behind, names files to break the review."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest
from docker.types import Mount
from workspace_helpers import review_of, run, tree

from termagent.sandbox.container import Sandbox, SandboxSpec
from termagent.sandbox.profiles import load_profile
from termagent.workspace import Workspace, WorkspaceMode
from termagent.workspace.members import HostileArchive

pytestmark = pytest.mark.docker

# Every profile, and the default one with a read-only root (its /app is then in memory too).
PROFILES = [("default", {}), ("networked", {}), ("strict", {}), ("default", {"read_only": True})]

# Run by python3 in the sandbox: a tar whose names climb out of /app to `outside` on the host.
CRAFT = r"""
import io, sys, tarfile
outside = sys.argv[1]
def add(tar, name, data=None, kind=tarfile.REGTYPE, link=""):
    member = tarfile.TarInfo(name); member.type = kind; member.linkname = link; member.mode = 0o644
    member.size = len(data or b"")
    tar.addfile(member, io.BytesIO(data) if data is not None else None)
with tarfile.open("/tmp/evil.tar", "w", format=tarfile.PAX_FORMAT) as tar:
    add(tar, ".", kind=tarfile.DIRTYPE)
    add(tar, "./ok.txt", b"looks legit\n")
    add(tar, "./escape", kind=tarfile.SYMTYPE, link=outside)
    add(tar, {"absolute": outside + "/absolute",
              "dotdot": "./" + "../" * 20 + outside.lstrip("/") + "/dotdot",
              "normalised": "./sub/../../outside/normalised",
              "through-link": "./escape/through-the-link"}[sys.argv[2]], b"pwned\n")
"""
HOSTILE = {
    "absolute": "not below /app",
    "dotdot": "not a plain path",
    "normalised": "not a plain path",
    "through-link": "not a directory listed before it",
}
FAKE_TAR = "#!/bin/sh\\ncat /tmp/evil.tar\\n"  # for printf


@pytest.fixture
def staging_root(tmp_path, monkeypatch):
    """Where staging directories are made during the test, to see that none is left."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


@pytest.mark.parametrize("profile, overrides", PROFILES, ids=["default", "networked", "strict", "read-only"])
def test_a_swapped_archive_writes_nothing_outside_staging(
    tmp_path, staging_root, docker_client, sandbox_image, no_leftover_containers, profile, overrides
):
    project, outside, bin_dir = tmp_path / "project", tmp_path / "outside", tmp_path / "bin"
    for directory in (project, outside, bin_dir):
        directory.mkdir()
    (project / "ok.txt").write_text("original\n")
    before = tree(project)
    # The first directory on the sandbox's PATH is writable here: the attacker gets to put its
    # own `tar` there (on the read-only profiles it could not replace /usr/bin/tar itself).
    spec = SandboxSpec(
        image=sandbox_image,
        profile=load_profile(profile).with_overrides(**overrides),
        mounts=(Mount(target="/usr/local/sbin", source=str(bin_dir), type="bind"),),
    )
    with Workspace(project, WorkspaceMode.COPY) as workspace, Sandbox(spec, client=docker_client) as sandbox:
        workspace.populate(sandbox.container)
        script = base64.b64encode(CRAFT.encode()).decode()
        run(
            sandbox,
            f"echo {script} | base64 -d > /tmp/craft.py && printf '{FAKE_TAR}' > /usr/local/sbin/tar"
            " && chmod 755 /usr/local/sbin/tar && echo changed > /app/ok.txt",
        )
        for attack, why in HOSTILE.items():
            run(sandbox, f"python3 /tmp/craft.py {outside} {attack}")
            with pytest.raises(HostileArchive, match=why) as raised:
                workspace.collect(sandbox.container)
            assert raised.value.hint and "nothing will be applied" in raised.value.hint
            # Nothing written outside, nothing applied, no staging left.
            assert tree(outside) == {} and tree(project) == before
            assert list(staging_root.iterdir()) == []
    assert tree(outside) == {} and tree(project) == before and list(staging_root.iterdir()) == []


@pytest.mark.parametrize("profile, overrides", PROFILES, ids=["default", "networked", "strict", "read-only"])
def test_a_symlink_out_of_the_tree_is_applied_as_a_link_and_never_followed(
    tmp_path, staging_root, sandbox_factory, copied_into, profile, overrides
):
    """With --apply: a valid archive that points out of the workspace lands as a link only."""
    project, outside = tmp_path / "project", tmp_path / "outside"
    project.mkdir()
    outside.mkdir()
    (project / "sub").mkdir()
    workspace, sandbox = copied_into(project, sandbox_factory(profile, **overrides))
    run(
        sandbox, f"cd /app && rm -r sub && ln -s {outside} sub && ln -s {outside}/new.txt link && echo mine > plain.txt"
    )
    changes = workspace.collect(sandbox.container)
    # The review names an added link's target (it has no mode; this once raised a TypeError).
    assert f"-> {outside}/new.txt" in changes.summary()
    result = workspace.apply(changes)
    assert result.conflicts == ()
    assert tree(outside) == {}
    assert tree(project) == {
        "sub": ("symlink", str(outside)),
        "link": ("symlink", f"{outside}/new.txt"),
        "plain.txt": ("file", 0o644, b"mine\n"),
    }
    workspace.close()
    assert list(staging_root.iterdir()) == []


def git(project: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["git", "-C", str(project), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        capture_output=True,
        text=True,
        **kwargs,
    )


# The sandbox's seccomp filter refuses setuid/setgid modes, so they come from the image: hard links
# to its setuid programs, a directory made in its setgid /var/local and moved (same filesystem).
PLANT = (
    "cd /app && ln /usr/bin/su rootbash && mkdir /var/local/shared && mv /var/local/shared shared"
    " && echo x > everyone.txt && chmod 666 everyone.txt && mkdir tmpdir && chmod 1777 tmpdir"
    " && printf '#!/bin/sh\\necho hi\\n' > tool.sh && chmod 755 tool.sh && ln -f /usr/bin/passwd existing.sh"
    " && git config core.fsmonitor 'touch {marker}.fsmonitor; false'"
    " && printf '#!/bin/sh\\ntouch {marker}.hook\\n' > .git/hooks/pre-commit && chmod 755 .git/hooks/pre-commit"
    " && mkdir sub && git -C sub init -q"
    " && printf '*.txt filter=evil\\n' > .gitattributes && echo change >> README"
)


def test_after_apply_no_setuid_world_writable_file_and_no_git_hook_runs(tmp_path, copied):
    project = tmp_path / "project"
    project.mkdir()
    (project / "README").write_text("readme\n")
    (project / "existing.sh").write_text("#!/bin/sh\n")
    os.chmod(project / "existing.sh", 0o755)
    assert git(project, "init", "-q", "-b", "main").returncode == 0
    git(project, "add", "-A", check=True)
    git(project, "commit", "-qm", "first", check=True)
    marker = tmp_path / "ran"
    workspace, sandbox = copied(project)
    run(sandbox, PLANT.format(marker=marker))

    changes = workspace.collect(sandbox.container)
    review = review_of(changes)
    held = {change.path for change in changes.held}
    assert {".git/config", ".git/hooks/pre-commit", ".gitattributes"} <= held
    assert any(path.startswith("sub/.git/") for path in held)
    assert "HELD BACK" in review and "core.fsmonitor" in review
    lines = changes.summary().splitlines()
    rows = {
        name: next(line for line in lines if f" {name} " in line)
        for name in ("rootbash", "tool.sh", "existing.sh", "shared", "everyone.txt", "tmpdir")
    }
    assert "setuid bit not applied" in rows["rootbash"] and "NEWLY EXECUTABLE" in rows["rootbash"]
    assert "NEWLY EXECUTABLE" in rows["tool.sh"] and "NEWLY EXECUTABLE" not in rows["existing.sh"]
    assert "setgid bit not applied" in rows["shared"] and "group/other write not applied" in rows["everyone.txt"]
    assert "sticky bit not applied" in rows["tmpdir"]

    result = workspace.apply(changes)  # --apply without --apply-git

    assert result.conflicts == () and set(result.held_back) == held
    for path in project.rglob("*"):
        mode = path.lstat().st_mode
        if not stat.S_ISLNK(mode):
            assert not mode & (stat.S_ISUID | stat.S_ISGID | stat.S_ISVTX | stat.S_IWOTH), (path, oct(mode))
    assert stat.S_IMODE((project / "rootbash").stat().st_mode) == 0o755
    assert stat.S_IMODE((project / "existing.sh").stat().st_mode) == 0o755
    assert not (project / ".git/hooks/pre-commit").exists() and not (project / ".gitattributes").exists()
    assert "fsmonitor" not in (project / ".git/config").read_text()
    # The person's next git commands run nothing the sandbox planted.
    assert git(project, "status", "--porcelain").returncode == 0
    git(project, "add", "-A", check=True)
    assert git(project, "commit", "-qm", "agent's work").returncode == 0
    assert not (project / "sub" / ".git").exists()
    assert sorted(path.name for path in tmp_path.glob("ran*")) == []


def test_a_file_name_that_is_not_utf8_is_reported_and_the_rest_applies(tmp_path, copied):
    project = tmp_path / "project"
    project.mkdir()
    (project / "a.txt").write_text("a\n")
    (project / os.fsdecode(b"host-bad-\xfe")).write_text("stays\n")
    workspace, sandbox = copied(project)
    run(
        sandbox,
        "cd /app && echo more >> a.txt && echo bad > $'new-bad-\\xff' && mkdir $'dir-\\xff'"
        " && echo in > $'dir-\\xff'/inside && rm $'host-bad-\\xfe' && echo new > new.txt",
    )
    changes = workspace.collect(sandbox.container)
    assert {change.path: change.status for change in changes.changes} == {"a.txt": "modified", "new.txt": "added"}
    refused = dict(changes.refused)
    assert refused[os.fsdecode(b"new-bad-\xff")] == "its name is not valid UTF-8"
    assert refused[os.fsdecode(b"dir-\xff")] == "its name is not valid UTF-8"
    summary = changes.summary()
    assert "NOT CARRIED BACK" in summary and "new-bad-\\udcff" in summary
    summary.encode("utf-8")  # printable everywhere: no lone surrogate left in the review
    result = workspace.apply(changes)
    assert result.conflicts == ()
    assert (project / "a.txt").read_text() == "a\nmore\n" and (project / "new.txt").read_text() == "new\n"
    # What could not come back is not taken as deleted either.
    assert (project / os.fsdecode(b"host-bad-\xfe")).read_text() == "stays\n"


def test_the_review_escapes_names_and_file_contents(tmp_path, copied):
    project = tmp_path / "project"
    project.mkdir()
    (project / "notes.txt").write_text("line\n")
    workspace, sandbox = copied(project)
    run(
        sandbox,
        "cd /app && printf 'line\\n\\033]52;c;cHduZWQ=\\a\\033[2J\\u202eevil\\u009b31m\\n' >> notes.txt"
        " && echo x > $'name-\\033[31m-\\u202e-\\u009b'",
    )
    changes = workspace.collect(sandbox.container)
    review = review_of(changes) + workspace.apply(changes).summary()
    for char in ("\x1b", "\x9b", "\u202e", "\x07"):
        assert char not in review
    assert "\\x1b]52;c;cHduZWQ=" in review and "name-\\x1b[31m-\\u202e-\\x9b" in review
    assert changes.counts() == {"added": 1, "modified": 1}


@pytest.fixture
def copied_into():
    opened = []

    def start(directory: Path, sandbox):
        workspace = Workspace(directory, WorkspaceMode.COPY)
        opened.append(workspace)
        workspace.populate(sandbox.container)
        return workspace, sandbox

    yield start
    for workspace in opened:
        workspace.close()


def test_a_symlink_leading_out_of_the_workspace_is_pointed_out_in_the_review(tmp_path, copied):
    project = tmp_path / "project"
    (project / "sub").mkdir(parents=True)
    (project / "build.log").write_text("log\n")
    workspace, sandbox = copied(project)
    run(
        sandbox,
        "cd /app && ln -sf /root/.bashrc build.log && ln -s ../../../etc/passwd sub/up"
        " && ln -s ../build.log sub/inside && ln -s sub/../.. climbs",
    )

    changes = workspace.collect(sandbox.container)
    lines = changes.summary().splitlines()
    rows = {name: next(line for line in lines if f" {name} " in line) for name in ("build.log", "sub/up", "climbs")}
    for row in rows.values():
        assert "LEADS OUTSIDE THE WORKSPACE" in row
    inside = next(line for line in lines if " sub/inside " in line)
    assert "LEADS OUTSIDE" not in inside


def test_a_file_name_that_draws_nothing_is_shown_escaped_in_the_review(tmp_path, copied):
    project = tmp_path / "project"
    project.mkdir()
    workspace, sandbox = copied(project)
    # Hangul fillers draw a blank: without escapes the review would show a row with no name.
    run(sandbox, r"""cd /app && printf 'x\n' > "$(printf '\343\205\244')" && touch "$(printf 'a\341\205\237b')" """)

    changes = workspace.collect(sandbox.container)
    review = review_of(changes)
    assert "\\u3164" in review and "a\\u115fb" in review
    assert "\u3164" not in review and "\u115f" not in review
