/*
 * tape.c — recording the graph: autograd metas on tensors, nodes for ops, the grad mode,
 * and the accessors tensord.h gives clients (requires_grad_, grad, grad_fn, hooks,
 * custom functions).  Recording a node is a few stores and one retain per saved tensor;
 * the backward pass is engine.c.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "formulas.h"
#include "tape.h"

static _Thread_local bool grad_off; /* per thread, as torch's grad mode */
static _Thread_local bool forgetting; /* td_ag_forget: free memory, touch no client */

/* td_release for what autograd holds; only memory while forgetting (the client is gone) */
static void ag_release(td_client_t *c, struct td_t *t)
{
    if (forgetting) {
        td__ag_meta_unref(t->ag);
        t->ag = NULL;
        t->handle = 0;
        return;
    }
    td_release(c, t);
}
static _Atomic uint64_t next_seq = 1;

/* ---- saved-tensor hooks (torch.autograd.graph.saved_tensors_hooks) ---- */

static _Thread_local struct td_ag_saved_hooks *saved_hooks; /* this thread's innermost pair */

static void saved_hooks_unref(struct td_ag_saved_hooks *h)
{
    if (!h || __atomic_sub_fetch(&h->refs, 1, __ATOMIC_ACQ_REL))
        return;
    if (h->free_ctx)
        h->free_ctx(h->ctx);
    free(h);
}

enum td_code td_ag_saved_hooks_push(td_ag_pack_fn pack, td_ag_unpack_fn unpack, void (*drop)(void *ctx, void *packed),
                                    void *ctx, void (*free_ctx)(void *ctx), struct td_status *st)
{
    struct td_ag_saved_hooks *h = calloc(1, sizeof *h);
    if (!h)
        return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "out of memory");
    *h = (struct td_ag_saved_hooks){.refs = 1, .pack = pack, .unpack = unpack, .drop = drop, .free_ctx = free_ctx,
                                    .ctx = ctx, .below = saved_hooks};
    saved_hooks = h;
    return TD_CODE_OK;
}

void td_ag_saved_hooks_pop(void)
{
    struct td_ag_saved_hooks *h = saved_hooks;
    if (!h)
        return;
    saved_hooks = h->below;
    saved_hooks_unref(h);
}

void td__ag_node_drop_saved(struct td_ag_node *n)
{
    for (int i = 0; n->saved_in && i < n->n_in; i++)
        if (n->saved_in[i].handle)
            ag_release(n->client, &n->saved_in[i]);
    for (int k = 0; n->saved_out && k < n->n_out; k++)
        if (n->saved_out[k].handle)
            ag_release(n->client, &n->saved_out[k]);
    if (n->packed) {
        for (int i = 0; i < n->n_in + n->n_out; i++)
            if (n->packed[i])
                n->packer->drop(n->packer->ctx, n->packed[i]);
        free(n->packed);
        n->packed = NULL;
    }
    saved_hooks_unref(n->packer);
    n->packer = NULL;
}

bool td_grad_enabled(void) { return !grad_off; }
void td_grad_set_enabled(bool on) { grad_off = !on; }

/* ---- metas ---- */

static void unlist(struct td_ag_meta *m);

struct td_ag_meta *td__ag_meta_new(td_client_t *c)
{
    struct td_ag_meta *m = calloc(1, sizeof *m);
    if (m) {
        m->refs = 1;
        m->client = c;
    }
    return m;
}

void td__ag_meta_ref(struct td_ag_meta *m) { __atomic_add_fetch(&m->refs, 1, __ATOMIC_RELAXED); }

static void hooks_free(struct td_ag_hook *h)
{
    while (h) {
        struct td_ag_hook *next = h->next;
        if (h->free_ctx)
            h->free_ctx(h->ctx);
        free(h);
        h = next;
    }
}

void td__ag_meta_unref(struct td_ag_meta *m)
{
    /* a loop along `live`: a tensor modified in place in a long loop makes a long chain */
    while (m && !__atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL)) {
        struct td_ag_meta *next = m->live;
        if (m->grad.handle)
            ag_release(m->client, &m->grad);
        unlist(m);
        if (m->accum) {
            m->accum->leaf = NULL; /* the accumulator may outlive us in someone's graph */
            td__ag_node_unref(m->accum);
        }
        td__ag_node_unref(m->grad_fn);
        hooks_free(m->hooks);
        td__ag_meta_unref(m->view_base); /* one level: a base is never itself a view */
        free(m->base_m);
        free(m);
        m = next;
    }
}

const struct td_ag_meta *td__ag_meta_latest(const struct td_ag_meta *m)
{
    while (m && m->live)
        m = m->live;
    return m;
}

/* A non-leaf's hooks and retain_grad are found by the engine through its grad_fn's
 * `retained` list (weak both ways): list m there, or take it off. */
static bool enlist(struct td_ag_meta *m)
{
    struct td_ag_node *n = m->grad_fn;
    if (!n)
        return true;
    if (!n->retained && !(n->retained = calloc(n->n_out, sizeof *n->retained)))
        return false;
    n->retained[m->output_nr] = m;
    return true;
}

static void unlist(struct td_ag_meta *m)
{
    struct td_ag_node *n = m->grad_fn;
    if (n && n->retained && n->retained[m->output_nr] == m)
        n->retained[m->output_nr] = NULL;
}

/* m's history becomes output 0 of n (a view's regenerated grad_fn, a base's rebase):
 * its hooks and retain_grad follow it */
static void set_history(struct td_ag_meta *m, struct td_ag_node *n)
{
    unlist(m);
    td__ag_node_ref(n);
    td__ag_node_unref(m->grad_fn);
    m->grad_fn = n;
    m->output_nr = 0;
    m->requires_grad = true;
    if ((m->hooks || m->retains_grad) && !enlist(m))
        m->retains_grad = false;
}

/* t's meta, made on demand (NULL when out of memory). */
static struct td_ag_meta *meta_of(td_client_t *c, struct td_t *t)
{
    if (!t->ag)
        t->ag = td__ag_meta_new(c);
    return t->ag;
}

/* ---- nodes ---- */

void td__ag_node_ref(struct td_ag_node *n)
{
    if (n)
        __atomic_add_fetch(&n->refs, 1, __ATOMIC_RELAXED);
}

/* Drops what a node holds; the nodes it points to are pushed on `stack` for the caller
 * (iterative, so freeing a chain of a million nodes does not recurse). */
static void node_free(struct td_ag_node *n, struct td_ag_node ***stack, size_t *len, size_t *cap)
{
    td__ag_node_drop_saved(n);
    for (int i = 0; i <= n->n_in; i++) {
        struct td_ag_node *next = i == n->n_in ? n->inner : n->next ? n->next[i].fn : NULL;
        if (next && __atomic_sub_fetch(&next->refs, 1, __ATOMIC_ACQ_REL) == 0) {
            if (*len == *cap) {
                size_t nc = *cap ? *cap * 2 : 64;
                struct td_ag_node **p = realloc(*stack, nc * sizeof *p);
                if (!p)
                    continue; /* out of memory: that subgraph leaks rather than crash */
                *stack = p;
                *cap = nc;
            }
            (*stack)[(*len)++] = next;
        }
    }
    for (int k = 0; k < n->n_out; k++) {
        if (n->retained && n->retained[k])
            n->retained[k]->retains_grad = false; /* weak: the tensor outlives its graph */
    }
    if (n->op == TD_AG_CUSTOM && n->custom.free_ctx)
        n->custom.free_ctx(n->custom.ctx);
    hooks_free(n->post_hooks);
    hooks_free(n->pre_hooks);
    free(n->retained);
    free(n); /* the arrays live in the node's own block (node_new) */
}

void td__ag_node_unref(struct td_ag_node *n)
{
    if (!n || __atomic_sub_fetch(&n->refs, 1, __ATOMIC_ACQ_REL))
        return;
    struct td_ag_node **stack = NULL;
    size_t len = 0, cap = 0;
    node_free(n, &stack, &len, &cap);
    while (len)
        node_free(stack[--len], &stack, &len, &cap);
    free(stack);
}

void td_ag_node_unref(struct td_ag_node *n) { td__ag_node_unref(n); }

/* One allocation per node: its arrays follow the struct (recording a node is on the
 * path of every op that requires grad, so mallocs count). */
static struct td_ag_node *node_new(td_client_t *c, uint16_t op, int n_in, int n_out, int n_attr)
{
    size_t ni = n_in ? (size_t)n_in : 1, no = n_out ? (size_t)n_out : 1;
    size_t size = sizeof(struct td_ag_node) + ni * (sizeof(struct td_ag_edge) + sizeof(struct td_meta) +
                  sizeof(struct td_t)) + no * (sizeof(struct td_meta) + sizeof(struct td_t)) +
                  2 * (ni + no) * sizeof(uint64_t) + (n_attr ? (size_t)n_attr : 1) * sizeof(int64_t);
    struct td_ag_node *n = calloc(1, size);
    if (!n)
        return NULL;
    uint8_t *p = (uint8_t *)(n + 1); /* metas and tensors first: they are 8-aligned multiples */
    n->in_meta = (struct td_meta *)p, p += ni * sizeof(struct td_meta);
    n->out_meta = (struct td_meta *)p, p += no * sizeof(struct td_meta);
    n->saved_in = (struct td_t *)p, p += ni * sizeof(struct td_t);
    n->saved_out = (struct td_t *)p, p += no * sizeof(struct td_t);
    n->next = (struct td_ag_edge *)p, p += ni * sizeof(struct td_ag_edge);
    n->versions = (uint64_t *)p, p += 2 * (ni + no) * sizeof(uint64_t);
    n->attrs = (int64_t *)p;
    n->refs = 1;
    n->op = op;
    n->n_in = (uint8_t)n_in;
    n->n_out = (uint8_t)n_out;
    n->scalar_slot = TD_AG_NO_SLOT;
    n->client = c;
    n->seq = atomic_fetch_add(&next_seq, 1);
    return n;
}

/* The edge of meta m (a tensor of geometry geom): its grad_fn, or its accumulator. */
static struct td_ag_edge edge_of_meta(struct td_ag_meta *m, const struct td_meta *geom)
{
    struct td_ag_edge e = {NULL, 0};
    if (!m || !m->requires_grad)
        return e;
    if (m->grad_fn) {
        e.fn = m->grad_fn;
        e.nr = m->output_nr;
    } else {
        if (!m->accum) {
            struct td_ag_node *acc = node_new(m->client, TD_AG_LEAF, 0, 1, 0);
            if (!acc)
                return e;
            acc->out_meta[0] = *geom;
            acc->leaf = m;
            acc->seq = 0; /* a sink, made lazily: it must sort after every node feeding it */
            m->accum = acc;
        }
        e.fn = m->accum;
    }
    td__ag_node_ref(e.fn);
    return e;
}

/* ---- views ---- */

/* Writes t's geometry as AS_STRIDED's attributes (ndim, storage_offset, sizes, strides);
 * returns how many. */
static int strided_attrs(const struct td_meta *m, int64_t *a)
{
    a[TD_A_AS_STRIDED_NDIM] = m->ndim;
    a[TD_A_AS_STRIDED_STORAGE_OFFSET] = m->offset;
    memcpy(a + TD_A_AS_STRIDED_SIZE, m->sizes, sizeof(int64_t) * m->ndim);
    memcpy(a + TD_A_AS_STRIDED_SIZE + m->ndim + TD_A_AS_STRIDED_STRIDE_TAIL, m->strides, sizeof(int64_t) * m->ndim);
    return TD_A_AS_STRIDED_SIZE + 2 * m->ndim + TD_A_AS_STRIDED_STRIDE_TAIL;
}

/* A view whose base's history was rebased since its grad_fn was made gets a new one, as
 * torch's: as_strided of the base's current history (AsStridedBackward0). */
static bool same_strided_layout(const struct td_meta *a, const struct td_meta *b)
{
    return a->ndim == b->ndim && a->offset == b->offset && !memcmp(a->sizes, b->sizes, sizeof(int64_t) * a->ndim) &&
           !memcmp(a->strides, b->strides, sizeof(int64_t) * a->ndim);
}

/* The geometry of view_as_real(x) for complex x: (re, im) pairs in real elements. */
void td__ag_pairs_meta(const struct td_meta *x, struct td_meta *out)
{
    *out = *x;
    out->dtype = (uint8_t)td_dtype_to_real((enum td_dtype)x->dtype);
    out->ndim = (uint8_t)(x->ndim + 1);
    out->offset = 2 * x->offset;
    for (int d = 0; d < x->ndim; d++)
        out->strides[d] = 2 * x->strides[d];
    out->sizes[x->ndim] = 2;
    out->strides[x->ndim] = 1;
}

/* A view whose base's history was rebased since its grad_fn was made gets a new one, as
 * torch's: as_strided of the base's current history (AsStridedBackward0); a real view of
 * a complex base (view_as_real, .real, .imag) is as_strided of view_as_real of it. */
static void regenerate(const struct td_t *t)
{
    struct td_ag_meta *m = t->ag, *b = m->view_base;
    m->version = b->version;
    if (!b->requires_grad)
        return;
    int64_t a[TD_A_AS_STRIDED_SIZE + 2 * TD_MAX_DIMS + 1];
    int na = strided_attrs(&t->m, a);
    struct td_ag_node *pairs = NULL;
    if (t->m.dtype != b->base_m->dtype) {
        if (!(pairs = node_new(m->client, TD_OP_VIEW_AS_REAL, 1, 1, 0)))
            return;
        pairs->next[0] = edge_of_meta(b, b->base_m);
        pairs->in_meta[0] = *b->base_m;
        td__ag_pairs_meta(b->base_m, &pairs->out_meta[0]);
    }
    if (pairs && same_strided_layout(&pairs->out_meta[0], &t->m)) { /* view_as_real(base) itself: torch's name */
        set_history(m, pairs);
        td__ag_node_unref(pairs);
        return;
    }
    struct td_ag_node *n = node_new(m->client, TD_OP_AS_STRIDED, 1, 1, na);
    if (!n) {
        td__ag_node_unref(pairs);
        return; /* out of memory: the view keeps its old history */
    }
    memcpy(n->attrs, a, sizeof(int64_t) * na);
    n->n_attr = (uint32_t)na;
    if (pairs) {
        n->next[0] = (struct td_ag_edge){pairs, 0}; /* takes the reference */
        n->in_meta[0] = pairs->out_meta[0];
    } else {
        n->next[0] = edge_of_meta(b, b->base_m);
        n->in_meta[0] = *b->base_m;
    }
    n->out_meta[0] = t->m;
    set_history(m, n);
    td__ag_node_unref(n);
}

/* t's meta, with a view's grad_fn brought up to date */
static struct td_ag_meta *cur(const struct td_t *t)
{
    struct td_ag_meta *m = t->ag;
    if (m && m->view_base && m->version != m->view_base->version)
        regenerate(t);
    return m;
}

struct td_ag_edge td__ag_edge_of(const struct td_t *t) { return edge_of_meta(cur(t), &t->m); }

/* A view requires grad when its base does (torch's DifferentiableViewMeta). */
static bool needs_grad(const struct td_t *t)
{
    const struct td_ag_meta *m = t->ag;
    return m && (m->requires_grad || (m->view_base && m->view_base->requires_grad));
}

/* Gives t a meta of its own in place of m (shared with saved copies of t), moving what
 * belongs to the tensor rather than to its history: .grad, hooks, retain_grad. */
static struct td_ag_meta *meta_move(td_client_t *c, struct td_t *t)
{
    struct td_ag_meta *old = t->ag, *m = td__ag_meta_new(c);
    if (!m)
        return NULL;
    m->requires_grad = old->requires_grad;
    m->grad_fn = old->grad_fn;
    td__ag_node_ref(m->grad_fn);
    m->output_nr = old->output_nr;
    m->custom_view = old->custom_view;
    m->grad = old->grad;
    old->grad.handle = 0;
    m->hooks = old->hooks;
    old->hooks = NULL;
    if (old->grad_fn && old->grad_fn->retained && old->grad_fn->retained[old->output_nr] == old)
        old->grad_fn->retained[old->output_nr] = m;
    m->retains_grad = old->retains_grad;
    old->retains_grad = false;
    m->dtype_view = old->dtype_view;
    t->ag = m;
    if (!old->live) { /* the saved copies sharing old see what t becomes */
        td__ag_meta_ref(m);
        old->live = m;
    }
    td__ag_meta_unref(old);
    return m;
}

/* t (not a view) as a base: its meta, made on demand and its own, with its geometry. */
static struct td_ag_meta *base_meta(td_client_t *c, struct td_t *t)
{
    struct td_ag_meta *m = t->ag;
    if (m && m->base_m)
        return m;
    /* its history will change in place: saved copies must keep the old one (a leaf that
     * requires grad never changes: in-place ops on it and its views raise) */
    if (!m)
        m = t->ag = td__ag_meta_new(c);
    else if (__atomic_load_n(&m->refs, __ATOMIC_ACQUIRE) > 1 && !(m->requires_grad && !m->grad_fn))
        m = meta_move(c, t);
    if (!m || !(m->base_m = malloc(sizeof *m->base_m)))
        return NULL;
    *m->base_m = t->m;
    return m;
}

static _Thread_local int in_pass;

void td__ag_in_pass(bool on) { in_pass += on ? 1 : -1; }

void td__ag_make_base(td_client_t *c, struct td_t *t) { base_meta(c, t); }

void td__ag_mark_no_grad_view(td_client_t *c, const struct td_t *in0, struct td_t *out)
{
    if (out->storage_id != in0->storage_id || !(needs_grad(in0) || in0->ag->no_grad_view) ||
        (!out->ag && !(out->ag = td__ag_meta_new(c))))
        return;
    /* torch's view of a tensor that requires grad requires grad, wherever it was made */
    out->ag->no_grad_view = true;
    out->ag->requires_grad = true;
}

void td__ag_track_view(td_client_t *c, enum td_op op, const struct td_t *in0, struct td_t *out)
{
    /* view_as_real's output is a real view of its complex base (replayed through
     * view_as_real: regenerate); a complex view of a real tensor is not tracked, and an
     * in-place op on it (or its views) raises (check_record) */
    if (op == TD_OP_VIEW_AS_COMPLEX || (op == TD_OP_VIEW_AS_REAL && in0->m.ndim >= TD_MAX_DIMS)) {
        if (out->ag)
            out->ag->dtype_view = true;
        return;
    }
    if (out->storage_id != in0->storage_id ||
        !(td_dtype_is_float(out->m.dtype) || td_dtype_is_complex(out->m.dtype)))
        return;
    struct td_t *src = (struct td_t *)in0; /* the caller's tensor: a base gets its meta here */
    struct td_ag_meta *b;
    if (src->ag && src->ag->view_base)
        b = src->ag->view_base;
    else if (src->ag && src->ag->base_m)
        b = src->ag;
    else if (src->ag && src->ag->no_grad_view) {
        /* a view made with grad mode off: so are its views (torch's creation meta) */
        if (out->ag || (out->ag = td__ag_meta_new(c))) {
            out->ag->no_grad_view = true;
            out->ag->requires_grad = true;
        }
        return;
    } else if (!in_pass) /* (in a pass, src may be a borrowed copy: nothing is made on it) */
        b = base_meta(c, src); /* not a tracked view (detach's alias shares a storage): a base */
    else
        return;
    if (!b || (!out->ag && !(out->ag = td__ag_meta_new(c))))
        return;
    struct td_ag_meta *m = out->ag;
    td__ag_meta_ref(b);
    td__ag_meta_unref(m->view_base);
    m->view_base = b;
    m->version = b->version;
}

/* Points base meta b's history at output 0 of n (an in-place op on the base or a view). */
static void rebase(struct td_ag_meta *b, struct td_ag_node *n)
{
    set_history(b, n);
    b->version++;
}

/* An in-place op (node f) on view v: the base's history becomes CopySlices, which runs
 * f's formulas on the view's region of the base's gradient; v's grad_fn is regenerated
 * from it (as every other view of the base) when next asked for. */
static enum td_code copy_slices(td_client_t *c, const struct td_t *v, struct td_ag_node *f, struct td_status *st)
{
    struct td_ag_meta *b = v->ag->view_base;
    int64_t a[TD_A_AS_STRIDED_SIZE + 2 * TD_MAX_DIMS + 1];
    int na = strided_attrs(&v->m, a);
    struct td_ag_node *n = node_new(c, TD_AG_COPY_SLICES, f->n_in, 1, na);
    if (!n)
        return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "out of memory recording a graph node");
    memcpy(n->attrs, a, sizeof(int64_t) * na);
    n->n_attr = (uint32_t)na;
    n->next[0] = edge_of_meta(b, b->base_m);
    n->in_meta[0] = *b->base_m;
    n->out_meta[0] = *b->base_m;
    for (int i = 1; i < f->n_in; i++) {
        n->next[i] = f->next[i];
        td__ag_node_ref(n->next[i].fn);
        n->in_meta[i] = f->in_meta[i];
    }
    n->inner = f;
    td__ag_node_ref(f);
    rebase(b, n);
    td__ag_node_unref(n);
    return TD_CODE_OK;
}

static bool differentiable_dtype(enum td_dtype d) { return td_dtype_is_float(d) || td_dtype_is_complex(d); }

bool td__ag_wants(enum td_op op, const struct td_t *const *in, int n_in)
{
    if (grad_off)
        return false;
    for (int i = 0; i < n_in; i++)
        if (needs_grad(in[i]))
            return true;
    return false;
}

/* ---- recording ---- */

int td__ag_slot_of_input(const struct td_ag_node *n, int i)
{
    int s = n->scalar_slot != TD_AG_NO_SLOT && i >= n->scalar_slot ? i + 1 : i;
    if (n->op >= TD_OP_COUNT)
        return s;
    /* a variadic last input (CAT's *tensors, INDEX's *indices): every tensor past it
     * fills that one slot, shares its formula and is saved when it is */
    const struct td_op_schema *sc = &td_op_schemas[n->op];
    int last = sc->n_inputs - 1;
    if (last >= 0 && s > last && sc->args[last].kind == TD_ARG_TENSORS)
        return last;
    return s;
}

/* Which schema slot the scalar operand fills: a binary op recorded with one tensor. */
static uint8_t scalar_slot_of(enum td_op op, unsigned flags, int n_in)
{
    const struct td_op_schema *s = &td_op_schemas[op];
    if (n_in >= s->n_inputs)
        return TD_AG_NO_SLOT;
    for (int i = 0; i < s->n_inputs; i++)
        if (s->args[i].kind == TD_ARG_OPERAND)
            return (flags & TD_RF_SCALAR_LHS) ? 0 : (uint8_t)(s->n_inputs - 1);
    return TD_AG_NO_SLOT;
}

/* A saved copy of t: one more reference, its storage version noted for the check that
 * it was not modified in place before backward uses it. */
static struct td_t save(td_client_t *c, const struct td_t *t, uint64_t *version, bool drop_ag)
{
    struct td_t s = td__retain_known(c, t, version);
    if (drop_ag && s.ag) {
        td__ag_meta_unref(s.ag);
        s.ag = NULL;
    } else if (s.ag && (s.ag->view_base || s.ag->base_m) && !(s.ag->requires_grad && !s.ag->grad_fn)) {
        /* a view's or base's meta changes in place with later in-place ops: the saved
         * copy keeps the history it had (a leaf that requires grad never changes) */
        struct td_ag_meta *now = cur(t), *snap = td__ag_meta_new(c);
        if (snap) {
            snap->requires_grad = needs_grad(t);
            snap->grad_fn = now->grad_fn;
            td__ag_node_ref(snap->grad_fn);
            snap->output_nr = now->output_nr;
            td__ag_meta_ref(t->ag);
            snap->live = t->ag;
        }
        td__ag_meta_unref(s.ag);
        s.ag = snap;
    }
    return s;
}

/* With saved-tensor hooks on this thread: the node's floating saved tensors go to pack,
 * which gives an object the node keeps in their place. */
static enum td_code pack_saved(td_client_t *c, struct td_ag_node *n, struct td_status *st)
{
    struct td_ag_saved_hooks *h = saved_hooks;
    for (int i = 0; i < n->n_in + n->n_out; i++) {
        struct td_t *t = i < n->n_in ? &n->saved_in[i] : &n->saved_out[i - n->n_in];
        enum td_dtype dt = (enum td_dtype)t->m.dtype;
        if (!t->handle || !(td_dtype_is_float(dt) || td_dtype_is_complex(dt)))
            continue;
        if (!n->packed) {
            if (!(n->packed = calloc((size_t)(n->n_in + n->n_out), sizeof *n->packed)))
                return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "out of memory recording a graph node");
            __atomic_add_fetch(&h->refs, 1, __ATOMIC_RELAXED);
            n->packer = h;
        }
        void *obj = NULL;
        if (h->pack(h->ctx, c, t, &obj, st))
            return st ? st->code : TD_CODE_INTERNAL;
        n->packed[i] = obj;
        ag_release(c, t); /* the packed object stands for it now */
        *t = (struct td_t){.m = t->m};
    }
    return TD_CODE_OK;
}

static enum td_code save_tensors(td_client_t *c, struct td_ag_node *n, const struct td_t *const *in,
                                 const struct td_t *out, struct td_status *st)
{
    const struct td_ag_op *f = &td_ag_ops[n->op];
    for (int i = 0; i < n->n_in; i++)
        if (f->save_in & (1u << td__ag_slot_of_input(n, i)))
            n->saved_in[i] = save(c, in[i], &n->versions[2 * i], false);
    for (int k = 0; k < n->n_out; k++)
        if (f->save_out & (1u << k))
            n->saved_out[k] = save(c, &out[k], &n->versions[2 * (n->n_in + k)], true);
    return saved_hooks ? pack_saved(c, n, st) : TD_CODE_OK;
}

static enum td_code check_record(enum td_op op, unsigned flags, const struct td_t *const *in, int n_in,
                                 struct td_status *st)
{
    const char *name = td_op_name(op);
    bool inplace = (flags & TD_RF_INPLACE) || td_op_table[op].n_out == 0;
    if (flags & TD_RF_OUT)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s(): functions with out=... arguments don't "
                             "support automatic differentiation, but one of the arguments requires grad.", name);
    if (!inplace)
        return TD_CODE_OK;
    const struct td_ag_meta *m = cur(in[0]);
    if (m && m->grad_fn && (m->custom_view || (m->view_base && m->view_base->custom_view)))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "Output %u of %s is a view and is being modified "
                             "inplace. This view was created inside a custom Function (or because an input was "
                             "returned as-is) and the autograd logic to handle view+inplace would override the "
                             "custom backward associated with the custom Function, leading to incorrect gradients. "
                             "This behavior is forbidden. You can fix this by cloning the output of the custom "
                             "Function.", (unsigned)m->output_nr, td_ag_node_name(m->grad_fn));
    if (m && m->no_grad_view)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "A view was created in no_grad mode and is being "
                             "modified inplace with grad mode enabled. Given that this use case is ambiguous and "
                             "error-prone, it is forbidden. You can clarify your code by moving both the view and "
                             "the inplace either both inside the no_grad block (if you don't want the inplace to be "
                             "tracked) or both outside (if you want the inplace to be tracked).");
    if (m && (m->dtype_view || (m->view_base && m->view_base->dtype_view)))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s: an in-place operation on an output of "
                             "view_as_complex (or a view of one) is not supported by tensord's autograd; use an "
                             "out-of-place operation", name);
    if (m && m->view_base && m->view_base->requires_grad && !m->view_base->grad_fn)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "a view of a leaf Variable that requires grad is being used in an in-place operation.");
    if (m && m->requires_grad && !m->grad_fn)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "a leaf Variable that requires grad is being used in an in-place operation.");
    return TD_CODE_OK;
}

static struct td_ag_node *node_for(td_client_t *c, enum td_op op, unsigned flags, const struct td_t *const *in,
                                   int n_in, const int64_t *attrs, int n_attr, int n_out)
{
    struct td_ag_node *n = node_new(c, (uint16_t)op, n_in, n_out, n_attr);
    if (!n)
        return NULL;
    n->flags = (uint8_t)flags;
    n->scalar_slot = scalar_slot_of(op, flags, n_in);
    n->n_attr = (uint32_t)n_attr;
    if (n_attr)
        memcpy(n->attrs, attrs, sizeof(int64_t) * n_attr);
    for (int i = 0; i < n_in; i++) {
        n->next[i] = td__ag_edge_of(in[i]);
        n->in_meta[i] = in[i]->m;
    }
    n->seq = atomic_fetch_add(&next_seq, 1); /* newer than a view's grad_fn regenerated just now */
    return n;
}

/* Points t (an output) at output k of n. */
static void attach(td_client_t *c, struct td_t *t, struct td_ag_node *n, int k)
{
    struct td_ag_meta *m = td__ag_meta_new(c);
    if (!m)
        return; /* out of memory: the output simply does not require grad */
    m->requires_grad = true;
    m->grad_fn = n;
    m->output_nr = (uint32_t)k;
    td__ag_node_ref(n);
    struct td_ag_meta *old = t->ag;
    if (old && !old->live && __atomic_load_n(&old->refs, __ATOMIC_ACQUIRE) > 1) {
        td__ag_meta_ref(m); /* saved copies of t (an in-place op's input, an out=) see its new history */
        old->live = m;
    }
    td__ag_meta_unref(old);
    t->ag = m;
}

/* In place: the clone of input 0 the formulas read, since the op overwrites it. */
static enum td_code clone_first(td_client_t *c, enum td_op op, const struct td_t *in0, struct td_t *clone,
                                struct td_status *st)
{
    memset(clone, 0, sizeof *clone);
    if (!(td_ag_ops[op].save_in & 1u))
        return TD_CODE_OK;
    const struct td_t *src[1] = {in0};
    return td_op(c, TD_OP_CLONE, 0, src, 1, NULL, 0, clone, st);
}

enum td_code td__ag_op(td_client_t *c, enum td_op op, unsigned flags, const struct td_t *const *in, int n_in,
                       const int64_t *attrs, int n_attr, struct td_t *out, struct td_status *st)
{
    if (op == TD_OP_LOSS_INPUT_CHECK) /* reads its input and makes nothing: no part of the graph */
        return td__op_plain(c, op, flags, in, n_in, attrs, n_attr, out, st);
    if (check_record(op, flags, in, n_in, st))
        return st ? st->code : TD_CODE_INVALID_ARGUMENT;
    /* in place: TD_RF_INPLACE, or an op that writes its input 0 (copy_, fill_) */
    bool inplace = (flags & TD_RF_INPLACE) || td_op_table[op].n_out == 0, diff = td_op_table[op].flags & TD_F_DIFF;
    struct td_t clone;
    if (inplace && diff && clone_first(c, op, in[0], &clone, st))
        return st ? st->code : TD_CODE_INVALID_ARGUMENT;
    struct td_ag_node *n = node_for(c, op, flags, in, n_in, attrs, n_attr, inplace ? 1 : td_op_table[op].n_out);
    enum td_code code = n ? td__op_plain(c, op, flags, in, n_in, attrs, n_attr, out, st)
                          : td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "out of memory recording a graph node");
    /* an op without TD_F_DIFF still gets a node for its floating point outputs: a
     * backward pass that reaches it raises "not implemented" (torch's not_implemented)
     * instead of losing the gradient */
    if (code) {
        td__ag_node_unref(n);
        if (inplace && diff)
            td_release(c, &clone);
        return code;
    }
    struct td_t *res = inplace ? (struct td_t *)in[0] : out;
    const struct td_t *ins[TD_MAX_INPUTS];
    memcpy(ins, in, sizeof *ins * n_in);
    if (inplace && clone.handle)
        ins[0] = &clone;
    for (int k = 0; k < n->n_out; k++)
        n->out_meta[k] = res[k].m;
    if (diff)
        code = save_tensors(c, n, ins, res, st);
    /* a saved input on the storage the op wrote (y.mul_(y), a view's other view) was
     * saved after the write: torch's shared version counter makes backward raise */
    for (int i = 1; inplace && diff && !code && i < n_in; i++)
        if (n->saved_in[i].handle && in[i]->storage_id == in[0]->storage_id) {
            n->versions[2 * i] = UINT64_MAX;
            if (n->versions[2 * i + 1]) /* saved before the write, in torch's order */
                n->versions[2 * i + 1]--;
        }
    if (inplace && diff)
        td_release(c, &clone);
    struct td_ag_meta *m0 = inplace ? in[0]->ag : NULL;
    if (!code && m0 && m0->view_base && differentiable_dtype(res[0].m.dtype))
        code = copy_slices(c, in[0], n, st);
    else if (!code && m0 && m0->base_m && differentiable_dtype(res[0].m.dtype)) {
        *m0->base_m = in[0]->m; /* views' grad_fns replay on the base's current geometry */
        rebase(m0, n);
    } else {
        for (int k = 0; !code && k < n->n_out; k++)
            if (differentiable_dtype(res[k].m.dtype))
                attach(c, &res[k], n, k);
        if (!code && !inplace && td_op_table[op].family == TD_FAM_VIEW)
            td__ag_track_view(c, op, in[0], out);
    }
    if (code && !inplace) /* a saved-tensor hook failed: the call fails, its results go */
        for (int k = 0; k < n->n_out; k++)
            if (out[k].handle)
                td_release(c, &out[k]);
    td__ag_node_unref(n);
    return code;
}

/* ---- accessors ---- */

bool td_requires_grad(const struct td_t *t) { return needs_grad(t); }
bool td_is_leaf(const struct td_t *t) { return !cur(t) || !t->ag->grad_fn; }
bool td_retains_grad(const struct td_t *t) { return t->ag && t->ag->retains_grad; }

unsigned td_output_nr(const struct td_t *t) { return cur(t) && t->ag->grad_fn ? t->ag->output_nr : 0; }

enum td_code td_requires_grad_(td_client_t *c, struct td_t *t, bool on, struct td_status *st)
{
    if (!on) {
        if (cur(t) && t->ag->grad_fn)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "you can only change requires_grad flags of "
                                 "leaf variables. If you want to use a computed variable in a subgraph that "
                                 "doesn't require differentiation use var_no_grad = var.detach().");
        if (t->ag)
            t->ag->requires_grad = false;
        return TD_CODE_OK;
    }
    if (!differentiable_dtype(t->m.dtype))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "only Tensors of floating point and complex dtype can require gradients");
    if (!meta_of(c, t))
        return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "out of memory");
    t->ag->requires_grad = true;
    return TD_CODE_OK;
}

enum td_code td_retain_grad(td_client_t *c, struct td_t *t, struct td_status *st)
{
    struct td_ag_meta *m = cur(t);
    if (!m || !needs_grad(t))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "can't retain_grad on Tensor that has requires_grad=False");
    if (!m->grad_fn || m->retains_grad)
        return TD_CODE_OK;
    /* weak both ways: the meta clears it when its tensor goes (td__ag_meta_unref) */
    if (!enlist(m))
        return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "out of memory");
    m->retains_grad = true;
    return TD_CODE_OK;
}

bool td_grad_get(td_client_t *c, const struct td_t *t, struct td_t *out)
{
    if (!t->ag || !t->ag->grad.handle)
        return false;
    *out = td_retain(c, &t->ag->grad);
    return true;
}

enum td_code td_grad_set(td_client_t *c, struct td_t *t, const struct td_t *g, struct td_status *st)
{
    if (g && (g->m.dtype != t->m.dtype || g->m.ndim != t->m.ndim ||
              memcmp(g->m.sizes, t->m.sizes, sizeof(int64_t) * t->m.ndim)))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "assigned grad has data of a different size or type");
    if (!g && !t->ag)
        return TD_CODE_OK;
    if (!meta_of(c, t))
        return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "out of memory");
    if (t->ag->grad.handle)
        td_release(c, &t->ag->grad);
    if (g) {
        t->ag->grad = td_retain(c, g);
        td__ag_meta_unref(t->ag->grad.ag); /* a gradient's own history is not kept with it */
        t->ag->grad.ag = NULL;
    }
    return TD_CODE_OK;
}

void td_detach_(struct td_t *t)
{
    td__ag_meta_unref(t->ag);
    t->ag = NULL;
}

static bool same_geometry(const struct td_meta *a, const struct td_meta *b)
{
    if (a->dtype != b->dtype || a->ndim != b->ndim || a->device != b->device)
        return false;
    for (int d = 0; d < a->ndim; d++)
        if (a->sizes[d] != b->sizes[d])
            return false;
    return true;
}

void td_set_data(td_client_t *c, struct td_t *t, const struct td_t *src)
{
    struct td_t n = td_retain(c, src);
    td_detach_(&n);
    struct td_ag_meta *ag = t->ag;
    t->ag = NULL;
    /* graphs made from now on must shape the leaf's gradient by its new geometry; an
     * older graph keeps its accumulator, which no longer reaches the leaf */
    if (ag && ag->accum && !same_geometry(&ag->accum->out_meta[0], &n.m)) {
        ag->accum->leaf = NULL;
        td__ag_node_unref(ag->accum);
        ag->accum = NULL;
    }
    td_release(c, t);
    *t = n;
    t->ag = ag;
}

void td_ag_forget(struct td_t *t)
{
    bool was = forgetting;
    forgetting = true;
    td_detach_(t);
    forgetting = was;
}

void td_ag_node_forget(struct td_ag_node *n)
{
    bool was = forgetting;
    forgetting = true;
    td__ag_node_unref(n);
    forgetting = was;
}

struct td_ag_node *td_grad_fn(const struct td_t *t)
{
    struct td_ag_node *n = cur(t) ? t->ag->grad_fn : NULL;
    td__ag_node_ref(n);
    return n;
}

/* torch's node for a matmul is that of the kernel its ranks dispatch to (mm, mv, dot, or
 * the batched path's final view; a matrix times a batch ends in a contiguous copy, unless
 * torch folds the batch, which depends on its strides: not followed here) */
static const char *matmul_name(const struct td_ag_node *n)
{
    int a = n->in_meta[0].ndim, b = n->in_meta[1].ndim;
    if (a == 1 && b == 1)
        return "DotBackward0";
    if (a == 2 && b == 1)
        return "MvBackward0";
    if (a == 2 && b == 2)
        return "MmBackward0";
    if (a == 1 && b == 2)
        return "SqueezeBackward3";
    if (a == 2)
        return "CloneBackward0";
    return "UnsafeViewBackward0";
}

const char *td_ag_node_name(const struct td_ag_node *n)
{
    if (n->alias)
        return n->alias;
    if (n->op == TD_OP_MATMUL && n->n_in == 2)
        return matmul_name(n);
    /* torch's names for the overloads one of our ops covers */
    if ((n->op == TD_OP_SUM || n->op == TD_OP_MEAN) && n->n_attr > TD_A_REDUCE_KEEPDIM) {
        /* a reduction over some dims, or keeping them: sum.dim_IntList (the mask cannot
         * tell x.sum() from x.sum((0, 1)), torch's SumBackward1) */
        int nd = n->in_meta[0].ndim;
        uint64_t all = nd >= 64 ? ~0ull : (1ull << nd) - 1;
        if (((uint64_t)n->attrs[TD_A_REDUCE_DIM] & all) != all || n->attrs[TD_A_REDUCE_KEEPDIM])
            return n->op == TD_OP_SUM ? "SumBackward1" : "MeanBackward1";
    }
    if (n->op == TD_OP_POW && n->scalar_slot != 1)
        return "PowBackward1"; /* a tensor exponent: pow.Tensor_Tensor */
    if (n->op == TD_OP_SUB && (n->flags & TD_RF_SCALAR_LHS))
        return "RsubBackward1"; /* 1 - x */
    if (n->op == TD_OP_DIV && (n->flags & TD_RF_SCALAR_LHS))
        return "MulBackward0"; /* torch's 1 / x is x.reciprocal() * 1 */
    if (n->op == TD_AG_LEAF)
        return "torch::autograd::AccumulateGrad"; /* torch 1.13's name */
    if (n->op == TD_AG_CUSTOM)
        return n->custom.name ? n->custom.name : "BackwardCFunction";
    if (n->op == TD_AG_COPY_SLICES)
        return "torch::autograd::CopySlices"; /* torch 1.13's name */
    const char *s = td_ag_ops[n->op].name;
    return s ? s : td_op_name(n->op);
}

bool td_ag_node_is_custom(const struct td_ag_node *n) { return n->op == TD_AG_CUSTOM; }

void td_ag_node_set_name(struct td_ag_node *n, const char *name) { n->alias = name; }

int td_ag_node_n_next(const struct td_ag_node *n) { return n->n_in; }

struct td_ag_node *td_ag_node_next(const struct td_ag_node *n, int i, uint32_t *output_nr)
{
    if (i < 0 || i >= n->n_in)
        return NULL;
    if (output_nr)
        *output_nr = n->next[i].nr;
    td__ag_node_ref(n->next[i].fn);
    return n->next[i].fn;
}

const struct td_ag_meta *td_ag_node_leaf(const struct td_ag_node *n) { return n->op == TD_AG_LEAF ? n->leaf : NULL; }

/* ---- hooks and custom functions ---- */

/* appends h to the list at *tail with the next id, which it returns */
static int hook_append(struct td_ag_hook **tail, struct td_ag_hook *h)
{
    int id = 1;
    for (; *tail; tail = &(*tail)->next)
        id = (*tail)->id + 1;
    h->id = id;
    *tail = h;
    return id;
}

static void hook_unlink(struct td_ag_hook **p, int id)
{
    for (; p && *p; p = &(*p)->next)
        if ((*p)->id == id) {
            struct td_ag_hook *h = *p;
            *p = h->next;
            h->next = NULL;
            hooks_free(h);
            return;
        }
}

int td_ag_hook_add(td_client_t *c, struct td_t *t, td_ag_hook_fn fn, void *ctx, void (*free_ctx)(void *),
                   struct td_status *st)
{
    if (!needs_grad(t)) {
        td_status_set(st, TD_CODE_INVALID_ARGUMENT, "cannot register a hook on a tensor that doesn't require gradient");
        return -1;
    }
    struct td_ag_hook *h = calloc(1, sizeof *h), **tail = &t->ag->hooks;
    if (!h) {
        td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "out of memory");
        return -1;
    }
    if (!cur(t)->hooks && !enlist(t->ag)) { /* a non-leaf's hooks run when its grad_fn's gradient is formed */
        free(h);
        td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "out of memory");
        return -1;
    }
    *h = (struct td_ag_hook){.fn = fn, .ctx = ctx, .free_ctx = free_ctx};
    return hook_append(tail, h);
}

void td_ag_hook_remove(struct td_t *t, int id) { hook_unlink(t->ag ? &t->ag->hooks : NULL, id); }

int td_ag_node_hook_add(struct td_ag_node *n, td_ag_node_hook_fn fn, void *ctx, void (*free_ctx)(void *),
                        struct td_status *st)
{
    struct td_ag_hook *h = calloc(1, sizeof *h);
    if (!h) {
        td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "out of memory");
        return -1;
    }
    *h = (struct td_ag_hook){.node_fn = fn, .ctx = ctx, .free_ctx = free_ctx};
    return hook_append(&n->post_hooks, h);
}

void td_ag_node_hook_remove(struct td_ag_node *n, int id) { hook_unlink(&n->post_hooks, id); }

int td_ag_node_prehook_add(struct td_ag_node *n, td_ag_node_prehook_fn fn, void *ctx, void (*free_ctx)(void *),
                           struct td_status *st)
{
    struct td_ag_hook *h = calloc(1, sizeof *h);
    if (!h) {
        td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "out of memory");
        return -1;
    }
    *h = (struct td_ag_hook){.pre_fn = fn, .ctx = ctx, .free_ctx = free_ctx};
    return hook_append(&n->pre_hooks, h);
}

void td_ag_node_prehook_remove(struct td_ag_node *n, int id) { hook_unlink(&n->pre_hooks, id); }

enum td_code td_ag_custom_apply(td_client_t *c, const struct td_ag_custom *fn, const struct td_t *const *in,
                                int n_in, struct td_t *out, int n_out, struct td_status *st)
{
    if (n_in > TD_MAX_INPUTS || n_out > 255)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "too many inputs or outputs for a custom function");
    struct td_ag_node *n = node_new(c, TD_AG_CUSTOM, n_in, n_out, 0);
    if (!n)
        return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "out of memory recording a graph node");
    n->custom = *fn;
    for (int i = 0; i < n_in; i++) {
        n->next[i] = td__ag_edge_of(in[i]);
        n->in_meta[i] = in[i]->m;
    }
    n->seq = atomic_fetch_add(&next_seq, 1); /* newer than a view's grad_fn regenerated just now */
    for (int k = 0; k < n_out; k++) {
        n->out_meta[k] = out[k].m;
        if (!differentiable_dtype(out[k].m.dtype))
            continue;
        attach(c, &out[k], n, k);
        for (int i = 0; out[k].ag && i < n_in; i++)
            if (out[k].storage_id == in[i]->storage_id)
                out[k].ag->custom_view = true;
    }
    td__ag_node_unref(n);
    return TD_CODE_OK;
}
