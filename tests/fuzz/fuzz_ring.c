/*
 * fuzz_ring.c — libFuzzer target over the shared-memory transport as the daemon reads it:
 * the ring primitives of proto/td_ring.c (wrap-around, free-running 64-bit indices, a
 * peer that moves its index anywhere), the message-header check td_ring_msg_ok and the
 * execution of what passes it, in the order daemon/rpc.c's run_ring_msg does them.
 *
 * The client (the producer of the submission ring and the consumer of the completion
 * ring) is played by the input, single-threaded: whenever the daemon side would wait, the
 * next step of the input runs instead, so every interleaving of partial writes is
 * reachable.  Input layout (see make_ring_corpus.py):
 *   byte 0      bits 0-1: ring size 4096 << k; bit 2: indices start just below 2^64
 *   bytes 1..2  the indices' starting offset (little endian)
 *   then steps  c < 0xf0: the client writes the next c+1 bytes (as far as there is room)
 *               and publishes them; c >= 0xf0: the client stores the next two bytes as a
 *               signed displacement of its tail from the daemon's head (a hostile peer)
 * A sanitizer report, abort, leak or hang is a finding.  Not part of the daemon.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_daemon.h"
#include "../../daemon/rpc.h"
#include "../../daemon/session.h"
#include "../../proto/td_ring.h"


struct client {
    const uint8_t *in;
    size_t left;
    struct td_ring sq; /* the client's producer view of the submission ring */
    struct td_ring cq; /* its consumer view of the completion ring */
};

/* One step of the client; false when the input is used up (the daemon gives up waiting,
 * as it does when a session ends). */
static bool client_step(void *arg)
{
    struct client *c = arg;
    if (!c->left)
        return false;
    uint8_t op = *c->in++;
    c->left--;
    if (op >= 0xf0) {
        uint16_t d = 0;
        memcpy(&d, c->in, c->left < 2 ? c->left : 2);
        c->in += c->left < 2 ? c->left : 2;
        c->left -= c->left < 2 ? c->left : 2;
        uint64_t head = atomic_load(&c->sq.ctl->head);
        c->sq.pos = head + (uint64_t)(int64_t)(int16_t)d;
        td_ring_publish(&c->sq);
        return true;
    }
    size_t n = (size_t)op + 1 < c->left ? (size_t)op + 1 : c->left;
    int64_t put = td_ring_put(&c->sq, c->in, n);
    if (put > 0) {
        c->in += put;
        c->left -= (size_t)put;
    } else {
        c->in += n, c->left -= n; /* no room, or the head is out of range: drop them */
    }
    td_ring_publish(&c->sq);
    return true;
}

/* The daemon writing its answer: the client reads everything there is, then goes on. */
static bool client_drains(void *arg)
{
    struct client *c = arg;
    uint8_t sink[4096];
    while (td_ring_get(&c->cq, sink, sizeof sink) > 0)
        ;
    td_ring_consume_done(&c->cq);
    return client_step(c);
}

/* run_ring_msg's steps; false when the session would end. */
static bool daemon_msg(struct td_session *s, struct td_ring *sq, struct td_ring *cq, struct client *c)
{
    struct td_ring_msg h;
    if (td_ring_read_all(sq, &h, sizeof h, 0, 0, client_step, c))
        return false;
    if (!td_ring_msg_ok(&h, TD_RPC_MAX_MESSAGE))
        return false;
    /* a body larger than the input can never arrive: skip the allocation the daemon
     * would make while it waits for it (the check above is what is under test) */
    int64_t ready = td_ring_readable(sq);
    if (ready < 0 || h.records_len + h.payload_len > c->left + (uint64_t)ready)
        return false;
    size_t n = (size_t)(h.records_len + h.payload_len);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return false;
    bool ok = td_ring_read_all(sq, buf, n, 0, 0, client_step, c) == 0;
    td_ring_consume_done(sq);
    if (ok) {
        struct td_reply rep;
        td_reply_init(&rep);
        td_session_exec(s, buf, (size_t)h.records_len, buf + h.records_len, (size_t)h.payload_len,
                        (h.flags & (TD_RING_SYNC | TD_RING_DETACH)) != 0, &rep);
        struct td_ring_reply a = {.seq = h.seq, .executed = rep.executed, .code = (int32_t)rep.code,
                                  .payload_len = rep.payload_len};
        ok = td_ring_write_all(cq, &a, sizeof a, 0, 0, client_drains, c) == 0 &&
             td_ring_write_all(cq, rep.payload, rep.payload_len, 0, 0, client_drains, c) == 0;
        if (ok)
            td_ring_publish(cq);
        td_reply_fini(&rep);
    }
    free(buf);
    return ok && !(h.flags & TD_RING_DETACH);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    uint64_t ring_size = 4096u << (data[0] & 3);
    uint64_t start = (uint64_t)data[1] | (uint64_t)data[2] << 8;
    if (data[0] & 4)
        start -= 1u << 16; /* the indices cross 2^64 within the first messages */
    struct td_ring_ctl *ctl = aligned_alloc(64, 2 * sizeof *ctl);
    uint8_t *mem = malloc(2 * ring_size);
    memset(ctl, 0, 2 * sizeof *ctl);
    atomic_store(&ctl[0].head, start);
    atomic_store(&ctl[0].tail, start);
    atomic_store(&ctl[1].head, start);
    atomic_store(&ctl[1].tail, start);
    struct td_ring sq = {.ctl = &ctl[0], .data = mem, .size = ring_size, .pos = start};
    struct td_ring cq = {.ctl = &ctl[1], .data = mem + ring_size, .size = ring_size, .pos = start};
    struct client c = {.in = data + 3, .left = size - 3, .sq = sq, .cq = cq};

    struct td_session *s = fuzz_session_new();
    if (s) {
        client_step(&c);
        for (;;) { /* worker_main: wait for data (here: let the client act), run a message */
            if (!td_ring_wait_data(&sq, 0, 0)) {
                if (!client_step(&c))
                    break;
                continue;
            }
            if (!daemon_msg(s, &sq, &cq, &c))
                break;
        }
        td_session_free(s);
    }
    fuzz_release();
    free(mem);
    free(ctl);
    return 0;
}
