"""Model replies for replayed agent runs."""


def action(commands=(), complete=False, analysis="looking at the screen", plan="next step") -> dict:
    return {
        "analysis": analysis,
        "plan": plan,
        "task_complete": complete,
        "commands": [{"keystrokes": k, "duration": d} for k, d in commands],
    }
