#!/usr/bin/env python3
"""Boot Debian's kernel with the default guest's busybox initramfs under ember-system-x86_64 and check,
through the serial console and QMP, what issue 6 asks of a full boot: the CPU count, a virtio disk read and
write, DHCP, a TCP connection out through slirp to a server on the host's loopback and one in through
hostfwd, QMP commands and events, and a clean power-off (exit status 0).

usage: linux_boot_test.py EMBER_SYSTEM_BINARY ACCEL
The guest comes from $EMBER_GUEST_DIR (vmlinuz, initramfs.cpio.gz), which `./ember test` prepares with
system/pc/boot/default-guest.sh.
"""
import json
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

BOOT_TIMEOUT = 600      # seconds, generous: a loaded 2-core CI machine, TCG
COMMAND_TIMEOUT = 120


def skip(why):
    print("SKIP: " + why)
    sys.exit(0)


def fail(why, transcript=""):
    print("FAIL: " + why)
    if transcript:
        print("---- console (last 3000 bytes) ----")
        print(transcript[-3000:])
    sys.exit(1)


def kvm_usable():
    """Full boots need hardware KVM; say why not when it is missing or only PVM."""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "no usable /dev/kvm on this host"
    if os.path.exists("/sys/module/kvm_pvm"):
        return ("/dev/kvm is served by the PVM hypervisor (kvm_pvm): a stock Linux kernel runs in KVM's "
                "instruction emulator and does not boot")
    return None


class Console:
    """The guest's COM1 on the emulator's stdin/stdout."""

    def __init__(self, proc):
        self.proc = proc
        self.buf = ""
        os.set_blocking(proc.stdout.fileno(), False)

    def read_until(self, pattern, timeout):
        deadline = time.time() + timeout
        regex = re.compile(pattern, re.DOTALL)
        while True:
            m = regex.search(self.buf)
            if m:
                return m
            left = deadline - time.time()
            if left <= 0 or self.proc.poll() is not None:
                # one last read of what is left in the pipe
                self._read(0)
                m = regex.search(self.buf)
                if m:
                    return m
                fail("timed out waiting for %r (emulator %s)" % (
                    pattern, "running" if self.proc.poll() is None else "exited %d" % self.proc.returncode),
                    self.buf)
            self._read(min(left, 1.0))

    def _read(self, timeout):
        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if r:
            data = self.proc.stdout.read(65536)
            if data:
                self.buf += data.decode("utf-8", "replace")

    def run(self, command, timeout=COMMAND_TIMEOUT):
        """Run a shell command in the guest; its output between two markers."""
        marker = "EMBER-%d" % int(time.time() * 1000)
        self.buf = ""
        line = "echo %s-begin; %s; echo %s-end\n" % (marker, command, marker)
        self.proc.stdin.write(line.encode())
        self.proc.stdin.flush()
        m = self.read_until(r"\n%s-begin\r?\n(.*?)%s-end" % (marker, marker), timeout)
        return m.group(1).replace("\r", "")


class Qmp:
    def __init__(self, path):
        deadline = time.time() + 30
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                if time.time() > deadline:
                    fail("cannot connect to QMP at " + path)
                time.sleep(0.1)
        self.file = self.sock.makefile("rw")
        self.events = []
        greeting = self._read()
        if "QMP" not in greeting:
            fail("QMP greeting missing: %r" % greeting)
        self.command("qmp_capabilities")

    def _read(self):
        line = self.file.readline()
        if not line:
            fail("QMP connection closed")
        return json.loads(line)

    def command(self, name, **args):
        msg = {"execute": name, "id": name}
        if args:
            msg["arguments"] = args
        self.file.write(json.dumps(msg) + "\n")
        self.file.flush()
        while True:
            reply = self._read()
            if "event" in reply:
                self.events.append(reply)
                continue
            if reply.get("id") != name:
                fail("QMP reply for the wrong command: %r" % reply)
            if "error" in reply:
                fail("QMP %s failed: %r" % (name, reply))
            return reply["return"]

    def wait_event(self, name, timeout=60):
        deadline = time.time() + timeout
        while True:
            for e in self.events:
                if e["event"] == name:
                    self.events.remove(e)
                    return e
            self.sock.settimeout(max(0.1, deadline - time.time()))
            try:
                reply = self._read()
            except (socket.timeout, TimeoutError):
                fail("no QMP event " + name)
            if "event" in reply:
                self.events.append(reply)
            if time.time() > deadline:
                fail("no QMP event " + name)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    binary, accel = sys.argv[1], sys.argv[2]
    guest = os.environ.get("EMBER_GUEST_DIR")
    if not guest or not os.path.exists(os.path.join(guest, "vmlinuz")):
        skip("no default guest: run ./ember test (it builds one with system/pc/boot/default-guest.sh) "
             "or set EMBER_GUEST_DIR")
    if accel == "kvm":
        why = kvm_usable()
        if why:
            skip(why)

    tmp = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
    disk = os.path.join(tmp, "disk.img")
    with open(disk, "wb") as f:
        f.write(b"ember-disk-sector-0\n".ljust(512, b"\0"))
        f.truncate(4 << 20)
    # A unix socket path must fit sockaddr_un (108 bytes): TEST_TMPDIR is often longer.
    qmp_dir = tempfile.mkdtemp(prefix="ember-boot-", dir="/tmp")
    qmp_path = os.path.join(qmp_dir, "qmp.sock")

    # A server on the host's loopback for the guest's outgoing connection (10.0.2.2 is the host in slirp).
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    out_port = server.getsockname()[1]
    received = []

    def serve():
        conn, _ = server.accept()
        with conn:
            received.append(conn.recv(100))
            conn.sendall(b"host-says-hi\n")

    threading.Thread(target=serve, daemon=True).start()
    fwd_port = free_port()

    cmd = [binary, "-accel", accel, "-m", "512M", "-smp", "2", "-nographic", "-no-reboot",
           "-kernel", os.path.join(guest, "vmlinuz"),
           "-initrd", os.path.join(guest, "initramfs.cpio.gz"),
           "-append", "console=ttyS0 quiet",
           "-drive", "file=%s,format=raw,if=virtio,id=disk0" % disk,
           "-netdev", "user,id=net0,hostfwd=tcp::%d-:7777" % fwd_port,
           "-device", "virtio-net-pci,netdev=net0",
           "-qmp", "unix:%s,server=on,wait=off" % qmp_path]
    print("running: " + " ".join(cmd), flush=True)
    start = time.time()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    con = Console(proc)
    try:
        qmp = Qmp(qmp_path)
        status = qmp.command("query-status")
        if status.get("status") != "running" or status.get("running") is not True:
            fail("query-status: %r" % status)
        cpus = qmp.command("query-cpus-fast")
        if len(cpus) != 2:
            fail("query-cpus-fast: %r" % cpus)
        block = qmp.command("query-block")
        if not any(disk in json.dumps(b) for b in block):
            fail("query-block does not show the disk: %r" % block)

        con.read_until(r"ember guest: ready", BOOT_TIMEOUT)
        print("guest ready after %.1f s" % (time.time() - start), flush=True)
        con.read_until(r"ember# ", 60)   # ash may follow its prompt with a cursor-position query
        if "ember guest: eth0 10.0.2.15/24" not in con.buf and "eth0 10.0.2.15" not in con.run("ip -4 -o addr"):
            fail("DHCP: eth0 did not get 10.0.2.15", con.buf)

        nproc = con.run("nproc").strip()
        if nproc != "2":
            fail("nproc says %r, expected 2" % nproc, con.buf)

        head = con.run("head -c 19 /dev/vda").strip()
        if head != "ember-disk-sector-0":
            fail("disk read: %r" % head, con.buf)
        con.run("echo guest-wrote-this | dd of=/dev/vda bs=512 seek=1 conv=fsync 2>/dev/null; sync")

        reply = con.run("echo guest-says-hi | nc 10.0.2.2 %d" % out_port)
        if "host-says-hi" not in reply or not received or b"guest-says-hi" not in received[0]:
            fail("TCP out through slirp: guest got %r, host got %r" % (reply, received), con.buf)

        con.run("(echo guest-listens | nc -l -p 7777 >/dev/null &); sleep 1")
        with socket.create_connection(("127.0.0.1", fwd_port), timeout=30) as s:
            s.settimeout(30)
            data = b""
            while b"\n" not in data:
                chunk = s.recv(100)
                if not chunk:
                    break
                data += chunk
        if b"guest-listens" not in data:
            fail("TCP in through hostfwd: got %r" % data, con.buf)

        qmp.command("stop")
        qmp.wait_event("STOP")
        if qmp.command("query-status").get("status") != "paused":
            fail("query-status after stop is not paused")
        qmp.command("cont")
        qmp.wait_event("RESUME")
        qmp.command("system_powerdown")
        qmp.wait_event("POWERDOWN")

        proc.stdin.write(b"poweroff -f\n")
        proc.stdin.flush()
        shutdown = qmp.wait_event("SHUTDOWN", 120)
        if shutdown["data"].get("guest") is not True:
            fail("SHUTDOWN event not from the guest: %r" % shutdown)
        rc = proc.wait(timeout=60)
        if rc != 0:
            fail("exit status %d after the guest powered off" % rc, con.buf)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(qmp_dir, ignore_errors=True)   # /tmp outlives the test's own TEST_TMPDIR
    with open(disk, "rb") as f:
        f.seek(512)
        if not f.read(17).startswith(b"guest-wrote-this"):
            fail("disk write did not reach the image file")
    print("PASS: %s boot, 2 CPUs, disk read/write, DHCP, TCP out and in, QMP, power-off in %.1f s"
          % (accel, time.time() - start))


if __name__ == "__main__":
    main()
