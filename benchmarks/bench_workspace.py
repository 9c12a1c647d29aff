"""Workspace benchmark (issue 5): copy a 5,000-file tree into a sandbox's /app, change a few
files, collect the changes; apply them to the host.

    .venv/bin/python benchmarks/bench_workspace.py [--runs 5] [--files 5000] [--profile default]

Needs a Docker engine and the sandbox image. Prints medians; never a pass/fail."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from termagent.sandbox.container import Sandbox, SandboxSpec
from termagent.sandbox.docker_connect import connect
from termagent.sandbox.profiles import load_profile
from termagent.workspace import Workspace


def make_tree(root: Path, files: int) -> int:
    """`files` small text files, 100 to a directory; returns their total size."""
    total = 0
    for number in range(files):
        path = root / f"d{number // 100:03}" / f"f{number % 100:02}.py"
        path.parent.mkdir(exist_ok=True)
        text = f"# file {number}\n" + "x = 1\n" * (number % 40)
        path.write_text(text)
        total += len(text)
    return total


def one_run(client, spec: SandboxSpec, files: int) -> tuple[float, float, float, int]:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        make_tree(root, files)
        with Workspace(root) as workspace, Sandbox(spec, client=client) as sandbox:
            began = time.perf_counter()
            workspace.populate(sandbox.container)
            copy_in = time.perf_counter() - began
            sandbox.shell.run("cd /app && for d in d000 d001; do echo '# more' >> $d/f00.py; done && rm d002/f01.py"
                              " && echo new > new.txt\n", duration=10)
            began = time.perf_counter()
            changes = workspace.collect(sandbox.container)
            collect = time.perf_counter() - began
            began = time.perf_counter()
            workspace.apply(changes)
            apply = time.perf_counter() - began
            return copy_in, collect, apply, len(changes.changes)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--profile", default="default")
    args = parser.parse_args()
    client = connect()
    spec = SandboxSpec(profile=load_profile(args.profile))
    results = [one_run(client, spec, args.files) for _ in range(args.runs)]
    for index, name in enumerate(("copy-in (populate)", "collect", "apply")):
        values = [result[index] for result in results]
        print(f"{name:<20} p50 {statistics.median(values) * 1000:7.1f} ms  "
              f"(min {min(values) * 1000:.0f}, max {max(values) * 1000:.0f}) over {args.runs} runs")
    print(f"{args.files} files, profile {args.profile}, {results[0][3]} changes collected")


if __name__ == "__main__":
    main()
