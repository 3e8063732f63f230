/* status.c — td_status helpers and the code-name table expanded from TD_CODE_MAP. */
#include "status.h"

#include <stdarg.h>
#include <stdio.h>

const char *td_code_name(enum td_code code)
{
    switch (code) {
#define X(name, val) \
    case TD_CODE_##name: return #name;
        TD_CODE_MAP(X)
#undef X
    }
    return "UNKNOWN_CODE";
}

enum td_code td_status_set(struct td_status *st, enum td_code code, const char *fmt, ...)
{
    if (!st || st->code != TD_CODE_OK || code == TD_CODE_OK)
        return code;
    st->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->msg, sizeof st->msg, fmt, ap);
    va_end(ap);
    return code;
}
