"""tensord: PyTorch's tensor API over the tensord compute daemon.

    import tensord as torch

The first op connects to $TENSORD_ADDRESS, else the default socket, else starts a
private daemon for this process (see _daemon.py).
"""
from . import _C
from . import _op_numbers
from ._dtype import (dtype, float32, float64, float16, bfloat16, int64, int32, int16, int8, uint8,
                     complex64, complex128, get_default_dtype, set_default_dtype, finfo, iinfo, DTYPES as _DTYPES)
from ._dtype import bool_ as bool  # noqa: A001  (torch.bool)
from ._size import Size, device, get_default_device, set_default_device  # noqa: F401
from ._tensor import (Tensor, FloatTensor, DoubleTensor, HalfTensor, BFloat16Tensor, LongTensor, IntTensor,
                      ShortTensor, CharTensor, ByteTensor, BoolTensor)
from ._records import return_types
from . import storage  # noqa: E402  (torch.storage)
from .storage import (TypedStorage, UntypedStorage, FloatStorage, DoubleStorage, HalfStorage, BFloat16Storage,
                      LongStorage, IntStorage, ShortStorage, CharStorage, ByteStorage, BoolStorage, ComplexFloatStorage,
                      ComplexDoubleStorage)
Storage = FloatStorage  # torch 1.13's alias
from ._records import (
    add, sub, subtract, mul, multiply, div, divide, true_divide, floor_divide, pow, remainder,
    maximum, minimum, eq, ne, lt, le, gt, ge, not_equal, less, less_equal, greater, greater_equal,
    logical_and, logical_or, logical_xor, logical_not, bitwise_and, bitwise_or, bitwise_xor, bitwise_not,
    bitwise_left_shift, bitwise_right_shift,
    neg, negative, abs, absolute, exp, log, log1p, sqrt, rsqrt, sin, cos, tanh, sigmoid, relu, floor, ceil,
    round, trunc, fix, sign, reciprocal, where, clamp, clip, clamp_min, clamp_max,
    sum, mean, prod, amax, amin, max, min, argmax, argmin, all, any,
    matmul, mm, bmm, view as _view, reshape, permute, transpose, swapaxes, swapdims, t, squeeze, unsqueeze,
    flatten, narrow, select, clone, cat, concat, concatenate, stack, numel, is_tensor, is_floating_point,
    equal, as_strided,
    neg_, abs_, exp_, log_, log1p_, sqrt_, rsqrt_, sin_, cos_, tanh_, sigmoid_, relu_, floor_, ceil_,
    round_, trunc_, sign_, reciprocal_, clamp_, clip_,
)
from ._creation import (tensor, as_tensor, asarray, from_numpy, empty, zeros, ones, full, arange, linspace, eye,
                        rand, randn, randint, manual_seed, empty_like, zeros_like, ones_like, full_like, rand_like,
                        randn_like, randint_like, Generator)
from ._printing import set_printoptions
from . import _daemon

__version__ = "0.1.0"

# aliases with torch's names (shadowing builtins inside this namespace only, like torch)
float = float32
double = float64
half = float16
long = int64
int = int32
short = int16
cfloat = complex64
cdouble = complex128
cpu_device = device("cpu")
from ._layout import *  # noqa: F401,F403  layouts and memory formats

import math as _math

pi, e, inf, nan = _math.pi, _math.e, _math.inf, _math.nan  # as torch.pi ...

_C.set_classes(Tensor, Size, _DTYPES)


def synchronize():
    """Waits for every recorded op (raises the session's sticky error, if any)."""
    _daemon.ensure()
    _C.sync()


def reconnect(timeout=10.0):
    """After the daemon went away (restarted, crashed): a new session on the same address,
    or a new private daemon if this process's own died.  The old session's tensors are
    gone (using one raises RuntimeError); default dtype and device carry over.  Returns the
    address.  ``set_auto_reconnect(True)`` (or TENSORD_RECONNECT=1) does it by itself at the
    call after the ConnectionError."""
    return _daemon.reconnect(timeout)


def set_auto_reconnect(on=True):
    """Opt-in automatic reconnect: see reconnect()."""
    _daemon.set_auto_reconnect(on)


def transport():
    """How this process talks to its daemon: ``'shm'`` (shared-memory rings, the local
    fast path) or ``'grpc'`` (remote daemons, or ``TENSORD_TRANSPORT=grpc``)."""
    _daemon.ensure()
    return _C.transport()


def stats():
    """The daemon's counters (sessions, tensors, ops, and the CPU allocator's bytes_in_use,
    bytes_reserved, bytes_cached, fragmentation, session_memory, ...: docs/operations.md)."""
    return _C.stats(_daemon.address())


# ---- the function areas: each module lists its functions in __all__ (Tensor's methods: _tensor.py) ----
from ._shape import *  # shape and data movement: split/chunk, flip/roll, repeat, broadcasting, diag, tril/triu, stacking
from ._random import *  # random sampling: Generator, seeds, in-place distributions, normal, bernoulli, multinomial
from ._interop import *  # dtype control and interop: promote_types, result_type, can_cast, dlpack
from ._math import *  # math: elementwise functions, cumulative ops, statistics, softmax
from ._linalg import *  # linear algebra: dot/mm family, einsum (tensord.linalg: linalg.py)
from ._lowrank import pca_lowrank, svd_lowrank  # noqa: E402,F401  (randomized low-rank SVD and PCA)
from ._advindex import *  # indexing, sorting, searching: gather/scatter, index_*, masks, sort, unique
from ._complex import *  # complex dtypes: view_as_real/complex, real/imag, conj, angle, complex, polar
from ._pointwise import *  # pointwise math composed (fmax, gcd, sinc, ldexp, frexp, nextafter, ...), trace, diff
from ._factories import *  # logspace, range, tril/triu_indices, vander, block_diag, frombuffer, windows
from ._runtime import *  # get/set_num_threads, get/set_num_interop_threads, set_flush_denormal, typename
from ._tensor_utils import *  # fill, zero_, clamp_min_/clamp_max_, split_with_sizes, detach, new, share_memory_
from ._spectral import *  # stft, istft
from ._statistics import *  # cdist, dist, cov, corrcoef, combinations, trapezoid, quantile, histogram, renorm
from ._scatter import *  # scatter_reduce, index_reduce, *_scatter, fill_diagonal_
from ._linalg_lu import *  # lu, lu_unpack, lu_solve, triangular_solve, matrix_exp
from ._view_copies import *  # H/mH/mT/adjoint, *_copy views, unsafe splits, in-place aliases
from ._grad_mode import *  # no_grad, enable_grad, set_grad_enabled, inference_mode, is_inference, is_neg
from ._linalg_utils import *  # torch 1.13's removed linalg functions (eig, lstsq, solve, matrix_rank), symeig
from ._distance import *  # pdist, pairwise_distance, cosine_similarity, threshold, hardshrink, norms
from ._linalg_householder import *  # geqrf, orgqr, ormqr; linalg.householder_product, ldl_factor(_ex), ldl_solve
from ._random import poisson, binomial  # noqa: E402  (POISSON / BINOMIAL rows)
from ._special import *  # special functions (i0, igamma, polygamma, zeta, ...), also tensord.special
from . import linalg, special  # noqa: E402
from . import nn  # noqa: E402  (torch.nn)
from . import backends, cpu, cuda, fft, random, testing, version  # noqa: E402  (torch.backends, torch.cpu, torch.cuda, ...)
from . import accelerator, amp  # noqa: E402  (torch.accelerator, torch.amp)
from . import func, futures, jit, library, profiler  # noqa: E402  (torch.func, torch.futures, torch.jit, ...)
from .library import ops  # noqa: E402,F401  (torch.ops: the namespaces of custom ops)
from . import sparse  # noqa: E402  (torch.sparse)
from .sparse import sparse_coo_tensor  # noqa: E402,F401
mm, matmul = sparse._sparse_aware(mm), sparse._sparse_aware(matmul)  # noqa: E402  (a sparse operand: sparse.mm)
spmm = mm
from ._compile import compile  # noqa: E402  (torch.compile)
# the nn.functional ops torch also has at its top level with the same arguments
from .nn.functional import (conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d,  # noqa: E402,F401
                            conv_tbc, pixel_shuffle, pixel_unshuffle, channel_shuffle, native_channel_shuffle, prelu,
                            selu, celu, selu_, celu_, bilinear, avg_pool1d, max_pool1d, max_pool2d, max_pool3d,
                            max_pool1d_with_indices, adaptive_avg_pool1d)
from .nn._rnn import rnn_tanh_cell, rnn_relu_cell, lstm_cell, gru_cell  # noqa: E402,F401  (torch's top-level cells)
# torch's top-level (ATen) forms of nn ops whose arguments differ from nn.functional's
from ._dropout import *  # noqa: E402  dropout(input, p, train) ... feature_alpha_dropout_, native_dropout
from ._normalization import *  # noqa: E402  batch/instance/layer/group_norm in ATen's order, native_*_norm
from ._losses import *  # noqa: E402  the losses with reduction as an int (kl_div, ctc_loss, ...)
from ._activation import *  # noqa: E402  rrelu, rrelu_ (with a generator)
from ._conv_pool import *  # noqa: E402  convolution, adaptive_max_pool1d
from ._embedding import *  # noqa: E402  embedding(weight, indices, ...), embedding_bag's four results
from ._vision import *  # noqa: E402  constant_pad_nd, grid_sampler
from .amp.autocast_mode import (autocast, is_autocast_enabled, is_autocast_cpu_enabled, set_autocast_enabled,  # noqa: E402,F401
                                set_autocast_cpu_enabled, get_autocast_gpu_dtype, get_autocast_cpu_dtype,
                                set_autocast_gpu_dtype, set_autocast_cpu_dtype, is_autocast_cache_enabled,
                                set_autocast_cache_enabled, clear_autocast_cache, autocast_increment_nesting,
                                autocast_decrement_nesting)
from .cuda import amp as _cuda_amp  # noqa: E402,F401  (torch.cuda.amp)
from .cpu import amp as _cpu_amp  # noqa: E402,F401  (torch.cpu.amp)
from . import autograd, utils  # noqa: E402  (torch.autograd, torch.utils)
from . import optim  # noqa: E402  (torch.optim)
from . import distributed  # noqa: E402  (torch.distributed)
from . import serialization  # noqa: E402  (torch.serialization)
from .serialization import save, load  # noqa: E402
from . import distributions  # noqa: E402  (torch.distributions: needs autograd)


def __getattr__(name):
    # tensord.multiprocessing on first use, as torch.multiprocessing is there after import torch
    # (imported lazily: it registers pickling reductions and exports the daemon's address)
    if name == "multiprocessing":
        import importlib
        return importlib.import_module(".multiprocessing", __name__)
    raise AttributeError("module 'tensord' has no attribute '%s'" % name)
