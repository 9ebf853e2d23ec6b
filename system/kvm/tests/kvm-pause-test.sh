#!/bin/sh
# Bazel runs this; the test is Python (Debian's python3).
exec python3 "$@"
