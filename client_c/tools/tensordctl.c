/*
 * tensordctl — look at and steer a running tensord: status, sessions, top, kill.
 *
 * Why C and not Python over libtensord: it must run where only the daemon is installed
 * (a container's HEALTHCHECK, a rescue shell on a node whose Python is broken), start
 * in milliseconds when a health check runs it every few seconds, and it needs nothing
 * of the tensor API; it speaks the daemon's gRPC API directly (the Stats, ListSessions
 * and KillSession calls of proto/tensord.proto), like any other client.
 *
 * The daemon decides what a caller may do from its unix socket peer credentials:
 * root, the daemon's user and members of the admin group see every session and may kill
 * any; other users see and kill only their own.
 *
 * TCP daemons: TLS with $TENSORD_TLS_CA and the token of $TENSORD_TOKEN or
 * $TENSORD_TOKEN_FILE (proto/td_client_auth.h), as for every client.
 *
 * Exit status: 0 done, 1 the daemon refused or failed the call, 2 usage, 3 no daemon
 * answers (what a health check tests).
 */
#include <errno.h>
#include <getopt.h>
#include <grpc/byte_buffer.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../proto/td_address.h"
#include "../../proto/td_client_auth.h"
#include "../../proto/td_grpc_pb.h"
#include "tensord.pb-c.h"

#define CALL_TIMEOUT_MS 5000
#define SYSTEM_SOCKET "/run/tensord/tensord.sock"

static const char *target;
static bool json;
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* --address, else $TENSORD_ADDRESS, else the system socket when it exists, else the
 * per-user default. */
static void pick_target(const char *opt, char *buf, size_t len)
{
    const char *env = getenv("TENSORD_ADDRESS");
    struct stat sb;
    if (opt && *opt)
        snprintf(buf, len, "%s", opt);
    else if (env && *env)
        snprintf(buf, len, "%s", env);
    else if (stat(SYSTEM_SOCKET, &sb) == 0)
        snprintf(buf, len, "unix:%s", SYSTEM_SOCKET);
    else
        td_default_address(buf, len);
}

/* One unary call; returns the reply's bytes (caller destroys) or NULL with *code and
 * msg set (code GRPC_STATUS_UNAVAILABLE: nobody answers). */
static grpc_byte_buffer *call(const char *method, const ProtobufCMessage *req, grpc_status_code *code, char *msg,
                              size_t msg_len)
{
    grpc_channel_credentials *cc = td_client_creds(target);
    grpc_channel *ch = grpc_channel_create(target, cc, NULL);
    grpc_channel_credentials_release(cc);
    grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
    gpr_timespec deadline =
        gpr_time_add(gpr_now(GPR_CLOCK_REALTIME), gpr_time_from_millis(CALL_TIMEOUT_MS, GPR_TIMESPAN));
    grpc_call *c = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq, grpc_slice_from_static_string(method),
                                            NULL, deadline, NULL);
    grpc_byte_buffer *sbb = td_pack_msg(req), *rbb = NULL;
    grpc_metadata_array imd, tmd;
    grpc_metadata_array_init(&imd);
    grpc_metadata_array_init(&tmd);
    grpc_slice details = grpc_empty_slice();
    *code = GRPC_STATUS_UNKNOWN;
    grpc_op ops[6] = {
        {.op = GRPC_OP_SEND_INITIAL_METADATA},
        {.op = GRPC_OP_SEND_MESSAGE},
        {.op = GRPC_OP_SEND_CLOSE_FROM_CLIENT},
        {.op = GRPC_OP_RECV_INITIAL_METADATA},
        {.op = GRPC_OP_RECV_MESSAGE},
        {.op = GRPC_OP_RECV_STATUS_ON_CLIENT},
    };
    grpc_metadata auth;
    char auth_value[600];
    ops[0].data.send_initial_metadata.count = td_client_auth_md(target, &auth, auth_value, sizeof auth_value);
    ops[0].data.send_initial_metadata.metadata = &auth;
    ops[1].data.send_message.send_message = sbb;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &imd;
    ops[4].data.recv_message.recv_message = &rbb;
    ops[5].data.recv_status_on_client.trailing_metadata = &tmd;
    ops[5].data.recv_status_on_client.status = code;
    ops[5].data.recv_status_on_client.status_details = &details;
    grpc_event ev = {.type = GRPC_QUEUE_TIMEOUT};
    if (grpc_call_start_batch(c, ops, 6, ops, NULL) == GRPC_CALL_OK)
        ev = grpc_completion_queue_pluck(cq, ops, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    if (ev.type != GRPC_OP_COMPLETE || *code == GRPC_STATUS_DEADLINE_EXCEEDED)
        *code = GRPC_STATUS_UNAVAILABLE;
    size_t n = GRPC_SLICE_LENGTH(details);
    if (n >= msg_len)
        n = msg_len - 1;
    memcpy(msg, GRPC_SLICE_START_PTR(details), n);
    msg[n] = 0;
    grpc_slice_unref(details);
    grpc_byte_buffer_destroy(sbb);
    grpc_metadata_array_destroy(&imd);
    grpc_metadata_array_destroy(&tmd);
    grpc_call_unref(c);
    grpc_channel_destroy(ch);
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_pluck(cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type != GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(cq);
    if (*code != GRPC_STATUS_OK && rbb) {
        grpc_byte_buffer_destroy(rbb);
        rbb = NULL;
    }
    return rbb;
}

/* Says why a call failed; returns the exit status. */
static int failed(const char *what, grpc_status_code code, const char *msg)
{
    if (code == GRPC_STATUS_UNAVAILABLE) {
        fprintf(stderr, "tensordctl: no tensord answers at %s\n", target);
        return 3;
    }
    fprintf(stderr, "tensordctl: %s: %s (status %d)\n", what, *msg ? msg : "failed", (int)code);
    return 1;
}

static void *get(const char *method, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *desc, int *rc)
{
    grpc_status_code code;
    char msg[300];
    grpc_byte_buffer *bb = call(method, req, &code, msg, sizeof msg);
    if (!bb) {
        *rc = failed(method + strlen("/tensord.v1.Tensord/"), code, msg);
        return NULL;
    }
    size_t n;
    void *m = td_unpack_msg(desc, bb, &n);
    grpc_byte_buffer_destroy(bb);
    if (!m) {
        fprintf(stderr, "tensordctl: malformed answer from %s\n", target);
        *rc = 1;
    }
    return m;
}

static Tensord__V1__StatsReply *get_stats(int *rc)
{
    Tensord__V1__StatsRequest q = TENSORD__V1__STATS_REQUEST__INIT;
    return get("/tensord.v1.Tensord/Stats", &q.base, &tensord__v1__stats_reply__descriptor, rc);
}

static Tensord__V1__ListSessionsReply *get_sessions(int *rc)
{
    Tensord__V1__ListSessionsRequest q = TENSORD__V1__LIST_SESSIONS_REQUEST__INIT;
    return get("/tensord.v1.Tensord/ListSessions", &q.base, &tensord__v1__list_sessions_reply__descriptor, rc);
}

/* ---- output */

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static const char *human(uint64_t b, char *buf, size_t len)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)b;
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, units[u]);
    return buf;
}

static void print_status(FILE *f, const Tensord__V1__StatsReply *s)
{
    char a[32], b[32], c[32];
    if (json) {
        fprintf(f, "{\"address\": ");
        json_str(f, target);
        fprintf(f, ", \"version\": ");
        json_str(f, s->version);
        fprintf(f, ", \"gpus\": ");
        json_str(f, s->gpus);
        fprintf(f,
                ", \"pid\": %u, \"uptime_s\": %.3f, \"sessions\": %llu, \"sessions_total\": %llu, \"tensors\": %llu, "
                "\"storages\": %llu, \"ops_executed\": %llu, \"errors\": %llu, \"bad_messages\": %llu, \"devices\": [",
                s->pid, (double)s->uptime_ms / 1000, (unsigned long long)s->sessions,
                (unsigned long long)s->sessions_total, (unsigned long long)s->tensors,
                (unsigned long long)s->storages, (unsigned long long)s->ops_executed, (unsigned long long)s->errors,
                (unsigned long long)s->bad_messages);
        for (size_t i = 0; i < s->n_devices; i++) {
            const Tensord__V1__DeviceMemory *d = s->devices[i];
            fprintf(f, "%s{\"name\": ", i ? ", " : "");
            json_str(f, d->name);
            fprintf(f, ", \"allocated\": %llu, \"reserved\": %llu, \"peak\": %llu, \"fragmentation\": %.4f}",
                    (unsigned long long)d->allocated, (unsigned long long)d->reserved, (unsigned long long)d->peak,
                    d->fragmentation);
        }
        fprintf(f, "]}");
        return;
    }
    uint64_t up = s->uptime_ms / 1000;
    fprintf(f, "tensord %s at %s (pid %u), up %llud %02llu:%02llu:%02llu\n", s->version, target, s->pid,
            (unsigned long long)(up / 86400), (unsigned long long)(up / 3600 % 24), (unsigned long long)(up / 60 % 60),
            (unsigned long long)(up % 60));
    fprintf(f, "sessions %llu (since start %llu), tensors %llu, storages %llu\n", (unsigned long long)s->sessions,
            (unsigned long long)s->sessions_total, (unsigned long long)s->tensors, (unsigned long long)s->storages);
    fprintf(f, "ops executed %llu, failed records %llu, rejected messages %llu\n",
            (unsigned long long)s->ops_executed, (unsigned long long)s->errors, (unsigned long long)s->bad_messages);
    fprintf(f, "%s\n", s->gpus);
    fprintf(f, "%-8s %12s %12s %12s %14s\n", "DEVICE", "ALLOCATED", "RESERVED", "PEAK", "FRAGMENTATION");
    for (size_t i = 0; i < s->n_devices; i++) {
        const Tensord__V1__DeviceMemory *d = s->devices[i];
        fprintf(f, "%-8s %12s %12s %12s %13.1f%%\n", d->name, human(d->allocated, a, sizeof a),
                human(d->reserved, b, sizeof b), human(d->peak, c, sizeof c), 100 * d->fragmentation);
    }
}

/* rates: ops/s per session (NULL: the average over the session's life). */
static void print_sessions(FILE *f, const Tensord__V1__ListSessionsReply *l, const double *rates)
{
    char a[32];
    if (json) {
        fprintf(f, "[");
        for (size_t i = 0; i < l->n_sessions; i++) {
            const Tensord__V1__SessionInfo *s = l->sessions[i];
            double rate = rates ? rates[i] : s->age_ms ? (double)s->ops_executed * 1000 / (double)s->age_ms : 0;
            fprintf(f, "%s{\"id\": %llu, \"pid\": %u, \"uid\": %lld, \"gid\": %lld, \"peer\": ", i ? ", " : "",
                    (unsigned long long)s->id, s->pid, s->uid == UINT32_MAX ? -1LL : (long long)s->uid,
                    s->gid == UINT32_MAX ? -1LL : (long long)s->gid);
            json_str(f, s->peer);
            fprintf(f, ", \"client\": ");
            json_str(f, s->client);
            fprintf(f, ", \"cmdline\": ");
            json_str(f, s->cmdline);
            fprintf(f, ", \"transport\": ");
            json_str(f, s->transport);
            fprintf(f,
                    ", \"bytes_in_use\": %llu, \"gpu_bytes_in_use\": %llu, \"ops_executed\": %llu, "
                    "\"ops_per_s\": %.1f, \"age_s\": %.3f}",
                    (unsigned long long)s->bytes_in_use, (unsigned long long)s->gpu_bytes_in_use,
                    (unsigned long long)s->ops_executed, rate, (double)s->age_ms / 1000);
        }
        fprintf(f, "]");
        return;
    }
    fprintf(f, "%6s %8s %6s %-9s %10s %10s %10s %8s  %s\n", "ID", "PID", "UID", "TRANSPORT", "MEMORY", "GPU MEMORY",
            "OPS/S", "AGE", "COMMAND");
    for (size_t i = 0; i < l->n_sessions; i++) {
        const Tensord__V1__SessionInfo *s = l->sessions[i];
        double rate = rates ? rates[i] : s->age_ms ? (double)s->ops_executed * 1000 / (double)s->age_ms : 0;
        char uid[16];
        if (s->uid == UINT32_MAX)
            snprintf(uid, sizeof uid, "-");
        else
            snprintf(uid, sizeof uid, "%u", s->uid);
        char g[32];
        fprintf(f, "%6llu %8u %6s %-9s %10s %10s %10.1f %7llus  %.120s\n", (unsigned long long)s->id, s->pid, uid,
                s->transport, human(s->bytes_in_use, a, sizeof a), human(s->gpu_bytes_in_use, g, sizeof g), rate,
                (unsigned long long)(s->age_ms / 1000), *s->cmdline ? s->cmdline : s->client);
    }
}

/* ---- commands */

static int cmd_status(void)
{
    int rc = 0;
    Tensord__V1__StatsReply *s = get_stats(&rc);
    if (!s)
        return rc;
    print_status(stdout, s);
    if (json)
        printf("\n");
    tensord__v1__stats_reply__free_unpacked(s, NULL);
    return 0;
}

static int cmd_sessions(void)
{
    int rc = 0;
    Tensord__V1__ListSessionsReply *l = get_sessions(&rc);
    if (!l)
        return rc;
    print_sessions(stdout, l, NULL);
    if (json)
        printf("\n");
    tensord__v1__list_sessions_reply__free_unpacked(l, NULL);
    return 0;
}

static int cmd_kill(const char *arg)
{
    char *end;
    errno = 0;
    unsigned long long id = strtoull(arg, &end, 10);
    if (errno || *end || end == arg) {
        fprintf(stderr, "tensordctl: kill wants a session id (tensordctl sessions lists them), got '%s'\n", arg);
        return 2;
    }
    Tensord__V1__KillSessionRequest q = TENSORD__V1__KILL_SESSION_REQUEST__INIT;
    q.id = id;
    int rc = 0;
    Tensord__V1__KillSessionReply *r =
        get("/tensord.v1.Tensord/KillSession", &q.base, &tensord__v1__kill_session_reply__descriptor, &rc);
    if (!r)
        return rc;
    tensord__v1__kill_session_reply__free_unpacked(r, NULL);
    if (json)
        printf("{\"killed\": %llu}\n", id);
    else
        printf("session %llu killed\n", id);
    return 0;
}

static void hex(char out[33], const ProtobufCBinaryData *b)
{
    out[0] = 0;
    for (size_t i = 0; i < b->len && i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", b->data[i]);
}

static int cmd_tokens(void)
{
    int rc = 0;
    Tensord__V1__ListTokensRequest q = TENSORD__V1__LIST_TOKENS_REQUEST__INIT;
    Tensord__V1__ListTokensReply *l =
        get("/tensord.v1.Tensord/ListTokens", &q.base, &tensord__v1__list_tokens_reply__descriptor, &rc);
    if (!l)
        return rc;
    if (!json)
        printf("%-32s  %7s  %-8s  %10s  %s\n", "TOKEN", "SESSION", "KIND", "BYTES", "LINGER");
    else
        printf("[");
    for (size_t i = 0; i < l->n_tokens; i++) {
        const Tensord__V1__TokenInfo *t = l->tokens[i];
        char h[33], buf[32];
        hex(h, &t->token);
        const char *kind = t->grant ? "grant" : t->one_shot ? "one-shot" : "multi";
        if (json) {
            printf("%s{\"token\": \"%s\", \"session\": %llu, \"kind\": \"%s\", \"pinned\": %s, \"bytes\": %llu, "
                   "\"linger_s\": %.1f}",
                   i ? ", " : "", h, (unsigned long long)t->owner, kind, t->pinned ? "true" : "false",
                   (unsigned long long)t->bytes, t->linger_s);
        } else {
            char linger[32] = "-";
            if (t->linger_s >= 0)
                snprintf(linger, sizeof linger, "%.1fs", t->linger_s);
            printf("%-32s  %7llu  %-8s  %10s  %s%s\n", h, (unsigned long long)t->owner, kind,
                   t->grant ? "-" : human(t->bytes, buf, sizeof buf), linger, t->pinned ? " (pinned)" : "");
        }
    }
    if (json)
        printf("]\n");
    tensord__v1__list_tokens_reply__free_unpacked(l, NULL);
    return 0;
}

static int cmd_revoke(const char *arg)
{
    uint8_t tok[16];
    bool ok = strlen(arg) == 32;
    for (int i = 0; ok && i < 16; i++) {
        unsigned v;
        ok = sscanf(arg + 2 * i, "%2x", &v) == 1;
        tok[i] = (uint8_t)v;
    }
    if (!ok) {
        fprintf(stderr, "tensordctl: revoke wants a token: 32 hex digits (tensordctl tokens lists them), got '%s'\n",
                arg);
        return 2;
    }
    Tensord__V1__RevokeTokenRequest q = TENSORD__V1__REVOKE_TOKEN_REQUEST__INIT;
    q.token.data = tok;
    q.token.len = sizeof tok;
    int rc = 0;
    Tensord__V1__RevokeTokenReply *r =
        get("/tensord.v1.Tensord/RevokeToken", &q.base, &tensord__v1__revoke_token_reply__descriptor, &rc);
    if (!r)
        return rc;
    tensord__v1__revoke_token_reply__free_unpacked(r, NULL);
    if (json)
        printf("{\"revoked\": \"%s\"}\n", arg);
    else
        printf("token %s revoked\n", arg);
    return 0;
}

/* A live view: status and sessions every interval, ops/s measured between refreshes.
 * --json prints one object per refresh (a stream of lines) instead of redrawing. */
static int cmd_top(double interval, int iterations)
{
    struct {
        uint64_t id, ops;
    } prev[1024];
    size_t n_prev = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int it = 0; !stop && (iterations <= 0 || it < iterations); it++) {
        int rc = 0;
        Tensord__V1__StatsReply *s = get_stats(&rc);
        if (!s)
            return rc;
        Tensord__V1__ListSessionsReply *l = get_sessions(&rc);
        if (!l) {
            tensord__v1__stats_reply__free_unpacked(s, NULL);
            return rc;
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double dt = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        t0 = t1;
        double *rates = calloc(l->n_sessions + 1, sizeof *rates);
        for (size_t i = 0; rates && i < l->n_sessions; i++) {
            const Tensord__V1__SessionInfo *x = l->sessions[i];
            rates[i] = x->age_ms ? (double)x->ops_executed * 1000 / (double)x->age_ms : 0;
            for (size_t k = 0; it > 0 && k < n_prev; k++)
                if (prev[k].id == x->id && dt > 0)
                    rates[i] = (double)(x->ops_executed - prev[k].ops) / dt;
        }
        n_prev = 0;
        for (size_t i = 0; i < l->n_sessions && n_prev < 1024; i++, n_prev++) {
            prev[n_prev].id = l->sessions[i]->id;
            prev[n_prev].ops = l->sessions[i]->ops_executed;
        }
        if (json) {
            printf("{\"status\": ");
            print_status(stdout, s);
            printf(", \"sessions\": ");
            print_sessions(stdout, l, rates);
            printf("}\n");
        } else {
            if (isatty(STDOUT_FILENO))
                printf("\033[H\033[2J");
            print_status(stdout, s);
            printf("\n");
            print_sessions(stdout, l, rates);
        }
        fflush(stdout);
        free(rates);
        tensord__v1__stats_reply__free_unpacked(s, NULL);
        tensord__v1__list_sessions_reply__free_unpacked(l, NULL);
        if (iterations > 0 && it + 1 >= iterations)
            break;
        struct timespec d = {.tv_sec = (time_t)interval, .tv_nsec = (long)((interval - (double)(time_t)interval) * 1e9)};
        while (!stop && nanosleep(&d, &d) != 0 && errno == EINTR)
            ;
    }
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: tensordctl [--address ADDRESS] [--json] COMMAND\n"
               "  status             version, uptime, sessions, devices and their memory\n"
               "  sessions           live sessions: id, pid, uid, transport, memory, ops/s, command\n"
               "  top [-d SECONDS] [-n COUNT]\n"
               "                     status and sessions, refreshed (ops/s between refreshes)\n"
               "  kill SESSION       end a session (its tensors are freed; its client gets an error)\n"
               "  tokens             live share tokens: token, owning session, kind, bytes, linger\n"
               "  revoke TOKEN       drop a share token (opening it fails from then on)\n"
               "options:\n"
               "  --address ADDRESS  the daemon (default $TENSORD_ADDRESS, else\n"
               "                     unix:" SYSTEM_SOCKET " when it exists, else the per-user socket)\n"
               "  --json             machine-readable output (top: one object per line)\n"
               "exit status: 0 ok, 1 refused or failed, 2 usage, 3 no daemon answers\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"address", required_argument, NULL, 'a'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *addr = NULL;
    double interval = 2;
    int iterations = 0, ch, kept = 1;
    for (int i = 1; i < argc; i++) { /* --json anywhere, before or after the command */
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else
            argv[kept++] = argv[i];
    }
    argc = kept;
    /* "+": options stop at the command, whose own options (-d, -n) follow it */
    while ((ch = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'a':
            addr = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[optind++];
    if (strcmp(cmd, "top") == 0) {
        while ((ch = getopt(argc, argv, "d:n:")) != -1) {
            if (ch == 'd')
                interval = atof(optarg);
            else if (ch == 'n')
                iterations = atoi(optarg);
            else {
                usage(stderr);
                return 2;
            }
        }
        if (interval < 0.1)
            interval = 0.1;
    }
    char buf[600];
    pick_target(addr, buf, sizeof buf);
    target = buf;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    grpc_init();
    int rc;
    if (strcmp(cmd, "status") == 0)
        rc = cmd_status();
    else if (strcmp(cmd, "sessions") == 0)
        rc = cmd_sessions();
    else if (strcmp(cmd, "top") == 0)
        rc = cmd_top(interval, iterations);
    else if (strcmp(cmd, "tokens") == 0)
        rc = cmd_tokens();
    else if (strcmp(cmd, "revoke") == 0) {
        const char *tok = optind < argc ? argv[optind] : NULL;
        if (!tok) {
            fprintf(stderr, "tensordctl: revoke wants a token\n");
            rc = 2;
        } else
            rc = cmd_revoke(tok);
    } else if (strcmp(cmd, "kill") == 0) {
        const char *id = optind < argc ? argv[optind] : NULL;
        if (!id) {
            fprintf(stderr, "tensordctl: kill wants a session id\n");
            rc = 2;
        } else
            rc = cmd_kill(id);
    } else {
        fprintf(stderr, "tensordctl: unknown command '%s'\n", cmd);
        usage(stderr);
        rc = 2;
    }
    grpc_shutdown();
    return rc;
}
