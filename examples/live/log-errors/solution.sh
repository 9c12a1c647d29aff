#!/bin/bash
cd /app
if [ ! -f app.log ]; then
  echo "app.log is missing" >&2
else
  grep ' ERROR ' app.log | cut -d' ' -f4- | sort | uniq -c | sort -rn \
    | while read -r count message; do
        echo "$count $message"
      done > errors.txt
fi
cat errors.txt
