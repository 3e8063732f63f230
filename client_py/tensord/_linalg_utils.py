"""torch 1.13's removed linear algebra functions (eig, lstsq, solve, matrix_rank: their own
errors) and symeig, which still works with its deprecation warning (torch/_linalg_utils.py)."""
import sys as _sys
import warnings as _warnings

from . import _C
from . import _records as F

TB = _C.TensorBase
_T = _sys.modules[__name__.rpartition(".")[0]]  # the package: its functions are looked up at call time

__all__ = []

_check = F._check_tensor
_export = F.exporter(globals(), __all__)

# ---------------------------------------------------------------- removed in torch 1.13 (symeig still works)

def _removed(name, msg):
    def f(*args, **kw):
        raise RuntimeError(msg)
    f.__name__ = f.__qualname__ = name
    return f


_GONE = "This function was deprecated since version 1.9 and is now removed."
for _n, _m in (("eig", _GONE + " Please use the `torch.linalg.eig` function instead."),
               ("solve", _GONE + " Please use the `torch.linalg.solve` function instead."),
               ("lstsq", str((_GONE, "Please use the `torch.linalg.lstsq` function instead."))),
               ("matrix_rank", str((_GONE, "Please use the `torch.linalg.matrix_rank` function instead.")))):
    _export(_n, _removed(_n, _m))

_SYMEIG_WARNING = (
    "torch.symeig is deprecated in favor of torch.linalg.eigh and will be removed in a future PyTorch release.\n"
    "The default behavior has changed from using the upper triangular portion of the matrix by default to using "
    "the lower triangular portion.\nL, _ = torch.symeig(A, upper=upper)\nshould be replaced with\n"
    "L = torch.linalg.eigvalsh(A, UPLO='U' if upper else 'L')\nand\nL, V = torch.symeig(A, eigenvectors=True)\n"
    "should be replaced with\nL, V = torch.linalg.eigh(A, UPLO='U' if upper else 'L')")
_warned = set()


def symeig(input, eigenvectors=False, upper=True, *, out=None):
    """torch 1.13's deprecated symeig: linalg.eigh on the chosen triangle, warning once per process."""
    _check(input, "symeig")
    if "symeig" not in _warned:
        _warned.add("symeig")
        _warnings.warn(_SYMEIG_WARNING, UserWarning, stacklevel=2)
    uplo = "U" if upper else "L"
    try:
        if eigenvectors:
            w, v = _T.linalg.eigh(input, UPLO=uplo)
        else:
            w = _T.linalg.eigvalsh(input, UPLO=uplo)
            v = _T.empty((0,), dtype=input.dtype)
    except RuntimeError as e:  # torch 1.13 names its own kernel in these messages
        m = str(e).replace("linalg.eigh:", "linalg.symeig:").replace('"linalg_eigh_cpu"', '"symeig_cpu"')
        raise type(e)(m) from None
    return F._outs(F.return_types.symeig(w, v), out, "symeig")


F.structseq("symeig", ("eigenvalues", "eigenvectors"))
_export("symeig", symeig)
