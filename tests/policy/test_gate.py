from __future__ import annotations

from pathlib import Path

import yaml

from termagent.policy.approval import Answer, ApprovalRequest, Reply, approver_for
from termagent.policy.decision import Decision
from termagent.policy.engine import Policy
from termagent.policy.events import ApprovalAnswered, ApprovalAsked, PolicyDecided, PolicyEvent
from termagent.policy.gate import Gate
from termagent.policy.loader import load_policy
from termagent.policy.state import TerminalState

PROMPT = TerminalState()


class Scripted:
    """A stand-in person who gives the replies it was handed, in order."""

    name = "person"

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies)
        self.requests: list[ApprovalRequest] = []

    def ask(self, request: ApprovalRequest) -> Reply:
        self.requests.append(request)
        return self.replies.pop(0)


def gate(policy: Policy, approver) -> tuple[Gate, list[PolicyEvent]]:  # noqa: ANN001 - any Approver
    events: list[PolicyEvent] = []
    return Gate(policy, approver, events.append), events


def test_allow_and_deny_need_no_person(default_policy: Policy) -> None:
    person = Scripted()
    g, events = gate(default_policy, person)
    assert g.review("ls\n", PROMPT).send == "ls\n"
    outcome = g.review("rm -rf /\n", PROMPT)
    assert outcome.send is None and "rm-recursive-root" in (outcome.feedback or "")
    assert person.requests == [] and [type(e) for e in events] == [PolicyDecided, PolicyDecided]
    assert [e.keystrokes for e in events] == ["ls\n", "rm -rf /\n"]  # raw: views escape


def test_allow_once_asks_again(default_policy: Policy) -> None:
    person = Scripted(Reply(Answer.ALLOW_ONCE), Reply(Answer.DENY))
    g, _ = gate(default_policy, person)
    assert g.review("make\n", PROMPT).allowed
    assert not g.review("make\n", PROMPT).allowed


def test_allow_for_session_saves_a_prefix_rule(default_policy: Policy) -> None:
    person = Scripted(Reply(Answer.ALLOW_SESSION))
    g, events = gate(default_policy, person)
    assert g.review("git push origin main\n", PROMPT).allowed
    assert g.review("git push --tags\n", PROMPT).allowed  # same prefix, not the same bytes: no question
    assert len(person.requests) == 1
    answered = [e for e in events if isinstance(e, ApprovalAnswered)]
    assert answered[0].rules_added == ("allowed-git-push",)
    assert g.policy.judge("git push --force && rm -rf ~\n").decision is Decision.DENY


def test_always_writes_the_user_policy_file(default_policy: Policy, isolated_config: Path) -> None:
    g, _ = gate(default_policy, Scripted(Reply(Answer.ALLOW_ALWAYS)))
    assert g.review("make test\n", PROMPT).allowed
    path = isolated_config / "termagent" / "policy.yaml"
    data = yaml.safe_load(path.read_text())
    assert data["extends"] == "default"
    assert data["rules"][0]["command"] == "make" and data["rules"][0]["args"] == ["test"]
    mine = load_policy(str(path))
    assert mine.judge("make test -j4\n").decision is Decision.ALLOW
    assert mine.judge("make install\n").decision is Decision.ASK
    assert mine.judge("rm -rf /\n").decision is Decision.DENY


def test_always_cannot_cover_hidden_code(default_policy: Policy, isolated_config: Path) -> None:
    person = Scripted(Reply(Answer.ALLOW_ALWAYS), Reply(Answer.DENY))
    g, events = gate(default_policy, person)
    assert g.review("bash -c 'id'\n", PROMPT).allowed
    assert not person.requests[0].can_remember
    assert not g.review("bash -c 'id'\n", PROMPT).allowed
    assert not (isolated_config / "termagent" / "policy.yaml").exists()
    assert any(isinstance(e, ApprovalAnswered) and e.note for e in events)


def test_deny_with_message_reaches_the_model(default_policy: Policy) -> None:
    g, _ = gate(default_policy, Scripted(Reply(Answer.DENY_WITH_MESSAGE, message="use make -n first")))
    outcome = g.review("make\n", PROMPT)
    assert outcome.send is None and "use make -n first" in (outcome.feedback or "")


def test_edited_keystrokes_are_judged_again(default_policy: Policy) -> None:
    person = Scripted(Reply(Answer.EDIT, keystrokes="rm -rf /\n"))
    g, _ = gate(default_policy, person)
    outcome = g.review("rm -rf build\n", PROMPT)
    assert outcome.send is None and outcome.verdict.rule == "rm-recursive-root"
    person = Scripted(Reply(Answer.EDIT, keystrokes="ls build\n"))
    g, _ = gate(default_policy, person)
    assert g.review("rm -rf build\n", PROMPT).send == "ls build\n"


def test_headless_modes(default_policy: Policy) -> None:
    fail_closed, _ = gate(default_policy, approver_for("ask", None))
    assert not fail_closed.review("make\n", PROMPT).allowed
    denying, _ = gate(default_policy, approver_for("deny", None))
    assert not denying.review("make\n", PROMPT).allowed
    allowing, _ = gate(default_policy, approver_for("allow", None))
    assert allowing.review("make\n", PROMPT).allowed
    assert not allowing.review("make; rm -rf /\n", PROMPT).allowed  # deny is never overridden
    person = Scripted()
    assert approver_for("ask", person) is person


def test_names_redefined_in_the_session_are_asked_about(default_policy: Policy) -> None:
    g, _ = gate(default_policy, Scripted(Reply(Answer.ALLOW_ONCE), Reply(Answer.ALLOW_ONCE), Reply(Answer.DENY)))
    assert g.review("alias ls='rm -rf'\n", PROMPT).allowed
    assert g.review("grep() { rm -rf x; }\n", PROMPT).allowed
    outcome = g.review("ls -la | grep x\n", PROMPT)
    assert not outcome.allowed and outcome.verdict.rule == "construct:function_definition"
    assert "`ls` was redefined" in outcome.verdict.reason


def test_events_carry_raw_keystrokes_in_order(default_policy: Policy) -> None:
    g, events = gate(default_policy, Scripted(Reply(Answer.EDIT, keystrokes="ls\x1b\n"), Reply(Answer.DENY)))
    g.review("make\x1b\n", PROMPT)
    assert [type(e) for e in events] == [PolicyDecided, ApprovalAsked, ApprovalAnswered] * 2
    decided, asked, answered = events[:3]
    assert isinstance(decided, PolicyDecided) and decided.keystrokes == "make\x1b\n" and decided.decision == "ask"
    assert isinstance(asked, ApprovalAsked) and asked.keystrokes == "make\x1b\n"
    assert isinstance(answered, ApprovalAnswered) and answered.answer == "edit" and answered.edited == "ls\x1b\n"
