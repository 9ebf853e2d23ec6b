#!/usr/bin/env bash
# The serial port's backends with a real guest (testsuite/kernels/serial: it prints a greeting on COM1
# first thing, then powers off): a pipe as the console, a file, and a unix socket server that waits for
# its client before the guest starts. A guest power-off ends the process with status 0.
set -u
bin="$1"
kernel="$2"
tmp="$(mktemp -d /tmp/ember-test.XXXXXX)"   # short: unix socket paths are limited to 107 bytes
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
greeting="hello from the serial kernel"

timeout 60 "$bin" -nographic -kernel "$kernel" </dev/null >"$tmp/out" 2>"$tmp/err"
rc=$?
[[ $rc -eq 0 ]] || fail "console: exit $rc ($(cat "$tmp/err"))"
grep -q "$greeting" "$tmp/out" || fail "console: no greeting in '$(cat "$tmp/out")'"

timeout 60 "$bin" -kernel "$kernel" -serial file:"$tmp/com1" </dev/null >"$tmp/out" 2>"$tmp/err"
rc=$?
[[ $rc -eq 0 ]] || fail "file: exit $rc ($(cat "$tmp/err"))"
grep -q "$greeting" "$tmp/com1" || fail "file: no greeting in '$(cat "$tmp/com1")'"
[[ -s "$tmp/out" ]] && fail "file: the console got output: $(cat "$tmp/out")"

sock="$tmp/com1.sock"
timeout 60 "$bin" -kernel "$kernel" -serial unix:"$sock",server=on </dev/null >"$tmp/out" 2>"$tmp/err" &
vm=$!
for _ in $(seq 200); do [[ -S "$sock" ]] && break; sleep 0.05; done
/usr/bin/python3 - "$sock" >"$tmp/sock.out" 2>&1 <<'PY' || fail "socket: $(cat "$tmp/sock.out")"
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(30)
data = b""
while b"hello from the serial kernel" not in data:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
assert b"hello from the serial kernel" in data, data
PY
wait $vm
rc=$?
[[ $rc -eq 0 ]] || fail "socket: exit $rc ($(cat "$tmp/err"))"
grep -q "waiting for a connection" "$tmp/err" || fail "socket: no waiting notice"

if [[ $failures -gt 0 ]]; then
    echo "$failures failures"
    exit 1
fi
echo "all passed"
