/*
 * fuzz_daemon.h — the daemon state every session-running fuzz target sets up (header
 * only; each target is one program): a storage limit low enough that sizes from the
 * fuzzer fail fast with RESOURCE_EXHAUSTED instead of spending the run in memset, and
 * two 64 MiB host stand-in GPUs, so device records (placement, staging, transfers,
 * streams, events) get the same hostile input.  fuzz_release gives every cache back
 * after an input, so nothing carries over and LSan sees a clean state.
 *
 * Sessions come from fuzz_session_new: a watchdog raises their cancellation flag once an
 * input has run FUZZ_CANCEL_MS, as the daemon does when a client goes away.  Small
 * records can ask for hours of legitimate work (a pooling window as large as its input,
 * which torch would grind through too); what the fuzzer checks there is that the work
 * stops at the flag, within a chunk, rather than running into libFuzzer's timeout.
 */
#ifndef TD_FUZZ_DAEMON_H
#define TD_FUZZ_DAEMON_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../../daemon/alloc.h"
#include "../../daemon/device.h"
#include "../../daemon/session.h"

#define FUZZ_MEMORY_LIMIT (64u << 20)
#define FUZZ_CANCEL_MS 2000

static atomic_bool fuzz_cancel;
static _Atomic uint64_t fuzz_started_ms; /* 0: no input running */

static uint64_t fuzz_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 + 1;
}

static void *fuzz_watchdog(void *arg)
{
    (void)arg;
    for (;;) {
        nanosleep(&(struct timespec){0, 50 * 1000000}, NULL);
        uint64_t t = atomic_load(&fuzz_started_ms);
        if (t && fuzz_now_ms() - t > FUZZ_CANCEL_MS)
            atomic_store(&fuzz_cancel, true);
    }
    return NULL;
}

/* A fresh session for one input, cancelled by the watchdog if the input runs too long. */
static struct td_session *fuzz_session_new(void)
{
    struct td_session *s = td_session_new(1, "fuzz");
    if (s) {
        atomic_store(&fuzz_cancel, false);
        td_session_set_cancel(s, &fuzz_cancel);
        atomic_store(&fuzz_started_ms, fuzz_now_ms());
    }
    return s;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    td_alloc_set_limit(FUZZ_MEMORY_LIMIT);
    td_devices_init(&(struct td_devices_config){.fake = 2, .fake_memory = FUZZ_MEMORY_LIMIT});
    pthread_t t;
    if (pthread_create(&t, NULL, fuzz_watchdog, NULL) == 0)
        pthread_detach(t);
    return 0;
}

static void fuzz_release(void)
{
    atomic_store(&fuzz_started_ms, 0);
    td_alloc_empty_cache();
    for (uint8_t d = 1; d <= td_device_count(); d++)
        td_device_empty_cache(d);
}

#endif
