"""Randomized differential tester: random programs of 5-15 steps over a few tensors, run
step by step in torch 1.13 (the reference) and in tensord, every intermediate compared.

Each program is drawn from a fixed seed (Python `random`), so CI sees the same programs on
every run; a failure names the seed, the step and the program so far.  A step is drawn
from the torch side's current tensors (shapes, dtypes), then run in both libraries.  After
every step the whole environment is compared (in-place ops on views write through to
their bases and to sibling views): dtype, shape, values (dtype-dependent tolerances, NaN
positions exactly), strides and storage offsets of views and of contiguous() results.  When
torch raises, tensord must raise the same exception type with torch's message.

Known differences the generator avoids (each with its reason):
- kernels torch 1.13 lacks on CPU ("not implemented for 'Half'", and a few for bfloat16 and
  bool such as argmin, kthvalue, nansum with dtype=int64): tensord computes them (float16 in
  float32, rounded) by design (docs/guide.md), so when torch refuses a step that tensord
  runs, the program ends there (an in-place step has changed tensord's tensors only).
  When both refuse, the dtype named must agree (torch names its kernel, e.g. floor_vml_cpu).
- a step with two errors, one of them torch's memory-overlap refusal ("unsupported
  operation: ... refer to a single memory location"): torch reports the overlap first,
  tensord may report the other (a dtype cast, a broadcast) first; the type must agree.
- median of an expanded (stride-0) integer tensor along a dim: torch 1.13 returns garbage
  for all rows but the first (a torch bug: torch.tensor([[3], [5]]).expand(-1, 3).median(1)).
- mode of a float tensor with NaNs: torch's answer depends on the elements' order
  ([1, nan, nan] gives 1, [nan, nan, 1] gives nan); tensord counts NaNs as one value.
- index_add_ along an empty dim (torch's message comes from select() in its loop) and
  median of an empty bool dim (torch checks the dim before the dtype) are not drawn.
- after an in-place step or assignment that raises, the program ends: torch may have
  written part of the output before it found the error (index_add_ with a bad index
  late in the list), tensord checks first and writes nothing.
- writes to a small numpy array after from_numpy: tensord copies arrays under 64 KiB and
  arrays over gRPC (docs/guide.md, shared memory), so the generator does not write to them.
- once a result agreed only within the tolerance in float16/bfloat16 or after a reduction
  or product (accumulation order differs), later steps carry that difference: a value
  mismatch after that ends the program rather than failing it (dtype, shape, stride and
  exception mismatches still fail).
- no in-place op or assignment writes a tensor whose elements share memory in a way torch
  does not refuse (overlapping unfold windows, as_strided): the result depends on the
  order of the writes.  Expanded (stride-0) targets are drawn: torch refuses them.
- strides are compared for views, contiguous(), clone(), to() and elementwise results of
  tensors laid out alike in both libraries; an op that makes a new tensor (sort, unique)
  may lay it out its own way, and size-1 dims' strides address nothing.  A view() torch
  refuses ("view size is not compatible ...") of a tensor laid out differently is skipped.
- indices of tied elements (median, mode, topk, kthvalue, unstable sort, cummax): torch
  leaves them unspecified, so for those the values at tensord's indices are checked.
"""
import os
import random
import re
import warnings

import numpy as np
import pytest
import torch

import tensord as td
from tdhelpers import torch_message

# seeds 0..N-1: about 18 s against the ASan daemon on 2 idle cores, 45 s on busy ones
# (TENSORD_DIFF_PROGRAMS=20000 explores further by hand; CI keeps the default)
N_PROGRAMS = int(os.environ.get("TENSORD_DIFF_PROGRAMS", "2400"))
DTYPES = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool"]
FLOATS = DTYPES[:4]
INTS = DTYPES[4:9]
MAX_ENV = 8

# dtype -> (rtol, atol) for one rounding; reductions and products scale atol by the size
_TOL = {"float16": (2e-3, 2e-3), "bfloat16": (1.6e-2, 1.6e-2), "float32": (2e-6, 1e-5), "float64": (1e-10, 1e-10)}


class ValueMismatch(AssertionError):
    """Values differ (dtype, shape and strides agree)."""


def lib_dtype(L, name):
    return getattr(L, name)


def np_data(rng, shape, name, low=-5, high=5):
    g = np.random.default_rng(rng.randrange(2**32))
    if name == "bool":
        return g.random(shape) < 0.5
    if name in FLOATS:
        a = np.round(g.uniform(low, high, shape), 3)
        return a
    lo = 0 if name == "uint8" else low
    return g.integers(lo, high + 1, shape)


def make(L, data, name):
    return L.tensor(np.asarray(data), dtype=lib_dtype(L, name))


# ---------------------------------------------------------------- comparison

def to_ref(x):
    x = x.detach()
    if x.dtype is td.bfloat16:
        return torch.from_numpy(x.float().numpy()).bfloat16()
    return torch.from_numpy(x.numpy().copy())


def layout(t):
    """t's strides where they matter: a size-1 dim's stride addresses nothing."""
    return tuple(s if n != 1 else None for n, s in zip(t.shape, t.stride()))


def compare(got, want, where, strides=False, scale=1.0, floor=None):
    """Asserts got (tensord) matches want (torch); returns True when float values agree
    only within the tolerance (rounded differently: accumulation order, float16)."""
    if isinstance(want, torch.Tensor):
        assert isinstance(got, td.Tensor), "%s: got %r, want a tensor" % (where, type(got))
        assert str(got.dtype) == str(want.dtype), "%s: dtype %s, want %s" % (where, got.dtype, want.dtype)
        assert tuple(got.shape) == tuple(want.shape), "%s: shape %s, want %s" % (where, tuple(got.shape),
                                                                              tuple(want.shape))
        if strides and want.numel():  # torch leaves an empty tensor's strides unspecified
            assert layout(got) == layout(want), "%s: strides %s, want %s" % (where, got.stride(), want.stride())
            assert got.storage_offset() == want.storage_offset(), "%s: storage offset %d, want %d" % (
                where, got.storage_offset(), want.storage_offset())
        g = to_ref(got)
        w = want.detach()
        if w.dtype.is_floating_point:
            gn, wn = torch.isnan(g), torch.isnan(w)
            assert torch.equal(gn, wn), "%s: NaN positions differ:\n got %s\nwant %s" % (where, g, w)
            r, a = _TOL[str(w.dtype)[6:]]
            if floor is not None:  # an input already rounded differently at that precision
                r, a = max(r, 8 * _TOL[floor][0]), max(a, 8 * _TOL[floor][1])
            fin = w[~wn].double()
            mag = float(fin[torch.isfinite(fin)].abs().max()) if fin.numel() and torch.isfinite(fin).any() else 1.0
            a = a * scale * max(1.0, mag)
            if not torch.allclose(g[~gn].double(), fin, rtol=r * scale, atol=a):
                raise ValueMismatch("%s: values differ:\n got %s\nwant %s" % (where, g, w))
            return not torch.equal(g[~gn].double(), fin)
        if not torch.equal(g, w):
            raise ValueMismatch("%s: values differ:\n got %s\nwant %s" % (where, g, w))
        return False
    if isinstance(want, (tuple, list)):
        assert isinstance(got, (tuple, list)) and len(got) == len(want), "%s: got %r, want %r" % (where, got, want)
        return any([compare(g, w, "%s[%d]" % (where, i), strides, scale, floor)
                    for i, (g, w) in enumerate(zip(got, want))])
    if isinstance(want, float):
        assert isinstance(got, float), "%s: got %r, want %r" % (where, got, want)
        if not ((got != got and want != want) or got == pytest.approx(want, rel=1e-2 * scale, abs=1e-5)):
            raise ValueMismatch("%s: got %r, want %r" % (where, got, want))
        return got != want
    assert type(got) is type(want), "%s: got %r, want %r" % (where, got, want)
    if got != want:
        raise ValueMismatch("%s: got %r, want %r" % (where, got, want))
    return False


# ---------------------------------------------------------------- steps
# A step generator gets (rng, env) with env the torch tensors and returns a Step, or None
# when it does not apply.  fn(L, E) runs it in library L over that library's env E.

class Step:
    """strides: compare the result's strides (a view of env tensor src, or contiguous())."""
    def __init__(self, text, fn, keep=True, strides=False, scale=1.0, check=None, src=None):
        self.text, self.fn, self.keep, self.strides, self.scale, self.check = text, fn, keep, strides, scale, check
        self.src = src


def pick(rng, env, pred=lambda t: True):
    cands = [i for i, t in enumerate(env) if pred(t)]
    return rng.choice(cands) if cands else None


def rand_shape(rng, max_dims=3, max_side=4, min_side=0):
    return tuple(rng.randint(min_side, max_side) for _ in range(rng.randint(0, max_dims)))


def rand_dim(rng, t, extra=0):
    nd = max(t.dim(), 1) + extra
    return rng.randint(-nd, nd - 1)


def gen_create(rng, env):
    name = rng.choice(DTYPES)
    kind = rng.choice(["tensor", "tensor", "arange", "zeros", "full", "from_numpy", "scalar", "linspace", "eye",
                       "like"])
    if kind == "linspace":
        a, b, n = rng.choice([0, -2, 1.5]), rng.choice([1, 3.5, -4]), rng.randint(0, 5)
        dt = rng.choice([None, "float64", "int64", "float16"])
        return Step("linspace(%r, %r, %d, %s)" % (a, b, n, dt),
                    lambda L, E: L.linspace(a, b, n, dtype=dt and lib_dtype(L, dt)))
    if kind == "eye":
        n, m = rng.randint(0, 3), rng.choice([None, rng.randint(0, 4)])
        return Step("eye(%d, %s, %s)" % (n, m, name),
                    lambda L, E: L.eye(n, m if m is not None else n, dtype=lib_dtype(L, name)))
    if kind == "like" and env:
        i = pick(rng, env)
        f = rng.choice(["zeros_like", "ones_like", "full_like", "empty_like_shape"])
        dt = rng.choice([None, name])
        kw = {} if dt is None else {"dtype": dt}
        if f == "full_like":
            v = rng.choice([2, -1.5, True])
            return Step("full_like(E[%d], %r, %s)" % (i, v, kw), lambda L, E: L.full_like(E[i], v, **_dt(L, kw)))
        if f == "empty_like_shape":
            return Step("empty_like(E[%d]).shape" % i, lambda L, E: (tuple(L.empty_like(E[i], **_dt(L, kw)).shape),
                                                                   str(L.empty_like(E[i], **_dt(L, kw)).dtype)),
                        keep=False)
        return Step("%s(E[%d], %s)" % (f, i, kw), lambda L, E: getattr(L, f)(E[i], **_dt(L, kw)))
    if kind == "tensor":
        shape = rand_shape(rng)
        d = np_data(rng, shape, name)
        return Step("tensor(%s, %s)" % (shape, name), lambda L, E: make(L, d, name))
    if kind == "scalar":
        d = np_data(rng, (), name)
        return Step("tensor(0-d %s)" % name, lambda L, E: make(L, d, name))
    if kind == "arange":
        a = rng.choice([0, -3, 2, 1.5])
        b = rng.choice([5, 7, -1, 4.5])
        s = rng.choice([1, 2, -1, 0.5, -2])
        dt = rng.choice([None, "float32", "int64", "float64", "int16"])
        return Step("arange(%r, %r, %r, %s)" % (a, b, s, dt),
                    lambda L, E: L.arange(a, b, s, dtype=dt and lib_dtype(L, dt)))
    if kind == "zeros":
        shape = rand_shape(rng)
        return Step("zeros(%s, %s)" % (shape, name), lambda L, E: L.zeros(shape, dtype=lib_dtype(L, name)))
    if kind == "full":
        shape = rand_shape(rng)
        v = rng.choice([2, -1, 0.5, True, 3.25])
        dt = rng.choice([None, name])
        return Step("full(%s, %r, %s)" % (shape, v, dt),
                    lambda L, E: L.full(shape, v, dtype=dt and lib_dtype(L, dt)))
    npdt = rng.choice(["float32", "float64", "int64", "int32", "int16", "uint8", "bool", "float16"])
    shape = rand_shape(rng, min_side=1)
    d = np_data(rng, shape, npdt if npdt != "float16" else "float32").astype(npdt)
    return Step("from_numpy(%s %s)" % (shape, npdt), lambda L, E: L.from_numpy(d.copy()))


def _slice_index(rng, t):
    idx = []
    for d in range(t.dim()):
        n = t.shape[d]
        c = rng.random()
        if c < 0.3:
            idx.append(slice(None))
        elif c < 0.8:
            a = rng.choice([None, rng.randint(-n - 1, n + 1)])
            b = rng.choice([None, rng.randint(-n - 1, n + 1)])
            idx.append(slice(a, b, rng.choice([None, 1, 2, 3])))
        elif n:
            idx.append(rng.randint(-n, n - 1))
        else:
            idx.append(slice(None))
    if rng.random() < 0.2:
        idx.insert(rng.randint(0, len(idx)), None)
    if rng.random() < 0.2 and idx:
        idx = [Ellipsis] + idx[rng.randint(1, len(idx)):]
    return tuple(idx)


def gen_view(rng, env):
    i = pick(rng, env)
    if i is None:
        return None
    t = env[i]
    nd = t.dim()
    kind = rng.choice(["slice", "transpose", "permute", "expand", "unsqueeze", "view", "reshape", "flatten",
                       "narrow", "select", "diagonal", "as_strided", "unfold", "contiguous", "T", "squeeze"])
    if kind == "slice":
        idx = _slice_index(rng, t)
        return Step("E[%d][%r]" % (i, idx), lambda L, E: E[i][idx], strides=True, src=i)
    if kind == "transpose":
        a, b = rand_dim(rng, t), rand_dim(rng, t)
        return Step("E[%d].transpose(%d, %d)" % (i, a, b), lambda L, E: E[i].transpose(a, b), strides=True, src=i)
    if kind == "permute":
        p = list(range(nd))
        rng.shuffle(p)
        if rng.random() < 0.3:
            p = [-x - 1 if rng.random() < 0.5 else x for x in p]
        return Step("E[%d].permute(%s)" % (i, p), lambda L, E: E[i].permute(*p), strides=True, src=i)
    if kind == "expand":
        shape = [rng.choice([n, -1, 3]) if n == 1 else rng.choice([n, -1]) for n in t.shape]
        shape = [rng.randint(1, 3) for _ in range(rng.randint(0, 1))] + shape
        return Step("E[%d].expand(%s)" % (i, shape), lambda L, E: E[i].expand(*shape), strides=True, src=i)
    if kind == "unsqueeze":
        d = rand_dim(rng, t, 1) if nd else rng.randint(-1, 0)
        return Step("E[%d].unsqueeze(%d)" % (i, d), lambda L, E: E[i].unsqueeze(d), strides=True, src=i)
    if kind in ("view", "reshape"):
        n = t.numel()
        facs = [f for f in range(1, 7) if n and n % f == 0] or [1]
        f = rng.choice(facs)
        shape = rng.choice([(-1,), (f, -1), (-1, f, 1), (n,), (f, n // f if n else 0), (n + 1,)])
        return Step("E[%d].%s(%s)" % (i, kind, shape), lambda L, E: getattr(E[i], kind)(*shape),
                    strides=kind == "view", src=i)
    if kind == "flatten":
        a, b = rand_dim(rng, t), rand_dim(rng, t)
        return Step("E[%d].flatten(%d, %d)" % (i, a, b), lambda L, E: E[i].flatten(a, b))
    if kind == "narrow" and nd:
        d = rand_dim(rng, t)
        n = t.shape[d]
        s = rng.randint(-n, n) if n else 0
        ln = rng.randint(0, n)
        return Step("E[%d].narrow(%d, %d, %d)" % (i, d, s, ln), lambda L, E: E[i].narrow(d, s, ln), strides=True, src=i)
    if kind == "select" and nd:
        d = rand_dim(rng, t)
        n = t.shape[d]
        k = rng.randint(-n - 1, n)
        return Step("E[%d].select(%d, %d)" % (i, d, k), lambda L, E: E[i].select(d, k), strides=True, src=i)
    if kind == "diagonal" and nd >= 2:
        off = rng.randint(-2, 2)
        a, b = rand_dim(rng, t), rand_dim(rng, t)
        return Step("E[%d].diagonal(%d, %d, %d)" % (i, off, a, b), lambda L, E: E[i].diagonal(off, a, b),
                    strides=True, src=i)
    if kind == "as_strided" and t.is_contiguous() and t._base is None and t.numel() >= 2:
        n = t.numel()
        size = (rng.randint(1, 3), rng.randint(1, 2))
        st = (rng.randint(0, 2), rng.randint(0, 1))
        hi = (size[0] - 1) * st[0] + (size[1] - 1) * st[1]
        if hi >= n:
            return None
        off = rng.randint(0, n - 1 - hi)
        return Step("E[%d].as_strided(%s, %s, %d)" % (i, size, st, off),
                    lambda L, E: E[i].as_strided(size, st, off), strides=True, src=i)
    if kind == "unfold" and nd:
        d = rand_dim(rng, t)
        n = t.shape[d]
        sz, step = rng.randint(0, n + 1), rng.randint(1, 3)
        return Step("E[%d].unfold(%d, %d, %d)" % (i, d, sz, step), lambda L, E: E[i].unfold(d, sz, step),
                    strides=True, src=i)
    if kind == "contiguous":
        return Step("E[%d].contiguous()" % i, lambda L, E: E[i].contiguous(), strides=True, src=i)
    if kind == "T" and nd == 2:
        return Step("E[%d].T" % i, lambda L, E: E[i].T, strides=True, src=i)
    if kind == "squeeze":
        d = rand_dim(rng, t) if rng.random() < 0.6 else None
        return Step("E[%d].squeeze(%s)" % (i, d),
                    lambda L, E: E[i].squeeze() if d is None else E[i].squeeze(d), strides=True, src=i)
    return None


def _operand(rng, env, t, allow_env=True):
    """A second operand for t: a scalar, another env tensor, or fresh broadcastable data."""
    c = rng.random()
    if c < 0.3:
        s = rng.choice([2, -3, 0.5, -1.5, True, 0, 7])
        return repr(s), lambda L, E: s
    if c < 0.55 and allow_env and len(env) > 1:
        j = pick(rng, env)
        return "E[%d]" % j, lambda L, E: E[j]
    shape = [1 if rng.random() < 0.3 else n for n in t.shape][rng.randint(0, t.dim()):]
    name = rng.choice(DTYPES + [str(t.dtype)[6:]] * 4)
    d = np_data(rng, tuple(shape), name)
    return "tensor(%s %s)" % (tuple(shape), name), lambda L, E: make(L, d, name)


def shares_unclearly(t):
    """Whether elements of t share memory in a way torch's in-place ops do not refuse
    (overlapping unfold windows, as_strided): the result depends on the write order."""
    if t.numel() == 0 or any(st == 0 and n > 1 for n, st in zip(t.shape, t.stride())):
        return False  # empty, or expanded: torch refuses deterministically
    offs = {0}
    for n, st in zip(t.shape, t.stride()):
        offs = {o + j * st for o in offs for j in range(n)}
    return len(offs) < t.numel()


def gen_inplace(rng, env):
    i = pick(rng, env, lambda t: not shares_unclearly(t))
    if i is None:
        return None
    t = env[i]
    op = rng.choice(["add_", "mul_", "clamp_", "masked_fill_", "index_add_", "scatter_", "copy_", "fill_", "sub_",
                     "zero_", "div_"])
    if op in ("add_", "mul_", "sub_", "copy_", "div_"):
        text, other = _operand(rng, env, t)
        if op == "copy_" and text[0] not in "Et":
            return None
        return Step("E[%d].%s(%s)" % (i, op, text), lambda L, E: getattr(E[i], op)(other(L, E)), keep=False)
    if op == "clamp_":
        lo, hi = rng.choice([(-1, 2), (None, 0.5), (1, None), (3, -3)])
        return Step("E[%d].clamp_(%r, %r)" % (i, lo, hi), lambda L, E: E[i].clamp_(lo, hi), keep=False)
    if op == "fill_":
        v = rng.choice([1, -2.5, True, 300])
        return Step("E[%d].fill_(%r)" % (i, v), lambda L, E: E[i].fill_(v), keep=False)
    if op == "zero_":
        return Step("E[%d].zero_()" % i, lambda L, E: E[i].zero_(), keep=False)
    if op == "masked_fill_":
        shape = [1 if rng.random() < 0.3 else n for n in t.shape][rng.randint(0, t.dim()):]
        m = np_data(rng, tuple(shape), "bool")
        v = rng.choice([0, -1.5, 2, True])
        return Step("E[%d].masked_fill_(mask%s, %r)" % (i, tuple(shape), v),
                    lambda L, E: E[i].masked_fill_(make(L, m, "bool"), v), keep=False)
    if t.dim() == 0:
        return None
    d = rand_dim(rng, t)
    n = t.shape[d]
    if op == "index_add_":
        if n == 0:
            return None  # torch's error here is select()'s, from its per-index loop (a known difference)
        k = rng.randint(0, 4)
        idx = [rng.randint(-n, n - 1) if n else 0 for _ in range(k)] if rng.random() < 0.9 else [n]
        src_shape = list(t.shape)
        src_shape[d] = k
        src = np_data(rng, tuple(src_shape), str(t.dtype)[6:])
        sdt = str(t.dtype)[6:]
        alpha = rng.choice([1, 2])
        return Step("E[%d].index_add_(%d, %s, src, alpha=%d)" % (i, d, idx, alpha),
                    lambda L, E: E[i].index_add_(d, L.tensor(idx, dtype=L.int64), make(L, src, sdt), alpha=alpha),
                    keep=False)
    if op == "scatter_":
        ishape = [rng.randint(0, m) for m in t.shape]
        idx = np.random.default_rng(rng.randrange(2**32)).integers(0, max(n, 1), ishape)
        if rng.random() < 0.5:
            v = rng.choice([1, -0.5, 4])
            return Step("E[%d].scatter_(%d, idx%s, %r)" % (i, d, tuple(ishape), v),
                        lambda L, E: E[i].scatter_(d, L.tensor(idx, dtype=L.int64), v), keep=False)
        sdt = str(t.dtype)[6:]
        src = np_data(rng, tuple(ishape), sdt)
        # duplicate indices make scatter's result order-dependent: only unique ones per column
        if not _unique_along(idx, d):
            return None
        return Step("E[%d].scatter_(%d, idx%s, src)" % (i, d, tuple(ishape)),
                    lambda L, E: E[i].scatter_(d, L.tensor(idx, dtype=L.int64), make(L, src, sdt)), keep=False)
    return None


def _unique_along(idx, d):
    if idx.size == 0:
        return True
    moved = np.moveaxis(idx, d, -1).reshape(-1, idx.shape[d])
    return all(len(set(r.tolist())) == len(r) for r in moved)


BINARY = ["add", "sub", "mul", "div", "floor_divide", "remainder", "fmod", "pow", "maximum", "bitwise_and",
          "bitwise_or", "bitwise_xor", "eq", "ne", "lt", "ge", "logical_and", "logical_or", "logical_xor", "atan2",
          "true_div_floor", "true_div_trunc", "bitwise_left_shift", "bitwise_right_shift", "hypot", "logaddexp",
          "xlogy", "copysign", "fmax", "fmin", "minimum", "le", "gt", "float_power", "isclose"]


def _binop(L, name, a, b, out=None):
    kw = {} if out is None else {"out": out}
    if name == "true_div_floor":
        return L.div(a, b, rounding_mode="floor", **kw)
    if name == "true_div_trunc":
        return L.div(a, b, rounding_mode="trunc", **kw)
    return getattr(L, name)(a, b, **kw)


def gen_binary(rng, env):
    i = pick(rng, env)
    if i is None:
        return None
    t = env[i]
    name = rng.choice(BINARY)
    text, other = _operand(rng, env, t)
    form = rng.choice(["fn", "fn", "op", "rop", "out", "method_"])
    srcs = _srcs(i, text)
    if form == "op" and name in _OPS:
        sym = _OPS[name]
        return Step("E[%d] %s %s" % (i, sym, text), lambda L, E: eval("a %s b" % sym, {"a": E[i], "b": other(L, E)}),
                    strides=True, src=srcs)
    if form == "rop" and name in _OPS:
        sym = _OPS[name]
        return Step("%s %s E[%d]" % (text, sym, i), lambda L, E: eval("b %s a" % sym, {"a": E[i], "b": other(L, E)}),
                    strides=True, src=srcs)
    if form == "out":
        j = pick(rng, env)
        fresh = rng.random() < 0.5
        name_out = rng.choice(DTYPES)
        shp = tuple(torch.broadcast_shapes(t.shape, env[j].shape)) if _bcast_ok(t.shape, env[j].shape) else (0,)
        if text[0] != "E" and text[0] != "t":
            return None

        def fn(L, E):
            o = L.empty(shp if rng_fresh_shape else (0,), dtype=lib_dtype(L, name_out))
            r = _binop(L, name, E[i], other(L, E), out=o)
            assert r is o
            return o
        rng_fresh_shape = fresh
        return Step("%s(E[%d], %s, out=empty(%s, %s))" % (name, i, text, shp if fresh else (0,), name_out), fn)
    if form == "method_" and name in ("add", "sub", "mul", "div", "remainder", "pow", "bitwise_and", "maximum") \
            and not shares_unclearly(t):
        mname = name + "_" if name != "maximum" else "maximum"
        return Step("E[%d].%s(%s)" % (i, mname, text), lambda L, E: getattr(E[i], mname)(other(L, E)), keep=False)
    return Step("%s(E[%d], %s)" % (name, i, text), lambda L, E: _binop(L, name, E[i], other(L, E)), strides=True,
                src=srcs)


def _srcs(i, text):
    """The env tensors an elementwise result's layout follows: E[i] and the other operand
    when it is one (torch's TensorIterator orders the dims by its inputs' strides)."""
    j = re.fullmatch(r"E\[(\d+)\]", text)
    return (i, int(j.group(1))) if j else (i,)


_OPS = {"add": "+", "sub": "-", "mul": "*", "div": "/", "floor_divide": "//", "remainder": "%", "pow": "**",
        "bitwise_and": "&", "bitwise_or": "|", "bitwise_xor": "^", "eq": "==", "lt": "<", "ge": ">=", "ne": "!="}


def _bcast_ok(a, b):
    try:
        torch.broadcast_shapes(a, b)
        return True
    except RuntimeError:
        return False


UNARY = ["neg", "abs", "exp", "log", "sqrt", "floor", "round", "sign", "sigmoid", "logical_not", "bitwise_not",
         "reciprocal", "trunc", "isnan", "isinf", "sin", "square", "relu", "tanh", "frac", "nan_to_num"]


def gen_unary(rng, env):
    i = pick(rng, env)
    if i is None:
        return None
    name = rng.choice(UNARY)
    form = rng.random()
    if form < 0.2 and name not in ("relu", "isnan", "isinf", "nan_to_num") and not shares_unclearly(env[i]):
        return Step("E[%d].%s_()" % (i, name), lambda L, E: getattr(E[i], name + "_")(), keep=False)
    if form < 0.35 and name != "relu":
        odt = rng.choice(DTYPES)
        shp = tuple(env[i].shape) if rng.random() < 0.7 else (0,)
        return Step("%s(E[%d], out=empty(%s, %s))" % (name, i, shp, odt),
                    lambda L, E: getattr(L, name)(E[i], out=L.empty(shp, dtype=lib_dtype(L, odt))))
    if name == "relu":
        return Step("relu(E[%d])" % i, lambda L, E: L.relu(E[i]), strides=True, src=(i,))
    return Step("%s(E[%d])" % (name, i), lambda L, E: getattr(L, name)(E[i]), strides=True, src=(i,))


def gen_where(rng, env):
    i = pick(rng, env)
    if i is None:
        return None
    t = env[i]
    shape = [1 if rng.random() < 0.3 else n for n in t.shape][rng.randint(0, t.dim()):]
    m = np_data(rng, tuple(shape), "bool")
    text, other = _operand(rng, env, t)
    if rng.random() < 0.5:
        return Step("where(mask%s, E[%d], %s)" % (tuple(shape), i, text),
                    lambda L, E: L.where(make(L, m, "bool"), E[i], other(L, E)), strides=True, src=_srcs(i, text))
    return Step("where(mask%s, %s, E[%d])" % (tuple(shape), text, i),
                lambda L, E: L.where(make(L, m, "bool"), other(L, E), E[i]), strides=True, src=_srcs(i, text))


REDUCE = ["sum", "mean", "prod", "amax", "amin", "argmax", "argmin", "var", "std", "norm", "logsumexp", "cumsum",
          "cumprod", "cummax", "median", "mode", "topk", "sort", "unique", "max", "min", "all", "any", "kthvalue",
          "nansum", "count_nonzero", "argsort"]
TIES = {"median", "mode", "topk", "kthvalue", "cummax", "sort", "max", "min", "argsort"}


def gen_reduce(rng, env):
    i = pick(rng, env)
    if i is None:
        return None
    t = env[i]
    name = rng.choice(REDUCE)
    d = rand_dim(rng, t)
    keep = rng.random() < 0.5
    nodim = rng.random() < 0.25
    n = t.shape[d] if t.dim() else 1
    scale = 4.0 * max(1, t.numel())
    dt = rng.choice([None, None, "float64", "int64", "float32"])
    if name in ("sum", "prod", "nansum") and rng.random() < 0.2 and t.dim():
        odt = rng.choice(DTYPES)
        return Step("%s(E[%d], %d, %s, out=empty(0, %s))" % (name, i, d, keep, odt),
                    lambda L, E: getattr(L, name)(E[i], d, keep, out=L.empty(0, dtype=lib_dtype(L, odt))), scale=scale)
    if name in ("sum", "mean", "prod", "nansum"):
        kw = {} if dt is None else {"dtype": dt}
        if nodim:
            return Step("%s(E[%d], %s)" % (name, i, kw), lambda L, E: getattr(L, name)(E[i], **_dt(L, kw)),
                        scale=scale)
        return Step("%s(E[%d], %d, %s, %s)" % (name, i, d, keep, kw),
                    lambda L, E: getattr(L, name)(E[i], d, keep, **_dt(L, kw)), scale=scale)
    if name in ("amax", "amin", "argmax", "argmin", "logsumexp", "all", "any", "count_nonzero"):
        if nodim and name not in ("logsumexp",):
            return Step("%s(E[%d])" % (name, i), lambda L, E: getattr(L, name)(E[i]))
        if name == "count_nonzero":
            return Step("count_nonzero(E[%d], %d)" % (i, d), lambda L, E: L.count_nonzero(E[i], d))
        return Step("%s(E[%d], %d, %s)" % (name, i, d, keep), lambda L, E: getattr(L, name)(E[i], d, keep),
                    scale=scale)
    if name in ("var", "std"):
        unb = rng.choice([True, False])
        if nodim:
            return Step("%s(E[%d], unbiased=%s)" % (name, i, unb), lambda L, E: getattr(L, name)(E[i], unbiased=unb),
                        scale=scale)
        return Step("%s(E[%d], %d, %s, %s)" % (name, i, d, unb, keep),
                    lambda L, E: getattr(L, name)(E[i], d, unb, keep), scale=scale)
    if name == "norm":
        p = rng.choice([2, 1, float("inf"), 3, "fro"])
        if nodim:
            return Step("norm(E[%d], %r)" % (i, p), lambda L, E: L.norm(E[i], p), scale=scale)
        return Step("norm(E[%d], %r, %d, %s)" % (i, p, d, keep), lambda L, E: L.norm(E[i], p, d, keep), scale=scale)
    if name in ("cumsum", "cumprod"):
        kw = {} if dt is None else {"dtype": dt}
        return Step("%s(E[%d], %d, %s)" % (name, i, d, kw), lambda L, E: getattr(L, name)(E[i], d, **_dt(L, kw)),
                    scale=scale)
    if name == "mode" and t.is_floating_point() and bool(t.isnan().any()):
        return None  # torch's mode among NaNs depends on the elements' order (tensord: NaNs count as equal)
    if name == "median" and t.dtype == torch.bool:
        return None  # torch refuses bool after its empty-dim check, tensord before (a known difference)
    if name == "median" and any(st == 0 and n > 1 for n, st in zip(t.shape, t.stride())) and not t.is_floating_point():
        return None  # torch 1.13's median(dim) of an expanded integer tensor reads garbage (its bug)
    if name in ("cummax", "median", "mode", "max", "min"):
        if nodim and name in ("median", "max", "min"):
            return Step("%s(E[%d])" % (name, i), lambda L, E: getattr(L, name)(E[i]))
        if name == "cummax":
            return Step("cummax(E[%d], %d)" % (i, d), lambda L, E: tuple(L.cummax(E[i], d)),
                        check=("gather", i, d, False))
        return Step("%s(E[%d], %d, %s)" % (name, i, d, keep), lambda L, E: tuple(getattr(L, name)(E[i], d, keep)),
                    check=("gather", i, d, keep))
    if name == "kthvalue":
        k = rng.randint(0, n + 1)
        return Step("kthvalue(E[%d], %d, %d, %s)" % (i, k, d, keep), lambda L, E: tuple(L.kthvalue(E[i], k, d, keep)),
                    check=("gather", i, d, keep))
    if name == "topk":
        k = rng.randint(0, n + 1)
        largest = rng.random() < 0.5
        return Step("topk(E[%d], %d, %d, largest=%s)" % (i, k, d, largest),
                    lambda L, E: tuple(L.topk(E[i], k, d, largest)), check=("gather", i, d, True))
    if name in ("sort", "argsort"):
        desc = rng.random() < 0.5
        stable = rng.random() < 0.5
        if name == "argsort":
            return Step("argsort(E[%d], %d, %s)" % (i, d, desc), lambda L, E: L.argsort(E[i], d, desc),
                        check=("gather_only", i, d, True))
        return Step("sort(E[%d], %d, %s, stable=%s)" % (i, d, desc, stable),
                    lambda L, E: tuple(L.sort(E[i], dim=d, descending=desc, stable=stable)),
                    check=None if stable else ("gather", i, d, True))
    if name == "unique":
        inv, cnt = rng.random() < 0.5, rng.random() < 0.5
        if rng.random() < 0.3 and t.dim():
            return Step("unique(E[%d], return_inverse=%s, return_counts=%s, dim=%d)" % (i, inv, cnt, d),
                        lambda L, E: L.unique(E[i], return_inverse=inv, return_counts=cnt, dim=d))
        return Step("unique(E[%d], return_inverse=%s, return_counts=%s)" % (i, inv, cnt),
                    lambda L, E: L.unique(E[i], return_inverse=inv, return_counts=cnt))
    return None


def _dt(L, kw):
    return {k: lib_dtype(L, v) for k, v in kw.items()}


def gen_index(rng, env):
    i = pick(rng, env, lambda t: t.dim() > 0)
    if i is None:
        return None
    t = env[i]
    parts, d = [], 0
    while d < t.dim():
        n = t.shape[d]
        k = rng.choice(["slice", "int", "list", "mask", "none", "ellipsis", "stop", "list2"])
        if k == "stop":
            break
        if k == "none":
            parts.append(("none",))
            continue
        if k == "ellipsis":
            if not any(p[0] == "ellipsis" for p in parts):
                parts.append(("ellipsis",))
                d += rng.randint(0, t.dim() - d)
            continue
        if k == "int" and n:
            parts.append(("int", rng.randint(-n, n - 1)))
        elif k == "list" and n:
            parts.append(("list", [rng.randint(-n, n - 1) for _ in range(rng.randint(0, 3))]))
        elif k == "list2" and n:
            parts.append(("list", [[rng.randint(-n, n - 1)] for _ in range(2)]))
        elif k == "mask":
            parts.append(("mask", [rng.random() < 0.5 for _ in range(n)]))
        else:
            parts.append(("slice", slice(rng.randint(-n - 1, n), rng.choice([None, n, rng.randint(-n, n)]),
                                         rng.choice([1, 2]))))
        d += 1
    if rng.random() < 0.1:  # a whole-shape mask
        parts = [("fullmask", np_data(rng, tuple(t.shape), "bool"))]
    if rng.random() < 0.05 and t.shape[0]:  # out of range
        parts = [("list", [t.shape[0]])]

    def idx(L):
        out = []
        for p in parts:
            if p[0] == "none":
                out.append(None)
            elif p[0] == "ellipsis":
                out.append(Ellipsis)
            elif p[0] in ("int", "slice"):
                out.append(p[1])
            elif p[0] == "list":
                out.append(L.tensor(p[1], dtype=L.int64))
            elif p[0] == "mask":
                out.append(L.tensor(p[1], dtype=L.bool))
            else:
                out.append(make(L, p[1], "bool"))
        return tuple(out)
    text = "E[%d][%s]" % (i, ", ".join(str(p[1]) if len(p) > 1 else p[0] for p in parts))
    if rng.random() < 0.5 or any(st == 0 and n > 1 for n, st in zip(t.shape, t.stride())) or shares_unclearly(t):
        # (no assignment where elements share memory: which write wins is unspecified)
        return Step(text, lambda L, E: E[i][idx(L)])
    vtext, v = _operand(rng, env, t, allow_env=False)
    if vtext[0] == "t":  # a tensor value: sized for the result, broadcast from a suffix
        try:
            shp = env[i][idx(torch)].shape
        except (IndexError, RuntimeError):
            shp = ()
        shp = tuple(shp)[rng.randint(0, len(shp)):]
        vdt = rng.choice([str(t.dtype)[6:], rng.choice(DTYPES)])
        vd = np_data(rng, shp, vdt)
        vtext, v = "tensor(%s %s)" % (shp, vdt), (lambda L, E: make(L, vd, vdt))

    def setit(L, E):
        E[i][idx(L)] = v(L, E)
    return Step(text + " = " + vtext, setit, keep=False)


def gen_matmul(rng, env):
    name = rng.choice(["float32", "float64", "int64", "bfloat16", "float16", "int32"])
    form = rng.choice(["matmul", "matmul", "mm", "bmm", "mv", "dot", "outer", "addmm", "baddbmm", "matmul_out"])
    n, k, m = rng.randint(0, 4), rng.randint(0, 4), rng.randint(0, 4)
    # (a mismatch with an empty operand: torch's wording follows the operands' strides)
    k2 = k if rng.random() < 0.9 or 0 in (n, k, m) else k + 1
    b1 = rand_shape(rng, 2, 3, 1)
    b2 = b1[rng.randint(0, len(b1)):] if rng.random() < 0.7 else tuple(1 if rng.random() < 0.5 else s for s in b1)
    shapes = {"matmul": rng.choice([((k,), (k2,)), ((n, k), (k2,)), ((k,), (k2, m)), (b1 + (n, k), b2 + (k2, m)),
                                    (b1 + (n, k), (k2,))]),
              "mm": ((n, k), (k2, m)), "bmm": ((2, n, k), (2, k2, m)), "mv": ((n, k), (k2,)), "dot": ((k,), (k2,)),
              "outer": ((n,), (m,)), "addmm": ((n, k), (k2, m)), "baddbmm": ((2, n, k), (2, k2, m)),
              "matmul_out": ((n, k), (k2, m))}[form]
    a = np_data(rng, shapes[0], name, -3, 3)
    b = np_data(rng, shapes[1], name, -3, 3)
    scale = 4.0 * (k + 1)

    def fn(L, E):
        x, y = make(L, a, name), make(L, b, name)
        if form == "addmm":
            return L.addmm(L.ones(n, m, dtype=x.dtype), x, y, beta=2, alpha=1)
        if form == "baddbmm":
            return L.baddbmm(L.ones(1, m, dtype=x.dtype), x, y)
        if form == "matmul_out":
            o = L.empty(0, dtype=x.dtype)
            L.matmul(x, y, out=o)
            return o
        return getattr(L, form)(x, y)
    return Step("%s(%s %s, %s)" % (form, name, shapes[0], shapes[1]), fn, scale=scale)


def gen_join(rng, env):
    if not env:
        return None
    kind = rng.choice(["cat", "stack", "split", "chunk", "split_sizes", "unbind", "tensor_split"])
    if kind in ("cat", "stack"):
        js = [pick(rng, env) for _ in range(rng.randint(1, 3))]
        if rng.random() < 0.6:  # same shape, maybe other dtype
            base = env[js[0]]
            js = [j for j in js if env[j].shape == base.shape] or js[:1]
        d = rand_dim(rng, env[js[0]], 1 if kind == "stack" else 0)
        return Step("%s([%s], %d)" % (kind, ", ".join("E[%d]" % j for j in js), d),
                    lambda L, E: getattr(L, kind)([E[j] for j in js], d))
    i = pick(rng, env, lambda t: t.dim() > 0)
    if i is None:
        return None
    t = env[i]
    d = rand_dim(rng, t)
    n = t.shape[d]
    if kind == "split":
        s = rng.randint(1, max(n, 1) + 1)
        return Step("E[%d].split(%d, %d)" % (i, s, d), lambda L, E: tuple(E[i].split(s, d)), strides=True, src=i)
    if kind == "split_sizes":
        a = rng.randint(0, n)
        sizes = [a, n - a] if rng.random() < 0.9 else [a, n - a + 1]
        return Step("E[%d].split(%s, %d)" % (i, sizes, d), lambda L, E: tuple(E[i].split(sizes, d)), strides=True,
                    src=i)
    if kind == "chunk":
        c = rng.randint(1, 4)
        return Step("E[%d].chunk(%d, %d)" % (i, c, d), lambda L, E: tuple(E[i].chunk(c, d)), strides=True, src=i)
    if kind == "tensor_split":
        c = rng.randint(1, 4)
        return Step("tensor_split(E[%d], %d, %d)" % (i, c, d), lambda L, E: tuple(L.tensor_split(E[i], c, d)),
                    strides=True, src=i)
    return Step("E[%d].unbind(%d)" % (i, d), lambda L, E: tuple(E[i].unbind(d)), strides=True, src=i)


def gen_convert(rng, env):
    i = pick(rng, env)
    if i is None:
        return None
    kind = rng.choice(["to", "numpy", "item", "tolist", "type_as", "clone", "numpy_write"])
    if kind == "to":
        name = rng.choice(DTYPES)
        return Step("E[%d].to(%s)" % (i, name), lambda L, E: E[i].to(lib_dtype(L, name)), strides=True, src=(i,))
    if kind == "type_as":
        j = pick(rng, env)
        return Step("E[%d].type_as(E[%d])" % (i, j), lambda L, E: E[i].type_as(E[j]))
    if kind == "clone":
        return Step("E[%d].clone()" % i, lambda L, E: E[i].clone(), strides=True, src=(i,))
    if kind == "item":
        return Step("E[%d].item()" % i, lambda L, E: E[i].item(), keep=False)
    if kind == "tolist":
        if env[i].dtype in (torch.float16, torch.bfloat16):
            return None
        return Step("E[%d].tolist()" % i, lambda L, E: E[i].tolist(), keep=False)
    if env[i].dtype == torch.bfloat16:
        return None
    if kind == "numpy_write":
        def fn(L, E):
            a = E[i].numpy()
            if a.size:
                a[(0,) * a.ndim] = 1  # shares memory with the tensor (and its views)
            return None
        return Step("E[%d].numpy()[first] = 1" % i, fn, keep=False)
    return Step("E[%d].numpy()" % i, lambda L, E: E[i].numpy(), keep=False)


GRAD_OPS = ["exp", "sin", "mul", "add", "sum", "mean", "pow", "div", "sigmoid", "index", "transpose", "clamp",
            "matmul", "where", "max", "cumsum", "expand", "abs", "inplace_view", "leaf_inplace"]


def gen_autograd(rng, env):
    i = pick(rng, env, lambda t: t.dtype in (torch.float32, torch.float64) and t.numel() > 0)
    if i is None:
        return None
    ops = [rng.choice(GRAD_OPS) for _ in range(rng.randint(1, 5))]
    seeds = [rng.randrange(2**32) for _ in ops]

    def fn(L, E):
        x = E[i].detach().clone().requires_grad_()
        y = x
        for op, s in zip(ops, seeds):
            r = random.Random(s)
            if op in ("exp", "sin", "sigmoid", "abs"):
                y = getattr(L, op)(y.clamp(-3, 3) if op == "exp" else y)
            elif op == "mul":
                y = y * y.detach() + y * r.choice([2, -0.5])
            elif op == "add":
                y = y + x
            elif op == "sum" and y.dim():
                y = y.sum(r.randint(0, y.dim() - 1), keepdim=r.random() < 0.5)
            elif op == "mean":
                y = y.mean()
            elif op == "pow":
                y = y.pow(r.choice([2, 3]))
            elif op == "div":
                y = y / (y.detach().abs() + 1)
            elif op == "index" and y.dim() and y.shape[0]:
                y = y[L.tensor([0, y.shape[0] - 1, 0])]
            elif op == "transpose" and y.dim() >= 2:
                y = y.transpose(0, 1)
            elif op == "clamp":
                y = y.clamp(-1, 1)
            elif op == "matmul" and y.dim() >= 1:
                y = L.matmul(y, L.ones(y.shape[-1], 2, dtype=y.dtype))
            elif op == "where":
                y = L.where(y > 0, y, y * 3)
            elif op == "max" and y.dim():
                y = y.max(0)[0]
            elif op == "cumsum" and y.dim():
                y = y.cumsum(0)
            elif op == "expand" and y.dim() == 0:
                y = y.expand(3)
            elif op == "inplace_view" and y.dim() and y.shape[0]:
                y = y * 1
                y[0].mul_(3)  # an in-place op on a view of a non-leaf: its base's history is rewritten
            elif op == "leaf_inplace":
                x.add_(1)  # a leaf that requires grad: torch's RuntimeError
        (y.sum() if y.dim() else y).backward()
        return x.grad
    return Step("grad of %s through %s" % ("E[%d]" % i, ops), fn, keep=False, scale=16.0)


def gen_select(rng, env):
    i = pick(rng, env)
    if i is None:
        return None
    t = env[i]
    kind = rng.choice(["gather", "index_select", "take", "masked_select", "nonzero", "nonzero_tuple", "clamp_t",
                       "lerp", "addcmul", "flip", "roll", "tril", "movedim", "repeat", "diff", "cross_types"])
    g = np.random.default_rng(rng.randrange(2**32))
    if kind == "gather" and t.dim():
        d = rand_dim(rng, t)
        shp = [rng.randint(0, max(n, 1)) for n in t.shape]
        idx = g.integers(-1 if rng.random() < 0.1 else 0, max(t.shape[d], 1), shp)
        return Step("gather(E[%d], %d, idx%s)" % (i, d, tuple(shp)),
                    lambda L, E: L.gather(E[i], d, L.tensor(idx, dtype=L.int64)))
    if kind == "index_select" and t.dim():
        d = rand_dim(rng, t)
        n = t.shape[d]
        idx = [rng.randint(0, n - 1) for _ in range(rng.randint(0, 3))] if n else []
        return Step("index_select(E[%d], %d, %s)" % (i, d, idx),
                    lambda L, E: L.index_select(E[i], d, L.tensor(idx, dtype=L.int64)))
    if kind == "take":
        n = t.numel()
        idx = [rng.randint(-n, n - 1) for _ in range(rng.randint(0, 3))] if n else []
        return Step("take(E[%d], %s)" % (i, idx), lambda L, E: L.take(E[i], L.tensor(idx, dtype=L.int64)))
    if kind == "masked_select":
        shape = [1 if rng.random() < 0.3 else n for n in t.shape][rng.randint(0, t.dim()):]
        m = np_data(rng, tuple(shape), "bool")
        return Step("masked_select(E[%d], mask%s)" % (i, tuple(shape)),
                    lambda L, E: L.masked_select(E[i], make(L, m, "bool")))
    if kind == "nonzero":
        return Step("nonzero(E[%d])" % i, lambda L, E: L.nonzero(E[i]))
    if kind == "nonzero_tuple":
        return Step("nonzero(E[%d], as_tuple=True)" % i, lambda L, E: tuple(L.nonzero(E[i], as_tuple=True)))
    if kind == "clamp_t":
        lo = np_data(rng, tuple(t.shape)[rng.randint(0, t.dim()):], rng.choice(DTYPES))
        ldt = rng.choice(DTYPES)
        return Step("clamp(E[%d], min=tensor %s)" % (i, ldt),
                    lambda L, E: L.clamp(E[i], min=make(L, np.asarray(lo), ldt)))
    if kind in ("lerp", "addcmul"):
        j = pick(rng, env)
        w = rng.choice([0.5, 2, -1])
        if kind == "lerp":
            return Step("lerp(E[%d], E[%d], %r)" % (i, j, w), lambda L, E: L.lerp(E[i], E[j], w))
        return Step("addcmul(E[%d], E[%d], E[%d], value=%r)" % (i, j, j, w),
                    lambda L, E: L.addcmul(E[i], E[j], E[j], value=w))
    if kind == "flip":
        dims = [rand_dim(rng, t) for _ in range(rng.randint(1, 2))]
        return Step("flip(E[%d], %s)" % (i, dims), lambda L, E: L.flip(E[i], dims))
    if kind == "roll":
        sh, d = rng.randint(-3, 3), rng.choice([None, rand_dim(rng, t)])
        return Step("roll(E[%d], %d, %s)" % (i, sh, d), lambda L, E: L.roll(E[i], sh, d))
    if kind == "tril":
        k = rng.randint(-2, 2)
        f = rng.choice(["tril", "triu"])
        return Step("%s(E[%d], %d)" % (f, i, k), lambda L, E: getattr(L, f)(E[i], k))
    if kind == "movedim":
        a, b = rand_dim(rng, t), rand_dim(rng, t)
        return Step("movedim(E[%d], %d, %d)" % (i, a, b), lambda L, E: L.movedim(E[i], a, b), strides=True, src=i)
    if kind == "repeat":
        r = [rng.randint(0, 2) for _ in range(t.dim() + rng.randint(0, 1))]
        return Step("E[%d].repeat(%s)" % (i, r), lambda L, E: E[i].repeat(*r))
    if kind == "diff" and t.dim():
        d = rand_dim(rng, t)
        return Step("diff(E[%d], dim=%d)" % (i, d), lambda L, E: L.diff(E[i], dim=d))
    if kind == "cross_types":
        f = rng.choice(["int", "long", "float", "double", "half", "bool", "byte"])
        return Step("E[%d].%s()" % (i, f), lambda L, E: getattr(E[i], f)())
    return None


GENERATORS = [(gen_create, 3), (gen_view, 4), (gen_inplace, 3), (gen_binary, 4), (gen_unary, 1), (gen_where, 1),
              (gen_reduce, 3), (gen_index, 3), (gen_matmul, 1), (gen_join, 2), (gen_convert, 1), (gen_autograd, 1),
              (gen_select, 3)]


# ---------------------------------------------------------------- running

def _run(L, E, step):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # out= resizes and the like: both warn, not compared here
            r = step.fn(L, E)
        if L is td:
            td.synchronize()
        return r, None
    except Exception as e:  # noqa: BLE001
        if L is td:
            try:
                td.synchronize()
            except Exception:  # noqa: BLE001  (already reported by the first error)
                pass
        return None, e


NOT_IMPL = " not implemented for "
OVERLAP = "unsupported operation: "
VIEW_REFUSED = "view size is not compatible with input tensor's size and stride"


def _check_gather(step, got, src):
    """For ops whose tied indices are unspecified: values at tensord's indices are its values."""
    _, i, d, keep = step.check
    vals, idx = (None, got) if step.check[0] == "gather_only" else got
    x = src[i]
    if x.dim() == 0:
        return
    idx2 = idx if keep or idx.dim() == x.dim() else idx.unsqueeze(d)
    g = td.gather(x, d, idx2)
    if vals is None:
        return
    v2 = vals if keep or vals.dim() == x.dim() else vals.unsqueeze(d)
    eq = (g == v2) | (g.isnan() & v2.isnan()) if g.dtype.is_floating_point else (g == v2)
    assert bool(eq.all()), "%s: values at the indices differ from the values" % step.text


def run_program(seed):
    rng = random.Random(seed)
    T, D, log = [], [], []
    gens = [g for g, w in GENERATORS for _ in range(w)]
    steps = rng.randint(5, 15)
    done = tries = 0
    # set once a result agreed only within the tolerance where rounding differs a lot
    # (float16/bfloat16, reductions, products): later steps inherit the difference, so a
    # value mismatch after that ends the program instead of failing it
    loose = False
    floor = None  # the lowest float precision a result was rounded differently at
    while done < steps and tries < 200:
        tries += 1
        gen = gen_create if len(T) < 2 and rng.random() < 0.8 else rng.choice(gens)
        step = gen(rng, T)
        if step is None:
            continue
        done += 1
        log.append(step.text)
        where = "seed %d, step %d: %s\n  program: %s" % (seed, done, step.text, " ; ".join(log))
        want, terr = _run(torch, T, step)
        got, derr = _run(td, D, step)
        if terr is not None:
            if str(terr).startswith(VIEW_REFUSED) and derr is None and not _same_layout(step.src, T, D):
                continue  # torch laid its input out its own way (see the module docstring)
            if NOT_IMPL in str(terr) and derr is None:
                return  # tensord ran it (maybe in place): the two environments now differ
            assert derr is not None, "%s\n  torch raised %s: %s; tensord did not" % (where, type(terr).__name__, terr)
            assert type(derr) is type(terr), "%s\n  tensord raised %s: %s\n  torch raised %s: %s" % (
                where, type(derr).__name__, derr, type(terr).__name__, terr)
            if NOT_IMPL in str(terr):  # torch names its kernel ("floor_vml_cpu"): the dtype must agree
                assert str(derr).split(NOT_IMPL)[-1] == str(terr).split(NOT_IMPL)[-1], (
                    "%s\n  tensord: %s\n    torch: %s" % (where, derr, terr))
            elif not str(terr).startswith(OVERLAP):
                assert torch_message(derr) == str(terr), "%s\n  tensord: %s\n    torch: %s" % (where, derr, terr)
            if not step.keep:
                return  # a failed in-place step may have written part of its output in torch
        else:
            assert derr is None, "%s\n  tensord raised %s: %s" % (where, type(derr).__name__, derr)
            if step.check is not None:
                _check_gather(step, got, D)
                got, want = (got[0], want[0]) if step.check[0] == "gather" else (None, None)
            try:
                if isinstance(want, np.ndarray):
                    assert isinstance(got, np.ndarray) and got.dtype == want.dtype, (where, got, want)
                    if not np.array_equal(got, want, equal_nan=True):
                        raise ValueMismatch("%s: numpy %r, want %r" % (where, got, want))
                elif want is not None and compare(got, want, where, step.strides and _same_layout(step.src, T, D),
                                              step.scale, floor):
                    loose = loose or step.scale > 1 or _low_precision(want)
                    floor = _floor(floor, want)
            except ValueMismatch:
                if loose:
                    return
                raise
            if step.keep and want is not None:
                ws = list(want) if isinstance(want, tuple) else [want]
                gs = list(got) if isinstance(got, tuple) else [got]
                for w, g in zip(ws, gs):
                    if isinstance(w, torch.Tensor) and not w.requires_grad:
                        T.append(w)
                        D.append(g)
                del T[:-MAX_ENV], D[:-MAX_ENV]
        try:
            for k, (g, w) in enumerate(zip(D, T)):  # in-place writes reach bases and sibling views
                if compare(g, w, "%s\n  E[%d] after the step" % (where, k), scale=8.0 if loose else 1.0, floor=floor):
                    loose = loose or _low_precision(w)
                    floor = _floor(floor, w)
        except ValueMismatch:
            if loose:
                return
            raise


def _same_layout(src, T, D):
    """Whether a result's strides are comparable: torch derives them from its inputs'
    (src: one index or a tuple), which an op that makes a new tensor (sort, unique,
    nonzero(as_tuple=True), ...) may lay out its own way, at an offset of its own."""
    if src is None:
        return True
    return all(T[s].numel() > 0 and layout(T[s]) == layout(D[s]) and T[s].storage_offset() == D[s].storage_offset()
               for s in (src if isinstance(src, tuple) else (src,)))


_PRECISION = ["float64", "float32", "float16", "bfloat16"]


def _floor(floor, v):
    vs = v if isinstance(v, (tuple, list)) else [v]
    for x in vs:
        if isinstance(x, torch.Tensor) and x.dtype.is_floating_point:
            name = str(x.dtype)[6:]
            if floor is None or _PRECISION.index(name) > _PRECISION.index(floor):
                floor = name
    return floor


def _low_precision(v):
    vs = v if isinstance(v, (tuple, list)) else [v]
    return any(isinstance(x, torch.Tensor) and x.dtype in (torch.float16, torch.bfloat16) for x in vs)


BLOCKS = 8


@pytest.mark.parametrize("block", range(BLOCKS))
def test_random_programs(block):
    per = N_PROGRAMS // BLOCKS
    for seed in range(block * per, (block + 1) * per):
        run_program(seed)
