/*
 * log.c — stderr logging for the daemon; see log.h.
 *
 * Each line is formatted into a stack buffer and emitted with one write(2), so lines
 * from different threads never interleave (stderr is unbuffered, and a write below
 * PIPE_BUF to a pipe or the journal's stream socket is atomic).  No locks, no malloc:
 * safe to call from any thread, including session workers and the gRPC loop.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static atomic_int log_threshold = TD_LOG_INFO;
static bool to_journal; /* set once by td_log_init, before any thread starts */

static const int priorities[] = {[TD_LOG_DEBUG] = 7, [TD_LOG_INFO] = 6, [TD_LOG_WARN] = 4, [TD_LOG_ERROR] = 3};

void td_log_init(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat sb;
    to_journal = js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &sb) == 0 &&
                 (unsigned long long)sb.st_dev == dev && (unsigned long long)sb.st_ino == ino;
}

static const char *const level_names[] = {
    [TD_LOG_DEBUG] = "DEBUG",
    [TD_LOG_INFO] = "INFO",
    [TD_LOG_WARN] = "WARN",
    [TD_LOG_ERROR] = "ERROR",
};

void td_log_set_level(enum td_log_level level)
{
    atomic_store(&log_threshold, (int)level);
}

enum td_log_level td_log_get_level(void)
{
    return (enum td_log_level)atomic_load(&log_threshold);
}

bool td_log_parse_level(const char *name, enum td_log_level *out)
{
    static const struct {
        const char *name;
        enum td_log_level level;
    } map[] = {
        {"debug", TD_LOG_DEBUG},  {"info", TD_LOG_INFO},   {"warn", TD_LOG_WARN},
        {"warning", TD_LOG_WARN}, {"error", TD_LOG_ERROR},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (strcmp(name, map[i].name) == 0) {
            *out = map[i].level;
            return true;
        }
    }
    return false;
}

void td_log(enum td_log_level level, const char *fmt, ...)
{
    if ((int)level < atomic_load(&log_threshold))
        return;
    if ((unsigned)level > TD_LOG_ERROR)
        level = TD_LOG_ERROR;

    char line[1200];
    int saved_errno = errno; /* callers may log between a failure and reading errno */
    int n = to_journal ? snprintf(line, sizeof line, "<%d>%s ", priorities[level], level_names[level])
                       : snprintf(line, sizeof line, "tensord[%ld]: %s ", (long)getpid(), level_names[level]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2) /* truncated: keep room for the newline */
        len = sizeof line - 2;
    line[len++] = '\n';

    const char *p = line;
    while (len > 0) {
        ssize_t w = write(STDERR_FILENO, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        p += w;
        len -= (size_t)w;
    }
    errno = saved_errno;
}
