# Shared set-up of the AFL tests (sourced): paths, an AFL_PATH folder whose afl-qemu-trace is ember-x86_64,
# the environment afl-fuzz needs on a test machine, and small assertion helpers.
set -u
here="${TEST_SRCDIR:-$PWD}/${TEST_WORKSPACE:-ember}"
ember="$here/user/linux/ember-x86_64"
tests="$here/user/linux/afl/tests"
driver="$tests/fs-driver"
work="${TEST_TMPDIR:-$(mktemp -d)}"
failures=0

if ! command -v afl-fuzz >/dev/null; then
    echo "FAIL: afl-fuzz is not installed (Debian's afl++: ./ember setup)"
    exit 1
fi

mkdir -p "$work/afl-path"
ln -sfn "$ember" "$work/afl-path/afl-qemu-trace"
export AFL_PATH="$work/afl-path"
export AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1
export LD_BIND_NOW=1   # as afl-fuzz sets it for its targets
export AFL_ALLOW_TMP=1  # Bazel's test folders are under /tmp, which afl-cmin refuses otherwise

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

pass() {
    echo "ok: $*"
}

expect_eq() {   # what, expected, actual
    if [[ -n "$3" && "$2" == "$3" ]]; then pass "$1"; else fail "$1: expected '$2', got '$3'"; fi
}

expect_grep() {   # what, pattern, file
    if grep -aq -- "$2" "$3"; then pass "$1"; else fail "$1: no '$2' in $3:"; tail -20 "$3"; fi
}

finish() {
    if ((failures)); then
        echo "$failures failure(s)"
        exit 1
    fi
    echo "all passed"
}
