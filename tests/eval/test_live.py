"""`termagent eval live`: task layouts, solution splitting, and real sandbox runs (oracle and agent)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from project_paths import EXAMPLES

from termagent.cli.main import main
from termagent.errors import ConfigurationError
from termagent.eval.live_run import run_oracle
from termagent.eval.live_tasks import HARBOR_CHECK, TB1_CHECK, TB1_DEFAULT_CHECK, load_tasks
from termagent.eval.oracle import solution_commands

LIVE = EXAMPLES / "live"


def test_the_examples_cover_the_three_layouts() -> None:
    tasks = {task.name: task for task in load_tasks(LIVE)}
    assert len(tasks) >= 3 and all(task.solution for task in tasks.values())
    assert tasks["region-totals"].layout == "termagent" and tasks["region-totals"].timeout == 300
    assert tasks["region-totals"].files == LIVE / "region-totals" / "files"
    tb1 = tasks["tb1-word-freq"]
    assert (tb1.layout, tb1.check, tb1.timeout) == ("terminal-bench", TB1_CHECK, 180)
    assert [name for _, name in tb1.tests] == [".", "run-tests.sh"]
    harbor = tasks["tb2-git-tag"]
    assert (harbor.layout, harbor.check) == ("harbor", HARBOR_CHECK)
    assert harbor.instruction.startswith("Create a git repository")


def test_a_single_task_folder_is_one_task() -> None:
    assert [task.name for task in load_tasks(LIVE / "log-errors")] == ["log-errors"]


def test_older_terminal_bench_descriptions(tmp_path: Path) -> None:
    (tmp_path / "task.yaml").write_text("descriptions:\n  - key: base\n    description: Do it.\n")
    (tmp_path / "run-tests.sh").write_text("true\n")
    [task] = load_tasks(tmp_path)
    assert (task.instruction, task.solution, task.files) == ("Do it.", None, None)


def test_a_terminal_bench_task_without_run_tests_gets_the_default_pytest_check(tmp_path: Path) -> None:
    (tmp_path / "task.yaml").write_text("instruction: Do it.\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_outputs.py").write_text("def test_x():\n    pass\n")
    [task] = load_tasks(tmp_path)
    assert (task.layout, task.check) == ("terminal-bench", TB1_DEFAULT_CHECK)
    assert task.tests == ((tmp_path / "tests", "."),)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"task.yaml": "check: 'true'\n"}, "no instruction"),
        ({"task.yaml": "instruction: x\n"}, "no check"),
        ({"task.yaml": "- a list\n"}, "expected a mapping"),
        ({"instruction.md": "x"}, "needs tests/test.sh"),
        ({"notes.txt": "x"}, "no tasks in"),
    ],
)
def test_bad_task_folders(tmp_path: Path, files: dict[str, str], message: str) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(ConfigurationError, match=message):
        load_tasks(tmp_path)


def test_a_solution_is_cut_into_whole_commands() -> None:
    script = (
        "#!/bin/bash\n"
        "set -u\n"
        "\n"
        "# a comment between commands\n"
        "cat > f.txt << 'EOF'\n"
        "if this were code\n"
        "EOF\n"
        "for i in 1 2; do\n"
        "  echo $i\n"
        "done\n"
        "echo one \\\n"
        "  two\n"
        "echo 'x' # trailing comment\n"
    )
    assert solution_commands(script) == [
        "set -u\n",
        "cat > f.txt << 'EOF'\nif this were code\nEOF\n",
        "for i in 1 2; do\n  echo $i\ndone\n",
        "echo one \\\n  two\n",
        "echo 'x' # trailing comment\n",
    ]


def test_a_part_bash_never_completes_is_sent_as_it_is() -> None:
    assert solution_commands("echo ok\nif true; then\n  echo never closed\n") == [
        "echo ok\n",
        "if true; then\n  echo never closed\n",
    ]


@pytest.fixture
def image(sandbox_image, no_leftover_containers) -> str:
    return sandbox_image


@pytest.mark.docker
def test_every_example_passes_with_its_own_solution(image: str, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert (
        main(["eval", "live", str(LIVE), "--oracle", "--parallel", "2", "--image", image, "--output-dir", str(out)])
        == 0
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["pass_rate_pct"] == 100.0 and summary["tasks"] == summary["passed"] == len(load_tasks(LIVE))
    # Each solution command was one step: the heredoc and the multi-line pipelines count once.
    steps = {row["task"]: row["steps"] for row in summary["results"]}
    assert steps["fibonacci-script"] == 2 and steps["region-totals"] == 3
    assert "pass rate 100.0%" in capsys.readouterr().out


@pytest.mark.docker
def test_every_example_check_fails_without_the_work(image: str) -> None:
    from termagent.sandbox.container import SandboxSpec

    for task in load_tasks(LIVE):
        report = run_oracle(dataclasses.replace(task, solution="true\n"), SandboxSpec(image=image))
        assert (report.status, report.check, report.passed) == ("completed", "failed", False), task.name


@pytest.mark.docker
def test_a_solution_that_exits_the_shell_is_still_checked(image: str) -> None:
    from termagent.sandbox.container import SandboxSpec

    [task] = load_tasks(LIVE / "fibonacci-script")
    report = run_oracle(
        dataclasses.replace(task, solution=task.solution + "exit 3\necho never\n"), SandboxSpec(image=image)
    )
    assert (report.status, report.check) == ("shell_exited", "passed")
    assert report.steps == 3  # the two commands and the exit; nothing after it


@pytest.mark.docker
@pytest.mark.parametrize(("reward", "passed"), [("1.0", True), ("1", True), ("0", False), ("0.5", False)])
def test_a_harbor_task_passes_on_its_reward_file(image: str, tmp_path: Path, reward: str, passed: bool) -> None:
    from termagent.sandbox.container import SandboxSpec

    (tmp_path / "tests").mkdir()
    (tmp_path / "instruction.md").write_text("Write the reward.\n")
    # test.sh always exits 0, as many do: only the reward decides.
    (tmp_path / "tests" / "test.sh").write_text("cat /app/reward > /logs/verifier/reward.txt\nexit 0\n")
    [task] = load_tasks(tmp_path)
    report = run_oracle(dataclasses.replace(task, solution=f"echo {reward} > /app/reward\n"), SandboxSpec(image=image))
    assert report.passed is passed


def _replies(path: Path, actions: list[dict]) -> Path:
    path.write_text("".join(json.dumps({"reply": json.dumps(action)}) + "\n" for action in actions))
    return path


DONE = {"analysis": "Done.", "plan": "Finish.", "commands": [], "task_complete": True}


@pytest.mark.docker
def test_the_agent_mode_runs_the_task_and_its_check(image: str, tmp_path: Path) -> None:
    write = {
        "analysis": "Empty.",
        "plan": "Write the totals.",
        "task_complete": False,
        "commands": [
            {
                "keystrokes": "tail -n +2 sales.csv | awk -F, '{t[$1]+=$3} END {for (r in t) print r, t[r]}'"
                " | sort > totals.txt\n",
                "duration": 1,
            }
        ],
    }
    replies = _replies(tmp_path / "replies.jsonl", [write, DONE, DONE])
    out = tmp_path / "out"
    code = main(
        [
            "eval",
            "live",
            str(LIVE / "region-totals"),
            "--engine",
            "replay",
            "--replay",
            str(replies),
            "--image",
            image,
            "--output-dir",
            str(out),
        ]
    )
    summary = json.loads((out / "summary.json").read_text())
    [row] = summary["results"]
    assert code == 0 and row["passed"] and row["status"] == "completed" and row["steps"] == 3
    assert row["tokens"] > 0 and (out / "region-totals.jsonl").is_file()


@pytest.mark.docker
def test_the_agent_mode_counts_denials_and_fails_an_undone_task(image: str, tmp_path: Path) -> None:
    deny = {
        "analysis": "x",
        "plan": "y",
        "task_complete": False,
        "commands": [{"keystrokes": "rm -rf /\n", "duration": 0.1}],
    }
    unusable = {"analysis": 1}  # no commands and not complete: rejected, the model is asked again
    replies = _replies(tmp_path / "replies.jsonl", [deny, unusable, DONE, DONE])
    out = tmp_path / "out"
    code = main(
        [
            "eval",
            "live",
            str(LIVE / "region-totals"),
            "--engine",
            "replay",
            "--replay",
            str(replies),
            "--image",
            image,
            "--output-dir",
            str(out),
        ]
    )
    [row] = json.loads((out / "summary.json").read_text())["results"]
    assert code == 1 and row["passed"] is False and row["check"] == "failed"
    assert row["policy_denials"] == 1 and row["parse_failures"] == 1


@pytest.mark.docker
def test_task_files_reach_app_in_a_read_only_sandbox_too(image: str) -> None:
    from termagent.sandbox.container import SandboxSpec
    from termagent.sandbox.profiles import load_profile

    [task] = load_tasks(LIVE / "region-totals")
    report = run_oracle(task, SandboxSpec(image=image, profile=load_profile("strict")))
    assert (report.status, report.check) == ("completed", "passed")
