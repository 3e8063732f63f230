/*
 * fork.c — libtensord's fork() handling: gRPC core's fork support, the generation
 * counter that makes a child's inherited clients stale, and the quiescence that gRPC
 * needs at fork time.
 *
 * Why this is needed: after fork() the child shares the parent's epoll instance and
 * socket descriptors unless gRPC resets its polling engine in the child, and gRPC only
 * does that (grpc_postfork_child) when fork support was enabled before grpc_init and
 * no other thread was inside gRPC when grpc_prefork ran.  Debian's libgrpc does not
 * register those handlers itself (it is built without pthread_atfork), so we do:
 *   prepare: hold the gate, lock every tracked client (no thread is in a gRPC call
 *            then), grpc_prefork (stops gRPC's timer and executor threads);
 *   parent:  grpc_postfork_parent, unlock everything;
 *   child:   grpc_postfork_child (fresh epoll set, parent's descriptors closed),
 *            generation + 1, forget the parent's clients, unlock everything.
 * The child never makes a gRPC call on an inherited client (client.c checks the
 * generation), so the parent's session and stream are never touched.
 *
 * gRPC core exports its fork entry points only with C++ linkage, so they are declared
 * here by their mangled names (gRPC core 1.51 as pinned by Debian 12; the link fails
 * loudly if a later version renames them).
 */
#include "fork.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* void grpc_prefork(); void grpc_postfork_parent(); void grpc_postfork_child(); */
void td_grpc_prefork(void) __asm__("_Z12grpc_preforkv");
void td_grpc_postfork_parent(void) __asm__("_Z20grpc_postfork_parentv");
void td_grpc_postfork_child(void) __asm__("_Z19grpc_postfork_childv");
/* static void grpc_core::Fork::Enable(bool): the GRPC_ENABLE_FORK_SUPPORT=1 setting,
 * without setenv() in a process whose other threads may be reading the environment. */
void td_grpc_fork_enable(bool enable) __asm__("_ZN9grpc_core4Fork6EnableEb");

static pthread_once_t once = PTHREAD_ONCE_INIT;
static volatile unsigned generation;

/* Held shared by connect/Stats (td__fork_hold), exclusively across fork(). */
static pthread_rwlock_t gate = PTHREAD_RWLOCK_INITIALIZER;

/* The tracked client locks; `mu` guards the array and is held across fork(). */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
struct tracked {
    pthread_mutex_t *lock;
    const char *target;
};
static struct tracked *locks;
static size_t n_locks, cap_locks;

static void unlock_all(void)
{
    for (size_t i = n_locks; i-- > 0;)
        pthread_mutex_unlock(locks[i].lock);
    pthread_mutex_unlock(&mu);
    pthread_rwlock_unlock(&gate);
}

static void on_prepare(void)
{
    pthread_rwlock_wrlock(&gate);
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < n_locks; i++)
        pthread_mutex_lock(locks[i].lock);
    td_grpc_prefork();
}

static void on_parent(void)
{
    td_grpc_postfork_parent();
    unlock_all();
}

/* True when fd is a unix socket connected to one of the tracked unix: targets. */
static bool is_parent_conn(int fd)
{
    struct sockaddr_un sa;
    socklen_t len = sizeof sa;
    memset(&sa, 0, sizeof sa);
    if (getpeername(fd, (struct sockaddr *)&sa, &len) != 0 || sa.sun_family != AF_UNIX)
        return false;
    for (size_t i = 0; i < n_locks; i++) {
        const char *t = locks[i].target;
        if (strncmp(t, "unix:", 5) == 0 && strncmp(t + 5, sa.sun_path, sizeof sa.sun_path) == 0)
            return true;
    }
    return false;
}

/* True when fd is an epoll instance. */
static bool is_epoll(int dirfd_, const char *name)
{
    char link[64];
    ssize_t n = readlinkat(dirfd_, name, link, sizeof link - 1);
    if (n <= 0)
        return false;
    link[n] = 0;
    return strcmp(link, "anon_inode:[eventpoll]") == 0;
}

/* Cuts what the child inherited from the parent's gRPC:
 *  - an epoll instance is shared across fork (one interest list, one event queue): every
 *    inherited one is replaced by a fresh, empty one under the same number, so nothing
 *    the child registers can be delivered to the parent (whose event data would be
 *    pointers into the child's memory: a crash there).  gRPC's iomgr resets its own set
 *    in grpc_postfork_child; this also covers the EventEngine poller, whose fork
 *    handlers this libgrpc build compiles to no-ops.
 *  - the child's copies of the parent's connections become a socket whose peer is
 *    gone: the abandoned transports fail on it instead of reaching the parent's socket
 *    (shutdown() acts on the socket, not the descriptor), and the number stays taken, so
 *    a new connection cannot inherit their writes.  Only unix targets are matched; a TCP
 *    connection relies on gRPC's reset alone. */
static void isolate_from_parent(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return;
    int sv[2] = {-1, -1};
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        int fd = atoi(e->d_name);
        if (fd <= 2 || fd == dirfd(d))
            continue;
        if (is_epoll(dirfd(d), e->d_name)) {
            int ep = epoll_create1(EPOLL_CLOEXEC);
            if (ep >= 0) {
                dup3(ep, fd, O_CLOEXEC);
                close(ep);
            }
            continue;
        }
        if (!is_parent_conn(fd))
            continue;
        if (sv[0] < 0 && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
            break;
        dup3(sv[0], fd, O_CLOEXEC);
    }
    closedir(d);
    if (sv[0] >= 0) {
        close(sv[0]);
        close(sv[1]);
    }
}

static void on_child(void)
{
    static const pthread_rwlock_t fresh_gate = PTHREAD_RWLOCK_INITIALIZER;
    static const pthread_mutex_t fresh_mu = PTHREAD_MUTEX_INITIALIZER;

    isolate_from_parent();
    td_grpc_postfork_child();
    generation++;
    /* The parent's clients are stale here: fork must not wait for them again (their
     * owner frees them with td_client_free, which untracks a lock it cannot find). */
    for (size_t i = 0; i < n_locks; i++)
        pthread_mutex_unlock(locks[i].lock);
    n_locks = 0;
    /* Re-initialised, not unlocked: glibc recognises a write-locked rwlock's owner by
     * thread id, and the child's thread has a new one (unlock would corrupt it). */
    mu = fresh_mu;
    gate = fresh_gate;
}

static void init_once(void)
{
    td_grpc_fork_enable(true);
    pthread_atfork(on_prepare, on_parent, on_child);
}

void td__fork_init(void)
{
    pthread_once(&once, init_once);
}

unsigned td__fork_generation(void)
{
    return generation;
}

void td__fork_track(pthread_mutex_t *lock, const char *target)
{
    pthread_mutex_lock(&mu);
    if (n_locks == cap_locks) {
        size_t cap = cap_locks ? 2 * cap_locks : 8;
        struct tracked *p = realloc(locks, cap * sizeof *p);
        if (!p) {
            /* untracked: a fork while this client is mid-call may leave the child
             * without gRPC; everything else still works */
            pthread_mutex_unlock(&mu);
            return;
        }
        locks = p;
        cap_locks = cap;
    }
    locks[n_locks++] = (struct tracked){lock, target};
    pthread_mutex_unlock(&mu);
}

void td__fork_untrack(pthread_mutex_t *lock)
{
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < n_locks; i++) {
        if (locks[i].lock == lock) {
            locks[i] = locks[--n_locks];
            break;
        }
    }
    pthread_mutex_unlock(&mu);
}

void td__fork_hold(void)
{
    pthread_rwlock_rdlock(&gate);
}

void td__fork_release(void)
{
    pthread_rwlock_unlock(&gate);
}
