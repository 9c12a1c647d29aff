"""Policy files: find them, read YAML with line numbers, validate against the shipped schema,
resolve `extends`/`include`, compile rules and check each rule's own examples."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

import termagent
from termagent.errors import PolicyError
from termagent.paths import config_dir
from termagent.policy.decision import Decision
from termagent.policy.engine import Policy
from termagent.policy.keystrokes import canonical_key_name
from termagent.policy.options import OptionTable
from termagent.policy.rules import Pattern, Rule

_SCHEMA_PATH = Path(__file__).with_name("policy.schema.json")
_DENY_PREFIX = "always:"  # the deny list's own copy in every policy
_MAX_ERRORS = 5
# libyaml when present: same nodes and marks, several times faster to start `policy check`.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def builtin_dir() -> Path:
    package = Path(termagent.__file__).parent
    installed = package / "_policies"
    return installed if installed.is_dir() else package.parent / "policies"


def _deny_list() -> Path:
    return builtin_dir() / "common" / "deny.yaml"


def builtin_names() -> list[str]:
    return sorted(p.stem for p in builtin_dir().glob("*.yaml"))


def user_policy_path() -> Path:
    return config_dir() / "policy.yaml"


def default_reference() -> str:
    """The user's own policy file when there is one, else the shipped `default`."""
    user = user_policy_path()
    return str(user) if user.is_file() else "default"


def resolve(reference: str, base_dir: Path | None = None) -> Path:
    """A shipped policy's name (`default`) or a path, relative to the file that names it."""
    if "/" not in reference and not reference.endswith((".yaml", ".yml")):
        path = builtin_dir() / f"{reference}.yaml"
        if not path.is_file():
            raise PolicyError(
                f"no shipped policy named {reference!r}", hint=f"shipped policies: {', '.join(builtin_names())}"
            )
        return path
    path = Path(reference).expanduser()
    return path if path.is_absolute() or base_dir is None else base_dir / path


def load_policy(reference: str) -> Policy:
    """Load a policy by shipped name or path; raises PolicyError naming file and line.
    The shipped deny list is merged into every policy, last and under names of its own, so no
    policy can leave it out or replace one of its rules."""
    path = resolve(reference).resolve()
    merged = _Merged(name=path.stem)
    _merge_file(path, merged, stack=())
    data, node = _read(_deny_list())
    rule_nodes = _child(node, "rules")
    for index, rule in enumerate(data["rules"]):
        present = merged.rules.get(rule["name"])
        if present is None or present.data != rule:  # left out or replaced: the shipped one holds too
            merged.rules[_DENY_PREFIX + rule["name"]] = _RuleSource(rule, _child(rule_nodes, index), _deny_list())
    return _build(merged)


@dataclass
class _RuleSource:
    data: dict[str, Any]
    node: yaml.Node | None  # None when the YAML has no node for it: errors then name only the file
    path: Path


@dataclass
class _Merged:
    name: str
    default: Decision = Decision.ASK
    constructs: dict[str, Decision] = field(default_factory=dict)
    keys: dict[str, Decision] = field(default_factory=dict)
    foreground: dict[str, Decision] = field(default_factory=dict)
    rules: dict[str, _RuleSource] = field(default_factory=dict)
    wrappers: set[str] = field(default_factory=set)
    shells: set[str] = field(default_factory=set)
    interpreters: set[str] = field(default_factory=set)
    programs: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str = ""


def _merge_file(path: Path, merged: _Merged, stack: tuple[Path, ...]) -> None:
    if path in stack:
        chain = " -> ".join(str(p) for p in (*stack, path))
        raise PolicyError(f"policy files include each other in a loop: {chain}")
    data, node = _read(path)
    _validate(data, node, path)
    for reference in ([data["extends"]] if "extends" in data else []) + data.get("include", []):
        _merge_file(resolve(reference, path.parent).resolve(), merged, (*stack, path))
    merged.name = data.get("name", merged.name if stack else path.stem)
    merged.source = str(path) if not stack else merged.source
    if "default" in data:
        merged.default = Decision.parse(data["default"])
    merged.constructs.update({k: Decision.parse(v) for k, v in data.get("constructs", {}).items()})
    merged.wrappers.update(data.get("wrappers", []))
    merged.shells.update(data.get("shells", []))
    merged.interpreters.update(data.get("interpreters", []))
    for program, table in data.get("programs", {}).items():
        for name in (program, *table.get("also", [])):
            merged.programs[name] = table
    # Key names as the judge names the bytes they send: `c-c`, `^C` and `C-c` are one key.
    merged.keys.update({canonical_key_name(k): Decision.parse(v) for k, v in data.get("keys", {}).items()})
    foreground = data.get("foreground", {})
    if "default" in foreground:
        merged.foreground["default"] = Decision.parse(foreground["default"])
    merged.foreground.update({k: Decision.parse(v) for k, v in foreground.get("programs", {}).items()})
    rule_nodes = _child(node, "rules")
    for index, rule in enumerate(data.get("rules", [])):
        # A rule named like an inherited one replaces it: that is how a policy narrows its base.
        merged.rules.pop(rule["name"], None)
        merged.rules[rule["name"]] = _RuleSource(rule, _child(rule_nodes, index), path)


def _read(path: Path) -> tuple[dict[str, Any], yaml.Node]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise PolicyError(
            f"cannot read policy file {path}: {error.strerror}",
            hint=f"a policy is a shipped one's name ({', '.join(builtin_names())}) or a file's path; "
            "`extends:` and `include:` paths are relative to the file that names them",
        ) from error
    try:
        loader = _YAML_LOADER(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise PolicyError(f"{where}: not valid YAML: {getattr(error, 'problem', error)}") from error
    if node is None or not isinstance(data, dict):
        raise PolicyError(f"{path}:1: a policy file must be a mapping (name:, rules:, ...)")
    return data, node


@cache
def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads(_SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def _validate(data: dict[str, Any], node: yaml.Node, path: Path) -> None:
    errors = sorted(_validator().iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    if not errors:
        return
    lines = [_describe(error, node, path) for error in errors[:_MAX_ERRORS]]
    more = f"\n  (and {len(errors) - _MAX_ERRORS} more)" if len(errors) > _MAX_ERRORS else ""
    raise PolicyError(
        f"invalid policy file {path}:\n  " + "\n  ".join(lines) + more,
        hint="the format is described in docs/policies.md",
    )


def _describe(error: jsonschema.ValidationError, root: yaml.Node, path: Path) -> str:
    where = list(error.absolute_path)
    target = root
    for step in where:
        target = _child(target, step) or target
    message = error.message
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = error.schema.get("properties", {})
        unknown = [k for k in error.instance if k not in known]
        if unknown:
            target = _key_node(target, unknown[0]) or target
            where = [*where, unknown[0]]
            message = f"unknown field {unknown[0]!r} (known: {', '.join(sorted(known))})"
    elif error.validator == "oneOf":
        message = (
            "a rule needs `command` (with optional args, with_args, without_args, redirect_to) or `regex`, not both"
        )
    place = "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in where).lstrip(".") or "(top)"
    return f"{path}:{target.start_mark.line + 1}: {place}: {message}"


def _child(node: yaml.Node | None, step: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode) and isinstance(step, str):
        return next((value for key, value in node.value if key.value == step), None)
    if isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
        return node.value[step]
    return None


def _key_node(node: yaml.Node, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        return next((k for k, _ in node.value if k.value == key), None)
    return None


def _line(source: _RuleSource, *steps: str | int) -> str:
    node: yaml.Node | None = source.node
    for step in steps:
        node = _child(node, step) or node
    return f"{source.path}:{node.start_mark.line + 1}" if node is not None else str(source.path)


def compile_rule(data: dict[str, Any], origin: str) -> Rule:
    def patterns(key: str) -> tuple[Pattern, ...]:
        return tuple(Pattern.compile(p) for p in data.get(key, []))

    try:
        return Rule(
            name=data["name"],
            decision=Decision.parse(data["decision"]),
            reason=data["reason"],
            origin=origin,
            command=Pattern.compile(data["command"]) if "command" in data else None,
            args=patterns("args"),
            with_args=patterns("with_args"),
            without_args=patterns("without_args"),
            redirect_to=Pattern.compile(data["redirect_to"]) if "redirect_to" in data else None,
            unknown_args=data.get("unknown_args", False),
            regex=re.compile(data["regex"]) if "regex" in data else None,
        )
    except re.error as error:
        raise PolicyError(f"{origin}: rule {data['name']!r}: bad regular expression: {error}") from error


def _build(merged: _Merged) -> Policy:
    rules = tuple(compile_rule({**s.data, "name": name}, _line(s)) for name, s in merged.rules.items())
    policy = Policy(
        name=merged.name,
        source=merged.source,
        default=merged.default,
        constructs=dict(merged.constructs),
        keys=dict(merged.keys),
        foreground=dict(merged.foreground),
        rules=rules,
        wrappers=frozenset(merged.wrappers),
        shells=frozenset(merged.shells),
        interpreters=frozenset(merged.interpreters),
        programs={name: OptionTable.from_data(table) for name, table in merged.programs.items()},
    )
    failures = [
        failure
        for rule, source in zip(rules, merged.rules.values(), strict=True)
        for failure in _example_failures(policy, rule, source)
    ]
    if failures:
        raise PolicyError(
            f"policy {merged.name!r} does not load: its own examples fail:\n  " + "\n  ".join(failures[:_MAX_ERRORS]),
            hint="fix the rule or its examples; examples are checked against that one rule",
        )
    return policy


def _example_failures(policy: Policy, rule: Rule, source: _RuleSource) -> list[str]:
    examples = source.data.get("examples", {})
    failures = []
    for expected, kind in ((True, "match"), (False, "not_match")):
        for index, line in enumerate(examples.get(kind, [])):
            if policy.rule_matches_example(rule, line) != expected:
                verb = "should match but does not" if expected else "should not match but does"
                failures.append(
                    f"{_line(source, 'examples', kind, index)}: rule {rule.name!r}: example {line!r} {verb}"
                )
    return failures
