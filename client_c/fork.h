/*
 * fork.h — libtensord across fork(): what a forked child may do with the clients it
 * inherited (nothing) and how gRPC core is made usable in it (internal; see fork.c).
 *
 * Contract: a client belongs to the process that connected it.  After fork() the
 * child's copy is stale: every public entry point refuses it (td__fork_generation()
 * differs from the one the client recorded), td_client_free frees only its plain
 * memory, and the child connects a client of its own, which gets its own session.
 * The parent's session is never touched by the child.
 */
#ifndef TD_FORK_H
#define TD_FORK_H

#include <pthread.h>

/* Enables gRPC core's fork support (must precede the first grpc_init) and registers
 * the pthread_atfork handlers.  Idempotent and thread-safe; call before any gRPC use. */
void td__fork_init(void);

/* 0 in the process that loaded libtensord; incremented in the child by every fork().
 * A plain load: cheap enough for every public entry point. */
unsigned td__fork_generation(void);

/* A client's lock, held by the fork handlers across fork() so that no thread is inside
 * a gRPC call when the process forks (gRPC's own fork handlers give up when one is,
 * and the child would then share the parent's polling state), and its target: in the
 * child, inherited descriptors of unix sockets connected to it are replaced by a dead
 * socket, so nothing the child does (gRPC tearing down an abandoned transport calls
 * shutdown()) can reach the parent's connection.  target is borrowed until untrack.
 * Track after the lock is initialised, untrack before it is destroyed.  Thread-safe. */
void td__fork_track(pthread_mutex_t *lock, const char *target);
void td__fork_untrack(pthread_mutex_t *lock);

/* Brackets gRPC use that holds no tracked lock (connect, Stats): fork() waits until no
 * thread is between hold and release.  Thread-safe; never nest. */
void td__fork_hold(void);
void td__fork_release(void);

#endif
