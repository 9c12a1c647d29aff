"""Benchmarks of the model side (issue 3). Prints medians; run from the repository root:

    .venv/bin/python benchmarks/bench_model.py [--replies 200] [--unconstrained-max-tokens 256]

1. Valid-action rate of a tiny random-weight Gemma 4 (built like the tests' one), constrained and
   unconstrained; for unconstrained replies, strict `json.loads` + schema against the lenient parser.
2. Parser throughput on a corpus of real-looking replies (pretty, fenced, thinking, broken).
3. Prompt build + token count for step 50 of a long session (tokenizer loaded beforehand).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "model"))

from tiny_gemma import build_tiny_gemma  # noqa: E402

from termagent.model.conversation import Conversation  # noqa: E402
from termagent.model.engines.base import DecodingSettings  # noqa: E402
from termagent.model.parse import parse_reply  # noqa: E402
from termagent.model.schema import validate_action  # noqa: E402

TASK_VERBS = ["Compile", "Debug", "Install", "Count", "Fix", "Archive", "Serve", "Search", "Rename", "Benchmark"]
TASK_OBJECTS = [
    "main.c",
    "the logs",
    "numpy",
    "the tests",
    "a web app",
    "/etc",
    "the photos",
    "a CSV file",
    "git history",
    "the database",
]


def _tasks(count: int) -> list[str]:
    rng = random.Random(7)
    return [f"{rng.choice(TASK_VERBS)} {rng.choice(TASK_OBJECTS)} (case {i})." for i in range(count)]


def _strict_valid(text: str) -> bool:
    try:
        return validate_action(json.loads(text)) == []
    except ValueError:
        return False


def bench_valid_rate(model_dir: Path, replies: int, unconstrained_max_tokens: int) -> None:
    from termagent.model.engines.transformers_local import TransformersEngine

    runs = [
        ("constrained", DecodingSettings()),
        ("unconstrained", DecodingSettings(max_tokens=unconstrained_max_tokens, constrained=False)),
    ]
    for label, settings in runs:
        engine = TransformersEngine(str(model_dir), settings=settings)
        strict = lenient = 0
        seconds = []
        for task in _tasks(replies):
            completion = engine.complete(Conversation(task, "root@box:/app# ").messages)
            seconds.append(completion.elapsed)
            strict += _strict_valid(completion.text)
            lenient += parse_reply(completion.text).ok
        print(
            f"tiny random Gemma 4, {label} (max_tokens={settings.max_tokens}), {replies} replies: "
            f"strict json.loads+schema {100 * strict / replies:.1f}%, lenient parser {100 * lenient / replies:.1f}%, "
            f"median {statistics.median(seconds):.3f} s/reply"
        )


def real_looking_corpus(size: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    commands = [
        "ls -la\n",
        "cd /app && make\n",
        "python3 -m pytest -q\n",
        "cat README.md\n",
        "C-c",
        "",
        "grep -rn TODO src/\n",
    ]
    replies = []
    for i in range(size):
        action = {
            "analysis": f"Step {i}: the build printed {rng.randint(0, 40)} warnings. " * rng.randint(1, 4),
            "plan": "Look at the files, then run the tests and fix what fails.",
            "commands": [
                {"keystrokes": rng.choice(commands), "duration": rng.choice([0.1, 1, 5, 30])}
                for _ in range(rng.randint(0, 3))
            ],
            "task_complete": rng.random() < 0.1,
        }
        text = json.dumps(action, indent=2)
        kind = i % 8
        if kind == 1:
            text = f"```json\n{text}\n```"
        elif kind == 2:
            text = f"<think>\nThe screen shows a prompt. I should {action['plan'].lower()}\n</think>\n{text}"
        elif kind == 3:
            text = f"Here is the next step:\n{text}\nThis should work."
        elif kind == 4:
            text = text.replace("\n  ]", ",\n  ]").replace('"plan"', '"plan"', 1)  # trailing comma
            text = text.replace("0.1\n", "0.1,\n")
        elif kind == 5:
            text = text[: rng.randint(len(text) // 2, len(text) - 1)]  # cut off
        elif kind == 6:
            text = text.replace("warnings. ", "warnings.\n", 1)  # raw newline in a string
        elif kind == 7:
            text = "I am not sure what to do here."
        replies.append(text)
    return replies


def bench_parser(rounds: int = 5) -> None:
    corpus = real_looking_corpus(4000)
    strict = sum(_strict_valid(r) for r in corpus)
    lenient = sum(parse_reply(r).ok for r in corpus)
    rates = []
    for _ in range(rounds):
        started = time.perf_counter()
        for reply in corpus:
            parse_reply(reply)
        rates.append(len(corpus) / (time.perf_counter() - started))
    print(
        f"parser on {len(corpus)} real-looking replies (8 kinds, 1/8 without any JSON): "
        f"strict {100 * strict / len(corpus):.1f}% valid, lenient {100 * lenient / len(corpus):.1f}% usable; "
        f"median throughput {statistics.median(rates):,.0f} replies/s (one core, {rounds} rounds)"
    )


def bench_prompt(model_dir: Path, step: int = 50, rounds: int = 40) -> None:
    from transformers import AutoTokenizer

    from termagent.model.engines.transformers_local import TransformersEngine

    engine = TransformersEngine(str(model_dir), settings=DecodingSettings(constrained=False))
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    corpus = real_looking_corpus(step, seed=1)
    screen = "".join(f"root@box:/app# make target{n}\ncc -O2 -c src/file{n}.c -o build/file{n}.o\n" for n in range(12))
    warm, cold = [], []
    for _ in range(rounds):
        conversation = Conversation("Build the project and make the tests pass.", "root@box:/app# ")
        for k in range(step - 1):
            conversation.add_reply(corpus[k])
            conversation.add_observation(screen)
            engine.count_tokens(conversation.messages)  # as the agent does at every step
        started = time.perf_counter()
        conversation.add_reply(corpus[step - 1])
        conversation.add_observation(screen)
        tokens = engine.count_tokens(conversation.messages)
        warm.append(time.perf_counter() - started)
        started = time.perf_counter()
        len(tokenizer.encode(engine.render(conversation.messages), add_special_tokens=False))
        cold.append(time.perf_counter() - started)
    print(
        f"prompt build + token count at step {step} ({tokens} tokens, {len(conversation.messages)} messages, "
        f"tiny BPE tokenizer): p50 {1000 * statistics.median(warm):.2f} ms with the prefix count cache (as in a "
        f"session), p50 {1000 * statistics.median(cold):.2f} ms rendering and tokenizing from scratch"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replies", type=int, default=200)
    parser.add_argument("--unconstrained-max-tokens", type=int, default=256)
    args = parser.parse_args()
    bench_parser()
    with tempfile.TemporaryDirectory() as folder:
        model_dir = build_tiny_gemma(Path(folder))
        bench_prompt(model_dir)
        bench_valid_rate(model_dir, args.replies, args.unconstrained_max_tokens)


if __name__ == "__main__":
    main()
