#!/usr/bin/env bash
# The fork server as afl-fuzz speaks it, driven by fs-driver (a minimal afl-fuzz): the hello, per-run
# statuses, identical maps run after run and on both backends, the instrumented ranges, the map size,
# warm children, persistent mode and snapshots.
source "$(dirname "$0")/afl-test-lib.sh"
cd "$work"
printf 'AAAA' > in-ok
printf 'EMBR' > in-crash
printf 'PERS' > in-pcrash

run() {   # runs, then the command; output in $out
    out=$("$driver" "$@" 2>&1)
}
field() {   # the value after word $1 on run line $2 of $out
    grep -a "^run $2 " <<<"$out" | sed -E "s/.* $1 ([^ ]+).*/\1/"
}

# --- hello and plain runs -------------------------------------------------------------------------
run 1 65536 -- env AFL_MAP_SIZE=65536 "$ember" "$tests/target-magic" in-ok
# FS_OPT_ENABLED | FS_OPT_MAPSIZE | FS_OPT_SET_MAPSIZE(65536) | FS_OPT_NEWCMPLOG
expect_eq "hello announces map size 65536 and new cmplog" "hello 0xc201ffff" "$(head -1 <<<"$out")"
# Without AFL_MAP_SIZE the map is sized to the program's code: two entries per byte, a power of two from
# 4 KiB to 64 KiB, and every edge lands inside it.
run 3 65536 -- "$ember" "$tests/target-magic" in-ok
hello=$(head -1 <<<"$out" | awk '{print $2}')
size=$(( ((hello >> 1) & 0x7fffff) + 1 ))
# The program's code range as the kernel's start_code/end_code: the lowest segment to the executable's end.
lo=-1 hi=0
while read -r _ _ vaddr _ filesz _ flags; do
    ((lo < 0 || vaddr < lo)) && lo=$((vaddr))
    [[ $flags == *E* ]] && ((vaddr + filesz > hi)) && hi=$((vaddr + filesz))
done < <(readelf -lW "$tests/target-magic" | awk '$1 == "LOAD" {print $1, $2, $3, $4, $5, $6, $7 $8}')
code=$((hi - lo))
want=4096
while ((want < 65536 && want < 2 * code)); do want=$((want * 2)); done
expect_eq "the hello's map size fits the code ($((code)) bytes)" "$want" "$size"
big=$(sed -n 3p <<<"$out" | tr ' ' '\n' | awk -F: -v s="$size" '$1 >= s' | wc -l)
expect_eq "no index beyond the announced map" 0 "$big"
expect_eq "run 0 exits 0" 0x0 "$(field status 0)"
expect_eq "run 2 exits 0" 0x0 "$(field status 2)"
h0=$(field hash 0)
expect_eq "same map on run 1" "$h0" "$(field hash 1)"
expect_eq "same map on run 2" "$h0" "$(field hash 2)"
edges=$(field edges 0)
((edges >= 10)) && pass "coverage recorded ($edges edges)" || fail "only $edges edges"

# --- exit statuses as the program gives them, also from a threaded program (its coverage complete) --------
run 4 65536 -- "$ember" "$tests/target-thread" in-ok
expect_eq "threaded target: exit status 3" 0x300 "$(field status 0)"
expect_eq "threaded target: exit status 3 again" 0x300 "$(field status 3)"
t0=$(field hash 0)
for i in 1 2 3; do expect_eq "threaded target: same map on run $i" "$t0" "$(field hash $i)"; done
printf 'abc' > in-lower
run 2 65536 -- "$ember" "$tests/target-thread" in-lower
expect_eq "threaded target: exit status 0" 0x0 "$(field status 1)"

# --- the other backend gives the very same map ------------------------------------------------------
for backend in interp jit; do
    run 1 65536 -- "$ember" -backend "$backend" "$tests/target-magic" in-ok
    expect_eq "backend $backend: same map" "$h0" "$(field hash 0)"
done

# --- a crash is the child's signal ------------------------------------------------------------------
run 2 65536 -- "$ember" "$tests/target-magic" in-crash
st=$(field status 0)
expect_eq "crash reported as SIGABRT" 6 $((st & 0x7f))
expect_eq "the server survives a crash" "$(field status 0)" "$(field status 1)"

# --- ranges and map size ----------------------------------------------------------------------------
run 1 65536 -- env AFL_INST_LIBS=1 "$ember" "$tests/target-magic" in-ok
libs=$(field edges 0)
((libs > edges * 5)) && pass "AFL_INST_LIBS adds the libraries ($libs edges)" || fail "AFL_INST_LIBS: $libs edges"
run 1 65536 -- env AFL_QEMU_INST_RANGES=0x1000-0x2000 "$ember" "$tests/target-magic" in-ok
expect_eq "AFL_QEMU_INST_RANGES outside the code: no coverage" 0 "$(field edges 0)"
run 1 65536 -- env AFL_QEMU_INST_RANGES=libc.so.6 "$ember" "$tests/target-magic" in-ok
libc=$(field edges 0)
((libc > edges)) && pass "AFL_QEMU_INST_RANGES by module name ($libc edges)" || fail "by name: $libc edges"
run 1 4096 -- env AFL_MAP_SIZE=4096 "$ember" "$tests/target-magic" in-ok
expect_eq "AFL_MAP_SIZE=4096 in the hello" "hello 0xc2001fff" "$(head -1 <<<"$out")"
big=$(sed -n 3p <<<"$out" | tr ' ' '\n' | awk -F: '$1 >= 4096' | wc -l)
expect_eq "no index beyond the map" 0 "$big"

# --- children start warm: a block the first child translated is not translated again ---------------
check=$(nm "$tests/target-magic" | awk '/ check$/{print $1}')
run 5 65536 -- env EMBER_LOG=in_asm EMBER_LOG_FILENAME="$work/in_asm.log" "$ember" "$tests/target-magic" in-ok
# The first child and then the server translate check(); the four later children find it cached.
n=0
for base in 0x555555554000 0x100000000000; do   # where ember puts a PIE (user/linux/elf-load.h)
    at=$(printf '0x%016x:' $((base + 0x$check)))
    n=$((n + $(grep -a -A1 '^IN:' in_asm.log | grep -c "^$at" || true)))
done
((n >= 1 && n <= 2)) && pass "check() translated $n times in 5 runs" || fail "check() translated $n times in 5 runs"

# --- persistent mode --------------------------------------------------------------------------------
addr=0x$(nm "$tests/target-persist" | awk '/ fuzz_one$/{print $1}')
run 4 65536 -- env AFL_QEMU_PERSISTENT_ADDR="$addr" AFL_QEMU_PERSISTENT_GPR=1 AFL_QEMU_PERSISTENT_CNT=3 \
    "$ember" "$tests/target-persist" in-ok
expect_eq "persistent run 0 stops (SIGSTOP)" 0x137f "$(field status 0)"
expect_eq "persistent run 1 stops" 0x137f "$(field status 1)"
expect_eq "persistent run 2 (the CNT-th) exits" 0x0 "$(field status 2)"
expect_eq "persistent run 3 is a new child that stops" 0x137f "$(field status 3)"
p0=$(field hash 0)
for i in 1 2 3; do expect_eq "persistent run $i: same map" "$p0" "$(field hash $i)"; done
# Later children start warm in persistent mode too: the return site is hooked once in the fork server, not
# again (with its whole code page) in each child, whose blocks the server then translated all over again.
run 9 65536 -- env AFL_DEBUG=1 AFL_QEMU_PERSISTENT_ADDR="$addr" AFL_QEMU_PERSISTENT_GPR=1 AFL_QEMU_PERSISTENT_CNT=3 \
    "$ember" "$tests/target-persist" in-ok
drains=$(grep -a "AFL: from the child:" <<<"$out" | sed -E 's/.* ([0-9]+) blocks translated.*/\1/' | tr '\n' ' ')
[[ $drains =~ ^[1-9][0-9]*\ (0\ )*$ ]] && pass "persistent: children 2 and 3 translate nothing new ($drains)" ||
    fail "persistent: blocks translated per child: $drains"
# An explicit return site: the instruction after main's call of fuzz_one.
ret=0x$(objdump -d --no-show-raw-insn "$tests/target-persist" | awk '/<main>:/,/^$/' |
        grep -A1 'call.*<fuzz_one>' | tail -1 | awk '{print $1}' | tr -d :)
run 3 65536 -- env AFL_QEMU_PERSISTENT_ADDR="$addr" AFL_QEMU_PERSISTENT_RET="$ret" AFL_QEMU_PERSISTENT_GPR=1 \
    AFL_QEMU_PERSISTENT_CNT=2 "$ember" "$tests/target-persist" in-ok
expect_eq "AFL_QEMU_PERSISTENT_RET=$ret: run 0 stops" 0x137f "$(field status 0)"
expect_eq "AFL_QEMU_PERSISTENT_RET: run 1 (the CNT-th) exits" 0x0 "$(field status 1)"
expect_eq "AFL_QEMU_PERSISTENT_RET: same map" "$(field hash 0)" "$(field hash 2)"
run 2 65536 -- env AFL_QEMU_PERSISTENT_ADDR="$addr" AFL_QEMU_PERSISTENT_GPR=1 "$ember" "$tests/target-persist" in-pcrash
expect_eq "persistent crash reported as SIGABRT" 6 $(($(field status 0) & 0x7f))
# The persistent child answers afl-fuzz itself between runs; the server speaks again when it dies: a hang
# killed at the timeout, a crash, an exit inside the run, a kill between runs. Forks and threads in a run
# keep the child.
for w in OKAY HANG PERS EXIT FORK THRD; do printf '%s' "$w" > "in-$w"; done
inputs=in-OKAY:in-OKAY:in-HANG:in-OKAY:in-OKAY:in-PERS:in-OKAY:in-EXIT:in-OKAY:in-FORK:in-THRD:in-OKAY:in-OKAY:in-OKAY
eaddr=0x$(nm "$tests/target-persist-edges" | awk '/ fuzz_one$/{print $1}')
FS_DRIVER_CUR="$work/cur" FS_DRIVER_INPUTS="$inputs" FS_DRIVER_TIMEOUT_MS=1500 FS_DRIVER_KILL_AFTER=12 \
    run 14 65536 -- env AFL_QEMU_PERSISTENT_ADDR="$eaddr" AFL_QEMU_PERSISTENT_GPR=1 \
    "$ember" "$tests/target-persist-edges" "$work/cur"
want=(0x137f 0x137f 0x9 0x137f 0x137f 0x6 0x137f 0x700 0x137f 0x137f 0x137f 0x137f 0x137f 0x137f)
what=(run run hang-killed "run after the hang" run crash "run after the crash" "exit in the run"
      run fork thread "run after fork and thread" "run, then killed between runs" "run after the kill")
for i in "${!want[@]}"; do expect_eq "edges: run $i (${what[$i]}): status" "${want[$i]}" "$(field status $i)"; done
same_pid() {   # runs... : one pid
    local p0 i
    p0=$(field pid "$1")
    for i in "$@"; do [[ $(field pid "$i") == "$p0" ]] || return 1; done
}
distinct() {   # runs... : pairwise different pids
    printf '%s\n' "$@" | while read -r i; do field pid "$i"; done | sort | uniq -d | grep -q . && return 1 || true
}
same_pid 0 1 2 && pass "edges: runs 0-2 in one child" || fail "edges: runs 0-2 pids differ"
same_pid 3 4 5 && pass "edges: runs 3-5 in one child" || fail "edges: runs 3-5 pids differ"
same_pid 8 9 10 11 12 && pass "edges: runs 8-12 (fork, thread) in one child" || fail "edges: runs 8-12 pids differ"
distinct 0 3 6 8 13 && pass "edges: a new child after the hang, the crash, the exit and the kill" ||
    fail "edges: pids $(for i in 0 3 6 8 13; do field pid $i; done)"
e0=$(field hash 0)
for i in 1 3 4 6 8 11 12 13; do expect_eq "edges: run $i covers as run 0" "$e0" "$(field hash $i)"; done
# Offered test cases in shared memory (as afl-fuzz offers them, with its input file OUT_DIR/.cur_input on
# the command line), a persistent run takes them and writes them into that file itself: the same runs give
# the same statuses; a shorter test case is not left with the longer one's tail (in the child and in the
# server: PE after OKAYLONG must not crash as PERS would, nor PE after PERSLONG).
mkdir -p "$work/out"
FS_DRIVER_SHM=1 FS_DRIVER_CUR="$work/out/.cur_input" FS_DRIVER_INPUTS="$inputs" FS_DRIVER_TIMEOUT_MS=1500 \
    FS_DRIVER_KILL_AFTER=12 run 14 65536 -- env AFL_QEMU_PERSISTENT_ADDR="$eaddr" AFL_QEMU_PERSISTENT_GPR=1 \
    "$ember" "$tests/target-persist-edges" "$work/out/.cur_input"
shm_bit() { echo $(( ($(head -1 <<<"$out" | awk '{print $2}') >> 24) & 1 )); }   # FS_OPT_SHDMEM_FUZZ
expect_eq "shm: the hello asks for test cases in shared memory" 1 "$(shm_bit)"
for i in "${!want[@]}"; do expect_eq "shm: run $i (${what[$i]}): status" "${want[$i]}" "$(field status $i)"; done
expect_eq "shm: run 13 covers as run 0" "$(field hash 0)" "$(field hash 13)"
printf 'PERSLONG' > in-PERSLONG
printf 'OKAYLONG' > in-OKAYLONG
printf 'PE' > in-PE
FS_DRIVER_SHM=1 FS_DRIVER_CUR="$work/out/.cur_input" FS_DRIVER_INPUTS=in-OKAYLONG:in-PE:in-PERSLONG:in-PE:in-OKAY \
    run 5 65536 -- env AFL_QEMU_PERSISTENT_ADDR="$eaddr" AFL_QEMU_PERSISTENT_GPR=1 \
    "$ember" "$tests/target-persist-edges" "$work/out/.cur_input"
expect_eq "shm: shorter test case after a longer one (child): status" 0x137f "$(field status 1)"
expect_eq "shm: PERSLONG crashes" 0x6 "$(field status 2)"
expect_eq "shm: shorter test case after a longer one (server): status" 0x137f "$(field status 3)"
expect_eq "shm: the input file holds the last test case" OKAY "$(cat "$work/out/.cur_input")"
# Not in plain fork server mode, and not for a file afl-fuzz did not name .cur_input in its output folder.
FS_DRIVER_SHM=1 FS_DRIVER_CUR="$work/out/.cur_input" FS_DRIVER_INPUTS=in-OKAY \
    run 1 65536 -- "$ember" "$tests/target-persist-edges" "$work/out/.cur_input"
expect_eq "shm: not asked for without persistent mode" 0 "$(shm_bit)"
FS_DRIVER_SHM=1 FS_DRIVER_CUR="$work/out/other" FS_DRIVER_INPUTS=in-PERS \
    run 1 65536 -- env AFL_QEMU_PERSISTENT_ADDR="$eaddr" "$ember" "$tests/target-persist-edges" "$work/out/other"
expect_eq "shm: not asked for with another input file" 0 "$(shm_bit)"
expect_eq "shm: that file is afl-fuzz's to write" 0x6 "$(field status 0)"

# A control word that says "killed" to a living persistent child (afl-fuzz would have killed it): the
# child leaves and the server runs the test case in a new one.
FS_DRIVER_SAY_KILLED=2 run 4 65536 -- env AFL_QEMU_PERSISTENT_ADDR="$eaddr" AFL_QEMU_PERSISTENT_GPR=1 \
    "$ember" "$tests/target-persist-edges" in-OKAY
for i in 0 1 2 3; do expect_eq "said killed: run $i stops" 0x137f "$(field status $i)"; done
same_pid 0 1 && same_pid 2 3 && distinct 1 2 && pass "said killed: a new child from run 2" ||
    fail "said killed: pids $(for i in 0 1 2 3; do field pid $i; done)"
expect_eq "said killed: run 2 covers as run 0" "$(field hash 0)" "$(field hash 2)"

run 3 65536 -- env AFL_QEMU_SNAPSHOT="$addr" "$ember" "$tests/target-persist" in-ok
expect_eq "snapshot run 1 stops" 0x137f "$(field status 1)"
expect_eq "snapshot: same map" "$(field hash 0)" "$(field hash 2)"
expect_eq "snapshot and GPR modes cover the same" "$p0" "$(field hash 0)"

finish
