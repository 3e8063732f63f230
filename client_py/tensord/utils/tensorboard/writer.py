"""SummaryWriter (torch.utils.tensorboard.SummaryWriter) writing TensorBoard event files
itself (summary.py), so it needs no tensorboard package: scalars (add_scalar,
add_scalars), histograms (add_histogram) and text (add_text).  What needs image, audio or
graph encoders raises NotImplementedError."""
import datetime
import os
import socket
import time

import numpy as np

from . import summary as S

__all__ = ["SummaryWriter"]

_counter = [0]


def _default_tf_limits():
    """TensorFlow's default histogram bucket limits: +-1e-12 * 1.1^k up to 1e20, 0, DBL_MAX."""
    pos, v = [], 1e-12
    while v < 1e20:
        pos.append(v)
        v *= 1.1
    return [-x for x in reversed(pos)] + [0.0] + pos + [np.finfo(np.float64).max]


class _EventFile:
    def __init__(self, log_dir, filename_suffix):
        os.makedirs(log_dir, exist_ok=True)
        _counter[0] += 1
        name = "events.out.tfevents.%010d.%s.%d.%d%s" % (int(time.time()), socket.gethostname(), os.getpid(),
                                                         _counter[0], filename_suffix)
        self.path = os.path.join(log_dir, name)
        self._f = open(self.path, "ab")
        self.add(S.event(time.time(), file_version="brain.Event:2"))
        self.flush()

    def add(self, data):
        self._f.write(S.record(data))

    def flush(self):
        self._f.flush()

    def close(self):
        if not self._f.closed:
            self._f.close()


def _number(v):
    if hasattr(v, "item"):
        v = v.item()
    return float(v)


def _array(values):
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=np.float64).reshape(-1)


class SummaryWriter:
    def __init__(self, log_dir=None, comment="", purge_step=None, max_queue=10, flush_secs=120, filename_suffix=""):
        if not log_dir:
            stamp = datetime.datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", stamp + "_" + socket.gethostname() + comment)
        self.log_dir = str(log_dir)
        self.purge_step, self.max_queue, self.flush_secs = purge_step, max_queue, flush_secs
        self.filename_suffix = filename_suffix
        self._files = {}
        self._pending, self._last_flush = 0, time.monotonic()
        self._file(self.log_dir)

    def get_logdir(self):
        return self.log_dir

    def _file(self, log_dir):
        f = self._files.get(log_dir)
        if f is None:
            f = self._files[log_dir] = _EventFile(log_dir, self.filename_suffix)
        return f

    def _write(self, values, global_step, walltime, log_dir=None):
        f = self._file(log_dir or self.log_dir)
        f.add(S.event(time.time() if walltime is None else walltime,
                      None if global_step is None else int(_number(global_step)), values))
        self._pending += 1
        if self._pending >= self.max_queue or time.monotonic() - self._last_flush >= self.flush_secs:
            self.flush()

    def add_scalar(self, tag, scalar_value, global_step=None, walltime=None, new_style=False,
                   double_precision=False):
        self._write([S.scalar_value(tag, _number(scalar_value))], global_step, walltime)

    def add_scalars(self, main_tag, tag_scalar_dict, global_step=None, walltime=None):
        """Each scalar in a run of its own (log_dir/<main_tag>_<tag>), all under main_tag."""
        walltime = time.time() if walltime is None else walltime
        for tag, value in tag_scalar_dict.items():
            sub = os.path.join(self.log_dir, main_tag.replace("/", "_") + "_" + tag)
            self._write([S.scalar_value(main_tag, _number(value))], global_step, walltime, sub)

    def add_histogram(self, tag, values, global_step=None, bins="tensorflow", walltime=None, max_bins=None):
        v = _array(values)
        if v.size == 0:
            raise ValueError("The input has no element.")
        edges = np.asarray(_default_tf_limits()) if bins == "tensorflow" else np.histogram_bin_edges(v, bins)
        if bins == "tensorflow":
            edges = np.concatenate([[-np.finfo(np.float64).max], edges])
        counts, edges = np.histogram(v, bins=edges)
        used = np.nonzero(counts)[0]
        lo, hi = (used[0], used[-1] + 1) if used.size else (0, len(counts))
        value = S.histogram_value(tag, float(v.min()), float(v.max()), float(v.size), float(v.sum()),
                                  float((v * v).sum()), edges[1:][lo:hi].tolist(), counts[lo:hi].astype(float).tolist())
        self._write([value], global_step, walltime)

    def add_text(self, tag, text_string, global_step=None, walltime=None):
        self._write([S.text_value(tag + "/text_summary", text_string)], global_step, walltime)

    def _unsupported(self, what):
        raise NotImplementedError("tensord's SummaryWriter writes scalars, histograms and text; %s is not "
                                  "supported" % what)

    def add_image(self, *args, **kwargs):
        self._unsupported("add_image")

    def add_images(self, *args, **kwargs):
        self._unsupported("add_images")

    def add_figure(self, *args, **kwargs):
        self._unsupported("add_figure")

    def add_graph(self, *args, **kwargs):
        self._unsupported("add_graph")

    def add_embedding(self, *args, **kwargs):
        self._unsupported("add_embedding")

    def add_audio(self, *args, **kwargs):
        self._unsupported("add_audio")

    def add_video(self, *args, **kwargs):
        self._unsupported("add_video")

    def add_hparams(self, *args, **kwargs):
        self._unsupported("add_hparams")

    def add_pr_curve(self, *args, **kwargs):
        self._unsupported("add_pr_curve")

    def add_mesh(self, *args, **kwargs):
        self._unsupported("add_mesh")

    def flush(self):
        for f in self._files.values():
            f.flush()
        self._pending, self._last_flush = 0, time.monotonic()

    def close(self):
        for f in self._files.values():
            f.close()
        self._files = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
