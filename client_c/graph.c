/*
 * graph.c — a capture's records renumbered into a graph body (graph.h).
 *
 * Local handles (daemon/graph.h): the inputs 1..n_in, the outputs next, then every other
 * tensor that existed before the capture and is read by it (a constant, held by the graph:
 * a module's parameters), then the tensors made during the capture (temporaries).
 * Releases are left out: the daemon places its own after each temporary's last use.
 */
#include "graph.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/op.h"
#include "../proto/td_record.h"

/* client handle -> local handle, open addressing (never full: cap > 2 * count) */
struct lmap {
    uint64_t *keys;
    uint32_t *vals;
    size_t cap, count;
};

static size_t slot(const struct lmap *m, uint64_t k)
{
    size_t i = (size_t)((k * 0x9E3779B97F4A7C15ull) >> 32) & (m->cap - 1);
    while (m->keys[i] && m->keys[i] != k)
        i = (i + 1) & (m->cap - 1);
    return i;
}

static bool lmap_grow(struct lmap *m)
{
    struct lmap n = {calloc(m->cap * 2, 8), calloc(m->cap * 2, 4), m->cap * 2, m->count};
    if (!n.keys || !n.vals) {
        free(n.keys);
        free(n.vals);
        return false;
    }
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i]) {
            size_t j = slot(&n, m->keys[i]);
            n.keys[j] = m->keys[i];
            n.vals[j] = m->vals[i];
        }
    free(m->keys);
    free(m->vals);
    *m = n;
    return true;
}

static uint32_t lmap_get(const struct lmap *m, uint64_t k)
{
    size_t i = slot(m, k);
    return m->keys[i] ? m->vals[i] : 0;
}

static bool lmap_put(struct lmap *m, uint64_t k, uint32_t v)
{
    if (2 * (m->count + 1) > m->cap && !lmap_grow(m))
        return false;
    size_t i = slot(m, k);
    if (!m->keys[i])
        m->count++;
    m->keys[i] = k;
    m->vals[i] = v;
    return true;
}

void td__graph_plan_fini(struct td__graph_plan *p)
{
    free(p->held);
    free(p->body);
    free(p->consts);
    free(p->in_written);
    free(p->const_written);
    memset(p, 0, sizeof *p);
}

enum td_code td__graph_plan(const uint8_t *rec, size_t len, uint64_t mark, const uint64_t *ins, int n_in,
                            const uint64_t *outs, int n_out, struct td__graph_plan *p, struct td_status *st)
{
    memset(p, 0, sizeof *p);
    struct lmap m = {calloc(64, 8), calloc(64, 4), 64, 0};
    size_t words = len / 8, cap_consts = 16;
    p->body = malloc(len ? len : 8);
    p->consts = malloc(cap_consts * sizeof *p->consts);
    p->in_written = calloc((size_t)n_in + 1, 1);
    p->const_written = malloc(cap_consts * sizeof *p->const_written);
    if (!m.keys || !m.vals || !p->body || !p->consts || !p->in_written || !p->const_written)
        goto oom;
    for (int i = 0; i < n_in; i++) {
        if (ins[i] > mark || ins[i] == 0) {
            td_status_set(st, TD_CODE_INVALID_ARGUMENT, "graph capture: input %d was made during the capture", i);
            goto fail;
        }
        if (lmap_get(&m, ins[i])) {
            td_status_set(st, TD_CODE_INVALID_ARGUMENT, "graph capture: input %d is input %u too (pass a tensor once)",
                          i, lmap_get(&m, ins[i]) - 1);
            goto fail;
        }
        if (!lmap_put(&m, ins[i], (uint32_t)i + 1))
            goto oom;
    }
    /* tensors made during the capture and still held by the program: the outputs of a held
     * capture; otherwise, besides the outputs, a run would make them anew and drop them,
     * never updating what the program holds */
    struct lmap made = {calloc(64, 8), calloc(64, 4), 64, 0};
    if (!made.keys || !made.vals)
        goto made_oom;
    for (size_t pos = 0; pos < words;) {
        const struct td_rec_hdr *h = (const struct td_rec_hdr *)(rec + pos * 8);
        const uint64_t *hs = (const uint64_t *)(h + 1);
        for (int i = 0; i < (h->op == TD_OP_RELEASE ? h->n_in : h->n_out); i++)
            if (hs[i] > mark && !lmap_put(&made, hs[i], h->op == TD_OP_RELEASE ? 2 : 1))
                goto made_oom;
        pos += h->words;
    }
    for (int j = 0; outs && j < n_out; j++)
        if (lmap_get(&made, outs[j]))
            lmap_put(&made, outs[j], 2);
    if (!outs) { /* in the order they were made */
        size_t cap_held = 16;
        if (!(p->held = malloc(cap_held * sizeof *p->held)))
            goto made_oom;
        for (size_t pos = 0; pos < words;) {
            const struct td_rec_hdr *h = (const struct td_rec_hdr *)(rec + pos * 8);
            const uint64_t *hs = (const uint64_t *)(h + 1);
            for (int i = 0; h->op != TD_OP_RELEASE && i < h->n_out; i++)
                if (hs[i] > mark && lmap_get(&made, hs[i]) == 1) {
                    if (p->n_held == cap_held) {
                        uint64_t *q = realloc(p->held, 2 * cap_held * sizeof *q);
                        if (!q)
                            goto made_oom;
                        p->held = q, cap_held *= 2;
                    }
                    p->held[p->n_held++] = hs[i];
                }
            pos += h->words;
        }
    } else {
        for (size_t i = 0; i < made.cap; i++)
            p->n_escaped += made.keys[i] && made.vals[i] == 1;
    }
    free(made.keys);
    free(made.vals);
    if (p->n_escaped) {
        td_status_set(st, TD_CODE_FAILED_PRECONDITION, "graph capture: the captured code keeps %u tensor%s it made "
                      "besides its outputs (optimizer state, a new .grad, a module attribute, ...): a graph would "
                      "not update them", p->n_escaped, p->n_escaped == 1 ? "" : "s");
        goto fail;
    }
    if (!outs) {
        outs = p->held;
        n_out = (int)p->n_held;
    }
    for (int j = 0; j < n_out; j++) {
        if (outs[j] <= mark) {
            td_status_set(st, TD_CODE_INVALID_ARGUMENT, "graph capture: output %d existed before the capture "
                          "(an input or a constant is returned as it is, not by the graph)", j);
            goto fail;
        }
        if (lmap_get(&m, outs[j])) {
            td_status_set(st, TD_CODE_INVALID_ARGUMENT, "graph capture: output %d is output %u too", j,
                          lmap_get(&m, outs[j]) - n_in - 1);
            goto fail;
        }
        if (!lmap_put(&m, outs[j], (uint32_t)(n_in + j + 1)))
            goto oom;
    }
    /* constants: pre-capture tensors read that are not inputs, in order of first use */
    for (size_t pos = 0; pos < words;) {
        const struct td_rec_hdr *h = (const struct td_rec_hdr *)(rec + pos * 8);
        const uint64_t *hs = (const uint64_t *)(h + 1);
        if (h->op != TD_OP_RELEASE)
            for (int i = h->n_out; i < h->n_out + h->n_in; i++)
                if (hs[i] <= mark && !lmap_get(&m, hs[i])) {
                    if (p->n_consts == cap_consts) {
                        uint64_t *q = realloc(p->consts, 2 * cap_consts * sizeof *q);
                        if (!q)
                            goto oom;
                        p->consts = q;
                        cap_consts *= 2;
                    }
                    p->consts[p->n_consts++] = hs[i];
                    if (!lmap_put(&m, hs[i], UINT32_MAX)) /* numbered below */
                        goto oom;
                }
        pos += h->words;
    }
    uint32_t next = (uint32_t)(n_in + n_out) + 1;
    for (uint32_t k = 0; k < p->n_consts; k++)
        lmap_put(&m, p->consts[k], next++); /* present already: no growth */
    uint64_t *cw = realloc(p->const_written, ((size_t)p->n_consts + 1) * sizeof *cw);
    if (!cw)
        goto oom;
    p->const_written = cw;
    for (size_t pos = 0; pos < words;) {
        const struct td_rec_hdr *h = (const struct td_rec_hdr *)(rec + pos * 8);
        const uint64_t *hs = (const uint64_t *)(h + 1);
        pos += h->words;
        if (h->op == TD_OP_RELEASE || h->op == TD_OP_GRAPH_FREE) /* (another graph's, freed meanwhile) */
            continue;
        if (td_op_table[h->op].family == TD_FAM_CTRL) {
            td_status_set(st, TD_CODE_FAILED_PRECONDITION, "graph capture: the captured code ran %s, which a graph "
                          "cannot hold", td_op_name(h->op));
            goto fail;
        }
        uint64_t *o = p->body + p->words;
        memcpy(o, h, (size_t)h->words * 8);
        for (int i = 0; i < h->n_out + h->n_in; i++) {
            uint32_t l = lmap_get(&m, hs[i]);
            if (!l) { /* made during the capture: a temporary (outputs are in the map) */
                if (hs[i] <= mark || !lmap_put(&m, hs[i], l = next++))
                    goto oom; /* (a pre-capture handle is always mapped by now) */
            }
            o[1 + i] = l;
        }
        int first, end = td_op_written_inputs(h->op, h->flags, h->n_in, &first);
        for (int i = first; i < end; i++) {
            uint32_t l = (uint32_t)o[1 + h->n_out + i];
            if (l <= (uint32_t)n_in)
                p->in_written[l - 1] = 1;
            else if (l > (uint32_t)(n_in + n_out) && l <= (uint32_t)(n_in + n_out) + p->n_consts) {
                uint64_t hnd = p->consts[l - n_in - n_out - 1];
                bool seen = false;
                for (uint32_t k = 0; k < p->n_const_written && !seen; k++)
                    seen = p->const_written[k] == hnd;
                if (!seen)
                    p->const_written[p->n_const_written++] = hnd;
            }
        }
        p->words += h->words;
    }
    free(m.keys);
    free(m.vals);
    return TD_CODE_OK;
made_oom:
    free(made.keys);
    free(made.vals);
oom:
    td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "graph capture: out of memory");
fail:
    free(m.keys);
    free(m.vals);
    td__graph_plan_fini(p);
    return st ? st->code : TD_CODE_INVALID_ARGUMENT;
}
