#!/usr/bin/env bash
# Debian's unmodified afl-showmap, afl-cmin, afl-tmin and afl-fuzz with -Q, finding ember-x86_64 as
# $AFL_PATH/afl-qemu-trace: stable maps, crashes and hangs reported as such, and targets ember cannot
# instrument or run refused with afl-fuzz's own messages.
source "$(dirname "$0")/afl-test-lib.sh"
cd "$work"
printf 'AAAA' > in-ok
printf 'EMBR' > in-crash
printf 'H' > in-hang
printf 'C' > in-segv
printf 'x' > in-x
mkdir -p seeds && printf 'AAAA' > seeds/a && printf 'BBBB' > seeds/b && printf 'AAAA' > seeds/a2

# --- afl-showmap: the same input twice gives the same map -------------------------------------------
afl-showmap -Q -q -o map1 -- "$tests/target-magic" in-ok
afl-showmap -Q -q -o map2 -- "$tests/target-magic" in-ok
[[ -s map1 ]] && pass "afl-showmap wrote a map ($(wc -l <map1) tuples)" || fail "afl-showmap: empty map"
cmp -s map1 map2 && pass "afl-showmap: same map twice" || fail "afl-showmap: maps differ"
EMBER_BACKEND=interp afl-showmap -Q -q -o map3 -- "$tests/target-magic" in-ok
cmp -s map1 map3 && pass "afl-showmap: the interpreter gives the same map" || fail "interp map differs"

# --- crashes and hangs ------------------------------------------------------------------------------
afl-showmap -Q -o map4 -- "$tests/target-magic" in-crash >showmap-crash.log 2>&1
expect_eq "afl-showmap exit status on a crash" 2 $?
expect_grep "afl-showmap sees SIGABRT" "killed by signal 6" showmap-crash.log
afl-showmap -Q -o map5 -- "$tests/target-hang" in-segv >showmap-segv.log 2>&1
expect_grep "afl-showmap sees SIGSEGV" "killed by signal 11" showmap-segv.log
afl-showmap -Q -t 300 -o map6 -- "$tests/target-hang" in-hang >showmap-hang.log 2>&1
expect_grep "afl-showmap sees the hang" "timed off" showmap-hang.log
afl-showmap -Q -o map7 -- "$tests/target-hang" in-x >showmap-ok.log 2>&1
expect_eq "afl-showmap exit status on a clean run" 0 $?

# --- afl-cmin and afl-tmin --------------------------------------------------------------------------
afl-cmin -Q -i seeds -o cmin-out -- "$tests/target-magic" @@ >cmin.log 2>&1
expect_eq "afl-cmin keeps one input per distinct path" 2 "$(find cmin-out -type f | wc -l)"
printf 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' > long
afl-tmin -Q -i long -o tmin-out -- "$tests/target-magic" @@ >tmin.log 2>&1
size=$(stat -c %s tmin-out 2>/dev/null || echo 99)
((size <= 4)) && pass "afl-tmin shrank 48 bytes to $size" || fail "afl-tmin: $size bytes"; tail -3 tmin.log

# --- afl-fuzz: a crashing seed, a hanging seed, targets ember cannot instrument or run ---------------
fuzz() {   # log, then afl-fuzz's arguments after -o
    local log=$1; shift
    rm -rf fuzz-out
    timeout 60 afl-fuzz -Q -V 5 -o fuzz-out "$@" >"$log" 2>&1
}
mkdir -p seed-crash seed-hang seed-ok && cp in-crash seed-crash/ && cp in-hang seed-hang/ && cp in-x seed-ok/
fuzz fuzz-crash.log -i seed-crash -- "$tests/target-magic" @@
expect_grep "afl-fuzz: a crashing seed" "crash" fuzz-crash.log
expect_grep "afl-fuzz: the crashing seed stops the dry run" "PROGRAM ABORT" fuzz-crash.log
fuzz fuzz-hang.log -t 200 -i seed-hang -- "$tests/target-hang" @@
expect_grep "afl-fuzz: a hanging seed times out" "timeout" fuzz-hang.log
cp "$tests/target-magic" arm-elf && chmod u+w arm-elf
printf '\xb7\x00' | dd of=arm-elf bs=1 seek=18 conv=notrunc 2>/dev/null   # e_machine = EM_AARCH64
fuzz fuzz-arm.log -i seed-ok -- ./arm-elf @@
expect_grep "afl-fuzz: an ELF ember cannot run fails the handshake" "handshake failed" fuzz-arm.log
AFL_QEMU_INST_RANGES=0x1000-0x2000 fuzz fuzz-noinst.log -i seed-ok -- "$tests/target-magic" @@
expect_grep "afl-fuzz: nothing instrumented" "No instrumentation detected" fuzz-noinst.log
fuzz fuzz-ok.log -i seed-ok -- "$tests/target-hang" @@
expect_eq "afl-fuzz: a healthy target runs to the time limit" 0 $?
expect_grep "afl-fuzz: stability 100%" "stability *: 100.00%" fuzz-out/default/fuzzer_stats

finish
