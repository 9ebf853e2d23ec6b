#!/usr/bin/env bash
# CMPLOG of comparison routines: Debian's afl-fuzz -Q -c 0 through ember finds the abort() behind
# strcmp(input, "magic-string-here") and the one behind memcmp(input, "EMBER-MEMCMP-KEY-0123", 21), within a
# bounded time (seconds usually; each afl-fuzz stops at its first crash, or after -V 90 s). Neither compare
# is visible to instruction CMPLOG (it happens inside libc), so without the routine entries these time out.
source "$(dirname "$0")/afl-test-lib.sh"
cd "$work"
mkdir -p seeds && printf 'AAAA' > seeds/a
export AFL_BENCH_UNTIL_CRASH=1

for routine in strcmp memcmp; do
    start=$SECONDS
    timeout 120 afl-fuzz -Q -c 0 -V 90 -i seeds -o "out-$routine" -- "$tests/target-rtn" @@ "$routine" \
        >"$routine.log" 2>&1
    crash=$(find "out-$routine/default/crashes" -name 'id:*' 2>/dev/null | head -1)
    if [[ -n $crash ]]; then
        pass "$routine: afl-fuzz found the crash in $((SECONDS - start)) s"
    else
        fail "$routine: no crash in $((SECONDS - start)) s"
        tail -30 "$routine.log"
        continue
    fi
    case $routine in
    strcmp) expect_eq "the strcmp crash input is the magic string" magic-string-here "$(head -c 17 "$crash")" ;;
    memcmp) expect_eq "the memcmp crash input starts with the key" EMBER-MEMCMP-KEY-0123 "$(head -c 21 "$crash")" ;;
    esac
done

# The routines are found at the program's PLT: AFL_DEBUG says how many stubs are logged (strcmp, memcmp).
shm=$(ipcmk -M 67633152 | awk '{print $NF}')   # sizeof the 4.04c cmplog map
AFL_DEBUG=1 __AFL_CMPLOG_SHM_ID=$shm "$ember" "$tests/target-rtn" /dev/null strcmp >debug.log 2>&1 || true
ipcrm -m "$shm"
expect_grep "the strcmp and memcmp stubs are found" "2 comparison routine stub" debug.log
finish
