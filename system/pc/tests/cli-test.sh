#!/usr/bin/env bash
# ember-system-x86_64 as a user meets it: every bad command line is one line on stderr and exit status 1;
# -h/-version work; a machine started with -S answers QMP on its socket, writes and removes its pid file,
# and a SIGTERM ends it cleanly (exit 0, a SHUTDOWN event with reason host-signal).
set -u
bin="$1"
kernel="$2"
tmp="$(mktemp -d /tmp/ember-test.XXXXXX)"   # short: unix socket paths are limited to 107 bytes
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect_error "needle" args...: exit 1, exactly one line on stderr, prefixed and containing needle.
expect_error() {
    local needle=$1
    shift
    timeout 20 "$bin" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
    local rc=$? lines
    lines=$(wc -l <"$tmp/err")
    if [[ $rc -ne 1 ]]; then
        fail "$* -> exit $rc (want 1)"
    elif [[ $lines -ne 1 ]]; then
        fail "$* -> $lines lines on stderr: $(cat "$tmp/err")"
    elif ! grep -q "^ember-system-x86_64: .*$needle" "$tmp/err"; then
        fail "$* -> '$(cat "$tmp/err")' lacks '$needle'"
    elif [[ -s "$tmp/out" ]]; then
        fail "$* -> wrote to stdout"
    fi
}

k=(-kernel "$kernel")
echo "not a kernel" >"$tmp/text"
head -c 1048576 /dev/zero >"$tmp/disk.img"

expect_error "unknown option '-foo'" -foo
expect_error "unknown option '--bogus'" --bogus
expect_error "not an option" disk.img
expect_error "-m 16M: too little RAM" -m 16M "${k[@]}"
expect_error "-m 4T: too much RAM" -m 4T "${k[@]}"
expect_error "-m 512G" -m 512G "${k[@]}"          # more than this host has (or than 1 TiB allows)
expect_error "-m abc: not a size" -m abc
expect_error "-smp 0" -smp 0
expect_error "-smp 65" -smp 65
expect_error "-accel xen" -accel xen
expect_error "format 'qcow2'" -drive file="$tmp/disk.img",format=qcow2,if=virtio
expect_error "interface 'scsi'" -drive file="$tmp/disk.img",format=raw,if=scsi
expect_error "file= is missing" -drive format=raw,if=virtio
expect_error "unknown parameter 'cow'" -drive file=x,format=raw,if=virtio,cow=1
expect_error "only user networking" -netdev tap,id=n0
expect_error "bad hostfwd" -netdev user,id=n0,hostfwd=tcp::0-:22 -device virtio-net-pci,netdev=n0
expect_error "no -device virtio-net-pci,netdev=n0" -netdev user,id=n0
expect_error "there is no -netdev with id 'x'" -device virtio-net-pci,netdev=x
expect_error "unsupported device" -device ne2k_pci
expect_error "-serial vc" -serial vc
expect_error "only server=on" -serial unix:"$tmp/s"
expect_error "-qmp tcp:1234" -qmp tcp:1234
expect_error "unknown item 'all'" -d all
expect_error "-D $tmp/no/such/dir/log" -D "$tmp/no/such/dir/log" "${k[@]}" -serial none
expect_error "-pidfile $tmp/no/such/dir/pid" -pidfile "$tmp/no/such/dir/pid" "${k[@]}" -serial none
expect_error "-serial file:$tmp/no/dir/com1" -serial file:"$tmp/no/dir/com1" "${k[@]}"
expect_error "-m needs a value" -m
expect_error "no -kernel given" -m 64M
expect_error "No such file" -kernel "$tmp/missing"
expect_error "-initrd" "${k[@]}" -initrd "$tmp/missing"
expect_error "" -kernel "$tmp/text"                 # neither a bzImage nor multiboot: the boot code says so
expect_error "$tmp/disk-missing" "${k[@]}" -drive file="$tmp/disk-missing",format=raw,if=virtio -serial none

"$bin" -version >"$tmp/out" 2>&1 && grep -q "ember-system-x86_64 version" "$tmp/out" || fail "-version"
"$bin" -h >"$tmp/out" 2>&1 && grep -q -- "-netdev" "$tmp/out" || fail "-h"
"$bin" -d help >"$tmp/out" 2>&1 && grep -q "guest_errors" "$tmp/out" || fail "-d help"

# A paused machine: QMP, the pid file, SIGTERM.
sock="$tmp/qmp.sock"
timeout 30 "$bin" -S -m 64M -smp 2 "${k[@]}" -serial none -monitor none -qmp unix:"$sock",server=on,wait=off \
    -drive file="$tmp/disk.img",format=raw,if=virtio,readonly=on,id=d0 -pidfile "$tmp/pid" \
    </dev/null >"$tmp/vm.out" 2>"$tmp/vm.err" &
vm=$!
for _ in $(seq 100); do [[ -S "$sock" && -s "$tmp/pid" ]] && break; sleep 0.05; done
pid=$(cat "$tmp/pid" 2>/dev/null)
[[ -n "$pid" && "$(cat "/proc/$pid/comm" 2>/dev/null)" == ember-system-* ]] || fail "pid file: '$pid'"
/usr/bin/python3 - "$sock" "$pid" >"$tmp/qmp.out" 2>&1 <<'PY' || fail "QMP session: $(cat "$tmp/qmp.out")"
import json, os, signal, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rw")
def read():
    return json.loads(f.readline())
def cmd(name, **kw):
    f.write(json.dumps(dict(execute=name, **kw)) + "\n"); f.flush()
    while True:
        r = read()
        if "event" not in r:
            return r
greeting = read()
assert "QMP" in greeting, greeting
assert cmd("query-status")["error"]["class"] == "CommandNotFound"
assert cmd("qmp_capabilities") == {"return": {}}
st = cmd("query-status", id=5)
assert st == {"return": {"running": False, "singlestep": False, "status": "prelaunch"}, "id": 5}, st
cpus = cmd("query-cpus-fast")["return"]
assert [c["cpu-index"] for c in cpus] == [0, 1], cpus
assert all(c["target"] == "x86_64" and c["thread-id"] > 0 for c in cpus), cpus
blk = cmd("query-block")["return"]
assert blk[0]["device"] == "d0" and blk[0]["inserted"]["ro"] is True, blk
assert blk[0]["inserted"]["file"].endswith("disk.img"), blk
assert cmd("no-such")["error"]["class"] == "CommandNotFound"
os.kill(int(sys.argv[2]), signal.SIGTERM)
ev = read()
assert ev["event"] == "SHUTDOWN" and ev["data"] == {"guest": False, "reason": "host-signal"}, ev
assert "seconds" in ev["timestamp"], ev
PY
wait $vm
rc=$?
[[ $rc -eq 0 ]] || fail "SIGTERM: exit $rc ($(cat "$tmp/vm.err"))"
[[ ! -e "$tmp/pid" ]] || fail "the pid file is still there"
[[ ! -e "$sock" ]] || fail "the QMP socket is still there"

# QMP quit on a paused machine.
timeout 30 "$bin" -S "${k[@]}" -serial none -qmp unix:"$sock",server=on,wait=off </dev/null >/dev/null 2>"$tmp/vm.err" &
vm=$!
for _ in $(seq 100); do [[ -S "$sock" ]] && break; sleep 0.05; done
/usr/bin/python3 - "$sock" >"$tmp/qmp.out" 2>&1 <<'PY' || fail "QMP quit: $(cat "$tmp/qmp.out")"
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rw")
f.readline()
for c in ("qmp_capabilities", "quit"):
    f.write(json.dumps({"execute": c}) + "\n"); f.flush()
    assert json.loads(f.readline()) == {"return": {}}
ev = json.loads(f.readline())
assert ev["event"] == "SHUTDOWN" and ev["data"]["reason"] == "host-qmp-quit", ev
PY
wait $vm || fail "quit: exit $?"

# -nographic with stdout a pipe: the console works without a terminal; Ctrl-A x quits.
printf '\001x' | timeout 30 "$bin" -S -nographic "${k[@]}" >"$tmp/out" 2>"$tmp/err"
rc=$?
[[ $rc -eq 0 ]] || fail "Ctrl-A x: exit $rc ($(cat "$tmp/err"))"
grep -q "terminating on C-a x" "$tmp/out" || fail "Ctrl-A x: no message: $(cat "$tmp/out")"

if [[ $failures -gt 0 ]]; then
    echo "$failures failures"
    exit 1
fi
echo "all passed"
