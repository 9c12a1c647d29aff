"""--apply and --apply-git through the real command, headless, with the replay engine."""

from __future__ import annotations

import subprocess

import pytest
from project_paths import TERMAGENT
from replay_run import replay_run_args
from workspace_helpers import reply

pytestmark = pytest.mark.docker

PLANT = (
    "git init -q . && printf '#!/bin/sh\\ntouch /tmp/hooked\\n' > .git/hooks/pre-commit"
    " && chmod 755 .git/hooks/pre-commit && echo fixed > $'notes-\\033[2J.txt'"
    " && printf 'x\\033]52;c;eA==\\a\\n' > a.txt\n"
)


@pytest.mark.parametrize("flags, hook_applied", [(["--apply"], False), (["--apply", "--apply-git"], True)])
def test_held_back_changes_need_apply_git(tmp_path, sandbox_image, flags, hook_applied):
    project = tmp_path / "project"
    project.mkdir()
    replies = tmp_path / "replies.jsonl"
    replies.write_text(reply([PLANT], False) + reply([], True) + reply([], True))
    completed = subprocess.run(
        [
            TERMAGENT,
            "--headless",
            *replay_run_args(
                "plant a hook",
                replies,
                tmp_path / "t.jsonl",
                "--image",
                sandbox_image,
                "--workspace",
                str(project),
                *flags,
            ),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    output = completed.stdout + completed.stderr
    assert "\x1b" not in output and "\x07" not in output
    assert "HELD BACK" in output and ".git/hooks/pre-commit" in output and "notes-\\x1b[2J.txt" in output
    assert (project / "notes-\x1b[2J.txt").read_text() == "fixed\n"
    assert (project / ".git" / "hooks" / "pre-commit").exists() == hook_applied
    assert ("held-back change(s) NOT applied" in output) != hook_applied
