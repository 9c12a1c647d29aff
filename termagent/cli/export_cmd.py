"""`termagent export TRAJECTORY... --format atif|sft|replay --output FILE`: recorded runs as
datasets for the people who train and evaluate terminal models (docs/export.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from termagent.cli.subcommands import Subcommands


def register(subparsers: Subcommands) -> argparse.ArgumentParser:
    from termagent.export.dataset import Format
    from termagent.export.selection import Keep
    from termagent.export.sft import AssistantText

    parser = subparsers.add_parser(
        "export",
        help="write recorded runs as ATIF documents, SFT conversations or replay records",
        description="Reads trajectories (files, or `termagent batch` / `eval live` output folders) and writes "
        "them as ATIF documents (one per run; a folder of them for several runs), chat JSONL for "
        "fine-tuning (one conversation per run), or tb2-lite records for `termagent eval replay`.",
    )
    parser.add_argument("inputs", metavar="TRAJECTORY", type=Path, nargs="+")
    parser.add_argument("--format", required=True, choices=[str(f) for f in Format])
    parser.add_argument("--output", "-o", required=True, type=Path, metavar="FILE")
    parser.add_argument(
        "--keep",
        choices=[str(k) for k in Keep],
        default=str(Keep.ALL),
        help="which runs: all, completed (completion confirmed), or passed (completed and the "
        "check in the folder's report passed) (default: %(default)s)",
    )
    parser.add_argument(
        "--drop-rejected",
        action="store_true",
        help="drop steps with a reply that could not be used (sft: weight 0; replay: no record)",
    )
    parser.add_argument(
        "--drop-denied",
        action="store_true",
        help="drop steps with a command the policy or a person denied (sft: weight 0; replay: no record)",
    )
    parser.add_argument(
        "--with-empty-steps",
        action="store_true",
        help="replay: also steps whose reply has no command (the card's metric scores them 0 for every model)",
    )
    parser.add_argument(
        "--assistant",
        choices=[str(a) for a in AssistantText],
        default=str(AssistantText.SENT),
        help="sft assistant turns: the reply as the model's history showed it (thinking removed), "
        "or usable replies re-written as indented protocol JSON (default: %(default)s)",
    )
    parser.set_defaults(handler=export)
    return parser


def export(args: argparse.Namespace) -> int:
    from termagent.export.dataset import Format, export
    from termagent.export.selection import Keep, Selection
    from termagent.export.sft import AssistantText

    selection = Selection(Keep(args.keep), drop_rejected=args.drop_rejected, drop_denied=args.drop_denied)
    report = export(
        args.inputs,
        Format(args.format),
        args.output,
        selection,
        AssistantText(args.assistant),
        with_empty=args.with_empty_steps,
    )
    for line in report.left_out:
        print(f"termagent: run left out: {line}", file=sys.stderr)
    for line in report.notes:
        print(f"termagent: {line}", file=sys.stderr)
    kind = {"atif": "ATIF document(s)", "sft": "conversation(s)", "replay": "replay record(s)"}[args.format]
    print(
        f"wrote {report.items} {kind} from {report.runs} run(s), {report.steps} step(s), to {report.output}",
        file=sys.stderr,
    )
    return 0
