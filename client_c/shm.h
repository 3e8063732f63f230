/*
 * shm.h — libtensord's shared-memory transport (internal; proto/td_ring.h has the
 * layout, docs/design/shared_memory.md the design).  conn.c attaches over gRPC, then
 * opens this when the daemon offered a side socket; from then on every message of the
 * session travels through the rings, and the gRPC stream only marks the session's life.
 * Not thread-safe: conn.c's caller serializes calls.
 */
#ifndef TD_SHM_CLIENT_H
#define TD_SHM_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../kernels/status.h"
#include "conn.h"

struct td_shm;

/* Connects to the side socket at address ("unix:PATH" or "unix-abstract:NAME"), says
 * hello for session_id with secret and maps the rings.  NULL with st filled when the
 * daemon refuses or cannot be reached (the caller stays on gRPC). */
struct td_shm *td__shm_open(const char *address, uint64_t session_id, const uint8_t secret[16], struct td_status *st);

/* Writes one message (blocks while the ring is full, reading answers meanwhile so the
 * daemon is never stuck behind us).  UNAVAILABLE once the daemon hung up. */
enum td_code td__shm_send(struct td_shm *s, uint64_t seq, const uint8_t *records, size_t n, const uint8_t *payload,
                          size_t payload_len, uint32_t flags, struct td_status *st);

/* The next answer: with `block` waits for it, else *got says whether one was ready.
 * UNAVAILABLE once the daemon hung up or broke the ring. */
enum td_code td__shm_recv(struct td_shm *s, bool block, struct td_conn_reply *reply, bool *got,
                          struct td_status *st);

/* This process's mapping of CPU storage arena `arena` (asking the daemon for its memfd
 * over a fresh side-socket connection the first time): *base and *size.  UNAVAILABLE
 * when the daemon refuses it (another uid's pool, an arena gone); then remembered, so a
 * refused arena costs one round trip only.  Mappings stay until td__shm_close (an arena
 * the daemon closed stays valid memory here; its pages were punched, so it costs
 * nothing). */
/* Arenas stay mapped after close (numpy arrays may still point into them). */
void td__shm_keep_arenas(struct td_shm *s);
enum td_code td__shm_map_arena(struct td_shm *s, uint64_t arena, uint8_t **base, size_t *size,
                               struct td_status *st);

/* The mapping of the rings (conn.h's test hook). */
void *td__shm_map(const struct td_shm *s, size_t *bytes);

/* Unmaps and closes.  NULL ok. */
void td__shm_close(struct td_shm *s);

#endif
