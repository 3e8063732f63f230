"""The key-value stores process groups meet at (torch.distributed.Store and its kinds):
Store, the interface every rank calls; HashStore, one process's table; PrefixStore, a key
space inside another store; FileStore, a table in a file the processes share.  TCPStore (tcp_store.py) serves a table to the ranks over
TCP.  Values are bytes; `add` keeps ASCII numbers, as torch's stores do."""
import struct
import threading
from datetime import timedelta

__all__ = ["Store", "HashStore", "PrefixStore", "FileStore"]


class _Table:
    """Keys and values with blocking reads: what a HashStore holds and a TCPStore's master
    serves.  answer() returns the result, or the exception the asker raises."""

    def __init__(self):
        self.data = {}
        self.cond = threading.Condition()

    def answer(self, op, keys, value, amount, timeout):
        if op not in ("wait", "check", "num_keys") and len(keys) != 1:
            return ValueError("store request %s takes one key" % op)
        key = keys[0] if keys else None
        with self.cond:
            if op == "set":
                self.data[key] = value
                self.cond.notify_all()
                return None
            if op == "add":
                try:
                    now = int(self.data.get(key, b"0")) + amount
                except ValueError:
                    return ValueError("store key %r does not hold a number" % key)
                self.data[key] = str(now).encode()
                self.cond.notify_all()
                return now
            if op == "compare_set":  # value: u32 length, the expected value, the desired one
                n = struct.unpack_from("<I", value)[0] if len(value) >= 4 else len(value)
                if n > len(value) - 4:
                    return ValueError("malformed compare_set request")
                expected, desired = value[4:4 + n], value[4 + n:]
                now = self.data.get(key)
                if (now is None and expected == b"") or (now is not None and now == expected):
                    self.data[key] = now = desired
                    self.cond.notify_all()
                return expected if now is None else now
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


def _seconds(timeout):
    return timeout.total_seconds() if isinstance(timeout, timedelta) else float(timeout)


class Store:
    """set/get/add/wait/check/delete_key/num_keys over _ask(op, keys, value, amount), which
    each kind of store implements."""

    def __init__(self, timeout=timedelta(seconds=300)):
        self._seconds = _seconds(timeout)

    def _ask(self, op, keys=(), value=b"", amount=0):
        raise NotImplementedError

    @property
    def timeout(self):
        return timedelta(seconds=self._seconds)

    def set_timeout(self, timeout):
        self._seconds = _seconds(timeout)

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

    def compare_set(self, key, expected_value, desired_value):
        """Sets key to desired_value if it holds expected_value (or is absent and
        expected_value is empty); the value the key holds after."""
        expected = self._bytes(expected_value)
        return self._ask("compare_set", [key], struct.pack("<I", len(expected)) + expected + self._bytes(desired_value))

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
        """What the master does before it closes (a TCPStore's serving rank waits for the
        others' connections to close); nothing for stores without connections."""

    def close(self):
        pass


def raise_failure(v):
    """A table's answer, or the exception it stands for raised as the asker sees it."""
    if isinstance(v, TimeoutError):
        raise RuntimeError(str(v))
    if isinstance(v, Exception):
        raise v
    return v


class HashStore(Store):
    """A store inside this process (threads of one process meet at it)."""

    def __init__(self):
        super().__init__()
        self._table = _Table()

    def _ask(self, op, keys=(), value=b"", amount=0):
        return raise_failure(self._table.answer(op, list(keys), value, amount, self._seconds))


class PrefixStore(Store):
    """PrefixStore(prefix, store): the keys of `store` that start with "prefix/"."""

    def __init__(self, prefix, store):
        super().__init__(store.timeout)
        self.prefix, self.underlying_store = prefix, store

    def _ask(self, op, keys=(), value=b"", amount=0):
        return self.underlying_store._ask(op, ["%s/%s" % (self.prefix, k) for k in keys], value, amount)


class FileStore(Store):
    """FileStore(file_name, world_size=-1): a store in a file that the processes of one
    machine (or a shared file system with working locks) open by name.  The file is a log
    of records — a key set (or deleted) and user arrivals and departures — appended under
    an exclusive flock; each store replays what others appended since its last look.  As
    torch's, the file is removed when its last user closes it (close(), or the object
    being collected), so a finished job leaves nothing for the next to trip over."""

    _SET, _DELETE, _USERS = 0, 1, 2
    _HEAD = struct.Struct("<BI")

    def __init__(self, file_name, world_size=-1, timeout=timedelta(seconds=300)):
        import os
        super().__init__(timeout)
        self.path, self.world_size = file_name, world_size
        self._table, self._offset, self._users = _Table(), 0, 0
        self._fd = os.open(file_name, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        try:
            with self._locked():
                self._replay()
                self._append(self._USERS, "", struct.pack("<i", 1))
        except BaseException:
            os.close(self._fd)
            self._fd = None
            raise

    def _locked(self):
        import contextlib
        import fcntl

        @contextlib.contextmanager
        def held():
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        return held()

    def _replay(self):
        """Applies the records others appended since this store last read the file."""
        import os
        size = os.fstat(self._fd).st_size
        if size <= self._offset:
            return
        blob = os.pread(self._fd, size - self._offset, self._offset)
        at = 0
        while at + self._HEAD.size <= len(blob):
            try:
                kind, klen = self._HEAD.unpack_from(blob, at)
                key = blob[at + self._HEAD.size:at + self._HEAD.size + klen].decode()
                (vlen,) = struct.unpack_from("<I", blob, at + self._HEAD.size + klen)
            except (struct.error, UnicodeDecodeError):
                kind = None
            end = at + self._HEAD.size + (klen if kind is not None else 0) + 4 + (vlen if kind is not None else 0)
            if kind not in (self._SET, self._DELETE, self._USERS) or end > len(blob) or \
                    (kind == self._USERS and vlen != 4):
                raise RuntimeError("FileStore: %s is not a store file (or was damaged) at byte %d"
                                   % (self.path, self._offset + at))
            value = blob[end - vlen:end]
            at = end
            if kind == self._SET:
                self._table.data[key] = value
            elif kind == self._DELETE:
                self._table.data.pop(key, None)
            else:
                self._users += struct.unpack("<i", value)[0]
        self._offset += at

    def _append(self, kind, key, value):
        import os
        kb = key.encode()
        record = self._HEAD.pack(kind, len(kb)) + kb + struct.pack("<I", len(value)) + value
        os.write(self._fd, record)
        self._replay()  # our own record, and the offset past it

    def _ask(self, op, keys=(), value=b"", amount=0):
        import time
        deadline, pause = time.monotonic() + self._seconds, 0.0005
        while True:
            with self._locked():
                self._replay()
                before = {k: self._table.data.get(k) for k in keys}
                answer = self._table.answer(op, list(keys), value, amount, 0)
                if not (isinstance(answer, TimeoutError) and op in ("get", "take", "wait")):
                    for k in keys:
                        now = self._table.data.get(k)
                        if now != before[k]:
                            if now is None:
                                self._append(self._DELETE, k, b"")
                            else:
                                self._append(self._SET, k, now)
                    return raise_failure(answer)
            if time.monotonic() > deadline:
                return raise_failure(answer)
            time.sleep(pause)
            pause = min(pause * 2, 0.01)

    def close(self):
        """This user leaves; the last one removes the file."""
        import os
        if self._fd is None:
            return
        try:
            with self._locked():
                self._replay()
                self._append(self._USERS, "", struct.pack("<i", -1))
                if self._users <= 0:
                    os.unlink(self.path)
        except (OSError, RuntimeError):
            pass  # a damaged file: this user just leaves
        finally:
            os.close(self._fd)
            self._fd = None

    def __del__(self):
        if getattr(self, "_fd", None) is not None:
            self.close()
