"""Process groups and collectives, as torch.distributed's: the ranks of a group are
processes on one node that share one tensord daemon (the node's, or rank 0's private one,
whose address the others take at init_process_group).  A collective moves no tensor bytes
between processes: each rank hands its peers capability tokens of its tensor through the
group's TCPStore (multiprocessing's reductions), every rank reduces the same tensors in
rank order in the daemon (so all get the same bits), and a store barrier keeps a tensor
unchanged until every peer has read it.  Backends "gloo" and "nccl" name this one
mechanism; ranks on other nodes (another daemon) are refused at init_process_group."""
import io
import os
import pickle
from datetime import timedelta
from multiprocessing.reduction import ForkingPickler
from urllib.parse import parse_qs, urlparse

from .. import _daemon
from ..multiprocessing.reductions import rebuild_tensor as _rebuild_tensor  # (importing it registers the
#   token reductions ForkingPickler uses)
from .tcp_store import TCPStore

__all__ = ["ReduceOp", "Backend", "GroupMember", "init_process_group", "destroy_process_group", "is_initialized",
           "is_available", "get_rank", "get_world_size", "get_backend", "barrier", "all_reduce", "broadcast",
           "all_gather", "reduce", "all_gather_object", "broadcast_object_list", "gather", "scatter",
           "all_to_all", "reduce_scatter", "all_gather_into_tensor", "gather_object", "scatter_object_list",
           "is_gloo_available", "is_nccl_available", "is_mpi_available", "is_torchelastic_launched"]

default_pg_timeout = timedelta(minutes=30)


class ReduceOp:
    SUM, PRODUCT, MIN, MAX, AVG = "SUM", "PRODUCT", "MIN", "MAX", "AVG"


class Backend(str):
    GLOO, NCCL, MPI = "gloo", "nccl", "mpi"

    def __new__(cls, name):
        low = name.lower()
        if low not in ("gloo", "nccl"):
            raise ValueError("Invalid backend: '%s'" % name)
        return str.__new__(cls, low)


class _Group:
    def __init__(self, store, rank, world_size, backend):
        self.store, self.rank, self.world_size, self.backend = store, rank, world_size, backend
        self.seq = 0
        self.last_barrier = None

    def next_key(self):
        self.seq += 1
        return "c%d" % self.seq


class GroupMember:
    WORLD = None
    NON_GROUP_MEMBER = object()


_state = {"group": None}


def is_available():
    return True


def is_gloo_available():
    return True


def is_nccl_available():
    return True


def is_mpi_available():
    return False


def is_torchelastic_launched():
    return os.getenv("TORCHELASTIC_RUN_ID") is not None


def is_initialized():
    return _state["group"] is not None


def _group(group=None):
    g = _state["group"]
    if g is None:
        raise RuntimeError("Default process group has not been initialized, please make sure to call "
                           "init_process_group.")
    return g


def _env_int(name):
    v = os.environ.get(name)
    if v is None:
        raise ValueError("Error initializing torch.distributed using env:// rendezvous: environment variable %s "
                         "expected, but not set" % name)
    return int(v)


def _rendezvous(init_method, rank, world_size, timeout):
    url = urlparse(init_method)
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    if url.scheme == "env":
        rank = _env_int("RANK") if rank == -1 else rank
        world_size = _env_int("WORLD_SIZE") if world_size == -1 else world_size
        host = os.environ.get("MASTER_ADDR")
        if host is None:
            raise ValueError("Error initializing torch.distributed using env:// rendezvous: environment variable "
                             "MASTER_ADDR expected, but not set")
        port = _env_int("MASTER_PORT")
    elif url.scheme == "tcp":
        rank = int(query.get("rank", rank))
        world_size = int(query.get("world_size", world_size))
        host, port = url.hostname, url.port
        if port is None:
            raise ValueError("Error initializing torch.distributed using tcp:// rendezvous: port number missing")
    else:
        raise RuntimeError("No rendezvous handler for %s://" % url.scheme)
    if rank < 0 or world_size < 1 or rank >= world_size:
        raise ValueError("tensord.distributed: invalid rank %d for world size %d" % (rank, world_size))
    return TCPStore(host, port, world_size, rank == 0, timeout), rank, world_size


def _share_daemon(store, rank):
    """Every rank on rank 0's daemon: its address travels through the store."""
    if rank == 0:
        store.set("tensord/address", _daemon.export_address())
        return
    addr = store.get("tensord/address").decode()
    if not _daemon._state["connected"]:
        os.environ["TENSORD_ADDRESS"] = addr
        _daemon.ensure()
    elif _daemon.address() != addr:
        raise RuntimeError("tensord.distributed: rank %d uses the daemon at %s and rank 0 the one at %s; the ranks of "
                           "a process group must share one daemon (one node: set TENSORD_ADDRESS, or let the ranks "
                           "connect after init_process_group)" % (rank, _daemon.address(), addr))


def init_process_group(backend=None, init_method=None, timeout=default_pg_timeout, world_size=-1, rank=-1,
                       store=None, group_name="", pg_options=None):
    if _state["group"] is not None:
        raise RuntimeError("trying to initialize the default process group twice!")
    backend = Backend(backend or "gloo")
    if store is None:
        store, rank, world_size = _rendezvous(init_method or "env://", rank, world_size, timeout)
    elif rank < 0 or world_size < 1:
        raise ValueError("world_size and rank must be given with store")
    _share_daemon(store, rank)
    _state["group"] = _Group(store, rank, world_size, backend)
    barrier()


def destroy_process_group(group=None):
    g = _state["group"]
    if g is None:
        raise RuntimeError("Default process group has not been initialized, please make sure to call "
                           "init_process_group.")
    try:
        barrier()
        if g.rank != 0:
            g.store.close()  # the master's store outlives every other rank's connection
        else:
            g.store.wait_for_others_to_leave()
    finally:
        _state["group"] = None
        g.store.close()


def get_rank(group=None):
    return _group(group).rank


def get_world_size(group=None):
    return _group(group).world_size


def get_backend(group=None):
    return _group(group).backend


class _Work:
    """A finished collective (they run synchronously), for async_op=True."""

    def wait(self, timeout=None):
        return True

    def is_completed(self):
        return True


def _done(async_op):
    return _Work() if async_op else None


def _barrier(g, key):
    """Every rank reached key.  The rank that completes a barrier deletes the previous
    one's keys: every rank has left it, having arrived here."""
    if g.store.add(key, 1) == g.world_size:
        g.store.set(key + "/go", b"1")
        if g.last_barrier:
            g.store.delete_key(g.last_barrier)
            g.store.delete_key(g.last_barrier + "/go")
    g.store.wait([key + "/go"])
    g.last_barrier = key


def barrier(group=None, async_op=False, device_ids=None):
    g = _group(group)
    _barrier(g, g.next_key())
    return _done(async_op)


def _host(tensor):
    """What a collective shares of tensor: itself on the CPU; a device tensor's CPU copy
    (device storage has no capability tokens)."""
    return tensor.detach() if tensor.device.type == "cpu" else tensor.detach().cpu()


def _publish(g, key, tensor, to):
    """Tokens of tensor (a CPU tensor) for the ranks in `to`, one each (a token opens once)."""
    for r in to:
        g.store.set("%s/%d>%d" % (key, g.rank, r), bytes(ForkingPickler.dumps(tensor)))


class _TokenUnpickler(pickle.Unpickler):
    """A peer's tensor token, nothing else: what the store hands over runs no code."""

    def find_class(self, module, name):
        if (module, name) == ("tensord.multiprocessing.reductions", "rebuild_tensor"):
            return _rebuild_tensor
        raise pickle.UnpicklingError("tensord.distributed: a collective received %s.%s where a tensor token "
                                     "belongs" % (module, name))


def _open(g, key, src):
    return _TokenUnpickler(io.BytesIO(g.store._take("%s/%d>%d" % (key, src, g.rank)))).load()


def _peers(g):
    return [r for r in range(g.world_size) if r != g.rank]


def _combine(op, acc, x):
    from .. import _records as F
    if op in (ReduceOp.SUM, ReduceOp.AVG):
        return F.add(acc, x)
    if op == ReduceOp.PRODUCT:
        return F.mul(acc, x)
    if op == ReduceOp.MIN:
        return F.minimum(acc, x)
    if op == ReduceOp.MAX:
        return F.maximum(acc, x)
    raise ValueError("Unknown reduce op %r" % (op,))


def _receive(g, key, outs, mine):
    """outs[r] = rank r's published tensor (this rank's: mine), read before the barrier
    lets the peers change theirs."""
    import tensord
    with _no_grad():
        for r, out in enumerate(outs):
            out.copy_(mine if r == g.rank else _open(g, key, r))
    tensord.synchronize()


def _reduced(g, key, tensor, op):
    import tensord
    parts = [tensor if r == g.rank else _open(g, key, r) for r in range(g.world_size)]
    acc = parts[0]
    for x in parts[1:]:  # rank order: every rank computes the same bits
        acc = _combine(op, acc, x)
    if op == ReduceOp.AVG:
        acc = acc / g.world_size if acc.is_floating_point() else acc // g.world_size
    acc = acc.clone() if acc is tensor else acc
    tensord.synchronize()  # read every peer's tensor before they may change it
    return acc


def _check_tensor(t, name="tensor"):
    import tensord
    if not isinstance(t, tensord.Tensor):
        raise RuntimeError("Invalid function argument. Expected parameter `%s` to be of type torch.Tensor." % name)


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    _check_tensor(tensor)
    g = _group(group)
    key = g.next_key()
    if g.world_size > 1:
        mine = _host(tensor)
        _publish(g, key, mine, _peers(g))
        acc = _reduced(g, key, mine, op)
        _barrier(g, key + "/read")
        with _no_grad():
            tensor.copy_(acc)
    return _done(async_op)


def reduce(tensor, dst, op=ReduceOp.SUM, group=None, async_op=False):
    _check_tensor(tensor)
    g = _group(group)
    key = g.next_key()
    if g.world_size > 1:
        mine = _host(tensor)
        if g.rank != dst:
            _publish(g, key, mine, [dst])
            _barrier(g, key + "/read")
        else:
            acc = _reduced(g, key, mine, op)
            _barrier(g, key + "/read")
            with _no_grad():
                tensor.copy_(acc)
    return _done(async_op)


def broadcast(tensor, src, group=None, async_op=False):
    _check_tensor(tensor)
    g = _group(group)
    key = g.next_key()
    if g.world_size > 1:
        if g.rank == src:
            _publish(g, key, _host(tensor), _peers(g))
        else:
            import tensord
            with _no_grad():
                tensor.copy_(_open(g, key, src))
            tensord.synchronize()
        _barrier(g, key + "/read")
    return _done(async_op)


def all_gather(tensor_list, tensor, group=None, async_op=False):
    _check_tensor(tensor)
    g = _group(group)
    if len(tensor_list) != g.world_size:
        raise RuntimeError("all_gather: tensor_list has %d tensors for a world of %d" % (len(tensor_list), g.world_size))
    key = g.next_key()
    _publish(g, key, _host(tensor), _peers(g))
    _receive(g, key, tensor_list, tensor)
    _barrier(g, key + "/read")
    return _done(async_op)


def gather(tensor, gather_list=None, dst=0, group=None, async_op=False):
    _check_tensor(tensor)
    g = _group(group)
    key = g.next_key()
    if g.rank != dst:
        if gather_list:
            raise ValueError("Argument ``gather_list`` must NOT be specified on non-destination ranks.")
        _publish(g, key, _host(tensor), [dst])
    else:
        if gather_list is None or len(gather_list) != g.world_size:
            raise ValueError("Argument ``gather_list`` must be specified on destination rank.")
        _receive(g, key, gather_list, tensor)
    _barrier(g, key + "/read")
    return _done(async_op)


def scatter(tensor, scatter_list=None, src=0, group=None, async_op=False):
    _check_tensor(tensor)
    g = _group(group)
    key = g.next_key()
    import tensord
    if g.rank == src:
        if scatter_list is None or len(scatter_list) != g.world_size:
            raise ValueError("Argument ``scatter_list`` must be specified on source rank.")
        for r in _peers(g):
            _publish(g, key, _host(scatter_list[r]), [r])
        with _no_grad():
            tensor.copy_(scatter_list[src])
    else:
        if scatter_list:
            raise ValueError("Argument ``scatter_list`` must NOT be specified on non-source ranks.")
        with _no_grad():
            tensor.copy_(_open(g, key, src))
        tensord.synchronize()
    _barrier(g, key + "/read")
    return _done(async_op)


def all_to_all(output_tensor_list, input_tensor_list, group=None, async_op=False):
    """output_tensor_list[r] = rank r's input_tensor_list[this rank]."""
    g = _group(group)
    if len(output_tensor_list) != g.world_size or len(input_tensor_list) != g.world_size:
        raise RuntimeError("all_to_all: the tensor lists must have world_size (%d) tensors" % g.world_size)
    key = g.next_key()
    for r in _peers(g):
        _publish(g, key, _host(input_tensor_list[r]), [r])
    _receive(g, key, output_tensor_list, input_tensor_list[g.rank])
    _barrier(g, key + "/read")
    return _done(async_op)


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op=False):
    """output = the reduction over the ranks of their input_list[this rank]."""
    g = _group(group)
    if len(input_list) != g.world_size:
        raise RuntimeError("reduce_scatter: input_list must have world_size (%d) tensors" % g.world_size)
    key = g.next_key()
    for r in _peers(g):
        _publish(g, key, _host(input_list[r]), [r])
    acc = _reduced(g, key, _host(input_list[g.rank]), op)
    _barrier(g, key + "/read")
    with _no_grad():
        output.copy_(acc)
    return _done(async_op)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """output_tensor (world_size * n elements along dim 0) = every rank's input_tensor, in
    rank order."""
    g = _group(group)
    if output_tensor.numel() != input_tensor.numel() * g.world_size:
        raise ValueError("output tensor size must be equal to world_size times input tensor size")
    parts = list(output_tensor.reshape(g.world_size, *input_tensor.shape).unbind(0))
    return all_gather(parts, input_tensor, group, async_op)


def gather_object(obj, object_gather_list=None, dst=0, group=None):
    g = _group(group)
    got = [None] * g.world_size
    all_gather_object(got, obj, group)
    if g.rank == dst:
        object_gather_list[:] = got


def scatter_object_list(scatter_object_output_list, scatter_object_input_list, src=0, group=None):
    g = _group(group)
    objs = list(scatter_object_input_list) if g.rank == src else [None] * g.world_size
    broadcast_object_list(objs, src, group)
    scatter_object_output_list[0] = objs[g.rank]


def all_gather_object(object_list, obj, group=None):
    g = _group(group)
    key = g.next_key()
    buf = io.BytesIO()
    pickle.dump(obj, buf)
    g.store.set("%s/%d" % (key, g.rank), buf.getvalue())
    for r in range(g.world_size):
        object_list[r] = pickle.loads(g.store.get("%s/%d" % (key, r)))
    _barrier(g, key + "/read")
    if g.store.add(key + "/done", 1) == g.world_size:
        for r in range(g.world_size):
            g.store.delete_key("%s/%d" % (key, r))


def broadcast_object_list(object_list, src=0, group=None, device=None):
    g = _group(group)
    key = g.next_key()
    if g.rank == src:
        g.store.set(key, pickle.dumps(list(object_list)))
    got = pickle.loads(g.store.get(key))
    object_list[:] = got
    _barrier(g, key + "/read")
    if g.rank == src:
        g.store.delete_key(key)


def _no_grad():
    from .._grad_mode import no_grad
    return no_grad()
