"""Schema-constrained decoding for transformers, through xgrammar, that always finishes.

A grammar alone guarantees a valid prefix, not a valid reply: a weak model can stay inside a string
until `max_tokens` cuts it off. So when only the reserve needed to close remains, allowed tokens that
move toward the end of the JSON are pushed to the top: inside a string, one that closes it; outside,
a closing bracket, then a quote (a forced key or an empty string), then white space, and last a
comma; the grammar still decides what is allowed, so required fields get minimal values.
"""

from __future__ import annotations

from typing import Any

# Far above any logit, so the preferred allowed token always wins; the model chooses among equals.
PREFERENCE_STEP = 1.0e4


def _preferences(decoded_vocab: list[bytes], torch: Any) -> tuple[Any, Any]:
    """Per token: (bias inside a string, bias outside strings). A comma outside a string opens one
    more member, so tokens holding one (BPE merges such as `},`) rank lowest."""
    inside, outside = [], []
    for text in decoded_vocab:
        closes_string = text[:1] == b'"'
        inside.append((3 if b"," not in text[1:] else 2) if closes_string else 0)
        stripped = text.lstrip(b" \t\r\n")
        if b"," in text:
            outside.append(0)
        elif b"]" in stripped or b"}" in stripped:
            outside.append(3)
        elif stripped[:1] == b'"':
            outside.append(2)
        elif not stripped:  # white space, or a stop token (empty text)
            outside.append(1)
        else:
            outside.append(0)
    as_bias = lambda ranks: torch.tensor(ranks, dtype=torch.float32) * PREFERENCE_STEP  # noqa: E731
    return as_bias(inside), as_bias(outside)


def closing_reserve(schema: dict) -> int:
    """Tokens that always suffice to close a reply: the longest minimal tail, from inside the first
    string field, at one token per byte (under the grammar the model may pick one-byte tokens)."""
    minimal = {"string": '""', "array": "[]", "object": "{}", "boolean": "false", "number": "0"}
    required = [name for name in schema["properties"] if name in schema.get("required", [])]
    members = "".join(f',\n  "{name}": {minimal[schema["properties"][name]["type"]]}' for name in required[1:])
    return len(f'"{members}\n}}'.encode()) + 1  # + the stop token


class StringState:
    """Whether the JSON written so far ends inside a string (and after a backslash)."""

    def __init__(self) -> None:
        self.in_string = False
        self.escaped = False

    def feed(self, text: bytes) -> None:
        for byte in text:
            if self.escaped:
                self.escaped = False
            elif self.in_string and byte == 0x5C:  # backslash
                self.escaped = True
            elif byte == 0x22:  # quote
                self.in_string = not self.in_string


class GrammarCompiler:
    """Compiles the schema once per engine; hands out one processor per generate() call."""

    def __init__(self, tokenizer: Any, *, vocab_size: int, stop_token_ids: list[int], schema: dict) -> None:
        import torch
        import xgrammar

        self.xgrammar = xgrammar
        info = xgrammar.TokenizerInfo.from_huggingface(tokenizer, vocab_size=vocab_size, stop_token_ids=stop_token_ids)
        # indent=2 without free white space: the layout of the training data, and no room to ramble.
        self.grammar = xgrammar.GrammarCompiler(info).compile_json_schema(schema, any_whitespace=False, indent=2)
        self.decoded_vocab = info.decoded_vocab
        self.inside_bias, self.outside_bias = _preferences(self.decoded_vocab, torch)
        self.vocab_size = vocab_size
        self.closing_reserve = closing_reserve(schema)

    def processor(self, max_new_tokens: int) -> ClosingGrammarProcessor:
        return ClosingGrammarProcessor(self, max_new_tokens)


class ClosingGrammarProcessor:
    """A transformers logits processor for batch size 1 (the agent asks one question at a time)."""

    def __init__(self, compiler: GrammarCompiler, max_new_tokens: int) -> None:
        xgrammar = compiler.xgrammar
        self._compiler = compiler
        self._matcher = xgrammar.GrammarMatcher(compiler.grammar)
        self._bitmask = xgrammar.allocate_token_bitmask(1, compiler.vocab_size)
        self._closing_from = max(0, max_new_tokens - compiler.closing_reserve)
        self._generated = 0
        self._state = StringState()
        self.closing_used = False

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        compiler = self._compiler
        if self._generated:
            token = int(input_ids[0, -1])
            self._matcher.accept_token(token)
            self._state.feed(compiler.decoded_vocab[token])
        self._generated += 1
        if self._matcher.is_terminated():
            return scores
        self._matcher.fill_next_token_bitmask(self._bitmask)
        device = scores.device
        scores = scores.to("cpu") if device.type not in ("cpu", "cuda") else scores
        compiler.xgrammar.apply_token_bitmask_inplace(scores, self._bitmask.to(scores.device))
        if self._generated > self._closing_from and not self._state.escaped:
            self.closing_used = True
            bias = compiler.inside_bias if self._state.in_string else compiler.outside_bias
            scores[0, : bias.shape[0]] += bias.to(scores.device)
        return scores.to(device)
