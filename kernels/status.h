/*
 * status.h — error codes and the status-with-message every fallible call fills.
 *
 * Code values equal gRPC's status codes so the RPC boundary converts with a cast.
 * td_status_set keeps the FIRST error: later failures on the same status are dropped,
 * so the innermost, most precise message survives (SQLite's message-on-handle).
 */
#ifndef TD_STATUS_H
#define TD_STATUS_H

#include <stdbool.h>

#define TD_CODE_MAP(X)                  \
    X(OK, 0)                            \
    X(CANCELLED, 1)                     \
    X(UNKNOWN, 2)                       \
    X(INVALID_ARGUMENT, 3)              \
    X(DEADLINE_EXCEEDED, 4)             \
    X(NOT_FOUND, 5)                     \
    X(ALREADY_EXISTS, 6)                \
    X(PERMISSION_DENIED, 7)             \
    X(RESOURCE_EXHAUSTED, 8)            \
    X(FAILED_PRECONDITION, 9)           \
    X(ABORTED, 10)                      \
    X(OUT_OF_RANGE, 11)                 \
    X(UNIMPLEMENTED, 12)                \
    X(INTERNAL, 13)                     \
    X(UNAVAILABLE, 14)                  \
    X(DATA_LOSS, 15)                    \
    X(UNAUTHENTICATED, 16)

enum td_code {
#define X(name, val) TD_CODE_##name = val,
    TD_CODE_MAP(X)
#undef X
};

/*
 * How client errors map to Python exceptions: INVALID_ARGUMENT -> RuntimeError,
 * OUT_OF_RANGE -> IndexError, FAILED_PRECONDITION -> TypeError (bad argument type),
 * UNIMPLEMENTED -> NotImplementedError, RESOURCE_EXHAUSTED -> RuntimeError (OOM).
 */
struct td_status {
    enum td_code code;
    char msg[512]; /* room for a deferred error with its op and locations */
};

#define TD_STATUS_INIT {TD_CODE_OK, {0}}

/* "INVALID_ARGUMENT" etc.; "UNKNOWN_CODE" for values outside the map. */
const char *td_code_name(enum td_code code);

/* Records code and printf-style message unless st is NULL or already holds an error.
 * Returns code, so `return td_status_set(st, ...)` reads naturally. */
enum td_code td_status_set(struct td_status *st, enum td_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline bool td_status_ok(const struct td_status *st) { return st->code == TD_CODE_OK; }

static inline void td_status_clear(struct td_status *st)
{
    st->code = TD_CODE_OK;
    st->msg[0] = 0;
}

#endif
