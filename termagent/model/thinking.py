"""Remove the model's thinking from a reply: `<think>...</think>` and Gemma's thought channel.

Shared by the parser (the JSON comes after the thinking) and the history (assistant turns are
stored without thinking, as the model was trained).
"""

from __future__ import annotations

import re

# (opener, closer) pairs; Gemma 4 writes `<|channel>thought\n...<channel|>`.
_MARKERS = (("<think>", "</think>"), ("<|channel>thought", "<channel|>"))
_CLOSED = re.compile(r"<think>.*?</think>|<\|channel>thought.*?<channel\|>", re.DOTALL)


def strip_thinking(text: str) -> tuple[str, bool]:
    """Return the reply without thinking, and whether any was found.

    A closer without opener (servers that put the opener in the prompt) drops everything before it.
    An opener without closer (a reply cut off while thinking) drops the rest, unless a JSON object
    follows, in which case only the opener goes: the answer may sit inside an unclosed block.
    """
    if "<think>" not in text and "</think>" not in text and "<|channel>" not in text and "<channel|>" not in text:
        return text, False
    stripped = _CLOSED.sub("", text)
    for opener, closer in _MARKERS:
        if closer in stripped and opener not in stripped.split(closer, 1)[0]:
            stripped = stripped.split(closer, 1)[1]
        if opener in stripped:
            head, tail = stripped.split(opener, 1)
            stripped = head + tail if "{" in tail else head
        stripped = stripped.replace(closer, "")
    return stripped.strip(), True
