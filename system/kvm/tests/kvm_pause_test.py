"""QMP stop/cont under -accel kvm through the whole binary.

    kvm_pause_test.py BINARY TICK_GUEST HALT_GUEST

The tick guest prints '.' on COM1 in a loop, so its vCPU is inside KVM_RUN running guest code; the halt guest
prints 'H' and halts with interrupts off, so its vCPU sleeps in the kernel's HLT. For each: stop must come
back (STOP event, status paused) because the vCPU thread is kicked out of KVM_RUN, the tick guest's output
must not grow while paused and must grow again after cont, and quit must end the process with status 0.
Skips, saying why, where /dev/kvm is missing.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def wait_for(cond, timeout, what):
    deadline = time.time() + timeout
    while not cond():
        if time.time() > deadline:
            fail("timed out waiting for " + what)
        time.sleep(0.05)


class Qmp:
    def __init__(self, path, proc):
        wait_for(lambda: os.path.exists(path) or proc.poll() is not None, 30, "the QMP socket")
        if proc.poll() is not None:
            fail("the emulator exited (status %d) before QMP was up" % proc.returncode)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(30)
        self.sock.connect(path)
        self.file = self.sock.makefile("rw")
        self.events = []
        if "QMP" not in self.read():
            fail("no QMP greeting")
        self.execute("qmp_capabilities")

    def read(self):
        try:
            line = self.file.readline()
        except TimeoutError:
            fail("QMP: no answer within 30 s (a vCPU that was not kicked out of KVM_RUN never parks)")
        if not line:
            fail("QMP connection closed")
        return json.loads(line)

    def execute(self, name):
        self.file.write(json.dumps({"execute": name, "id": name}) + "\n")
        self.file.flush()
        while True:
            msg = self.read()
            if "event" in msg:
                self.events.append(msg["event"])
            elif msg.get("id") == name:
                if "error" in msg:
                    fail("%s: %r" % (name, msg["error"]))
                return msg["return"]

    def wait_event(self, name, timeout=10):
        deadline = time.time() + timeout
        while name not in self.events:
            if time.time() > deadline:
                fail("no %s event within %ds" % (name, timeout))
            self.events.append(self.read()["event"])
        self.events.remove(name)

    def status(self):
        return self.execute("query-status")["status"]


def run(binary, kernel, ticking, tmp):
    serial = os.path.join(tmp, "serial.out")
    sock = os.path.join(tmp, "qmp.sock")
    proc = subprocess.Popen([binary, "-accel", "kvm", "-display", "none", "-serial", "file:" + serial,
                             "-qmp", "unix:%s,server=on,wait=off" % sock, "-kernel", kernel],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        qmp = Qmp(sock, proc)
        size = lambda: os.path.getsize(serial) if os.path.exists(serial) else 0
        wait_for(lambda: size() > 0, 60, "the guest's first output")
        if qmp.status() != "running":
            fail("not running after boot")
        for round in range(2):
            qmp.execute("stop")
            qmp.wait_event("STOP")
            if qmp.status() != "paused":
                fail("status after stop is not paused")
            if ticking:
                time.sleep(0.2)   # let output already in the UART's FIFO drain
                before = size()
                time.sleep(0.5)
                if size() != before:
                    fail("the guest kept printing while paused (%d -> %d bytes)" % (before, size()))
            qmp.execute("cont")
            qmp.wait_event("RESUME")
            if qmp.status() != "running":
                fail("status after cont is not running")
            if ticking:
                wait_for(lambda: size() > before, 30, "output after cont (round %d)" % round)
        qmp.execute("quit")
        try:
            rc = proc.wait(20)
        except subprocess.TimeoutExpired:
            fail("quit did not end the process")
        if rc != 0:
            fail("exit status %d after quit: %s" % (rc, proc.stdout.read().decode(errors="replace")))
        print("ok   %s: stop/cont twice, quit" % os.path.basename(kernel))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def main():
    binary, tick, halt = sys.argv[1:4]
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        print("SKIP: /dev/kvm is missing or not accessible: no KVM on this host")
        return
    tmp = tempfile.mkdtemp(prefix="ember-kvm-", dir="/tmp")   # unix socket paths are short
    try:
        run(binary, tick, True, tmp)
        shutil.rmtree(tmp)
        os.mkdir(tmp)
        run(binary, halt, False, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


main()
