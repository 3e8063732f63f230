"""torch.profiler.profile: the autograd profiler's ranges, collected in the steps a
schedule marks for recording (all of them without a schedule), each step a range
"ProfilerStep#N"; on_trace_ready gets the profiler when a recorded cycle ends."""
import enum
import os
import socket
import time

from ..autograd import profiler as _autograd_profiler

__all__ = ["ProfilerAction", "ProfilerActivity", "profile", "schedule", "supported_activities",
           "tensorboard_trace_handler"]


class ProfilerActivity(enum.Enum):
    CPU = 0
    CUDA = 1


def supported_activities():
    from .. import cuda
    return {ProfilerActivity.CPU} | ({ProfilerActivity.CUDA} if cuda.is_available() else set())


class ProfilerAction(enum.Enum):
    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


def schedule(*, wait, warmup, active, repeat=0, skip_first=0):
    """Step number -> action: skip_first steps, then cycles of wait, warmup and active
    steps (the last active one saves), repeat cycles (0: forever)."""
    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise AssertionError("Invalid profiler schedule arguments")
    if warmup == 0:
        import warnings
        warnings.warn("Profiler won't be using warmup, this can skew profiler results")

    def action(step):
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        cycle = wait + warmup + active
        if repeat > 0 and step // cycle >= repeat:
            return ProfilerAction.NONE
        mod = step % cycle
        if mod < wait:
            return ProfilerAction.NONE
        if mod < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if mod < cycle - 1 else ProfilerAction.RECORD_AND_SAVE
    return action


def _always_record(step):
    return ProfilerAction.RECORD


def tensorboard_trace_handler(dir_name, worker_name=None, use_gzip=False):
    """on_trace_ready: the trace written as <worker>.<ms>.pt.trace.json in dir_name."""
    def handler(prof):
        os.makedirs(dir_name, exist_ok=True)
        name = worker_name or "%s_%d" % (socket.gethostname(), os.getpid())
        path = os.path.join(dir_name, "%s.%d.pt.trace.json" % (name, int(time.time() * 1000)))
        prof.export_chrome_trace(path)
        if use_gzip:
            import gzip
            import shutil
            with open(path, "rb") as src, gzip.open(path + ".gz", "wb") as dst:
                shutil.copyfileobj(src, dst)
            os.remove(path)
    return handler


class profile:
    def __init__(self, *, activities=None, schedule=None, on_trace_ready=None, record_shapes=False,
                 profile_memory=False, with_stack=False, with_flops=False, with_modules=False,
                 experimental_config=None, use_cuda=None):
        self.activities = set(activities) if activities else supported_activities()
        self.schedule = schedule or _always_record
        self.on_trace_ready = on_trace_ready
        self.with_modules = with_modules
        self.step_num = 0
        self.profiler = None  # the autograd profiler of the cycle being recorded
        self._step_range = None
        self._last = None  # the last finished cycle's profiler

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def _action(self):
        return self.schedule(self.step_num)

    def _begin_step(self):
        if self._action() in (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE):
            if self.profiler is None:
                self.profiler = _autograd_profiler.profile(with_modules=self.with_modules)
                self.profiler._start()
            self._step_range = _autograd_profiler.record_function("ProfilerStep#%d" % self.step_num)
            self._step_range.__enter__()

    def _end_step(self, final):
        if self._step_range is not None:
            self._step_range.__exit__(None, None, None)
            self._step_range = None
        if self.profiler is not None and (final or self._action() == ProfilerAction.RECORD_AND_SAVE):
            self.profiler._stop()
            self._last, self.profiler = self.profiler, None
            if self.on_trace_ready is not None:
                self.on_trace_ready(self)

    def start(self):
        self._begin_step()

    def stop(self):
        self._end_step(final=True)

    def step(self):
        """Marks the end of a training step."""
        self._end_step(final=False)
        self.step_num += 1
        self._begin_step()

    def _finished(self):
        if self._last is None:
            raise RuntimeError("Profiler didn't finish running")
        return self._last

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0):
        return self._finished().key_averages(group_by_input_shape, group_by_stack_n)

    def events(self):
        return self._finished().events()

    def export_chrome_trace(self, path):
        self._finished().export_chrome_trace(path)
