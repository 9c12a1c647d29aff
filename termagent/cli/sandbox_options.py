"""Command-line flags that choose and tune the sandbox; shared by every command that starts one."""

from __future__ import annotations

import argparse

from termagent.sandbox import DEFAULT_IMAGE, MAX_INPUT_BYTES


def add_sandbox_arguments(parser: argparse.ArgumentParser, *, profile_flag: str = "--profile") -> None:
    group = parser.add_argument_group("sandbox")
    group.add_argument("--image", default=DEFAULT_IMAGE, help=f"sandbox image (default: {DEFAULT_IMAGE})")
    group.add_argument(
        profile_flag,
        dest="sandbox_profile",
        default="default",
        metavar="PROFILE",
        help="sandbox profile: strict, default, networked, or a YAML file (default: default)",
    )
    group.add_argument("--network", choices=["none", "bridge", "host"], help="override the profile's network")
    group.add_argument("--memory", help="override the memory limit (e.g. 2g)")
    group.add_argument("--cpus", type=float, help="override the CPU limit")
    group.add_argument("--pids-limit", type=int, help="override the process limit")
    group.add_argument("--tmp-size", help="override the size of /tmp (e.g. 512m)")
    group.add_argument("--disk", help="override the limit on what the container may write to disk (e.g. 8g)")
    group.add_argument(
        "--read-only",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="make the root filesystem read-only (or not), whatever the profile says",
    )
    group.add_argument(
        "--max-input",
        type=_positive_int,
        default=MAX_INPUT_BYTES,
        metavar="BYTES",
        help=f"refuse to type a command's keystrokes when longer than this (default: {MAX_INPUT_BYTES}, 1 MiB)",
    )


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of bytes, not {text}")
    return value


def sandbox_spec_from_args(args: argparse.Namespace):
    from termagent.sandbox.container import SandboxSpec
    from termagent.sandbox.profiles import load_profile

    profile = load_profile(args.sandbox_profile).with_overrides(
        network=args.network,
        memory=args.memory,
        cpus=args.cpus,
        pids_limit=args.pids_limit,
        tmp_size=args.tmp_size,
        disk=args.disk,
        read_only=args.read_only,
    )
    return SandboxSpec(image=args.image, profile=profile, max_input_bytes=args.max_input)
