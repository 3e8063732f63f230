"""TCPStore, as torch.distributed.TCPStore: a small key-value server that the ranks of a
process group meet at.  The master (rank 0) serves it from a thread; every rank, the
master included, talks to it over one TCP connection.  Requests and answers are pickled
tuples behind a 4-byte length; `get` and `wait` block in the server until the key exists.
It carries rendezvous data and the capability tokens of the collectives (distributed_c10d),
never tensor bytes."""
import pickle
import socket
import struct
import threading
import time
from datetime import timedelta

__all__ = ["TCPStore"]


def _send(sock, obj):
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(struct.pack("<I", len(data)) + data)


def _recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("tensord.distributed: the store's connection closed")
        buf += chunk
    return bytes(buf)


def _recv(sock):
    (n,) = struct.unpack("<I", _recv_exact(sock, 4))
    return pickle.loads(_recv_exact(sock, n))


class _Server:
    def __init__(self, host, port):
        self.data = {}
        self.cond = threading.Condition()
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True, name="tensord-store").start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._serve, args=(conn,), daemon=True, name="tensord-store-conn").start()

    def _serve(self, conn):
        try:
            while True:
                _send(conn, self._answer(*_recv(conn)))
        except (ConnectionError, OSError, EOFError, struct.error, pickle.UnpicklingError):
            conn.close()

    def _answer(self, op, key=None, value=None, timeout=None):
        with self.cond:
            if op == "set":
                self.data[key] = value
                self.cond.notify_all()
                return None
            if op == "add":
                self.data[key] = int(self.data.get(key, 0)) + value
                self.cond.notify_all()
                return self.data[key]
            if op == "delete":
                return self.data.pop(key, None) is not None
            if op == "check":
                return all(k in self.data for k in key)
            if op == "num_keys":
                return len(self.data)
            if op in ("get", "take", "wait"):
                keys = [key] if op != "wait" else key
                if not self.cond.wait_for(lambda: all(k in self.data for k in keys), timeout):
                    return TimeoutError("Timeout waiting for key %r in the store" % (keys,))
                if op == "wait":
                    return None
                return self.data.pop(key) if op == "take" else self.data[key]
            return ValueError("unknown store request %r" % (op,))

    def close(self):
        self.sock.close()


class TCPStore:
    """TCPStore(host_name, port, world_size=None, is_master=False, timeout=timedelta(seconds=300),
    wait_for_workers=True): set/get/add/wait/delete_key/check/num_keys as torch's.  port 0 on
    the master picks a free port (see .port)."""

    def __init__(self, host_name, port, world_size=None, is_master=False, timeout=timedelta(seconds=300),
                 wait_for_workers=True, multi_tenant=False):
        self.host, self.world_size = host_name, world_size
        self.timeout = timeout.total_seconds() if isinstance(timeout, timedelta) else float(timeout)
        self._server = _Server(host_name, port) if is_master else None
        self.port = self._server.port if self._server else port
        self._lock = threading.Lock()
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                self._sock = socket.create_connection((host_name, self.port), timeout=self.timeout)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("tensord.distributed: cannot reach the store at %s:%d" % (host_name, self.port))
                time.sleep(0.05)
        self._sock.settimeout(None)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _ask(self, op, key=None, value=None):
        with self._lock:
            _send(self._sock, (op, key, value, self.timeout))
            answer = _recv(self._sock)
        if isinstance(answer, Exception):
            raise RuntimeError(str(answer)) if isinstance(answer, TimeoutError) else answer
        return answer

    @staticmethod
    def _bytes(value):
        return value.encode() if isinstance(value, str) else bytes(value)

    def set(self, key, value):
        self._ask("set", key, self._bytes(value))

    def get(self, key):
        return self._ask("get", key)

    def _take(self, key):
        """get, then delete: a key with exactly one reader (a collective's token)."""
        return self._ask("take", key)

    def add(self, key, amount):
        return self._ask("add", key, int(amount))

    def wait(self, keys, timeout=None):
        self._ask("wait", list(keys))

    def check(self, keys):
        return self._ask("check", list(keys))

    def delete_key(self, key):
        return self._ask("delete", key)

    def num_keys(self):
        return self._ask("num_keys")

    def close(self):
        self._sock.close()
        if self._server:
            self._server.close()
