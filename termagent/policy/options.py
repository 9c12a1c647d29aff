"""Arguments read the way the program reads them: GNU getopt_long (unique prefixes of long
options, `--opt=value` and `--opt value`, bundled short options, options after operands, `--`
ending options), from per-program option tables kept as data in the policy files."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from termagent.policy.shell_parse import Word

WRITES = "writes"
RUNS = "runs"


@dataclass(frozen=True)
class Option:
    name: str  # as the table spells it first: `--in-place` or `-i`
    value: str = "none"  # none | required | optional
    effect: str | None = None  # writes | runs


@dataclass(frozen=True)
class Found:
    """An option the arguments use that matters: what it does, and how it was written."""

    effect: str  # writes | runs | unknown | dynamic
    written: str
    option: Option | None = None


@dataclass(frozen=True)
class OptionTable:
    short: Mapping[str, Option]
    long: Mapping[str, Option]
    permute: bool = True  # GNU: options may follow operands
    old_style: bool = False  # tar: a first word without `-` is a bundle of short options
    unknown_is_harmless: bool = False  # the table lists only the options that matter
    writes_operands_from: int | None = None  # `uniq IN OUT`: the 2nd operand is written
    subcommands: Mapping[str, OptionTable] = field(default_factory=dict)

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> OptionTable:
        short: dict[str, Option] = {}
        long: dict[str, Option] = {}
        for entry in data.get("options", []):
            longs = entry.get("long", [])
            longs = [longs] if isinstance(longs, str) else list(longs)
            name = f"--{longs[0]}" if longs else f"-{entry['short']}"
            option = Option(name, entry.get("value", "none"), entry.get("effect"))
            if "short" in entry:
                short[entry["short"]] = option
            for spelling in longs:
                long[spelling] = option
        return cls(
            short=short,
            long=long,
            permute=data.get("permute", True),
            old_style=data.get("old_style", False),
            unknown_is_harmless=data.get("unknown", "ask") == "allow",
            writes_operands_from=data.get("writes_operands_from"),
            subcommands={name: cls.from_data(sub) for name, sub in data.get("subcommands", {}).items()},
        )

    def scan(self, args: tuple[Word, ...]) -> list[Found]:
        """The options among `args` that write, run code, are unknown, or may be options only
        known at run time (`$x`, a glob that may match a file named `--in-place`)."""
        found: list[Found] = []
        operands: list[Word] = []
        index = 0
        if self.old_style and args and args[0].value is not None and not args[0].value.startswith("-"):
            index = self._old_style(args[0].value, args, found)
        while index < len(args):
            word = args[index]
            value = word.value
            index += 1
            if value is None:
                if self.permute or not operands:
                    found.append(Found("dynamic", word.text))
                operands.append(word)
                continue
            if value == "--":
                operands.extend(args[index:])
                break
            if not value.startswith("-") or value == "-" or (operands and not self.permute):
                operands.append(word)
                if len(operands) == 1 and self.subcommands:
                    return found + self._subcommand(value, args[index:])
                continue
            if value.startswith("--"):
                index = self._long(value[2:], args, index, found)
            else:
                index = self._short(value[1:], args, index, found)
        if self.writes_operands_from is not None and len(operands) >= self.writes_operands_from:
            found.append(Found(WRITES, operands[self.writes_operands_from - 1].text))
        return found

    def _old_style(self, letters: str, args: tuple[Word, ...], found: list[Found]) -> int:
        """`tar tIf PROG FILE`: each letter that takes a value takes the next word, in order."""
        index = 1
        for letter in letters:
            option = self.short.get(letter)
            if option is None:
                if not self.unknown_is_harmless:
                    found.append(Found("unknown", letter))
                continue
            if option.effect:
                found.append(Found(option.effect, letter, option))
            if option.value == "required":
                index += 1
        return min(index, len(args))

    def _subcommand(self, name: str, rest: tuple[Word, ...]) -> list[Found]:
        table = self.subcommands.get(name) or self.subcommands.get("*")
        return [] if table is None else table.scan(rest)

    def _long(self, body: str, args: tuple[Word, ...], index: int, found: list[Found]) -> int:
        name, equals, _ = body.partition("=")
        option = self.long.get(name)
        if option is None:
            candidates = {o for spelling, o in self.long.items() if spelling.startswith(name)}
            if len(candidates) == 1:
                option = candidates.pop()
            elif candidates:
                # Ambiguous in this table, perhaps unique in the program: take what matters most.
                dangerous = [o for o in candidates if o.effect]
                option = min(dangerous, key=lambda o: o.effect != RUNS) if dangerous else next(iter(candidates))
        if option is None:
            if not self.unknown_is_harmless:
                found.append(Found("unknown", "--" + body))
            return index
        if option.effect:
            found.append(Found(option.effect, "--" + body, option))
        if option.value == "required" and not equals and index < len(args):
            return index + 1
        return index

    def _short(self, letters: str, args: tuple[Word, ...], index: int, found: list[Found]) -> int:
        for position, letter in enumerate(letters):
            option = self.short.get(letter)
            if option is None:
                if not self.unknown_is_harmless:
                    found.append(Found("unknown", "-" + letter))
                    return index  # getopt stops making sense of the rest of this word
                continue
            if option.effect:
                found.append(Found(option.effect, "-" + letters[position:], option))
            if option.value == "none":
                continue
            attached = letters[position + 1 :]
            if option.value == "required" and not attached and index < len(args):
                return index + 1
            return index
        return index
