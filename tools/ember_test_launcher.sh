#!/bin/bash
# The launcher of ember_x86_64_test (defs.bzl): run an x86-64 program under ember-x86_64 with the test's
# arguments. exec keeps the exit status, stdout/stderr and the test environment (TEST_TMPDIR,
# TEST_UNDECLARED_OUTPUTS_DIR, XML_OUTPUT_FILE, the target's env) exactly as a native test would see them.
#
#   ember_test_launcher.sh EMBER PROGRAM NUMBER-OF-EMBER-OPTIONS [EMBER-OPTION...] [ARG...]
set -u
ember=$1 prog=$2 nopts=$3
shift 3
opts=("${@:1:$nopts}")
shift "$nopts"
# Runfiles paths are relative to the test's working directory; make them absolute so that a program that
# changes directory before it execs itself again still finds itself.
case $ember in /*) ;; *) ember=$PWD/$ember ;; esac
case $prog in /*) ;; *) prog=$PWD/$prog ;; esac
exec "$ember" "${opts[@]}" "$prog" "$@"
