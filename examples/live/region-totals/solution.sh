#!/bin/bash
# Sum the third column per region, skipping the header.
cd /app
tail -n +2 sales.csv \
  | awk -F, '{ total[$1] += $3 } END { for (r in total) print r, total[r] }' \
  | sort > totals.txt
cat totals.txt
