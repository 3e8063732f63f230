/*
 * shape_wire.c — a tensor's layout as bytes, for graph definitions (GRAPH_DEFINE's payload)
 * and saved graphs (td_graph_save): u8 dtype, ndim, device, 5 zero bytes, i64 sizes[ndim],
 * i64 strides[ndim], little endian.  Read as hostile input.
 */
#include <string.h>

#include "checked.h"
#include "device.h"
#include "dtype.h"
#include "meta.h"

size_t td_meta_wire_size(const struct td_meta *m) { return 8 + 16 * (size_t)m->ndim; }

void td_meta_wire_put(const struct td_meta *m, uint8_t *out)
{
    uint8_t head[8] = {m->dtype, m->ndim, m->device, 0, 0, 0, 0, 0};
    memcpy(out, head, 8);
    memcpy(out + 8, m->sizes, (size_t)m->ndim * 8);
    memcpy(out + 8 + (size_t)m->ndim * 8, m->strides, (size_t)m->ndim * 8);
}

size_t td_meta_wire_take(const uint8_t *p, size_t n, struct td_meta *m)
{
    memset(m, 0, sizeof *m);
    if (n < 8 || p[3] | p[4] | p[5] | p[6] | p[7] || p[1] > TD_MAX_DIMS || !td_dtype_valid(p[0]) ||
        p[2] > TD_MAX_DEVICES)
        return 0;
    m->dtype = p[0], m->ndim = p[1], m->device = p[2];
    size_t used = 8 + 16 * (size_t)m->ndim;
    if (n < used)
        return 0;
    memcpy(m->sizes, p + 8, (size_t)m->ndim * 8);
    memcpy(m->strides, p + 8 + (size_t)m->ndim * 8, (size_t)m->ndim * 8);
    int64_t extent = 1; /* elements the strides reach from offset 0 */
    for (int d = 0; d < m->ndim; d++) {
        int64_t reach;
        if (m->sizes[d] < 0 || m->sizes[d] > TD_MAX_NUMEL || m->strides[d] < 0 || m->strides[d] > TD_MAX_NUMEL)
            return 0;
        if (m->sizes[d] == 0)
            extent = 0;
        if (extent && (td_mul_overflow(m->sizes[d] - 1, m->strides[d], &reach) || reach > TD_MAX_NUMEL ||
                       (extent += reach) > TD_MAX_NUMEL))
            return 0;
    }
    m->storage_nbytes = extent * (int64_t)td_dtype_size((enum td_dtype)m->dtype);
    return used;
}
