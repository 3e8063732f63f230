/*
 * tensord.h — libtensord, the C client of the tensord daemon.
 *
 * A client holds one session with a daemon.  Every call computes the result's shape
 * and dtype locally (the shared meta layer), so argument errors come back at once from
 * the call that made them; the op itself is recorded and sent in batches, executed in
 * order by the daemon.  An op that fails while executing (out of memory, an index only
 * the data shows to be out of range, ...) fails only the tensors it produces or writes,
 * and everything computed from them; its error is returned by the next sync point
 * (td_sync, td_download) of the thread that recorded it, naming the op (and, with
 * td_location_set, where it was recorded).  Nothing else is lost.
 * The client runs at most td_client_queue_depth() records ahead of the daemon.
 *
 * Tensors are plain values (struct td_t: a handle plus its metadata) that the caller
 * owns; td_release drops one when it is no longer needed.  Functions return
 * enum td_code and fill `st` (may be NULL) with a PyTorch-like message.
 * Thread safety: one client may be used from several threads (calls are serialized).
 */
#ifndef TENSORD_H
#define TENSORD_H

#include <stddef.h>
#include <stdint.h>

#include "../proto/td_device.h"
#include "../kernels/meta.h"
#include "../proto/td_address.h"
#include "../proto/td_stats.h"
#include "td_ops.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct td_client td_client_t;
struct td_ag_meta;

struct td_t {
    uint64_t handle;
    struct td_meta m;
    uint64_t storage_id; /* handle of the tensor that created the storage (views inherit it) */
    struct td_ag_meta *ag; /* autograd state (requires_grad, grad_fn, grad); NULL: none */
};

/*
 * Sharing between sessions (docs/design/sharing.md).  A token is 16 random bytes that
 * the daemon issues; any session that presents it may open what it names.
 * td_share: a token for t's storage (mode: TD_SHARE_ONE_SHOT 1, dies when opened;
 *   TD_SHARE_PINNED 2, outlives this session by the daemon's --share-linger); syncs.
 *   td_share_many: tokens for n tensors in one round trip.
 * td_open: a new tensor of this session with view m on the token's storage (handle 0),
 *   or, with a fork grant, on the storage of the granting session's `handle`.  Recorded
 *   like an op: an unknown token fails the tensor, raised at the next sync.
 * td_revoke: drops one of this session's tokens.
 * td_share_reserve: n tokens reserved for this session with mode, in one round trip;
 *   they name nothing until td_share_into fills them.
 * td_share_into: fills n reserved tokens with ts' storages and sends the records, without
 *   waiting: the tokens may be handed over at once, and an OPEN of one waits in the
 *   daemon until this session's records up to the fill have run (if the tensor failed,
 *   the OPEN fails with its error; if this session ends first, with "ended before it was
 *   made").
 * td_client_fork_prepare: the session's fork grant, after everything recorded so far
 *   has run (for a child to open inherited handles); deferred failures stay queued.
 */
struct td_token_bytes {
    uint8_t b[16];
};

/* Connects: address NULL means $TENSORD_ADDRESS, else the default socket.  Waits up to
 * timeout_ms (<= 0: 5000) for the daemon.  NULL + UNAVAILABLE when none answers. */
td_client_t *td_client_connect(const char *address, int timeout_ms, struct td_status *st);
/* Flushes, ends the session (the daemon frees everything it held) and frees. NULL ok. */
void td_client_free(td_client_t *c);
/* True once the daemon went away under c (killed, crashed, restarted): every call that
 * talks to it fails with UNAVAILABLE ("lost connection to tensord at ...") from then on.
 * False while it serves, and when the daemon ended the session itself (an administrator's
 * kill, a protocol error): reconnecting is then not the answer. */
bool td_client_lost(const td_client_t *c);
/* After a daemon restart: a new client with a new session on the daemon at address (NULL:
 * the address c connected to), waiting up to timeout_ms for it to answer, with c's default
 * float dtype, device and queue depth.  c is left as it is: free it (td_client_free
 * returns at once on a lost connection).  The tensors of c's session are gone with that
 * session: drop them, never pass them to the new client (their handles name nothing
 * there).  NULL + UNAVAILABLE when no daemon answers (c stays usable for a retry). */
td_client_t *td_client_reconnect(const td_client_t *c, const char *address, int timeout_ms, struct td_status *st);
/* Session id assigned by the daemon. */
uint64_t td_client_session(const td_client_t *c);
/* How the session's messages travel: "shm" (shared-memory rings, a local daemon that
 * offered them) or "grpc" (remote daemons, TENSORD_TRANSPORT=grpc, or no side socket). */
const char *td_client_transport(const td_client_t *c);

/*
 * Zero-copy access to a CPU tensor's bytes (numpy(), DLPack): waits for every recorded op
 * (a sync), then maps the arena holding t's storage into this process and sets *base to
 * the storage's first byte (t's element 0 is at base + t->m.offset * element size) and
 * *nbytes to the storage's size.  The mapping stays valid while the client lives, and the
 * bytes are the tensor's while its storage lives (hold t).  It also marks the storage
 * *exported* until td_storage_unmap: from then on every op that reads or writes it syncs
 * before returning, so the bytes are never read or written while the daemon works on
 * them, and what is written through base is what later ops see — PyTorch's synchronous
 * semantics for memory shared with numpy.  FAILED_PRECONDITION (nothing marked) when the
 * storage cannot be mapped here: a remote daemon, the gRPC transport, another uid's
 * storage (UNAVAILABLE still means the daemon is gone).
 */
enum td_code td_storage_map(td_client_t *c, const struct td_t *t, void **base, size_t *nbytes,
                            struct td_status *st);
/* Ends one td_storage_map's export of storage_id (t->storage_id).  Thread-safe, never
 * blocks on the daemon (safe from a destructor). */
void td_storage_unmap(td_client_t *c, uint64_t storage_id);
/* For numpy's allocator (client_py/ext/numpy_arena.c): a uint8 tensor of nbytes, mapped
 * as by td_storage_map, in one round trip, its bytes not cleared (the caller writes them); never waits for the client's lock
 * (TD_CODE_UNAVAILABLE when busy) and leaves other ops' deferred failures queued.  It is
 * not exported until td_block_export (before a view of its storage is made: from then on
 * ops on that storage sync, as after td_storage_map; no round trip, false when out of
 * memory).  td_block_free unexports and releases it, queueing the release for the next
 * call that holds the lock when the lock is busy; a no-op for a client inherited through
 * fork. */
enum td_code td_block_new(td_client_t *c, size_t nbytes, struct td_t *out, void **base, struct td_status *st);
bool td_block_export(td_client_t *c, const struct td_t *t);
void td_block_free(td_client_t *c, struct td_t *t);
/* torch.set_default_dtype: the dtype integer operands promote to with a float scalar (and
 * float-valued ops on integers give).  Recorded for the daemon too, so both agree. */
enum td_code td_client_set_default_float(td_client_t *c, enum td_dtype dt, struct td_status *st);
/* Devices (docs/design/devices.md; numbering of proto/td_device.h: 0 the CPU, 1 + i
 * cuda:i).  td_client_set_device: where later ops without tensor inputs (empty, full,
 * arange, rand, ...) create their outputs; ops with tensor inputs run where those are.
 * td_device_query answers DEVICE_QUERY's TD_DEVICE_QUERY_BYTES bytes into buf (what:
 * TD_DQ_*), after a sync.  td_device_ctrl: TD_DC_* (synchronize waits for the session's
 * queued device work and raises its errors; TD_DC_SET_LIMIT caps the session's bytes on
 * the device at value, 0 for none). */
enum td_code td_client_set_device(td_client_t *c, uint8_t device, struct td_status *st);
uint8_t td_client_device(td_client_t *c);
enum td_code td_device_query(td_client_t *c, uint8_t device, int what, void *buf, struct td_status *st);
enum td_code td_device_ctrl(td_client_t *c, uint8_t device, int what, int64_t value, struct td_status *st);
/* The session's per-op execution profile (PROFILE): after a sync, *triples (malloc'd, the
 * caller frees; NULL when empty) holds *n (op, count, ns) triples of the ops run since the
 * last call, which the daemon then zeroes; mode 1 starts counting, 0 stops, 2 keeps the
 * state. */
enum td_code td_profile(td_client_t *c, int mode, uint64_t **triples, size_t *n, struct td_status *st);
/*
 * Graphs (docs/design/graphs.md).  td_graph_begin starts capturing: the records this
 * client sends from then on (from any thread) still run as they come, and are kept.
 * td_graph_end stops and stores them in the daemon as a graph, *id, whose inputs are
 * in[0..n_in) (tensors that existed before the capture) and outputs out[0..n_out) (tensors
 * the captured ops made); every other tensor the capture read is a constant the graph holds
 * (the same storage: writes to it are seen by later runs).  The daemon drops the ops
 * nothing needs and frees each temporary after its last use.  A capture that read data
 * (a sync with an answer: item, download, nonzero, ...) or ran another control record
 * cannot be a graph: td_graph_end then fails with FAILED_PRECONDITION, naming it; so does
 * a capture whose code still holds tensors it made besides the outputs (optimizer state
 * made on a first step, a .grad set by backward, a module's cache: a run would not update
 * them).  td_graph_mark: handles up to it existed before the capture under way.
 * td_graph_abort stops a capture, keeping nothing.  td_graph_run records one GRAPH_RUN:
 * out[0..n_out) get new tensors computed from in (the graph's input sizes, dtypes and
 * devices; n_out must be the graph's).  td_graph_free drops a graph.  A graph holds at
 * most 255 inputs and 255 outputs. */
enum td_code td_graph_begin(td_client_t *c, struct td_status *st);
enum td_code td_graph_end(td_client_t *c, int n_in, const struct td_t *const *in, int n_out,
                          const struct td_t *const *out, uint64_t *id, struct td_status *st);
void td_graph_abort(td_client_t *c);
bool td_graph_capturing(td_client_t *c);
uint64_t td_graph_mark(td_client_t *c);
enum td_code td_graph_run(td_client_t *c, uint64_t id, int n_in, const struct td_t *const *in, int n_out,
                          struct td_t *out, struct td_status *st);
enum td_code td_graph_free(td_client_t *c, uint64_t id, struct td_status *st);
/* A capture without declared inputs and outputs (torch.cuda.graph's): td_graph_end_held
 * makes every tensor the capture made that the program still holds an output (*n_out of
 * them; tensors that existed before are constants, so new data copied into
 * them is read by the next replay).  td_graph_replay runs it again, each new result written
 * into its output: the program's tensors (and views of them) hold the new values.  The graph
 * keeps a reference to them until td_graph_free. */
enum td_code td_graph_end_held(td_client_t *c, uint64_t *id, int *n_out, struct td_status *st);
enum td_code td_graph_replay(td_client_t *c, uint64_t id, struct td_status *st);
/* Graphs as bytes (client_c/graph.h gives the format): td_graph_save writes graph id into
 * *bytes (malloc'd; the caller frees) — the body and what its runs check, not the data of
 * its constants; td_graph_constants gives them, in the graph's order (out[0..min(max, *n))
 * new references the caller releases; *n their count), for the caller to save as it saves
 * tensors.  td_graph_load defines a graph from such bytes in this session, its constants
 * consts[0..n_consts) (the sizes, strides, dtypes and devices they were saved with), as *id.  The
 * bytes are checked as hostile input; the daemon checks the body.  Held captures are not
 * saved. */
enum td_code td_graph_save(td_client_t *c, uint64_t id, uint8_t **bytes, size_t *len, struct td_status *st);
enum td_code td_graph_constants(td_client_t *c, uint64_t id, int max, struct td_t *out, int *n, struct td_status *st);
enum td_code td_graph_load(td_client_t *c, const uint8_t *bytes, size_t len, int n_consts,
                           const struct td_t *const *consts, uint64_t *id, struct td_status *st);
/*
 * Streams and events (torch.cuda.Stream / Event; docs/design/devices.md "Streams").
 * Each device has a default stream, id 0; td_stream_new makes another on device
 * (1 + i) and gives its id (unique in the process; at most TD_SESSION_MAX_STREAMS per
 * session).  td_stream_set makes a stream the device's current one: the session's later
 * kernels, copies and allocations on that device go to it (0: back to the default).
 * td_event_new makes an event (flags: TD_EVENT_TIMING for td_event_elapsed); it takes
 * the device of the stream it is first recorded on, and one never recorded counts as
 * complete.  td_stream_wait_event: later work on the stream waits for the event's point.
 * td_record_stream: t's device memory is also used by work on stream (of t's device), so
 * it is not reused before that work is done once t is freed.
 * Synchronous (a round trip; errors at once): td_stream_new, *_synchronize, *_query
 * (done: all work before it completed), td_event_elapsed (ms between two recorded timing
 * events, after both completed).  The others are queued like ops; their errors (unknown
 * ids, another device's stream) come at the next sync.  Every sync point that reads
 * device memory (reading a tensor, td_device_ctrl's synchronize) waits for all of the
 * session's streams on that device.  Streams and events still held at session end are
 * synchronized and freed by the daemon.
 */
enum td_code td_stream_new(td_client_t *c, uint8_t device, int64_t *id, struct td_status *st);
enum td_code td_stream_free(td_client_t *c, uint8_t device, int64_t id, struct td_status *st);
enum td_code td_stream_set(td_client_t *c, uint8_t device, int64_t id, struct td_status *st);
enum td_code td_stream_wait_event(td_client_t *c, uint8_t device, int64_t id, int64_t event, struct td_status *st);
enum td_code td_stream_synchronize(td_client_t *c, uint8_t device, int64_t id, struct td_status *st);
enum td_code td_stream_query(td_client_t *c, uint8_t device, int64_t id, bool *done, struct td_status *st);
enum td_code td_event_new(td_client_t *c, unsigned flags, int64_t *id, struct td_status *st);
enum td_code td_event_free(td_client_t *c, int64_t id, struct td_status *st);
enum td_code td_event_record(td_client_t *c, int64_t id, uint8_t device, int64_t stream, struct td_status *st);
enum td_code td_event_query(td_client_t *c, int64_t id, bool *done, struct td_status *st);
enum td_code td_event_synchronize(td_client_t *c, int64_t id, struct td_status *st);
enum td_code td_event_elapsed(td_client_t *c, int64_t start, int64_t end, double *ms, struct td_status *st);
enum td_code td_record_stream(td_client_t *c, const struct td_t *t, int64_t stream, struct td_status *st);
/* Daemon counters (struct td_stats, proto/td_stats.h) over a separate call: address as
 * in td_client_connect; no session is needed.  UNAVAILABLE when no daemon answers. */
enum td_code td_client_stats(const char *address, struct td_stats *out, struct td_status *st);

/*
 * The generic op call under every builder: op from proto/ops.def, flags TD_RF_*, inputs,
 * attribute words as laid out in proto/ops.args (prefer the typed builders td_rec_<name>
 * of td_ops.h, which pack them).  Fills out[0..n_out) with new tensors (nothing for
 * TD_RF_INPLACE).
 */
enum td_code td_op(td_client_t *c, enum td_op op, unsigned flags, const struct td_t *const *in, int n_in,
                   const int64_t *attrs, int n_attr, struct td_t *out, struct td_status *st);
/* Releases a tensor handle: a record right after the ops that used it, in the same
 * ordered stream (the daemon frees the storage once no handle refers to it).  A handle
 * td_retain'ed n times is released by its (n + 1)th td_release. */
void td_release(td_client_t *c, struct td_t *t);
/* Another reference to t's handle (and autograd state), released with td_release. */
struct td_t td_retain(td_client_t *c, const struct td_t *t);
/* Sends everything recorded and waits until the daemon has run it; returns the calling
 * thread's first deferred failure (see above), which is then cleared. */
enum td_code td_sync(td_client_t *c, struct td_status *st);

enum td_code td_share(td_client_t *c, const struct td_t *t, unsigned mode, struct td_token_bytes *tok,
                      struct td_status *st);
enum td_code td_share_many(td_client_t *c, int n, const struct td_t *const *ts, unsigned mode,
                           struct td_token_bytes *toks, struct td_status *st);
enum td_code td_open(td_client_t *c, const struct td_token_bytes *tok, uint64_t handle, const struct td_meta *m,
                     struct td_t *out, struct td_status *st);
enum td_code td_revoke(td_client_t *c, const struct td_token_bytes *tok, struct td_status *st);
enum td_code td_share_reserve(td_client_t *c, int n, unsigned mode, struct td_token_bytes *toks,
                              struct td_status *st);
enum td_code td_share_into(td_client_t *c, int n, const struct td_t *const *ts,
                           const struct td_token_bytes *toks, struct td_status *st);
enum td_code td_client_fork_prepare(td_client_t *c, struct td_token_bytes *grant, struct td_status *st);

/* How many records the client may run ahead of execution (default 2048, or
 * $TENSORD_QUEUE_DEPTH; at most 65536); recording waits for the daemon beyond it. */
enum td_code td_client_set_queue_depth(td_client_t *c, uint64_t records, struct td_status *st);
uint64_t td_client_queue_depth(td_client_t *c);

/* Locations for deferred errors.  td_location_set tells, for the calling thread, where
 * the records it makes from now on come from (an opaque value, 0 = unknown); the
 * process-wide format function turns such a value into text ("train.py:12") when an
 * error is raised.  It is called with the client's lock held, from any thread, and
 * must not call back into libtensord. */
typedef void (*td_location_format_fn)(uint64_t where, char *buf, size_t len);
void td_location_set(uint64_t where);
void td_location_set_format(td_location_format_fn fn);

/*
 * Known storages, for callers that keep a copy of what they uploaded (the Python client
 * checks index values at the call with it).  td_known_register marks t's storage as
 * known and returns its version (> 0; 0 when out of memory).  Every record that writes
 * the storage afterwards, through any view (in-place ops, copy_, fill_, upload, ...),
 * gives it a new version, so the caller's copy is still the storage's contents exactly
 * while td_known_version(t) returns the version it got.  td_known_version returns 0 for
 * a storage not (or no longer) known: the table is bounded and may forget any entry.
 * Versions are never reused within a client.  Writes made by other sessions to a
 * storage shared with them are not seen.  Thread-safe.
 */
uint64_t td_known_register(td_client_t *c, const struct td_t *t);
uint64_t td_known_version(td_client_t *c, const struct td_t *t);

/*
 * torch's Tensor._version: how many records this client made that wrote t's storage (an
 * in-place op, out=, copy_, an optimizer step), so views share it; 0 for a tensor never
 * written since it was made.  Counts live in a bounded table that starts over when full,
 * so a storage last written long ago (tens of thousands of other storages written since)
 * may read low.  Thread-safe.
 */
uint64_t td_version(td_client_t *c, const struct td_t *t);

/* New contiguous tensor from host bytes (row-major, nbytes = numel * element size). */
enum td_code td_from_data(td_client_t *c, enum td_dtype dt, int ndim, const int64_t *sizes, const void *data,
                          struct td_t *out, struct td_status *st);
/* Copies a tensor's elements (row-major, any strides) to host memory; a sync point. */
enum td_code td_download(td_client_t *c, const struct td_t *t, void *data, size_t nbytes, struct td_status *st);

/* Scalar attribute words (kind, bits). */
void td_scalar_f64(int64_t *w, double v);
void td_scalar_i64(int64_t *w, int64_t v);

/* Convenience wrappers. */
enum td_code td_full(td_client_t *c, enum td_dtype dt, int ndim, const int64_t *sizes, double value,
                     struct td_t *out, struct td_status *st);
enum td_code td_binary(td_client_t *c, enum td_op op, const struct td_t *a, const struct td_t *b,
                       struct td_t *out, struct td_status *st);
enum td_code td_binary_scalar(td_client_t *c, enum td_op op, const struct td_t *a, double b, struct td_t *out,
                              struct td_status *st);
enum td_code td_unary(td_client_t *c, enum td_op op, const struct td_t *a, struct td_t *out, struct td_status *st);
/* Reduce over dims (NULL/0 dims: all), keepdim. */
enum td_code td_reduce(td_client_t *c, enum td_op op, const struct td_t *a, const int64_t *dims, int n_dims,
                       int keepdim, struct td_t *out, struct td_status *st);
enum td_code td_matmul(td_client_t *c, const struct td_t *a, const struct td_t *b, struct td_t *out,
                       struct td_status *st);
/* torch.set_num_threads: the ops recorded after it run on at most n (1..4096) of the
 * daemon's intra-op threads, BLAS included; other sessions are unaffected.  One record. */
enum td_code td_client_set_num_threads(td_client_t *c, int n, struct td_status *st);

/*
 * Autograd (autograd/).  While grad mode is on (per thread, default on), every op with
 * an input that requires grad records a node; td_backward runs the graph backwards,
 * recording the gradient ops (proto/derivatives.def) into the same stream, and adds
 * the gradients into the leaves' .grad.  With TD_AG_CREATE_GRAPH the gradient ops are
 * recorded with grad mode on, so gradients can be differentiated again.  Without
 * TD_AG_RETAIN_GRAPH the graph's saved tensors are freed by the pass.
 * In-place ops on views rebase the view's base as PyTorch's (CopySlices): for that a
 * view op recorded in grad mode links its output to its base, giving the input tensor
 * it is passed (*in[0], the caller's own td_t, which td_release frees it with) an
 * autograd state when it has none; call it with the td_t you release, not a copy.
 */
enum { TD_AG_RETAIN_GRAPH = 1, TD_AG_CREATE_GRAPH = 2, TD_AG_ALLOW_UNUSED = 4, TD_AG_ACCUMULATE = 8 };
struct td_ag_node;

bool td_grad_enabled(void);
void td_grad_set_enabled(bool on);
/* Anomaly mode (process-wide): every gradient a node computes is checked for NaN, at the
 * cost of a sync per node; a NaN fails the pass naming the node. */
void td_ag_set_anomaly(bool on);
bool td_ag_anomaly(void);
/* torch's requires_grad_: only floating point and complex leaves. */
enum td_code td_requires_grad_(td_client_t *c, struct td_t *t, bool on, struct td_status *st);
bool td_requires_grad(const struct td_t *t);
bool td_is_leaf(const struct td_t *t);
bool td_retains_grad(const struct td_t *t);
/* Which output of its grad_fn t is (0 for leaves), torch's Tensor.output_nr. */
unsigned td_output_nr(const struct td_t *t);
/* Makes a non-leaf keep its gradient in .grad (torch's retain_grad). */
enum td_code td_retain_grad(td_client_t *c, struct td_t *t, struct td_status *st);
/* t.grad: a new reference in *out, or false (out untouched) when there is none. */
bool td_grad_get(td_client_t *c, const struct td_t *t, struct td_t *out);
/* t.grad = g (a new reference to g), or = None when g is NULL. */
enum td_code td_grad_set(td_client_t *c, struct td_t *t, const struct td_t *g, struct td_status *st);
/* Drops t's autograd state: t becomes a leaf that does not require grad (detach_). */
void td_detach_(struct td_t *t);
/* t.data = src (torch's Tensor.data setter): t releases its handle and takes another
 * reference to src's (storage and geometry), keeping its own autograd state (requires_grad,
 * grad, hooks); src's is not shared.  Any dtype, shape or device. */
void td_set_data(td_client_t *c, struct td_t *t, const struct td_t *src);

/* Autocast (torch.autocast), per thread.  kind 0: ops on the CPU, 1: ops on the GPUs.
 * While on, the ops of torch's autocast lists compute in `dtype` (matmul, mm, bmm,
 * convolution; their floating inputs other than float64 are cast), in float32 (the
 * precision-sensitive ops) or in their widest input dtype (client_c/autocast.c has the
 * lists); in-place and out= records and the backward pass are left alone.  dtype is the
 * lower-precision type (default bfloat16 on the CPU, float16 on GPUs). */
void td_autocast_set(int kind, bool enabled, enum td_dtype dtype);
bool td_autocast_enabled(int kind);
enum td_dtype td_autocast_dtype(int kind);
/* The same for a tensor whose client is gone: frees the graph's memory, sends nothing. */
void td_ag_forget(struct td_t *t);

/* Backward from roots[0..n): grads[i] NULL (or grads NULL) stands for ones, allowed for
 * one-element roots only.  Flags TD_AG_RETAIN_GRAPH, TD_AG_CREATE_GRAPH.  With inputs
 * (n_inputs > 0) only those leaves accumulate. */
enum td_code td_backward(td_client_t *c, int n, const struct td_t *const *roots, const struct td_t *const *grads,
                         int n_inputs, const struct td_t *const *inputs, unsigned flags, struct td_status *st);
/* torch.autograd.grad: the gradients of outputs with respect to inputs into
 * grads[0..n_in) (new references; handle 0 for an input the outputs do not depend on,
 * allowed with TD_AG_ALLOW_UNUSED).  .grad fields are left alone. */
enum td_code td_grad(td_client_t *c, int n_out, const struct td_t *const *outputs,
                     const struct td_t *const *grad_outputs, int n_in, const struct td_t *const *inputs,
                     struct td_t *grads, unsigned flags, struct td_status *st);

/* The graph, read-only: t's grad_fn (a new reference, NULL for leaves), a node's name
 * (torch's, e.g. "MulBackward0"), its inputs' edges (fn NULL: none; fn a new reference). */
struct td_ag_node *td_grad_fn(const struct td_t *t);
const char *td_ag_node_name(const struct td_ag_node *n);
/* Whether n is a td_ag_custom_apply node (a Python autograd.Function's, say). */
bool td_ag_node_is_custom(const struct td_ag_node *n);
/* Gives n the name torch gives the node of a function a client composes from several ops
 * (F.mse_loss's last node is "MseLossBackward0" in torch, one op there): what
 * td_ag_node_name returns from then on.  name is not copied: it must outlive the node
 * (a string literal, or one the client interns for good); NULL restores the op's name. */
void td_ag_node_set_name(struct td_ag_node *n, const char *name);
int td_ag_node_n_next(const struct td_ag_node *n);
struct td_ag_node *td_ag_node_next(const struct td_ag_node *n, int i, uint32_t *output_nr);
/* For a leaf's accumulator node: the leaf's gradient owner (else NULL), not a reference. */
const struct td_ag_meta *td_ag_node_leaf(const struct td_ag_node *n);
void td_ag_node_unref(struct td_ag_node *n);
/* td_ag_node_unref once the client is gone: frees memory, sends nothing. */
void td_ag_node_forget(struct td_ag_node *n);

/* Tensor hooks (register_hook): fn may replace *grad (release the old one, store an owned
 * reference) before it is used or accumulated.  Returns an id for td_ag_hook_remove. */
typedef enum td_code (*td_ag_hook_fn)(void *ctx, td_client_t *c, struct td_t *grad, struct td_status *st);
int td_ag_hook_add(td_client_t *c, struct td_t *t, td_ag_hook_fn fn, void *ctx, void (*free_ctx)(void *),
                   struct td_status *st);
void td_ag_hook_remove(struct td_t *t, int id);

/* Saved-tensor hooks (torch.autograd.graph.saved_tensors_hooks), per thread, innermost
 * last: while a pair is pushed, each floating or complex tensor a node records saves for
 * backward is handed to pack (a reference to keep: *packed, any object) instead of being
 * kept, and backward gets it back from unpack (an owned reference in *out).  Tensors of
 * other dtypes (indices, masks) are kept as they are.  drop frees a packed object; the
 * node keeps the pair alive (free_ctx when the last holder goes). */
typedef enum td_code (*td_ag_pack_fn)(void *ctx, td_client_t *c, const struct td_t *t, void **packed,
                                      struct td_status *st);
typedef enum td_code (*td_ag_unpack_fn)(void *ctx, td_client_t *c, void *packed, struct td_t *out,
                                        struct td_status *st);
enum td_code td_ag_saved_hooks_push(td_ag_pack_fn pack, td_ag_unpack_fn unpack, void (*drop)(void *ctx, void *packed),
                                    void *ctx, void (*free_ctx)(void *ctx), struct td_status *st);
void td_ag_saved_hooks_pop(void);

/* Node hooks (torch's grad_fn.register_hook): after node n's backward, fn sees the
 * gradients it computed for its inputs, grad_in[0..n_in) (handle 0: none; fn may replace
 * one: release it, store an owned reference or handle 0), and those its outputs received,
 * grad_out[0..n_out) (handle 0: none).  Returns an id for td_ag_node_hook_remove, -1 on
 * error (st filled); the node owns ctx (free_ctx when it goes). */
typedef enum td_code (*td_ag_node_hook_fn)(void *ctx, td_client_t *c, struct td_t *grad_in, int n_in,
                                           const struct td_t *grad_out, int n_out, struct td_status *st);
int td_ag_node_hook_add(struct td_ag_node *n, td_ag_node_hook_fn fn, void *ctx, void (*free_ctx)(void *),
                        struct td_status *st);
void td_ag_node_hook_remove(struct td_ag_node *n, int id);
/* Node pre-hooks (torch's grad_fn.register_prehook): before node n's backward (after its
 * outputs' tensor hooks), fn sees the gradients its outputs received, grad_out[0..n_out)
 * (handle 0: none), and may replace them as above.  Ids as td_ag_node_hook_add's. */
typedef enum td_code (*td_ag_node_prehook_fn)(void *ctx, td_client_t *c, struct td_t *grad_out, int n_out,
                                              struct td_status *st);
int td_ag_node_prehook_add(struct td_ag_node *n, td_ag_node_prehook_fn fn, void *ctx, void (*free_ctx)(void *),
                           struct td_status *st);
void td_ag_node_prehook_remove(struct td_ag_node *n, int id);

/* Functions with a backward of the caller's own (torch.autograd.Function): backward gets
 * the outputs' gradients (handle 0: none) and fills grad_in[i] with new references
 * (handle 0: none) for the n_in inputs. */
typedef enum td_code (*td_ag_backward_fn)(void *ctx, td_client_t *c, const struct td_t *grad_out, int n_out,
                                          struct td_t *grad_in, int n_in, struct td_status *st);
struct td_ag_custom {
    td_ag_backward_fn backward;
    void *ctx;
    void (*free_ctx)(void *ctx);
    const char *name; /* e.g. "MyFunctionBackward"; must outlive the node */
};
/* Makes out[0..n_out) (tensors computed from in[] with grad mode off) the outputs of a
 * node running fn backward; out[i] that are not floating point stay without grad.  An
 * output on an input's storage (returned as-is, or a view of it) may not be modified in
 * place afterwards (torch's rule: its history would replace the function's backward). */
enum td_code td_ag_custom_apply(td_client_t *c, const struct td_ag_custom *fn, const struct td_t *const *in,
                                int n_in, struct td_t *out, int n_out, struct td_status *st);

#ifdef __cplusplus
}
#endif

#endif
