"""
The GDB remote protocol spoken directly to ember-system-x86_64's gdb stub, for what gdb's batch mode cannot
drive: Ctrl-C (0x03) while the guest spins, error replies for unmapped memory, the register block's size,
the thread list of two vCPUs, software and hardware breakpoint stop reasons, continuing from a breakpoint
that stays inserted, detach and reconnect, kill.
  rsp_test.py EMBER-SYSTEM GDB-KERNEL tcg|kvm      (kvm skips without a usable /dev/kvm)
"""
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rsp_client import Rsp, read_output  # noqa: E402

EMBER, KERNEL, ACCEL = sys.argv[1], sys.argv[2], sys.argv[3]
if ACCEL == "kvm" and not os.access("/dev/kvm", os.R_OK | os.W_OK):
    print("SKIP: no usable /dev/kvm on this host")
    sys.exit(0)
TMP = os.environ.get("TEST_TMPDIR") or tempfile.mkdtemp()
# 16 GPRs, rip, eflags, 6 segments, 8 x87, 8 x87 control, 16 xmm, mxcsr, 3 bases, 6 control regs, 16 ymmh
REGS_BYTES = 16 * 8 + 8 + 4 + 6 * 4 + 8 * 10 + 8 * 4 + 16 * 16 + 4 + 3 * 8 + 6 * 8 + 16 * 16

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def symbols():
    out = subprocess.run(["nm", KERNEL], check=True, capture_output=True, text=True).stdout
    return {parts[2]: int(parts[0], 16) for parts in (l.split() for l in out.splitlines()) if len(parts) == 3}


SYM = symbols()


def start(*extra):
    err = open(os.path.join(TMP, "ember.err"), "w+")
    serial = open(os.path.join(TMP, "serial.out"), "w+")
    p = subprocess.Popen([EMBER, "-accel", ACCEL, "-nographic", "-no-reboot", "-smp", "2",
                          "-gdb", "tcp:127.0.0.1:0", "-kernel", KERNEL, *extra],
                         stdin=subprocess.DEVNULL, stdout=serial, stderr=err)
    deadline = time.time() + 20
    while time.time() < deadline:
        m = re.search(r"gdb stub listening on port (\d+)", read_output(err))
        if m:
            return p, int(m.group(1)), serial
        time.sleep(0.05)
    p.kill()
    raise SystemExit("FAIL: no port announced")


def wait_serial(serial, text, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if text in read_output(serial):
            return True
        time.sleep(0.05)
    return False


def reg64(hexbytes):
    return int.from_bytes(bytes.fromhex(hexbytes), "little")


def rip(rsp):
    return reg64(rsp.cmd("p10"))


def le64(v):
    return v.to_bytes(8, "little").hex()


# ---- 1: attach to a running machine, Ctrl-C, memory, breakpoints, step, threads, run to power-off ----
p, port, serial = start()
check(wait_serial(serial, "waiting for release"), "the kernel runs before gdb connects (no -S)")
r = Rsp(port)
r.cmd("qSupported:swbreak+;hwbreak+")
stop = r.cmd("?")
check(stop.startswith("T05thread:1;"), "connecting stops the machine: %r" % stop)
check(r.cmd("qfThreadInfo") == "m1,2" and r.cmd("qsThreadInfo") == "l", "two vCPUs, threads 1 and 2")
g = r.cmd("g")
check(len(g) == 2 * REGS_BYTES, "g: %d register bytes" % (len(g) // 2))
pc = rip(r)
check(SYM["spin"] <= pc < SYM["work"], "stopped in the spin loop (rip %#x)" % pc)
check(r.cmd("m%x,8" % SYM["magic"]) == le64(0xfeedface12345678), "m: memory by virtual address")
check(r.cmd("m%x,8" % (0xffffffff80000000 + SYM["magic"])) == le64(0xfeedface12345678),
      "m: the same bytes through the higher-half mapping")
check(re.fullmatch(r"E[0-9a-f]{2}", r.cmd("m40000000,8")) is not None, "m: unmapped memory is an error")
check(r.cmd("Hg2") == "OK" and reg64(r.cmd("p10")) == 0xfff0, "thread 2 (an AP waiting for SIPI) at 0xfff0")
r.cmd("Hg1")
# Ctrl-C while the guest spins.
r.send("vCont;c")
time.sleep(0.3)
r.s.sendall(b"\x03")
stop = r.read_packet()
check(stop.startswith("T02"), "Ctrl-C stops the machine with SIGINT: %r" % stop)
pc = rip(r)
check(SYM["spin"] <= pc < SYM["work"], "still in the spin loop after Ctrl-C (rip %#x)" % pc)
# Release the kernel by writing memory; a breakpoint at poweroff64 stops it there.
check(r.cmd("M%x,8:%s" % (SYM["release"], le64(1))) == "OK", "M: memory written")
check(r.cmd("Z0,%x,1" % SYM["poweroff64"]) == "OK", "Z0 accepted")
stop = r.cmd("c")
check(stop.startswith("T05") and "swbreak" in stop, "breakpoint stop reply: %r" % stop)
check(rip(r) == SYM["poweroff64"], "rip at poweroff64")
check(r.cmd("z0,%x,1" % SYM["poweroff64"]) == "OK", "z0 accepted")
check(r.cmd("Z1,%x,1" % (SYM["poweroff64"] + 4)) == "OK", "Z1 accepted")
stop = r.cmd("c")
check(stop.startswith("T05") and "hwbreak" in stop, "hardware breakpoint stop reply: %r" % stop)
check(rip(r) == SYM["poweroff64"] + 4, "rip at the hardware breakpoint")
check(r.cmd("z1,%x,1" % (SYM["poweroff64"] + 4)) == "OK", "z1 accepted")
stop = r.cmd("vCont;s:1")
check(stop.startswith("T05thread:1;"), "single step reply: %r" % stop)
check(rip(r) == SYM["poweroff64"] + 8, "one instruction (mov $0x3400, %%ax: 4 bytes) stepped: rip %#x" % rip(r))
stop = r.cmd("c")
check(stop == "W00", "power-off is reported as W00: %r" % stop)
r.close()
check(p.wait(timeout=20) == 0, "ember exits 0 after the power-off")

# ---- 2: -S, detach (the machine runs on), reconnect, kill ----
p, port, serial = start("-S")
r = Rsp(port)
check(r.cmd("?").startswith("T05"), "-S: stopped")
check(rip(r) == SYM["_start"], "-S: the BSP at the kernel's entry")
# Continuing from a breakpoint that stays inserted runs past it and stops at its next hit.
check(r.cmd("Z0,%x,1" % SYM["work"]) == "OK", "Z0 at work")
hits = []
for _ in range(3):
    stop = r.cmd("c")
    hits.append((stop.startswith("T05") and "swbreak" in stop and rip(r) == SYM["work"],
                 reg64(r.cmd("m%x,8" % SYM["counter"]))))
check(hits == [(True, 0), (True, 1), (True, 2)], "three hits of an inserted breakpoint: %r" % hits)
check(r.cmd("z0,%x,1" % SYM["work"]) == "OK", "z0 at work")
check(r.cmd("D") == "OK", "detach")
r.close()
check(wait_serial(serial, "waiting for release"), "after detach the machine runs (even with -S)")
r = Rsp(port)
check(r.cmd("?").startswith("T05"), "reconnecting stops it again")
r.send("k")
r.close()
try:
    code = p.wait(timeout=20)
except subprocess.TimeoutExpired:
    p.kill()
    code = "still running"
check(code == 0, "kill ends ember (exit %s)" % code)

if failures:
    for name in ("ember.err", "serial.out"):
        print("----", name)
        print(open(os.path.join(TMP, name)).read())
    sys.exit(1)
print("PASS")
