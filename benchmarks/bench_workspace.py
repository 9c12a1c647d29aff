"""Workspace benchmark: copy a 5,000-file tree into a sandbox's /app, change a few files,
collect the changes (every archive member checked), apply them to the host; and, in the same
run and the same sandbox, `docker cp` of that /app to a host directory, the baseline the
hardened collection is held to (target: collect <= 1.5x docker cp).

    .venv/bin/python benchmarks/bench_workspace.py [--runs 5] [--files 5000] [--profile default]

Needs a Docker engine, the docker CLI and the sandbox image. Prints medians; never a pass/fail.
The strict profile's /app is a tmpfs, which `docker cp` cannot read: use a profile without it."""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from termagent.sandbox.container import Sandbox, SandboxSpec
from termagent.sandbox.docker_connect import connect
from termagent.sandbox.profiles import load_profile
from termagent.workspace import Workspace

STEPS = ("copy-in (populate)", "collect (checked)", "docker cp /app", "apply")


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


def timed(action) -> tuple[float, object]:
    began = time.perf_counter()
    result = action()
    return time.perf_counter() - began, result


def one_run(client, spec: SandboxSpec, files: int, order: int) -> tuple[dict[str, float], int]:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "project"
        root.mkdir()
        make_tree(root, files)
        with Workspace(root) as workspace, Sandbox(spec, client=client) as sandbox:
            times = {STEPS[0]: timed(lambda: workspace.populate(sandbox.container))[0]}
            sandbox.shell.run(
                "cd /app && for d in d000 d001; do echo '# more' >> $d/f00.py; done && rm d002/f01.py"
                " && echo new > new.txt\n",
                duration=10,
            )
            copy_target = Path(scratch) / "docker-cp"

            def docker_cp() -> None:
                subprocess.run(
                    ["docker", "cp", f"{sandbox.container.id}:/app", str(copy_target)],
                    check=True,
                    stdout=subprocess.DEVNULL,
                )

            # Alternate which goes first, so neither always meets a cold page cache.
            if order % 2:
                times[STEPS[2]] = timed(docker_cp)[0]
                times[STEPS[1]], changes = timed(lambda: workspace.collect(sandbox.container))
            else:
                times[STEPS[1]], changes = timed(lambda: workspace.collect(sandbox.container))
                times[STEPS[2]] = timed(docker_cp)[0]
            times[STEPS[3]] = timed(lambda: workspace.apply(changes))[0]
            return times, len(changes.changes)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--profile", default="default")
    args = parser.parse_args()
    client = connect()
    spec = SandboxSpec(profile=load_profile(args.profile))
    results = [one_run(client, spec, args.files, order) for order in range(args.runs)]
    medians = {}
    for step in STEPS:
        values = [times[step] for times, _ in results]
        medians[step] = statistics.median(values)
        print(
            f"{step:<20} p50 {medians[step] * 1000:7.1f} ms  "
            f"(min {min(values) * 1000:.0f}, max {max(values) * 1000:.0f}) over {args.runs} runs"
        )
    ratios = [times[STEPS[1]] / times[STEPS[2]] for times, _ in results]
    print(
        f"collect / docker cp  {medians[STEPS[1]] / medians[STEPS[2]]:.2f}x of the medians "
        f"(per run p50 {statistics.median(ratios):.2f}x, target <= 1.5x)"
    )
    print(f"{args.files} files, profile {args.profile}, {results[0][1]} changes collected")


if __name__ == "__main__":
    main()
