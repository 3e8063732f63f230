/*
 * config.c — settings from the config file, the environment and flags; see config.h.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum kind { K_LISTEN, K_THREADS, K_DEVICES, K_LOG_LEVEL, K_SIZE, K_STRING, K_BOOL, K_MODE, K_SECONDS, K_PERCENT };

/* One row per setting: its key (also the flag's name and, upper-cased, TENSORD_<KEY>). */
static const struct key {
    const char *name;
    enum kind kind;
    size_t off; /* of the field in struct td_config */
} keys[] = {
    {"listen", K_LISTEN, 0},
    {"threads", K_THREADS, offsetof(struct td_config, threads)},
    {"log-level", K_LOG_LEVEL, offsetof(struct td_config, log_level)},
    {"max-memory", K_SIZE, offsetof(struct td_config, max_memory)},
    {"session-memory-limit", K_SIZE, offsetof(struct td_config, session_memory_limit)},
    {"session-gpu-memory-limit", K_SIZE, offsetof(struct td_config, session_gpu_memory_limit)},
    {"cache-idle-seconds", K_SECONDS, offsetof(struct td_config, cache_idle_seconds)},
    {"cache-pressure-percent", K_PERCENT, offsetof(struct td_config, cache_pressure_percent)},
    {"share-linger", K_SECONDS, offsetof(struct td_config, share_linger_seconds)},
    {"metrics", K_STRING, offsetof(struct td_config, metrics)},
    {"tls-cert", K_STRING, offsetof(struct td_config, tls_cert)},
    {"tls-key", K_STRING, offsetof(struct td_config, tls_key)},
    {"token-file", K_STRING, offsetof(struct td_config, token_file)},
    {"insecure-tcp", K_BOOL, offsetof(struct td_config, insecure_tcp)},
    {"admin-group", K_STRING, offsetof(struct td_config, admin_group)},
    {"socket-mode", K_MODE, offsetof(struct td_config, socket_mode)},
    {"cuda-plugin", K_STRING, offsetof(struct td_config, cuda_plugin)},
    {"fake-gpus", K_DEVICES, offsetof(struct td_config, fake_gpus)},
    {"fake-gpu-memory", K_SIZE, offsetof(struct td_config, fake_gpu_memory)},
    {"fake-gpu-staged", K_BOOL, offsetof(struct td_config, fake_gpu_staged)},
    {"fake-gpu-half", K_BOOL, offsetof(struct td_config, fake_gpu_half)},
};
#define N_KEYS (sizeof keys / sizeof keys[0])

void td_config_init(struct td_config *c)
{
    memset(c, 0, sizeof *c);
    c->log_level = TD_LOG_INFO;
    c->socket_mode = -1;
    c->cache_idle_seconds = -1;
    c->cache_pressure_percent = -1;
    c->share_linger_seconds = -1;
}

void td_config_fini(struct td_config *c)
{
    for (int i = 0; i < c->n_listen; i++)
        free(c->listen[i]);
    for (size_t k = 0; k < N_KEYS; k++)
        if (keys[k].kind == K_STRING)
            free(*(char **)((char *)c + keys[k].off));
    memset(c, 0, sizeof *c);
}

static const struct key *find_key(const char *name)
{
    for (size_t k = 0; k < N_KEYS; k++)
        if (strcmp(keys[k].name, name) == 0)
            return &keys[k];
    return NULL;
}

bool td_config_known(const char *key) { return find_key(key) != NULL; }

static bool fail(char *err, size_t len, const char *where, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static bool fail(char *err, size_t len, const char *where, const char *fmt, ...)
{
    int n = snprintf(err, len, "%s: ", where);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < len)
        vsnprintf(err + n, len - (size_t)n, fmt, ap);
    va_end(ap);
    return false;
}

/* "8G", "512M", "1048576": bytes; false when not a positive size. */
static bool parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(s, &end, 10);
    int shift = *end == 'K' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : *end == 'T' ? 40 : 0;
    if (errno || end == s || *s == '-' || (shift && end[1]) || (!shift && *end) || !n || n > (~0ull >> shift))
        return false;
    *out = (uint64_t)n << shift;
    return true;
}

bool td_config_set(struct td_config *c, int src, const char *where, const char *key, const char *value, char *err,
                   size_t err_len)
{
    const struct key *k = find_key(key);
    if (!k)
        return fail(err, err_len, where, "unknown key '%s'", key);
    void *field = (char *)c + k->off;
    switch (k->kind) {
    case K_LISTEN:
        if (c->listen_src != src) { /* a later source replaces the list */
            for (int i = 0; i < c->n_listen; i++)
                free(c->listen[i]);
            c->n_listen = 0;
            c->listen_src = src;
        }
        if (!*value)
            return fail(err, err_len, where, "listen wants an address (unix:/path, unix-abstract:name or HOST:PORT)");
        if (c->n_listen == TD_CONFIG_MAX_LISTEN)
            return fail(err, err_len, where, "at most %d listen addresses", TD_CONFIG_MAX_LISTEN);
        if (!(c->listen[c->n_listen] = strdup(value)))
            return fail(err, err_len, where, "out of memory");
        c->n_listen++;
        return true;
    case K_THREADS: {
        char *end;
        errno = 0;
        long n = strtol(value, &end, 10);
        if (errno || end == value || *end || n < 1 || n > 4096)
            return fail(err, err_len, where, "threads wants a number from 1 to 4096, got '%s'", value);
        *(int *)field = (int)n;
        return true;
    }
    case K_DEVICES: {
        char *end;
        errno = 0;
        long n = strtol(value, &end, 10);
        if (errno || end == value || *end || n < 0 || n > 16)
            return fail(err, err_len, where, "%s wants a number from 0 to 16, got '%s'", key, value);
        *(int *)field = (int)n;
        return true;
    }
    case K_LOG_LEVEL:
        if (!td_log_parse_level(value, (enum td_log_level *)field))
            return fail(err, err_len, where, "unknown log level '%s' (debug, info, warn, error)", value);
        return true;
    case K_SIZE:
        if (!parse_size(value, (uint64_t *)field))
            return fail(err, err_len, where, "%s wants a size such as 512M or 8G, got '%s'", key, value);
        return true;
    case K_STRING: {
        char *copy = strdup(value);
        if (!copy)
            return fail(err, err_len, where, "out of memory");
        free(*(char **)field);
        *(char **)field = copy;
        return true;
    }
    case K_SECONDS:
    case K_PERCENT: {
        char *end;
        errno = 0;
        double v = strtod(value, &end);
        if (errno || end == value || *end || !(v >= 0) || v > (k->kind == K_SECONDS ? 1e6 : 100))
            return fail(err, err_len, where,
                        k->kind == K_SECONDS ? "%s wants seconds from 0 to 1000000, got '%s'"
                                             : "%s wants a percentage from 0 to 100, got '%s'",
                        key, value);
        *(double *)field = v;
        return true;
    }
    case K_MODE: {
        char *end;
        errno = 0;
        long m = strtol(value, &end, 8);
        if (errno || end == value || *end || m < 0 || m > 0777)
            return fail(err, err_len, where, "%s wants an octal file mode such as 0660, got '%s'", key, value);
        *(int *)field = (int)m;
        return true;
    }
    case K_BOOL:
        if (!strcmp(value, "yes") || !strcmp(value, "true") || !strcmp(value, "1") || !strcmp(value, "on"))
            *(bool *)field = true;
        else if (!strcmp(value, "no") || !strcmp(value, "false") || !strcmp(value, "0") || !strcmp(value, "off"))
            *(bool *)field = false;
        else
            return fail(err, err_len, where, "%s wants yes or no, got '%s'", key, value);
        return true;
    }
    return fail(err, err_len, where, "internal error: key '%s'", key);
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = 0;
    return s;
}

bool td_config_load(struct td_config *c, const char *path, char *err, size_t err_len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return fail(err, err_len, path, "cannot read the config file: %s", strerror(errno));
    char line[1024], where[600];
    int lineno = 0;
    bool ok = true;
    while (ok && fgets(line, sizeof line, f)) {
        lineno++;
        snprintf(where, sizeof where, "%s:%d", path, lineno);
        size_t n = strlen(line);
        if (n == sizeof line - 1 && line[n - 1] != '\n') {
            ok = fail(err, err_len, where, "line longer than %zu characters", sizeof line - 2);
            break;
        }
        char *hash = strchr(line, '#'); /* no value needs '#': paths, sizes, addresses */
        if (hash)
            *hash = 0;
        char *s = trim(line);
        if (!*s)
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            ok = fail(err, err_len, where, "expected 'key = value', got '%s'", s);
            break;
        }
        *eq = 0;
        char *key = trim(s), *value = trim(eq + 1);
        if (strlen(value) >= 2 && value[0] == '"' && value[strlen(value) - 1] == '"') {
            value[strlen(value) - 1] = 0;
            value++;
        }
        ok = td_config_set(c, TD_SRC_FILE, where, key, value, err, err_len);
    }
    fclose(f);
    return ok;
}

/* "max-memory" -> "TENSORD_MAX_MEMORY" */
static void env_name(const char *key, char *out, size_t len)
{
    size_t n = (size_t)snprintf(out, len, "TENSORD_");
    for (; *key && n + 1 < len; key++)
        out[n++] = *key == '-' ? '_' : (char)toupper((unsigned char)*key);
    out[n] = 0;
}

bool td_config_load_env(struct td_config *c, char *err, size_t err_len)
{
    char name[64];
    for (size_t k = 0; k < N_KEYS; k++) {
        env_name(keys[k].name, name, sizeof name);
        const char *v = getenv(name);
        if (!v || !*v)
            continue;
        if (keys[k].kind != K_LISTEN) {
            if (!td_config_set(c, TD_SRC_ENV, name, keys[k].name, v, err, err_len))
                return false;
            continue;
        }
        char *copy = strdup(v), *save = NULL; /* TENSORD_LISTEN: comma-separated */
        if (!copy)
            return fail(err, err_len, name, "out of memory");
        bool ok = true;
        for (char *a = strtok_r(copy, ",", &save); ok && a; a = strtok_r(NULL, ",", &save))
            ok = td_config_set(c, TD_SRC_ENV, name, "listen", trim(a), err, err_len);
        free(copy);
        if (!ok)
            return false;
    }
    return true;
}

void td_config_print(const struct td_config *c, int fd)
{
    static const char *const levels[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < c->n_listen; i++)
        dprintf(fd, "listen = %s\n", c->listen[i]);
    dprintf(fd, "threads = %d\n", c->threads);
    dprintf(fd, "log-level = %s\n", levels[c->log_level]);
    dprintf(fd, "max-memory = %llu\n", (unsigned long long)c->max_memory);
    if (c->session_memory_limit)
        dprintf(fd, "session-memory-limit = %llu\n", (unsigned long long)c->session_memory_limit);
    if (c->session_gpu_memory_limit)
        dprintf(fd, "session-gpu-memory-limit = %llu\n", (unsigned long long)c->session_gpu_memory_limit);
    if (c->cache_idle_seconds >= 0)
        dprintf(fd, "cache-idle-seconds = %g\n", c->cache_idle_seconds);
    if (c->cache_pressure_percent >= 0)
        dprintf(fd, "cache-pressure-percent = %g\n", c->cache_pressure_percent);
    if (c->share_linger_seconds >= 0)
        dprintf(fd, "share-linger = %g\n", c->share_linger_seconds);
    if (c->socket_mode >= 0)
        dprintf(fd, "socket-mode = %04o\n", (unsigned)c->socket_mode);
    if (c->fake_gpus)
        dprintf(fd, "fake-gpus = %d\nfake-gpu-memory = %llu\n", c->fake_gpus, (unsigned long long)c->fake_gpu_memory);
    for (size_t k = 0; k < N_KEYS; k++) {
        if (keys[k].kind == K_STRING) {
            const char *v = *(char *const *)((const char *)c + keys[k].off);
            if (v)
                dprintf(fd, "%s = %s\n", keys[k].name, v);
        } else if (keys[k].kind == K_BOOL) {
            dprintf(fd, "%s = %s\n", keys[k].name, *(const bool *)((const char *)c + keys[k].off) ? "yes" : "no");
        }
    }
}
