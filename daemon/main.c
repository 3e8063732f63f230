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
 * A housekeeping thread gives idle cached tensor memory back to the system (alloc.h).
 * Settings: config.h (config file, TENSORD_* environment, flags).
 *
 * systemd: READY=1 once every socket listens, STATUS= lines, STOPPING=1 at shutdown;
 * with WatchdogSec= a thread pings WATCHDOG=1 at half the interval, but only while the
 * serving loop keeps turning (td_rpc_heartbeat), so a wedged daemon is restarted.
 * Socket activation (LISTEN_FDS): inherited unix stream sockets serve gRPC, inherited
 * seqpacket sockets are side sockets for the shared-memory transport; unix addresses in
 * the settings are then not bound (TCP ones still are).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "device.h"
#include "../kernels/kernel.h"
#include "../proto/td_address.h"
#include "alloc.h"
#include "config.h"
#include "share.h"
#include "log.h"
#include "metrics.h"
#include "rpc.h"

#ifndef TD_VERSION
#define TD_VERSION "unknown"
#endif

#define MAX_LISTEN TD_CONFIG_MAX_LISTEN

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
               "  --config PATH      read settings from PATH first (default $TENSORD_CONFIG; none);\n"
               "                     TENSORD_* variables override it, flags override both\n"
               "  --listen ADDRESS   unix:/path, unix-abstract:name or HOST:PORT (repeatable;\n"
               "                     default $TENSORD_LISTEN, else the per-user unix socket)\n"
               "  --threads N        intra-op threads (default: online CPUs)\n"
               "  --log-level LEVEL  debug, info, warn or error (default info)\n"
               "  --max-memory SIZE  cap on tensor bytes, e.g. 8G, 512M (default: physical memory)\n"
               "  --session-memory-limit SIZE\n"
               "                     cap on one session's tensor bytes (default: none)\n"
               "  --session-gpu-memory-limit SIZE\n"
               "                     cap on one session's tensor bytes on each GPU (default: none)\n"
               "  --cache-idle-seconds S\n"
               "                     free memory cached this long goes back to the system\n"
               "                     (default 10)\n"
               "  --cache-pressure-percent P\n"
               "                     when the machine or the daemon's cgroup has less than P%%\n"
               "                     of its memory left, cached memory goes back at once\n"
               "                     (default 5; 0: never)\n"
               "  --metrics HOST:PORT  serve Prometheus metrics over HTTP there (default: off)\n"
               "  --tls-cert PATH    PEM certificate chain for TCP listeners\n"
               "  --tls-key PATH     its private key (TCP needs both, unless --insecure-tcp)\n"
               "  --token-file PATH  bearer token TCP clients must send\n"
               "  --insecure-tcp yes allow TCP without TLS on loopback addresses (tests)\n"
               "  --admin-group NAME group allowed admin calls besides root (default tensord)\n"
               "  --socket-mode MODE mode of the unix sockets tensord binds, e.g. 0660\n"
               "                     (default: from the umask)\n"
               "  --share-linger S   how long an unopened pickled tensor's token outlives the\n"
               "                     process that made it (default 30)\n"
               "  --cuda-plugin PATH the CUDA plugin (default: libtensord_cuda.so beside tensord)\n"
               "  --fake-gpus N      serve N host-memory stand-in GPUs instead (tests, demos)\n"
               "  --fake-gpu-memory SIZE  memory of each stand-in GPU (default 1G)\n"
               "  --fake-gpu-staged yes   the stand-in GPUs have no kernels: every op is staged\n"
               "                     through host memory (tests of that path)\n"
               "  --fake-gpu-half yes     the stand-in GPUs run float16/bfloat16 ops natively, as\n"
               "                     the CUDA plugin does (tests of that path)\n"
               "  --parent-pid PID   private mode: exit when PID (tensord's parent) exits, and\n"
               "                     remove the unix sockets' directories at exit\n"
               "  --print-config     print the effective settings and exit\n"
               "  --help             this text\n"
               "  --version          print the version\n");
}

struct options {
    struct td_config cfg;
    const char *listen[MAX_LISTEN];
    int n_listen;
    int threads;
    bool print_config;
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

#define MAX_FLAGS 64

/* Returns -1 to go on, else the exit status.  Flags are collected first and applied
 * after the config file and the environment, which they override. */
static int parse_args(int argc, char **argv, struct options *o)
{
    enum { OPT_CONFIG = 256, OPT_PARENT, OPT_PRINT, OPT_KEY };
    static const struct option longopts[] = {
        {"config", required_argument, NULL, OPT_CONFIG},
        {"parent-pid", required_argument, NULL, OPT_PARENT},
        {"print-config", no_argument, NULL, OPT_PRINT},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        /* every other flag is a config key (config.c's table) */
        {"listen", required_argument, NULL, OPT_KEY},
        {"threads", required_argument, NULL, OPT_KEY},
        {"log-level", required_argument, NULL, OPT_KEY},
        {"max-memory", required_argument, NULL, OPT_KEY},
        {"session-memory-limit", required_argument, NULL, OPT_KEY},
        {"session-gpu-memory-limit", required_argument, NULL, OPT_KEY},
        {"cache-idle-seconds", required_argument, NULL, OPT_KEY},
        {"cache-pressure-percent", required_argument, NULL, OPT_KEY},
        {"metrics", required_argument, NULL, OPT_KEY},
        {"tls-cert", required_argument, NULL, OPT_KEY},
        {"tls-key", required_argument, NULL, OPT_KEY},
        {"token-file", required_argument, NULL, OPT_KEY},
        {"insecure-tcp", required_argument, NULL, OPT_KEY},
        {"admin-group", required_argument, NULL, OPT_KEY},
        {"socket-mode", required_argument, NULL, OPT_KEY},
        {"share-linger", required_argument, NULL, OPT_KEY},
        {"cuda-plugin", required_argument, NULL, OPT_KEY},
        {"fake-gpus", required_argument, NULL, OPT_KEY},
        {"fake-gpu-memory", required_argument, NULL, OPT_KEY},
        {"fake-gpu-staged", required_argument, NULL, OPT_KEY},
        {"fake-gpu-half", required_argument, NULL, OPT_KEY},
        {NULL, 0, NULL, 0},
    };
    const char *flag_key[MAX_FLAGS], *flag_val[MAX_FLAGS];
    int n_flags = 0, idx = 0, ch;
    const char *config = getenv("TENSORD_CONFIG");
    char *end, err[800], where[80];
    while ((ch = getopt_long(argc, argv, "hV", longopts, &idx)) != -1) {
        switch (ch) {
        case OPT_KEY:
            if (n_flags == MAX_FLAGS) {
                fprintf(stderr, "tensord: too many flags\n");
                return 2;
            }
            flag_key[n_flags] = longopts[idx].name;
            flag_val[n_flags++] = optarg;
            break;
        case OPT_CONFIG:
            config = optarg;
            break;
        case OPT_PRINT:
            o->print_config = true;
            break;
        case OPT_PARENT: {
            errno = 0;
            long n = strtol(optarg, &end, 10);
            if (errno || *end || n < 2 || n > 0x3fffffff) {
                fprintf(stderr, "tensord: --parent-pid wants a process id, got '%s'\n", optarg);
                return 2;
            }
            parent_pid = (pid_t)n;
            break;
        }
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
    if (config && *config && !td_config_load(&o->cfg, config, err, sizeof err)) {
        fprintf(stderr, "tensord: %s\n", err);
        return 2;
    }
    if (!td_config_load_env(&o->cfg, err, sizeof err)) {
        fprintf(stderr, "tensord: %s\n", err);
        return 2;
    }
    for (int i = 0; i < n_flags; i++) {
        snprintf(where, sizeof where, "--%s", flag_key[i]);
        if (!td_config_set(&o->cfg, TD_SRC_FLAG, where, flag_key[i], flag_val[i], err, sizeof err)) {
            fprintf(stderr, "tensord: %s\n", err);
            return 2;
        }
    }
    td_log_set_level(o->cfg.log_level);
    td_alloc_set_limit(o->cfg.max_memory); /* 0: physical memory */
    if (o->cfg.session_memory_limit)
        td_alloc_set_session_limit(o->cfg.session_memory_limit);
    td_device_set_session_limit(o->cfg.session_gpu_memory_limit);
    if (o->cfg.cache_idle_seconds >= 0)
        td_alloc_set_idle_ns((uint64_t)(o->cfg.cache_idle_seconds * 1e9));
    if (o->cfg.cache_pressure_percent >= 0)
        td_alloc_set_pressure_fraction(o->cfg.cache_pressure_percent / 100);
    if (o->cfg.share_linger_seconds >= 0)
        td_share_set_linger(o->cfg.share_linger_seconds);
    o->threads = o->cfg.threads;
    for (int i = 0; i < o->cfg.n_listen; i++)
        o->listen[o->n_listen++] = o->cfg.listen[i];
    return -1;
}

/* No listen setting: the per-user default socket (its directory made 0700). */
static bool default_listen(struct options *o, char *def, size_t def_len)
{
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

/* ---- socket activation (the LISTEN_FDS protocol of sd_listen_fds(3), read here so
 * the daemon needs no libsystemd for it) */

#define LISTEN_FDS_START 3

/* How many sockets systemd passed (fds 3..3+n-1); 0 when none or not for us. */
static int inherited_fds(void)
{
    const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
    int n = 0;
    if (pid && fds && strtol(pid, NULL, 10) == (long)getpid())
        n = (int)strtol(fds, NULL, 10);
    unsetenv("LISTEN_PID"); /* children (none today) must not take them for theirs */
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    return n > 0 && n <= MAX_LISTEN ? n : 0;
}

/* Adopts fd: a unix stream socket serves gRPC, a unix seqpacket socket is the side
 * socket of the shared-memory transport. */
static bool adopt_fd(struct td_rpc *rpc, int fd)
{
    int type = 0, domain = 0, listening = 0;
    socklen_t l1 = sizeof type, l2 = sizeof domain, l3 = sizeof listening;
    struct td_status st = TD_STATUS_INIT;
    const char *addr = NULL;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l1) != 0 || getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &l2) != 0 ||
        getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &l3) != 0 || domain != AF_UNIX || !listening ||
        (type != SOCK_STREAM && type != SOCK_SEQPACKET)) {
        td_log(TD_LOG_ERROR,
               "inherited fd %d is not a listening unix socket (tensord activates ListenStream= unix sockets for "
               "gRPC and ListenSequentialPacket= ones for shared memory)",
               fd);
        return false;
    }
    enum td_code code = type == SOCK_STREAM ? td_rpc_listen_fd(rpc, fd, &addr, &st) : td_rpc_adopt_side(rpc, fd, &addr, &st);
    if (code != TD_CODE_OK) {
        td_log(TD_LOG_ERROR, "inherited fd %d: %s", fd, st.msg);
        return false;
    }
    if (type == SOCK_STREAM)
        log_listening(addr, 1);
    else
        td_log(TD_LOG_INFO, "shared-memory side socket %s (socket activation)", addr);
    return true;
}

/* ---- the watchdog: pings systemd at half of WatchdogSec while the serving loop turns */

struct watchdog {
    struct td_rpc *rpc;
    uint64_t usec;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop, running;
};

/* WATCHDOG_USEC when it is meant for this process (sd_watchdog_enabled(3)); 0: none. */
static uint64_t watchdog_usec(void)
{
    const char *us = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
    if (!us || (pid && strtol(pid, NULL, 10) != (long)getpid()))
        return 0;
    return strtoull(us, NULL, 10);
}

static void *watchdog_main(void *arg)
{
    struct watchdog *w = arg;
    /* The loop turns at least every 100 ms, but a check can fall just before a turn:
     * only a loop that did not move over two checks in a row counts as stuck. */
    uint64_t seen[2] = {td_rpc_heartbeat(w->rpc), td_rpc_heartbeat(w->rpc) - 1};
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        uint64_t ns = (uint64_t)t.tv_nsec + w->usec / 2 * 1000;
        t.tv_sec += (time_t)(ns / 1000000000u);
        t.tv_nsec = (long)(ns % 1000000000u);
        while (!w->stop && pthread_cond_timedwait(&w->cv, &w->mu, &t) == 0)
            ;
        if (w->stop)
            break;
        uint64_t now = td_rpc_heartbeat(w->rpc);
        if (now != seen[1]) /* a stuck loop gets no ping: systemd restarts the service */
            td_notify("WATCHDOG=1");
        else
            td_log(TD_LOG_WARN, "the serving loop has not turned for %llu ms: no watchdog ping",
                   (unsigned long long)(w->usec / 1000));
        seen[1] = seen[0];
        seen[0] = now;
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static void watchdog_start(struct watchdog *w, struct td_rpc *rpc)
{
    memset(w, 0, sizeof *w);
    w->rpc = rpc;
    w->usec = watchdog_usec();
    if (w->usec < 2000)
        return;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&w->mu, NULL);
    w->running = pthread_create(&w->thread, NULL, watchdog_main, w) == 0;
    if (w->running)
        td_log(TD_LOG_DEBUG, "watchdog: a ping every %llu ms", (unsigned long long)(w->usec / 2000));
}

static void watchdog_stop(struct watchdog *w)
{
    if (!w->usec || w->usec < 2000)
        return;
    if (w->running) {
        pthread_mutex_lock(&w->mu);
        w->stop = true;
        pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->thread, NULL);
    }
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
}

static bool is_unix_address(const char *a)
{
    return strncmp(a, "unix:", 5) == 0 || strncmp(a, "unix-abstract:", 14) == 0;
}

static int serve(struct options *o, int n_inherited)
{
    struct td_status st = TD_STATUS_INIT;
    struct td_rpc *rpc = td_rpc_new(&st);
    if (!rpc) {
        td_log(TD_LOG_ERROR, "cannot start: %s", st.msg);
        return 1;
    }
    if (o->cfg.admin_group)
        td_rpc_set_admin_group(rpc, o->cfg.admin_group);
    td_rpc_set_socket_mode(rpc, o->cfg.socket_mode);
    if (td_rpc_set_tcp_auth(rpc, o->cfg.tls_cert, o->cfg.tls_key, o->cfg.token_file, o->cfg.insecure_tcp, &st)) {
        td_log(TD_LOG_ERROR, "%s", st.msg);
        td_rpc_free(rpc);
        return 1;
    }
    for (int i = 0; i < n_inherited; i++) {
        if (!adopt_fd(rpc, LISTEN_FDS_START + i)) {
            td_rpc_free(rpc);
            return 1;
        }
    }
    int ports[MAX_LISTEN];
    for (int i = 0; i < o->n_listen; i++) {
        if (n_inherited && is_unix_address(o->listen[i])) { /* systemd's sockets replace these */
            td_log(TD_LOG_INFO, "socket activation: not binding %s", o->listen[i]);
            ports[i] = 0;
            continue;
        }
        if (td_rpc_listen(rpc, o->listen[i], &ports[i], &st) != TD_CODE_OK) {
            td_log(TD_LOG_ERROR, "%s", st.msg);
            td_rpc_free(rpc);
            return 1;
        }
    }
    if (td_rpc_start(rpc, &st) != TD_CODE_OK) {
        td_log(TD_LOG_ERROR, "cannot start: %s", st.msg);
        td_rpc_free(rpc);
        return 1;
    }
    for (int i = 0; i < o->n_listen; i++)
        if (ports[i])
            log_listening(o->listen[i], ports[i]);
    struct td_metrics_server *metrics = NULL;
    if (o->cfg.metrics) {
        int port = 0;
        metrics = td_metrics_serve(o->cfg.metrics, rpc, &port, &st);
        if (!metrics) {
            td_log(TD_LOG_ERROR, "%s", st.msg);
            td_rpc_free(rpc);
            return 1;
        }
        const char *colon = strrchr(o->cfg.metrics, ':');
        td_log(TD_LOG_INFO, "metrics on http://%.*s:%d/metrics", (int)(colon - o->cfg.metrics), o->cfg.metrics, port);
    }
    td_notify("READY=1");
    struct watchdog wd;
    watchdog_start(&wd, rpc);

    td_rpc_run(rpc, &stop_requested);

    if (parent_gone)
        td_log(TD_LOG_INFO, "shutting down (parent process %d exited)", (int)parent_pid);
    else
        td_log(TD_LOG_INFO, "shutting down (%s)", strsignal(stop_requested));
    td_notify("STOPPING=1\nSTATUS=shutting down");
    watchdog_stop(&wd);
    td_metrics_server_free(metrics);
    td_rpc_free(rpc);
    td_log(TD_LOG_INFO, "stopped");
    return 0;
}

int main(int argc, char **argv)
{
    struct options o = {.threads = 0};
    td_config_init(&o.cfg);
    int rc = parse_args(argc, argv, &o);
    if (rc < 0 && o.print_config) {
        td_config_print(&o.cfg, STDOUT_FILENO);
        rc = 0;
    }
    if (rc >= 0) {
        td_config_fini(&o.cfg);
        return rc;
    }

    struct sigaction sa = {.sa_handler = on_stop_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (parent_pid && !watch_parent()) {
        td_config_fini(&o.cfg);
        return 0;
    }

    td_log_init();
    int n_inherited = inherited_fds();
    char def[600];
    if (o.n_listen == 0 && !n_inherited && !default_listen(&o, def, sizeof def)) {
        td_config_fini(&o.cfg);
        return 1;
    }
    if (o.threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        o.threads = n > 0 ? (int)n : 1;
    }
    /* each arena is a descriptor: allow as many as the hard limit does */
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max;
        setrlimit(RLIMIT_NOFILE, &nofile);
    }
    td_parallel_init(o.threads);
    td_devices_init(&(struct td_devices_config){.plugin = o.cfg.cuda_plugin, .fake = o.cfg.fake_gpus,
                                                 .fake_memory = o.cfg.fake_gpu_memory,
                                                 .fake_staged = o.cfg.fake_gpu_staged,
                                                 .fake_half = o.cfg.fake_gpu_half});
    if (!td_alloc_housekeeping_start())
        td_log(TD_LOG_WARN, "no housekeeping thread: idle cached memory is not given back");
    td_metrics_stamp(); /* calibrates the record clock (~2 ms) now, not in a client's first batch */
    td_log(TD_LOG_DEBUG, "tensord %s, %d intra-op threads", TD_VERSION, o.threads);

    rc = serve(&o, n_inherited);
    if (parent_pid)
        remove_private_sockets(&o);
    td_parallel_fini();
    td_alloc_housekeeping_stop();
    td_share_clear(); /* lingering tokens hold storages: LSan would count them */
    td_alloc_empty_cache();
    td_devices_fini();
    td_config_fini(&o.cfg);
    return rc;
}
