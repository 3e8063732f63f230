/*
 * shm.c — the side socket, its handshake and ring creation; see shm.h.
 */
#include "shm.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "listen.h"
#include "log.h"

#define SQ_BYTES (2u << 20) /* a 4 MiB upload message streams through in two halves */
#define CQ_BYTES (1u << 20)
#define HANDSHAKE_TIMEOUT_MS 1000

struct td_shm_listener {
    int fd;
    bool abstract;
    char path[108]; /* filesystem path to unlink ("" when abstract or inherited) */
    char address[140];
    pthread_t thread;
    bool running;
    atomic_bool stop;
    td_shm_bind_fn bind;
    td_shm_arena_fn arena;
    void *ctx;
};

void td_shm_ring_free(struct td_shm_ring *r)
{
    if (!r)
        return;
    if (r->sock >= 0)
        close(r->sock);
    if (r->map)
        munmap(r->map, r->map_bytes);
    if (r->memfd >= 0)
        close(r->memfd);
    free(r);
}

/* A fresh ring memfd: header page, then both rings.  Sealed against shrinking (a
 * client's mapping can never fault past the end) and growing. */
static struct td_shm_ring *ring_new(void)
{
    struct td_shm_ring *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->sock = -1;
    r->map_bytes = TD_RING_HDR_BYTES + SQ_BYTES + CQ_BYTES;
    r->memfd = memfd_create("tensord-ring", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (r->memfd < 0 || ftruncate(r->memfd, (off_t)r->map_bytes) != 0 ||
        fcntl(r->memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
        goto fail;
    r->map = mmap(NULL, r->map_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, r->memfd, 0);
    if (r->map == MAP_FAILED) {
        r->map = NULL;
        goto fail;
    }
    struct td_ring_hdr *h = (struct td_ring_hdr *)r->map;
    h->magic = TD_RING_MAGIC;
    h->version = TD_RING_VERSION;
    h->sq_off = TD_RING_HDR_BYTES;
    h->sq_size = SQ_BYTES;
    h->cq_off = TD_RING_HDR_BYTES + SQ_BYTES;
    h->cq_size = CQ_BYTES;
    /* our views use our own geometry, never the header (the client can write it) */
    r->sq = (struct td_ring){.ctl = &h->sq, .data = r->map + TD_RING_HDR_BYTES, .size = SQ_BYTES};
    r->cq = (struct td_ring){.ctl = &h->cq, .data = r->map + TD_RING_HDR_BYTES + SQ_BYTES, .size = CQ_BYTES};
    return r;
fail:
    td_log(TD_LOG_ERROR, "cannot create a shared-memory ring: %s", strerror(errno));
    td_shm_ring_free(r);
    return NULL;
}

static void send_welcome(int fd, const struct td_shm_welcome *w, int memfd)
{
    struct iovec iov = {.iov_base = (void *)w, .iov_len = sizeof *w};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    if (memfd >= 0) {
        memset(&ctl, 0, sizeof ctl);
        m.msg_control = ctl.buf;
        m.msg_controllen = sizeof ctl.buf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &memfd, sizeof memfd);
    }
    if (sendmsg(fd, &m, MSG_NOSIGNAL) < 0)
        td_log(TD_LOG_DEBUG, "side socket: cannot answer a handshake: %s", strerror(errno));
}

static void refuse(int fd, enum td_code code, uid_t uid, const char *msg)
{
    struct td_shm_welcome w = {.magic = TD_SHM_HELLO_MAGIC, .code = (int32_t)code, .uid = (uint32_t)uid};
    snprintf(w.message, sizeof w.message, "%s", msg);
    td_log(TD_LOG_WARN, "side socket: refused uid %u: %s", (unsigned)uid, msg);
    send_welcome(fd, &w, -1);
    close(fd);
}

/* One connection: read the hello, identify the peer, hand out a ring. */
static void handshake(struct td_shm_listener *l, int fd)
{
    struct ucred cred = {.pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1};
    socklen_t cl = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0) {
        refuse(fd, TD_CODE_PERMISSION_DENIED, cred.uid, "cannot identify the peer (SO_PEERCRED)");
        return;
    }
    struct pollfd p = {.fd = fd, .events = POLLIN};
    struct td_shm_hello h;
    ssize_t n = -1;
    if (poll(&p, 1, HANDSHAKE_TIMEOUT_MS) == 1)
        n = recv(fd, &h, sizeof h, MSG_DONTWAIT | MSG_TRUNC);
    if (n != (ssize_t)sizeof h || h.magic != TD_SHM_HELLO_MAGIC || h.version != TD_RING_VERSION ||
        (h.kind != TD_SHM_RINGS && h.kind != TD_SHM_ARENA)) {
        refuse(fd, TD_CODE_INVALID_ARGUMENT, cred.uid,
               n < 0 ? "no hello within the handshake timeout" : "malformed hello");
        return;
    }
    if (h.kind == TD_SHM_ARENA) {
        char msg[200] = "";
        enum td_code code = TD_CODE_INTERNAL;
        uint64_t size = 0;
        int memfd = l->arena(l->ctx, &h, cred.uid, &size, &code, msg, sizeof msg);
        if (memfd < 0) {
            refuse(fd, code, cred.uid, msg);
            return;
        }
        struct td_shm_welcome w = {.magic = TD_SHM_HELLO_MAGIC, .uid = (uint32_t)cred.uid, .map_bytes = size};
        send_welcome(fd, &w, memfd);
        close(memfd);
        close(fd);
        return;
    }
    struct td_shm_ring *r = ring_new();
    if (!r) {
        refuse(fd, TD_CODE_RESOURCE_EXHAUSTED, cred.uid, "daemon cannot create a ring");
        return;
    }
    r->uid = cred.uid;
    r->gid = cred.gid;
    r->pid = cred.pid;
    r->sock = fd;
    char msg[200] = "";
    int memfd = r->memfd;
    size_t map_bytes = r->map_bytes;
    enum td_code code = l->bind(l->ctx, &h, r, msg, sizeof msg);
    if (code != TD_CODE_OK) {
        r->sock = -1;
        td_shm_ring_free(r);
        refuse(fd, code, cred.uid, msg);
        return;
    }
    /* r now belongs to the session (which may already be ending: then it closes fd and
     * the memfd after this send, which the kernel has copied by then) */
    struct td_shm_welcome w = {.magic = TD_SHM_HELLO_MAGIC, .uid = (uint32_t)cred.uid, .map_bytes = map_bytes};
    send_welcome(fd, &w, memfd);
}

static void *accept_main(void *arg)
{
    struct td_shm_listener *l = arg;
    while (!atomic_load(&l->stop)) {
        struct pollfd p = {.fd = l->fd, .events = POLLIN};
        if (poll(&p, 1, 100) != 1)
            continue;
        int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        handshake(l, fd);
    }
    return NULL;
}

struct td_shm_listener *td_shm_listen(const char *addr, struct td_status *st)
{
    bool abstract = strncmp(addr, "unix-abstract:", 14) == 0;
    if (!abstract && strncmp(addr, "unix:", 5) != 0)
        return NULL; /* TCP clients use gRPC only */
    struct td_shm_listener *l = calloc(1, sizeof *l);
    if (!l) {
        td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "out of memory");
        return NULL;
    }
    l->abstract = abstract;
    snprintf(l->address, sizeof l->address, "%s.shm", addr);
    l->fd = td_unix_bind(l->address, SOCK_SEQPACKET, l->path, sizeof l->path, st);
    if (l->fd < 0) {
        free(l);
        return NULL;
    }
    struct stat sb;
    if (!abstract && stat(addr + 5, &sb) == 0) /* who may connect: exactly who may use gRPC */
        chmod(l->path, sb.st_mode & 07777);
    atomic_init(&l->stop, false);
    return l;
}

struct td_shm_listener *td_shm_adopt(int fd, struct td_status *st)
{
    struct td_shm_listener *l = calloc(1, sizeof *l);
    if (!l) {
        td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "out of memory");
        return NULL;
    }
    if (!td_unix_address_of(fd, l->address, sizeof l->address)) {
        td_status_set(st, TD_CODE_INVALID_ARGUMENT, "inherited fd %d is not a unix socket", fd);
        free(l);
        return NULL;
    }
    l->abstract = strncmp(l->address, "unix-abstract:", 14) == 0;
    l->fd = fd; /* l->path stays empty: systemd owns the file */
    atomic_init(&l->stop, false);
    return l;
}

const char *td_shm_address(const struct td_shm_listener *l) { return l->address; }

enum td_code td_shm_start(struct td_shm_listener *l, td_shm_bind_fn bind, td_shm_arena_fn arena, void *ctx,
                          struct td_status *st)
{
    l->bind = bind;
    l->arena = arena;
    l->ctx = ctx;
    if (pthread_create(&l->thread, NULL, accept_main, l) != 0)
        return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "cannot start the side socket's thread");
    l->running = true;
    return TD_CODE_OK;
}

void td_shm_free(struct td_shm_listener *l)
{
    if (!l)
        return;
    atomic_store(&l->stop, true);
    if (l->running)
        pthread_join(l->thread, NULL);
    close(l->fd);
    if (l->path[0])
        unlink(l->path);
    free(l);
}
