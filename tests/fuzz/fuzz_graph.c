/*
 * fuzz_graph.c — libFuzzer target over libtensord's reader of saved graphs
 * (td__graph_decode, client_c/graph.c; what td_graph_load reads from a file): any bytes
 * are refused or read, and a graph read is written back byte for byte (td__graph_encode),
 * so the reader accepts exactly the writer's format.  Seeds: tests/fuzz/corpus_graph
 * (make_graph_corpus.py).  Not part of libtensord.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../client_c/graph.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct td__graph_file f;
    struct td_status st = TD_STATUS_INIT;
    if (td__graph_decode(data, size, &f, &st))
        return 0;
    uint8_t *bytes = NULL;
    size_t len = 0;
    if (!td__graph_encode(&f, &bytes, &len, &st)) {
        if (len != size || memcmp(bytes, data, size))
            __builtin_trap(); /* read, but not what the writer would write */
        free(bytes);
    }
    td__graph_file_fini(&f);
    return 0;
}
