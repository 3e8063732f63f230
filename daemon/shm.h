/*
 * shm.h — the daemon's side socket and the shared-memory rings it hands out
 * (proto/td_ring.h; docs/design/shared_memory.md).
 *
 * For every unix address the gRPC server listens on, a SOCK_SEQPACKET socket listens
 * beside it ("PATH.shm", or "NAME.shm" in the abstract namespace), with the gRPC
 * socket's mode.  A client that attached over gRPC connects there and says which
 * session it is and the secret its attach answer carried; the daemon reads the peer's
 * uid, gid and pid with SO_PEERCRED, creates the session's ring memfd and sends it back
 * with SCM_RIGHTS.  The daemon keeps its end open for the session's life: when the
 * session ends it closes it, which the client sees as a hang-up.
 *
 * One thread accepts and runs handshakes (each bounded by a short receive timeout).
 */
#ifndef TD_SHM_H
#define TD_SHM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../kernels/status.h"
#include "../proto/td_ring.h"

/* A session's rings, as the daemon holds them. */
struct td_shm_ring {
    int memfd, sock;
    uint8_t *map;
    size_t map_bytes;
    struct td_ring sq, cq; /* the daemon consumes sq and produces cq */
    uid_t uid;
    gid_t gid;
    pid_t pid;
};

/* Closes the socket, unmaps and closes the memfd.  NULL ok. */
void td_shm_ring_free(struct td_shm_ring *r);

/*
 * Called by the handshake thread with a hello whose peer was identified: attach ring
 * to the session hello names if the secret matches, taking ownership of it; otherwise
 * fill msg and return an error code (the ring is then freed by the caller).
 */
typedef enum td_code (*td_shm_bind_fn)(void *ctx, const struct td_shm_hello *hello, struct td_shm_ring *ring,
                                       char *msg, size_t msg_len);
/*
 * Called for a TD_SHM_ARENA hello from a peer with uid: the arena's memfd (a descriptor
 * the caller closes after sending) and its size when the hello's session is on the rings
 * with that uid and the arena is of its pool; else -1 with *code and msg filled.
 */
typedef int (*td_shm_arena_fn)(void *ctx, const struct td_shm_hello *hello, uid_t uid, uint64_t *size,
                               enum td_code *code, char *msg, size_t msg_len);

struct td_shm_listener;

/* The side socket for the gRPC address addr; NULL with st OK when addr is not a unix
 * address (TCP clients use gRPC only), NULL with st filled when it cannot bind. */
struct td_shm_listener *td_shm_listen(const char *addr, struct td_status *st);
/* Adopts an inherited listening SOCK_SEQPACKET unix socket (socket activation:
 * ListenSequentialPacket=); its address is read from the socket, and its file is left
 * in place at exit.  NULL with st filled when fd is not a unix socket. */
struct td_shm_listener *td_shm_adopt(int fd, struct td_status *st);
/* "unix:PATH.shm" or "unix-abstract:NAME.shm", for attach answers. */
const char *td_shm_address(const struct td_shm_listener *l);
enum td_code td_shm_start(struct td_shm_listener *l, td_shm_bind_fn bind, td_shm_arena_fn arena, void *ctx,
                          struct td_status *st);
/* Stops the thread, closes and unlinks the socket.  NULL ok. */
void td_shm_free(struct td_shm_listener *l);

#endif
