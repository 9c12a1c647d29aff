"""The person's approver for the TUI. The agent calls `ask` from its worker thread; the dialog
is opened on the app's thread and the agent's thread waits for the answer. Whatever ends the
wait early (the app closing, a stop) answers DENY: an unanswered request never runs."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable

from termagent.policy.approval import Answer, ApprovalRequest, Reply

# Opens the dialog on the app's thread; the callback receives the person's reply.
OpenDialog = Callable[[ApprovalRequest, Callable[[Reply], None]], None]


class TuiApprover:
    name = "person"

    def __init__(self, open_dialog: OpenDialog) -> None:
        self._open_dialog = open_dialog
        self._lock = threading.Lock()
        self._waiting: list[queue.Queue[Reply]] = []
        self._closed = False

    def ask(self, request: ApprovalRequest) -> Reply:
        answers: queue.Queue[Reply] = queue.Queue(maxsize=1)
        with self._lock:
            if self._closed:
                return Reply(Answer.DENY)
            self._waiting.append(answers)
        try:
            self._open_dialog(request, lambda reply: _offer(answers, reply))
            return answers.get()
        except RuntimeError:  # the app is no longer running
            return Reply(Answer.DENY)
        finally:
            with self._lock:
                self._waiting.remove(answers)

    def deny_pending(self) -> None:
        """Answer DENY to the request being waited on, if any (stop)."""
        with self._lock:
            for answers in self._waiting:
                _offer(answers, Reply(Answer.DENY))

    def close(self) -> None:
        """No more questions: the pending one and every later one are denied."""
        with self._lock:
            self._closed = True
        self.deny_pending()


def _offer(answers: queue.Queue[Reply], reply: Reply) -> None:
    with contextlib.suppress(queue.Full):  # already answered (e.g. the dialog and a stop raced): the first wins
        answers.put_nowait(reply)
