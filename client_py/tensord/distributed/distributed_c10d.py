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
import time
import warnings
from datetime import timedelta
from multiprocessing.reduction import ForkingPickler
from urllib.parse import parse_qs, urlparse

from .. import _daemon
from ..multiprocessing.reductions import rebuild_tensor as _rebuild_tensor  # (importing it registers the
#   token reductions ForkingPickler uses)
from .store import FileStore
from .tcp_store import TCPStore

__all__ = ["ReduceOp", "Backend", "GroupMember", "init_process_group", "destroy_process_group", "is_initialized",
           "is_available", "get_rank", "get_world_size", "get_backend", "barrier", "all_reduce", "broadcast",
           "all_gather", "reduce", "all_gather_object", "broadcast_object_list", "gather", "scatter",
           "all_to_all", "reduce_scatter", "all_gather_into_tensor", "gather_object", "scatter_object_list",
           "is_gloo_available", "is_nccl_available", "is_mpi_available", "is_torchelastic_launched",
           "ProcessGroup", "group", "Work", "new_group", "new_subgroups", "new_subgroups_by_enumeration",
           "get_group_rank", "get_global_rank", "get_process_group_ranks", "get_default_backend_for_device",
           "send", "recv", "isend", "irecv", "P2POp", "batch_isend_irecv", "reduce_scatter_tensor",
           "all_to_all_single", "all_reduce_coalesced", "monitored_barrier", "is_ucc_available",
           "default_pg_timeout", "GradBucket"]

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


class ProcessGroup:
    """A process group (torch.distributed.ProcessGroup): the global ranks `ranks` (sorted),
    this process's rank among them, and a key space of its own in the default group's store
    (prefix).  rank() and size() as torch's."""

    def __init__(self, store, rank, ranks, backend, prefix=""):
        self.store, self.group_rank, self.ranks, self.backend, self.prefix = store, rank, list(ranks), backend, prefix
        self.group_size = len(self.ranks)
        self.seq = 0
        self.last_barrier = None
        self.sent, self.received = {}, {}  # point-to-point messages sent and claimed per (peer, tag)

    def rank(self):
        return self.group_rank

    def size(self):
        return self.group_size

    def next_key(self):
        self.seq += 1
        return "%sc%d" % (self.prefix, self.seq)

    def group_rank_of(self, global_rank):
        if self.prefix == "":
            if not 0 <= global_rank < self.group_size:
                raise ValueError("Invalid rank %d: the default process group has ranks 0..%d"
                                 % (global_rank, self.group_size - 1))
            return global_rank
        if global_rank not in self.ranks:
            raise RuntimeError("Global rank %d is not part of group %s" % (global_rank, self))
        return self.ranks.index(global_rank)


class group:
    WORLD = None  # the default process group once initialized


class GroupMember:
    WORLD = None
    NON_GROUP_MEMBER = object()


_state = {"group": None, "groups": 0}


def is_available():
    return True


def is_gloo_available():
    return True


def is_nccl_available():
    return True


def is_mpi_available():
    return False


def is_ucc_available():
    return False


def is_torchelastic_launched():
    return os.getenv("TORCHELASTIC_RUN_ID") is not None


def is_initialized():
    return _state["group"] is not None


def _default():
    g = _state["group"]
    if g is None:
        raise RuntimeError("Default process group has not been initialized, please make sure to call "
                           "init_process_group.")
    return g


def _group(group=None):
    """The ProcessGroup a call names (None and group.WORLD: the default one)."""
    default = _default()
    if group is None or group is GroupMember.WORLD:
        return default
    if not isinstance(group, ProcessGroup):
        raise RuntimeError("Invalid process group specified: %r" % (group,))
    return group


def _member(group, op_name):
    """The group, or None with torch's warning when this rank is not in it."""
    if group is GroupMember.NON_GROUP_MEMBER:
        _default()
        warnings.warn("Running %s on global rank %d which does not belong to the given group."
                      % (op_name, _state["group"].group_rank))
        return None
    return _group(group)


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
    elif url.scheme == "file":
        rank = int(query.get("rank", rank))
        world_size = int(query.get("world_size", world_size))
        if rank < 0:
            raise ValueError("Error initializing torch.distributed using file:// rendezvous: rank parameter missing")
        if world_size < 1:
            raise ValueError("Error initializing torch.distributed using file:// rendezvous: world size parameter "
                             "missing")
        if not 0 <= rank < world_size:
            raise ValueError("tensord.distributed: invalid rank %d for world size %d" % (rank, world_size))
        return FileStore(url.path, world_size, timeout), rank, world_size
    else:
        raise RuntimeError("No rendezvous handler for %s://" % url.scheme)
    if rank < 0 or world_size < 1 or rank >= world_size:
        raise ValueError("tensord.distributed: invalid rank %d for world size %d" % (rank, world_size))
    return TCPStore(host, port, world_size, rank == 0, timeout), rank, world_size


def _share_daemon(store, rank, world_size):
    """Every rank on rank 0's daemon: its address travels through the store.  Each other
    rank reports whether it could join (a rank already connected to another daemon
    cannot), so that rank 0 fails at once rather than at the group's timeout."""
    if rank == 0:
        store.set("tensord/address", _daemon.export_address())
        for r in range(1, world_size):
            refusal = store.get("tensord/joined/%d" % r)
            if refusal:
                raise RuntimeError("tensord.distributed: rank %d could not join the group: %s" % (r, refusal.decode()))
        return
    addr = store.get("tensord/address").decode()
    if not _daemon._state["connected"]:
        os.environ["TENSORD_ADDRESS"] = addr
        _daemon.ensure()
    elif _daemon.address() != addr:
        msg = ("tensord.distributed: rank %d uses the daemon at %s and rank 0 the one at %s; the ranks of a process "
               "group must share one daemon (one node: set TENSORD_ADDRESS, start the ranks with "
               "tensord.distributed.run, or let them connect after init_process_group)"
               % (rank, _daemon.address(), addr))
        store.set("tensord/joined/%d" % rank, msg)
        raise RuntimeError(msg)
    store.set("tensord/joined/%d" % rank, b"")


def init_process_group(backend=None, init_method=None, timeout=default_pg_timeout, world_size=-1, rank=-1,
                       store=None, group_name="", pg_options=None):
    if _state["group"] is not None:
        raise RuntimeError("trying to initialize the default process group twice!")
    backend = Backend(backend or "gloo")
    if store is None:
        store, rank, world_size = _rendezvous(init_method or "env://", rank, world_size, timeout)
    elif rank < 0 or world_size < 1:
        raise ValueError("world_size and rank must be given with store")
    _share_daemon(store, rank, world_size)
    g = ProcessGroup(store, rank, range(world_size), backend)
    g.timeout = timeout
    _state["group"] = group.WORLD = GroupMember.WORLD = g
    _state["groups"] = 0
    barrier()


def destroy_process_group(group=None):
    """The default group (None): every group, and the rendezvous; a group from new_group:
    only that one (its ranks must not use it afterwards)."""
    if group is GroupMember.NON_GROUP_MEMBER:
        return
    g = _default()
    if group is not None and group is not g:
        _group(group)  # type check; a subgroup holds nothing but its key prefix
        return
    try:
        barrier()
        if g.group_rank != 0:
            g.store.close()  # the master's store outlives every other rank's connection
        else:
            g.store.wait_for_others_to_leave()
    finally:
        _state["group"] = globals()["group"].WORLD = GroupMember.WORLD = None
        g.store.close()


def new_group(ranks=None, timeout=None, backend=None, pg_options=None):
    """A group of the given global ranks (all of them when None), as torch's: every rank of
    the default group calls it, in the same order; the others get
    GroupMember.NON_GROUP_MEMBER.  Its collectives have their own keys in the store."""
    default = _default()
    n = default.group_size
    if ranks is None:
        ranks = list(range(n))
    ranks = sorted(int(r) for r in ranks)
    if len(ranks) > n:
        raise RuntimeError("the new group's world size should be less or equal to the world size set by "
                           "init_process_group")
    if any(r < 0 or r >= n for r in ranks):
        raise RuntimeError("The new group's rank should be within the the world_size set by init_process_group")
    _state["groups"] += 1
    prefix = "g%d/" % _state["groups"]
    barrier()
    if default.group_rank not in ranks:
        return GroupMember.NON_GROUP_MEMBER
    g = ProcessGroup(default.store, ranks.index(default.group_rank), ranks, Backend(backend or default.backend),
                     prefix)
    g.timeout = timeout or default.timeout
    return g


def new_subgroups(group_size=None, group=None, timeout=None, backend=None, pg_options=None):
    """Consecutive groups of group_size ranks (default: the node's GPU count): (this rank's
    group, all of them)."""
    if group_size is None:
        from .. import cuda
        group_size = cuda.device_count()
        if group_size == 0:
            raise ValueError("The number of subgroups must be positive")
    n = get_world_size()
    if group_size <= 0:
        raise ValueError("group size must be positive, got %d" % group_size)
    if n % group_size:
        raise ValueError("The world size must be divisible by 'group_size'")
    return new_subgroups_by_enumeration([list(range(s, s + group_size)) for s in range(0, n, group_size)],
                                        timeout, backend, pg_options)


def new_subgroups_by_enumeration(ranks_per_subgroup_list, timeout=None, backend=None, pg_options=None):
    if not ranks_per_subgroup_list:
        raise ValueError("The arg 'ranks_per_subgroup_list' cannot be empty")
    me = get_rank()
    cur, subgroups, seen = None, [], set()
    for ranks in ranks_per_subgroup_list:
        if seen & set(ranks):
            raise ValueError("Rank %d has appeared in both subgroup" % min(seen & set(ranks)))
        seen |= set(ranks)
        sub = new_group(ranks, timeout, backend, pg_options)
        subgroups.append(sub)
        if me in ranks:
            cur = sub
    return cur, subgroups


def get_rank(group=None):
    if group is GroupMember.NON_GROUP_MEMBER:
        return -1
    return _group(group).group_rank


def get_world_size(group=None):
    if group is GroupMember.NON_GROUP_MEMBER:
        return -1
    return _group(group).group_size


def get_backend(group=None):
    if group is GroupMember.NON_GROUP_MEMBER:
        raise RuntimeError("Invalid process group specified")
    return _group(group).backend


def get_group_rank(group, global_rank):
    g = _group(group)
    return g.group_rank_of(global_rank)


def get_global_rank(group, group_rank):
    g = _group(group)
    if not 0 <= group_rank < g.group_size:
        raise RuntimeError("Group rank %d is not part of group %s" % (group_rank, g))
    return g.ranks[group_rank]


def get_process_group_ranks(group):
    return list(_group(group).ranks)


def get_default_backend_for_device(device):
    """torch 2.x: the backend for a device type ("cpu": gloo, "cuda": nccl)."""
    kind = device if isinstance(device, str) else device.type
    kind = kind.split(":")[0]
    if kind == "cpu":
        return Backend.GLOO
    if kind == "cuda":
        return Backend.NCCL
    raise ValueError("Default backend not registered for device : %s" % kind)


class Work:
    """A request of an async_op=True collective or isend/irecv (torch.distributed.Work).
    Collectives and sends finish before they return (a send hands over a copy); a receive
    completes at wait(), or at is_completed() once its message is there.  get_future():
    a completed Future of the collective's output tensors (DDP communication hooks)."""

    def __init__(self, result=None):
        self._result = result if result is not None else []

    def wait(self, timeout=None):
        return True

    def get_future(self):
        from ..futures import Future
        fut = Future()
        self.wait()
        fut.set_result(self.result())
        return fut

    def is_completed(self):
        return True

    def is_success(self):
        return self.is_completed()

    def exception(self):
        return None

    def result(self):
        return list(self._result)

    def source_rank(self):
        raise RuntimeError("source_rank() may only be called on a receive from any source")


def _done(async_op, result=None):
    return Work(result) if async_op else None


class GradBucket:
    """What a DDP communication hook gets (torch.distributed.GradBucket): the flattened
    gradients of some parameters (buffer()), those gradients as views into it, and the
    parameters."""

    def __init__(self, index, is_last, buffer, gradients, parameters):
        self._index, self._is_last, self._buffer = index, is_last, buffer
        self._gradients, self._parameters = gradients, parameters

    def index(self):
        return self._index

    def is_last(self):
        return self._is_last

    def buffer(self):
        return self._buffer

    def set_buffer(self, tensor):
        self._buffer = tensor

    def gradients(self):
        return list(self._gradients)

    def parameters(self):
        return list(self._parameters)


def _barrier(g, key):
    """Every rank reached key.  The rank that completes a barrier deletes the previous
    one's keys: every rank has left it, having arrived here."""
    if g.store.add(key, 1) == g.group_size:
        g.store.set(key + "/go", b"1")
        if g.last_barrier:
            g.store.delete_key(g.last_barrier)
            g.store.delete_key(g.last_barrier + "/go")
    g.store.wait([key + "/go"])
    g.last_barrier = key


def barrier(group=None, async_op=False, device_ids=None):
    g = _member(group, "barrier")
    if g is None:
        return
    _barrier(g, g.next_key())
    return _done(async_op)


def _host(tensor):
    """What a collective shares of tensor: itself on the CPU; a device tensor's CPU copy
    (device storage has no capability tokens)."""
    return tensor.detach() if tensor.device.type == "cpu" else tensor.detach().cpu()


def _publish(g, key, tensor, to):
    """Tokens of tensor (a CPU tensor) for the ranks in `to`, one each (a token opens once)."""
    for r in to:
        g.store.set("%s/%d>%d" % (key, g.group_rank, r), bytes(ForkingPickler.dumps(tensor)))


class _TokenUnpickler(pickle.Unpickler):
    """A peer's tensor token, nothing else: what the store hands over runs no code."""

    def find_class(self, module, name):
        if (module, name) == ("tensord.multiprocessing.reductions", "rebuild_tensor"):
            return _rebuild_tensor
        raise pickle.UnpicklingError("tensord.distributed: a collective received %s.%s where a tensor token "
                                     "belongs" % (module, name))


def _open(g, key, src):
    return _TokenUnpickler(io.BytesIO(g.store._take("%s/%d>%d" % (key, src, g.group_rank)))).load()


def _peers(g):
    return [r for r in range(g.group_size) if r != g.group_rank]


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
            out.copy_(mine if r == g.group_rank else _open(g, key, r))
    tensord.synchronize()


def _reduced(g, key, tensor, op):
    import tensord
    parts = [tensor if r == g.group_rank else _open(g, key, r) for r in range(g.group_size)]
    acc = parts[0]
    for x in parts[1:]:  # rank order: every rank computes the same bits
        acc = _combine(op, acc, x)
    if op == ReduceOp.AVG:
        acc = acc / g.group_size if acc.is_floating_point() else acc // g.group_size
    acc = acc.clone() if acc is tensor else acc
    tensord.synchronize()  # read every peer's tensor before they may change it
    return acc


def _check_tensor(t, name="tensor"):
    import tensord
    if not isinstance(t, tensord.Tensor):
        raise RuntimeError("Invalid function argument. Expected parameter `%s` to be of type torch.Tensor." % name)


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    _check_tensor(tensor)
    g = _member(group, "all_reduce")
    if g is None:
        return
    key = g.next_key()
    if g.group_size > 1:
        mine = _host(tensor)
        _publish(g, key, mine, _peers(g))
        acc = _reduced(g, key, mine, op)
        _barrier(g, key + "/read")
        with _no_grad():
            tensor.copy_(acc)
    return _done(async_op, [tensor])


def reduce(tensor, dst, op=ReduceOp.SUM, group=None, async_op=False):
    _check_tensor(tensor)
    g = _member(group, "reduce")
    if g is None:
        return
    dst = g.group_rank_of(dst)
    key = g.next_key()
    if g.group_size > 1:
        mine = _host(tensor)
        if g.group_rank != dst:
            _publish(g, key, mine, [dst])
            _barrier(g, key + "/read")
        else:
            acc = _reduced(g, key, mine, op)
            _barrier(g, key + "/read")
            with _no_grad():
                tensor.copy_(acc)
    return _done(async_op, [tensor])


def broadcast(tensor, src, group=None, async_op=False):
    _check_tensor(tensor)
    g = _member(group, "broadcast")
    if g is None:
        return
    src = g.group_rank_of(src)
    key = g.next_key()
    if g.group_size > 1:
        if g.group_rank == src:
            _publish(g, key, _host(tensor), _peers(g))
        else:
            import tensord
            with _no_grad():
                tensor.copy_(_open(g, key, src))
            tensord.synchronize()
        _barrier(g, key + "/read")
    return _done(async_op, [tensor])


def all_gather(tensor_list, tensor, group=None, async_op=False):
    _check_tensor(tensor)
    g = _member(group, "all_gather")
    if g is None:
        return
    if len(tensor_list) != g.group_size:
        raise RuntimeError("all_gather: tensor_list has %d tensors for a world of %d" % (len(tensor_list), g.group_size))
    key = g.next_key()
    _publish(g, key, _host(tensor), _peers(g))
    _receive(g, key, tensor_list, tensor)
    _barrier(g, key + "/read")
    return _done(async_op, list(tensor_list))


def gather(tensor, gather_list=None, dst=0, group=None, async_op=False):
    _check_tensor(tensor)
    g = _member(group, "gather")
    if g is None:
        return
    dst = g.group_rank_of(dst)
    key = g.next_key()
    if g.group_rank != dst:
        if gather_list:
            raise ValueError("Argument ``gather_list`` must NOT be specified on non-destination ranks.")
        _publish(g, key, _host(tensor), [dst])
    else:
        if gather_list is None or len(gather_list) != g.group_size:
            raise ValueError("Argument ``gather_list`` must be specified on destination rank.")
        _receive(g, key, gather_list, tensor)
    _barrier(g, key + "/read")
    return _done(async_op)


def scatter(tensor, scatter_list=None, src=0, group=None, async_op=False):
    _check_tensor(tensor)
    g = _member(group, "scatter")
    if g is None:
        return
    src = g.group_rank_of(src)
    key = g.next_key()
    import tensord
    if g.group_rank == src:
        if scatter_list is None or len(scatter_list) != g.group_size:
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
    return _done(async_op, [tensor])


def all_to_all(output_tensor_list, input_tensor_list, group=None, async_op=False):
    """output_tensor_list[r] = rank r's input_tensor_list[this rank]."""
    g = _member(group, "all_to_all")
    if g is None:
        return
    if len(output_tensor_list) != g.group_size or len(input_tensor_list) != g.group_size:
        raise RuntimeError("all_to_all: the tensor lists must have world_size (%d) tensors" % g.group_size)
    key = g.next_key()
    for r in _peers(g):
        _publish(g, key, _host(input_tensor_list[r]), [r])
    _receive(g, key, output_tensor_list, input_tensor_list[g.group_rank])
    _barrier(g, key + "/read")
    return _done(async_op, list(output_tensor_list))


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op=False):
    """output = the reduction over the ranks of their input_list[this rank]."""
    g = _member(group, "reduce_scatter")
    if g is None:
        return
    if len(input_list) != g.group_size:
        raise RuntimeError("reduce_scatter: input_list must have world_size (%d) tensors" % g.group_size)
    key = g.next_key()
    for r in _peers(g):
        _publish(g, key, _host(input_list[r]), [r])
    acc = _reduced(g, key, _host(input_list[g.group_rank]), op)
    _barrier(g, key + "/read")
    with _no_grad():
        output.copy_(acc)
    return _done(async_op, [output])


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op=False):
    """output = the reduction over the ranks of their input's chunk for this rank (input
    holds world_size outputs along dim 0)."""
    g = _member(group, "reduce_scatter_tensor")
    if g is None:
        return
    if input.numel() != output.numel() * g.group_size:
        raise ValueError("input tensor must be the same size as output size times world size")
    parts = list(input.reshape(g.group_size, *output.shape).unbind(0))
    return reduce_scatter(output, parts, op, group, async_op)


def all_to_all_single(output, input, output_split_sizes=None, input_split_sizes=None, group=None,
                      async_op=False):
    """all_to_all over slices along dim 0: input's r-th slice goes to rank r, rank r's slice
    for this rank lands in output's r-th slice (equal slices unless split sizes say)."""
    g = _member(group, "all_to_all_single")
    if g is None:
        return

    def slices(t, sizes):
        if sizes is None:
            if t.shape[0] % g.group_size:
                raise RuntimeError("Tensor's dim 0 does not divide equally across group size")
            sizes = [t.shape[0] // g.group_size] * g.group_size
        if len(sizes) != g.group_size or sum(sizes) != t.shape[0]:
            raise RuntimeError("Split sizes doesn't match total dim 0 size")
        return list(t.split(list(sizes)))
    outs = slices(output, output_split_sizes)
    return all_to_all(outs, slices(input, input_split_sizes), group, async_op)


def all_reduce_coalesced(tensors, op=ReduceOp.SUM, group=None, async_op=False):
    for t in tensors:
        all_reduce(t, op, group)
    return _done(async_op, list(tensors))


def monitored_barrier(group=None, timeout=None, wait_all_ranks=False):
    return barrier(group)


# ---- point to point: a message is a token of a copy of the tensor, under a key of its
# (sender, receiver, tag, sequence number) in the group's key space; a send never waits
# for its receiver, a receive waits for its message.

def _message_key(g, src, dst, tag, seq):
    return "%sp%d>%d/%d/%d" % (g.prefix, src, dst, tag, seq)


def _peer(g, rank, what):
    peer = g.group_rank_of(rank)
    if peer == g.group_rank:
        raise RuntimeError("Invalid %s rank %d: it is this process's own rank" % (what, rank))
    return peer


def isend(tensor, dst, group=None, tag=0):
    _check_tensor(tensor)
    g = _member(group, "isend")
    if g is None:
        return None
    peer = _peer(g, dst, "destination")
    seq = g.sent[(peer, tag)] = g.sent.get((peer, tag), 0) + 1
    copy = tensor.detach().clone() if tensor.device.type == "cpu" else _host(tensor)
    g.store.set(_message_key(g, g.group_rank, peer, tag, seq), bytes(ForkingPickler.dumps(copy)))
    return Work()


def send(tensor, dst, group=None, tag=0):
    isend(tensor, dst, group, tag)


class _Receive(Work):
    """A receive.  From a given source it claims that source's next message number when
    posted, so receives match sends in posting order however they are waited for; from
    any source it claims the next message of whichever source has one first."""

    def __init__(self, g, tensor, src, tag):
        self.g, self.tensor, self.src, self.tag, self.done = g, tensor, src, tag, False
        self.seq = None if src is None else self._claim(src)

    def _claim(self, src):
        seq = self.g.received[(src, self.tag)] = self.g.received.get((src, self.tag), 0) + 1
        return seq

    def _key(self, src, seq):
        return _message_key(self.g, src, self.g.group_rank, self.tag, seq)

    def _ready_source(self):
        """For a posted receive from a source: it if its message is there; from any source:
        the lowest rank whose next unclaimed message is there; else None."""
        if self.src is not None:
            return self.src if self.g.store.check([self._key(self.src, self.seq)]) else None
        for src in _peers(self.g):
            if self.g.store.check([self._key(src, self.g.received.get((src, self.tag), 0) + 1)]):
                return src
        return None

    def _take(self, src):
        g = self.g
        if self.seq is None:
            self.seq = self._claim(src)
        got = _TokenUnpickler(io.BytesIO(g.store._take(self._key(src, self.seq)))).load()
        if got.numel() != self.tensor.numel():
            raise RuntimeError("recv: the message from rank %d has %d elements, the receiving tensor %d"
                               % (g.ranks[src], got.numel(), self.tensor.numel()))
        with _no_grad():
            self.tensor.copy_(got.reshape(self.tensor.shape))
        self.done, self.src = True, src

    def wait(self, timeout=None):
        if self.done:
            return True
        if self.src is not None:
            self.g.store.wait([self._key(self.src, self.seq)])
            self._take(self.src)
            return True
        limit = timeout if timeout is not None else self.g.timeout
        limit = limit.total_seconds() if isinstance(limit, timedelta) else float(limit)
        deadline, pause = time.monotonic() + limit, 0.0005
        while True:
            src = self._ready_source()
            if src is not None:
                self._take(src)
                return True
            if time.monotonic() > deadline:
                raise RuntimeError("recv from any source: no message within %.0f s" % limit)
            time.sleep(pause)
            pause = min(pause * 2, 0.02)

    def is_completed(self):
        if not self.done:
            src = self._ready_source()
            if src is not None:
                self._take(src)
        return self.done

    def source_rank(self):
        self.wait()
        return self.g.ranks[self.src]

    _source_rank = source_rank


def irecv(tensor, src=None, group=None, tag=0):
    _check_tensor(tensor)
    g = _member(group, "irecv")
    if g is None:
        return None
    return _Receive(g, tensor, None if src is None else _peer(g, src, "source"), tag)


def recv(tensor, src=None, group=None, tag=0):
    """Waits for the message; returns the sender's global rank (-1 outside the group)."""
    _check_tensor(tensor)
    if group is GroupMember.NON_GROUP_MEMBER:
        _member(group, "recv")
        return -1
    return irecv(tensor, src, group, tag).source_rank()


class P2POp:
    """One isend or irecv of a batch_isend_irecv."""

    def __init__(self, op, tensor, peer, group=None, tag=0):
        if op not in (isend, irecv):
            raise RuntimeError("Invalid ``op``. Expected ``op`` to be of type ``torch.distributed.isend`` or "
                               "``torch.distributed.irecv``.")
        _check_tensor(tensor)
        self.op, self.tensor, self.peer, self.group, self.tag = op, tensor, peer, group, tag


def batch_isend_irecv(p2p_op_list):
    if not isinstance(p2p_op_list, list) or not all(isinstance(op, P2POp) for op in p2p_op_list):
        raise RuntimeError("Invalid ``p2p_op_list``. Each op is expected to to be of type "
                           "``torch.distributed.P2POp``.")
    if not all(op.group == p2p_op_list[0].group for op in p2p_op_list):
        raise RuntimeError("All ops need to use the same group.")
    reqs = [op.op(op.tensor, op.peer, op.group, op.tag) for op in p2p_op_list]
    return [r for r in reqs if r is not None]


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """output_tensor (world_size * n elements along dim 0) = every rank's input_tensor, in
    rank order."""
    g = _member(group, "all_gather_into_tensor")
    if g is None:
        return
    if output_tensor.numel() != input_tensor.numel() * g.group_size:
        raise ValueError("output tensor size must be equal to world_size times input tensor size")
    parts = list(output_tensor.reshape(g.group_size, *input_tensor.shape).unbind(0))
    return all_gather(parts, input_tensor, group, async_op)


def gather_object(obj, object_gather_list=None, dst=0, group=None):
    g = _member(group, "gather_object")
    if g is None:
        return
    dst = g.group_rank_of(dst)
    got = [None] * g.group_size
    all_gather_object(got, obj, group)
    if g.group_rank == dst:
        object_gather_list[:] = got


def scatter_object_list(scatter_object_output_list, scatter_object_input_list, src=0, group=None):
    g = _member(group, "scatter_object_list")
    if g is None:
        return
    objs = list(scatter_object_input_list) if g.group_rank == g.group_rank_of(src) else [None] * g.group_size
    broadcast_object_list(objs, src, group)
    scatter_object_output_list[0] = objs[g.group_rank]


def all_gather_object(object_list, obj, group=None):
    g = _member(group, "all_gather_object")
    if g is None:
        return
    key = g.next_key()
    buf = io.BytesIO()
    pickle.dump(obj, buf)
    g.store.set("%s/%d" % (key, g.group_rank), buf.getvalue())
    for r in range(g.group_size):
        object_list[r] = pickle.loads(g.store.get("%s/%d" % (key, r)))
    _barrier(g, key + "/read")
    if g.store.add(key + "/done", 1) == g.group_size:
        for r in range(g.group_size):
            g.store.delete_key("%s/%d" % (key, r))


def broadcast_object_list(object_list, src=0, group=None, device=None):
    g = _member(group, "broadcast_object_list")
    if g is None:
        return
    src = g.group_rank_of(src)
    key = g.next_key()
    if g.group_rank == src:
        g.store.set(key, pickle.dumps(list(object_list)))
    got = pickle.loads(g.store.get(key))
    object_list[:] = got
    _barrier(g, key + "/read")
    if g.group_rank == src:
        g.store.delete_key(key)


def _no_grad():
    from .._grad_mode import no_grad
    return no_grad()
