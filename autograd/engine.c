/*
 * engine.c — the backward pass: collects the nodes reachable from the roots, runs them
 * newest first (edges point to older nodes, so that is a topological order), sums the
 * gradients arriving at each node's outputs, runs its formulas (formula.c) or the
 * client's function, and hands each input's gradient, summed to the input's shape and
 * cast to its dtype (moved to its device), to the node behind it.  Leaves' accumulators add into .grad.
 * Everything it does is ordinary op records in the session's stream.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../client_c/autocast.h"
#include "formulas.h"
#include "tape.h"

/* one pass at a time: nodes carry the pass's scratch (recursive: a hook may run one) */
static pthread_mutex_t engine_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static uint64_t pass_ids;
static bool anomaly; /* torch.autograd.set_detect_anomaly: check every gradient for NaN */

void td_ag_set_anomaly(bool on) { anomaly = on; }
bool td_ag_anomaly(void) { return anomaly; }

struct pass {
    td_client_t *c;
    struct td_status *st;
    unsigned flags;
    uint64_t id;
    struct td_ag_node **nodes;
    size_t n, cap;
    /* td_grad: the gradients flowing along these edges are captured, not accumulated */
    int n_cap;
    const struct td_ag_edge *cap_edges;
    struct td_t *captured;
    bool accumulate;
    int n_only; /* td_backward(inputs=): only these tensors' gradients are kept */
    const struct td_t *const *only;
    struct td_ag_edge *only_edges; /* [n_only] where their gradients arrive */
    uint8_t user_dev; /* the caller's creation device: user code runs with it (user_enter) */
};

/* ---- collecting the graph ---- */

static bool add_node(struct pass *p, struct td_ag_node *n)
{
    if (!n || n->visit == p->id)
        return true;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        struct td_ag_node **a = realloc(p->nodes, cap * sizeof *a);
        if (!a)
            return false;
        p->nodes = a;
        p->cap = cap;
    }
    n->visit = p->id;
    p->nodes[p->n++] = n;
    return true;
}

static int newest_first(const void *a, const void *b)
{
    uint64_t x = (*(struct td_ag_node *const *)a)->seq, y = (*(struct td_ag_node *const *)b)->seq;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* every node reachable from the roots, newest first; the list doubles as the DFS stack */
static enum td_code collect(struct pass *p, const struct td_ag_edge *roots, int n_roots)
{
    for (int i = 0; i < n_roots; i++)
        if (!add_node(p, roots[i].fn))
            return td_status_set(p->st, TD_CODE_RESOURCE_EXHAUSTED, "out of memory walking the graph");
    for (size_t at = 0; at < p->n; at++) {
        struct td_ag_node *n = p->nodes[at];
        for (int i = 0; i < n->n_in; i++)
            if (!add_node(p, n->next[i].fn))
                return td_status_set(p->st, TD_CODE_RESOURCE_EXHAUSTED, "out of memory walking the graph");
    }
    qsort(p->nodes, p->n, sizeof *p->nodes, newest_first);
    return TD_CODE_OK;
}

/* A pass with targets (autograd.grad's inputs, backward's inputs=) runs only the nodes on
 * a path to one, as torch's does: the others' gradients would be wasted work, and their
 * retained .grad and hooks must not change.  Nodes come newest first and edges point to
 * older nodes, so walking the list backwards sees every node's inputs first.  Without
 * targets every node is needed. */
static void mark_needed(struct pass *p, const struct td_ag_edge *targets, int n_targets)
{
    for (size_t i = p->n; i-- > 0;) {
        struct td_ag_node *n = p->nodes[i];
        bool further = !n_targets, target = false;
        for (int j = 0; !further && j < n->n_in; j++)
            further = n->next[j].fn && n->next[j].fn->need;
        for (int j = 0; !target && j < n_targets; j++)
            target = targets[j].fn == n;
        n->further = further;
        n->need = further || target;
    }
}

/* ---- gradient buffers ---- */

static enum td_code add(struct pass *p, const struct td_t *a, const struct td_t *b, struct td_t *out)
{
    const struct td_t *in[2] = {a, b};
    return td_op_apply(p->c, TD_OP_ADD, 0, 2, in, NULL, out, p->st);
}

/* adds g (owned; consumed) into output k of n */
static enum td_code deliver(struct pass *p, struct td_ag_node *n, uint32_t k, struct td_t *g)
{
    if (!n->buf && !(n->buf = calloc(n->n_out ? n->n_out : 1, sizeof *n->buf))) {
        td_release(p->c, g);
        return td_status_set(p->st, TD_CODE_RESOURCE_EXHAUSTED, "out of memory in backward");
    }
    if (!n->buf[k].handle) {
        n->buf[k] = *g; /* maybe another tensor's handle: never written in place */
        return TD_CODE_OK;
    }
    struct td_t sum;
    enum td_code code = add(p, &n->buf[k], g, &sum);
    td_release(p->c, g);
    if (code)
        return code;
    td_release(p->c, &n->buf[k]);
    n->buf[k] = sum;
    if (k < 64)
        n->buf_owned |= 1ull << k;
    return TD_CODE_OK;
}

/* A SLICE/SELECT node's gradient added into its input's gradient buffer in place, through
 * the same view: O(slice).  The formula's way, zeros of the whole input with the gradient
 * copied in, then summed with the other gradients arriving there, is O(input) per slice,
 * so a sequence taken apart into T steps (an RNN's per-step slices) cost O(T^2) in
 * backward.  Only where the formula's result would be the same tensor: no graph of the
 * backward (create_graph), no node hooks or anomaly checks, the same dtype and device, and
 * a buffer this pass made (zeros made here, or a sum); false: the caller runs the node as
 * usual (which makes the buffer a sum, so the next slices come here). */
static bool view_grad_in_place(struct pass *p, struct td_ag_node *n, enum td_code *code)
{
    if ((n->op != TD_OP_SLICE && n->op != TD_OP_SELECT) || td_grad_enabled() || anomaly || n->post_hooks ||
        n->n_in != 1 || !n->next[0].fn || !n->next[0].fn->need || !n->buf || !n->buf[0].handle ||
        n->next[0].nr >= 64)
        return false;
    struct td_ag_node *t = n->next[0].fn;
    uint32_t k = n->next[0].nr;
    const struct td_meta *im = &n->in_meta[0];
    struct td_t *g = &n->buf[0];
    if (g->m.dtype != im->dtype || g->m.device != im->device || im->device != td_client_device(p->c))
        return false;
    if (!t->buf && !(t->buf = calloc(t->n_out ? t->n_out : 1, sizeof *t->buf)))
        return false;
    if (t->buf[k].handle && !(t->buf_owned & (1ull << k)))
        return false;
    if (!t->buf[k].handle) {
        if ((*code = td_full(p->c, (enum td_dtype)im->dtype, im->ndim, im->sizes, 0, &t->buf[k], p->st)))
            return true;
        t->buf_owned |= 1ull << k;
    }
    struct td_t view;
    const struct td_t *x[1] = {&t->buf[k]};
    if ((*code = td_op(p->c, (enum td_op)n->op, 0, x, 1, n->attrs, (int)n->n_attr, &view, p->st)))
        return true;
    const struct td_t *in[2] = {&view, g};
    *code = td_op_apply(p->c, TD_OP_ADD, TD_RF_INPLACE, 2, in, NULL, NULL, p->st);
    td_release(p->c, &view);
    return true;
}

static void clear_buf(struct pass *p, struct td_ag_node *n)
{
    for (int k = 0; n->buf && k < n->n_out; k++)
        if (n->buf[k].handle)
            td_release(p->c, &n->buf[k]);
    free(n->buf);
    n->buf = NULL;
    n->buf_owned = 0;
}

enum td_code td__ag_sum_to(td_client_t *c, struct td_t *g, const struct td_meta *m, struct td_status *st)
{
    int lead = g->m.ndim - m->ndim;
    uint64_t mask = 0;
    for (int d = 0; d < g->m.ndim; d++)
        if (d < lead || (m->sizes[d - lead] == 1 && g->m.sizes[d] != 1))
            mask |= 1ull << d;
    if (lead < 0 || (!mask && lead == 0 && memcmp(g->m.sizes, m->sizes, sizeof(int64_t) * m->ndim)))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "autograd: a gradient of %d dims cannot be "
                             "summed to an input of %d", g->m.ndim, m->ndim);
    enum td_code code = TD_CODE_OK;
    if (mask) {
        struct td_sum_args a = {.dim = mask, .keepdim = 1, .dtype = -1};
        const struct td_t *in[1] = {g};
        struct td_t s, v;
        if ((code = td_rec_sum(c, 0, in, 1, &a, &s, st)))
            return code;
        struct td_view_args va = {.size = m->sizes, .n_size = m->ndim};
        const struct td_t *sin[1] = {&s};
        code = td_rec_view(c, 0, sin, 1, &va, &v, st);
        td_release(c, &s);
        if (code)
            return code;
        td_release(c, g);
        *g = v;
    }
    if (g->m.dtype != m->dtype) {
        struct td_cast_args a = {.dtype = m->dtype};
        const struct td_t *in[1] = {g};
        struct td_t cast;
        if ((code = td_rec_cast(c, 0, in, 1, &a, &cast, st)))
            return code;
        td_release(c, g);
        *g = cast;
    }
    if (g->m.device != m->device) {
        /* a copy across devices: the gradient goes back to its input's device (torch's
         * engine moves it too), on the client's creation device restored after */
        uint8_t was = td_client_device(c);
        struct td_empty_args ea = {.dtype = m->dtype, .size = m->sizes, .n_size = m->ndim};
        struct td_t moved;
        if ((code = td_client_set_device(c, m->device, st)))
            return code;
        code = td_rec_empty(c, 0, NULL, 0, &ea, &moved, st);
        struct td_status ignored = TD_STATUS_INIT;
        enum td_code back = td_client_set_device(c, was, code ? &ignored : st);
        if (code || (code = back))
            return code;
        const struct td_t *in[2] = {&moved, g};
        if ((code = td_rec_copy_(c, 0, in, 2, NULL, st))) {
            td_release(c, &moved);
            return code;
        }
        td_release(c, g);
        *g = moved;
    }
    return TD_CODE_OK;
}

/* ---- running nodes ---- */

/* User code (tensor and node hooks, a custom function's backward) creates where its
 * caller creates, as torch's factories do whatever device the engine is on: the
 * creation device the pass follows is swapped out around it. */
static uint8_t user_enter(struct pass *p)
{
    uint8_t dev = td_client_device(p->c);
    struct td_status ignored = TD_STATUS_INIT;
    if (dev != p->user_dev)
        td_client_set_device(p->c, p->user_dev, &ignored);
    return dev;
}

static void user_exit(struct pass *p, uint8_t dev)
{
    struct td_status ignored = TD_STATUS_INIT;
    if (td_client_device(p->c) != dev)
        td_client_set_device(p->c, dev, &ignored);
}

static enum td_code run_hooks(struct pass *p, struct td_ag_meta *m, struct td_t *g)
{
    for (struct td_ag_hook *h = m ? m->hooks : NULL; h && g->handle; h = h->next) {
        uint8_t dev = user_enter(p);
        enum td_code code = h->fn(h->ctx, p->c, g, p->st);
        user_exit(p, dev);
        if (code)
            return p->st->code;
    }
    return TD_CODE_OK;
}

static bool wanted(const struct pass *p, const struct td_ag_meta *m)
{
    if (!p->n_only)
        return true;
    for (int i = 0; i < p->n_only; i++)
        if (p->only[i]->ag == m)
            return true;
    return false;
}

/* m.grad += g (g consumed): in place, or as a new tensor while building a graph of it */
static enum td_code accumulate(struct pass *p, struct td_ag_meta *m, struct td_t *g)
{
    bool create = p->flags & TD_AG_CREATE_GRAPH;
    struct td_t sum;
    enum td_code code = TD_CODE_OK;
    if (!m->grad.handle) {
        bool own = td__handle_refs(p->c, g) == 1 && g->storage_id == g->handle && td_meta_is_contiguous(&g->m);
        if (own || create) {
            m->grad = *g;
            return TD_CODE_OK;
        }
        const struct td_t *in[1] = {g}; /* the caller's tensor, or a view: .grad gets its own copy */
        code = td_op(p->c, TD_OP_CLONE, 0, in, 1, NULL, 0, &m->grad, p->st);
    } else if (create || m->grad.ag) {
        if (!(code = add(p, &m->grad, g, &sum))) {
            td_release(p->c, &m->grad);
            m->grad = sum;
        }
    } else {
        const struct td_t *in[2] = {&m->grad, g};
        code = td_op_apply(p->c, TD_OP_ADD, TD_RF_INPLACE, 2, in, NULL, NULL, p->st);
    }
    td_release(p->c, g);
    return code;
}

static enum td_code run_leaf(struct pass *p, struct td_ag_node *n)
{
    struct td_ag_meta *m = n->leaf;
    struct td_t *g = &n->buf[0];
    if (!m || !g->handle || run_hooks(p, m, g) || !g->handle)
        return p->st->code;
    if (!p->accumulate || !wanted(p, m))
        return TD_CODE_OK;
    struct td_t mine = *g;
    g->handle = 0;
    return accumulate(p, m, &mine);
}

static const char *const freed_msg =
    "Trying to backward through the graph a second time (or directly access saved tensors after they have "
    "already been freed). Saved intermediate values of the graph are freed when you call .backward() or "
    "autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second time or if "
    "you need to access saved tensors after calling backward.";

static enum td_code copy_slices_back(struct pass *p, struct td_ag_node *n, struct td_t *gin);

/* the gradients of n's inputs into gin[0..n_in) (handle 0: none) */
static enum td_code run_formulas(struct pass *p, struct td_ag_node *n, struct td_t *gin)
{
    if (n->op == TD_AG_COPY_SLICES)
        return copy_slices_back(p, n, gin);
    if (n->op == TD_AG_CUSTOM) {
        uint8_t dev = user_enter(p);
        enum td_code code = n->custom.backward(n->custom.ctx, p->c, n->buf, n->n_out, gin, n->n_in, p->st);
        user_exit(p, dev);
        return code;
    }
    const struct td_ag_op *f = &td_ag_ops[n->op];
    if (n->freed && (f->save_in || f->save_out))
        return td_status_set(p->st, TD_CODE_INVALID_ARGUMENT, "%s", freed_msg);
    for (int i = 0; i < n->n_in; i++) {
        if (!n->next[i].fn)
            continue;
        int slot = td__ag_slot_of_input(n, i), fi = -1;
        for (int j = f->first; j < f->first + f->n; j++)
            if (td_ag_formulas[j].slot == slot)
                fi = j;
        if (fi < 0)
            return td_status_set(p->st, TD_CODE_UNIMPLEMENTED, "the derivative for '%s' is not implemented.",
                                 td_op_name(n->op));
        if (td__ag_formula(p->c, n, fi, i, n->buf, &gin[i], p->st))
            return p->st->code;
    }
    return TD_CODE_OK;
}

/* anomaly mode: whether g has a NaN (a sync: the mode trades speed for the check) */
static enum td_code nan_check(struct pass *p, struct td_ag_node *n, int i, const struct td_t *g)
{
    struct td_t isnan, any;
    const struct td_t *in[1] = {g};
    if (td_op(p->c, TD_OP_ISNAN, 0, in, 1, NULL, 0, &isnan, p->st))
        return p->st->code;
    enum td_code code = td_reduce(p->c, TD_OP_ANY, &isnan, NULL, 0, 0, &any, p->st);
    td_release(p->c, &isnan);
    bool bad = false;
    if (!code) {
        code = td_download(p->c, &any, &bad, 1, p->st);
        td_release(p->c, &any);
    }
    if (!code && bad)
        code = td_status_set(p->st, TD_CODE_INVALID_ARGUMENT, "Function '%s' returned nan values in its %dth "
                             "output.", td_ag_node_name(n), i);
    return code;
}

/* the node's saved tensors, dropped once a pass without retain_graph has used them */
static void free_saved(struct pass *p, struct td_ag_node *n)
{
    (void)p;
    td__ag_node_drop_saved(n);
    n->freed = true;
}

/* op1 of the pass: one input, attributes */
static enum td_code op1(struct pass *p, enum td_op op, unsigned flags, const struct td_t *x, const int64_t *attrs,
                        int n_attr, struct td_t *out)
{
    const struct td_t *in[1] = {x};
    return td_op(p->c, op, flags, in, 1, attrs, n_attr, out, p->st);
}

/* The elements a geometry reaches in its storage, from 0: one past its last. */
static int64_t extent(int nd, int64_t offset, const int64_t *sizes, const int64_t *strides)
{
    int64_t end = offset + 1;
    for (int d = 0; d < nd; d++) {
        if (sizes[d] == 0)
            return offset;
        end += (sizes[d] - 1) * strides[d];
    }
    return end;
}

/* CopySlices (torch's): the base's gradient g, with the view's region replaced by the
 * gradient the in-place op's formulas give for the view's old values; its other inputs'
 * gradients from the same formulas on that region.  All of it ordinary recorded ops
 * (a view written with copy_), so with create_graph it is differentiated again. */
static enum td_code copy_slices_back(struct pass *p, struct td_ag_node *n, struct td_t *gin)
{
    struct td_ag_node *f = n->inner;
    const struct td_meta *bm = &n->out_meta[0];
    const int64_t *va = n->attrs;
    int vnd = (int)va[TD_A_AS_STRIDED_NDIM];
    const int64_t *vsizes = va + TD_A_AS_STRIDED_SIZE, *vstrides = vsizes + vnd + TD_A_AS_STRIDED_STRIDE_TAIL;
    struct td_t flat = {0}, base = {0}, region = {0}, gs = {0}, pairs = {0}, *fg = calloc(f->n_in, sizeof *fg);
    /* a real view of a complex base (view_as_real, .real, .imag): its geometry counts real
     * elements, so its region is read through view_as_real of the buffer */
    bool real_view = f->in_meta[0].dtype != bm->dtype;
    if (!fg)
        return td_status_set(p->st, TD_CODE_RESOURCE_EXHAUSTED, "out of memory in backward");
    enum td_code code;
    /* the usual base (contiguous from 0): its gradient is the buffer itself */
    bool whole = td_meta_is_contiguous(bm) && bm->offset == 0;
    int64_t ba[TD_A_AS_STRIDED_SIZE + 2 * TD_MAX_DIMS + 1];
    struct td_t *bp = whole ? &flat : &base;
    if (whole) {
        code = td_full(p->c, (enum td_dtype)bm->dtype, bm->ndim, bm->sizes, 0, &flat, p->st);
    } else { /* one buffer over the storage positions both reach, viewed as each */
        int64_t ext = extent(bm->ndim, bm->offset, bm->sizes, bm->strides), ve = extent(vnd, va[1], vsizes, vstrides);
        if (real_view)
            ve = (ve + 1) / 2;
        ext = ext > ve ? ext : ve;
        ba[TD_A_AS_STRIDED_NDIM] = bm->ndim;
        ba[TD_A_AS_STRIDED_STORAGE_OFFSET] = bm->offset;
        memcpy(ba + TD_A_AS_STRIDED_SIZE, bm->sizes, sizeof(int64_t) * bm->ndim);
        memcpy(ba + TD_A_AS_STRIDED_SIZE + bm->ndim + TD_A_AS_STRIDED_STRIDE_TAIL, bm->strides,
               sizeof(int64_t) * bm->ndim);
        code = td_full(p->c, (enum td_dtype)bm->dtype, 1, &ext, 0, &flat, p->st);
    }
    /* with create_graph, flat's views written in place rebase flat's history (tape.c) */
    if (!code && td_grad_enabled())
        td__ag_make_base(p->c, &flat);
    if (!code && !whole)
        code = op1(p, TD_OP_AS_STRIDED, 0, &flat, ba, TD_A_AS_STRIDED_SIZE + 2 * bm->ndim, &base);
    if (!code) {
        const struct td_t *in[2] = {bp, &n->buf[0]};
        code = td_op(p->c, TD_OP_COPY_, 0, in, 2, NULL, 0, NULL, p->st);
    }
    if (!code && real_view)
        code = op1(p, TD_OP_VIEW_AS_REAL, 0, &flat, NULL, 0, &pairs);
    if (!code)
        code = op1(p, TD_OP_AS_STRIDED, 0, real_view ? &pairs : &flat, va, (int)n->n_attr, &region);
    if (!code)
        code = op1(p, TD_OP_CLONE, 0, &region, NULL, 0, &gs);
    if (!code) { /* the in-place op's formulas, given the region's gradient */
        struct td_t *keep = f->buf; /* f runs in this pass too when a saved output of it is differentiated */
        f->buf = &gs;
        code = run_formulas(p, f, fg);
        f->buf = keep;
    }
    if (!code && n->next[0].fn) {
        if (fg[0].handle && !(code = td__ag_sum_to(p->c, &fg[0], &f->in_meta[0], p->st))) {
            const struct td_t *in[2] = {&region, &fg[0]};
            code = td_op(p->c, TD_OP_COPY_, 0, in, 2, NULL, 0, NULL, p->st);
        } else if (!fg[0].handle) {
            struct td_fill__args z = {.value = td_scalar_of_f64(0.0)};
            const struct td_t *in[1] = {&region};
            code = td_rec_fill_(p->c, 0, in, 1, &z, NULL, p->st);
        }
        if (!code) {
            gin[0] = *bp;
            bp->handle = 0;
            bp->ag = NULL;
        }
    }
    for (int i = 0; i < f->n_in; i++) {
        if (!code && i > 0)
            gin[i] = fg[i];
        else if (fg[i].handle)
            td_release(p->c, &fg[i]);
    }
    free(fg);
    struct td_t *tmp[5] = {&flat, &base, &region, &gs, &pairs};
    for (int i = 0; i < 5; i++)
        if (tmp[i]->handle)
            td_release(p->c, tmp[i]);
    if (!code && !(p->flags & TD_AG_RETAIN_GRAPH) && f->visit != p->id) /* else f's own run frees them */
        free_saved(p, f);
    return code;
}

static enum td_code run_node(struct pass *p, struct td_ag_node *n)
{
    for (int j = 0; j < p->n_cap; j++)
        if (p->cap_edges[j].fn == n && n->buf[p->cap_edges[j].nr].handle && !p->captured[j].handle)
            p->captured[j] = td_retain(p->c, &n->buf[p->cap_edges[j].nr]);
    if (n->op == TD_AG_LEAF)
        return run_leaf(p, n);
    /* backward(inputs=) naming a non-leaf: its .grad accumulates, as torch's (one that
     * retains its gradient does so below) */
    for (int j = 0; p->only_edges && j < p->n_only; j++) {
        struct td_ag_meta *m = p->only[j]->ag;
        uint32_t k = p->only_edges[j].nr;
        if (p->only_edges[j].fn == n && m && !m->retains_grad && k < n->n_out && n->buf[k].handle) {
            struct td_t g = td_retain(p->c, &n->buf[k]);
            if (accumulate(p, m, &g))
                return p->st->code;
        }
    }
    for (int k = 0; n->retained && k < n->n_out; k++) {
        struct td_ag_meta *m = n->retained[k];
        if (!m || !n->buf[k].handle || run_hooks(p, m, &n->buf[k]))
            continue;
        if (m->retains_grad && n->buf[k].handle) { /* autograd.grad too, as torch's */
            struct td_t g = td_retain(p->c, &n->buf[k]);
            if (accumulate(p, m, &g))
                return p->st->code;
        }
    }
    for (struct td_ag_hook *h = n->pre_hooks; !p->st->code && h; h = h->next) {
        uint8_t dev = user_enter(p);
        h->pre_fn(h->ctx, p->c, n->buf, n->n_out, p->st);
        user_exit(p, dev);
    }
    if (p->st->code || !n->further)
        return p->st->code;
    enum td_code vcode = TD_CODE_OK;
    if (view_grad_in_place(p, n, &vcode)) {
        if (!vcode && !(p->flags & TD_AG_RETAIN_GRAPH))
            free_saved(p, n);
        return vcode;
    }
    struct td_t *gin = calloc(n->n_in ? n->n_in : 1, sizeof *gin);
    if (!gin)
        return td_status_set(p->st, TD_CODE_RESOURCE_EXHAUSTED, "out of memory in backward");
    enum td_code code = run_formulas(p, n, gin);
    for (int i = 0; !code && i < n->n_in; i++) {
        if (gin[i].handle && anomaly && td_dtype_is_float(gin[i].m.dtype))
            code = nan_check(p, n, i, &gin[i]);
        if (!code && gin[i].handle && n->next[i].fn)
            code = td__ag_sum_to(p->c, &gin[i], &n->in_meta[i], p->st);
    }
    /* node hooks see what torch's post hooks see: the inputs' gradients as computed
     * (a custom function's also for inputs that need none), the outputs' as received */
    for (struct td_ag_hook *h = n->post_hooks; !code && h; h = h->next) {
        uint8_t dev = user_enter(p);
        code = h->node_fn(h->ctx, p->c, gin, n->n_in, n->buf, n->n_out, p->st);
        user_exit(p, dev);
    }
    for (int i = 0; i < n->n_in; i++) {
        if (!gin[i].handle)
            continue;
        if (!code && n->next[i].fn && n->next[i].fn->need)
            code = deliver(p, n->next[i].fn, n->next[i].nr, &gin[i]);
        else
            td_release(p->c, &gin[i]);
    }
    free(gin);
    if (!code && !(p->flags & TD_AG_RETAIN_GRAPH) && n->op != TD_AG_CUSTOM)
        free_saved(p, n);
    return code;
}

static bool has_grad(const struct td_ag_node *n)
{
    for (int k = 0; n->buf && k < n->n_out; k++)
        if (n->buf[k].handle)
            return true;
    return false;
}

/* ---- entry points ---- */

/* the pass reads st->code after each step: a status of its own when the caller gave none */
static struct td_status *fresh_status(struct td_status *st, struct td_status *local)
{
    st = st ? st : local;
    st->code = TD_CODE_OK;
    st->msg[0] = 0;
    return st;
}

static enum td_code root_grad(struct pass *p, const struct td_t *root, const struct td_t *given, int i,
                              struct td_t *out)
{
    if (given) {
        if (given->m.ndim != root->m.ndim || memcmp(given->m.sizes, root->m.sizes, sizeof(int64_t) * root->m.ndim))
            return td_status_set(p->st, TD_CODE_INVALID_ARGUMENT, "Mismatch in shape: grad_output[%d] has a "
                                 "shape different from output[%d]'s", i, i);
        *out = td_retain(p->c, given);
        return TD_CODE_OK;
    }
    if (td_meta_numel(&root->m) != 1)
        return td_status_set(p->st, TD_CODE_INVALID_ARGUMENT, "grad can be implicitly created only for scalar outputs");
    return td_full(p->c, (enum td_dtype)root->m.dtype, root->m.ndim, root->m.sizes, 1, out, p->st);
}

/* The device of a node's tensors (its outputs', else its inputs'). */
static uint8_t node_device(const struct td_ag_node *n)
{
    if (n->out_meta && n->n_out)
        return n->out_meta[0].device;
    if (n->in_meta && n->n_in)
        return n->in_meta[0].device;
    return TD_DEVICE_CPU;
}

static enum td_code run_pass(struct pass *p, int n, const struct td_t *const *roots, const struct td_t *const *grads)
{
    struct td_ag_edge *edges = calloc(n ? n : 1, sizeof *edges);
    if (!edges)
        return td_status_set(p->st, TD_CODE_RESOURCE_EXHAUSTED, "out of memory in backward");
    enum td_code code = TD_CODE_OK;
    for (int i = 0; !code && i < n; i++) {
        edges[i] = td__ag_edge_of(roots[i]);
        if (!edges[i].fn)
            code = td_status_set(p->st, TD_CODE_INVALID_ARGUMENT, "element %d of tensors does not require grad "
                                 "and does not have a grad_fn", i);
    }
    pthread_mutex_lock(&engine_lock);
    p->id = ++pass_ids;
    if (!code)
        code = collect(p, edges, n);
    if (!code && p->n_only) { /* backward(inputs=): their nodes are the targets */
        if (!(p->only_edges = calloc((size_t)p->n_only, sizeof *p->only_edges)))
            code = td_status_set(p->st, TD_CODE_RESOURCE_EXHAUSTED, "out of memory in backward");
        for (int i = 0; !code && i < p->n_only; i++)
            p->only_edges[i] = td__ag_edge_of(p->only[i]);
        if (!code)
            mark_needed(p, p->only_edges, p->n_only);
    } else if (!code) {
        mark_needed(p, p->cap_edges, p->n_cap);
    }
    /* formulas that create tensors (seeds, zeros, masks) create them on the device the
     * node's tensors are on: the client's creation device follows the pass */
    uint8_t dev0 = td_client_device(p->c);
    p->user_dev = dev0;
    for (int i = 0; !code && i < n; i++) {
        struct td_t g;
        if (!(code = td_client_set_device(p->c, roots[i]->m.device, p->st)) &&
            !(code = root_grad(p, roots[i], grads ? grads[i] : NULL, i, &g)))
            code = deliver(p, edges[i].fn, edges[i].nr, &g);
    }
    bool was = td_grad_enabled();
    td_grad_set_enabled(p->flags & TD_AG_CREATE_GRAPH);
    unsigned amp_was = td__amp_suspend(); /* the backward pass runs outside autocast, as torch's */
    td__ag_in_pass(true);
    for (size_t i = 0; !code && i < p->n; i++)
        if (p->nodes[i]->need && has_grad(p->nodes[i]) &&
            !(code = td_client_set_device(p->c, node_device(p->nodes[i]), p->st)))
            code = run_node(p, p->nodes[i]);
    td__ag_in_pass(false);
    td__amp_restore(amp_was);
    td_grad_set_enabled(was);
    if (td_client_device(p->c) != dev0) {
        struct td_status st2 = TD_STATUS_INIT;
        td_client_set_device(p->c, dev0, code ? &st2 : p->st);
    }
    for (size_t i = 0; i < p->n; i++)
        clear_buf(p, p->nodes[i]);
    pthread_mutex_unlock(&engine_lock);
    for (int i = 0; i < n; i++)
        td__ag_node_unref(edges[i].fn);
    for (int i = 0; p->only_edges && i < p->n_only; i++)
        td__ag_node_unref(p->only_edges[i].fn);
    free(p->only_edges);
    free(edges);
    free(p->nodes);
    return code;
}

enum td_code td_backward(td_client_t *c, int n, const struct td_t *const *roots, const struct td_t *const *grads,
                         int n_inputs, const struct td_t *const *inputs, unsigned flags, struct td_status *st)
{
    struct td_status local0;
    st = fresh_status(st, &local0);
    for (int i = 0; i < n_inputs; i++)
        if (!td_requires_grad(inputs[i]))
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "One of the differentiated Tensors does not "
                                 "require grad");
    struct td_status local;
    st = fresh_status(st, &local);
    struct pass p = {.c = c, .st = st, .flags = flags, .accumulate = true, .n_only = n_inputs, .only = inputs};
    return run_pass(&p, n, roots, grads);
}

enum td_code td_grad(td_client_t *c, int n_out, const struct td_t *const *outputs,
                     const struct td_t *const *grad_outputs, int n_in, const struct td_t *const *inputs,
                     struct td_t *grads, unsigned flags, struct td_status *st)
{
    struct td_status local;
    st = fresh_status(st, &local);
    struct td_ag_edge *cap = calloc(n_in ? n_in : 1, sizeof *cap);
    if (!cap)
        return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "out of memory in autograd.grad");
    memset(grads, 0, sizeof *grads * n_in);
    enum td_code code = TD_CODE_OK;
    for (int j = 0; !code && j < n_in; j++) {
        cap[j] = td__ag_edge_of(inputs[j]);
        if (!cap[j].fn)
            code = td_status_set(st, TD_CODE_INVALID_ARGUMENT, "One of the differentiated Tensors does not "
                                 "require grad");
    }
    struct pass p = {.c = c, .st = st, .flags = flags, .n_cap = n_in, .cap_edges = cap, .captured = grads};
    if (!code)
        code = run_pass(&p, n_out, outputs, grad_outputs);
    /* captured gradients already have their inputs' shapes and dtypes (run_node sums and
     * casts every gradient to the tensor it is delivered for) */
    for (int j = 0; !code && j < n_in; j++)
        if (!grads[j].handle && !(flags & TD_AG_ALLOW_UNUSED))
            code = td_status_set(st, TD_CODE_INVALID_ARGUMENT, "One of the differentiated Tensors appears to not "
                                 "have been used in the graph. Set allow_unused=True if this is the desired "
                                 "behavior.");
    for (int j = 0; j < n_in; j++) {
        if (code && grads[j].handle)
            td_release(c, &grads[j]);
        td__ag_node_unref(cap[j].fn);
    }
    free(cap);
    return code;
}
