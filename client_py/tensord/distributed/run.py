"""torchrun for one node (torch.distributed.run): starts --nproc_per_node copies of a
training script with RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR and
MASTER_PORT set for init_process_group("env://") and TENSORD_ADDRESS set to one daemon
(the node's, else a private one of the launcher's); when one fails, the others are
stopped, the failure is reported as torchrun reports it (the rank's traceback when its
entry point is decorated with elastic's @record, which writes TORCHELASTIC_ERROR_FILE)
and its exit code is returned.

    python -m tensord.distributed.run --nproc_per_node=2 train.py --lr 0.1
    python -m tensord -m torch.distributed.run --nproc_per_node=2 train.py  (torch spelled)
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

__all__ = ["main"]


def _parser():
    p = argparse.ArgumentParser(prog="python -m tensord.distributed.run",
                                description="Start the ranks of a one-node tensord.distributed job.")
    p.add_argument("--nproc_per_node", "--nproc-per-node", type=int, default=1)
    p.add_argument("--nnodes", type=str, default="1")
    p.add_argument("--node_rank", "--node-rank", type=int, default=0)
    p.add_argument("--master_addr", "--master-addr", default="127.0.0.1")
    p.add_argument("--master_port", "--master-port", type=int, default=0)
    p.add_argument("--standalone", action="store_true")
    p.add_argument("-m", "--module", action="store_true", help="run the script as a module (python -m)")
    p.add_argument("script")
    p.add_argument("script_args", nargs=argparse.REMAINDER)
    return p


def _free_port(addr):
    with socket.socket() as s:
        s.bind((addr, 0))
        return s.getsockname()[1]


def main(argv=None):
    a = _parser().parse_args(argv)
    if a.nnodes not in ("1", "1:1") or a.node_rank != 0:
        raise SystemExit("tensord.distributed.run: one node only (the ranks share its daemon)")
    if a.nproc_per_node < 1:
        raise SystemExit("tensord.distributed.run: --nproc_per_node must be at least 1")
    port = a.master_port or _free_port(a.master_addr)
    n = a.nproc_per_node
    # one daemon for every rank, whatever each touches before init_process_group: the
    # node's, or a private one of this launcher's, which outlives the ranks
    from .. import _daemon
    _daemon.export_address()
    procs, errdir = [], tempfile.mkdtemp(prefix="tensord-run-")
    for r in range(n):
        env = dict(os.environ, RANK=str(r), LOCAL_RANK=str(r), WORLD_SIZE=str(n), LOCAL_WORLD_SIZE=str(n),
                   GROUP_RANK="0", MASTER_ADDR=a.master_addr, MASTER_PORT=str(port),
                   TORCHELASTIC_RUN_ID="tensord-%d" % os.getpid(),
                   TORCHELASTIC_ERROR_FILE=os.path.join(errdir, "rank%d.json" % r))
        cmd = [sys.executable, "-u"] + (["-m"] if a.module else []) + [a.script] + a.script_args
        procs.append(subprocess.Popen(cmd, env=env))
    ranks = {p.pid: r for r, p in enumerate(procs)}
    code = 0
    try:
        while procs:
            for p in list(procs):
                rc = p.poll()
                if rc is None:
                    continue
                procs.remove(p)
                if rc != 0:
                    code = rc if rc > 0 else 128 - rc
                    _report(a.script, ranks[p.pid], p.pid, rc, os.path.join(errdir, "rank%d.json" % ranks[p.pid]))
                    for q in procs:  # a failed rank: the others would wait for it
                        q.send_signal(signal.SIGTERM)
                    for q in procs:
                        try:
                            q.wait(timeout=30)
                        except subprocess.TimeoutExpired:
                            q.kill()
                    procs = []
                    break
            time.sleep(0.05)
    except KeyboardInterrupt:
        for q in procs:
            q.send_signal(signal.SIGINT)
        code = 130
    finally:
        shutil.rmtree(errdir, ignore_errors=True)
    return code


def _report(script, rank, pid, rc, error_file):
    """torchrun's summary of the first failure, with the rank's traceback when it wrote one."""
    tb = "To enable traceback see: https://pytorch.org/docs/stable/elastic/errors.html"
    try:
        with open(error_file) as f:
            tb = json.load(f)["message"]["extraInfo"]["py_callstack"].rstrip()
    except (OSError, ValueError, KeyError, TypeError):
        error_file = "<N/A>"
    bar = "=" * 60
    sys.stderr.write("%s\n%s FAILED\n%s\nRoot Cause (first observed failure):\n[0]:\n"
                     "  time      : %s\n  host      : %s\n  rank      : %d (local_rank: %d)\n"
                     "  exitcode  : %d (pid: %d)\n  error_file: %s\n  traceback : %s\n%s\n"
                     % (bar, script, "-" * 60, time.strftime("%Y-%m-%d_%H:%M:%S"), socket.gethostname(), rank,
                        rank, rc, pid, error_file, tb.replace("\n", "\n  "), bar))


if __name__ == "__main__":
    sys.exit(main())
