"""The policy: judges every keystroke string the model proposes before it reaches the sandbox."""

from termagent.policy.decision import Decision, Verdict
from termagent.policy.engine import Policy
from termagent.policy.loader import load_policy
from termagent.policy.state import TerminalState

__all__ = ["Decision", "Policy", "TerminalState", "Verdict", "load_policy"]
