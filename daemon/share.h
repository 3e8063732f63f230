/*
 * share.h — capability tokens: how a tensor's storage reaches another session.
 *
 * A token is 128 random bits (getrandom) registered here; whoever presents it may open
 * what it names in its own session (OPEN), nothing else.  Two kinds:
 *   storage token (SHARE): holds one reference on a storage.  One-shot tokens die when
 *     opened (a pickled tensor, like torch's fd passing); multi-use ones live on.
 *   fork grant (FORK_GRANT): names its owner session; a forked child opens the
 *     parent's handles through it (td_session_foreign_get), while that session lives.
 * Every token belongs to the session that made it and dies with it (the storage
 * reference is dropped), except a pinned storage token, which outlives its owner by the
 * linger time (td_share_set_linger, --share-linger) so that a process may put a tensor
 * on a queue and exit before the reader opens it; an unopened pinned token is reclaimed
 * then.  Owners may revoke their tokens.  Thread-safe (one mutex).
 */
#ifndef TD_SHARE_H
#define TD_SHARE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "../kernels/meta.h"
#include "alloc.h"

struct td_token {
    uint64_t w[2];
};

/* Registers a storage token (takes one reference on s). */
enum td_code td_share_add(uint64_t owner, struct td_storage *s, unsigned mode, struct td_token *out,
                          struct td_status *st);
/* The session's fork grant (made once per session, then the same token). */
enum td_code td_share_grant(uint64_t owner, struct td_token *out, struct td_status *st);
/*
 * Opens token tok for session `opener` with the view m (the opener's description,
 * checked here against the storage): *out gets a storage reference.  handle 0: tok
 * must be a storage token; else tok must be a fork grant and handle one of its
 * owner's handles.  A reserved token is waited for (see td_share_add_reserved) until it is
 * filled, failed or dropped, or *cancel (the opener's session ending) is raised; when it
 * failed or its owner ended first, *on_use is set: the error belongs to the tensor (raised
 * where it is used), not to the opener's next sync.
 */
enum td_code td_share_open(uint64_t opener, struct td_token tok, uint64_t handle, const struct td_meta *m,
                           const atomic_bool *cancel, struct td_storage **out, bool *on_use, struct td_status *st);
/*
 * A token reserved for `owner` with mode bits (SHARE_RESERVE): it names no storage until
 * the owner fills it (td_share_fill, in the owner's record order) or reports that the
 * tensor failed (td_share_fill_failed).  An OPEN of a reserved token waits for that, so
 * a producer hands a token over before its records have run, with no round trip.
 */
enum td_code td_share_add_reserved(uint64_t owner, unsigned mode, struct td_token *out, struct td_status *st);
enum td_code td_share_fill(uint64_t owner, struct td_token tok, struct td_storage *s, struct td_status *st);
/* The reserved token's tensor failed: an OPEN of it fails with code and msg (copied). */
void td_share_fill_failed(uint64_t owner, struct td_token tok, enum td_code code, const char *msg);
/* Drops an owner's token; NOT_FOUND when it is not one of the owner's live tokens. */
enum td_code td_share_revoke(uint64_t owner, struct td_token tok, struct td_status *st);
/* One live token as tensordctl lists it. */
struct td_share_info {
    struct td_token tok;
    uint64_t owner;      /* the session that made it (it may have ended: lingering) */
    bool grant;          /* a fork grant (else a storage token, or a reserved one: bytes 0) */
    unsigned mode;       /* TD_SHARE_* bits of a storage token */
    uint64_t bytes;      /* the storage's size (0 for a grant) */
    double linger_s;     /* seconds left for a lingering token; -1 while its owner lives */
};
/* Fills at most max entries (after dropping expired tokens); returns how many are live. */
uint64_t td_share_list(struct td_share_info *out, uint64_t max);
/* The owner of a live token, for permission checks; false when there is none. */
bool td_share_owner(struct td_token tok, uint64_t *owner);

/* The owner session ended: its tokens die, pinned ones start to linger. */
void td_share_session_ended(uint64_t owner);
/* Seconds a pinned token outlives its owner (default 30; 0: not at all). */
void td_share_set_linger(double seconds);
/* Live tokens (after dropping expired ones). */
uint64_t td_share_count(void);
/* Drops every token (daemon shutdown, tests). */
void td_share_clear(void);

#endif
