"""torch.autograd.profiler for tensord: ranges timed on the daemon's clock of work, and
the daemon's own per-op times.

A range — record_function("name"), a profiler step, a module's forward with
with_modules — is timed from a sync at its start to a sync at its end, so its time is
what the daemon spent on the ops recorded inside it (plus the round trips), not the
microseconds Python took to record them.  While a profile runs, the daemon also counts
every op it executes for the session and its time (the PROFILE record); each range
boundary's sync collects those counts and charges them to the innermost open range as
op events ("tensord::add": count, time).  Ranges nest; a range's self time is its time
less its children's, ops included.  key_averages() groups the events by name into a
table like torch's; export_chrome_trace writes the ranges in the Chrome trace format."""
import json
import os
import threading
import time

__all__ = ["EventList", "FunctionEvent", "FunctionEventAvg", "profile", "record_function"]

_active = []  # the recorders collecting events, innermost last
_local = threading.local()
_op_names = {}


def _now_us():
    return time.perf_counter_ns() / 1000.0


def _op_name(op):
    if not _op_names:
        from .. import _op_numbers
        _op_names.update({v: "tensord::" + k.lower() for k, v in vars(_op_numbers).items()
                          if isinstance(v, int) and k.isupper()})
    return _op_names.get(op, "tensord::op%d" % op)


def _daemon_profile(mode):
    """PROFILE (a sync): the ops the daemon ran since the last one, [(op, count, ns)]."""
    from .. import _C, _daemon
    _daemon.ensure()
    return _C.profile(mode)


def _sync():
    """A sync that collects the daemon's op counts, charged to this thread's innermost open
    range (or left at the top level)."""
    ops = _daemon_profile(2)
    if ops and _active:
        stack = _stack()
        _charge(ops, stack[-1] if stack else None)


def _charge(ops, parent):
    for op, count, ns in ops:
        ev = OpEvent(_op_name(op), count, ns / 1000.0, parent, threading.get_ident())
        if parent is not None:
            parent.cpu_children.append(ev)
        for rec in _active:
            rec.events.append(ev)


class FunctionEvent:
    """One timed range: name, start and end (µs), the thread, its children."""

    def __init__(self, name, start, thread, parent):
        # a profiler step is "ProfilerStep*" in events and averages, as torch's, and keeps its
        # number in the trace
        self.trace_name = name
        self.name = self.key = "ProfilerStep*" if name.startswith("ProfilerStep#") else name
        self.time_range_start, self.time_range_end = start, None
        self.thread, self.cpu_parent, self.cpu_children = thread, parent, []
        self.count = 1
        self.input_shapes, self.stack, self.device_type = [], [], "CPU"
        self.cuda_time_total = self.self_cuda_time_total = 0.0

    @property
    def cpu_time_total(self):
        return self.time_range_end - self.time_range_start

    @property
    def self_cpu_time_total(self):
        return self.cpu_time_total - sum(c.cpu_time_total for c in self.cpu_children)

    cpu_time = cpu_time_total

    def __repr__(self):
        return "<FunctionEvent name=%s cpu_time_total=%.3fus>" % (self.name, self.cpu_time_total)


class OpEvent(FunctionEvent):
    """The daemon's executions of one op inside a range (or at the top level): count and
    total time; no start and end of its own."""

    def __init__(self, name, count, total_us, parent, thread):
        super().__init__(name, None, thread, parent)
        self.count, self._total = count, total_us

    @property
    def cpu_time_total(self):
        return self._total

    @property
    def self_cpu_time_total(self):
        return self._total

    cpu_time = cpu_time_total


class FunctionEventAvg:
    """The events of one name, summed."""

    def __init__(self, key):
        self.key, self.count = key, 0
        self.cpu_time_total = self.self_cpu_time_total = 0.0
        self.cuda_time_total = self.self_cuda_time_total = 0.0
        self.input_shapes, self.stack, self.device_type = [], [], "CPU"

    def add(self, ev):
        self.count += ev.count
        self.cpu_time_total += ev.cpu_time_total
        self.self_cpu_time_total += ev.self_cpu_time_total
        return self

    @property
    def cpu_time(self):
        return self.cpu_time_total / max(self.count, 1)

    def __repr__(self):
        return "<FunctionEventAvg key=%s self_cpu_time=%.3fus cpu_time=%.3fus count=%d>" % (
            self.key, self.self_cpu_time_total, self.cpu_time, self.count)


def _fmt_us(us):
    if us >= 1e6:
        return "%.3fs" % (us / 1e6)
    if us >= 1e3:
        return "%.3fms" % (us / 1e3)
    return "%.3fus" % us


class EventList(list):
    """Events (or their averages) with torch's table() and export_chrome_trace()."""

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0):
        by = {}
        for ev in self:
            by.setdefault(ev.key, FunctionEventAvg(ev.key)).add(ev)
        return EventList(by.values())

    def total_average(self):
        total = FunctionEventAvg("Total")
        for ev in self:
            total.add(ev)
        return total

    @property
    def self_cpu_time_total(self):
        return sum(ev.self_cpu_time_total for ev in self)

    def table(self, sort_by=None, row_limit=100, max_src_column_width=75, max_name_column_width=55,
              max_shapes_column_width=80, header=None, top_level_events_only=False):
        rows = list(self)
        if sort_by is not None:
            attr = sort_by.replace("cpu_time_total", "cpu_time_total").replace("self_cpu_time", "self_cpu_time_total")
            attr = {"cpu_time": "cpu_time", "count": "count"}.get(sort_by, attr)
            if attr.endswith("_total_total"):
                attr = attr[:-len("_total")]
            rows.sort(key=lambda ev: getattr(ev, attr, 0), reverse=True)
        if row_limit is not None and row_limit > 0:
            rows = rows[:row_limit]
        total_self = self.self_cpu_time_total or 1.0
        name_w = min(max([len("Name")] + [len(ev.key) for ev in rows]) + 4, max_name_column_width)
        cols = ["Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg", "# of Calls"]
        line = "-" * name_w + "  " + "  ".join("-" * 12 for _ in cols) + "  "
        out = [line, "Name".rjust(name_w) + "  " + "  ".join(c.rjust(12) for c in cols) + "  ", line]
        if header:
            out.insert(0, header)
        for ev in rows:
            vals = ["%.2f%%" % (100 * ev.self_cpu_time_total / total_self), _fmt_us(ev.self_cpu_time_total),
                    "%.2f%%" % (100 * ev.cpu_time_total / total_self), _fmt_us(ev.cpu_time_total),
                    _fmt_us(ev.cpu_time_total / max(ev.count, 1)), str(ev.count)]
            out.append(ev.key[:name_w].rjust(name_w) + "  " + "  ".join(v.rjust(12) for v in vals) + "  ")
        out += [line, "Self CPU time total: %s" % _fmt_us(self.self_cpu_time_total), ""]
        return "\n".join(out)

    def export_chrome_trace(self, path):
        events = [{"name": getattr(ev, "trace_name", ev.name), "ph": "X", "ts": ev.time_range_start,
                   "dur": ev.cpu_time_total, "pid": os.getpid(), "tid": ev.thread, "cat": "cpu_op"}
                  for ev in self if getattr(ev, "time_range_start", None) is not None]
        with open(path, "w") as f:
            json.dump({"traceEvents": events, "displayTimeUnit": "ms"}, f)


class _Recorder:
    """Collects the ranges that close while it is active."""

    def __init__(self):
        self.events = []


def _stack():
    s = getattr(_local, "stack", None)
    if s is None:
        s = _local.stack = []
    return s


def _open_range(name):
    if not _active:
        return None
    _sync()
    stack = _stack()
    ev = FunctionEvent(name, _now_us(), threading.get_ident(), stack[-1] if stack else None)
    if stack:
        stack[-1].cpu_children.append(ev)
    stack.append(ev)
    return ev


def _close_range(ev):
    if ev is None:
        return
    _sync()
    ev.time_range_end = _now_us()
    stack = _stack()
    if stack and stack[-1] is ev:
        stack.pop()
    for rec in _active:
        rec.events.append(ev)


class record_function:
    """A named range in the profile (a context manager, or a decorator)."""

    def __init__(self, name, args=None):
        self.name, self.args, self._ev = name, args, None

    def __enter__(self):
        self._ev = _open_range(self.name)
        return self

    def __exit__(self, *exc):
        _close_range(self._ev)
        self._ev = None
        return False

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            with record_function(self.name):
                return fn(*args, **kwargs)
        return wrapped


class profile:
    """torch.autograd.profiler.profile: records the ranges closed while it is entered."""

    def __init__(self, enabled=True, *, use_cuda=False, record_shapes=False, with_flops=False, profile_memory=False,
                 with_stack=False, with_modules=False, use_kineto=False, use_cpu=True, experimental_config=None):
        self.enabled, self.with_modules = enabled, with_modules
        self._rec, self._hooks, self.function_events = None, [], None

    def __enter__(self):
        if self.enabled:
            self._start()
        return self

    def __exit__(self, *exc):
        if self.enabled:
            self._stop()
        return False

    def _start(self):
        if self._rec is not None:
            raise RuntimeError("Profiler is already enabled on this thread")
        self._rec = _Recorder()
        if not _active:
            _daemon_profile(1)  # the daemon starts counting (from zero)
        _active.append(self._rec)
        if self.with_modules:
            self._hooks = _module_hooks()

    def _stop(self):
        for h in self._hooks:
            h.remove()
        self._hooks = []
        _sync()  # the ops since the last range boundary
        if self._rec in _active:
            _active.remove(self._rec)
        if not _active:
            _daemon_profile(0)
        self.function_events = EventList(self._rec.events)
        self._rec = None

    def _check_finished(self):
        if self.function_events is None:
            raise RuntimeError("Profiler didn't finish running")

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0):
        self._check_finished()
        return self.function_events.key_averages(group_by_input_shape, group_by_stack_n)

    def table(self, sort_by=None, row_limit=100, **kwargs):
        self._check_finished()
        return self.function_events.table(sort_by=sort_by, row_limit=row_limit, **kwargs)

    def export_chrome_trace(self, path):
        self._check_finished()
        self.function_events.export_chrome_trace(path)

    def events(self):
        self._check_finished()
        return self.function_events

    @property
    def self_cpu_time_total(self):
        self._check_finished()
        return self.function_events.self_cpu_time_total

    def __str__(self):
        return self.table() if self.function_events is not None else "<unfinished profile>"


def _module_hooks():
    """with_modules: every module's forward as a range "nn.Module: <class>"."""
    from ..nn.modules import module as M
    opened = {}

    def pre(mod, inputs):
        opened.setdefault(id(mod), []).append(_open_range("nn.Module: " + type(mod).__name__))

    def post(mod, inputs, output):
        evs = opened.get(id(mod))
        if evs:
            _close_range(evs.pop())
    return [M.register_module_forward_pre_hook(pre), M.register_module_forward_hook(post)]
