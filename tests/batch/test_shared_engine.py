"""A local `batch --parallel 4` with the in-process transformers engine (the tiny model) never runs
two generations on it at once. Observed on the real model: its `generate` counts who is inside."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
import transformers

from termagent.cli.main import main
from termagent.model.conversation import Conversation
from termagent.model.engines.base import DecodingSettings
from termagent.model.engines.transformers_local import TransformersEngine

pytestmark = pytest.mark.timeout(900)


class Inside:
    """How many threads are inside the wrapped function at most, and which threads came in."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = self.most = 0
        self.threads: set[str] = set()

    def wrap(self, function):
        def counted(*args, **kwargs):
            with self._lock:
                self.now += 1
                self.most = max(self.most, self.now)
                self.threads.add(threading.current_thread().name)
            try:
                return function(*args, **kwargs)
            finally:
                with self._lock:
                    self.now -= 1

        return counted


@pytest.fixture
def inside_generate(monkeypatch) -> Inside:
    inside = Inside()
    monkeypatch.setattr(transformers.GenerationMixin, "generate", inside.wrap(transformers.GenerationMixin.generate))
    return inside


def test_the_observation_sees_overlapping_generations_on_an_unguarded_engine(tiny_gemma_dir, inside_generate):
    """The control: threads calling the engine directly do overlap, so the batch test can fail."""
    engine = TransformersEngine(str(tiny_gemma_dir), settings=DecodingSettings(max_tokens=64, constrained=False))
    start = threading.Barrier(4)

    def generate(task: str) -> None:
        start.wait()
        engine.complete(Conversation(task, "root@box:/app# ").messages)

    threads = [threading.Thread(target=generate, args=(f"task {n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert inside_generate.most >= 2


def test_parallel_batch_takes_the_in_process_engine_in_turns(
    sandbox_image, tiny_gemma_dir, inside_generate, tmp_path: Path
):
    tasks = [{"name": f"t{n}", "task": f"Create /app/file{n}.txt"} for n in range(4)]
    batch_file = tmp_path / "tasks.yaml"
    batch_file.write_text(json.dumps({"tasks": tasks}))
    code = main(
        [
            "batch",
            str(batch_file),
            "--parallel",
            "4",
            "--engine",
            "transformers",
            "--model",
            str(tiny_gemma_dir),
            "--max-steps",
            "2",
            "--max-tokens",
            "96",
            "--policy",
            "default",
            "--output-dir",
            str(tmp_path / "out"),
        ]
    )
    assert code in (0, 1)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["tasks"] == 4 and not [r for r in report["results"] if r["status"] == "error"], report
    assert len(inside_generate.threads) >= 2  # several batch threads generated ...
    assert inside_generate.most == 1  # ... never two at once


def test_ray_refuses_an_in_process_engine_with_what_to_do(tiny_gemma_dir, tmp_path: Path, capsys):
    batch_file = tmp_path / "tasks.yaml"
    batch_file.write_text(json.dumps({"tasks": [{"name": "t", "task": "anything"}]}))
    code = main(
        [
            "batch",
            str(batch_file),
            "--ray",
            "--engine",
            "transformers",
            "--model",
            str(tiny_gemma_dir),
            "--output-dir",
            str(tmp_path / "out"),
        ]
    )
    error = capsys.readouterr().err
    assert code == 2 and "cannot share the in-process transformers engine" in error and "--engine openai" in error
    assert not (tmp_path / "out").exists()  # refused before anything ran
