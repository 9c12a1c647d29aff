#!/bin/bash
mkdir -p /app/project && cd /app/project
git init -q
echo "# project" > README.md
git add README.md
git -c user.name="Eval Bot" -c user.email=bot@example.com commit -q -m "Add README"
git tag v1.0
git log --oneline --decorate
