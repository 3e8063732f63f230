"""Internal helpers named as torch._utils: ExceptionWrapper carries an exception and its
traceback from a worker process to the main one."""
import sys
import traceback

__all__ = ["ExceptionWrapper", "KeyErrorMessage"]


class KeyErrorMessage(str):
    """A KeyError prints its message with repr(); this str keeps the traceback readable."""

    def __repr__(self):
        return self


class ExceptionWrapper:
    """The exception being handled (or exc_info), with its formatted traceback, to raise
    again elsewhere: torch's "Caught X in DataLoader worker process N." message."""

    def __init__(self, exc_info=None, where="in background"):
        if exc_info is None:
            exc_info = sys.exc_info()
        self.exc_type = exc_info[0]
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        self.where = where

    def reraise(self):
        msg = "Caught {} {}.\nOriginal {}".format(self.exc_type.__name__, self.where, self.exc_msg)
        if self.exc_type == KeyError:
            msg = KeyErrorMessage(msg)
        elif getattr(self.exc_type, "message", None):
            raise self.exc_type(message=msg)
        try:
            exception = self.exc_type(msg)
        except TypeError:
            # an exception type whose constructor wants more: a RuntimeError says what happened
            raise RuntimeError(msg) from None
        raise exception
