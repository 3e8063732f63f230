"""Random numbers: Generator objects, the in-place distributions, normal,
bernoulli, multinomial, randperm, and generator= on the random factories.

The generator that draws is always the session's, in the daemon (kernels/rng.h: torch's
CPU generator, MT19937 with torch's samplers, so manual_seed(s) gives torch's values).
The default generator *is* that one.  Any other Generator keeps its own state in a
daemon uint8 tensor; an op called with
generator=g is recorded between two state swaps (GET_RNG_STATE/SET_RNG_STATE records),
so it draws from g's stream and leaves the default stream untouched.  No swap needs a
round trip: they are ordinary records in the session's ordered stream.

get_state() returns that uint8 tensor: torch's 5056-byte CPUGeneratorImplState, byte for
byte, so torch.get_rng_state() loads here and back.  Same seed, same sequence, in every
process and run."""
import builtins
import struct as _struct
import os as _os

from . import _C, _known, _daemon
from . import _op_numbers as O
from . import _creation as _cr
from . import _records as F
from ._C import ops
from ._tensor_new import placed, to_device
from ._dtype import bfloat16, bool_, float16, float32, float64, int8, int16, int32, int64, uint8, \
    check_dtype, get_default_dtype

TB = _C.TensorBase
STATE_BYTES = 5056  # torch's CPUGeneratorImplState
DEFAULT_SEED = 67280421310721  # what the daemon seeds every session with (and torch's default)

__all__ = ["Generator", "default_generator", "manual_seed", "seed", "initial_seed", "get_rng_state",
           "set_rng_state", "rand", "randn", "randint", "randperm", "normal", "bernoulli", "multinomial"]


def _new_state():
    return _cr.empty(STATE_BYTES, dtype=uint8)


def _get(into, generator="cpu"):
    ops.get_rng_state(into, generator)
    return into


def _set(state, generator="cpu"):
    ops.set_rng_state(state, generator)


def _check_state(new_state):
    """A copy of new_state as a flat uint8 tensor, refused as torch refuses it."""
    if not isinstance(new_state, TB) or new_state.dtype is not uint8:
        raise TypeError("RNG state must be a torch.ByteTensor")
    if new_state.numel() != STATE_BYTES:
        raise RuntimeError("Expected a CPUGeneratorImplState of size %d but found the input RNG state size "
                           "to be %d" % (STATE_BYTES, new_state.numel()))
    st = F.clone(F.reshape(new_state, -1))
    # torch refuses a bad state at the call: read its three counters (one round trip)
    left, seeded, nxt = _struct.unpack("<iiQ", bytes(st[8:24].tolist()))
    if not seeded or not 0 < left <= 624 or not 0 <= nxt <= 624 or left + nxt > 625:
        raise RuntimeError("Invalid mt19937 state")
    return st


# the devices' generator (tensord.cuda's): one for all devices, in the daemon
_DEVICE = {"initial": DEFAULT_SEED}


def _device_state():
    _daemon.ensure()
    return _get(_new_state(), "devices")


def _set_device_state(new_state):
    _daemon.ensure()
    if isinstance(new_state, TB) and new_state.dtype is uint8 and new_state.numel() == 16:
        # torch's CUDA state (Philox seed, offset), from a checkpoint torch wrote: its seed
        # seeds the devices' generator (device values are not torch's anyway)
        _seed_devices(int.from_bytes(bytes(F.reshape(new_state, -1).tolist()[:8]), "little"))
        return
    _set(_check_state(new_state), "devices")


def _seed_devices(seed):
    s = _seed_word(seed)
    _daemon.ensure()
    w = s & ((1 << 64) - 1)
    ops.manual_seed(w - (1 << 64) if w >= 1 << 63 else w, "devices")
    _DEVICE["initial"] = s


def _device_initial():
    return _DEVICE["initial"]


def _seed_word(seed):
    seed = F.index_int(seed)
    if seed < -(1 << 63) or seed >= (1 << 64):
        raise RuntimeError("Overflow when unpacking long")
    return seed


def _seeded_state(seed):
    """The state torch's generator has right after manual_seed(seed) (rng.h's layout:
    MT19937's reference initialisation of the low 32 bits), made here so that seeding a
    Generator object leaves the session's generators alone."""
    x = seed & 0xffffffff
    words = [x]
    for j in range(1, 624):
        x = (1812433253 * (x ^ (x >> 30)) + j) & 0xffffffff
        words.append(x)
    buf = bytearray(STATE_BYTES)
    _struct.pack_into("<QiiQ624Q", buf, 0, seed & ((1 << 64) - 1), 1, 1, 0, *words)
    return _cr.tensor(list(buf), dtype=uint8)


class Generator:
    """torch.Generator: for the CPU, or for the devices (device='cuda': its draws go to ops
    placed on a device); see the module docstring for how it draws."""

    def __init__(self, device="cpu"):
        from ._size import check_device, device_of
        self.device = device_of(check_device(device))
        self._gen = "cpu" if self.device.type == "cpu" else "devices"  # the daemon generator it stands in
        self._is_default = False
        self._initial = DEFAULT_SEED
        self._state = None  # created lazily: the daemon may not be reachable yet

    def _ensure_state(self):
        if self._state is None:
            self._seed_state(self._initial)
        return self._state

    def _seed_state(self, s):
        _daemon.ensure()
        self._state = _seeded_state(s)

    def manual_seed(self, seed):
        s = _seed_word(seed)
        if self._is_default:
            _cr.manual_seed(s)
        else:
            self._seed_state(s)
        self._initial = s
        return self

    def seed(self):
        s = builtins.int.from_bytes(_os.urandom(8), "little") & ((1 << 63) - 1)
        self.manual_seed(s)
        return s

    def initial_seed(self):
        return self._initial

    def get_state(self):
        if self._is_default:
            _daemon.ensure()
            return _get(_new_state())
        return F.clone(self._ensure_state())

    def set_state(self, new_state):
        st = _check_state(new_state)
        if self._is_default:
            _set(st)
        else:
            self._state = st
        return self

    def __repr__(self):
        return "<torch._C.Generator object at 0x%x>" % id(self)


default_generator = Generator()
default_generator._is_default = True


class _use:
    """Records the enclosed ops between swaps to and from generator g's state."""

    __slots__ = ("g", "saved")

    def __init__(self, g):
        if g is not None and not isinstance(g, Generator):
            raise TypeError("generator must be a torch.Generator, not %s" % type(g).__name__)
        self.g = None if g is None or g._is_default else g
        self.saved = None

    def __enter__(self):
        if self.g is not None:
            st = self.g._ensure_state()
            self.saved = _get(_new_state(), self.g._gen)
            _set(st, self.g._gen)
        return self

    def __exit__(self, *exc):
        if self.g is not None:
            _get(self.g._state, self.g._gen)
            _set(self.saved, self.g._gen)
        return False


def _check_generator_device(g, device_index):
    """torch's refusal of a generator of another device type than the op's."""
    if g is not None and isinstance(g, Generator) and (g.device.type == "cpu") != (not device_index):
        raise RuntimeError("Expected a '%s' device type for generator but found '%s'"
                           % ("cpu" if not device_index else "cuda", g.device.type))


def manual_seed(seed):
    s = _seed_word(seed)
    _cr.manual_seed(s)  # every generator, the devices' too, as torch's
    default_generator._initial = s
    _DEVICE["initial"] = s
    return default_generator


def seed():
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(new_state):
    default_generator.set_state(new_state)


# ---------------------------------------------------------------- factories with generator=

def _factory_device(kw):
    from ._size import check_device
    return check_device(kw.get("device"))


def rand(*size, generator=None, **kw):
    _check_generator_device(generator, _factory_device(kw))
    with _use(generator):
        return _cr.rand(*size, **kw)


def randn(*size, generator=None, **kw):
    _check_generator_device(generator, _factory_device(kw))
    with _use(generator):
        return _cr.randn(*size, **kw)


def randint(*args, generator=None, **kw):
    _check_generator_device(generator, _factory_device(kw))
    with _use(generator):
        return _cr.randint(*args, **kw)


def randperm(n, *, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False,
             pin_memory=False):
    n = F.index_int(n)
    check_dtype(dtype)
    dev = _cr.check_device(device)
    _daemon.ensure()
    dt = dtype or int64
    _check_generator_device(generator, dev)
    if dev:  # drawn by the devices' generator (or a device Generator), as torch's CUDA randperm
        with _use(generator), placed(dev):
            return F._out(ops.randperm(dt, n), out)
    with _use(generator):
        r = ops.randperm(dt, n)
    if dev:
        r = to_device(r, dev)
    return F._out(r, out)


# ---------------------------------------------------------------- in-place distributions

_f = builtins.float  # the f64 attributes, converted as float() does


def _dist(self, entry, args, generator):
    F._check_tensor(self, "random")
    _check_generator_device(generator, self._device_index)
    with _use(generator):
        entry(self, *args, inplace=True)
    return self


def uniform_(self, from_=0.0, to=1.0, *, generator=None, **kw):
    from_ = kw.pop("from", from_)
    return _dist(self, ops.uniform_, (_f(from_), _f(to), self.dtype), generator)


def normal_(self, mean=0.0, std=1.0, *, generator=None):
    return _dist(self, ops.normal_, (_f(mean), _f(std), self.dtype), generator)


def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
    return _dist(self, ops.log_normal_, (_f(mean), _f(std)), generator)


def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
    return _dist(self, ops.cauchy_, (_f(median), _f(sigma)), generator)


def exponential_(self, lambd=1.0, *, generator=None):
    return _dist(self, ops.exponential_, (_f(lambd),), generator)


def geometric_(self, p, *, generator=None):
    return _dist(self, ops.geometric_, (_f(p),), generator)


_CNAME = {uint8: "unsigned char", int8: "signed char", int16: "short", int32: "int", int64: "long", bool_: "bool"}
_IRANGE = {uint8: (0, 255), int8: (-128, 127), int16: (-32768, 32767), int32: (-2 ** 31, 2 ** 31 - 1),
           int64: (-2 ** 63, 2 ** 63 - 1), bool_: (0, 1)}
_TO_NONE = -(1 << 63)  # RANDOM_'s to=None on int64 (kernels/rng.h TD_RNG_TO_NONE)
_FMAX = {float32: 2 ** 24, float64: 2 ** 53, float16: 2 ** 11, bfloat16: 2 ** 8}


def random_(self, *args, generator=None, **kw):
    """random_(from=0, to=None) / random_(to): integers in [from, to) (to=None: the dtype's range)."""
    args = list(args)
    if "from" in kw:
        args.insert(0, kw.pop("from"))
    if "to" in kw:
        while len(args) < 1:
            args.append(0)
        args.append(kw.pop("to"))
    if kw:
        raise TypeError("random_() got an unexpected keyword argument '%s'" % next(iter(kw)))
    dt = self.dtype
    if len(args) == 0:
        lo, hi = 0, None
    elif len(args) == 1:
        lo, hi = 0, F.index_int(args[0])
    else:
        lo = F.index_int(args[0])
        hi = None if args[1] is None else F.index_int(args[1])
    if hi == _TO_NONE:  # a real `to` of int64's minimum: nothing is below it
        raise RuntimeError("random_ expects 'from' to be less than 'to', but got from=%d >= to=%d" % (lo, hi))
    if dt in _IRANGE:
        mn, mx = _IRANGE[dt]
        if hi is None:  # int64's max + 1 does not fit a word: the daemon's sentinel says it
            hi = mx + 1 if dt is not int64 else _TO_NONE
        if lo < hi or hi == _TO_NONE:
            if not mn <= lo <= mx:
                raise RuntimeError("from is out of bounds for %s" % _CNAME[dt])
            if hi != _TO_NONE and not mn <= hi - 1 <= mx:
                raise RuntimeError("to - 1 is out of bounds for %s" % _CNAME[dt])
    elif hi is None:
        hi = _FMAX[dt] + 1
    return _dist(self, ops.random_, (lo, hi), generator)


def bernoulli_(self, p=0.5, *, generator=None):
    if isinstance(p, TB):
        q = F.expand(p, tuple(self.shape))
        _known.raise_before(_known.bernoulli_p_error(p), ops.bernoulli_p, q)
        if not q.dtype.is_floating_point:
            q = F.cast(q, float32)
        with _use(generator):
            r = ops.bernoulli_p(q)
        return F.copy_(self, r)
    return _dist(self, ops.bernoulli_, (_f(p),), generator)


def bernoulli(input, p=None, *, generator=None, out=None):
    F._check_tensor(input, "bernoulli")
    if p is not None:
        return F._out(bernoulli_(ops.empty(input.dtype, input.shape), p, generator=generator), out)
    _known.raise_before(_known.bernoulli_p_error(input), ops.bernoulli_p, input)
    with _use(generator):
        return F._out(ops.bernoulli_p(input), out)


def normal(mean, std=1.0, size=None, *, generator=None, out=None, dtype=None, layout=None, device=None,
           pin_memory=False, requires_grad=False):
    mt, stt = isinstance(mean, TB), isinstance(std, TB)
    if not mt and not stt:
        if size is None:
            raise TypeError("normal() received an invalid combination of arguments - got (%s, %s), but expected "
                            "one of: (Tensor mean, Tensor std), (Tensor mean, float std), (float mean, Tensor std),"
                            " (float mean, float std, tuple of ints size)" % (type(mean).__name__, type(std).__name__))
        check_dtype(dtype)
        dev = _cr.check_device(device)
        _daemon.ensure()
        sz = _cr._factory_sizes((size,), None, "normal")
        t = normal_(ops.empty(dtype or get_default_dtype(), sz), mean, std, generator=generator)
        return F._out(to_device(t, dev), out)
    if not F.is_scalar(std) and not stt:
        raise TypeError("normal(): argument 'std' must be float or Tensor, not %s" % type(std).__name__)
    ref = [x for x in (mean, std) if isinstance(x, TB)]
    for r in ref:
        if not r.dtype.is_floating_point:
            raise RuntimeError("normal expects floating point tensors for mean and std, got %s" % r.dtype)
    if stt and std.numel() and not F.all(F.ge(std, 0.0)).item():  # torch checks at the call: one sync
        raise RuntimeError("normal expects all elements of std >= 0.0")
    if len(ref) == 2:
        from ._shape import broadcast_shapes
        from ._interop import promote_types
        shape = list(broadcast_shapes(tuple(mean.shape), tuple(std.shape)))
        dt = promote_types(mean.dtype, std.dtype)
    else:
        shape, dt = list(ref[0].shape), ref[0].dtype
    z = to_device(normal_(ops.empty(dt, shape), 0.0, 1.0, generator=generator), ref[0]._device_index)
    return F._out(F.add(F.mul(z, std), mean), out, overlap=(O.NORMAL_, ref))


def _check_probs(input):
    """The data checks torch makes before sampling (one sync)."""
    ok_vals = F.all(F.logical_and(F.ge(input, 0), F.lt(input, float("inf"))))
    ok_sum = F.all(F.gt(F.sum(input, -1), 0)) if input.numel() else ok_vals
    ok = F.stack([F.cast(ok_vals, bool_), F.cast(ok_sum, bool_)]).tolist()
    if not ok[0]:
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if not ok[1]:
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")


def multinomial(input, num_samples, replacement=False, *, generator=None, out=None):
    F._check_tensor(input, "multinomial")
    n = F.index_int(num_samples)
    # torch checks the weights at the call: without replacement every value, then the
    # sums (here with one sync, unless the client knows the values); with replacement row
    # by row while sampling, which the kernel does when the values are not known (its
    # message then arrives at the next sync)
    checked = input.dtype.is_floating_point and input.ndim in (1, 2) and n > 0 and input.numel() > 0 and \
        input.dtype is not float16 and (replacement or n <= input.shape[-1])
    known = _known.values(input) if checked else None
    if known is not None:
        _known.check_multinomial(known, replacement)
    elif checked and not replacement:
        _check_probs(input)
    if input.ndim in (1, 2) and input.shape[-1] == 0 and n > 0 and not replacement:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    with _use(generator):
        return F._out(ops.multinomial(input, n, builtins.bool(replacement)), out)


def poisson(input, generator=None):
    """Poisson samples with the rates in input (float32/float64/bfloat16, as torch)."""
    F._check_tensor(input, "poisson")
    if input.dtype not in (float32, float64, bfloat16):
        raise RuntimeError("\"poisson_cpu\" not implemented for '%s'" % input.dtype._torch_name)
    with _use(generator):
        return ops.poisson(input)


def binomial(count, prob, generator=None):
    """Binomial(count, prob) samples; count and prob share one float dtype and broadcast."""
    F._check_tensor(count, "binomial", "count", 1)
    F._check_tensor(prob, "binomial", "prob", 2)
    if prob.dtype is not count.dtype:
        raise RuntimeError("Found dtype %s but expected %s" % (prob.dtype._torch_name, count.dtype._torch_name))
    if count.dtype not in (float32, float64, bfloat16):
        raise RuntimeError("\"binomial_cpu\" not implemented for '%s'" % count.dtype._torch_name)
    from ._shape import broadcast_tensors
    c, p = broadcast_tensors(count, prob)
    with _use(generator):
        return ops.binomial(c, p)


__all__ += ["poisson", "binomial"]
