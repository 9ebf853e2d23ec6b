#!/bin/bash
# Debian's gdb drives ember-x86_64's gdb stub (-g) in batch mode, and the same gdb script is run natively on
# the same binary: after normalizing addresses, what gdb prints must be the same. (Where the host's own gdb
# cannot write the CPU's XSAVE state, e.g. Debian's gdb 13 with AMX, see native_cut_short.)
#
#   gdb_test.sh EMBER PROGRAM SCENARIO [EMBER-OPTION...]
#
# SCENARIO basic:   break main, continue, next, step, info registers rip, p, finish, hbreak + p $xmm1,
#                   set/p $xmm2 and $ymm2, watch a global (two writes), continue to the exit code (3).
# SCENARIO libs:    (dynamic programs) info sharedlibrary lists libc.so.6 with its symbols read.
# SCENARIO threads: three threads meet in in_thread: gdb's info threads lists all three (all-stop).
# SCENARIO rwatch:  rwatch on main's local (read by square(local), then by printf), awatch on the global
#                   (written twice), continue to the exit code.
# SCENARIO stepret: break in far_step on its 51st call, then stepi by stepi over its return into main (the
#                   return address is in ember's jump cache by then: the step must still stop there).
set -u
ember=$1 prog=$2 scenario=$3
shift 3
tmp=${TEST_TMPDIR:-$(mktemp -d)}
export HOME=$tmp   # no ~/.gdbinit, no debuginfod prompts

case $scenario in
basic) args=() script='break main
@START@
next
step
info registers rip
p x
finish
hbreak vectors_done
continue
p $xmm1.v4_int32
set var $xmm2.v4_int32 = {5, 6, 7, 8}
p $xmm2.v4_int32
set var $ymm2.v8_int32 = {1, 2, 3, 4, 5, 6, 7, 8}
p $ymm2.v8_int32
watch watched
continue
continue
delete
continue' ;;
libs) args=() script='break main
@START@
info sharedlibrary
continue' ;;
threads) args=(threads) script='break main
@START@
break in_thread
continue
info threads
delete
continue' ;;
rwatch) args=() script='break main
@START@
next
rwatch local
continue
continue
delete
awatch watched
continue
continue
delete
continue' ;;
stepret) args=(stepret) script='break far_step if x == 50
@START@
delete
stepi
stepi
stepi
stepi
stepi
stepi
stepi
stepi
p $pc
p sum
continue' ;;
*) echo "unknown scenario $scenario" >&2; exit 2 ;;
esac

gdb_run() {   # $1: the start commands; output on stdout
    printf '%s\n' "${script/@START@/$1}" > "$tmp/cmds.gdb"
    timeout 120 gdb -nx -batch -ex 'set debuginfod enabled off' -ex 'set confirm off' -x "$tmp/cmds.gdb" \
        --args "$prog" "${args[@]}" 2>&1
}

# Ember first: it listens on a port the kernel picks (-g 0) and says which.
"$ember" "$@" -g 0 "$prog" "${args[@]}" > "$tmp/ember.out" 2> "$tmp/ember.err" &
ember_pid=$!
port=
for _ in $(seq 100); do
    port=$(sed -n 's/.*waiting for gdb on port \([0-9]*\).*/\1/p' "$tmp/ember.err")
    [ -n "$port" ] && break
    sleep 0.1
done
if [ -z "$port" ]; then
    echo "FAIL: ember did not start its gdb stub:"; cat "$tmp/ember.err"; exit 1
fi
gdb_run "target remote 127.0.0.1:$port
continue" > "$tmp/gdb-ember.txt"
wait $ember_pid
ember_status=$?
gdb_run run > "$tmp/gdb-native.txt"

# What may differ: addresses, process ids, the program's own output (a terminal natively), gdb's notes.
normalize() {
    grep -v -e '^warning:' -e 'libthread_db' -e ' in _start ()' -e '^square: ' -e '^sum: ' -e '^threads done' \
        -e '^\[New Thread' -e '^\[Thread .* exited' -e '^\[Switching to' -e '^Download failed' |
        sed -E -e 's/0x[0-9a-f]+/ADDR/g' -e 's/\[Inferior 1 \((process [0-9]+|Remote target)\)/[Inferior 1/' \
            -e 's/^(Thread [0-9]+) hit/\1 hit/' -e 's/^ +/ /'
}
normalize < "$tmp/gdb-ember.txt" > "$tmp/ember.norm"
normalize < "$tmp/gdb-native.txt" > "$tmp/native.norm"

# What gdb prints for the basic script from "p $xmm1.v4_int32" on (normalized; source lines as "N<tab>...",
# since whether gdb finds gdb_target.c varies): the vectors the script sets, then the two writes to "watched"
# (gdb_target.c lines 50 and 51; gdb reports the line after each). Used only when native gdb cannot run the
# script to the end on this host (native_cut_short).
basic_expected_tail='$3 = {1, 2, 3, 4}
$4 = {5, 6, 7, 8}
$5 = {1, 2, 3, 4, 5, 6, 7, 8}
Hardware watchpoint 3: watched

Hardware watchpoint 3: watched

Old value = 0
New value = 7
main (argc=1, argv=ADDR) at testsuite/guest/gdb_target.c:51
51\t...

Hardware watchpoint 3: watched

Old value = 7
New value = 8
main (argc=1, argv=ADDR) at testsuite/guest/gdb_target.c:52
52\t...
[Inferior 1 exited with code 03]'

# Native gdb stopped with "Couldn't write extended state status: Bad address." (or get): the host's gdb cannot
# transfer this CPU's XSAVE state through ptrace. Debian's gdb 13 passes a fixed-size buffer (room for
# x87/SSE/AVX/MPX/AVX-512/PKRU) to PTRACE_SETREGSET NT_X86_XSTATE, and the kernel refuses (EFAULT) any size
# but the full user XSAVE size, which with AMX tile data is about 11 KB; a batch gdb stops at the error. That
# is the host's gdb failing, not ember, so: the lines native gdb printed before the error must be ember's
# first lines, and ember's remaining lines must be what the script is known to produce (basic_expected_tail).
native_cut_short() {
    local errline k total rest cmdno cmd expected_n
    errline=$(grep -n -m1 'Error in sourced command file:$' "$tmp/native.norm" | cut -d: -f1)
    if [ -z "$errline" ] ||
        ! sed -n "$((errline + 1))p" "$tmp/native.norm" | grep -q "^Couldn't [a-z]* extended state status"; then
        echo "FAIL: native gdb failed on the extended state, but not as a sourced-command error:"
        cat "$tmp/gdb-native.txt"; fail=1; return
    fi
    k=$((errline - 1))
    total=$(wc -l < "$tmp/ember.norm")
    rest=$((total - k))
    cmdno=$(sed -n "${errline}p" "$tmp/native.norm" | sed -nE 's/.*cmds\.gdb:([0-9]+): Error.*/\1/p')
    cmd='?'
    [ -n "$cmdno" ] && cmd="$cmdno: $(sed -n "${cmdno}p" "$tmp/cmds.gdb")"   # cmds.gdb: the native script
    echo "NOTE: native comparison cut short: native gdb ($(gdb --version | head -n 1)) stopped at script line" \
        "$cmd with \"$(sed -n "$((errline + 1))p" "$tmp/native.norm")\" -- the host's gdb cannot transfer" \
        "this CPU's XSAVE state through ptrace (an XSAVE area larger than gdb's fixed buffer, e.g. with AMX)," \
        "not an ember problem. Compared the first $k lines with native gdb's and the remaining $rest lines" \
        "with what the script is known to print (vectors, watchpoint, exit code)."
    pass_note=" (native comparison cut short: host gdb cannot write the XSAVE state; see NOTE)"
    if ! diff -u <(head -n "$k" "$tmp/native.norm") <(head -n "$k" "$tmp/ember.norm"); then
        echo "FAIL: gdb printed something else under ember than natively before native gdb's error" \
            "(diff above: - native, + ember)"; fail=1
    fi
    expected_n=$(printf '%b\n' "$basic_expected_tail" | wc -l)
    if [ "$rest" -gt "$expected_n" ]; then
        echo "FAIL: native gdb stopped before the part of the script whose output the test knows" \
            "($rest lines left under ember, $expected_n known)"; fail=1; return
    fi
    if ! diff -u <(printf '%b\n' "$basic_expected_tail" | tail -n "$rest") \
        <(tail -n "$rest" "$tmp/ember.norm" | sed -E 's/^([0-9]+)\t.*/\1\t.../'); then
        echo "FAIL: after native gdb's error, gdb under ember printed something else than expected" \
            "(diff above: - expected, + ember)"; fail=1
    fi
}

fail=0 pass_note=
check() {   # $1: description, $2: grep pattern that must be in ember's gdb output
    if ! grep -q -e "$2" "$tmp/gdb-ember.txt"; then
        echo "FAIL: $1 (no '$2' in gdb's output under ember)"; fail=1
    fi
}
case $scenario in
basic)
    check "stopped at main" 'Breakpoint 1, main'
    check "stepped into square" '^square (x=41)'
    check "rip inside square" '^rip .*<square+'
    check "a variable" '^\$1 = 41'
    check "xmm1 as loaded" '^\$3 = {1, 2, 3, 4}'
    check "ymm2 written and read back" '^\$5 = {1, 2, 3, 4, 5, 6, 7, 8}'
    check "watchpoint: first write" 'New value = 7'
    check "watchpoint: second write" 'New value = 8'
    check "exit code" 'exited with code 03'
    if grep -q "^Couldn't [a-z]* extended state status" "$tmp/gdb-native.txt"; then
        native_cut_short
    elif ! diff -u "$tmp/native.norm" "$tmp/ember.norm"; then
        echo "FAIL: gdb printed something else under ember than natively (diff above: - native, + ember)"; fail=1
    fi
    ;;
libs)
    check "libc listed with its symbols" '^0x[0-9a-f]* *0x[0-9a-f]* *Yes .*libc\.so\.6'
    check "exit code" 'exited with code 03'
    if ! diff -u <(grep 'libc\.so' "$tmp/native.norm") <(grep 'libc\.so' "$tmp/ember.norm"); then
        echo "FAIL: libc's line differs"; fail=1
    fi
    ;;
threads)
    check "the breakpoint in a thread" 'hit Breakpoint 2, in_thread'
    n=$(grep -cE '^\*? +[0-9]+ +Thread ' "$tmp/gdb-ember.txt")
    if [ "$n" != 3 ]; then echo "FAIL: info threads shows $n threads, not 3"; fail=1; fi
    check "exit code" 'exited with code 03'
    ;;
stepret)
    check "stopped in far_step" 'Breakpoint 1, far_step (x=50)'
    check "back in main after the return" '^\$1 = .*<main+[0-9]*>'
    check "exit code" 'exited with code 03'
    if ! diff -u "$tmp/native.norm" "$tmp/ember.norm"; then
        echo "FAIL: gdb printed something else under ember than natively (diff above: - native, + ember)"; fail=1
    fi
    ;;
rwatch)
    check "read watchpoint: local read by square(local)" 'Hardware read watchpoint 2: local'
    check "read watchpoint: the value read" '^Value = 41$'
    check "read watchpoint: the value printf reads" '^Value = 1681$'
    check "access watchpoint on the global" 'Hardware access (read/write) watchpoint 3: watched'
    check "access watchpoint: first write" '^New value = 7$'
    check "access watchpoint: second write" '^New value = 8$'
    check "exit code" 'exited with code 03'
    if ! diff -u "$tmp/native.norm" "$tmp/ember.norm"; then
        echo "FAIL: gdb printed something else under ember than natively (diff above: - native, + ember)"; fail=1
    fi
    ;;
esac
if [ "$ember_status" != 3 ]; then echo "FAIL: ember exited with $ember_status, not 3"; fail=1; fi
if [ $fail != 0 ]; then
    echo "---- gdb under ember:"; cat "$tmp/gdb-ember.txt"; echo "---- ember's stderr:"; cat "$tmp/ember.err"
    exit 1
fi
echo "PASS: gdb $scenario on $(basename "$prog") ${*:-}$pass_note"
