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

from .store import Store, _Table

__all__ = ["TCPStore"]

# The wire.  A request: op (u8), timeout in seconds (f64, < 0: none), amount (i64), the key
# count (i16), each key (u32 length + UTF-8), the value (u32 length + bytes).  An answer: a
# kind (u8: none, bytes, int, bool, timeout, error) and its payload (bytes or UTF-8 text
# behind a u32 length, an i64, a u8).
_OPS = ("set", "get", "take", "add", "wait", "check", "delete", "num_keys", "compare_set")
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
        self.table = _Table()
        self.connections = 0
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
        cond = self.table.cond
        with cond:
            self.connections += 1
        try:
            while True:
                _send_answer(conn, self.table.answer(*_recv_request(conn)))
        except (ConnectionError, OSError, struct.error, UnicodeDecodeError):
            conn.close()
        finally:
            with cond:
                self.connections -= 1
                cond.notify_all()

    def wait_connections(self, n, timeout):
        with self.table.cond:
            return self.table.cond.wait_for(lambda: self.connections <= n, timeout)

    def close(self):
        self.sock.close()


class TCPStore(Store):
    """TCPStore(host_name, port, world_size=None, is_master=False, timeout=timedelta(seconds=300),
    wait_for_workers=True): set/get/add/wait/delete_key/check/num_keys as torch's.  port 0 on
    the master picks a free port (see .port)."""

    def __init__(self, host_name, port, world_size=None, is_master=False, timeout=timedelta(seconds=300),
                 wait_for_workers=True, multi_tenant=False):
        super().__init__(timeout)
        self.host, self.world_size = host_name, world_size
        self._server = _Server(host_name, port) if is_master else None
        self.port = self._server.port if self._server else port
        self._lock = threading.Lock()
        deadline = time.monotonic() + self._seconds
        while True:
            try:
                self._sock = socket.create_connection((host_name, self.port), timeout=self._seconds)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("tensord.distributed: cannot reach the store at %s:%d" % (host_name, self.port))
                time.sleep(0.05)
        self._sock.settimeout(None)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _ask(self, op, keys=(), value=b"", amount=0):
        with self._lock:
            _send_request(self._sock, op, list(keys), value, amount, self._seconds)
            return _recv_answer(self._sock)

    def wait_for_others_to_leave(self):
        """On the master: until every other client closed its connection (or the timeout),
        so that no answer the others wait for is lost with this process."""
        if self._server:
            self._server.wait_connections(1, self._seconds)

    def close(self):
        self._sock.close()
        if self._server:
            self._server.close()
