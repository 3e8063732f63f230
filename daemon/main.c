/*
 * main.c — the `tensord` command: parse flags, bind the gRPC listeners, serve until
 * SIGTERM/SIGINT, shut down cleanly (every session ended and freed), exit 0.
 *
 * Where to listen: --listen (repeatable), else TENSORD_LISTEN (comma-separated), else
 * the default unix socket of proto/td_address.h, whose directory is created 0700.
 * The signal handler only sets a flag; td_rpc_run notices it within 100 ms.
 *
 * Private mode (--parent-pid PID, how the Python client starts its embedded daemon):
 * tensord lives only as long as process PID, its parent, however that dies.  The
 * kernel signals us when our parent goes (PR_SET_PDEATHSIG); the signal also comes when
 * merely the *thread* that forked us exits (we are then reparented to a sibling thread),
 * so the handler stops only when getppid() is no longer PID.  Checking getppid() once
 * after prctl closes the race of a parent that died before prctl ran.  On exit it
 * removes its unix sockets and their directories when empty (the client makes a fresh
 * 0700 mkdtemp directory, so no other user can reach the socket).
 * Not here yet: config file, socket activation, watchdog.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../kernels/kernel.h"
#include "../proto/td_address.h"
#include "alloc.h"
#include "share.h"
#include "log.h"
#include "rpc.h"

#ifndef TD_VERSION
#define TD_VERSION "unknown"
#endif

#define MAX_LISTEN 16

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t parent_gone;
static pid_t parent_pid; /* --parent-pid; 0: not in private mode */

static void on_stop_signal(int sig)
{
    stop_requested = sig;
}

/* PR_SET_PDEATHSIG's signal: the thread that forked us exited; was it the whole process? */
static void on_parent_signal(int sig)
{
    if (getppid() != parent_pid) {
        parent_gone = 1;
        stop_requested = sig;
    }
}

/* Private mode: stop with the parent.  False when it is already gone. */
static bool watch_parent(void)
{
    struct sigaction sa = {.sa_handler = on_parent_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    if (prctl(PR_SET_PDEATHSIG, SIGUSR1) != 0)
        td_log(TD_LOG_WARN, "prctl(PR_SET_PDEATHSIG): %s", strerror(errno));
    if (getppid() != parent_pid) {
        td_log(TD_LOG_WARN, "parent process %d is not running: exiting", (int)parent_pid);
        return false;
    }
    return true;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: tensord [options]\n"
               "  --listen ADDRESS   unix:/path, unix-abstract:name or HOST:PORT (repeatable;\n"
               "                     default $TENSORD_LISTEN, else the per-user unix socket)\n"
               "  --threads N        intra-op threads (default: online CPUs)\n"
               "  --log-level LEVEL  debug, info, warn or error (default info)\n"
               "  --max-memory SIZE  cap on tensor bytes, e.g. 8G, 512M (default: physical memory)\n"
               "  --share-linger SEC how long a pickled tensor's token outlives the process that\n"
               "                     made it, unopened (default 30)\n"
               "  --parent-pid PID   private mode: exit when PID (tensord's parent) exits, and\n"
               "                     remove the unix sockets' directories at exit\n"
               "  --help             this text\n"
               "  --version          print the version\n");
}

struct options {
    const char *listen[MAX_LISTEN];
    int n_listen;
    int threads;
    char *env_copy; /* TENSORD_LISTEN split in place */
};

/* Private mode, after a clean shutdown: the socket files and their (then empty) dirs. */
static void remove_private_sockets(const struct options *o)
{
    for (int i = 0; i < o->n_listen; i++) {
        const char *a = o->listen[i];
        if (strncmp(a, "unix:", 5) != 0 || a[5] != '/')
            continue;
        char path[600];
        snprintf(path, sizeof path, "%s", a + 5);
        unlink(path); /* gRPC removes it on shutdown, not after a failed bind */
        char *slash = strrchr(path, '/');
        if (slash && slash != path) {
            *slash = 0;
            rmdir(path); /* fails harmlessly when something else lives there */
        }
    }
}

/* Returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, 'l'},    {"threads", required_argument, NULL, 't'},
        {"log-level", required_argument, NULL, 'L'}, {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},         {"max-memory", required_argument, NULL, 'm'},
        {"parent-pid", required_argument, NULL, 'p'},
        {"share-linger", required_argument, NULL, 's'},
        {NULL, 0, NULL, 0},
    };
    enum td_log_level level;
    char *end;
    int ch;
    while ((ch = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
        switch (ch) {
        case 'l':
            if (o->n_listen == MAX_LISTEN) {
                fprintf(stderr, "tensord: at most %d --listen addresses\n", MAX_LISTEN);
                return 2;
            }
            o->listen[o->n_listen++] = optarg;
            break;
        case 't': {
            errno = 0;
            long n = strtol(optarg, &end, 10);
            if (errno || *end || n < 1 || n > 4096) {
                fprintf(stderr, "tensord: --threads wants a number from 1 to 4096, got '%s'\n", optarg);
                return 2;
            }
            o->threads = (int)n;
            break;
        }
        case 'm': {
            errno = 0;
            unsigned long long n = strtoull(optarg, &end, 10);
            int shift = *end == 'K' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : *end == 'T' ? 40 : 0;
            if (errno || end == optarg || (shift && end[1]) || (!shift && *end) || !n || n > (~0ull >> shift)) {
                fprintf(stderr, "tensord: --max-memory wants a size such as 512M or 8G, got '%s'\n", optarg);
                return 2;
            }
            td_alloc_set_limit(n << shift);
            break;
        }
        case 's': {
            errno = 0;
            double sec = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(sec >= 0 && sec <= 86400)) {
                fprintf(stderr, "tensord: --share-linger wants seconds from 0 to 86400, got '%s'\n", optarg);
                return 2;
            }
            td_share_set_linger(sec);
            break;
        }
        case 'p': {
            errno = 0;
            long n = strtol(optarg, &end, 10);
            if (errno || *end || n < 2 || n > 0x3fffffff) {
                fprintf(stderr, "tensord: --parent-pid wants a process id, got '%s'\n", optarg);
                return 2;
            }
            parent_pid = (pid_t)n;
            break;
        }
        case 'L':
            if (!td_log_parse_level(optarg, &level)) {
                fprintf(stderr, "tensord: unknown log level '%s' (debug, info, warn, error)\n", optarg);
                return 2;
            }
            td_log_set_level(level);
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("tensord %s\n", TD_VERSION);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "tensord: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    return -1;
}

/* Fills o->listen from TENSORD_LISTEN or the default socket; false on error (logged). */
static bool default_listen(struct options *o, char *def, size_t def_len)
{
    const char *env = getenv("TENSORD_LISTEN");
    if (env && *env) {
        o->env_copy = strdup(env);
        if (!o->env_copy)
            return false;
        char *save = NULL;
        for (char *a = strtok_r(o->env_copy, ",", &save); a && o->n_listen < MAX_LISTEN; a = strtok_r(NULL, ",", &save))
            o->listen[o->n_listen++] = a;
        if (o->n_listen > 0)
            return true;
    }
    char dir[512];
    td_default_socket_dir(dir, sizeof dir);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        td_log(TD_LOG_ERROR, "cannot create %s: %s", dir, strerror(errno));
        return false;
    }
    td_default_address(def, def_len);
    o->listen[o->n_listen++] = def;
    return true;
}

/* "HOST:0" is logged with the port gRPC picked. */
static void log_listening(const char *addr, int port)
{
    char status[600];
    size_t n = strlen(addr);
    if (n >= 2 && strcmp(addr + n - 2, ":0") == 0)
        snprintf(status, sizeof status, "%.*s:%d", (int)(n - 2), addr, port);
    else
        snprintf(status, sizeof status, "%s", addr);
    td_log(TD_LOG_INFO, "listening on %s", status);
    char line[640];
    snprintf(line, sizeof line, "STATUS=listening on %s", status);
    td_notify(line);
}

static int serve(struct options *o)
{
    struct td_status st = TD_STATUS_INIT;
    struct td_rpc *rpc = td_rpc_new(&st);
    if (!rpc) {
        td_log(TD_LOG_ERROR, "cannot start: %s", st.msg);
        return 1;
    }
    int ports[MAX_LISTEN];
    for (int i = 0; i < o->n_listen; i++) {
        if (td_rpc_listen(rpc, o->listen[i], &ports[i], &st) != TD_CODE_OK) {
            td_log(TD_LOG_ERROR, "%s", st.msg);
            td_rpc_free(rpc);
            return 1;
        }
    }
    td_rpc_start(rpc, &st);
    for (int i = 0; i < o->n_listen; i++)
        log_listening(o->listen[i], ports[i]);
    td_notify("READY=1");

    td_rpc_run(rpc, &stop_requested);

    if (parent_gone)
        td_log(TD_LOG_INFO, "shutting down (parent process %d exited)", (int)parent_pid);
    else
        td_log(TD_LOG_INFO, "shutting down (%s)", strsignal(stop_requested));
    td_notify("STOPPING=1\nSTATUS=shutting down");
    td_rpc_free(rpc);
    td_log(TD_LOG_INFO, "stopped");
    return 0;
}

int main(int argc, char **argv)
{
    struct options o = {.threads = 0};
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0)
        return rc;

    struct sigaction sa = {.sa_handler = on_stop_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (parent_pid && !watch_parent())
        return 0;

    char def[600];
    if (o.n_listen == 0 && !default_listen(&o, def, sizeof def))
        return 1;
    if (o.threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        o.threads = n > 0 ? (int)n : 1;
    }
    td_parallel_init(o.threads);
    td_log(TD_LOG_DEBUG, "tensord %s, %d intra-op threads", TD_VERSION, o.threads);

    rc = serve(&o);
    if (parent_pid)
        remove_private_sockets(&o);
    td_parallel_fini();
    td_share_clear(); /* lingering tokens hold storages: LSan would count them */
    td_alloc_empty_cache();
    free(o.env_copy);
    return rc;
}
