/*
 * shm.c — libtensord's shared-memory transport; see shm.h.
 *
 * Waiting: spin briefly on the ring (a sync answer usually comes within microseconds),
 * then sleep on its futex with a timeout; after each timeout look at the side socket:
 * a hang-up means the daemon ended the session or died, which becomes UNAVAILABLE
 * rather than a hang.  The rings live in a memfd the daemon created and sealed against
 * shrinking, so no access to them can fault.
 */
#include "shm.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../proto/td_ring.h"

#define SPIN_NS 50000     /* a sync's answer usually arrives within this */
#define WAIT_MS 100       /* between looks at the side socket */
#define CONNECT_TIMEOUT_MS 5000

struct stashed {
    struct stashed *next;
    struct td_conn_reply r;
};

struct mapped_arena {
    uint64_t id;
    uint8_t *base; /* NULL: the daemon refused it */
    size_t size;
};

struct td_shm {
    char address[160];
    uint64_t session_id;
    uint8_t secret[16];
    struct mapped_arena *arenas;
    size_t n_arenas, cap_arenas;
    int sock;
    uint8_t *map;
    size_t map_bytes;
    struct td_ring sq, cq; /* we produce sq, consume cq */
    bool dead;
    bool keep_arenas; /* numpy blocks live in them: leave them mapped at close (td__shm_keep_arenas) */
    struct stashed *stash_head, *stash_tail; /* answers read while waiting to send */
};

static enum td_code hung_up(struct td_shm *s, struct td_status *st)
{
    s->dead = true;
    return td_status_set(st, TD_CODE_UNAVAILABLE, "tensord closed the shared-memory transport");
}

/* Has the daemon closed its end (session over or daemon gone)? */
static bool peer_gone(struct td_shm *s)
{
    struct pollfd p = {.fd = s->sock, .events = POLLIN};
    return poll(&p, 1, 0) != 0;
}

static bool sockaddr_for(const char *address, struct sockaddr_un *sa, socklen_t *len)
{
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    const char *name;
    if (strncmp(address, "unix:", 5) == 0) {
        name = address + 5;
        if (strlen(name) >= sizeof sa->sun_path)
            return false;
        strcpy(sa->sun_path, name);
        *len = sizeof *sa;
        return true;
    }
    if (strncmp(address, "unix-abstract:", 14) == 0) {
        name = address + 14;
        size_t n = strlen(name);
        if (n + 1 > sizeof sa->sun_path)
            return false;
        memcpy(sa->sun_path + 1, name, n);
        *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
        return true;
    }
    return false;
}

/*
 * One request on a fresh side-socket connection: hello of kind (arena: its id), the
 * answer's memfd (returned) and size.  With keep, the connection stays open in *keep (the
 * rings' connection lives as long as the session); else it is closed.  -1 + st on error.
 */
static int ask(struct td_shm *s, uint32_t kind, uint64_t arena, int *keep, uint64_t *size, struct td_status *st)
{
    struct sockaddr_un sa;
    socklen_t len;
    int memfd = -1;
    if (!sockaddr_for(s->address, &sa, &len)) {
        td_status_set(st, TD_CODE_INVALID_ARGUMENT, "side socket address %s is not a unix address", s->address);
        return -1;
    }
    int sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (sock < 0 || connect(sock, (struct sockaddr *)&sa, len) != 0) {
        td_status_set(st, TD_CODE_UNAVAILABLE, "cannot connect to %s: %s", s->address, strerror(errno));
        goto out;
    }
    struct td_shm_hello h = {.magic = TD_SHM_HELLO_MAGIC, .version = TD_RING_VERSION, .kind = kind,
                             .session_id = s->session_id, .arena = arena};
    memcpy(h.secret, s->secret, sizeof h.secret);
    if (send(sock, &h, sizeof h, MSG_NOSIGNAL) != (ssize_t)sizeof h) {
        td_status_set(st, TD_CODE_UNAVAILABLE, "cannot send the hello to %s: %s", s->address, strerror(errno));
        goto out;
    }
    struct td_shm_welcome w;
    struct iovec iov = {.iov_base = &w, .iov_len = sizeof w};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
    struct pollfd p = {.fd = sock, .events = POLLIN};
    ssize_t n = -1;
    if (poll(&p, 1, CONNECT_TIMEOUT_MS) == 1)
        n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    for (struct cmsghdr *c = n >= 0 ? CMSG_FIRSTHDR(&m) : NULL; c; c = CMSG_NXTHDR(&m, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int)))
            memcpy(&memfd, CMSG_DATA(c), sizeof memfd);
    if (n != (ssize_t)sizeof w || w.magic != TD_SHM_HELLO_MAGIC) {
        td_status_set(st, TD_CODE_UNAVAILABLE, "no handshake answer from %s", s->address);
    } else if (w.code != 0) {
        w.message[sizeof w.message - 1] = 0;
        td_status_set(st, (enum td_code)w.code, "tensord refused %s: %s",
                      kind == TD_SHM_RINGS ? "the shared-memory transport" : "to share an arena", w.message);
    } else if (memfd < 0) {
        td_status_set(st, TD_CODE_INTERNAL, "malformed handshake answer from %s", s->address);
    } else {
        *size = w.map_bytes;
        if (keep) {
            *keep = sock;
            sock = -1;
        }
        int fd = memfd;
        memfd = -1;
        if (sock >= 0)
            close(sock);
        return fd;
    }
out:
    if (memfd >= 0)
        close(memfd);
    if (sock >= 0)
        close(sock);
    return -1;
}

enum td_code td__shm_map_arena(struct td_shm *s, uint64_t arena, uint8_t **base, size_t *size,
                               struct td_status *st)
{
    for (size_t i = 0; i < s->n_arenas; i++)
        if (s->arenas[i].id == arena) {
            if (!s->arenas[i].base)
                return td_status_set(st, TD_CODE_UNAVAILABLE, "arena %llu is not shared with this process",
                                     (unsigned long long)arena);
            *base = s->arenas[i].base;
            *size = s->arenas[i].size;
            return TD_CODE_OK;
        }
    if (s->n_arenas == s->cap_arenas) {
        size_t cap = s->cap_arenas ? 2 * s->cap_arenas : 16;
        struct mapped_arena *a = realloc(s->arenas, cap * sizeof *a);
        if (!a)
            return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "out of memory");
        s->arenas = a;
        s->cap_arenas = cap;
    }
    struct mapped_arena *a = &s->arenas[s->n_arenas++];
    *a = (struct mapped_arena){.id = arena};
    uint64_t bytes = 0;
    int fd = ask(s, TD_SHM_ARENA, arena, NULL, &bytes, st);
    if (fd < 0)
        return st ? st->code : TD_CODE_UNAVAILABLE;
    void *p = bytes && bytes <= SIZE_MAX ? mmap(NULL, (size_t)bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
                                         : MAP_FAILED;
    close(fd);
    if (p == MAP_FAILED)
        return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "cannot map arena %llu (%llu bytes): %s",
                             (unsigned long long)arena, (unsigned long long)bytes, strerror(errno));
    a->base = p;
    a->size = (size_t)bytes;
    *base = a->base;
    *size = a->size;
    return TD_CODE_OK;
}

struct td_shm *td__shm_open(const char *address, uint64_t session_id, const uint8_t secret[16], struct td_status *st)
{
    struct td_shm *s = calloc(1, sizeof *s);
    if (!s) {
        td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "out of memory");
        return NULL;
    }
    s->sock = -1;
    snprintf(s->address, sizeof s->address, "%s", address);
    s->session_id = session_id;
    memcpy(s->secret, secret, sizeof s->secret);
    uint64_t map_bytes = 0;
    int memfd = ask(s, TD_SHM_RINGS, 0, &s->sock, &map_bytes, st);
    if (memfd < 0)
        goto fail;
    if (map_bytes < TD_RING_HDR_BYTES || map_bytes > (1ull << 32)) {
        td_status_set(st, TD_CODE_INTERNAL, "malformed handshake answer from %s", address);
        goto fail;
    }
    s->map_bytes = (size_t)map_bytes;
    s->map = mmap(NULL, s->map_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    close(memfd);
    memfd = -1;
    if (s->map == MAP_FAILED) {
        s->map = NULL;
        td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "cannot map the rings: %s", strerror(errno));
        goto fail;
    }
    const struct td_ring_hdr *hdr = (const struct td_ring_hdr *)s->map;
    if (!td_ring_geometry_ok(hdr, s->map_bytes)) {
        td_status_set(st, TD_CODE_INTERNAL, "malformed ring header from %s", address);
        goto fail;
    }
    struct td_ring_hdr *wh = (struct td_ring_hdr *)s->map;
    s->sq = (struct td_ring){.ctl = &wh->sq, .data = s->map + hdr->sq_off, .size = hdr->sq_size};
    s->cq = (struct td_ring){.ctl = &wh->cq, .data = s->map + hdr->cq_off, .size = hdr->cq_size};
    return s;
fail:
    if (memfd >= 0)
        close(memfd);
    td__shm_close(s);
    return NULL;
}

static void stash_free_all(struct td_shm *s)
{
    while (s->stash_head) {
        struct stashed *n = s->stash_head;
        s->stash_head = n->next;
        td__conn_reply_fini(&n->r);
        free(n);
    }
    s->stash_tail = NULL;
}

void *td__shm_map(const struct td_shm *s, size_t *bytes)
{
    *bytes = s->map_bytes;
    return s->map;
}

void td__shm_keep_arenas(struct td_shm *s) { s->keep_arenas = true; }

void td__shm_close(struct td_shm *s)
{
    if (!s)
        return;
    stash_free_all(s);
    for (size_t i = 0; i < s->n_arenas && !s->keep_arenas; i++)
        if (s->arenas[i].base)
            munmap(s->arenas[i].base, s->arenas[i].size);
    free(s->arenas);
    if (s->map)
        munmap(s->map, s->map_bytes);
    if (s->sock >= 0)
        close(s->sock);
    free(s);
}

/* Reads exactly n bytes of an answer that has started (the daemon writes it whole). */
static bool daemon_there(void *arg) { return !peer_gone(arg); }

static enum td_code read_exact(struct td_shm *s, void *p, size_t n, struct td_status *st)
{
    return td_ring_read_all(&s->cq, p, n, SPIN_NS, WAIT_MS, daemon_there, s) ? hung_up(s, st) : TD_CODE_OK;
}

/* Reads one whole answer (one is readable). */
static enum td_code read_reply(struct td_shm *s, struct td_conn_reply *reply, struct td_status *st)
{
    struct td_ring_reply h;
    memset(reply, 0, sizeof *reply);
    if (read_exact(s, &h, sizeof h, st))
        return TD_CODE_UNAVAILABLE;
    if (h.message_len >= (1u << 20) || h.n_errors > 4096) {
        s->dead = true;
        return td_status_set(st, TD_CODE_INTERNAL, "malformed answer on the shared-memory transport");
    }
    reply->seq = h.seq;
    reply->code = (enum td_code)h.code;
    reply->executed = h.executed;
    reply->errors_dropped = h.errors_dropped;
    char *msg = malloc(h.message_len + 1);
    reply->payload = h.payload_len ? malloc(h.payload_len) : NULL;
    reply->errors = h.n_errors ? calloc(h.n_errors, sizeof *reply->errors) : NULL;
    if (!msg || (h.payload_len && !reply->payload) || (h.n_errors && !reply->errors)) {
        free(msg);
        td__conn_reply_fini(reply);
        s->dead = true;
        return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "out of memory reading an answer of %llu bytes",
                             (unsigned long long)h.payload_len);
    }
    enum td_code code = read_exact(s, msg, h.message_len, st);
    msg[h.message_len] = 0;
    snprintf(reply->message, sizeof reply->message, "%s", msg);
    free(msg);
    for (uint32_t i = 0; !code && i < h.n_errors; i++) {
        struct td_ring_error e;
        code = read_exact(s, &e, sizeof e, st);
        e.msg[sizeof e.msg - 1] = 0;
        reply->errors[i] = (struct td_conn_error){.record = e.record, .origin = e.origin, .code = (enum td_code)e.code,
                                                  .op = (uint16_t)e.op};
        snprintf(reply->errors[i].msg, sizeof reply->errors[i].msg, "%s", e.msg);
    }
    reply->n_errors = (int)h.n_errors;
    reply->payload_len = h.payload_len;
    if (!code)
        code = read_exact(s, reply->payload, h.payload_len, st);
    td_ring_consume_done(&s->cq);
    if (code)
        td__conn_reply_fini(reply);
    return code;
}

/* While blocked on a full submission ring: keep the daemon going by reading what it
 * answered, for recv to hand out later. */
static enum td_code stash_ready_replies(struct td_shm *s, struct td_status *st)
{
    while (td_ring_readable(&s->cq) != 0) {
        struct stashed *n = calloc(1, sizeof *n);
        if (!n)
            return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "out of memory");
        if (read_reply(s, &n->r, st)) {
            free(n);
            return st ? st->code : TD_CODE_UNAVAILABLE;
        }
        if (s->stash_tail)
            s->stash_tail->next = n;
        else
            s->stash_head = n;
        s->stash_tail = n;
    }
    return TD_CODE_OK;
}

struct send_wait {
    struct td_shm *s;
    struct td_status *st;
    bool failed; /* reading an answer failed: st says why */
};

/* Between waits for room: read the answers that are there (so the daemon is never
 * stuck writing one while we wait for it to read), and give up if it is gone. */
static bool keep_sending(void *arg)
{
    struct send_wait *w = arg;
    if (stash_ready_replies(w->s, w->st)) {
        w->failed = true;
        return false;
    }
    return !peer_gone(w->s);
}

static enum td_code write_all(struct td_shm *s, const void *p, size_t n, struct td_status *st)
{
    struct send_wait w = {s, st, false};
    if (!td_ring_write_all(&s->sq, p, n, SPIN_NS, 1, keep_sending, &w))
        return TD_CODE_OK;
    return w.failed ? TD_CODE_UNAVAILABLE : hung_up(s, st);
}

enum td_code td__shm_send(struct td_shm *s, uint64_t seq, const uint8_t *records, size_t n, const uint8_t *payload,
                          size_t payload_len, uint32_t flags, struct td_status *st)
{
    if (s->dead)
        return hung_up(s, st);
    struct td_ring_msg h = {.flags = flags, .seq = seq, .records_len = records ? n : 0,
                            .payload_len = payload ? payload_len : 0};
    if (write_all(s, &h, sizeof h, st) || write_all(s, records, h.records_len, st) ||
        write_all(s, payload, h.payload_len, st))
        return TD_CODE_UNAVAILABLE;
    td_ring_publish(&s->sq);
    return TD_CODE_OK;
}

enum td_code td__shm_recv(struct td_shm *s, bool block, struct td_conn_reply *reply, bool *got,
                          struct td_status *st)
{
    *got = false;
    if (s->stash_head) {
        struct stashed *n = s->stash_head;
        s->stash_head = n->next;
        if (!s->stash_head)
            s->stash_tail = NULL;
        *reply = n->r;
        free(n);
        *got = true;
        return TD_CODE_OK;
    }
    if (s->dead)
        return hung_up(s, st);
    for (;;) {
        if (td_ring_wait_data(&s->cq, block ? SPIN_NS : 0, block ? WAIT_MS : 0))
            break;
        if (!block)
            return TD_CODE_OK;
        if (peer_gone(s))
            return hung_up(s, st);
    }
    if (read_reply(s, reply, st))
        return st ? st->code : TD_CODE_UNAVAILABLE;
    *got = true;
    return TD_CODE_OK;
}
