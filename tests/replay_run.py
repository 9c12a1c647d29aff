"""The arguments of a `termagent` run whose model replies are recorded ones (the replay engine),
written once for the tests and benchmarks that start such a run (headless, --no-tui or the TUI)."""

from __future__ import annotations

from pathlib import Path


def replay_run_args(
    task: str, replies: Path, trajectory: Path, *options: str, policy: str | None = "sandboxed-auto"
) -> list[str]:
    """`termagent`'s arguments after the program and the interface flag (`--headless`,
    `--no-tui`): `task` answered by the replies in `replies`, judged by `policy` (None: the
    user's default), recorded in `trajectory`; `options` go before the task."""
    return [
        *(["--policy", policy] if policy is not None else []),
        "--replay",
        str(replies),
        "--trajectory",
        str(trajectory),
        *options,
        task,
    ]
