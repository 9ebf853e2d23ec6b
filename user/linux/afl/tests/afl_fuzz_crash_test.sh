#!/usr/bin/env bash
# Debian's afl-fuzz -Q through ember finds the planted bugs within a bounded time: the abort() behind a
# 4-byte compare with CMPLOG (-c 0), and the one behind four byte compares in persistent mode with
# snapshots, and with a persistent hook fed from shared memory. Each afl-fuzz stops at its first crash (AFL_BENCH_UNTIL_CRASH) or after -V seconds.
source "$(dirname "$0")/afl-test-lib.sh"
cd "$work"
mkdir -p seeds && printf 'AAAA' > seeds/a
export AFL_BENCH_UNTIL_CRASH=1

crashes() {   # the crash files afl-fuzz saved in $1
    find "$1/default/crashes" -name 'id:*' 2>/dev/null | wc -l
}

start=$SECONDS
timeout 120 afl-fuzz -Q -c 0 -V 90 -i seeds -o out-cmplog -- "$tests/target-magic" @@ >cmplog.log 2>&1
n=$(crashes out-cmplog)
((n >= 1)) && pass "CMPLOG found the crash in $((SECONDS - start)) s" || { fail "CMPLOG: no crash"; tail -30 cmplog.log; }
for f in out-cmplog/default/crashes/id:*; do
    [[ -f "$f" ]] || continue
    expect_eq "the crash input starts with EMBR" EMBR "$(head -c 4 "$f")"
    break
done
expect_grep "the cmplog fork server started" "Cmplog forkserver successfully started" cmplog.log

addr=0x$(nm "$tests/target-persist" | awk '/ fuzz_one$/{print $1}')
start=$SECONDS
AFL_QEMU_PERSISTENT_ADDR=$addr AFL_QEMU_SNAPSHOT=$addr \
    timeout 120 afl-fuzz -Q -c 0 -V 90 -i seeds -o out-persist -- "$tests/target-persist" @@ >persist.log 2>&1
n=$(crashes out-persist)
((n >= 1)) && pass "persistent mode found the crash in $((SECONDS - start)) s" || { fail "persistent: no crash"; tail -30 persist.log; }
# ember asked for the test cases in shared memory and wrote them into the @@ file itself (afl-testcase.c).
expect_grep "persistent @@: test cases in shared memory" "SHARED MEMORY FUZZING" persist.log
for f in out-persist/default/crashes/id:*; do
    [[ -f "$f" ]] || continue
    expect_eq "the persistent crash input starts with PERS" PERS "$(head -c 4 "$f")"
    break
done
grep -E "execs_per_sec|stability" out-persist/default/fuzzer_stats

# AFL_QEMU_PERSISTENT_HOOK: test cases in shared memory, put into fuzz_buf's arguments by hook-persist.so.
addr=0x$(nm "$tests/target-persist" | awk '/ fuzz_buf$/{print $1}')
start=$SECONDS
AFL_QEMU_PERSISTENT_ADDR=$addr AFL_QEMU_PERSISTENT_GPR=1 AFL_QEMU_PERSISTENT_HOOK="$tests/hook-persist.so" \
    timeout 120 afl-fuzz -Q -c 0 -V 90 -i seeds -o out-hook -- "$tests/target-persist" >hook.log 2>&1
expect_grep "afl-fuzz hands test cases over in shared memory" "SHARED MEMORY FUZZING" hook.log
n=$(crashes out-hook)
((n >= 1)) && pass "persistent hook found the crash in $((SECONDS - start)) s" || { fail "hook: no crash"; tail -30 hook.log; }
for f in out-hook/default/crashes/id:*; do
    [[ -f "$f" ]] || continue
    expect_eq "the hook's crash input starts with BUF!" 'BUF!' "$(head -c 4 "$f")"
    break
done
grep -E "execs_per_sec|stability" out-hook/default/fuzzer_stats

finish
