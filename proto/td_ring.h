/*
 * td_ring.h — the shared-memory transport's rings, part of the wire contract
 * (TD_RING_VERSION; docs/protocol.md, docs/design/shared_memory.md).
 *
 * A local client that attached over gRPC gets one memfd from the daemon over the side
 * socket: a header page holding two ring controls, then the submission ring (client ->
 * daemon) and the completion ring (daemon -> client).  Each ring is a single-producer,
 * single-consumer byte stream: messages are written as length-prefixed frames that may
 * wrap around the end, so a message of any size streams through a ring of any size and
 * the reader copies it out as it arrives.  The reader never parses bytes in shared
 * memory in place (the peer could change them under it): it copies first.
 *
 * Indices are free-running 64-bit byte counts: the producer owns `tail`, the consumer
 * `head`; each side keeps its own copy of the index it owns and only reads the other,
 * checking it (a peer that moves an index backwards or past the other is a protocol
 * error, never an out-of-bounds access: every access is taken modulo the ring size the
 * reader chose, not one read from shared memory).
 *
 * Waking: each direction has two event counters (data, space).  A waiter spins briefly
 * on the index, then announces itself (`*_waiting`), re-checks and sleeps on the
 * counter with FUTEX_WAIT (shared, not PRIVATE: the futex lives in a shared mapping),
 * with a timeout so that a lost wake-up or a peer that died costs at most one timeout.
 * The other side bumps the counter and calls FUTEX_WAKE only when a waiter announced
 * itself, so the steady state makes no system call.
 *
 * The same code runs in the daemon and in libtensord (both link td_ring.c).
 */
#ifndef TD_RING_H
#define TD_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TD_RING_MAGIC 0x474e4952445444ull /* "DTDRING" */
#define TD_RING_VERSION 1

/* One direction's control block; producer and consumer fields on separate lines. */
struct td_ring_ctl {
    _Alignas(64) _Atomic uint64_t tail; /* bytes ever written (producer) */
    _Atomic uint32_t data_seq;          /* bumped by the producer to wake the consumer */
    _Atomic uint32_t consumer_waiting;
    _Alignas(64) _Atomic uint64_t head; /* bytes ever consumed (consumer) */
    _Atomic uint32_t space_seq;         /* bumped by the consumer to wake the producer */
    _Atomic uint32_t producer_waiting;
};

/* The first page of the memfd.  Written by the daemon before it is shared; a client
 * reads the geometry from it, the daemon never reads it back. */
struct td_ring_hdr {
    uint64_t magic;
    uint32_t version, reserved;
    uint64_t sq_off, sq_size, cq_off, cq_size;
    struct td_ring_ctl sq, cq;
};

#define TD_RING_HDR_BYTES 4096u

/* A submitted message: this header, then records_len bytes of td_rec records, then
 * payload_len bytes of upload payload (ClientMsg's fields). */
enum td_ring_msg_flag { TD_RING_SYNC = 1u << 0, TD_RING_DETACH = 1u << 1 };

struct td_ring_msg {
    uint32_t flags;
    uint32_t reserved;
    uint64_t seq;
    uint64_t records_len;
    uint64_t payload_len;
};

/* The reader's check of a message header copied out of a ring, before it reads the body:
 * only known flags, records and payload together at most max_bytes (no overflow). */
bool td_ring_msg_ok(const struct td_ring_msg *h, uint64_t max_bytes);

/* An answer: this header, message_len bytes of text, n_errors td_ring_error, then
 * payload_len bytes of READ results (ServerMsg's fields). */
struct td_ring_reply {
    uint64_t seq;
    uint64_t executed;
    int32_t code;
    uint32_t n_errors;
    uint32_t errors_dropped;
    uint32_t message_len;
    uint64_t payload_len;
};

struct td_ring_error {
    uint64_t record, origin;
    int32_t code;
    uint32_t op;
    char msg[512];
};

/* The side socket's handshake (SOCK_SEQPACKET): the client's hello, the daemon's
 * answer (with a memfd in SCM_RIGHTS when code is 0).  One connection per request:
 * TD_SHM_RINGS (the session's rings; the connection then stays open for the session's
 * life) or TD_SHM_ARENA (the memfd of one CPU storage arena of the session's uid, for
 * zero-copy access to tensor bytes; the connection is closed after the answer). */
#define TD_SHM_HELLO_MAGIC 0x4f4c4c4548445474ull /* "tTDHELLO" */
enum td_shm_kind { TD_SHM_RINGS = 0, TD_SHM_ARENA = 1 };
struct td_shm_hello {
    uint64_t magic;
    uint32_t version, kind;
    uint64_t session_id;
    uint8_t secret[16];
    uint64_t arena; /* TD_SHM_ARENA: the arena's id (from a LOCATE record) */
};

struct td_shm_welcome {
    uint64_t magic;
    int32_t code;         /* enum td_code; 0 = a ring fd follows */
    uint32_t uid;         /* the peer uid the daemon saw */
    uint64_t map_bytes;   /* size of the ring memfd */
    char message[200];
};

/* One side's view of one direction, in private memory. */
struct td_ring {
    struct td_ring_ctl *ctl;
    uint8_t *data;
    uint64_t size; /* a power of two, chosen by the daemon */
    uint64_t pos;  /* our own index: tail for a producer, head for a consumer */
};

/* Geometry checks for a header a client received; false when unusable. */
bool td_ring_geometry_ok(const struct td_ring_hdr *h, uint64_t map_bytes);

/* Producer: copies up to n bytes in (fewer when the ring is fuller); -1 when the
 * consumer's head is impossible (protocol error).  Not visible until publish. */
int64_t td_ring_put(struct td_ring *r, const void *p, size_t n);
/* Producer: makes what was put visible and wakes a sleeping consumer. */
void td_ring_publish(struct td_ring *r);
/* Consumer: copies up to n available bytes out; -1 when the producer's tail is
 * impossible.  The space is handed back at consume_done. */
int64_t td_ring_get(struct td_ring *r, void *p, size_t n);
/* Consumer: hands consumed space back and wakes a producer waiting for it. */
void td_ring_consume_done(struct td_ring *r);
/* Bytes readable now (consumer); -1 when the tail is impossible. */
int64_t td_ring_readable(const struct td_ring *r);

/* Waits until data is readable (consumer) or space is writable (producer), spinning
 * for spin_ns then sleeping up to timeout_ms.  true when the condition holds; false on
 * timeout (the caller checks whatever else may have happened, and waits again). */
bool td_ring_wait_data(struct td_ring *r, uint64_t spin_ns, int timeout_ms);
bool td_ring_wait_space(struct td_ring *r, uint64_t spin_ns, int timeout_ms);
/*
 * Whole transfers: copy exactly n bytes out of (read_all) or into (write_all) the ring,
 * handing space back / publishing as pieces move, and waiting in between (spin_ns, then
 * sleeps of timeout_ms).  After each sleep that found nothing, keep_waiting(arg) decides
 * whether to go on.  0 when all n bytes moved, TD_RING_BROKEN when the peer's index is
 * impossible, TD_RING_GAVE_UP when keep_waiting said no.  read_all leaves the final
 * consume_done to the caller (one per message), write_all the final publish.
 */
#define TD_RING_BROKEN (-1)
#define TD_RING_GAVE_UP (-2)
int td_ring_read_all(struct td_ring *r, void *p, size_t n, uint64_t spin_ns, int timeout_ms,
                     bool (*keep_waiting)(void *arg), void *arg);
int td_ring_write_all(struct td_ring *r, const void *p, size_t n, uint64_t spin_ns, int timeout_ms,
                      bool (*keep_waiting)(void *arg), void *arg);

/* Wakes a consumer sleeping on this ring regardless of data (used to make a daemon
 * worker notice that its session ended). */
void td_ring_kick(struct td_ring *r);

#endif
