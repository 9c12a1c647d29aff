#!/bin/bash
# Terminal-Bench 2 (Harbor) layout: the verdict is the reward file, 1 = pass.
cd /app/project || { echo 0 > /logs/verifier/reward.txt; exit 0; }
if [ "$(git log -1 --format='%an <%ae>' v1.0)" = "Eval Bot <bot@example.com>" ] \
   && git ls-tree --name-only v1.0 | grep -qx README.md; then
  echo 1 > /logs/verifier/reward.txt
else
  echo 0 > /logs/verifier/reward.txt
fi
