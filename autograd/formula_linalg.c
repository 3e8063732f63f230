/*
 * formula_linalg.c — the backward formulas of the factorizations (cholesky, qr, svd,
 * eigh, lu) and of the solvers and functions built on them (triangular and LU solves,
 * lstsq, matrix_exp, householder_product), for real inputs.  They need intermediate values and branches on
 * the node's attributes that one derivatives.def expression cannot hold, so each is a
 * helper of formula.c written here.  Every step records an ordinary op, so the
 * gradients run on any backend and, under create_graph, are differentiated again.
 *
 * Notation: mT(X) is X with its last two dims swapped; a formula's matrices are batches
 * in the last two dims.  Derivations in docs/design/autograd.md ("Linear algebra").
 */
#include <string.h>

#include "formulas.h"
#include "tape.h"

/* The intermediates of one formula: each op's result lives in the arena until done()
 * (a loop runs each step in an arena of its own: householder_step).  A step after a
 * failure records nothing and gives NULL, so a formula checks l->code once, at its end. */
#define ARENA 64

struct la {
    td_client_t *c;
    struct td_status *st;
    enum td_code code;
    int n;
    struct td_t t[ARENA];
};

static const struct td_t *keep(struct la *l, const struct td_t *res)
{
    if (!l->code && l->n == ARENA)
        l->code = td_status_set(l->st, TD_CODE_INTERNAL, "autograd: linalg formula too long");
    if (l->code) {
        struct td_t drop = *res;
        td_release(l->c, &drop);
        return NULL;
    }
    l->t[l->n] = *res;
    return &l->t[l->n++];
}

/* op on tensors a, b (b may be NULL) with attribute words w */
static const struct td_t *rec(struct la *l, enum td_op op, const struct td_t *a, const struct td_t *b, const int64_t *w,
                              int nw)
{
    if (l->code || !a)
        return NULL;
    const struct td_t *in[2] = {a, b};
    struct td_t res[TD_MAX_OUTPUTS];
    if ((l->code = td_op(l->c, op, 0, in, b ? 2 : 1, w, nw, res, l->st)))
        return NULL;
    for (int k = 1; k < td_op_table[op].n_out && k < TD_MAX_OUTPUTS; k++)
        td_release(l->c, &res[k]);
    return keep(l, &res[0]);
}

/* an op of ops.def on tensors a, b (b NULL: unary) with its default attributes */
static const struct td_t *pw(struct la *l, enum td_op op, const struct td_t *a, const struct td_t *b)
{
    if (l->code || !a)
        return NULL;
    const struct td_t *t[2] = {a, b};
    struct td_scalar s[2] = {{0}, {0}};
    struct td_t res;
    if ((l->code = td_op_apply(l->c, op, 0, b ? 2 : 1, t, s, &res, l->st)))
        return NULL;
    return keep(l, &res);
}

/* a pointwise binary op on tensor a and the scalar x */
static const struct td_t *pws(struct la *l, enum td_op op, const struct td_t *a, double x)
{
    if (l->code || !a)
        return NULL;
    const struct td_t *t[2] = {a, NULL};
    struct td_scalar s[2] = {{0}, td_scalar_of_f64(x)};
    struct td_t res;
    if ((l->code = td_op_apply(l->c, op, 0, 2, t, s, &res, l->st)))
        return NULL;
    return keep(l, &res);
}

#define ADD(a, b) pw(l, TD_OP_ADD, a, b)
#define SUB(a, b) pw(l, TD_OP_SUB, a, b)
#define MUL(a, b) pw(l, TD_OP_MUL, a, b)
#define DIV(a, b) pw(l, TD_OP_DIV, a, b)
#define MM(a, b) pw(l, TD_OP_MATMUL, a, b)
#define SCALE(a, x) pws(l, TD_OP_MUL, a, x)

static const struct td_t *mT(struct la *l, const struct td_t *x)
{
    if (!x)
        return NULL;
    int64_t w[2] = {[TD_A_TRANSPOSE_DIM0] = x->m.ndim - 2, [TD_A_TRANSPOSE_DIM1] = x->m.ndim - 1};
    return rec(l, TD_OP_TRANSPOSE, x, NULL, w, 2);
}

static const struct td_t *band(struct la *l, enum td_op op, const struct td_t *x, int64_t diagonal)
{
    int64_t w[1] = {[TD_A_TRIL_DIAGONAL] = diagonal};
    return rec(l, op, x, NULL, w, 1);
}
#define TRIL(x, d) band(l, TD_OP_TRIL, x, d)
#define TRIU(x, d) band(l, TD_OP_TRIU, x, d)

static const struct td_t *unsq(struct la *l, const struct td_t *x, int dim)
{
    if (!x)
        return NULL;
    int64_t w[1] = {[TD_A_UNSQUEEZE_DIM] = dim < 0 ? dim + x->m.ndim + 1 : dim};
    return rec(l, TD_OP_UNSQUEEZE, x, NULL, w, 1);
}

/* x's elements start <= i < end along dim (negative: from the end) */
static const struct td_t *narrow(struct la *l, const struct td_t *x, int dim, int64_t start, int64_t end)
{
    if (!x)
        return NULL;
    dim = dim < 0 ? dim + x->m.ndim : dim;
    if (start == 0 && end == x->m.sizes[dim])
        return x;
    int64_t w[4] = {[TD_A_SLICE_DIM] = dim, [TD_A_SLICE_START] = start, [TD_A_SLICE_END] = end, [TD_A_SLICE_STEP] = 1};
    return rec(l, TD_OP_SLICE, x, NULL, w, 4);
}

static const struct td_t *cat2(struct la *l, const struct td_t *a, const struct td_t *b, int dim)
{
    if (l->code || !a || !b)
        return NULL;
    int64_t w[1] = {[TD_A_CAT_DIM] = dim < 0 ? dim + a->m.ndim : dim};
    return rec(l, TD_OP_CAT, a, b, w, 1);
}

static const struct td_t *full(struct la *l, enum td_dtype dt, int ndim, const int64_t *sizes, double v)
{
    if (l->code)
        return NULL;
    struct td_t res;
    if ((l->code = td_full(l->c, dt, ndim, sizes, v, &res, l->st)))
        return NULL;
    return keep(l, &res);
}

/* the (n, cols) identity in x's dtype */
static const struct td_t *eye(struct la *l, const struct td_t *x, int64_t n, int64_t cols)
{
    if (l->code || !x)
        return NULL;
    int64_t w[4];
    w[TD_A_EYE_DTYPE] = x->m.dtype;
    w[TD_A_EYE_NDIM] = 2;
    w[TD_A_EYE_SIZE] = n;
    w[TD_A_EYE_SIZE + 1] = cols;
    struct td_t res;
    if ((l->code = td_op(l->c, TD_OP_EYE, 0, NULL, 0, w, 4, &res, l->st)))
        return NULL;
    return keep(l, &res);
}

static int64_t rows(const struct td_t *x)
{
    return x->m.sizes[x->m.ndim - 2];
}
static int64_t cols(const struct td_t *x)
{
    return x->m.sizes[x->m.ndim - 1];
}

/* vectors v as diagonal matrices */
static const struct td_t *diag_embed(struct la *l, const struct td_t *v)
{
    return v ? MUL(unsq(l, v, -1), eye(l, v, cols(v), cols(v))) : NULL;
}

/* X with op(A) X = B (left) or X op(A) = B, A triangular; trans: 0 none, 1 transpose */
static const struct td_t *trsolve(struct la *l, const struct td_t *A, const struct td_t *B, bool upper, bool left,
                                  bool unit, int trans)
{
    int64_t w[4] = {[TD_A_TRIANGULAR_SOLVE_UPPER] = upper,
                    [TD_A_TRIANGULAR_SOLVE_LEFT] = left,
                    [TD_A_TRIANGULAR_SOLVE_UNITRIANGULAR] = unit,
                    [TD_A_TRIANGULAR_SOLVE_TRANS] = trans};
    return rec(l, TD_OP_TRIANGULAR_SOLVE, A, B, w, 4);
}

/* X with op(A) X = B given A's LU factors (LU_SOLVE: three inputs) */
static const struct td_t *lusolve(struct la *l, const struct td_t *LU, const struct td_t *piv, const struct td_t *B,
                                  int trans)
{
    if (l->code || !LU || !B)
        return NULL;
    const struct td_t *in[3] = {LU, piv, B};
    int64_t w[1] = {[TD_A_LU_SOLVE_TRANS] = trans};
    struct td_t res;
    if ((l->code = td_op(l->c, TD_OP_LU_SOLVE, 0, in, 3, w, 1, &res, l->st)))
        return NULL;
    return keep(l, &res);
}

/* the result into *out (an owned reference), the arena released */
static enum td_code done(struct la *l, const struct td_t *res, struct td_t *out)
{
    if (!l->code && res)
        *out = td_retain(l->c, res);
    else if (!l->code)
        l->code = td_status_set(l->st, TD_CODE_INTERNAL, "autograd: linalg formula gave no tensor");
    for (int i = 0; i < l->n; i++)
        td_release(l->c, &l->t[i]);
    return l->code;
}

static enum td_code fail(struct la *l, enum td_code code, const char *msg)
{
    l->code = td_status_set(l->st, code, "%s", msg);
    return done(l, NULL, NULL);
}

/* op's outputs on tensor a with attribute words w, each kept (k < want) */
static void rec_all(struct la *l, enum td_op op, const struct td_t *a, const int64_t *w, int nw,
                    const struct td_t **outs, int want)
{
    struct td_t res[TD_MAX_OUTPUTS];
    const struct td_t *in[1] = {a};
    for (int k = 0; k < want; k++)
        outs[k] = NULL;
    if (l->code || !a || (l->code = td_op(l->c, op, 0, in, 1, w, nw, res, l->st)))
        return;
    for (int k = 0; k < td_op_table[op].n_out && k < TD_MAX_OUTPUTS; k++) {
        if (k < want)
            outs[k] = keep(l, &res[k]);
        else
            td_release(l->c, &res[k]);
    }
}

static const struct td_t *where(struct la *l, const struct td_t *cond, const struct td_t *a, const struct td_t *b)
{
    if (l->code || !cond || !a || !b)
        return NULL;
    const struct td_t *in[3] = {cond, a, b};
    struct td_scalar s[3] = {{0}, {0}, {0}};
    struct td_t res;
    if ((l->code = td_op_apply(l->c, TD_OP_WHERE, 0, 3, in, s, &res, l->st)))
        return NULL;
    return keep(l, &res);
}

static const struct td_t *zeros_of(struct la *l, const struct td_meta *m)
{
    return full(l, (enum td_dtype)m->dtype, m->ndim, m->sizes, 0);
}

static const struct td_t *skew(struct la *l, const struct td_t *x)
{
    return SUB(x, mT(l, x));
}

/* ---- the formulas: g* are output gradients, NULL where none reached the node ---- */

/* A = L L^T: gA = L^-T phi(L^T gL) L^-1, phi keeping the lower triangle with its diagonal
 * halved, then made symmetric (the kernel reads one triangle of a symmetric A) */
static const struct td_t *cholesky_back(struct la *l, bool upper, const struct td_t *g, const struct td_t *L)
{
    if (upper) {
        g = mT(l, g);
        L = mT(l, L);
    }
    const struct td_t *M = MM(mT(l, L), g);
    const struct td_t *phi = SUB(TRIL(M, 0), SCALE(MUL(M, eye(l, M, rows(M), rows(M))), 0.5));
    const struct td_t *Y = trsolve(l, L, phi, false, true, false, 1);
    const struct td_t *G = trsolve(l, L, Y, false, false, false, 0);
    return SCALE(ADD(G, mT(l, G)), 0.5);
}

/* exp's derivative in direction E is the top-right block of exp([[A, E], [0, A]]); its
 * adjoint at g is that block for A^T and g */
static const struct td_t *matrix_exp_back(struct la *l, const struct td_t *g, const struct td_t *A)
{
    int64_t n = rows(A);
    const struct td_t *At = mT(l, A);
    const struct td_t *M = cat2(l, cat2(l, At, g, -1), cat2(l, zeros_of(l, &A->m), At, -1), -2);
    const struct td_t *E = rec(l, TD_OP_MATRIX_EXP, M, NULL, NULL, 0);
    return narrow(l, narrow(l, E, -2, 0, n), -1, n, 2 * n);
}

/* op(A) X = B (or X op(A) = B), A triangular: gB solves the transposed system; gA is
 * -gB X^T (-X^T gB), transposed back through op and kept to A's triangle */
static const struct td_t *triangular_solve_back(struct la *l, int input, const int64_t *w, const struct td_t *g,
                                                const struct td_t *A, const struct td_t *X)
{
    bool upper = w[TD_A_TRIANGULAR_SOLVE_UPPER], left = w[TD_A_TRIANGULAR_SOLVE_LEFT];
    bool unit = w[TD_A_TRIANGULAR_SOLVE_UNITRIANGULAR], trans = w[TD_A_TRIANGULAR_SOLVE_TRANS] != 0;
    const struct td_t *gB = trsolve(l, A, g, upper, left, unit, !trans);
    if (input == 1)
        return gB;
    const struct td_t *gop = SCALE(left ? MM(gB, mT(l, X)) : MM(mT(l, X), gB), -1);
    const struct td_t *gA = trans ? mT(l, gop) : gop;
    return upper ? TRIU(gA, unit ? 1 : 0) : TRIL(gA, unit ? -1 : 0);
}

/* the gradient of A = P L U's packed factors LU (L unit lower, U upper) given gA:
 * with W = P^T gA, gL = W U^T and gU = L^T W on their triangles.  P^T is L U A^-1, so
 * W = L U lu_solve(gA) needs no permutation of rows. */
static const struct td_t *lu_factors_back(struct la *l, const struct td_t *LU, const struct td_t *piv,
                                          const struct td_t *gA)
{
    const struct td_t *L = ADD(TRIL(LU, -1), eye(l, LU, rows(LU), rows(LU))), *U = TRIU(LU, 0);
    const struct td_t *W = MM(L, MM(U, lusolve(l, LU, piv, gA, 0)));
    return ADD(TRIL(MM(W, mT(l, U)), -1), TRIU(MM(mT(l, L), W), 0));
}

/* op(A) X = B given A's LU factors */
static const struct td_t *lu_solve_back(struct la *l, int input, const int64_t *w, const struct td_t *g,
                                        const struct td_t *LU, const struct td_t *piv, const struct td_t *X)
{
    bool trans = w[TD_A_LU_SOLVE_TRANS] != 0;
    const struct td_t *gB = lusolve(l, LU, piv, g, trans ? 0 : 1);
    if (input == 2)
        return gB;
    const struct td_t *gA = SCALE(trans ? MM(X, mT(l, gB)) : MM(gB, mT(l, X)), -1);
    return lu_factors_back(l, LU, piv, gA);
}

/* zeros of x's batch dims and (r, c) matrices */
static const struct td_t *zeros_mat(struct la *l, const struct td_t *x, int64_t r, int64_t c)
{
    struct td_meta m = x->m;
    m.sizes[m.ndim - 2] = r;
    m.sizes[m.ndim - 1] = c;
    return zeros_of(l, &m);
}

/* piv's pivots (b, k) followed by k+1 .. m, which swap nothing */
static const struct td_t *pivots_to(struct la *l, const struct td_t *piv, int64_t m)
{
    int64_t k = cols(piv), w[1 + 1 + TD_MAX_DIMS + 4];
    w[TD_A_ARANGE_DTYPE] = piv->m.dtype;
    w[TD_A_ARANGE_NDIM] = 1;
    w[TD_A_ARANGE_SIZE] = m - k;
    struct td_scalar start = td_scalar_of_i64(k + 1), step = td_scalar_of_i64(1);
    int64_t *tail = w + TD_A_ARANGE_SIZE + 1;
    tail[TD_A_ARANGE_START_TAIL] = start.kind;
    tail[TD_A_ARANGE_START_TAIL + 1] = start.bits;
    tail[TD_A_ARANGE_STEP_TAIL] = step.kind;
    tail[TD_A_ARANGE_STEP_TAIL + 1] = step.bits;
    struct td_t res;
    if (l->code || (l->code = td_op(l->c, TD_OP_ARANGE, 0, NULL, 0, w, TD_A_ARANGE_SIZE + 5, &res, l->st)))
        return NULL;
    const struct td_t *more = keep(l, &res);
    int64_t e[1 + TD_MAX_DIMS];
    e[TD_A_EXPAND_NDIM] = piv->m.ndim;
    memcpy(e + TD_A_EXPAND_SIZE, piv->m.sizes, sizeof(int64_t) * piv->m.ndim);
    e[TD_A_EXPAND_SIZE + piv->m.ndim - 1] = m - k;
    return cat2(l, piv, rec(l, TD_OP_EXPAND, more, NULL, e, 1 + piv->m.ndim), -1);
}

/* A = P L U, k = min(m, n): L (m, k) unit lower, U (k, n) upper, gL and gU the
 * triangles of gLU.  Square: phi = tril(L^T gL, -1) + triu(gU U^T) and
 * gA = P L^-T phi U^-T, formed as A^-T U^T (phi U^-T) by an LU solve with A^T, so no
 * permutation is built.
 * Wide (m < n): U = [U1 | U2], A = [A1 | A2], A1 = P L U1 and U2 = L^-1 P^T A2, so
 * L^T gL takes -gU2 U2^T and gA = P L^-T [phi U1^-T | gU2] = A1^-T U1^T [...].
 * Tall (m > n): L = [L1; L2], P^T A = [L1 U; L2 U], so gU U^T takes -L2^T gL2 and
 * gA = P [L1^-T phi U^-T; gL2 U^-T], P applied by an LU solve with the m x m factors
 * [[L1\U, 0], [L2, I]] (pivots k+1 .. m added). */
static const struct td_t *lu_factor_back(struct la *l, const struct td_t *g, const struct td_t *LU,
                                         const struct td_t *piv)
{
    int64_t m = rows(LU), n = cols(LU), k = m < n ? m : n;
    const struct td_t *L = ADD(TRIL(narrow(l, LU, -1, 0, k), -1), eye(l, LU, m, k));
    const struct td_t *U = TRIU(narrow(l, LU, -2, 0, k), 0);
    const struct td_t *gL = TRIL(narrow(l, g, -1, 0, k), -1), *gU = TRIU(narrow(l, g, -2, 0, k), 0);
    const struct td_t *L1 = narrow(l, L, -2, 0, k), *U1 = narrow(l, U, -1, 0, k);
    const struct td_t *LtgL = MM(mT(l, L1), narrow(l, gL, -2, 0, k));
    const struct td_t *gUUt = MM(narrow(l, gU, -1, 0, k), mT(l, U1));
    const struct td_t *gU2 = narrow(l, gU, -1, k, n), *L2 = narrow(l, L, -2, k, m), *gL2 = narrow(l, gL, -2, k, m);
    if (m < n)
        LtgL = SUB(LtgL, MM(gU2, mT(l, narrow(l, U, -1, k, n))));
    if (m > n)
        gUUt = SUB(gUUt, MM(mT(l, L2), gL2));
    const struct td_t *phi = ADD(TRIL(LtgL, -1), TRIU(gUUt, 0));
    const struct td_t *Y = trsolve(l, U1, phi, true, false, false, 1);
    if (m <= n)
        return lusolve(l, narrow(l, LU, -1, 0, k), piv, MM(mT(l, U1), m < n ? cat2(l, Y, gU2, -1) : Y), 1);
    const struct td_t *Z2 = trsolve(l, U1, gL2, true, false, false, 1);
    const struct td_t *W = cat2(l, MM(mT(l, U1), ADD(Y, MM(mT(l, L2), Z2))), Z2, -2);
    const struct td_t *pad = ADD(zeros_mat(l, LU, m, m - n), narrow(l, eye(l, LU, m, m), -1, n, m));
    return lusolve(l, cat2(l, LU, pad, -1), pivots_to(l, piv, m), W, 1);
}

/* A = V diag(w) V^T: gA = V (diag(gw) + skew(V^T gV) / 2E) V^T, E_ij = w_j - w_i (1 on
 * the diagonal, where skew is 0): symmetric, as torch's */
static const struct td_t *eigh_back(struct la *l, const struct td_t *gw, const struct td_t *gV, const struct td_t *w,
                                    const struct td_t *V)
{
    const struct td_t *inner = gw ? diag_embed(l, gw) : NULL;
    if (gV) {
        const struct td_t *E = SUB(unsq(l, w, -2), unsq(l, w, -1));
        const struct td_t *K = DIV(SCALE(skew(l, MM(mT(l, V), gV)), 0.5), ADD(E, eye(l, V, rows(V), rows(V))));
        inner = inner ? ADD(inner, K) : K;
    }
    return MM(V, MM(inner, mT(l, V)));
}

/* A = U diag(S) Vh (k = min(m, n) columns of U, rows of Vh; full_matrices' extra ones
 * take no part): with E_ij = s_j^2 - s_i^2 (1 on the diagonal),
 *   gA = U [skew(U^T gU)/E S + S skew(Vh gVh^T)/E + diag(gS)] Vh
 *        + (I - U U^T) gU S^-1 Vh + U S^-1 gVh (I - Vh^T Vh)
 * the last two only for tall (m > k) and wide (n > k) A.  Repeated singular values give
 * inf/nan when the loss depends on U or Vh, as torch's. */
static const struct td_t *svd_back(struct la *l, const struct td_t *gU, const struct td_t *gS, const struct td_t *gVh,
                                   const struct td_t *U, const struct td_t *S, const struct td_t *Vh)
{
    int64_t k = cols(S), m = rows(U), n = cols(Vh);
    U = narrow(l, U, -1, 0, k);
    Vh = narrow(l, Vh, -2, 0, k);
    gU = gU ? narrow(l, gU, -1, 0, k) : NULL;
    gVh = gVh ? narrow(l, gVh, -2, 0, k) : NULL;
    if (!gU && !gVh)
        return MM(U, MUL(unsq(l, gS, -1), Vh));
    const struct td_t *S2 = MUL(S, S), *Srow = unsq(l, S, -2);
    const struct td_t *E = ADD(SUB(unsq(l, S2, -2), unsq(l, S2, -1)), eye(l, S, k, k));
    const struct td_t *inner = gS ? diag_embed(l, gS) : NULL, *UtgU = NULL, *term;
    if (gU) {
        UtgU = MM(mT(l, U), gU);
        term = MUL(DIV(skew(l, UtgU), E), Srow);
        inner = inner ? ADD(inner, term) : term;
    }
    if (gVh) {
        term = MUL(unsq(l, S, -1), DIV(skew(l, MM(Vh, mT(l, gVh))), E));
        inner = inner ? ADD(inner, term) : term;
    }
    const struct td_t *gA = MM(U, MM(inner, Vh));
    if (gU && m > k)
        gA = ADD(gA, MM(DIV(SUB(gU, MM(U, UtgU)), Srow), Vh));
    if (gVh && n > k)
        gA = ADD(gA, MM(DIV(U, Srow), SUB(gVh, MM(MM(gVh, mT(l, Vh)), Vh))));
    return gA;
}

/* A = Q R with m >= n (Q m x n): with N = gR R^T - Q^T gQ made symmetric from its upper
 * triangle (M), gA = (gQ + Q M) R^-T */
static const struct td_t *qr_tall_back(struct la *l, const struct td_t *gQ, const struct td_t *gR, const struct td_t *Q,
                                       const struct td_t *R)
{
    const struct td_t *N = SUB(MM(gR, mT(l, R)), MM(mT(l, Q), gQ));
    const struct td_t *M = ADD(TRIU(N, 0), mT(l, TRIU(N, 1)));
    return trsolve(l, R, ADD(gQ, MM(Q, M)), true, false, false, 1);
}

/* m < n: A = [X | Y] with X = Q U square and Y = Q V, so V's gradient reaches Y through
 * Q (gY = Q gV) and Q through Y (gQ + Y gV^T) */
static const struct td_t *qr_back(struct la *l, const struct td_t *gQ, const struct td_t *gR, const struct td_t *Q,
                                  const struct td_t *R)
{
    int64_t m = rows(Q), n = cols(R);
    gQ = gQ ? gQ : zeros_of(l, &Q->m);
    gR = gR ? gR : zeros_of(l, &R->m);
    if (m >= n)
        return qr_tall_back(l, gQ, gR, Q, R);
    const struct td_t *gV = narrow(l, gR, -1, m, n), *Y = MM(Q, narrow(l, R, -1, m, n));
    const struct td_t *gX =
        qr_tall_back(l, ADD(gQ, MM(Y, mT(l, gV))), narrow(l, gR, -1, 0, m), Q, narrow(l, R, -1, 0, m));
    return cat2(l, gX, MM(Q, gV), -1);
}

/* torch's pseudo-inverse (linalg.pinv's default tolerance: singular values above
 * max(m, n) eps s_max), through the svd so it differentiates again */
static const struct td_t *pinv(struct la *l, const struct td_t *A)
{
    int64_t w[2] = {[TD_A_LINALG_SVD_FULL_MATRICES] = 0, [TD_A_LINALG_SVD_COMPUTE_UV] = 1};
    const struct td_t *usv[3];
    rec_all(l, TD_OP_LINALG_SVD, A, w, 2, usv, 3);
    const struct td_t *S = usv[1];
    if (!S)
        return NULL;
    double eps = S->m.dtype == TD_DTYPE_FLOAT32 ? 1.1920928955078125e-07 : 2.220446049250313e-16;
    int64_t mn = rows(A) > cols(A) ? rows(A) : cols(A);
    const struct td_t *keep_s = pw(l, TD_OP_GT, S, SCALE(narrow(l, S, -1, 0, 1), eps * (double)mn));
    const struct td_t *sinv = where(l, keep_s, pw(l, TD_OP_RECIPROCAL, S, NULL), zeros_of(l, &S->m));
    return MM(MUL(mT(l, usv[2]), unsq(l, sinv, -2)), mT(l, usv[0]));
}

/* lstsq's solution X = pinv(A) B (its first n rows; the rest, residual terms, take no
 * gradient as in torch): gB = P^T gX and gA from gP = gX B^T by the derivative of the
 * pseudo-inverse, -P^T gP P^T + (I - A P) gP^T P P^T + P^T P gP^T (I - P A) */
static const struct td_t *lstsq_back(struct la *l, int input, const struct td_t *g, const struct td_t *A,
                                     const struct td_t *B)
{
    int64_t m = rows(A), n = cols(A);
    const struct td_t *gX = narrow(l, g, -2, 0, n), *P = pinv(l, A), *Pt = mT(l, P);
    if (input == 1)
        return MM(Pt, gX);
    const struct td_t *gPt = MM(B, mT(l, gX));
    const struct td_t *t1 = SCALE(MM(Pt, MM(mT(l, gPt), Pt)), -1);
    const struct td_t *t2 = MM(SUB(eye(l, A, m, m), MM(A, P)), MM(gPt, MM(P, Pt)));
    const struct td_t *t3 = MM(MM(Pt, P), MM(gPt, SUB(eye(l, A, n, n), MM(P, A))));
    return ADD(ADD(t1, t2), t3);
}

/* the arena released, its first error returned */
static enum td_code drop_all(struct la *l)
{
    for (int i = 0; i < l->n; i++)
        td_release(l->c, &l->t[i]);
    l->n = 0;
    return l->code;
}

/* one step of householder_back's loop, in an arena of its own so that a long loop holds
 * only its carry: (R, M, gV, gtau) for reflector i, replaced by the next step's (owned) */
static enum td_code householder_step(struct la *o, const struct td_t *V, const struct td_t *tau, int64_t i,
                                     struct td_t *carry)
{
    struct la in = {.c = o->c, .st = o->st}, *l = &in;
    const struct td_t *v = narrow(l, V, -1, i, i + 1), *t = unsq(l, narrow(l, tau, -1, i, i + 1), -1);
    const struct td_t *sigma = DIV(t, pws(l, TD_OP_SUB, MUL(t, MM(mT(l, v), v)), 1));
    const struct td_t *R = SUB(&carry[0], MUL(sigma, MM(v, MM(mT(l, v), &carry[0])))), *M = &carry[1];
    const struct td_t *a = MM(mT(l, R), v), *cv = MM(mT(l, M), v);
    const struct td_t *next[4] = {R, SUB(M, MUL(t, MM(v, MM(mT(l, v), M)))),
                                  SCALE(MUL(t, ADD(MM(M, a), MM(R, cv))), -1), SCALE(MM(mT(l, cv), a), -1)};
    if (i > 0) {
        next[2] = cat2(l, &carry[2], next[2], -1);
        next[3] = cat2(l, &carry[3], next[3], -1);
    }
    struct td_t kept[4] = {{0}};
    for (int j = 0; j < 4 && !l->code; j++)
        kept[j] = td_retain(l->c, next[j]);
    for (int j = 0; j < 4; j++) {
        td_release(o->c, &carry[j]);
        carry[j] = kept[j];
    }
    return o->code = drop_all(l);
}

/* Q = H_0 ... H_{k-1} E (E the first n columns of I), H_i = I - t_i v_i v_i^T.  With
 * M_i = H_{i-1} ... H_0 G and R_i = H_{i+1} ... H_{k-1} E, the loss moves with H_i as
 * <M_i R_i^T, dH_i>: g t_i = -v^T M_i R_i^T v and g v_i = -t_i (M_i R_i^T + R_i M_i^T) v,
 * kept below the diagonal (the kernel reads no more of input).  R_i comes from Q by the
 * inverse reflectors, H^-1 = I - t / (t v^T v - 1) v v^T, so nothing is stored per i. */
static const struct td_t *householder_back(struct la *l, int input, const struct td_t *g, const struct td_t *A,
                                           const struct td_t *tau, const struct td_t *Q)
{
    int64_t m = rows(A), n = cols(A), k = cols(tau);
    const struct td_t *V = ADD(TRIL(A, -1), eye(l, A, m, n));
    if (l->code || !k || !g)
        return input == 0 ? zeros_of(l, &A->m) : zeros_of(l, &tau->m);
    struct td_t carry[4] = {td_retain(l->c, Q), td_retain(l->c, g)};
    for (int64_t i = 0; i < k && !l->code; i++)
        householder_step(l, V, tau, i, carry);
    const struct td_t *res[4];
    for (int j = 0; j < 4; j++)
        res[j] = keep(l, &carry[j]);
    if (input == 1) {
        int64_t w[2] = {[TD_A_SELECT_DIM] = tau->m.ndim - 1, [TD_A_SELECT_INDEX] = 0}; /* (b, 1, k) */
        return rec(l, TD_OP_SELECT, res[3], NULL, w, 2);
    }
    const struct td_t *gV = k < n ? cat2(l, res[2], zeros_mat(l, A, m, n - k), -1) : res[2];
    return TRIL(gV, -1);
}

static int64_t attr(const struct td_ag_node *n, int i, int64_t dflt)
{
    return (uint32_t)i < n->n_attr ? n->attrs[i] : dflt;
}

static bool empty(const struct td_t *t)
{
    for (int i = 0; i < t->m.ndim; i++)
        if (!t->m.sizes[i])
            return true;
    return false;
}

enum td_code td__ag_linalg(td_client_t *c, const struct td_ag_node *n, int helper, int input,
                           const struct td_t *const *v, struct td_t *out, struct td_status *st)
{
    struct la l_ = {.c = c, .st = st}, *l = &l_;
    const struct td_t *r = NULL;
    for (int i = 0; i < n->n_in; i++) /* the formulas transpose where complex needs the adjoint */
        if (td_dtype_is_complex((enum td_dtype)n->in_meta[i].dtype))
            return td_status_set(st, TD_CODE_UNIMPLEMENTED,
                                 "the derivative for '%s' is not implemented for complex "
                                 "inputs",
                                 td_op_name((enum td_op)n->op));
    switch (helper) {
    case TD_AGH_CHOLESKY_BACK:
        r = cholesky_back(l, attr(n, TD_A_LINALG_CHOLESKY_UPPER, 0), v[0], v[1]);
        break;
    case TD_AGH_MATRIX_EXP_BACK:
        r = matrix_exp_back(l, v[0], v[1]);
        break;
    case TD_AGH_TRIANGULAR_SOLVE_BACK:
        r = triangular_solve_back(l, input, n->attrs, v[0], v[1], v[2]);
        break;
    case TD_AGH_LU_SOLVE_BACK:
        r = lu_solve_back(l, input, n->attrs, v[0], v[1], v[2], v[3]);
        break;
    case TD_AGH_LU_FACTOR_BACK:
        r = lu_factor_back(l, v[0], v[1], v[2]);
        break;
    case TD_AGH_EIGH_BACK:
        if (empty(v[3]) && cols(v[2]) > 0) /* compute_v=False (tensord.linalg asks for V when A needs a gradient) */
            return fail(l, TD_CODE_INVALID_ARGUMENT,
                        "linalg_eigh_backward: the eigenvectors were not computed "
                        "(compute_v=False), so the eigenvalues cannot be differentiated");
        r = eigh_back(l, v[0], v[1], v[2], v[3]);
        break;
    case TD_AGH_SVD_BACK:
        if (empty(v[3]) && cols(v[4]) > 0)
            return fail(l, TD_CODE_INVALID_ARGUMENT,
                        "linalg_svd_backward: Setting compute_uv to false in "
                        "torch.svd doesn't compute singular matrices, and hence we cannot compute backward. "
                        "Please use torch.svd(compute_uv=True)");
        r = svd_back(l, v[0], v[1], v[2], v[3], v[4], v[5]);
        break;
    case TD_AGH_QR_BACK:
        if (attr(n, TD_A_LINALG_QR_MODE, 0) == 2)
            return fail(l, TD_CODE_INVALID_ARGUMENT,
                        "The derivative of linalg.qr depends on Q, which is not "
                        "computed when mode='r'. Please use linalg.qr(A, mode='reduced') if you are going to "
                        "differentiate through linalg.qr.");
        if (attr(n, TD_A_LINALG_QR_MODE, 0) == 1 && rows(v[2]) > cols(v[3]))
            return fail(l, TD_CODE_INVALID_ARGUMENT,
                        "The QR decomposition is not differentiable when "
                        "mode='complete' and nrows > ncols.");
        r = qr_back(l, v[0], v[1], v[2], v[3]);
        break;
    case TD_AGH_HOUSEHOLDER_BACK:
        r = householder_back(l, input, v[0], v[1], v[2], v[3]);
        break;
    case TD_AGH_LSTSQ_BACK:
        r = lstsq_back(l, input, v[0], v[1], v[2]);
        break;
    default:
        return td_status_set(st, TD_CODE_INTERNAL, "autograd: no linalg helper %d", helper);
    }
    return done(l, r, out);
}
