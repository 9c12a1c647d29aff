"""The policy's reading and the bytes that really arrive in the sandbox are the same: hypothesis
draws lists of keystroke strings (key names in every tmux spelling, text, control bytes), a real
sandbox shell reads its terminal raw into a file, and the bytes it got are compared with the
bytes each verdict says it judged."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_keystrokes import KEY_SPELLINGS

from termagent.policy.engine import Policy

pytestmark = pytest.mark.docker

_TEXT = st.text(alphabet=st.characters(min_codepoint=1, max_codepoint=0x2FF, exclude_categories=("Cs",)), max_size=8)
_HEX = re.compile(r"\b[0-9a-f]{2}\b")


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(KEY_SPELLINGS, _TEXT).filter(bool), min_size=1, max_size=12))
def test_the_sandbox_receives_the_bytes_the_policy_judged(shell, default_policy: Policy, strings: list[str]) -> None:
    judged = b"".join(default_policy.judge(s).sent.encode("utf-8") for s in strings)
    # The terminal raw and silent: every byte reaches `head`, none becomes a signal or an edit.
    mark = shell.mark()
    # The markers are printed by echo, and not in the echoed command line (the quotes part them).
    shell.run(
        f"stty raw -echo; head -c {len(judged)} > /tmp/keys; stty sane; "
        "echo KEYS-''START; od -An -tx1 -v /tmp/keys; echo KEYS-''END\n",
        0.5,
    )
    for keystrokes in strings:
        shell.run(keystrokes, 0.05)
    shell.run("", 20)  # head has all its bytes: od prints them and the prompt comes back
    text = shell.output_since(mark).text
    assert "KEYS-END" in text, text
    dump = text.split("KEYS-START")[1].split("KEYS-END")[0]
    assert bytes(int(h, 16) for h in _HEX.findall(dump)) == judged
