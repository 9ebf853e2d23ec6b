#!/bin/bash
# Debian's gdb in batch mode against ember-system-x86_64's gdb stub, debugging the kernel
# testsuite/kernels/gdb.S (an ELF with symbols) on two vCPUs started with -S:
#   gdb_system_test.sh EMBER-SYSTEM GDB-KERNEL tcg|kvm
# connect (the BSP stands at the multiboot entry), break at `work`, continue, read registers (r12, the
# control registers, EFER) and memory (through the page tables: the kernel's higher-half alias), stepi,
# info threads (two vCPUs), a write watchpoint (two hits, old and new values), a read and an access
# watchpoint, then release the kernel through memory and continue until it powers off.
# Also: -gdb with a malformed address is one line of error and exit 1.
# The KVM variant skips without a usable /dev/kvm.
set -u
ember=$1 kernel=$2 accel=$3
if [[ $accel == kvm && ! ( -r /dev/kvm && -w /dev/kvm ) ]]; then
    echo "SKIP: no usable /dev/kvm on this host"
    exit 0
fi
tmp=${TEST_TMPDIR:-$(mktemp -d)}
export HOME=$tmp   # no ~/.gdbinit
fail=0

"$ember" -accel "$accel" -nographic -no-reboot -smp 2 -gdb tcp:127.0.0.1:0 -S -kernel "$kernel" \
    </dev/null > "$tmp/serial.out" 2> "$tmp/ember.err" &
ember_pid=$!
port=
for _ in $(seq 200); do
    port=$(sed -n 's/.*gdb stub listening on port \([0-9]*\).*/\1/p' "$tmp/ember.err")
    [ -n "$port" ] && break
    sleep 0.1
done
if [ -z "$port" ]; then
    echo "FAIL: no gdb stub port announced"; cat "$tmp/ember.err"; kill $ember_pid; exit 1
fi

cat > "$tmp/cmds.gdb" <<GDB
set confirm off
set pagination off
target remote 127.0.0.1:$port
info registers rip
break work
continue
info registers r12 cr0 efer
p/x *(long*)&magic
x/gx 0xffffffff80000000 + (long)&magic
p \$pc == (long)&work
stepi
p \$pc == (long)&work + 8
info threads
delete
watch *(long*)&counter
continue
continue
delete
rwatch *(long*)&observed
continue
delete
awatch *(long*)&total
continue
delete
set var *(long*)&release = 1
continue
GDB
timeout 60 gdb -nx -batch -x "$tmp/cmds.gdb" "$kernel" > "$tmp/gdb.out" 2>&1
gdb_status=$?
timeout 30 tail --pid=$ember_pid -f /dev/null
if kill -0 $ember_pid 2>/dev/null; then
    echo "FAIL: ember-system-x86_64 still runs after gdb's last continue"; kill $ember_pid; fail=1
fi
wait $ember_pid
ember_status=$?

check() {   # $1: description, $2: a grep -E pattern that must be in gdb's output
    if ! grep -qE -e "$2" "$tmp/gdb.out"; then
        echo "FAIL: $1 (no /$2/ in gdb's output)"; fail=1
    fi
}
check "stopped at the multiboot entry (-S)" '^rip +0x10000c +0x10000c <_start>'
check "breakpoint at work" 'hit Breakpoint 1, 0x[0-9a-f]+ in work \(\)'
check "r12 as the kernel set it" '^r12 +0x1234 '
check "cr0 with paging" '^cr0 +0x80000011 +\[ PE ET PG \]'
check "efer in long mode" '^efer +0x500 +\[ LME LMA \]'
check "memory by symbol" '^\$1 = 0xfeedface12345678'
check "memory through the higher-half mapping" '^0xffffffff801[0-9a-f]+:\s+0xfeedface12345678'
check "pc at work" '^\$2 = 1'
check "stepi moved past incq (8 bytes)" '^\$3 = 1'
check "two vCPUs as threads" '^ +2 +Thread 2 '
if [ "$(grep -cE '^[* ] +[0-9]+ +Thread [0-9]+ ' "$tmp/gdb.out")" != 2 ]; then
    echo "FAIL: info threads does not list exactly two threads"; fail=1
fi
check "write watchpoint: first hit" 'Old value = 1$'
check "write watchpoint: second hit" 'New value = 3$'
check "read watchpoint" 'hit Hardware read watchpoint 3: .*observed'
check "read watchpoint value" '^Value = 3$'
check "access watchpoint" 'hit Hardware access \(read/write\) watchpoint 4: .*total'
check "power-off seen by gdb" 'exited normally'
if ! grep -q '^powering off' "$tmp/serial.out"; then
    echo "FAIL: the kernel did not reach its power-off"; fail=1
fi
if [ "$ember_status" != 0 ] || [ "$gdb_status" != 0 ]; then
    echo "FAIL: exit status ember $ember_status, gdb $gdb_status (both should be 0)"; fail=1
fi

# Option errors: one line, exit 1.
out=$("$ember" -gdb udp::1 -kernel "$kernel" 2>&1 </dev/null)
rc=$?
if [ $rc != 1 ] || [ "$(wc -l <<<"$out")" != 1 ] || [[ $out != *"-gdb"*"tcp:[HOST]:PORT"* ]]; then
    echo "FAIL: -gdb udp::1 gave exit $rc: $out"; fail=1
fi

if [ $fail != 0 ]; then
    echo "---- gdb:"; cat "$tmp/gdb.out"; echo "---- serial:"; cat "$tmp/serial.out"
    echo "---- stderr:"; cat "$tmp/ember.err"
    exit 1
fi
echo "PASS: gdb against ember-system-x86_64 -accel $accel -smp 2 -S"
