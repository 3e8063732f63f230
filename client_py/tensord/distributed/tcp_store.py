"""TCPStore, as torch.distributed.TCPStore: a small key-value server that the ranks of a
process group meet at.  The master (rank 0) serves it from a thread; every rank, the
master included, talks to it over one TCP connection, in a small binary format (never
pickle: the master runs nothing a connection sends); `get` and `wait` block in the server
until the key exists.  As torch's, it does not authenticate: keep MASTER_ADDR on loopback
or a trusted network.  It carries rendezvous data and the capability tokens of the
collectives (distributed_c10d), never tensor bytes."""
import socket
import struct
import threading
import time
from datetime import timedelta

__all__ = ["TCPStore"]

# The wire.  A request: op (u8), timeout in seconds (f64, < 0: none), amount (i64), the key
# count (i16), each key (u32 length + UTF-8), the value (u32 length + bytes).  An answer: a
# kind (u8: none, bytes, int, bool, timeout, error) and its payload (bytes or UTF-8 text
# behind a u32 length, an i64, a u8).
_OPS = ("set", "get", "take", "add", "wait", "check", "delete", "num_keys")
_NONE, _BYTES, _INT, _BOOL, _TIMEOUT, _ERROR = range(6)
_HEAD = struct.Struct("<Bdqh")
_MAX_FRAME = 1 << 30


def _recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(min(n - len(buf), 1 << 20))
        if not chunk:
            raise ConnectionError("tensord.distributed: the store's connection closed")
        buf += chunk
    return bytes(buf)


def _recv_blob(sock):
    (n,) = struct.unpack("<I", _recv_exact(sock, 4))
    if n > _MAX_FRAME:
        raise ConnectionError("tensord.distributed: oversized store frame")
    return _recv_exact(sock, n)


def _send_request(sock, op, keys, value, amount, timeout):
    parts = [_HEAD.pack(_OPS.index(op), -1.0 if timeout is None else timeout, amount, len(keys))]
    for k in keys:
        kb = k.encode()
        parts.append(struct.pack("<I", len(kb)) + kb)
    parts.append(struct.pack("<I", len(value)) + value)
    sock.sendall(b"".join(parts))


def _recv_request(sock):
    op, timeout, amount, nkeys = _HEAD.unpack(_recv_exact(sock, _HEAD.size))
    if op >= len(_OPS) or nkeys < 0:
        raise ConnectionError("tensord.distributed: malformed store request")
    keys = [_recv_blob(sock).decode() for _ in range(nkeys)]
    return _OPS[op], keys, _recv_blob(sock), amount, (None if timeout < 0 else timeout)


def _send_answer(sock, v):
    if v is None:
        sock.sendall(struct.pack("<B", _NONE))
    elif isinstance(v, bool):
        sock.sendall(struct.pack("<BB", _BOOL, v))
    elif isinstance(v, int):
        sock.sendall(struct.pack("<Bq", _INT, v))
    elif isinstance(v, bytes):
        sock.sendall(struct.pack("<BI", _BYTES, len(v)) + v)
    else:
        text = str(v).encode()
        sock.sendall(struct.pack("<BI", _TIMEOUT if isinstance(v, TimeoutError) else _ERROR, len(text)) + text)


def _recv_answer(sock):
    (kind,) = struct.unpack("<B", _recv_exact(sock, 1))
    if kind == _NONE:
        return None
    if kind == _BOOL:
        return bool(_recv_exact(sock, 1)[0])
    if kind == _INT:
        return struct.unpack("<q", _recv_exact(sock, 8))[0]
    blob = _recv_blob(sock)
    if kind == _BYTES:
        return blob
    raise RuntimeError(blob.decode()) if kind == _TIMEOUT else ValueError(blob.decode())


class _Server:
    def __init__(self, host, port):
        self.data = {}
        self.connections = 0
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
        with self.cond:
            self.connections += 1
        try:
            while True:
                _send_answer(conn, self._answer(*_recv_request(conn)))
        except (ConnectionError, OSError, struct.error, UnicodeDecodeError):
            conn.close()
        finally:
            with self.cond:
                self.connections -= 1
                self.cond.notify_all()

    def wait_connections(self, n, timeout):
        with self.cond:
            return self.cond.wait_for(lambda: self.connections <= n, timeout)

    def _answer(self, op, keys, value, amount, timeout):
        if op not in ("wait", "check", "num_keys") and len(keys) != 1:
            return ValueError("store request %s takes one key" % op)
        key = keys[0] if keys else None
        with self.cond:
            if op == "set":
                self.data[key] = value
                self.cond.notify_all()
                return None
            if op == "add":  # counters are ASCII numbers, as torch's store keeps them
                try:
                    now = int(self.data.get(key, b"0")) + amount
                except ValueError:
                    return ValueError("store key %r does not hold a number" % key)
                self.data[key] = str(now).encode()
                self.cond.notify_all()
                return now
            if op == "delete":
                return self.data.pop(key, None) is not None
            if op == "check":
                return all(k in self.data for k in keys)
            if op == "num_keys":
                return len(self.data)
            want = keys if op == "wait" else [key]  # get, take, wait
            if not self.cond.wait_for(lambda: all(k in self.data for k in want), timeout):
                return TimeoutError("Timeout waiting for key %r in the store" % (want if op == "wait" else key,))
            if op == "wait":
                return None
            return self.data.pop(key) if op == "take" else self.data[key]

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

    def _ask(self, op, keys=(), value=b"", amount=0):
        with self._lock:
            _send_request(self._sock, op, list(keys), value, amount, self.timeout)
            return _recv_answer(self._sock)

    @staticmethod
    def _bytes(value):
        return value.encode() if isinstance(value, str) else bytes(value)

    def set(self, key, value):
        self._ask("set", [key], self._bytes(value))

    def get(self, key):
        return self._ask("get", [key])

    def _take(self, key):
        """get, then delete: a key with exactly one reader (a collective's token)."""
        return self._ask("take", [key])

    def add(self, key, amount):
        return self._ask("add", [key], amount=int(amount))

    def wait(self, keys, timeout=None):
        self._ask("wait", list(keys))

    def check(self, keys):
        return self._ask("check", list(keys))

    def delete_key(self, key):
        return self._ask("delete", [key])

    def num_keys(self):
        return self._ask("num_keys")

    def wait_for_others_to_leave(self):
        """On the master: until every other client closed its connection (or the timeout),
        so that no answer the others wait for is lost with this process."""
        if self._server:
            self._server.wait_connections(1, self.timeout)

    def close(self):
        self._sock.close()
        if self._server:
            self._server.close()
