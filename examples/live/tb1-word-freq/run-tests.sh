#!/bin/bash
# Terminal-Bench runs this with TEST_DIR set to where tests/ was copied.
python3 "$TEST_DIR/test_outputs.py"
