"""svd_lowrank and pca_lowrank (torch.svd_lowrank, torch.pca_lowrank): randomized low-rank
SVD after Halko, Martinsson and Tropp (2009): an orthonormal basis Q of the range of A
from a Gaussian sketch A R refined by `niter` power iterations (their Algorithm 4.4),
then the SVD of the small matrix Q^H A (Algorithm 5.1).  The sketch draws randn(n, q)
from the default generator, as torch's does, so a seed gives torch's result."""
import sys

__all__ = ["svd_lowrank", "pca_lowrank"]

T = sys.modules[__name__.rpartition(".")[0]]  # the package: its functions looked up at call time


def _float_dtype(A):
    return A.dtype if A.is_floating_point() or A.is_complex() else T.get_default_dtype()


def _h(X):
    """The conjugate transpose of the last two dims."""
    return X.transpose(-2, -1).conj() if X.is_complex() else X.transpose(-2, -1)


def _range_basis(A, q, niter, M):
    """Q (*, m, q) with orthonormal columns whose span approximates the range of A - M."""
    n = A.shape[-1]
    R = T.randn(n, q, dtype=_float_dtype(A), device=A.device)

    def apply(X, Xm, Y):  # (X - Xm) Y without forming X - Xm
        return X.matmul(Y) if Xm is None else X.matmul(Y) - Xm.matmul(Y)
    Ah, Mh = _h(A), (None if M is None else _h(M))
    Q = T.linalg.qr(apply(A, M, R)).Q
    for _ in range(2 if niter is None else niter):
        Q = T.linalg.qr(apply(Ah, Mh, Q)).Q
        Q = T.linalg.qr(apply(A, M, Q)).Q
    return Q


def svd_lowrank(A, q=6, niter=2, M=None):
    """(U, S, V) with A - M ~ U diag(S) V^H, of rank q (a slight overestimate of A's)."""
    q = 6 if q is None else q
    m, n = A.shape[-2:]
    if M is not None:
        M = M.expand(A.shape)  # a (*, 1, n) mean stands for every row
    Mt = None if M is None else M.transpose(-2, -1)
    At = A.transpose(-2, -1)
    if m < n or n > q:
        # sketch the row space: Q spans that of A^T; B^T = (A - M) conj(Q) is (m, q)
        Q = _range_basis(At, q, niter, Mt)
        Qc = Q.conj() if Q.is_complex() else Q
        Bt = A.matmul(Qc) if M is None else A.matmul(Qc) - M.matmul(Qc)
        U, S, Vh = T.linalg.svd(Bt, full_matrices=False)
        return U, S, Q.matmul(_h(Vh))
    Q = _range_basis(A, q, niter, M)
    Qc = Q.conj() if Q.is_complex() else Q
    B = At.matmul(Qc) if M is None else At.matmul(Qc) - Mt.matmul(Qc)
    U, S, Vh = T.linalg.svd(B.transpose(-2, -1), full_matrices=False)
    return Q.matmul(U), S, _h(Vh)


def pca_lowrank(A, q=None, center=True, niter=2):
    """(U, S, V) of the column-centered A (center=True): the principal directions are V's
    columns, A's projection on the first k is A @ V[:, :k]."""
    if not isinstance(A, T.Tensor):
        raise ValueError("Input must be a tensor")
    m, n = A.shape[-2:]
    q = min(6, m, n) if q is None else q
    if not (0 <= q <= min(m, n)):
        raise ValueError("q(={}) must be non-negative integer and not greater than min(m, n)={}".format(q, min(m, n)))
    if not niter >= 0:
        raise ValueError("niter(={}) must be non-negative integer".format(niter))
    if not center:
        return svd_lowrank(A, q, niter=niter, M=None)
    return svd_lowrank(A - A.mean(dim=-2, keepdim=True), q, niter=niter, M=None)
