/*
 * fuzz_daemon.h — the daemon state every session-running fuzz target sets up (header
 * only; each target is one program): a storage limit low enough that sizes from the
 * fuzzer fail fast with RESOURCE_EXHAUSTED instead of spending the run in memset, and
 * two 64 MiB host stand-in GPUs, so device records (placement, staging, transfers,
 * streams, events) get the same hostile input.  fuzz_release gives every cache back
 * after an input, so nothing carries over and LSan sees a clean state.
 */
#ifndef TD_FUZZ_DAEMON_H
#define TD_FUZZ_DAEMON_H

#include <stddef.h>
#include <stdint.h>

#include "../../daemon/alloc.h"
#include "../../daemon/device.h"

#define FUZZ_MEMORY_LIMIT (64u << 20)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    td_alloc_set_limit(FUZZ_MEMORY_LIMIT);
    td_devices_init(&(struct td_devices_config){.fake = 2, .fake_memory = FUZZ_MEMORY_LIMIT});
    return 0;
}

static void fuzz_release(void)
{
    td_alloc_empty_cache();
    for (uint8_t d = 1; d <= td_device_count(); d++)
        td_device_empty_cache(d);
}

#endif
