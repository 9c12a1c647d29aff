"""Replies that are not clean text: whatever a reply holds, the action parsed from it can be
typed and shown (its strings encode as UTF-8)."""

from __future__ import annotations

import random

from termagent.model.parse import parse_reply


def test_json_surrogate_escapes_become_replacement_characters():
    result = parse_reply('{"analysis": "a\\ud800", "plan": "\\udc00b", "commands": [{"keystrokes": "x\\udfff\\n"}]}')
    assert result.action is not None
    assert (result.action.analysis, result.action.plan) == ("a\ufffd", "\ufffdb")
    assert result.action.commands[0].keystrokes == "x\ufffd\n"


def test_any_reply_gives_an_action_or_errors_with_encodable_text():
    chooser = random.Random(7)
    for _ in range(300):
        junk = "".join(chr(chooser.randrange(0, 0x110000)) for _ in range(8))
        escaped = "".join(f"\\u{chooser.randrange(0xD800, 0xE000):04x}" for _ in range(2))
        reply = f'{{"analysis": "{junk}{escaped}", "plan": "p", "commands": [{{"keystrokes": "{escaped}{junk}"}}]}}'
        result = parse_reply(reply)
        if result.action is not None:
            for text in (result.action.analysis, result.action.plan, *(c.keystrokes for c in result.action.commands)):
                text.encode("utf-8")
        else:
            assert result.errors
