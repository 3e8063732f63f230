/*
 * tape.h — autograd's insides, shared by tape.c (recording nodes), engine.c (the
 * backward pass) and formula.c (running derivatives.def's formulas).  Not installed:
 * clients use tensord.h's td_backward, td_grad, td_requires_grad_ ...
 *
 * A tensor that requires grad carries a td_ag_meta (struct td_t.ag): a leaf keeps its
 * accumulated .grad, a computed tensor points at the node that made it (grad_fn) and
 * which of its outputs it is.  A node is one recorded op: its attribute words, an edge
 * per tensor input to the node that produced that input's gradient path, the metas of
 * its inputs and outputs, and the tensors its formulas read (saved handles, retained
 * through td_retain so they outlive the caller's references).  Nodes are refcounted;
 * edges only point to older nodes, so the graph is acyclic and nodes sorted by
 * decreasing sequence number are in topological order.
 */
#ifndef TD_AG_TAPE_H
#define TD_AG_TAPE_H

#include <stdbool.h>
#include <stdint.h>

#include "../client_c/tensord.h"

#define TD_AG_LEAF 0xFFFF  /* node op of a leaf's gradient accumulator */
#define TD_AG_CUSTOM 0xFFFE /* node op of a client-defined function (td_ag_custom) */
#define TD_AG_COPY_SLICES 0xFFFD /* node op of an in-place op on a view, seen from its base */
#define TD_AG_NO_SLOT 0xFF

struct td_ag_node;

struct td_ag_edge {
    struct td_ag_node *fn; /* NULL: that input needs no gradient */
    uint32_t nr;           /* which output of fn */
};

struct td_ag_meta {
    int refs;
    bool requires_grad;
    bool retains_grad;
    struct td_ag_node *grad_fn; /* NULL for a leaf */
    uint32_t output_nr;
    struct td_ag_node *accum;   /* a leaf's accumulator, made on first use (weak: it points back) */
    struct td_t grad;           /* handle 0: none */
    td_client_t *client;        /* where grad lives */
    struct td_ag_hook *hooks;   /* called on the gradient before it is used or stored */
    /* Views (docs/design/autograd.md, "In-place ops on views").  A view made in grad
     * mode points at its base's meta (view_base, owned; the base is the tensor that
     * created the storage, never itself a view), whose history an in-place op on the
     * view rebases.  version: a base's count of history rebases; a view's copy of it
     * from when its grad_fn was made, regenerated (as_strided of the base) when they
     * differ.  base_m: a base's geometry (set once it has views). */
    struct td_ag_meta *view_base;
    uint64_t version;
    struct td_meta *base_m;
    bool no_grad_view; /* a view made with grad mode off of a tensor that requires grad */
    bool custom_view;  /* an output of a custom function on one of its inputs' storage */
    bool dtype_view;   /* an output of view_as_complex in grad mode: not tracked as a view */
    /* A saved copy's history: the meta its tensor went on with (owned), whose current
     * grad_fn the "modified by an inplace operation" error names, as torch names the
     * saved tensor's latest in-place node.  Followed to the end of the chain. */
    struct td_ag_meta *live;
};

struct td_ag_saved_hooks {
    int refs;
    td_ag_pack_fn pack;
    td_ag_unpack_fn unpack;
    void (*drop)(void *ctx, void *packed);
    void (*free_ctx)(void *ctx);
    void *ctx;
    struct td_ag_saved_hooks *below; /* the thread's stack */
};

/* Drops a node's saved tensors and packed objects (node_free; a backward without
 * retain_graph). */
void td__ag_node_drop_saved(struct td_ag_node *n);

struct td_ag_hook {
    struct td_ag_hook *next;
    td_ag_hook_fn fn;            /* a tensor's hook */
    td_ag_node_hook_fn node_fn;  /* or a node's (td_ag_node_hook_add) */
    td_ag_node_prehook_fn pre_fn; /* or a node's pre-hook (td_ag_node_prehook_add) */
    void *ctx;
    void (*free_ctx)(void *ctx);
    int id;
};

struct td_ag_node {
    int refs;
    uint16_t op;            /* enum td_op, TD_AG_LEAF or TD_AG_CUSTOM */
    uint8_t flags;          /* the record's TD_RF_* */
    uint8_t n_in, n_out;    /* tensor inputs (edges) and outputs */
    uint8_t scalar_slot;    /* the schema slot a scalar operand fills, or TD_AG_NO_SLOT */
    bool freed;             /* saved tensors dropped by a backward without retain_graph */
    uint64_t seq;
    td_client_t *client;
    int64_t *attrs;
    uint32_t n_attr;
    struct td_ag_edge *next;        /* [n_in] */
    struct td_meta *in_meta;        /* [n_in] */
    struct td_meta *out_meta;       /* [n_out] */
    struct td_t *saved_in;          /* [n_in], handle 0: not saved */
    struct td_t *saved_out;         /* [n_out], ag NULL (the output's meta points here) */
    uint64_t *versions;             /* [2 (n_in + n_out)]: per saved tensor, its known-storage
                                     * version and its write count (td_version) when saved */
    struct td_ag_meta **retained;   /* [n_out] metas with retain_grad (weak), or NULL */
    struct td_ag_meta *leaf;        /* TD_AG_LEAF: the leaf (not owned: it owns us) */
    struct td_ag_custom custom;     /* TD_AG_CUSTOM */
    struct td_ag_node *inner;       /* TD_AG_COPY_SLICES: the in-place op's own node (owned) */
    const char *alias;              /* torch's name for the composed function this node ends
                                     * (td_ag_node_set_name; not owned), or NULL */
    struct td_ag_hook *post_hooks;  /* node hooks, run after its backward (node_fn) */
    struct td_ag_hook *pre_hooks;   /* node pre-hooks, run before it (pre_fn) */
    void **packed;                  /* [n_in + n_out] saved tensors given to saved-tensor hooks
                                     * (their slots' handles 0), or NULL */
    struct td_ag_saved_hooks *packer; /* the hooks that packed them (a reference) */
    /* engine scratch, valid during one backward pass */
    struct td_t *buf;               /* [n_out] gradients summed so far, handle 0: none */
    uint64_t buf_owned;             /* bit k: buf[k] was made by this pass (a sum, or zeros
                                     * for views' gradients), so it may be written in place */
    bool need;                      /* on a path to one of the pass's targets (or one) */
    bool further;                   /* one of its inputs' nodes is: its formulas run */
    uint64_t visit;
};

/* client.c: td_op without autograd; the reference count of t's handle */
enum td_code td__op_plain(td_client_t *c, enum td_op op, unsigned flags, const struct td_t *const *in, int n_in,
                          const int64_t *attrs, int n_attr, struct td_t *out, struct td_status *st);
uint64_t td__handle_refs(td_client_t *c, const struct td_t *t);
/* Whether t's storage was written since it had known version `version` (0: unknown). */
bool td__known_changed(td_client_t *c, const struct td_t *t, uint64_t version);
/* td_retain, td_known_register and td_version under one lock: a saved tensor, its known
 * version (version[0]) and its write count (version[1]) */
struct td_t td__retain_known(td_client_t *c, const struct td_t *t, uint64_t *version);

/* tape.c */
struct td_ag_meta *td__ag_meta_new(td_client_t *c);
void td__ag_meta_ref(struct td_ag_meta *m);
const struct td_ag_meta *td__ag_meta_latest(const struct td_ag_meta *m);
void td__ag_meta_unref(struct td_ag_meta *m);
void td__ag_node_ref(struct td_ag_node *n);
void td__ag_node_unref(struct td_ag_node *n);
/* The edge a gradient for t flows along: its grad_fn output, or its leaf accumulator
 * (made on demand); fn NULL when t needs no gradient. */
struct td_ag_edge td__ag_edge_of(const struct td_t *t);
/* After td__op_plain of a view op in grad mode: links the view to its base. */
void td__ag_track_view(td_client_t *c, enum td_op op, const struct td_t *in0, struct td_t *out);
/* After td__op_plain of a view op with grad mode off: a view of a tensor that requires
 * grad is marked, since an in-place op on it with grad mode on raises (torch's rule). */
void td__ag_mark_no_grad_view(td_client_t *c, const struct td_t *in0, struct td_t *out);
/* Makes t (not a view, owned by the caller) a base for the views made of it next. */
void td__ag_make_base(td_client_t *c, struct td_t *t);
/* the geometry of view_as_real(x) for a complex x's geometry */
void td__ag_pairs_meta(const struct td_meta *x, struct td_meta *out);
/* The engine runs formulas: their tensors are borrowed copies, never given a meta by
 * view tracking (nesting: a hook may run a pass). */
void td__ag_in_pass(bool on);
/* Whether the record needs a node: grad mode on and an input requires grad. */
bool td__ag_wants(enum td_op op, const struct td_t *const *in, int n_in);
/* td_op for records td__ag_wants: checks, records, makes the node. */
enum td_code td__ag_op(td_client_t *c, enum td_op op, unsigned flags, const struct td_t *const *in, int n_in,
                       const int64_t *attrs, int n_attr, struct td_t *out, struct td_status *st);

/* formula.c: the gradient of tensor input `input` of node n by td_ag_formulas[formula]
 * into *out (an owned reference), given the gradients of its outputs (grads[k].handle 0:
 * zero). */
enum td_code td__ag_formula(td_client_t *c, struct td_ag_node *n, int formula, int input, const struct td_t *grads,
                            struct td_t *out, struct td_status *st);
/* formula_linalg.c: derivatives.def's helper `helper` (a TD_AGH_* of the factorizations)
 * for tensor input `input` of n, given the helper's operands v (NULL: an output gradient
 * that never reached n), into *out (an owned reference). */
enum td_code td__ag_linalg(td_client_t *c, const struct td_ag_node *n, int helper, int input,
                           const struct td_t *const *v, struct td_t *out, struct td_status *st);
/* the schema slot of n's tensor input i (slots count the scalar operand) */
int td__ag_slot_of_input(const struct td_ag_node *n, int i);

/* engine.c: sums g (an owned reference) to the shape and dtype of m (undoing
 * broadcasting), in place of g. */
enum td_code td__ag_sum_to(td_client_t *c, struct td_t *g, const struct td_meta *m, struct td_status *st);

#endif
