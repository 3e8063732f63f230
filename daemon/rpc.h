/*
 * rpc.h — the daemon's gRPC server: the Session stream and the Stats call of
 * proto/tensord.proto over gRPC C core + protobuf-c.  The only daemon file that includes
 * grpc headers is rpc.c.
 *
 * Threading: one thread (the caller of td_rpc_run) drives the completion queue for all
 * calls.  Every Session stream gets its own worker thread that executes the session's
 * messages in order (td_session_exec), so a slow session never blocks another.
 *
 * Lifetime: td_rpc_new -> td_rpc_listen (one or more) -> td_rpc_start -> td_rpc_run
 * (returns when *stop becomes non-zero) -> td_rpc_free (cancels every call, waits for
 * the workers, frees every session).  td_rpc_new calls grpc_init, td_rpc_free
 * grpc_shutdown.  None of these are thread-safe against each other: call them from the
 * main thread.
 */
#ifndef TD_RPC_H
#define TD_RPC_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "../kernels/status.h"

struct td_rpc;

/* Largest message either side accepts (gRPC's default of 4 MiB is too small). */
#define TD_RPC_MAX_MESSAGE (256 << 20)
/* Received but not yet executed bytes per session above which the daemon stops
 * reading that stream (flow control then pushes back on the client). */
#define TD_RPC_QUEUE_LIMIT (64 << 20)

/* A server with no ports yet.  NULL with st filled on failure. */
struct td_rpc *td_rpc_new(struct td_status *st);

/* Binds addr ("unix:/path", "unix-abstract:name", "HOST:PORT"; port 0 picks one).
 * Before td_rpc_start.  *port (may be NULL) gets the bound TCP port (1 for unix).
 * UNAVAILABLE with a message naming addr when gRPC cannot bind. */
enum td_code td_rpc_listen(struct td_rpc *r, const char *addr, int *port, struct td_status *st);

/* Socket activation: adopts an inherited listening unix stream socket for gRPC
 * (*addr: its address, for logs), or a SOCK_SEQPACKET one as the side socket of the
 * shared-memory transport.  Before td_rpc_start. */
enum td_code td_rpc_listen_fd(struct td_rpc *r, int fd, const char **addr, struct td_status *st);
enum td_code td_rpc_adopt_side(struct td_rpc *r, int fd, const char **addr, struct td_status *st);

/* TCP listeners: PEM certificate chain and key files (both or neither), the bearer
 * token file (its first line; TCP needs one), and whether plain TCP is allowed on
 * loopback addresses.  Before td_rpc_listen.  Errors name the file. */
enum td_code td_rpc_set_tcp_auth(struct td_rpc *r, const char *cert, const char *key, const char *token_file,
                                 bool insecure_tcp, struct td_status *st);

/* Mode for the unix sockets td_rpc_listen binds (and their side sockets); -1: leave
 * the umask's.  Before td_rpc_listen. */
void td_rpc_set_socket_mode(struct td_rpc *r, int mode);

/* Names the group whose members may use admin calls (default "tensord"; root and the
 * daemon's own user always may).  Before td_rpc_start. */
void td_rpc_set_admin_group(struct td_rpc *r, const char *name);

/* Gauges for the metrics endpoint: sessions by transport, messages queued. */
struct td_rpc_gauges {
    uint64_t sessions_shm, sessions_grpc;
    uint64_t queued_msgs, queued_bytes; /* received, not yet executed (all sessions) */
    uint64_t paused;                    /* sessions whose stream is not read (queue full) */
};
/* Thread-safe (takes the session registry's lock briefly). */
void td_rpc_gauges(struct td_rpc *r, struct td_rpc_gauges *g);

/* Advances while the serving loop turns (at least every 100 ms): the watchdog checks it.
 * Thread-safe. */
uint64_t td_rpc_heartbeat(struct td_rpc *r);

/* Starts serving (calls are accepted once td_rpc_run runs). */
enum td_code td_rpc_start(struct td_rpc *r, struct td_status *st);

/* Serves until *stop is non-zero (checked at least every 100 ms; a signal handler may
 * set it).  Returns without shutting down: td_rpc_free does that. */
void td_rpc_run(struct td_rpc *r, const volatile sig_atomic_t *stop);

/* Shuts down: stops accepting, cancels every call, lets each session's worker finish
 * the message it is executing, frees all sessions, destroys the server.  NULL ok. */
void td_rpc_free(struct td_rpc *r);

#endif
