/*
 * listen.h — unix stream sockets the daemon owns itself (bound here, or inherited from
 * systemd: socket activation) and their accept loop.
 *
 * Why not let gRPC bind unix sockets: gRPC core cannot adopt a listening fd
 * (socket activation), and it hides the accepted connection, so the daemon could not
 * learn who is on the other end.  Here one thread accepts, reads the peer's uid, gid
 * and pid (SO_PEERCRED), records them under the connection's fd number and hands the
 * connection to gRPC (grpc_server_add_channel_from_fd).  gRPC names such a connection
 * "fd:N" as its peer, which td_listen_peer maps back to the credentials: a call's
 * connection is open while the call starts, so the fd number cannot have been reused.
 */
#ifndef TD_LISTEN_H
#define TD_LISTEN_H

#include <stdbool.h>
#include <sys/types.h>

#include "../kernels/status.h"

struct td_listen;

struct td_peer {
    bool known; /* a unix peer identified by SO_PEERCRED */
    uid_t uid;
    gid_t gid;
    pid_t pid;
};

/* Hands an accepted connection to gRPC (owns fd from then on). */
typedef void (*td_listen_add_fn)(void *ctx, int fd);

/*
 * The socket code both kinds of unix listener share (these stream sockets and the
 * shared-memory side sockets, shm.c).  td_unix_bind binds and listens on "unix:/path" or
 * "unix-abstract:name" with the given socket type (SOCK_STREAM, SOCK_SEQPACKET), close-
 * on-exec and non-blocking, replacing a stale socket file (never another kind of file);
 * path gets the file to remove at exit ("" when abstract).  -1 with st filled.
 * td_unix_address_of writes an inherited socket's "unix:..."/"unix-abstract:..." name
 * and makes it close-on-exec and non-blocking like a bound one; false when fd is not a
 * unix socket.
 */
int td_unix_bind(const char *addr, int type, char *path, size_t path_len, struct td_status *st);
bool td_unix_address_of(int fd, char *address, size_t len);

struct td_listen *td_listen_new(void);

/* Binds "unix:/path" or "unix-abstract:name" (a stale socket file is replaced).
 * false with st filled. */
bool td_listen_bind(struct td_listen *l, const char *addr, struct td_status *st);

/* Adopts an inherited listening unix stream socket (socket activation); its file is
 * left in place at exit (systemd owns it). */
bool td_listen_adopt(struct td_listen *l, int fd, struct td_status *st);

int td_listen_count(const struct td_listen *l);
/* "unix:/path" or "unix-abstract:name" of listener i (for logs and side sockets). */
const char *td_listen_address(const struct td_listen *l, int i);
/* Whether listener i was inherited. */
bool td_listen_inherited(const struct td_listen *l, int i);

/* Starts the accept thread. */
bool td_listen_start(struct td_listen *l, td_listen_add_fn add, void *ctx, struct td_status *st);

/* The credentials of the connection gRPC calls `peer` ("fd:N"); known=false when the
 * peer is not one of ours (TCP). */
struct td_peer td_listen_peer(struct td_listen *l, const char *peer);

/* Stops the thread, closes the sockets, removes the files it bound.  NULL ok. */
void td_listen_free(struct td_listen *l);

#endif
