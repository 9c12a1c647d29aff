"""The terminal user interface (`termagent "TASK"` in a terminal): a view over the agent's events."""
