"""Anomaly detection, as torch.autograd.anomaly_mode: while on, the backward pass checks
every gradient a node computes for NaN (a sync per node) and raises naming the node."""
from .. import _C


def is_anomaly_enabled():
    state = _C.set_anomaly_enabled(False)
    _C.set_anomaly_enabled(state)
    return state


class detect_anomaly:
    """Context manager (and decorator) turning anomaly detection on for its extent."""

    def __init__(self, check_nan=True):
        self.check_nan = check_nan

    def __enter__(self):
        self.prev = _C.set_anomaly_enabled(self.check_nan)

    def __exit__(self, *exc):
        _C.set_anomaly_enabled(self.prev)
        return False

    def __call__(self, fn):
        def wrapped(*a, **k):
            with detect_anomaly(self.check_nan):
                return fn(*a, **k)
        return wrapped


class set_detect_anomaly:
    """Sets anomaly detection at once; as a context manager, restores it at the end."""

    def __init__(self, mode, check_nan=True):
        self.prev = _C.set_anomaly_enabled(bool(mode) and check_nan)

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        _C.set_anomaly_enabled(self.prev)
        return False
