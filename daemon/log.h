/*
 * log.h — the daemon's operator channel: one line per event on stderr (journald picks
 * it up as is), "tensord[PID]: LEVEL message", plus the sd_notify wrapper.
 *
 * Client errors never come here (they go back as a status); this is for the operator:
 * listening, sessions opened and closed, bad messages, shutdown.  td_log is thread-safe
 * and async-signal-unsafe (it formats with vsnprintf): never call it from a signal
 * handler.
 *
 * systemd: td_notify() is sd_notify(0, state) when built with -DTD_HAVE_SYSTEMD and a
 * no-op otherwise, so .c files stay free of #ifdef.
 */
#ifndef TD_LOG_H
#define TD_LOG_H

#include <stdbool.h>

#ifdef TD_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

enum td_log_level { TD_LOG_DEBUG, TD_LOG_INFO, TD_LOG_WARN, TD_LOG_ERROR };

/* Writes one line if level >= the threshold (default TD_LOG_INFO).  A message longer
 * than ~1 KiB is truncated.  Thread-safe: each line is a single write(2). */
void td_log(enum td_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Checks once whether stderr is the journal's stream (JOURNAL_STREAM names its device
 * and inode, as systemd sets it for StandardError=journal): then each line starts with
 * a syslog priority "<3>" (error), "<4>" (warn), "<6>" (info), "<7>" (debug) that
 * journald stores as the entry's PRIORITY field, and drops the "tensord[PID]:" prefix
 * journald adds itself (SYSLOG_IDENTIFIER, _PID).  Call early in main. */
void td_log_init(void);

/* Sets / reads the threshold.  Thread-safe (atomic). */
void td_log_set_level(enum td_log_level level);
enum td_log_level td_log_get_level(void);

/* "debug", "info", "warn" (or "warning"), "error" -> *out; false when unknown. */
bool td_log_parse_level(const char *name, enum td_log_level *out);

/* Tells the service manager about state changes ("READY=1", "STATUS=...", "STOPPING=1").
 * Returns > 0 when delivered, 0 when not running under systemd or built without it. */
static inline int td_notify(const char *state)
{
#ifdef TD_HAVE_SYSTEMD
    return sd_notify(0, state);
#else
    (void)state;
    return 0;
#endif
}

#endif
