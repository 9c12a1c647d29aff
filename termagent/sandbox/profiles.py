"""Sandbox profiles: named sets of isolation settings, kept as YAML files beside this module."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import yaml

from termagent.errors import ConfigurationError

PROFILES_DIR = Path(__file__).with_name("profiles")
_SCHEMA = json.loads((PROFILES_DIR / "profile.schema.json").read_text(encoding="utf-8"))
_FORMAT_HINT = (
    "A profile has the fields of the shipped ones (termagent/sandbox/profiles/*.yaml; the README's "
    '"Profiles"); --memory, --cpus and the other single overrides take the same values.'
)


@dataclass(frozen=True)
class SandboxProfile:
    name: str
    network: str
    cap_add: tuple[str, ...]
    pids_limit: int
    memory: str
    cpus: float
    tmp_size: str
    disk: str  # the writable layer's limit
    read_only: bool
    description: str = ""

    def with_overrides(self, **overrides) -> SandboxProfile:
        """A copy with single limits replaced (from the command line); None means keep."""
        given = {key: value for key, value in overrides.items() if value is not None}
        merged = {**dataclasses.asdict(self), **given}
        checked = {key: value for key, value in merged.items() if key != "name"}
        _validate({**checked, "cap_add": list(checked["cap_add"])}, f"{self.name} with overrides")
        merged["cap_add"] = tuple(merged["cap_add"])
        return SandboxProfile(**merged)


def available_profiles() -> list[str]:
    return sorted(path.stem for path in PROFILES_DIR.glob("*.yaml"))


def load_profile(name_or_path: str) -> SandboxProfile:
    path = Path(name_or_path)
    if not path.suffix:
        path = PROFILES_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        raise ConfigurationError(
            f"no sandbox profile {name_or_path!r}.",
            hint=f"Use one of {', '.join(available_profiles())}, or the path of a profile YAML file.",
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ConfigurationError(f"sandbox profile {path} is not valid YAML: {error}", hint=_FORMAT_HINT) from error
    _validate(data, str(path))
    data["cap_add"] = tuple(data["cap_add"])
    return SandboxProfile(name=path.stem, **data)


def _validate(data: object, where: str) -> None:
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(_SCHEMA).iter_errors(data))
    if error is not None:
        raise ConfigurationError(f"sandbox profile {where}: {error.json_path}: {error.message}", hint=_FORMAT_HINT)
