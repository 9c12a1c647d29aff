"""Connect the person's own terminal to a sandbox shell (for `termagent sandbox shell`)."""

from __future__ import annotations

import os
import select
import signal
import sys
import termios
import tty

from termagent.sandbox.session import ShellSession


def bridge(session: ShellSession) -> None:
    """Copy keys to the shell and its output back, raw, until the shell exits."""
    stdin, stdout = sys.stdin.fileno(), sys.stdout.fileno()
    shell_fd = session.fileno()

    def follow_window_size(*_):
        # The terminal itself, not $COLUMNS/$LINES (which shutil prefers and which go stale).
        size = os.get_terminal_size(stdout)
        session.resize(size.columns, size.lines)

    follow_window_size()
    previous_handler = signal.signal(signal.SIGWINCH, follow_window_size)
    saved = termios.tcgetattr(stdin)
    tty.setraw(stdin)
    try:
        while True:
            readable, _, _ = select.select([stdin, shell_fd], [], [])
            if shell_fd in readable:
                data = os.read(shell_fd, 65536)
                if not data:
                    return
                os.write(stdout, data)
            if stdin in readable:
                data = os.read(stdin, 4096)
                if not data:
                    return
                os.write(shell_fd, data)
    except OSError:
        return
    finally:
        termios.tcsetattr(stdin, termios.TCSADRAIN, saved)
        signal.signal(signal.SIGWINCH, previous_handler)
