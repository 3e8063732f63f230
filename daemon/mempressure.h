/*
 * mempressure.h — how much memory the daemon may still get: the machine's (MemAvailable
 * of MemTotal in /proc/meminfo) and its cgroup's (memory.max less what memory.current
 * holds that the kernel cannot reclaim at once, along the cgroup v2 path up to the root),
 * whichever is tighter.  The allocator's housekeeping gives cached free blocks back at
 * once when the room falls below a set fraction (daemon/alloc.c, --cache-pressure-percent).
 */
#ifndef TD_MEMPRESSURE_H
#define TD_MEMPRESSURE_H

#include <stdbool.h>
#include <stdint.h>

struct td_mem_room {
    uint64_t avail, total; /* bytes still to be had, of a total */
    bool cgroup;           /* the tighter one is a cgroup limit, not the machine */
};

/* The tighter room of the machine and the cgroups, read under proc_root ("/proc") and
 * cgroup_root ("/sys/fs/cgroup"); false when neither could be read. */
bool td_mem_room(const char *proc_root, const char *cgroup_root, struct td_mem_room *out);

#endif
