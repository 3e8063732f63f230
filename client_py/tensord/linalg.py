"""tensord.linalg: torch.linalg's functions (implemented in _linalg.py).

Complex results are not available (tensord has no complex dtype): eig and eigvals return
real tensors and raise NotImplementedError for matrices with complex eigenvalues.
"""
from . import _linalg as _L
from ._ops_py import matmul  # noqa: F401  (torch.linalg.matmul)

LinAlgError = _L.LinAlgError
inv, inv_ex, solve, solve_ex, det = _L.inv, _L.inv_ex, _L.solve, _L.solve_ex, _L.det
slogdet = _L._linalg_slogdet
cholesky, cholesky_ex = _L._linalg_cholesky, _L.cholesky_ex
qr = _L._linalg_qr
svd, svdvals = _L._linalg_svd, _L.svdvals
eigh, eigvalsh, eig, eigvals = _L.eigh, _L.eigvalsh, _L.eig, _L.eigvals
lstsq, pinv, matrix_rank = _L.lstsq, _L.pinv, _L.matrix_rank
matrix_norm, vector_norm, norm, cond = _L.matrix_norm, _L.vector_norm, _L.norm, _L.cond
matrix_power, multi_dot, vecdot = _L.matrix_power, _L.multi_dot, _L.vecdot
cross = _L._linalg_cross

__all__ = ["LinAlgError", "inv", "inv_ex", "solve", "solve_ex", "det", "slogdet", "cholesky", "cholesky_ex", "qr",
           "svd", "svdvals", "eigh", "eigvalsh", "eig", "eigvals", "lstsq", "pinv", "matrix_rank", "matrix_norm",
           "vector_norm", "norm", "cond", "matrix_power", "multi_dot", "vecdot", "cross", "matmul"]
