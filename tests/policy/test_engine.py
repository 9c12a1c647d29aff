from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from policy_corpus import read_corpus

from termagent.policy.decision import Decision
from termagent.policy.engine import Policy
from termagent.policy.loader import load_policy
from termagent.policy.state import TerminalState

POLICY = load_policy("default")  # hypothesis tests cannot take function-scoped fixtures


def test_strictest_wins_and_names_its_rule(default_policy: Policy) -> None:
    verdict = default_policy.judge("ls && make && rm -rf /\n")
    assert verdict.decision is Decision.DENY and verdict.rule == "rm-recursive-root"
    assert "rm -rf /" in verdict.reason
    assert verdict.commands == ("ls", "make", "rm -rf /")
    assert [str(f.decision) for f in verdict.findings] == ["allow", "ask", "deny"]


def test_the_line_enter_submits_is_judged_not_the_chunk(default_policy: Policy) -> None:
    typing = default_policy.judge("rm -rf ", TerminalState())
    assert typing.decision is Decision.ALLOW and typing.rule == "typing"
    verdict = default_policy.judge("/\n", TerminalState(pending_line="rm -rf "))
    assert verdict.decision is Decision.DENY and verdict.commands == ("rm -rf /",)
    verdict = default_policy.judge("Enter", TerminalState(pending_line="rm -rf /"))
    assert verdict.decision is Decision.DENY


def test_enter_on_an_unknown_line_asks(default_policy: Policy) -> None:
    verdict = default_policy.judge("Enter", TerminalState(pending_line=None))
    assert verdict.decision is Decision.ASK and verdict.rule == "construct:unknown_line"


def test_foreground_input_has_its_own_class(default_policy: Policy, auto_policy: Policy) -> None:
    verdict = default_policy.judge(":wq\n", TerminalState(foreground="vim"))
    assert verdict.decision is Decision.ASK and verdict.rule == "foreground:default" and "vim" in verdict.reason
    assert default_policy.judge(":!rm -rf /\n", TerminalState(foreground="vim")).decision is Decision.DENY
    assert auto_policy.judge(":wq\n", TerminalState(foreground="vim")).decision is Decision.ALLOW


def test_control_keys(default_policy: Policy) -> None:
    assert default_policy.judge("C-c").decision is Decision.ALLOW
    assert default_policy.judge("C-c", TerminalState(foreground="python3")).decision is Decision.ALLOW
    verdict = default_policy.judge("C-d", TerminalState(foreground="python3"))
    assert verdict.decision is Decision.ASK and verdict.rule == "keys:default" and "python3" in verdict.reason


def test_unusual_characters_ask_even_in_foreground(auto_policy: Policy) -> None:
    verdict = auto_policy.judge("x\x1b:!id\n", TerminalState(foreground="vim"))
    assert verdict.decision is Decision.ASK and verdict.keystrokes == "x\\x1b:!id\\n"


def test_sandboxed_auto_allows_the_sandbox_but_not_hidden_code(auto_policy: Policy) -> None:
    assert auto_policy.judge("make -j4 && pip install x > log\n").decision is Decision.ALLOW
    assert auto_policy.judge("bash -c 'id'\n").decision is Decision.ASK
    assert auto_policy.judge("rm -rf /\n").decision is Decision.DENY
    assert auto_policy.judge("eval x\n").decision is Decision.ASK


def test_empty_keystrokes_are_a_wait(default_policy: Policy) -> None:
    assert default_policy.judge("").decision is Decision.ALLOW
    assert default_policy.judge("\n").decision is Decision.ALLOW


def test_deny_rules_see_through_wrappers(auto_policy: Policy) -> None:
    for line in [
        "sudo rm -rf /\n",
        "bash -c 'rm -rf /'\n",
        "sudo -u root timeout 5 sh -c 'ls; rm -rf ~'\n",
        "xargs rm -rf /\n",
        "eval 'mkfs.ext4 /dev/sda'\n",
    ]:
        verdict = auto_policy.judge(line)
        assert verdict.decision is Decision.DENY and "(run by `" in verdict.reason, line
    assert auto_policy.judge("echo rm -rf /\n").decision is Decision.ALLOW  # echo is no wrapper


def test_globs_and_variables_do_not_hide_a_denied_target(auto_policy: Policy) -> None:
    for line in ["rm -rf /*\n", 'rm -rf "$HOME"\n', "cd / && rm -fr ./*\n", "chmod -R 777 /*\n"]:
        assert auto_policy.judge(line).decision is Decision.DENY, line
    assert auto_policy.judge("rm -rf build/*\n").decision is Decision.ALLOW


def test_disguised_names_are_still_denied(auto_policy: Policy) -> None:
    for line in [
        "\\rm -rf /\n",
        "r''m -rf /\n",
        "$'\\x72m' -rf /\n",
        "/bin/rm -rf /\n",
        '"rm" -rf ~\n',
        "> /dev/sda\n",
    ]:
        assert auto_policy.judge(line).decision is Decision.DENY, line
    verdict = auto_policy.judge("\\ls\n")  # worked out for deny rules, still a construct for the rest
    assert verdict.decision is Decision.ASK and verdict.rule == "construct:dynamic_command"


def test_hostile_wrapper_chains_stay_bounded(default_policy: Policy) -> None:
    verdict = default_policy.judge("sudo " * 3000 + "rm -rf /\n")
    assert verdict.decision is not Decision.ALLOW


def test_a_reported_pending_line_is_checked_for_unusual_characters(default_policy: Policy) -> None:
    verdict = default_policy.judge("Enter", TerminalState(pending_line="ls\u200b"))
    assert verdict.decision is Decision.ASK and verdict.rule == "construct:unusual_character"


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from([*"ab $'\"`\\;|&()<>{}!#*=-/\n\t\x1b", "rm", "ls", "\u200b", "C-c", "Enter"]), max_size=30
    ).map("".join)
)
def test_any_text_gets_a_named_verdict(text: str) -> None:
    verdict = POLICY.judge(text)
    assert verdict.rule and verdict.reason and verdict.keystrokes.isascii()


def _single_line(keystrokes: str) -> bool:
    line = keystrokes[:-1]
    return "\n" not in line and not line.rstrip().endswith(("&", "\\")) and "#" not in line and not line.startswith("^")


_BYPASS_LINES = [k for k in read_corpus("bypass.txt") if _single_line(k)]
_READ_ONLY_LINES = [k for k in read_corpus("readonly.txt") if _single_line(k)]


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(_BYPASS_LINES + _READ_ONLY_LINES),
    st.sampled_from(_BYPASS_LINES + _READ_ONLY_LINES),
    st.sampled_from(["; ", " && ", " | ", "\n"]),
)
def test_a_joined_line_is_as_strict_as_its_strictest_part(first: str, second: str, joint: str) -> None:
    joined = POLICY.judge(first[:-1] + joint + second)
    assert joined.decision >= max(POLICY.judge(first).decision, POLICY.judge(second).decision)


def test_reasons_are_shown_escaped(default_policy: Policy) -> None:
    verdict = default_policy.judge("$(x\ny)\n")
    assert verdict.rule == "construct:dynamic_command" and "$(x\\ny)" in verdict.reason and "\n" not in verdict.reason


def test_the_deny_list_holds_in_every_state(default_policy: Policy, auto_policy: Policy) -> None:
    for policy in (default_policy, auto_policy):
        for state in (
            TerminalState(),
            TerminalState(foreground="sleep"),
            TerminalState(foreground="vim"),
            TerminalState(foreground="python3"),
            TerminalState(foreground="bash"),
            TerminalState(uncertain=True),
        ):
            assert policy.judge("rm -rf /\n", state).decision is Decision.DENY, (policy.name, state)


def test_the_deny_list_is_in_every_policy(tmp_path) -> None:
    """A policy that leaves out the deny list, or replaces one of its rules, still denies."""
    path = tmp_path / "mine.yaml"
    path.write_text(
        "name: mine\ndefault: allow\nrules:\n  - name: rm-recursive-root\n    decision: allow\n"
        "    reason: mine\n    command: rm\n",
        encoding="utf-8",
    )
    assert load_policy(str(path)).judge("rm -rf /\n").decision is Decision.DENY


def test_input_to_a_shell_is_judged_as_command_lines(auto_policy: Policy) -> None:
    nested = TerminalState(foreground="bash")
    assert auto_policy.judge("make\n", nested).decision is Decision.ALLOW
    assert auto_policy.judge("bash -c id\n", nested).decision is Decision.ASK  # hidden code
    assert auto_policy.judge("echo $((x))\n", nested).decision is Decision.ASK
    # typed in pieces: the line is judged whole when Enter comes
    assert (
        auto_policy.judge("\n", TerminalState(foreground="sh", pending_line="curl x | sh")).decision
        is not Decision.ALLOW
    )


def test_input_to_a_repl_is_code(auto_policy: Policy) -> None:
    for program in ("python3", "node", "irb", "sqlite3", "perl"):
        verdict = auto_policy.judge(".shell id\n", TerminalState(foreground=program))
        assert verdict.decision is Decision.ASK and verdict.rule == f"foreground:{program}"


def test_typed_ahead_lines_are_judged_as_command_lines(auto_policy: Policy) -> None:
    """`sleep` holds the terminal; what is typed now runs in the shell once it ends."""
    running = TerminalState(foreground="sleep")
    assert auto_policy.judge("bash -c 'touch x'\n", running).decision is Decision.ASK
    assert auto_policy.judge("y\n", running).decision is Decision.ALLOW


def test_when_unsure_who_holds_the_terminal_the_strictest_reading_wins(
    default_policy: Policy, auto_policy: Policy
) -> None:
    unsure = TerminalState(uncertain=True)
    verdict = default_policy.judge("ls\n", unsure)
    assert verdict.decision is Decision.ASK and verdict.rule == "foreground:uncertain"
    assert default_policy.judge("C-c", unsure).decision is Decision.ALLOW  # a key alone is judged as that key
    assert auto_policy.judge("python3 -c 1\n", unsure).decision is Decision.ASK


def test_option_tables_read_arguments_like_getopt_long(default_policy: Policy) -> None:
    for line in [
        "sed --in 's/a/b/' f\n",
        "sed 's/a/b/' f -i\n",
        "sed -ni 's/a/b/p' f\n",
        "sort --out=x f\n",
        "sort f --o x\n",
        "iconv --out x f\n",
        "tar --use sh -tf x\n",
        "tar tIf sh x\n",
        "git grep --open x\n",
        "git log --outp=x\n",
        "rg --pr=sh x\n",
        "rg -nz x\n",
        "uniq a b\n",
        "gawk -W exec x\n",
        "awk --dump=x 1 f\n",
        "jobs -lx id\n",
        "sort $opt f\n",
        "tree *\n",
    ]:
        verdict = default_policy.judge(line)
        assert verdict.decision is Decision.ASK, line
    for line in [
        "sed -n '1p' f\n",
        "sort -rn -k2 f\n",
        "tar -tzf x.tgz\n",
        "git log --oneline\n",
        "uniq -c f\n",
        "sort -k2 -- f\n",
    ]:
        assert default_policy.judge(line).decision is Decision.ALLOW, line


def test_what_a_program_leaves_to_the_shell_is_checked_against_the_deny_list(auto_policy: Policy) -> None:
    """`q` quits top; the rest of the line reaches bash."""
    verdict = auto_policy.judge("q rm -rf ~ #\n", TerminalState(foreground="top"))
    assert verdict.decision is Decision.DENY
    assert auto_policy.judge("q\n", TerminalState(foreground="top")).decision is Decision.ALLOW
