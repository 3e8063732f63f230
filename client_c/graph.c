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

/* ---- the file format (graph.h) ---- */

static const char MAGIC[8] = {'T', 'D', 'G', 'R', 'A', 'P', 'H', '1'};

struct wbuf {
    uint8_t *p;
    size_t len, cap;
    bool oom;
};

static void put(struct wbuf *b, const void *v, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n > b->cap) {
        size_t nc = b->cap ? b->cap : 1024;
        while (nc < b->len + n)
            nc *= 2;
        uint8_t *q = realloc(b->p, nc);
        if (!q) {
            b->oom = true;
            return;
        }
        b->p = q, b->cap = nc;
    }
    memcpy(b->p + b->len, v, n);
    b->len += n;
}

enum td_code td__graph_encode(const struct td__graph_file *f, uint8_t **bytes, size_t *len, struct td_status *st)
{
    struct wbuf b = {0};
    uint32_t counts[4] = {f->n_in, f->n_out, f->n_consts, f->n_cw};
    uint64_t words = f->words;
    put(&b, MAGIC, 8);
    put(&b, counts, sizeof counts);
    put(&b, &words, 8);
    for (uint32_t i = 0; i < f->n_in + f->n_out + f->n_consts; i++) {
        uint8_t m[8 + 16 * TD_MAX_DIMS];
        td_meta_wire_put(&f->m[i], m);
        put(&b, m, td_meta_wire_size(&f->m[i]));
    }
    put(&b, f->out_src, (size_t)f->n_out * 4);
    put(&b, f->out_const, (size_t)f->n_out * 4);
    put(&b, f->in_written, f->n_in);
    put(&b, (uint8_t[4]){0}, (4 - f->n_in % 4) % 4);
    put(&b, f->cw, (size_t)f->n_cw * 4);
    put(&b, f->body, f->words * 8);
    if (b.oom) {
        free(b.p);
        return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "graph save: out of memory");
    }
    *bytes = b.p, *len = b.len;
    return TD_CODE_OK;
}

struct rbuf {
    const uint8_t *p;
    size_t len, at;
};

static bool take(struct rbuf *b, void *v, size_t n)
{
    if (n > b->len - b->at)
        return false;
    memcpy(v, b->p + b->at, n);
    b->at += n;
    return true;
}

void td__graph_file_fini(struct td__graph_file *f)
{
    free(f->m);
    free(f->out_src);
    free(f->out_const);
    free(f->in_written);
    free(f->cw);
    free(f->body);
    memset(f, 0, sizeof *f);
}

enum td_code td__graph_decode(const uint8_t *bytes, size_t len, struct td__graph_file *f, struct td_status *st)
{
    memset(f, 0, sizeof *f);
    struct rbuf b = {bytes, len, 0};
    char magic[8];
    uint32_t counts[4];
    uint64_t words;
    if (!take(&b, magic, 8) || memcmp(magic, MAGIC, 8))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "graph load: not a tensord graph (no TDGRAPH1 header)");
    if (!take(&b, counts, sizeof counts) || !take(&b, &words, 8))
        goto short_;
    f->n_in = counts[0], f->n_out = counts[1], f->n_consts = counts[2], f->n_cw = counts[3];
    /* the least each part takes in the file (a meta: 8 bytes), before anything is allocated */
    uint64_t least = ((uint64_t)f->n_in + f->n_out + f->n_consts) * 8 + (uint64_t)f->n_out * 8 + f->n_in +
                     (uint64_t)f->n_cw * 4 + words * 8;
    if (f->n_in > 255 || f->n_out > 255 || f->n_consts >= (1u << 24) || f->n_cw > f->n_consts ||
        words > (len - b.at) / 8 || least > len - b.at)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "graph load: %u inputs, %u outputs, %u constants, %u "
                             "written and %llu words do not fit a graph of %zu bytes", f->n_in, f->n_out,
                             f->n_consts, f->n_cw, (unsigned long long)words, len);
    size_t n_m = (size_t)f->n_in + f->n_out + f->n_consts;
    f->m = calloc(n_m + 1, sizeof *f->m);
    f->out_src = malloc(((size_t)f->n_out + 1) * 4);
    f->out_const = malloc(((size_t)f->n_out + 1) * 4);
    f->in_written = calloc((size_t)f->n_in + 4, 1);
    f->cw = malloc(((size_t)f->n_cw + 1) * 4);
    f->body = malloc(words * 8 + 8);
    f->words = (size_t)words;
    if (!f->m || !f->out_src || !f->out_const || !f->in_written || !f->cw || !f->body) {
        td__graph_file_fini(f);
        return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "graph load: out of memory");
    }
    for (size_t i = 0; i < n_m; i++) {
        size_t used = td_meta_wire_take(b.p + b.at, b.len - b.at, &f->m[i]);
        if (!used)
            goto bad;
        b.at += used;
    }
    if (!take(&b, f->out_src, (size_t)f->n_out * 4) || !take(&b, f->out_const, (size_t)f->n_out * 4) ||
        !take(&b, f->in_written, f->n_in + (4 - f->n_in % 4) % 4) || !take(&b, f->cw, (size_t)f->n_cw * 4) ||
        !take(&b, f->body, f->words * 8))
        goto short_;
    for (uint32_t i = f->n_in; i < f->n_in + (4 - f->n_in % 4) % 4; i++)
        if (f->in_written[i]) /* the padding */
            goto bad;
    for (uint32_t i = 0; i < f->n_in; i++)
        if (f->in_written[i] > 1)
            goto bad;
    for (uint32_t j = 0; j < f->n_out; j++)
        if (f->out_src[j] >= (int32_t)f->n_in || f->out_src[j] < -1 - (int32_t)j || f->out_const[j] < -1 ||
            f->out_const[j] >= (int32_t)f->n_consts)
            goto bad;
    for (uint32_t k = 0; k < f->n_cw; k++)
        if (f->cw[k] >= f->n_consts)
            goto bad;
    if (b.at != len)
        goto bad;
    return TD_CODE_OK;
short_:
    td__graph_file_fini(f);
    return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "graph load: the graph is cut short (%zu bytes)", len);
bad:
    td__graph_file_fini(f);
    return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "graph load: a malformed graph (a size, dimension or index "
                         "out of range at byte %zu)", b.at);
}
