#!/bin/sh
# Bazel's sh_test runs this; the test itself is Python (Debian's python3).
exec python3 "$@"
