/*
 * fuzz_messages.c — libFuzzer target over the protobuf decoding and checking the daemon
 * does for what arrives on a gRPC call (daemon/client_msg.c, the same functions rpc.c
 * calls), then the session's execution of what passed, without a network.
 *
 * Input layout: frames of [2-byte little-endian length][that many bytes] (the length
 * clamped to what is left), at most MAX_FRAMES.  Each frame is one Session-stream message:
 * decoded as a tensord.v1.ClientMsg, checked against the stream's state (attached or
 * not) as rpc.c does, and then, like the daemon's worker, an attach opens a session and
 * work runs there (td_session_exec, sync when the message asks for it).  A frame that
 * does not decode or fails the check ends the stream, as a protocol error does.  Every
 * frame is also decoded as the admin requests (KillSessionRequest, RevokeTokenRequest).
 * Invariant checked: a decoded ClientMsg packs back into bytes that decode to the same
 * fields.  Any sanitizer report, abort or leak is a finding.  Not part of the daemon.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_daemon.h"
#include "../../daemon/client_msg.h"
#include "../../daemon/session.h"

#define MAX_FRAMES 16

static void bytes_same(ProtobufCBinaryData a, ProtobufCBinaryData b)
{
    if (a.len != b.len || (a.len && memcmp(a.data, b.data, a.len)))
        abort();
}

/* pack(m) decodes to m again */
static void check_roundtrip(const Tensord__V1__ClientMsg *m)
{
    size_t n = tensord__v1__client_msg__get_packed_size(m);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return;
    if (tensord__v1__client_msg__pack(m, buf) != n)
        abort();
    Tensord__V1__ClientMsg *b = td_client_msg_decode(buf, n);
    if (!b || b->seq != m->seq || b->sync != m->sync || b->detach != m->detach || !b->attach != !m->attach)
        abort();
    bytes_same(m->records, b->records);
    bytes_same(m->payload, b->payload);
    if (m->attach && (m->attach->wire_version != b->attach->wire_version || m->attach->pid != b->attach->pid ||
                      strcmp(m->attach->client, b->attach->client)))
        abort();
    tensord__v1__client_msg__free_unpacked(b, NULL);
    free(buf);
}

static void admin_requests(const uint8_t *p, size_t n)
{
    Tensord__V1__KillSessionRequest *k = td_kill_request_decode(p, n);
    if (k)
        tensord__v1__kill_session_request__free_unpacked(k, NULL);
    Tensord__V1__RevokeTokenRequest *r = td_revoke_request_decode(p, n);
    if (r) {
        struct td_token t;
        struct td_status st = TD_STATUS_INIT;
        if (td_revoke_request_token(r, &t, &st) == TD_CODE_OK ? r->token.len != sizeof t.w : !st.msg[0])
            abort();
        tensord__v1__revoke_token_request__free_unpacked(r, NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct td_session *s = NULL;
    bool attached = false;
    for (int f = 0; f < MAX_FRAMES && size >= 2; f++) {
        size_t n = (size_t)data[0] | (size_t)data[1] << 8;
        data += 2, size -= 2;
        if (n > size)
            n = size;
        const uint8_t *p = data;
        data += n, size -= n;
        admin_requests(p, n);
        Tensord__V1__ClientMsg *m = td_client_msg_decode(p, n);
        if (!m)
            break; /* "malformed ClientMsg": the stream ends */
        check_roundtrip(m);
        struct td_client_msg_use use;
        struct td_status st = TD_STATUS_INIT;
        bool go_on = td_client_msg_check(m, attached, &use, &st) == TD_CODE_OK;
        if (!go_on && !st.msg[0])
            abort(); /* a refusal always says why */
        if (go_on && use.attach) {
            s = fuzz_session_new();
            attached = s != NULL;
            go_on = attached;
        }
        if (go_on && use.work) {
            struct td_reply r;
            td_reply_init(&r);
            td_session_exec(s, m->records.data, m->records.len, m->payload.data, m->payload.len,
                            m->sync || m->detach, &r);
            td_reply_fini(&r);
        }
        tensord__v1__client_msg__free_unpacked(m, NULL);
        if (!go_on || use.last)
            break;
    }
    td_session_free(s);
    fuzz_release();
    return 0;
}
