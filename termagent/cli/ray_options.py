"""How many tasks at once, and the command-line options of a run on a Ray cluster, shared by
`batch` and `eval live`."""

from __future__ import annotations

import argparse


def add_ray_arguments(parser: argparse.ArgumentParser, *, parallel_note: str = "") -> None:
    """`parallel_note` says more about --parallel for this command."""
    parser.add_argument(
        "--parallel",
        type=int,
        default=1,
        help=f"tasks at a time, each in its own sandbox (default: 1{parallel_note}); with --ray and no "
        "ADDRESS, the local cluster's slots",
    )
    group = parser.add_argument_group("Ray cluster (docs/ray.md)")
    group.add_argument(
        "--ray",
        nargs="?",
        const="",
        default=None,
        metavar="ADDRESS",
        help="run each task as a Ray task on a node with the termagent_sandbox resource; ADDRESS "
        "as ray.init takes it (HOST:PORT, or auto for the cluster of this node); without "
        "one, a local cluster with --parallel slots",
    )
    group.add_argument(
        "--shared-output-dir",
        action="store_true",
        help="with --ray: every node mounts --output-dir at the same path, so workers write "
        "trajectories there instead of sending them back",
    )
