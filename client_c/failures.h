/*
 * failures.h — libtensord's bookkeeping of deferred errors (internal).
 *
 * A record that fails in the daemon is reported in the answer to its message, some
 * time after the call that recorded it returned.  To raise it where it belongs, the
 * client remembers for each recent record the thread that recorded it and the caller's
 * location (td_location_set), and keeps the first unraised failure of each thread until
 * that thread's next sync takes it.  A failure that another record inherited (it read
 * a failed tensor) is raised with the original message and names both places.
 *
 * Not thread-safe: the client's lock serializes every call.
 */
#ifndef TD_FAILURES_H
#define TD_FAILURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../kernels/status.h"
#include "conn.h"

struct td_failures;

/* window: how many records may be unanswered at once (sizes the location ring). */
struct td_failures *td__failures_new(size_t window);
void td__failures_free(struct td_failures *f); /* NULL ok */
/* Resizes the location ring for a new window; false on OOM (the old ring stays). */
bool td__failures_set_window(struct td_failures *f, size_t window);

/* Record `index` was recorded now, by the calling thread, at its current location. */
void td__failures_note(struct td_failures *f, uint64_t index);

/* A failure from the daemon: queued for the thread that recorded e->record. */
void td__failures_report(struct td_failures *f, const struct td_conn_error *e);

/* The calling thread's first unraised failure, if any: fills st with its message and
 * op/location, forgets the thread's other pending failures, returns its code. */
enum td_code td__failures_take(struct td_failures *f, struct td_status *st);

#endif
