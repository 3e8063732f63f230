"""torch.cuda.Stream and Event.

A session runs its work on one in-order stream per device (daemon/device.c), so every
Stream object of a process names that stream: work is ordered as written, which is
what code that waits on streams and events relies on.  An Event marks a point in that
order; recording one waits for the work before it, so elapsed_time measures the time
the device took between two events, as seen from the host.
"""
import time

from .. import _C
from .._size import cuda_index

_DC_SYNCHRONIZE = 2


class Stream:
    """torch.cuda.Stream(device=None, priority=0)."""

    def __init__(self, device=None, priority=0, **kwargs):
        self.device_index = cuda_index(device.index if hasattr(device, "index") else device)
        self.priority = priority

    @classmethod
    def _default(cls, index):
        return cls(index)

    @property
    def device(self):
        from .._size import device as _device
        return _device("cuda", self.device_index)

    def synchronize(self):
        _C.device_ctrl(1 + self.device_index, _DC_SYNCHRONIZE)

    def query(self):
        self.synchronize()
        return True

    def wait_event(self, event):
        """Later work on this stream runs after the event: true of one in-order stream."""

    def wait_stream(self, stream):
        """Later work on this stream runs after the other's work so far (the same stream)."""

    def record_event(self, event=None):
        event = event or Event()
        event.record(self)
        return event

    def __eq__(self, other):
        return isinstance(other, Stream) and other.device_index == self.device_index

    def __hash__(self):
        return hash(("cuda-stream", self.device_index))

    def __repr__(self):
        return "<torch.cuda.Stream device=cuda:%d cuda_stream=0x0>" % self.device_index


class Event:
    """torch.cuda.Event(enable_timing=False, blocking=False, interprocess=False)."""

    def __init__(self, enable_timing=False, blocking=False, interprocess=False):
        self.enable_timing = enable_timing
        self._t = None
        self._stream = None

    def record(self, stream=None):
        stream = stream or Stream()
        stream.synchronize()
        self._stream = stream
        self._t = time.perf_counter()

    def query(self):
        return True

    def synchronize(self):
        if self._stream is not None:
            self._stream.synchronize()

    def wait(self, stream=None):
        """Work queued on stream later runs after this event (one in-order stream)."""

    def elapsed_time(self, end_event):
        if not (self.enable_timing and end_event.enable_timing):
            raise RuntimeError("Both events must be created with argument 'enable_timing=True'.")
        if self._t is None or end_event._t is None:
            raise RuntimeError("Both events must be recorded before calculating elapsed time.")
        return (end_event._t - self._t) * 1000.0
