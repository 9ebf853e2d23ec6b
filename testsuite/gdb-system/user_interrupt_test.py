"""
Ctrl-C against ember-x86_64's gdb stub (-g): a guest that spins without system calls is stopped by gdb's
0x03 and reported with SIGINT (T02), the registers can be read, it continues, is interrupted again, and gdb's
kill ends it.
  user_interrupt_test.py EMBER-X86_64
"""
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rsp_client import Rsp, read_output  # noqa: E402

EMBER = sys.argv[1]
TMP = os.environ.get("TEST_TMPDIR") or tempfile.mkdtemp()
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


err = open(os.path.join(TMP, "ember.err"), "w+")
p = subprocess.Popen([EMBER, "-g", "0", "/bin/sh", "-c", "while :; do :; done"],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
port = None
deadline = time.time() + 20
while time.time() < deadline and port is None:
    m = re.search(r"waiting for gdb on port (\d+)", read_output(err))
    port = int(m.group(1)) if m else None
    time.sleep(0.05)
if port is None:
    p.kill()
    raise SystemExit("FAIL: no port announced")

r = Rsp(port)
r.cmd("qSupported:swbreak+")
check(r.cmd("?").startswith("T05"), "stopped before the first instruction")
for round in (1, 2):
    r.send("vCont;c")
    time.sleep(0.5)
    check(p.poll() is None, "round %d: the guest still runs" % round)
    r.s.sendall(b"\x03")
    stop = r.read_packet()
    check(re.match(r"T02thread:[0-9a-f]+;", stop) is not None,
          "round %d: Ctrl-C reported as SIGINT: %r" % (round, stop))
    g = r.cmd("g")
    check(len(g) > 16 * 16 and not g.startswith("E"), "round %d: registers readable after the stop" % round)
r.send("k")
r.close()
try:
    code = p.wait(timeout=20)
except subprocess.TimeoutExpired:
    p.kill()
    code = "still running"
check(code != "still running", "kill ends the process (%s)" % code)
if failures:
    print(read_output(err))
    sys.exit(1)
print("PASS")
