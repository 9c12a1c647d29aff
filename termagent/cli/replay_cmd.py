"""`termagent replay TRAJECTORY`: run a recorded session's replies again in a fresh sandbox,
through the policy again; or turn them into a reply file for `--replay`."""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from termagent.cli.run_cmd import add_run_arguments, run
from termagent.errors import TermagentError


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "replay", help="re-run a recorded trajectory's replies in a fresh sandbox",
        description="Replays the model replies recorded in TRAJECTORY (a termagent trajectory file) through "
                    "the policy and a fresh sandbox. With --to-replies FILE, only writes them as a reply file "
                    "for `--replay FILE` (one JSON object per line, the raw reply under \"reply\").")
    parser.add_argument("trajectory_file", metavar="TRAJECTORY", type=Path)
    parser.add_argument("--to-replies", type=Path, metavar="FILE", help="write the replies and stop")
    add_run_arguments(parser, with_task=False)
    parser.set_defaults(handler=replay)
    return parser


def replay(args: argparse.Namespace) -> int:
    from termagent.agent.events import EventType
    from termagent.agent.trajectory import read_trajectory, replies_of

    try:
        records = read_trajectory(args.trajectory_file)
    except OSError as error:
        raise TermagentError(f"cannot read the trajectory {args.trajectory_file}: {error.strerror}") from error
    started = next((r for r in records if r.get("type") == EventType.RUN_STARTED and r.get("task")), None)
    replies = replies_of(records)
    if started is None or not replies:
        raise TermagentError(f"{args.trajectory_file} holds no recorded run (no task or no model replies)",
                             hint="pass a file written by `termagent --trajectory FILE`")
    lines = "".join(json.dumps(reply, ensure_ascii=False) + "\n" for reply in replies)
    if args.to_replies:
        args.to_replies.write_text(lines, encoding="utf-8")
        print(f"wrote {len(replies)} replies to {args.to_replies}")
        return 0
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", encoding="utf-8") as reply_file:
        reply_file.write(lines)
        reply_file.flush()
        args.task, args.engine, args.replay = started["task"], "replay", reply_file.name
        args.policy = args.policy or started.get("policy")
        return run(args)
