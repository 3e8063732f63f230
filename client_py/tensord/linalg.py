"""tensord.linalg: torch.linalg's functions (implemented in _linalg.py).

Every function takes float32, float64, complex64 and complex128 matrices (batched over
the leading dims, any strides), as torch 1.13.  For complex input the results follow
torch's conventions: singular values (svd, svdvals), eigh/eigvalsh's eigenvalues,
slogdet's logabsdet, lstsq's residuals and singular values and every norm are real;
svd's Vh is V^H, qr's Q has Q^H Q = I, cholesky gives A = L L^H (reading the lower
triangle, or the upper one with upper=True), eigh reads the lower triangle by default,
lu_solve(adjoint=True) solves A^H X = B, vecdot conjugates x.

eig and eigvals return complex tensors (complex64 for float32/complex64 input, complex128
for float64/complex128): eigenvalues in LAPACK geev's order, eigenvectors normalized as
geev does (unit 2-norm, largest component real).  Eigenvector and singular-vector phases
are LAPACK's and may differ from another library's by a unit factor per column.
"""
from . import _linalg as _L
from ._records import matmul  # noqa: F401  (torch.linalg.matmul)

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
from . import _linalg_lu as _A  # noqa: E402  (LU family, triangular solves, matrix_exp, ...)
lu_factor, lu_factor_ex, lu, lu_solve = _A.lu_factor, _A.lu_factor_ex, _A._linalg_lu, _A._linalg_lu_solve
solve_triangular, matrix_exp, vander, diagonal = _A.solve_triangular, _A.matrix_exp, _A._linalg_vander, \
    _A._linalg_diagonal
tensorinv, tensorsolve = _A.tensorinv, _A.tensorsolve
from ._linalg_householder import householder_product, ldl_factor, ldl_factor_ex, ldl_solve  # noqa: E402

__all__ = ["LinAlgError", "inv", "inv_ex", "solve", "solve_ex", "det", "slogdet", "cholesky", "cholesky_ex", "qr",
           "svd", "svdvals", "eigh", "eigvalsh", "eig", "eigvals", "lstsq", "pinv", "matrix_rank", "matrix_norm",
           "vector_norm", "norm", "cond", "matrix_power", "multi_dot", "vecdot", "cross", "matmul",
           "lu_factor", "lu_factor_ex", "lu", "lu_solve", "solve_triangular", "matrix_exp", "vander", "diagonal",
           "tensorinv", "tensorsolve"]
