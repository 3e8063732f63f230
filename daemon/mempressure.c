/*
 * mempressure.c — the memory room left to the daemon; see mempressure.h.
 *
 * The machine: MemAvailable (the kernel's estimate of what can be had without swapping,
 * reclaimable caches included) of MemTotal.  A cgroup v2 limit: memory.max less
 * memory.current, giving back the cgroup's inactive file pages (memory.stat), which the
 * kernel drops first, so that a container whose page cache fills its limit is not read as
 * short of memory.  Every ancestor's limit applies too; the tightest fraction wins.  Files
 * that are missing or unreadable (no cgroup v2, no limit, a sandbox) are skipped.
 */
#include "mempressure.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Up to cap - 1 bytes of a small file, NUL-terminated; false when it cannot be read. */
static bool read_small(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    size_t n = fread(buf, 1, cap - 1, f);
    bool ok = !ferror(f);
    fclose(f);
    buf[n] = 0;
    return ok && n > 0;
}

/* The number after `key` at the start of a line of text ("Key:" or "key "), or false. */
static bool line_value(const char *text, const char *key, unsigned long long *out)
{
    size_t n = strlen(key);
    for (const char *p = text; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, key, n) == 0) {
            char *end;
            unsigned long long v = strtoull(p + n, &end, 10);
            if (end == p + n)
                return false;
            *out = v;
            return true;
        }
    }
    return false;
}

static bool machine_room(const char *proc_root, struct td_mem_room *r)
{
    char path[512], buf[8192];
    unsigned long long total, avail;
    snprintf(path, sizeof path, "%s/meminfo", proc_root);
    if (!read_small(path, buf, sizeof buf) || !line_value(buf, "MemTotal:", &total) ||
        !line_value(buf, "MemAvailable:", &avail) || !total)
        return false;
    r->total = (uint64_t)total * 1024; /* kB */
    r->avail = avail < total ? (uint64_t)avail * 1024 : r->total;
    r->cgroup = false;
    return true;
}

/* One cgroup directory's limit, if it has one. */
static bool cgroup_dir_room(const char *dir, struct td_mem_room *r)
{
    char path[4200], buf[8192];
    unsigned long long limit, current, inactive = 0;
    snprintf(path, sizeof path, "%s/memory.max", dir);
    if (!read_small(path, buf, sizeof buf) || !line_value(buf, "", &limit) || !limit)
        return false; /* "max": no limit here */
    snprintf(path, sizeof path, "%s/memory.current", dir);
    if (!read_small(path, buf, sizeof buf) || !line_value(buf, "", &current))
        return false;
    snprintf(path, sizeof path, "%s/memory.stat", dir);
    if (read_small(path, buf, sizeof buf))
        line_value(buf, "inactive_file ", &inactive);
    uint64_t used = current > inactive ? current - inactive : 0;
    r->total = limit;
    r->avail = limit > used ? limit - used : 0;
    r->cgroup = true;
    return true;
}

static double fraction(const struct td_mem_room *r) { return (double)r->avail / (double)r->total; }

/* The tightest limit on the daemon's cgroup v2 path ("0::/a/b" in /proc/self/cgroup). */
static bool cgroup_room(const char *proc_root, const char *cgroup_root, struct td_mem_room *r)
{
    char path[512], buf[4096], dir[4096];
    snprintf(path, sizeof path, "%s/self/cgroup", proc_root);
    if (!read_small(path, buf, sizeof buf))
        return false;
    const char *line = strstr(buf, "0::/");
    if (!line || (line != buf && line[-1] != '\n'))
        return false;
    line += 3;
    size_t len = strcspn(line, "\n"), root = strlen(cgroup_root);
    if (root + len >= sizeof dir)
        return false;
    memcpy(dir, cgroup_root, root);
    memcpy(dir + root, line, len);
    dir[root + len] = 0;
    bool found = false;
    for (;;) {
        struct td_mem_room here;
        if (cgroup_dir_room(dir, &here) && (!found || fraction(&here) < fraction(r))) {
            *r = here;
            found = true;
        }
        char *slash = strrchr(dir + root, '/');
        if (!slash || slash == dir + root)
            return found; /* the root cgroup has no limit of its own */
        *slash = 0;
    }
}

bool td_mem_room(const char *proc_root, const char *cgroup_root, struct td_mem_room *out)
{
    struct td_mem_room m, g;
    bool have_m = machine_room(proc_root, &m), have_g = cgroup_room(proc_root, cgroup_root, &g);
    if (!have_m && !have_g)
        return false;
    *out = have_m && (!have_g || fraction(&m) <= fraction(&g)) ? m : g;
    return true;
}
