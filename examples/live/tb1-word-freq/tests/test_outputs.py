"""The expected top three words of /app/poem.txt (ties broken alphabetically)."""
from pathlib import Path

lines = Path("/app/top3.txt").read_text().splitlines()
assert lines == ["the 4", "on 2", "sat 2"], lines
print("ok")
