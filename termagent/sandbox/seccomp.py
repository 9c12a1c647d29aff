"""termagent's seccomp profile (seccomp.yaml) in the JSON form Docker takes, and a check, run
in a live container, that the filter really refuses setuid and setgid bits there."""

from __future__ import annotations

import errno
import functools
import json
from pathlib import Path

import yaml
from docker.errors import APIError

from termagent.errors import SandboxError

PROFILE_FILE = Path(__file__).with_name("seccomp.yaml")
# Capability bits (linux/capability.h) a container must not have for the filter to be enough.
CAP_SETFCAP = 31  # writes security.capability through calls the engine cannot name (setxattrat)


def _number(value: int | str) -> int:
    # YAML 1.1 reads 0o4000 as a string; hex and decimal come as ints.
    return value if isinstance(value, int) else int(value, 0)


def _errno(name: str) -> int:
    code = getattr(errno, name, None)
    if not isinstance(code, int):
        raise ValueError(f"{PROFILE_FILE.name}: {name} is not an errno name")
    return code


def _denial(names: list[str], code: str, why: str, **extra) -> dict:
    return {"names": list(names), "action": "SCMP_ACT_ERRNO", "errnoRet": _errno(code), "comment": why, **extra}


@functools.cache
def docker_profile() -> str:
    """The profile as Docker's seccomp JSON (what `--security-opt seccomp=` takes)."""
    data = yaml.safe_load(PROFILE_FILE.read_text(encoding="utf-8"))
    rules = [_denial(names, code, why) for code, reasons in data["refused"].items() for why, names in reasons.items()]
    for group in data["conditional"]:
        by_position: dict[int, list[str]] = {}
        for name, position in group["calls"].items():
            by_position.setdefault(position, []).append(name)
        # One condition per rule: libseccomp ANDs a rule's conditions, and these are alternatives.
        rules += [
            _denial(
                names,
                "EPERM",
                group["why"],
                args=[
                    {
                        "index": position,
                        "value": _number(bit["mask"]),
                        "valueTwo": _number(bit["value"]),
                        "op": "SCMP_CMP_MASKED_EQ",
                    }
                ],
            )
            for position, names in sorted(by_position.items())
            for bit in group["when"]
        ]
    # Docker leaves a rule out when the kernel is at least excludes.minKernel.
    rules += [
        _denial(names, "EPERM", f"unsafe to allow before Linux {version}", excludes={"minKernel": version})
        for version, names in data["refused_before_kernel"].items()
    ]
    profile = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "archMap": [
            {"architecture": native, "subArchitectures": list(others)}
            for native, others in data["architectures"].items()
        ],
        "syscalls": rules,
    }
    return json.dumps(profile, separators=(",", ":"))


def security_option() -> str:
    """The container's security option that installs the filter (the Engine API takes the
    profile's JSON text, not a path)."""
    return f"seccomp={docker_profile()}"


# Run in the container: a positive control (chmod works at all), then setuid and setgid, then
# what the kernel says about the process's filter and capability bound.
_PROBE = r"""
f=$(mktemp) || exit 90
chmod 0700 "$f" || exit 91
chmod 4755 "$f" 2>/dev/null && echo setuid-allowed
chmod 2755 "$f" 2>/dev/null && echo setgid-allowed
echo "mode $(stat -c %a "$f")"
rm -f "$f"
grep -E '^(Seccomp|CapBnd):' /proc/self/status
"""


def setuid_loophole(container) -> str | None:
    """Why a process in `container` could still leave a setuid, setgid or file-capability
    program behind, or None when it cannot: checked by trying, before the model runs anything."""
    api = container.client.api
    try:
        exec_id = api.exec_create(container.id, ["sh", "-c", _PROBE], stdout=True, stderr=True)["Id"]
        output = api.exec_start(exec_id).decode("utf-8", "replace")
        status = api.exec_inspect(exec_id).get("ExitCode")
    except APIError as error:
        raise SandboxError(f"could not check the sandbox's seccomp filter: {error.explanation or error}") from error
    if status != 0:
        return f"the check could not run in the container (status {status}; it needs sh, mktemp, chmod and stat)"
    fields = dict(pair for pair in (line.split(None, 1) for line in output.splitlines()) if len(pair) == 2)
    if "setuid-allowed" in output or "setgid-allowed" in output:
        return "chmod 4755/2755 succeeded in the container: its seccomp filter is not termagent's"
    mode = fields.get("mode", "")
    if not mode.isdigit() or int(mode, 8) & 0o6000:
        return f"a scratch file ended with mode {mode or 'unknown'}"
    if fields.get("Seccomp:") != "2":
        return "the container runs without a seccomp filter"
    bound = fields.get("CapBnd:", "")
    try:
        capabilities = int(bound, 16)
    except ValueError:
        return "the container's capability bound is unreadable"
    if capabilities >> CAP_SETFCAP & 1:
        return "the container has CAP_SETFCAP, so it could write file capabilities"
    return None
