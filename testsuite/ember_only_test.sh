#!/bin/bash
# ember_only_test.sh: run a self-checking guest program under ember-x86_64 only, for behaviour the host
# cannot be the oracle for (e.g. #UD for extensions ember does not advertise but the host implements).
#
# Usage: ember_only_test.sh EMBER PROGRAM [EMBER_OPTION...] -- [ARGS...]
# The program must exit 0 and print PASS as its last line; its output is shown either way.
set -u
if [ $# -lt 2 ]; then
    echo "usage: ember_only_test.sh EMBER PROGRAM [EMBER_OPTION...] -- [ARGS...]" >&2
    exit 2
fi
ember=$1
prog=$2
shift 2
opts=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    opts+=("$1")
    shift
done
[ $# -gt 0 ] && shift
out=$(timeout -k 5 60 env -i PATH=/usr/bin:/bin LC_ALL=C "$ember" "${opts[@]}" "$prog" "$@" 2>&1 </dev/null)
status=$?
echo "ember ${opts[*]} $prog $*"
echo "$out"
echo "exit status: $status"
if [ "$status" -ne 0 ] || [ "$(printf '%s\n' "$out" | tail -1)" != "PASS" ]; then
    echo "FAIL"
    exit 1
fi
exit 0
