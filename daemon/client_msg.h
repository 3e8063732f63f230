/*
 * client_msg.h — decoding and checking the messages clients send (proto/tensord.proto),
 * apart from gRPC: rpc.c hands these functions the bytes it received, and the fuzz
 * target tests/fuzz/fuzz_messages.c hands them arbitrary bytes, so both run the same
 * decode and the same checks.  Nothing here touches a session or the network.
 */
#ifndef TD_CLIENT_MSG_H
#define TD_CLIENT_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../kernels/status.h"
#include "share.h"
#include "tensord.pb-c.h"

/* The ClientMsg in data[0..len); NULL when the bytes are not one.  Free it with
 * tensord__v1__client_msg__free_unpacked. */
Tensord__V1__ClientMsg *td_client_msg_decode(const uint8_t *data, size_t len);

/* What a checked message asks of its Session stream. */
struct td_client_msg_use {
    bool attach; /* open the session (the first message) */
    bool work;   /* records, payload, a sync or a detach for the session's worker */
    bool last;   /* detach: read nothing after it */
};

/* Checks m as the next message of a stream that has (attached) or has not yet attached.
 * INVALID_ARGUMENT: the first message lacks attach, or a later one carries it;
 * FAILED_PRECONDITION: the client speaks another wire version.  st gets the message the
 * client is sent (codes are gRPC's).  The records themselves are checked as they run
 * (session.c). */
enum td_code td_client_msg_check(const Tensord__V1__ClientMsg *m, bool attached, struct td_client_msg_use *use,
                                 struct td_status *st);

/* The admin requests with arguments; NULL when the bytes are not one. */
Tensord__V1__KillSessionRequest *td_kill_request_decode(const uint8_t *data, size_t len);
Tensord__V1__RevokeTokenRequest *td_revoke_request_decode(const uint8_t *data, size_t len);
/* The token a RevokeTokenRequest names; INVALID_ARGUMENT when it is not 16 bytes. */
enum td_code td_revoke_request_token(const Tensord__V1__RevokeTokenRequest *q, struct td_token *t,
                                     struct td_status *st);

#endif
