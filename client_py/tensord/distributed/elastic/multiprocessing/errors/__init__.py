"""@record (torch.distributed.elastic.multiprocessing.errors): a rank's entry point
decorated with it writes an exception that escapes it to the error file the launcher
gave the rank (TORCHELASTIC_ERROR_FILE, torchelastic's JSON), then re-raises, so the
launcher (tensord.distributed.run) reports the failing rank's traceback as the job's root
cause."""
import functools
import json
import os
import time
import traceback

__all__ = ["ChildFailedError", "ErrorHandler", "get_error_handler", "record"]


class ChildFailedError(Exception):
    """A launcher's report of failed ranks: {rank: failure} (what torchrun raises)."""

    def __init__(self, name, failures):
        self.name, self.failures = name, failures
        super().__init__("%s FAILED" % name)

    def get_first_failure(self):
        rank = min(self.failures, key=lambda r: getattr(self.failures[r], "timestamp", 0))
        return rank, self.failures[rank]


class ErrorHandler:
    """Writes a process's uncaught exception to $TORCHELASTIC_ERROR_FILE."""

    def _get_error_file_path(self):
        return os.environ.get("TORCHELASTIC_ERROR_FILE")

    def initialize(self):
        pass

    def record_exception(self, e):
        path = self._get_error_file_path()
        if not path:
            return
        data = {"message": {"message": "%s: %s" % (type(e).__name__, e),
                            "extraInfo": {"py_callstack": traceback.format_exc(),
                                          "timestamp": str(int(time.time()))}}}
        try:
            with open(path, "w") as f:
                json.dump(data, f)
        except OSError:
            pass


def get_error_handler():
    return ErrorHandler()


def record(fn=None, error_handler=None):
    """@record or @record(error_handler=...) on a rank's entry point."""
    handler = error_handler or get_error_handler()

    def wrap(f):
        @functools.wraps(f)
        def wrapper(*args, **kwargs):
            handler.initialize()
            try:
                return f(*args, **kwargs)
            except SystemExit as e:
                if e.code not in (None, 0):
                    handler.record_exception(e)
                raise
            except Exception as e:
                handler.record_exception(e)
                raise
        return wrapper
    return wrap(fn) if fn is not None else wrap
