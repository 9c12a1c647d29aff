"""The agent: one loop joining the model, the policy and the sandbox, reporting through events
that the TUI, the headless printer and the trajectory writer all consume."""
