/*
 * parallel.c — the intra-op thread pool behind td_parallel_for.
 *
 * A fixed set of nthreads-1 workers sleeps on a condition variable; the calling
 * thread publishes one job (fn, ctx, n, chunk), wakes them and works on it too.
 * Chunks are handed out through an atomic counter, so a slow thread delays nobody; and
 * once the caller has run out of chunks it closes the job, so a worker that has not yet
 * woken (on a loaded machine it may wait for a core longer than the job lasts) skips it
 * instead of being waited for.
 *
 * Several session threads may call td_parallel_for at once: the pool runs one job at
 * a time, and a caller that finds it busy (trylock fails) runs its job serially
 * instead of waiting.  The same rule makes nested calls (fn itself calling
 * td_parallel_for, from a worker or from the dispatching thread) run serially, so
 * nothing here can deadlock.  Before td_parallel_init (or with 1 thread) every call is
 * serial.
 *
 * Cancellation: a session thread may name a flag (td_parallel_set_cancel); jobs check
 * it before each chunk, and a serial job is cut into chunks while a flag is named, so
 * work of an ended session stops within one chunk.
 *
 * A session's torch.set_num_threads arrives as a thread-local limit set by the thread
 * that executes its records (td_parallel_set_limit): a job then takes only limit-1
 * helpers; the other workers wake, find no seat and go back to sleep.  OpenBLAS is
 * made single-threaded here, once: its thread count is process-wide, so it could not
 * follow one session's limit; GEMM is split over this pool instead (matmul.c).
 */
#include <cblas.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "../kernel.h"

struct pool {
    pthread_mutex_t lock; /* guards gen, stop, open, seats, busy_workers */
    pthread_cond_t wake;  /* workers wait here for a new generation */
    pthread_cond_t done;  /* the dispatcher waits here for busy_workers == 0 */
    pthread_t *threads;
    int nworkers;
    uint64_t gen;
    int stop;
    int busy_workers; /* workers that took a seat in the current job and are in it */
    bool open;        /* the current job still takes helpers */
    /* the current job: written by the dispatcher before gen is bumped */
    td_range_fn fn;
    void *ctx;
    int64_t n, chunk;
    int64_t next; /* atomic: next unclaimed chunk start */
    const atomic_bool *cancel;
    int helpers;  /* workers that may take chunks (the caller's limit - 1) */
    int seats;    /* workers that have claimed one of them */
};

static struct pool pool = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .wake = PTHREAD_COND_INITIALIZER,
    .done = PTHREAD_COND_INITIALIZER,
};
/* held by the one caller whose job owns the pool */
static pthread_mutex_t dispatch = PTHREAD_MUTEX_INITIALIZER;
/* this thread's intra-op thread limit (0: the whole pool) */
static _Thread_local int limit;

void td_parallel_set_limit(int nthreads) { limit = nthreads > 0 ? nthreads : 0; }

int td_parallel_get_limit(void) { return limit; }

int td_parallel_threads(void)
{
    int nt = pool.nworkers + 1;
    return limit && limit < nt ? limit : nt;
}

static _Thread_local const atomic_bool *my_cancel;

void td_parallel_set_cancel(const atomic_bool *flag) { my_cancel = flag; }

static bool is_cancelled(const atomic_bool *flag)
{
    return flag && atomic_load_explicit(flag, memory_order_relaxed);
}

static void run_chunks(void)
{
    for (;;) {
        if (is_cancelled(pool.cancel))
            return;
        int64_t b = __atomic_fetch_add(&pool.next, pool.chunk, __ATOMIC_RELAXED);
        if (b >= pool.n)
            return;
        int64_t e = b + pool.chunk < pool.n ? b + pool.chunk : pool.n;
        pool.fn(pool.ctx, b, e);
    }
}

static void *worker_main(void *arg)
{
    uint64_t seen = 0;
    (void)arg;
    pthread_mutex_lock(&pool.lock);
    for (;;) {
        while (pool.gen == seen && !pool.stop)
            pthread_cond_wait(&pool.wake, &pool.lock);
        if (pool.stop)
            break;
        seen = pool.gen;
        if (!pool.open || pool.seats >= pool.helpers)
            continue; /* done without us, or no seat left: back to sleep */
        pool.seats++;
        pool.busy_workers++;
        pthread_mutex_unlock(&pool.lock);
        run_chunks();
        pthread_mutex_lock(&pool.lock);
        if (--pool.busy_workers == 0)
            pthread_cond_signal(&pool.done);
    }
    pthread_mutex_unlock(&pool.lock);
    return NULL;
}

void td_parallel_init(int nthreads)
{
    td_parallel_fini();
    openblas_set_num_threads(1);
    if (nthreads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        nthreads = n > 0 ? (int)n : 1;
    }
    if (nthreads <= 1)
        return;
    pool.threads = calloc((size_t)nthreads - 1, sizeof(pthread_t));
    if (!pool.threads)
        return; /* stay serial */
    pool.stop = 0;
    for (int i = 0; i < nthreads - 1; i++) {
        if (pthread_create(&pool.threads[i], NULL, worker_main, NULL) != 0)
            break;
        pool.nworkers++;
    }
}

void td_parallel_fini(void)
{
    if (!pool.threads)
        return;
    pthread_mutex_lock(&dispatch); /* let a running job finish */
    pthread_mutex_lock(&pool.lock);
    pool.stop = 1;
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
    for (int i = 0; i < pool.nworkers; i++)
        pthread_join(pool.threads[i], NULL);
    free(pool.threads);
    pool.threads = NULL;
    pool.nworkers = 0;
    pool.stop = 0;
    pthread_mutex_unlock(&dispatch);
}

/* Serial: one call, or chunks checking the cancellation flag between them: an eighth of
 * the job, but no more than 64 grains (a grain is enough work to pay for a call), so a
 * long job stops soon after its session ends. */
static void run_serial(int64_t n, int64_t grain, td_range_fn fn, void *ctx)
{
    if (!my_cancel) {
        fn(ctx, 0, n);
        return;
    }
    int64_t most = grain <= INT64_MAX / 64 ? 64 * grain : INT64_MAX;
    int64_t chunk = n / 8 < most ? n / 8 : most;
    chunk = chunk > grain ? chunk : grain;
    for (int64_t b = 0; b < n && !is_cancelled(my_cancel); b += chunk)
        fn(ctx, b, b + chunk < n ? b + chunk : n);
}

void td_parallel_for(int64_t n, int64_t grain, td_range_fn fn, void *ctx)
{
    if (n <= 0)
        return;
    if (grain < 1)
        grain = 1;
    int nt = td_parallel_threads();
    if (nt <= 1 || n < 2 * grain || pthread_mutex_trylock(&dispatch) != 0) {
        run_serial(n, grain, fn, ctx);
        return;
    }
    /* a few chunks per thread for balance, never below grain, nor above 64 grains while
     * a cancellation flag is named (the threads check it between chunks) */
    int64_t chunk = (n + 4 * nt - 1) / (4 * nt);
    if (my_cancel && grain <= INT64_MAX / 64 && chunk > 64 * grain)
        chunk = 64 * grain;
    if (chunk < grain)
        chunk = grain;
    pthread_mutex_lock(&pool.lock);
    pool.fn = fn;
    pool.ctx = ctx;
    pool.n = n;
    pool.chunk = chunk;
    pool.next = 0;
    pool.cancel = my_cancel;
    pool.helpers = nt - 1;
    pool.seats = 0;
    pool.busy_workers = 0;
    pool.open = true;
    pool.gen++;
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);

    run_chunks();

    /* the job is closed: a worker not yet woken (on a loaded machine it may wait for a
       core longer than the job lasts) skips it, and only those that took a seat are
       waited for */
    pthread_mutex_lock(&pool.lock);
    pool.open = false;
    while (pool.busy_workers > 0)
        pthread_cond_wait(&pool.done, &pool.lock);
    pthread_mutex_unlock(&pool.lock);
    pthread_mutex_unlock(&dispatch);
}
