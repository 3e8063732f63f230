/*
 * fuzz_records.c — libFuzzer target over the record decoder, the meta layer and the CPU
 * executor: the bytes of one input become one client message (records + payload) run
 * by a fresh session, exactly as the daemon runs what arrives over gRPC.
 *
 * Input layout (chosen so seeds are easy to write by hand, see make_corpus.py):
 *   byte 0..1   payload length P (little endian, clamped to what is left)
 *   next P      the message's payload (UPLOAD sources)
 *   the rest    the record stream (proto/td_record.h), executed with sync=1 and then,
 *               to exercise the sticky error and state across messages, once more
 * Built with clang -fsanitize=fuzzer,address,undefined against the daemon's objects
 * (make fuzz); any sanitizer report, abort or leak is a finding.  The storage limit is
 * lowered so that size attributes from the fuzzer fail fast with RESOURCE_EXHAUSTED
 * instead of spending the run in memset.  Two host stand-in GPUs of 64 MiB are served
 * too, so SET_DEVICE records send the executor's device paths (device kernels, host
 * staging, transfers, streams and events) the same hostile input.  Not part of the daemon.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_daemon.h"
#include "../../daemon/session.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t plen = (size_t)data[0] | (size_t)data[1] << 8;
    data += 2, size -= 2;
    if (plen > size)
        plen = size;
    const uint8_t *payload = plen ? data : NULL;
    const uint8_t *rec = data + plen;
    size_t rlen = size - plen;

    struct td_session *s = fuzz_session_new();
    if (!s)
        return 0;
    for (int round = 0; round < 2; round++) {
        struct td_reply r;
        td_reply_init(&r);
        td_session_exec(s, rec, rlen, payload, plen, 1, &r);
        td_reply_fini(&r);
    }
    td_session_free(s);
    fuzz_release();
    return 0;
}
