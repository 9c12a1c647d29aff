"""`termagent replay TRAJECTORY`: run a recorded session's replies again in a fresh sandbox,
through the policy again; or turn them into a reply file for `--replay`. TRAJECTORY is a
termagent trajectory, or an ATIF document written by `termagent export --format atif`."""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from termagent.cli.run_cmd import add_run_arguments, run
from termagent.cli.subcommands import Subcommands
from termagent.errors import ConfigurationError

_RECORDED_HINT = (
    "pass a file written by `termagent --trajectory FILE`, or an ATIF document from `termagent export --format atif`"
)


def register(subparsers: Subcommands) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "replay",
        help="re-run a recorded trajectory's replies in a fresh sandbox",
        description="Replays the model replies recorded in TRAJECTORY (a termagent trajectory file, or an ATIF "
        "document from `termagent export --format atif`) through "
        "the policy and a fresh sandbox. With --to-replies FILE, only writes them as a reply file "
        'for `--replay FILE` (one JSON object per line, the raw reply under "reply").',
    )
    parser.add_argument("trajectory_file", metavar="TRAJECTORY", type=Path)
    parser.add_argument("--to-replies", type=Path, metavar="FILE", help="write the replies and stop")
    add_run_arguments(parser, with_task=False)
    parser.set_defaults(handler=replay)
    return parser


def replay(args: argparse.Namespace) -> int:
    task, policy, replies = _recorded(args.trajectory_file)
    lines = "".join(json.dumps({"reply": reply}, ensure_ascii=False) + "\n" for reply in replies)
    if args.to_replies:
        args.to_replies.write_text(lines, encoding="utf-8")
        print(f"wrote {len(replies)} replies to {args.to_replies}")
        return 0
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", encoding="utf-8") as reply_file:
        reply_file.write(lines)
        reply_file.flush()
        args.task, args.engine, args.replay = task, "replay", reply_file.name
        args.policy = args.policy or policy
        return run(args)


def _recorded(path: Path) -> tuple[str, str | None, list[str]]:
    """The task, the policy and the raw replies of a trajectory or of an ATIF document."""
    from termagent.agent.events import EventType
    from termagent.agent.trajectory import read_trajectory, replies_of
    from termagent.export.atif import replayable

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigurationError(f"cannot read the trajectory {path}: {error}", hint=_RECORDED_HINT) from error
    try:
        document = json.loads(text)
    except ValueError:
        document = None  # several lines: a trajectory
    if isinstance(document, dict) and "schema_version" in document:
        recorded = replayable(document, str(path))
        return recorded.task, recorded.policy, recorded.replies
    records = read_trajectory(path)
    started = next((r for r in records if r.get("type") == EventType.RUN_STARTED and r.get("task")), None)
    replies = [reply["reply"] for reply in replies_of(records)]
    if started is None or not replies:
        raise ConfigurationError(f"{path} holds no recorded run (no task or no model replies)", hint=_RECORDED_HINT)
    return started["task"], started.get("policy"), replies
