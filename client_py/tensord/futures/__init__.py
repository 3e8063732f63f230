"""tensord.futures (torch.futures): Future, the result of an asynchronous call
(tensord.jit.fork, distributed work objects), with then/add_done_callback chaining,
collect_all and wait_all."""
import threading

__all__ = ["Future", "collect_all", "wait_all"]


class Future:
    def __init__(self, *, devices=None):
        self._cond = threading.Condition()
        self._done, self._value, self._error = False, None, None
        self._callbacks = []

    def done(self):
        return self._done

    def _finish(self, value, error):
        with self._cond:
            if self._done:
                raise RuntimeError("Future can only be marked completed once.")
            self._value, self._error, self._done = value, error, True
            callbacks, self._callbacks = self._callbacks, []
            self._cond.notify_all()
        for cb in callbacks:
            cb(self)

    def set_result(self, result):
        self._finish(result, None)

    def set_exception(self, result):
        if not isinstance(result, BaseException):
            raise TypeError("set_exception needs an exception, got %r" % (result,))
        self._finish(None, result)

    def wait(self):
        with self._cond:
            self._cond.wait_for(lambda: self._done)
        if self._error is not None:
            raise self._error
        return self._value

    def value(self):
        if not self._done:
            raise RuntimeError("value() called on a Future that is not completed")
        if self._error is not None:
            raise self._error
        return self._value

    def add_done_callback(self, callback):
        with self._cond:
            if not self._done:
                self._callbacks.append(callback)
                return
        callback(self)

    def then(self, callback):
        """A Future of callback(self), run once this one completes."""
        nxt = Future()

        def run(fut):
            try:
                nxt.set_result(callback(fut))
            except Exception as e:
                nxt.set_exception(e)
        self.add_done_callback(run)
        return nxt


def collect_all(futures):
    """A Future of the list of futures, completed when all of them are."""
    out = Future()
    left = [len(futures)]
    lock = threading.Lock()
    if not futures:
        out.set_result([])

    def one_done(_):
        with lock:
            left[0] -= 1
            last = left[0] == 0
        if last:
            out.set_result(list(futures))
    for f in futures:
        f.add_done_callback(one_done)
    return out


def wait_all(futures):
    """Every future's value (raising the first error)."""
    return [f.wait() for f in futures]
