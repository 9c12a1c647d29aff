"""Rules and how they match parsed commands.

A pattern is a string of shell globs separated by `|` (`status|log|diff`), or, as the exception,
a regular expression written `re:...` (the whole string is then the expression, `|` included);
either must match a whole word.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

from termagent.policy.decision import Decision
from termagent.policy.shell_parse import SimpleCommand, Word

_GLOB_CHARS = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class Pattern:
    source: str
    regex: re.Pattern[str]

    @classmethod
    def compile(cls, source: str) -> Pattern:
        if source.startswith("re:"):
            return cls(source, re.compile(f"(?:{source[3:]})\\Z", re.DOTALL))
        alternatives = "|".join(fnmatch.translate(glob) for glob in source.split("|"))
        return cls(source, re.compile(alternatives))

    def matches(self, value: str | None) -> bool:
        return value is not None and self.regex.match(value) is not None

    @property
    def literals(self) -> frozenset[str] | None:
        """The exact words this pattern can match, when it is a plain list of them."""
        if self.source.startswith("re:") or _GLOB_CHARS.search(self.source):
            return None
        return frozenset(self.source.split("|"))


@dataclass(frozen=True)
class Rule:
    name: str
    decision: Decision
    reason: str
    origin: str  # file:line, for messages
    command: Pattern | None = None
    args: tuple[Pattern, ...] = ()
    with_args: tuple[Pattern, ...] = ()
    without_args: tuple[Pattern, ...] = ()
    redirect_to: Pattern | None = None
    unknown_args: bool = False  # match only when some argument is known only at run time
    regex: re.Pattern[str] | None = None

    def matches(self, command: SimpleCommand) -> bool:
        if self.command is None or not self.command.matches(command.program):
            return False
        args = command.args
        # An `ask` rule finds danger: a word known only at run time may be exactly what it looks
        # for (`test -${BASHOPTS:123:1} ...` is `test -v ...`), so it counts as a match there.
        unknown_matches = self.decision is Decision.ASK
        if len(args) < len(self.args):
            return False
        # Prefix words must be known: `$x` may split into several words and shift the rest.
        if any(
            not (pattern.matches(word.value) or (unknown_matches and word.value is None))
            for pattern, word in zip(self.args, args, strict=False)  # args may be longer than the prefix
        ):
            return False
        # The conditions below look at the arguments after the prefix.
        args = args[len(self.args) :]
        # An unknown word counts as written here (`/*`, "$HOME"): with_args is how deny and ask
        # rules find danger, and a glob or variable must not hide it.
        if any(
            not any(pattern.matches(_as_written(word)) or (unknown_matches and word.value is None) for word in args)
            for pattern in self.with_args
        ):
            return False
        if self.unknown_args and all(word.value is not None for word in args):
            return False
        if self.without_args:
            if any(word.value is None for word in args):
                return False  # an unknown word may be exactly what is excluded
            if any(_any_matches(pattern, args) for pattern in self.without_args):
                return False
        if self.redirect_to is not None:
            targets = [r.target.value for r in command.redirects if r.writes]
            if not any(self.redirect_to.matches(t) for t in targets):
                return False
        return True

    def matches_line(self, line: str) -> bool:
        return self.regex is not None and self.regex.search(line) is not None


def _any_matches(pattern: Pattern, words: tuple[Word, ...]) -> bool:
    return any(pattern.matches(word.value) for word in words)


def _as_written(word: Word) -> str:
    return word.value if word.value is not None else word.text


class RuleIndex:
    """Rules by the command names they can match, so judging does not scan every rule."""

    def __init__(self, rules: tuple[Rule, ...]) -> None:
        self.by_name: dict[str, list[Rule]] = {}
        self.any_name: list[Rule] = []
        self.line_rules = [rule for rule in rules if rule.regex is not None]
        for rule in rules:
            if rule.command is None:
                continue
            names = rule.command.literals
            if names is None:
                self.any_name.append(rule)
            else:
                for name in names:
                    self.by_name.setdefault(name, []).append(rule)

    def matching(self, command: SimpleCommand) -> list[Rule]:
        program = command.program
        candidates = self.by_name.get(program or "", [])
        if program is not None:  # the name test first, inline: most rules fail it
            others = [rule for rule in self.any_name if rule.command is not None and rule.command.regex.match(program)]
        else:
            others = []
        return [rule for rule in (*candidates, *others) if rule.matches(command)]
