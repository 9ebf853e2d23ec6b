#!/bin/bash
# compare.sh: run one guest program natively and under ember-x86_64 and compare what a user sees.
#
# Usage: compare.sh [OPTIONS] -- EMBER PROGRAM [ARGS...]
#   --stderr           also compare standard error (default: stdout and exit status only)
#   --stdin FILE       feed FILE to the guest's standard input (default: /dev/null)
#   --expect-status N  the native run must end with status N (128+SIG when killed by signal SIG);
#                      this checks the test itself, the ember run must then match it
#   --timeout SECS     per-run limit (default 120); a run that exceeds it fails as a hang
#   --ember-opt OPT    pass OPT to ember before PROGRAM (repeatable), e.g. --ember-opt -backend
#
# ember runs the program three times: without kept translations (-tbcache off: two tiers, cold blocks
# then optimized ones), then keeping them (-tbcache in $TEST_TMPDIR/compare/tbcache: one optimized tier),
# then with the ones the second run kept. All three must agree with the native run.
#
# All runs get the same argv (PROGRAM as an absolute path, then ARGS), the same environment (env -i
# plus the fixed variables below), the same stdin, and the same freshly created, empty working
# directory ($TEST_TMPDIR/run, removed and recreated between the runs, so paths printed by the guest
# agree). Core dumps are disabled so a guest killed by a signal ends quickly with status 128+SIG.
# Nothing in the output is normalized: guests print only what is deterministic.
set -u

compare_stderr=0
stdin=/dev/null
expect_status=
limit=120
ember_opts=()
while [ $# -gt 0 ]; do
    case $1 in
    --stderr) compare_stderr=1; shift ;;
    --stdin) stdin=$2; shift 2 ;;
    --expect-status) expect_status=$2; shift 2 ;;
    --timeout) limit=$2; shift 2 ;;
    --ember-opt) ember_opts+=("$2"); shift 2 ;;
    --) shift; break ;;
    *) echo "compare.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
if [ $# -lt 2 ]; then
    echo "usage: compare.sh [OPTIONS] -- EMBER PROGRAM [ARGS...]" >&2
    exit 2
fi

abspath() {
    case $1 in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s/%s\n' "$PWD" "$1" ;;
    esac
}
ember=$(abspath "$1")
prog=$(abspath "$2")
stdin=$(abspath "$stdin")
shift 2
args=("$@")

work=${TEST_TMPDIR:-$(mktemp -d)}/compare
rm -rf "$work"
mkdir -p "$work"
run=$work/run

umask 022
guest_env=(PATH=/usr/bin:/bin HOME="$run" TMPDIR="$run" LC_ALL=C TZ=UTC0 EMBER_TESTSUITE=1)

# run_one LABEL [PREFIX...]: runs PREFIX PROGRAM ARGS in a fresh $run, saves LABEL.{out,err,status}.
run_one() {
    local label=$1
    shift
    rm -rf "$run"
    mkdir "$run"
    (
        cd "$run" || exit 99
        ulimit -c 0
        exec timeout -k 5 "$limit" env -i "${guest_env[@]}" "$@" "$prog" "${args[@]}" \
            <"$stdin" >"$work/$label.out" 2>"$work/$label.err"
    )
    echo $? >"$work/$label.status"
}

describe() {
    local s=$1
    if [ "$s" -eq 124 ]; then
        echo "$s (timed out after ${limit}s: a hang)"
    elif [ "$s" -gt 128 ]; then
        echo "$s (killed by signal $((s - 128)): $(kill -l $((s - 128)) 2>/dev/null))"
    else
        echo "$s (exit)"
    fi
}

run_one native
run_one ember "$ember" -tbcache off "${ember_opts[@]}"
run_one ember-keep "$ember" -tbcache "$work/tbcache" "${ember_opts[@]}"
run_one ember-warm "$ember" -tbcache "$work/tbcache" "${ember_opts[@]}"
ns=$(cat "$work/native.status")
es=$(cat "$work/ember.status")

fail=0
echo "program: $prog ${args[*]}"
[ ${#ember_opts[@]} -gt 0 ] && echo "ember options: ${ember_opts[*]}"
echo "native status: $(describe "$ns")"
echo "ember  status: $(describe "$es")"
if [ -n "$expect_status" ] && [ "$ns" != "$expect_status" ]; then
    echo "FAIL: the native run ended with $ns, the test expects $expect_status (the test is wrong)"
    echo "--- native stderr:"
    head -50 "$work/native.err"
    exit 1
fi
# check LABEL WHAT: the ember run LABEL against the native one.
check() {
    local label=$1 what=$2 status
    status=$(cat "$work/$label.status")
    if [ "$ns" != "$status" ]; then
        echo "FAIL: exit status differs ($what: $(describe "$status"))"
        fail=1
    fi
    if ! cmp -s "$work/native.out" "$work/$label.out"; then
        echo "FAIL: stdout differs ($what; - native, + ember):"
        diff -u "$work/native.out" "$work/$label.out" | head -200
        fail=1
    fi
    if [ "$compare_stderr" = 1 ] && ! cmp -s "$work/native.err" "$work/$label.err"; then
        echo "FAIL: stderr differs ($what; - native, + ember):"
        diff -u "$work/native.err" "$work/$label.err" | head -100
        fail=1
    fi
    if [ "$fail" = 1 ]; then
        echo "--- ember stderr ($what, last 40 lines):"
        tail -40 "$work/$label.err"
        exit 1
    fi
}
check ember "without kept translations"
check ember-keep "keeping its translations"
check ember-warm "with the translations the run before kept"
echo "PASS: $(wc -l <"$work/native.out") lines of stdout agree (three ember runs)"
exit 0
