/*
 * client_msg.c — see client_msg.h.
 */
#include "client_msg.h"

#include <string.h>

#include "../proto/td_record.h"

#ifndef TD_VERSION
#define TD_VERSION "unknown"
#endif

/* protobuf-c keeps a field numbered 0 as an unknown field although no encoder can write
 * one (numbers start at 1): such a message is malformed, not something to ignore */
static bool unknowns_valid(const ProtobufCMessage *m)
{
    for (unsigned i = 0; m && i < m->n_unknown_fields; i++)
        if (m->unknown_fields[i].tag == 0)
            return false;
    return true;
}

Tensord__V1__ClientMsg *td_client_msg_decode(const uint8_t *data, size_t len)
{
    Tensord__V1__ClientMsg *m = tensord__v1__client_msg__unpack(NULL, len, data);
    if (m && (!unknowns_valid(&m->base) || !unknowns_valid(m->attach ? &m->attach->base : NULL))) {
        tensord__v1__client_msg__free_unpacked(m, NULL);
        return NULL;
    }
    return m;
}

enum td_code td_client_msg_check(const Tensord__V1__ClientMsg *m, bool attached, struct td_client_msg_use *use,
                                 struct td_status *st)
{
    *use = (struct td_client_msg_use){0};
    if (!attached) {
        if (!m->attach)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                                 "the first message of a Session stream must carry attach");
        if (m->attach->wire_version != TD_WIRE_VERSION)
            return td_status_set(st, TD_CODE_FAILED_PRECONDITION,
                                 "client speaks tensord wire version %u, this daemon (%s) speaks %d",
                                 m->attach->wire_version, TD_VERSION, TD_WIRE_VERSION);
        use->attach = true;
    } else if (m->attach) {
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "attach sent twice on one Session stream");
    }
    /* An attach may carry work too; otherwise it is done with. */
    use->work = m->records.len || m->payload.len || m->sync || m->detach;
    use->last = m->detach;
    return TD_CODE_OK;
}

Tensord__V1__KillSessionRequest *td_kill_request_decode(const uint8_t *data, size_t len)
{
    return tensord__v1__kill_session_request__unpack(NULL, len, data);
}

Tensord__V1__RevokeTokenRequest *td_revoke_request_decode(const uint8_t *data, size_t len)
{
    return tensord__v1__revoke_token_request__unpack(NULL, len, data);
}

enum td_code td_revoke_request_token(const Tensord__V1__RevokeTokenRequest *q, struct td_token *t,
                                     struct td_status *st)
{
    if (q->token.len != sizeof t->w)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "a token is %zu bytes, not %zu", sizeof t->w,
                             q->token.len);
    memcpy(t->w, q->token.data, sizeof t->w);
    return TD_CODE_OK;
}
