/*
 * listen.c — owned unix listeners and their accept loop; see listen.h.
 */
#include "listen.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

#define MAX_LISTENERS 16

struct listener {
    int fd;
    bool inherited;
    char path[108]; /* file to remove at exit ("" when abstract or inherited) */
    char address[140];
};

struct td_listen {
    struct listener ls[MAX_LISTENERS];
    int n;
    int wake[2]; /* a byte here stops the accept thread */
    pthread_t thread;
    bool running;
    td_listen_add_fn add;
    void *ctx;
    pthread_mutex_t mu; /* guards peers */
    struct td_peer *peers; /* indexed by connection fd */
    int n_peers;
};

struct td_listen *td_listen_new(void)
{
    struct td_listen *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->wake[0] = l->wake[1] = -1;
    pthread_mutex_init(&l->mu, NULL);
    return l;
}

int td_listen_count(const struct td_listen *l) { return l ? l->n : 0; }
const char *td_listen_address(const struct td_listen *l, int i) { return l->ls[i].address; }
bool td_listen_inherited(const struct td_listen *l, int i) { return l->ls[i].inherited; }

int td_unix_bind(const char *addr, int type, char *path, size_t path_len, struct td_status *st)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    socklen_t len;
    bool abstract = strncmp(addr, "unix-abstract:", 14) == 0;
    if (!abstract && strncmp(addr, "unix:", 5) != 0) {
        td_status_set(st, TD_CODE_INVALID_ARGUMENT, "cannot listen on %s (not a unix address)", addr);
        return -1;
    }
    const char *name = addr + (abstract ? 14 : 5);
    size_t n = strlen(name);
    if (n == 0 || n >= sizeof sa.sun_path - 1 || n >= path_len) {
        td_status_set(st, TD_CODE_INVALID_ARGUMENT, "cannot listen on %s (bad address)", addr);
        return -1;
    }
    path[0] = 0;
    if (abstract) {
        memcpy(sa.sun_path + 1, name, n);
        len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
    } else {
        memcpy(sa.sun_path, name, n + 1);
        len = (socklen_t)sizeof sa;
        struct stat sb; /* a stale socket of a daemon that died; never another kind of file */
        if (lstat(name, &sb) == 0 && S_ISSOCK(sb.st_mode))
            unlink(name);
    }
    int fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, len) != 0 || listen(fd, 128) != 0) {
        td_status_set(st, TD_CODE_UNAVAILABLE, "cannot listen on %s: %s", addr, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (!abstract)
        memcpy(path, name, n + 1);
    return fd;
}

bool td_unix_address_of(int fd, char *address, size_t len)
{
    struct sockaddr_un sa;
    socklen_t sl = sizeof sa;
    memset(&sa, 0, sizeof sa);
    if (getsockname(fd, (struct sockaddr *)&sa, &sl) != 0 || sa.sun_family != AF_UNIX)
        return false;
    size_t n = sl > offsetof(struct sockaddr_un, sun_path) ? sl - offsetof(struct sockaddr_un, sun_path) : 0;
    if (n > 0 && sa.sun_path[0] == 0)
        snprintf(address, len, "unix-abstract:%.*s", (int)(n - 1), sa.sun_path + 1);
    else
        snprintf(address, len, "unix:%.*s", (int)strnlen(sa.sun_path, n), sa.sun_path);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    /* non-blocking: a connection that vanishes between poll and accept must not stall the loop */
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return true;
}

bool td_listen_bind(struct td_listen *l, const char *addr, struct td_status *st)
{
    if (l->n == MAX_LISTENERS) {
        td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "at most %d unix listeners", MAX_LISTENERS);
        return false;
    }
    struct listener *x = &l->ls[l->n];
    memset(x, 0, sizeof *x);
    snprintf(x->address, sizeof x->address, "%s", addr);
    x->fd = td_unix_bind(addr, SOCK_STREAM, x->path, sizeof x->path, st);
    if (x->fd < 0)
        return false;
    l->n++;
    return true;
}

bool td_listen_adopt(struct td_listen *l, int fd, struct td_status *st)
{
    if (l->n == MAX_LISTENERS) {
        td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "at most %d unix listeners", MAX_LISTENERS);
        return false;
    }
    struct listener *x = &l->ls[l->n];
    memset(x, 0, sizeof *x);
    if (!td_unix_address_of(fd, x->address, sizeof x->address)) {
        td_status_set(st, TD_CODE_INVALID_ARGUMENT, "inherited fd %d is not a unix socket", fd);
        return false;
    }
    x->fd = fd;
    x->inherited = true;
    l->n++;
    return true;
}

static void remember_peer(struct td_listen *l, int fd)
{
    struct ucred cred;
    socklen_t cl = sizeof cred;
    struct td_peer p = {.known = false};
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0)
        p = (struct td_peer){.known = true, .uid = cred.uid, .gid = cred.gid, .pid = cred.pid};
    pthread_mutex_lock(&l->mu);
    if (fd >= l->n_peers) {
        int n = fd + 64;
        struct td_peer *q = realloc(l->peers, (size_t)n * sizeof *q);
        if (q) {
            memset(q + l->n_peers, 0, (size_t)(n - l->n_peers) * sizeof *q);
            l->peers = q;
            l->n_peers = n;
        }
    }
    if (fd < l->n_peers)
        l->peers[fd] = p;
    pthread_mutex_unlock(&l->mu);
}

struct td_peer td_listen_peer(struct td_listen *l, const char *peer)
{
    struct td_peer p = {.known = false};
    int fd;
    char tail;
    if (!l || !peer || sscanf(peer, "fd:%d%c", &fd, &tail) != 1 || fd < 0)
        return p;
    pthread_mutex_lock(&l->mu);
    if (fd < l->n_peers)
        p = l->peers[fd];
    pthread_mutex_unlock(&l->mu);
    return p;
}

static void *accept_main(void *arg)
{
    struct td_listen *l = arg;
    struct pollfd p[MAX_LISTENERS + 1];
    for (int i = 0; i < l->n; i++)
        p[i] = (struct pollfd){.fd = l->ls[i].fd, .events = POLLIN};
    p[l->n] = (struct pollfd){.fd = l->wake[0], .events = POLLIN};
    for (;;) {
        if (poll(p, (nfds_t)l->n + 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            td_log(TD_LOG_ERROR, "accept loop: poll: %s", strerror(errno));
            return NULL;
        }
        if (p[l->n].revents)
            return NULL;
        for (int i = 0; i < l->n; i++) {
            if (!(p[i].revents & POLLIN))
                continue;
            int fd = accept4(l->ls[i].fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EMFILE || errno == ENFILE) { /* don't spin on a full table */
                    td_log(TD_LOG_WARN, "cannot accept a connection on %s: %s", l->ls[i].address, strerror(errno));
                    usleep(100000);
                }
                continue;
            }
            remember_peer(l, fd);
            l->add(l->ctx, fd);
        }
    }
}

bool td_listen_start(struct td_listen *l, td_listen_add_fn add, void *ctx, struct td_status *st)
{
    if (l->n == 0)
        return true;
    l->add = add;
    l->ctx = ctx;
    if (pipe2(l->wake, O_CLOEXEC) != 0 || pthread_create(&l->thread, NULL, accept_main, l) != 0) {
        td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "cannot start the accept thread");
        return false;
    }
    l->running = true;
    return true;
}

void td_listen_free(struct td_listen *l)
{
    if (!l)
        return;
    if (l->running) {
        char b = 1;
        if (write(l->wake[1], &b, 1) != 1)
            td_log(TD_LOG_WARN, "cannot stop the accept thread");
        pthread_join(l->thread, NULL);
    }
    for (int i = 0; i < 2; i++)
        if (l->wake[i] >= 0)
            close(l->wake[i]);
    for (int i = 0; i < l->n; i++) {
        close(l->ls[i].fd);
        if (l->ls[i].path[0])
            unlink(l->ls[i].path);
    }
    pthread_mutex_destroy(&l->mu);
    free(l->peers);
    free(l);
}
