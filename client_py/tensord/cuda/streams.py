"""torch.cuda.Stream and Event over the daemon's streams (docs/design/devices.md, Streams).

Each device has a default stream (id 0) and the streams this process creates (ids the
daemon's session knows; libtensord picks them).  The current stream of a device is where
the session's later kernels, copies and allocations on that device go; stream(s) makes
s current for a block.  Events mark points in a stream: another stream can wait for
them, the host can query or wait for them, and two timing events measure the device time
between them.  Reading a tensor waits for every stream of its device, so results are
complete whatever stream computed them; ordering between streams is the program's to
state with wait_event / wait_stream, as in PyTorch.  Streams and events belong to the
process's session: the daemon frees what is left when it ends (a forked child starts
with default streams only).
"""
import os

from .. import _C
from .._size import cuda_index, cuda_ordinal, _cuda

_SC_CREATE, _SC_DESTROY, _SC_SET_CURRENT, _SC_WAIT_EVENT, _SC_QUERY, _SC_SYNCHRONIZE = range(6)
_EC_CREATE, _EC_DESTROY, _EC_RECORD, _EC_QUERY, _EC_SYNCHRONIZE, _EC_ELAPSED = range(6)
_EVENT_TIMING = 1

_state = {"pid": None, "current": {}}  # device index -> its current Stream (absent: the default)


def _current_map():
    if _state["pid"] != os.getpid():  # a forked child's session has only default streams
        _state["pid"] = os.getpid()
        _state["current"] = {}
    return _state["current"]




class Stream:
    """torch.cuda.Stream(device=None, priority=0): a new stream on the device."""

    def __new__(cls, device=None, priority=0, _id=None, **kwargs):
        self = super().__new__(cls)
        self.device_index = cuda_ordinal(device)
        self.priority = priority
        self._pid = os.getpid()
        if _id is None:
            self.stream_id = _C.stream_ctrl(_SC_CREATE, 1 + self.device_index, 0, 0)
            self._owned = True
        else:
            self.stream_id = _id
            self._owned = False
        return self

    def __init__(self, device=None, priority=0, **kwargs):
        pass

    @classmethod
    def _default(cls, index):
        return cls(index, _id=0)

    @property
    def device(self):
        from .._size import device as _device
        return _device("cuda", self.device_index)

    @property
    def cuda_stream(self):
        return self.stream_id

    def _ctrl(self, what, other=0):
        return _C.stream_ctrl(what, 1 + self.device_index, self.stream_id, other)

    def query(self):
        """Whether all work queued on the stream has completed."""
        return self._ctrl(_SC_QUERY)

    def synchronize(self):
        """Waits for all work queued on the stream."""
        self._ctrl(_SC_SYNCHRONIZE)

    def wait_event(self, event):
        """Work queued on this stream later runs after the event's point."""
        event.wait(self)

    def wait_stream(self, stream):
        """Work queued on this stream later runs after the work queued on stream so far."""
        self.wait_event(stream.record_event())

    def record_event(self, event=None):
        event = event if event is not None else Event()
        event.record(self)
        return event

    def __eq__(self, other):
        return (isinstance(other, Stream) and other.device_index == self.device_index
                and other.stream_id == self.stream_id)

    def __hash__(self):
        return hash(("cuda-stream", self.device_index, self.stream_id))

    def __repr__(self):
        return "<torch.cuda.Stream device=cuda:%d cuda_stream=0x%x>" % (self.device_index, self.stream_id)

    def __del__(self):
        if getattr(self, "_owned", False) and self._pid == os.getpid():
            try:
                _C.stream_ctrl(_SC_DESTROY, 1 + self.device_index, self.stream_id, 0)
            except Exception:  # interpreter shutdown, closed session: the daemon frees it
                pass


class Event:
    """torch.cuda.Event(enable_timing=False, blocking=False, interprocess=False).

    Made in the daemon on its first record, on that stream's device; one never recorded
    counts as complete."""

    def __init__(self, enable_timing=False, blocking=False, interprocess=False):
        if interprocess:
            raise RuntimeError("interprocess events are not supported by tensord")
        self.enable_timing = enable_timing
        self.blocking = blocking
        self.event_id = None
        self.device_index = None
        self._pid = os.getpid()

    @property
    def device(self):
        if self.device_index is None:
            return None
        from .._size import device as _device
        return _device("cuda", self.device_index)

    def record(self, stream=None):
        """Marks the point of stream's queued work (the current stream by default)."""
        if stream is None:
            stream = current_stream()
        if self.device_index is not None and self.device_index != stream.device_index:
            raise RuntimeError("Event device index %d does not match recording stream's device index %d."
                               % (self.device_index, stream.device_index))
        if self.event_id is None:
            self.event_id = _C.event_ctrl(_EC_CREATE, 0, 0, _EVENT_TIMING if self.enable_timing else 0)
        _C.event_ctrl(_EC_RECORD, 1 + stream.device_index, self.event_id, stream.stream_id)
        self.device_index = stream.device_index

    def wait(self, stream=None):
        """Work queued on stream later (the current stream by default) runs after this point."""
        if stream is None:
            stream = current_stream()
        if self.event_id is not None:
            _C.stream_ctrl(_SC_WAIT_EVENT, 1 + stream.device_index, stream.stream_id, self.event_id)

    def query(self):
        if self.event_id is None:
            return True
        return _C.event_ctrl(_EC_QUERY, 0, self.event_id, 0)

    def synchronize(self):
        if self.event_id is not None:
            _C.event_ctrl(_EC_SYNCHRONIZE, 0, self.event_id, 0)

    def elapsed_time(self, end_event):
        """Milliseconds of device time between this event and end_event."""
        if not (self.enable_timing and end_event.enable_timing):
            raise RuntimeError("Both events must be created with argument 'enable_timing=True'.")
        if self.event_id is None or end_event.event_id is None:
            raise RuntimeError("Both events must be recorded before calculating elapsed time.")
        return _C.event_ctrl(_EC_ELAPSED, 0, self.event_id, end_event.event_id)

    def __repr__(self):
        return "<torch.cuda.Event %s>" % ("uninitialized" if self.event_id is None else "0x%x" % self.event_id)

    def __del__(self):
        if getattr(self, "event_id", None) is not None and self._pid == os.getpid():
            try:
                _C.event_ctrl(_EC_DESTROY, 0, self.event_id, 0)
            except Exception:
                pass


def current_stream(device=None):
    """The stream the device's work goes to now (its default stream unless set)."""
    i = cuda_ordinal(device)
    s = _current_map().get(i)
    return s if s is not None else Stream._default(i)


def default_stream(device=None):
    return Stream._default(cuda_ordinal(device))


def set_stream(stream):
    """Makes stream current on its device, and its device the current one (as torch)."""
    if stream is None:
        return
    _C.stream_ctrl(_SC_SET_CURRENT, 1 + stream.device_index, stream.stream_id, 0)
    m = _current_map()
    if stream.stream_id == 0:
        m.pop(stream.device_index, None)
    else:
        m[stream.device_index] = stream
    _cuda["current"] = stream.device_index


class StreamContext:
    """torch.cuda.stream(s): s is the current stream (and its device the current device)
    inside the block; both are restored after.  None does nothing."""

    def __init__(self, stream):
        if stream is not None and not isinstance(stream, Stream):
            raise TypeError("stream() expects a torch.cuda.Stream")
        self.stream = stream

    def __enter__(self):
        s = self.stream
        if s is None:
            return None
        self.src_prev = current_stream()
        self.dst_prev = current_stream(s.device_index) if s.device_index != self.src_prev.device_index else None
        set_stream(s)
        return s

    def __exit__(self, *exc):
        if self.stream is None:
            return False
        if self.dst_prev is not None:
            set_stream(self.dst_prev)
        set_stream(self.src_prev)
        return False


def stream(s):
    return StreamContext(s)


def record_stream(tensor, stream):
    """Tensor.record_stream: tensor's memory is also used by work on stream."""
    if not isinstance(stream, Stream):
        raise TypeError("record_stream(): argument 'stream' must be torch.cuda.Stream")
    if tensor.device.type == "cuda" and tensor.device.index != stream.device_index:
        raise RuntimeError("record_stream: the stream is on cuda:%d, the tensor on %s"
                           % (stream.device_index, tensor.device))
    _C.record_stream(tensor, stream.stream_id)
