"""A minimal GDB remote protocol client for the stub tests (acknowledgement mode, one packet at a time)."""
import socket


class Rsp:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = b""

    def _byte(self):
        while not self.buf:
            data = self.s.recv(4096)
            if not data:
                raise EOFError("connection closed")
            self.buf += data
        b, self.buf = self.buf[:1], self.buf[1:]
        return b

    def read_packet(self):
        while self._byte() != b"$":
            pass
        data = b""
        while True:
            c = self._byte()
            if c == b"#":
                break
            data += c
        csum = self._byte() + self._byte()
        assert int(csum, 16) == sum(data) & 0xff, "bad checksum"
        self.s.sendall(b"+")
        return data.decode("latin-1")

    def send(self, text):
        data = text.encode("latin-1")
        self.s.sendall(b"$" + data + b"#%02x" % (sum(data) & 0xff))
        while self._byte() != b"+":
            pass

    def cmd(self, text):
        self.send(text)
        return self.read_packet()

    def close(self):
        self.s.close()


def read_output(f):
    """What a child process has written to the file f so far. Read through a descriptor of our own: f shares
    its file offset with the child's stdout or stderr, so seeking f would move where the child writes next,
    and its next bytes would overwrite the start of the file."""
    with open(f.name, errors="replace") as r:
        return r.read()
