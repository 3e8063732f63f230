/*
 * graph.c — checking and optimizing graph bodies, and a session's list of graphs
 * (graph.h).  Nothing here runs a record: session.c does, with the handles mapped.
 */
#include "graph.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/op.h"
#include "../proto/td_record.h"
#include "exec.h"

/* What a local handle is while the body is read in order. */
enum { L_ABSENT = 0, L_LIVE, L_RELEASED };

struct rec_ref {
    size_t at; /* word offset in the given body */
    const struct td_rec_hdr *h;
};

static const uint64_t *handles_of(const struct td_rec_hdr *h) { return (const uint64_t *)(h + 1); }

/* A record whose effect is more than its outputs: it writes an operand, draws from a
 * generator, or exists for a check (no outputs).  Dead-op removal keeps these. */
static bool has_effects(const struct td_rec_hdr *h)
{
    int first;
    if (h->n_out == 0 || td_op_written_inputs(h->op, h->flags, h->n_in, &first) > first)
        return true;
    unsigned fam = td_op_table[h->op].family;
    return fam == TD_FAM_RANDOM || h->op == TD_OP_RAND || h->op == TD_OP_RANDN || h->op == TD_OP_RANDINT;
}

/* The records of body in order, checked for framing, ops and handle use. */
static enum td_code read_body(const struct td_graph *g, const uint64_t *w, size_t words, struct rec_ref **out,
                              uint32_t *n_out, uint32_t *n_local, struct td_status *st)
{
    uint32_t first_temp = g->n_inputs + g->n_outputs + g->n_consts, hi = first_temp;
    size_t cap = 64, n = 0;
    struct rec_ref *recs = malloc(cap * sizeof *recs);
    /* the local handles' states grow with the highest one seen */
    size_t st_cap = (size_t)first_temp + 64;
    uint8_t *state = calloc(st_cap, 1);
    if (!recs || !state)
        goto oom;
    for (uint32_t k = 1; k <= first_temp; k++)
        if (k <= g->n_inputs || k > g->n_inputs + g->n_outputs)
            state[k] = L_LIVE; /* inputs and constants exist from the start */
    for (size_t pos = 0; pos < words;) {
        const struct td_rec_hdr *h = (const struct td_rec_hdr *)(w + pos);
        size_t need = 1 + (size_t)h->n_out + h->n_in + h->n_attr;
        if (h->words < need || h->words > TD_REC_MAX_WORDS || h->words > words - pos) {
            td_status_set(st, TD_CODE_INVALID_ARGUMENT, "graph: record %zu is malformed (%u words declared, %zu "
                          "needed, %zu left)", n, h->words, need, words - pos);
            goto fail;
        }
        if (h->op >= TD_OP_COUNT || (td_op_table[h->op].flags & TD_F_DEPRECATED) ||
            (td_op_table[h->op].family == TD_FAM_CTRL && h->op != TD_OP_RELEASE)) {
            td_status_set(st, TD_CODE_INVALID_ARGUMENT, "graph: record %zu is %s, which a graph cannot hold "
                          "(only ops and releases)", n, h->op < TD_OP_COUNT ? td_op_table[h->op].name : "an unknown op");
            goto fail;
        }
        const uint64_t *hs = handles_of(h);
        for (int i = 0; i < h->n_out + h->n_in; i++) {
            uint64_t k = hs[i];
            if (k == 0 || k >= TD_GRAPH_MAX_LOCAL) {
                td_status_set(st, TD_CODE_INVALID_ARGUMENT, "graph: record %zu names local handle %llu (1 to %u)", n,
                              (unsigned long long)k, TD_GRAPH_MAX_LOCAL - 1);
                goto fail;
            }
            if (k >= st_cap) {
                size_t nc = st_cap;
                while (nc <= k)
                    nc *= 2;
                uint8_t *p = realloc(state, nc);
                if (!p)
                    goto oom;
                memset(p + st_cap, 0, nc - st_cap);
                state = p, st_cap = nc;
            }
            if (k > hi)
                hi = (uint32_t)k;
        }
        if (h->op == TD_OP_RELEASE) {
            for (int i = 0; i < h->n_in; i++)
                if (hs[i] <= first_temp || state[hs[i]] != L_LIVE) {
                    td_status_set(st, TD_CODE_INVALID_ARGUMENT, "graph: record %zu releases local handle %llu, "
                                  "which is not a live temporary", n, (unsigned long long)hs[i]);
                    goto fail;
                }
            for (int i = 0; i < h->n_in; i++)
                state[hs[i]] = L_RELEASED;
        } else {
            for (int i = h->n_out; i < h->n_out + h->n_in; i++)
                if (state[hs[i]] != L_LIVE) {
                    td_status_set(st, TD_CODE_INVALID_ARGUMENT, "graph: record %zu (%s) reads local handle %llu "
                                  "before it is made or after its release", n, td_op_table[h->op].name,
                                  (unsigned long long)hs[i]);
                    goto fail;
                }
            for (int i = 0; i < h->n_out; i++) {
                uint64_t k = hs[i];
                bool makeable = k > first_temp || (k > g->n_inputs && k <= g->n_inputs + g->n_outputs);
                if (!makeable || state[k] != L_ABSENT) {
                    td_status_set(st, TD_CODE_INVALID_ARGUMENT, "graph: record %zu (%s) makes local handle %llu, "
                                  "which is an input, a constant or made already", n, td_op_table[h->op].name,
                                  (unsigned long long)k);
                    goto fail;
                }
                state[k] = L_LIVE;
            }
        }
        if (n == cap) {
            struct rec_ref *p = realloc(recs, 2 * cap * sizeof *recs);
            if (!p)
                goto oom;
            recs = p, cap *= 2;
        }
        recs[n].at = pos;
        recs[n++].h = h;
        pos += h->words;
    }
    for (uint32_t k = g->n_inputs + 1; k <= g->n_inputs + g->n_outputs; k++)
        if (state[k] != L_LIVE) {
            td_status_set(st, TD_CODE_INVALID_ARGUMENT, "graph: output %u (local handle %u) is never made",
                          k - g->n_inputs - 1, k);
            goto fail;
        }
    free(state);
    *out = recs;
    *n_out = (uint32_t)n;
    *n_local = hi;
    return TD_CODE_OK;
oom:
    td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "graph: out of memory reading the body");
fail:
    free(recs);
    free(state);
    return st->code;
}

/* Appends RELEASE records for rel[0..n) (local ids) at w + *len. */
static void put_releases(uint64_t *w, size_t *len, const uint32_t *rel, size_t n)
{
    for (size_t i = 0; i < n; i += 255) {
        size_t m = n - i < 255 ? n - i : 255;
        struct td_rec_hdr h = {.words = (uint16_t)(1 + m), .op = TD_OP_RELEASE, .n_in = (uint8_t)m};
        memcpy(w + *len, &h, sizeof h);
        for (size_t j = 0; j < m; j++)
            w[*len + 1 + j] = rel[i + j];
        *len += 1 + m;
    }
}

enum td_code td_graph_build(struct td_graph *g, const uint8_t *body, size_t len, struct td_status *st)
{
    if (len % 8 || len > TD_GRAPH_MAX_BODY)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "graph: a body of %zu bytes (a multiple of 8, at most %u)",
                             len, TD_GRAPH_MAX_BODY);
    if ((uint64_t)g->n_inputs + g->n_outputs + g->n_consts >= TD_GRAPH_MAX_LOCAL)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "graph: too many inputs, outputs and constants");
    size_t words = len / 8;
    uint64_t *given = malloc(len ? len : 8); /* aligned copy */
    if (!given)
        return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "graph: out of memory for %zu bytes", len);
    if (len)
        memcpy(given, body, len);
    struct rec_ref *recs = NULL;
    uint32_t n = 0, n_local = 0;
    if (read_body(g, given, words, &recs, &n, &n_local, st)) {
        free(given);
        return st->code;
    }
    uint32_t first_temp = g->n_inputs + g->n_outputs + g->n_consts;
    bool *needed = calloc((size_t)n_local + 1, sizeof *needed);
    bool *keep = calloc((size_t)n + 1, sizeof *keep);
    uint32_t *last = calloc((size_t)n_local + 1, sizeof *last); /* 1 + index of the last kept use */
    uint32_t *rel = malloc(((size_t)n_local + 1) * sizeof *rel);
    uint64_t *out = malloc(2 * len + 8 * (size_t)n_local + 8); /* kept records plus their releases */
    if (!needed || !keep || !last || !rel || !out) {
        td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "graph: out of memory optimizing %u records", n);
        goto done;
    }
    /* dead records: backwards from the outputs and the records with effects */
    for (uint32_t k = g->n_inputs + 1; k <= g->n_inputs + g->n_outputs; k++)
        needed[k] = true;
    for (uint32_t r = n; r-- > 0;) {
        const struct td_rec_hdr *h = recs[r].h;
        if (h->op == TD_OP_RELEASE)
            continue; /* placed anew below */
        const uint64_t *hs = handles_of(h);
        bool k = has_effects(h);
        for (int i = 0; i < h->n_out && !k; i++)
            k = needed[hs[i]];
        if (!k)
            continue;
        keep[r] = true;
        for (int i = h->n_out; i < h->n_out + h->n_in; i++)
            needed[hs[i]] = true;
    }
    /* each temporary's last use among the kept records */
    for (uint32_t r = 0; r < n; r++)
        if (keep[r]) {
            const struct td_rec_hdr *h = recs[r].h;
            const uint64_t *hs = handles_of(h);
            for (int i = 0; i < h->n_out + h->n_in; i++)
                if (hs[i] > first_temp)
                    last[hs[i]] = r + 1;
        }
    size_t olen = 0;
    uint32_t kept = 0;
    for (uint32_t r = 0; r < n; r++) {
        if (!keep[r])
            continue;
        const struct td_rec_hdr *h = recs[r].h;
        memcpy(out + olen, h, (size_t)h->words * 8);
        olen += h->words;
        kept++;
        size_t nr = 0;
        const uint64_t *hs = handles_of(h);
        for (int i = 0; i < h->n_out + h->n_in; i++) {
            uint64_t k = hs[i];
            if (k > first_temp && last[k] == r + 1) {
                last[k] = 0; /* named twice in one record: released once */
                rel[nr++] = (uint32_t)k;
            }
        }
        put_releases(out, &olen, rel, nr);
    }
    g->n_local = n_local;
    g->n_records = kept;
    g->n_given = 0;
    for (uint32_t r = 0; r < n; r++)
        g->n_given += recs[r].h->op != TD_OP_RELEASE;
    g->words = olen;
    g->body = realloc(out, olen ? olen * 8 : 8);
    if (!g->body)
        g->body = out;
    out = NULL;
done:
    free(out);
    free(rel);
    free(last);
    free(keep);
    free(needed);
    free(recs);
    free(given);
    return st->code;
}

struct td_graph *td_graphs_find(struct td_graphs *gs, uint64_t id)
{
    for (struct td_graph *g = gs->head; g; g = g->next)
        if (g->id == id)
            return g;
    return NULL;
}

enum td_code td_graphs_add(struct td_graphs *gs, struct td_graph *g, struct td_status *st)
{
    if (gs->count >= TD_GRAPH_SESSION_COUNT || gs->bytes + g->words * 8 > TD_GRAPH_SESSION_BYTES)
        return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "graph: the session holds %zu graphs of %zu bytes "
                             "(at most %d, %u bytes): free some first", gs->count, gs->bytes,
                             TD_GRAPH_SESSION_COUNT, TD_GRAPH_SESSION_BYTES);
    g->serial = ++gs->next_serial;
    g->next = gs->head;
    gs->head = g;
    gs->count++;
    gs->bytes += g->words * 8;
    return TD_CODE_OK;
}

struct td_graph *td_graphs_take(struct td_graphs *gs, uint64_t id)
{
    for (struct td_graph **pp = &gs->head; *pp; pp = &(*pp)->next)
        if ((*pp)->id == id) {
            struct td_graph *g = *pp;
            *pp = g->next;
            gs->count--;
            gs->bytes -= g->words * 8;
            return g;
        }
    return NULL;
}

void td_graph_delete(struct td_graph *g)
{
    if (!g)
        return;
    free(g->in_m);
    free(g->held);
    free(g->body);
    free(g);
}
