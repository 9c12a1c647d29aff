"""The approval flow: judge, ask when the policy says ask, apply the answer, record it all."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from termagent.policy.approval import Answer, ApprovalRequest, Approver
from termagent.policy.decision import Decision, Verdict
from termagent.policy.engine import Policy
from termagent.policy.events import ApprovalAnswered, ApprovalAsked, PolicyDecided, PolicyListener
from termagent.policy.loader import user_policy_path
from termagent.policy.remembered import SessionRules, prefix_rules, remember
from termagent.policy.state import TerminalState

MAX_EDITS = 5  # an edit is judged again; a person editing forever is a loop, not a decision


@dataclass(frozen=True)
class Outcome:
    send: str | None  # the keystrokes to send (perhaps edited); None when they must not be sent
    verdict: Verdict  # the last verdict
    feedback: str | None = None  # for the model when denied

    @property
    def allowed(self) -> bool:
        return self.send is not None


class Gate:
    def __init__(self, policy: Policy, approver: Approver, events: PolicyListener) -> None:
        self.base = policy
        self.approver = approver
        self.events = events
        self.session = SessionRules()
        self.policy = policy
        self.defined: frozenset[str] = frozenset()

    def review(self, keystrokes: str, state: TerminalState) -> Outcome:
        outcome = self._review(keystrokes, dataclasses.replace(state, defined=state.defined | self.defined))
        if outcome.allowed:
            self.defined |= frozenset(outcome.verdict.defines)
        return outcome

    def _review(self, keystrokes: str, state: TerminalState) -> Outcome:
        current = keystrokes
        for _ in range(MAX_EDITS + 1):
            verdict = self.policy.judge(current, state)
            self.events(
                PolicyDecided(
                    current,
                    str(verdict.decision),
                    verdict.rule,
                    verdict.reason,
                    verdict.commands,
                    state.foreground,
                )
            )
            if verdict.decision is Decision.ALLOW:
                return Outcome(current, verdict)
            if verdict.decision is Decision.DENY:
                return Outcome(None, verdict, f"denied by policy rule {verdict.rule}: {verdict.reason}")
            rules = prefix_rules(verdict, reason=f"allowed by the person during a session of policy {self.base.name}")
            request = ApprovalRequest(
                current, verdict, state, can_remember=rules is not None, policy_file=str(user_policy_path())
            )
            self.events(ApprovalAsked(current, verdict.rule, verdict.reason, state.foreground, request.can_remember))
            reply = self.approver.ask(request)
            added: list[str] = []
            note = None
            if reply.answer in (Answer.ALLOW_SESSION, Answer.ALLOW_ALWAYS):
                if rules is None:
                    note = "no prefix rule can express this approval; it counts once"
                else:
                    added = self.session.add(rules)
                    self.policy = self.base.with_rules(tuple(self.session.rules))
                    if reply.answer is Answer.ALLOW_ALWAYS:
                        remember(user_policy_path(), rules, self.base.source)
            self.events(
                ApprovalAnswered(
                    keystrokes=current,
                    answer=reply.answer.value,
                    approver=self.approver.name,
                    message=reply.message,
                    edited=reply.keystrokes,
                    rules_added=tuple(added),
                    note=note,
                )
            )
            if reply.answer is Answer.EDIT:
                current = reply.keystrokes or ""
                continue
            if reply.answer in (Answer.DENY, Answer.DENY_WITH_MESSAGE):
                feedback = f"not approved by {self.approver.name} (rule {verdict.rule}: {verdict.reason})"
                if reply.message:
                    feedback += f"; message: {reply.message}"
                return Outcome(None, verdict, feedback)
            return Outcome(current, verdict)
        return Outcome(None, verdict, f"denied: edited more than {MAX_EDITS} times without a decision")
