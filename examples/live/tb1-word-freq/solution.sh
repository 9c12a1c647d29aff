#!/bin/bash
tr -s ' ' '\n' < /app/poem.txt | sort | uniq -c | sort -k1,1nr -k2 | head -n 3 \
  | awk '{ print $2, $1 }' > /app/top3.txt
cat /app/top3.txt
