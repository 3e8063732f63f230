"""tensord.distributed and DistributedDataParallel: real rank processes (env://
rendezvous, a TCPStore served by rank 0) on the test daemon, each script run once under
PyTorch 1.13's gloo backend and once under `python -m tensord`, every printed value
compared; tensord's own cases (AVG, refusals) against numpy."""
import os
import socket
import subprocess
import sys
import textwrap

import pytest

COLLECTIVES = textwrap.dedent("""
    import torch, torch.nn as nn, torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP

    dist.init_process_group("gloo")
    rank, ws = dist.get_rank(), dist.get_world_size()
    for op in ("SUM", "PRODUCT", "MIN", "MAX"):
        t = torch.tensor([1.5, -2.0, 3.0, 0.25]) * (rank + 1) - rank
        dist.all_reduce(t, op=getattr(dist.ReduceOp, op))
        print(op, t.tolist())
    i = torch.arange(5) * (rank + 2)
    dist.all_reduce(i)
    print("int64", i.tolist(), i.dtype)
    b = torch.full((2, 3), float(rank)).t()  # a transposed view
    dist.broadcast(b, ws - 1)
    print("broadcast", b.tolist())
    got = [torch.zeros(2) for _ in range(ws)]
    dist.all_gather(got, torch.full((2,), rank + 0.5))
    print("all_gather", [g.tolist() for g in got])
    r = torch.ones(3) * (rank + 1)
    dist.reduce(r, 0)
    if rank == 0:
        print("reduce", r.tolist())
    objs = [None] * ws
    dist.all_gather_object(objs, {"rank": rank, "name": "r%d" % rank})
    print("objects", objs)
    lst = [rank, "x"] if rank == 1 else [None, None]
    dist.broadcast_object_list(lst, src=1)
    print("object list", lst)
    dist.barrier()
    torch.manual_seed(rank)  # a different init per rank: DDP starts every rank from rank 0's
    model = DDP(nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1)))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    torch.manual_seed(100 + rank)  # and different data
    for step in range(4):
        x, y = torch.randn(6, 3), torch.randn(6, 1)
        opt.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        opt.step()
    opt.zero_grad()
    with model.no_sync():  # gradient accumulation: local, then averaged with the next pass
        model(torch.ones(2, 3) * (rank + 1)).sum().backward()
    model(torch.ones(2, 3) * (rank - 1)).sum().backward()
    opt.step()
    print("params", [round(float(p.detach().sum()), 5) for p in model.module.parameters()])
    print("state keys", list(model.state_dict())[:2])
    dist.destroy_process_group()
""")


MORE = textwrap.dedent("""
    import torch, torch.distributed as dist
    dist.init_process_group("gloo")
    rank, ws = dist.get_rank(), dist.get_world_size()
    x = torch.arange(3.0) + 10 * rank
    got = [torch.zeros(3) for _ in range(ws)] if rank == 1 else None
    dist.gather(x, got, dst=1)
    print("gather", [g.tolist() for g in got] if got else None)
    out = torch.zeros(2, dtype=torch.int64)
    dist.scatter(out, [torch.tensor([r, -r]) for r in range(ws)] if rank == 0 else None, src=0)
    print("scatter", out.tolist())
    objs = [None] * ws if rank == 0 else None
    dist.gather_object({"r": rank}, objs, dst=0)
    print("gather_object", objs)
    mine = [None]
    dist.scatter_object_list(mine, ["s%d" % r for r in range(ws)] if rank == 0 else None, src=0)
    print("scatter_object_list", mine)
    dist.destroy_process_group()
""")

NOT_IN_GLOO = textwrap.dedent("""
    import torch, torch.distributed as dist
    dist.init_process_group("gloo")
    rank, ws = dist.get_rank(), dist.get_world_size()
    outs = [torch.zeros(2) for _ in range(ws)]
    dist.all_to_all(outs, [torch.tensor([rank, r]) * 1.0 for r in range(ws)])
    print("all_to_all", [o.tolist() for o in outs])
    o = torch.zeros(2)
    dist.reduce_scatter(o, [torch.full((2,), float(rank * 10 + r)) for r in range(ws)])
    print("reduce_scatter", o.tolist())
    big = torch.zeros(ws * 2, 2)
    dist.all_gather_into_tensor(big, torch.full((2, 2), float(rank)))
    print("all_gather_into_tensor", big[:, 0].tolist())
    dist.destroy_process_group()
""")


def test_gather_scatter_like_torch(tmp_path):
    want = _ranks(MORE, tmp_path, 3, False)
    got = _ranks(MORE, tmp_path, 3, True)
    for r in range(3):
        assert want[r][0] == 0 and got[r][0] == 0, (want[r][2], got[r][2])
        assert got[r][1] == want[r][1], (got[r][1], want[r][1])


def test_all_to_all_and_reduce_scatter(tmp_path):
    """Collectives torch 1.13's gloo lacks: against the values they must give."""
    got = _ranks(NOT_IN_GLOO, tmp_path, 3, True)
    for r in range(3):
        assert got[r][0] == 0, got[r][2]
        total = float(sum(s * 10 + r for s in range(3)))
        assert got[r][1].splitlines() == ["all_to_all %s" % [[float(s), float(r)] for s in range(3)],
                                          "reduce_scatter %s" % [total, total],
                                          "all_gather_into_tensor [0.0, 0.0, 1.0, 1.0, 2.0, 2.0]"]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ranks(script, tmp_path, world, tensord_run, extra_env=None):
    """Runs world ranks of script; their outputs, rank order."""
    import tensord
    path = tmp_path / "ranks.py"
    path.write_text(script)
    port = _free_port()
    procs = []
    for r in range(world):
        env = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(r), WORLD_SIZE=str(world))
        env["PYTHONPATH"] = os.path.dirname(os.path.dirname(os.path.abspath(tensord.__file__)))
        if tensord_run and r > 0:
            env.pop("TENSORD_ADDRESS", None)  # ranks find rank 0's daemon through the store
        env.update(extra_env or {})
        cmd = [sys.executable, "-m", "tensord", str(path)] if tensord_run else [sys.executable, str(path)]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                      cwd=str(tmp_path)))
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        outs.append((p.returncode, out, err))
    return outs


@pytest.mark.parametrize("world", [2, 3])
def test_collectives_and_ddp_like_torch(tmp_path, world):
    want = _ranks(COLLECTIVES, tmp_path, world, False)
    got = _ranks(COLLECTIVES, tmp_path, world, True)
    for r in range(world):
        assert want[r][0] == 0, want[r][2]
        assert got[r][0] == 0, got[r][2]
        assert got[r][1] == want[r][1], (r, got[r][1], want[r][1])
    params = {o[1].split("params")[1].splitlines()[0] for o in got}
    assert len(params) == 1  # every rank took the same steps


AVG_AND_ERRORS = textwrap.dedent("""
    import torch, torch.distributed as dist
    try:
        dist.get_rank()
    except RuntimeError as e:
        print("before init:", e)
    dist.init_process_group("gloo")
    t = torch.tensor([1.0, 2.0]) * (dist.get_rank() + 1)
    dist.all_reduce(t, op=dist.ReduceOp.AVG)
    print("avg", t.tolist())
    try:
        dist.init_process_group("gloo")
    except RuntimeError as e:
        print("twice:", e)
    dist.destroy_process_group()
    print("initialized", dist.is_initialized())
""")


def test_avg_and_errors(tmp_path):
    outs = _ranks(AVG_AND_ERRORS, tmp_path, 3, True)
    for code, out, err in outs:
        assert code == 0, err
        assert out.splitlines() == [
            "before init: Default process group has not been initialized, please make sure to call "
            "init_process_group.", "avg [2.0, 4.0]", "twice: trying to initialize the default process group twice!",
            "initialized False"]


def test_ranks_on_different_daemons_refused(tmp_path):
    """A rank already connected to another daemon (its own private one) cannot join."""
    script = textwrap.dedent("""
        import datetime, os, torch, torch.distributed as dist
        if os.environ["RANK"] == "1":
            torch.ones(1).sum().item()  # connects first: a private daemon of its own
        try:
            dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=3))
            print("joined")
        except RuntimeError as e:
            print("refused:", str(e)[:60])
    """)
    outs = _ranks(script, tmp_path, 2, True, extra_env={"TENSORD_ADDRESS": "", "XDG_RUNTIME_DIR": str(tmp_path)})
    assert outs[1][1].startswith("refused: tensord.distributed: rank 1 uses the daemon at"), outs[1]
    # rank 0 waits for rank 1 at the group's first barrier until the timeout
    assert outs[0][1].startswith("refused: Timeout waiting for key"), outs[0]


def _launch(tmp_path, script, *args):
    import tensord
    (tmp_path / "job.py").write_text(script)
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(tensord.__file__))))
    return subprocess.run([sys.executable, "-m", "tensord", "-m", "torch.distributed.run", *args, "job.py"],
                          capture_output=True, text=True, timeout=300, cwd=str(tmp_path), env=env)


def test_launcher_runs_ranks(tmp_path):
    """torchrun's one-node form: the ranks get torchrun's environment and one daemon."""
    got = _launch(tmp_path, textwrap.dedent("""
        import os, torch, torch.distributed as dist
        dist.init_process_group("gloo")
        t = torch.tensor([float(dist.get_rank() + 1)])
        dist.all_reduce(t)
        # one write per line: the ranks share the launcher's stdout (print's two writes interleave)
        os.write(1, ("rank %s/%s local %s sum %s\\n" % (os.environ["RANK"], os.environ["WORLD_SIZE"],
                                                        os.environ["LOCAL_RANK"], t.item())).encode())
        dist.destroy_process_group()
    """), "--nproc_per_node=3")
    assert got.returncode == 0, got.stderr
    assert sorted(got.stdout.splitlines()) == ["rank 0/3 local 0 sum 6.0", "rank 1/3 local 1 sum 6.0",
                                               "rank 2/3 local 2 sum 6.0"]


def test_launcher_stops_the_others_when_a_rank_fails(tmp_path):
    got = _launch(tmp_path, textwrap.dedent("""
        import os, sys, time, torch.distributed as dist
        dist.init_process_group("gloo")
        if dist.get_rank() == 1:
            sys.exit(3)
        dist.barrier()  # waits for rank 1 forever: the launcher stops it
    """), "--nproc-per-node", "2")
    assert got.returncode == 3, got.stderr


UNUSED = textwrap.dedent("""
    import torch, torch.nn as nn, torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.used, self.unused = nn.Linear(3, 2), nn.Linear(3, 2)

        def forward(self, x):
            return self.used(x)

    dist.init_process_group("gloo")
    rank = dist.get_rank()
    torch.manual_seed(0)
    model = DDP(Net(), find_unused_parameters=True)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for step in range(3):
        opt.zero_grad()
        model(torch.ones(2, 3) * (rank + step)).pow(2).sum().backward()
        opt.step()
    print("params", [round(float(p.detach().sum()), 5) for p in model.module.parameters()])
    strict = DDP(Net())
    strict(torch.ones(2, 3)).sum().backward()
    try:
        strict(torch.ones(2, 3))
        print("no error")
    except RuntimeError as e:
        print(str(e).split(". ")[0])
""")


def test_unused_parameters_like_torch(tmp_path):
    want = _ranks(UNUSED, tmp_path, 2, False)
    got = _ranks(UNUSED, tmp_path, 2, True)
    for r in range(2):
        assert want[r][0] == 0 and got[r][0] == 0, (want[r][2], got[r][2])
        assert got[r][1] == want[r][1], (got[r][1], want[r][1])
    assert "Expected to have finished reduction in the prior iteration" in got[0][1]


def test_store_wire_and_hostile_input(tmp_path):
    """TCPStore as torch's (counters read back as ASCII numbers, wait/get time out with a
    RuntimeError); the master survives garbage on a connection, and what a collective takes
    from the store is a tensor token or is refused before anything runs."""
    import pickle
    import struct
    from datetime import timedelta

    import tensord
    from tensord.distributed import TCPStore, distributed_c10d as c10d

    master = TCPStore("127.0.0.1", 0, 1, True, timeout=timedelta(seconds=1))
    other = TCPStore("127.0.0.1", master.port, 1, False, timeout=timedelta(seconds=1))
    assert master.add("n", 2) == 2 and other.add("n", 3) == 5 and master.get("n") == b"5"
    other.set("k", "text")
    assert master.get("k") == b"text" and master.check(["k", "n"]) and not master.check(["k", "nope"])
    with pytest.raises(RuntimeError, match="Timeout waiting for key"):
        master.get("nope")
    with pytest.raises(ValueError, match="does not hold a number"):
        master.add("k", 1)
    for junk in (b"\xff" * 64, struct.pack("<Bdqh", 1, 1.0, 0, -3), struct.pack("<Bdqh", 0, 1.0, 0, 1) +
                 struct.pack("<I", 1 << 31)):
        with socket.create_connection(("127.0.0.1", master.port)) as s:
            s.sendall(junk)
            s.settimeout(5)
            try:
                assert s.recv(64) == b""  # the master drops that connection ...
            except ConnectionResetError:
                pass  # (reset: it had unread bytes)
    assert other.get("k") == b"text"  # ... and serves the others
    assert master.delete_key("k") and not master.delete_key("k")

    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (os.system, ("touch " + str(marker),))

    g = c10d._Group(master, 0, 2, "gloo")
    master.set("c1/1>0", pickle.dumps(Evil()))
    with pytest.raises(pickle.UnpicklingError, match="where a tensor token belongs"):
        c10d._open(g, "c1", 1)
    assert not marker.exists()
    other.close()
    master.close()
    assert tensord.ones(1).item() == 1.0
