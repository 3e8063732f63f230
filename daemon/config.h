/*
 * config.h — the daemon's settings and where they come from: a config file
 * (--config PATH or $TENSORD_CONFIG; deploy/tensord.conf documents every key), then
 * TENSORD_* environment variables, then command-line flags, each overriding the one
 * before.  Every flag except --config, --parent-pid, --help and --version has a key of
 * the same name in the file and an environment variable TENSORD_<KEY> (upper case, '-'
 * -> '_'): one table (config.c) drives all three, so they cannot drift.
 *
 * A repeatable key (listen) accumulates within one source; a later source that sets
 * it replaces the whole list.  Errors name where the bad value came from
 * ("/etc/tensord/tensord.conf:7: ...", "TENSORD_THREADS: ...", "--threads: ...").
 */
#ifndef TD_CONFIG_H
#define TD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define TD_CONFIG_MAX_LISTEN 16

struct td_config {
    char *listen[TD_CONFIG_MAX_LISTEN];
    int n_listen;
    int listen_src; /* which source set the list (a new source replaces it) */
    int threads;    /* 0: online CPUs */
    enum td_log_level log_level;
    uint64_t max_memory;  /* 0: physical memory */
    uint64_t session_memory_limit; /* per session; 0: none */
    uint64_t session_gpu_memory_limit; /* per session and device; 0: none */
    double cache_idle_seconds;     /* < 0: the allocator's default */
    double cache_pressure_percent; /* < 0: the allocator's default */
    double share_linger_seconds;   /* pinned sharing tokens outlive their owner; < 0: default */
    char *metrics;        /* HOST:PORT of the Prometheus endpoint; NULL: off */
    char *tls_cert;       /* PEM server certificate chain for TCP listeners */
    char *tls_key;        /* its PEM private key */
    char *token_file;     /* bearer token TCP clients must present */
    bool insecure_tcp;    /* allow TCP without TLS (loopback addresses only) */
    char *admin_group;    /* group whose members may use admin calls (root always may) */
    int socket_mode;      /* mode of unix sockets the daemon binds; -1: from the umask */
    bool no_shm;          /* no side socket (TENSORD_NO_SHM) */
    char *cuda_plugin;    /* the CUDA plugin to load; NULL: beside the daemon */
    int fake_gpus;        /* host stand-in devices instead of the plugin (tests, demos) */
    uint64_t fake_gpu_memory; /* bytes per stand-in device; 0: 1 GiB */
    bool fake_gpu_staged; /* the stand-ins offer no kernels: every op is staged through the host */
    bool fake_gpu_half;   /* the stand-ins offer native float16/bfloat16 kernels (device.h half_kernel) */
};

enum td_config_src { TD_SRC_DEFAULT, TD_SRC_FILE, TD_SRC_ENV, TD_SRC_FLAG };

void td_config_init(struct td_config *c);
void td_config_fini(struct td_config *c);

/* Sets one key from source src; where names the place for messages ("file:line",
 * "--threads", "TENSORD_THREADS").  False with err filled ("WHERE: why"). */
bool td_config_set(struct td_config *c, int src, const char *where, const char *key, const char *value, char *err,
                   size_t err_len);

/* Reads "key = value" lines ('#' comments, blank lines ok).  False with err naming
 * path:line on the first bad line, or the path when it cannot be read. */
bool td_config_load(struct td_config *c, const char *path, char *err, size_t err_len);

/* Applies every TENSORD_<KEY> variable that is set and not empty. */
bool td_config_load_env(struct td_config *c, char *err, size_t err_len);

/* Whether key names a setting (for the flag parser). */
bool td_config_known(const char *key);

/* Writes the effective settings, one "key = value" per line (--print-config). */
void td_config_print(const struct td_config *c, int fd);

#endif
