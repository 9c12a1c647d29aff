"""Views over the agent's event stream (the Textual TUI lives in termagent/tui)."""
