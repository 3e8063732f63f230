"""Threads and fork, with the real daemon and real processes.

Threads: one connection per process, created once whichever thread comes first; ops from
many threads interleave safely.  Fork: the child gets its own session at its first call,
the parent's session is untouched, and a tensor inherited from the parent is opened in the
child's session on first use (through the parent's fork grant) and aliases its storage.  Every scenario runs in a fresh Python process (first use is
what races), against the session's daemon ($TENSORD_ADDRESS) unless said otherwise.
"""
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest


def _family(pid):
    """pid and its descendants (the script forks)."""
    pids, i = [pid], 0
    while i < len(pids):
        try:
            with open("/proc/%d/task/%d/children" % (pids[i], pids[i])) as f:
                pids += [int(c) for c in f.read().split()]
        except OSError:
            pass
        i += 1
    return pids


def _stacks(pids):
    """The C stacks of pids (gdb, where installed): what a hang report needs, since a
    process stuck in a lock cannot say where it is."""
    gdb = shutil.which("gdb")
    if not gdb:
        return "(no gdb here: each thread's kernel wait instead)\n" + _waits(pids)
    out = []
    for q in pids:
        r = subprocess.run([gdb, "-p", str(q), "-batch", "-ex", "thread apply all bt 40"],
                           capture_output=True, text=True, timeout=120)
        out.append("=== pid %d\n%s" % (q, "\n".join(l for l in r.stdout.splitlines()
                                                    if l.startswith(("#", "Thread")))))
    return "\n".join(out)


def _waits(pids):
    """Where each thread of pids sleeps in the kernel (wchan, the syscall): enough to
    tell a futex (a lock) from a poll (waiting for the daemon) without a debugger."""
    out = []
    for q in pids:
        try:
            for tid in sorted(os.listdir("/proc/%d/task" % q), key=int):
                base = "/proc/%d/task/%s/" % (q, tid)
                with open(base + "wchan") as f, open(base + "syscall") as g, open(base + "comm") as h:
                    out.append("pid %d tid %s %s: wchan %s syscall %s" % (q, tid, h.read().strip(), f.read().strip(),
                                                                          g.read().split(" ")[0].strip()))
        except OSError as e:
            out.append("pid %d: %s" % (q, e))
    return "\n".join(out)


# every process of a script (forked children too) dumps its Python threads' stacks on
# SIGUSR1, which _run sends before killing a hung family
_PY_STACKS = "import faulthandler as _fh, signal as _sig; _fh.register(_sig.SIGUSR1, all_threads=True)\n"


def _run(script, timeout=240, env=None, args=()):
    env = dict(os.environ if env is None else env)
    p = subprocess.Popen([sys.executable, "-c", _PY_STACKS + textwrap.dedent(script)] + [str(a) for a in args],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        pids = _family(p.pid)
        stacks = _stacks(pids)
        for q in pids:
            try:
                os.kill(q, signal.SIGUSR1)
            except OSError:
                pass
        time.sleep(1)
        for q in pids:
            try:
                os.kill(q, 9)
            except OSError:
                pass
        out, err = p.communicate()
        raise AssertionError("hung for %d s\nstdout:\n%s\nstderr:\n%s\nstacks:\n%s" % (timeout, out, err, stacks))
    assert p.returncode == 0, "rc %d\nstdout:\n%s\nstderr:\n%s" % (p.returncode, out, err)
    return out


# 8 threads whose first tensord call happens at the same instant; repeated in-process by
# dropping the connection between rounds (the first round is a real first use).
THREADS = """
    import sys, threading
    import tensord as torch
    from tensord import _C, _daemon

    N, ROUNDS = 8, int(sys.argv[1])
    for rnd in range(ROUNDS):
        barrier = threading.Barrier(N)
        errors, sessions = [], set()

        def work(k):
            try:
                barrier.wait()
                x = torch.full((64,), float(k))          # first call of this thread
                sessions.add(_C.session())
                for i in range(10):
                    y = (x * 2 + i).sum()
                    assert y.item() == 64 * (2 * k + i), (k, i, y.item())
                    z = torch.arange(10) + k
                    assert z.tolist() == [j + k for j in range(10)]
            except BaseException as e:
                errors.append("%d: %r" % (k, e))

        ts = [threading.Thread(target=work, args=(k,)) for k in range(N)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert not errors, (rnd, errors)
        assert len(sessions) == 1 and None not in sessions, (rnd, sessions)
        _C.disconnect()
        _daemon._state["connected"] = False
    print("ok")
"""


def test_threads_first_use_at_once():
    # 50 repetitions: 5 fresh processes x 10 rounds
    for _ in range(5):
        assert _run(THREADS, args=(10,)).strip() == "ok"


def test_threads_first_use_starts_one_private_daemon(tmp_path):
    """No daemon reachable: the threads race to start the private daemon; exactly one
    starts, and it survives the exit of the thread that started it."""
    env = dict(os.environ, XDG_RUNTIME_DIR=str(tmp_path))
    env.pop("TENSORD_ADDRESS", None)
    out = _run(THREADS.replace('    print("ok")', """
    import os, time
    pid = _daemon.private_daemon_pid()
    assert pid is not None
    time.sleep(0.5)     # the starting thread has exited long ago: the daemon must live on
    assert (torch.arange(4) * 3).tolist() == [0, 3, 6, 9]
    assert _daemon.private_daemon_pid() == pid
    print("ok")"""), env=env, args=(3,))
    assert out.strip() == "ok"


FORK = """
    import gc, os, sys
    import tensord as torch
    from tensord import _C

    reps = int(sys.argv[1])
    a = torch.arange(1000, dtype=torch.float64) * 2
    parent_session = _C.session()
    for rep in range(reps):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            code = 1
            try:
                assert _C.session() is None              # the parent's client is dropped
                b = torch.arange(1000, dtype=torch.float64) * 3 + rep
                s = b.sum().item()
                assert s == 3 * 499500 + 1000 * rep, s
                child_session = _C.session()
                assert child_session not in (None, parent_session)
                os.write(w, b"%d" % child_session)
                code = 0
            finally:
                os._exit(code)
        os.close(w)
        # the parent keeps computing while the child does
        c = a + rep
        assert c.sum().item() == 999000 + 1000 * rep
        child_session = int(os.read(r, 64) or b"0")
        os.close(r)
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, (rep, status)
        assert child_session and child_session != parent_session
        assert _C.session() == parent_session            # untouched
        assert a.sum().item() == 999000                  # the parent's tensor is intact
    print("ok")
"""


def test_fork_parent_and_child_both_compute():
    assert _run(FORK, args=(50,)).strip() == "ok"


def test_fork_parent_and_child_both_compute_private_daemon(tmp_path):
    """Same with the embedded private daemon: the child reaches its parent's daemon and
    its exit (atexit included) neither stops that daemon nor touches the parent."""
    env = dict(os.environ, XDG_RUNTIME_DIR=str(tmp_path))
    env.pop("TENSORD_ADDRESS", None)
    assert _run(FORK, env=env, args=(10,)).strip() == "ok"


INHERITED = """
    import gc, os, sys
    import tensord as torch
    from tensord import _C, _daemon

    a = torch.arange(10) * 2
    v = a[2:6]                                           # a view: the same storage
    g = torch.ones(3) * 7                                # recorded, not yet run at fork
    doomed = torch.arange(4) + 1
    r1, w1 = os.pipe()
    r2, w2 = os.pipe()
    pid = os.fork()
    if pid == 0:
        # inherited tensors are usable: the child opens them on first use (a fork grant)
        assert (a + 1).tolist() == [2 * i + 1 for i in range(10)]
        assert a.sum().item() == 90 and v.tolist() == [4, 6, 8, 10]
        assert torch.add(a, a).tolist() == [4 * i for i in range(10)]
        assert (a @ a).item() == sum(4 * i * i for i in range(10))
        assert g.tolist() == [7.0, 7.0, 7.0]
        sess = _C.session()
        v.add_(100)                                      # one storage with the parent's
        assert a.tolist()[2:6] == [104, 106, 108, 110]   # and with the child's own a
        b = torch.arange(10) * 5                         # the child's own tensors work
        assert b.sum().item() == 225 and _C.session() == sess
        os.write(w1, b"1")
        os.read(r2, 1)                                   # the parent has freed `doomed` now
        try:
            doomed.sum().item()
            sys.exit("no error for a tensor the parent freed")
        except RuntimeError as e:
            assert "parent process has freed it" in str(e), str(e)
        del a, v                                         # releases the child's handles only
        gc.collect()
        sys.exit(0)
    os.read(r1, 1)
    del doomed
    gc.collect()
    torch.zeros(1).item()                                # the release has run
    os.write(w2, b"1")
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    assert a.tolist() == [0, 2, 104, 106, 108, 110, 12, 14, 16, 18]  # the child's write
    assert (a + 1).sum().item() == 500
    print("ok")
"""


def test_fork_inherited_tensor_usable_in_child():
    assert _run(INHERITED).strip() == "ok"


def test_fork_inherited_tensor_private_daemon(tmp_path):
    env = dict(os.environ, XDG_RUNTIME_DIR=str(tmp_path))
    env.pop("TENSORD_ADDRESS", None)
    assert _run(INHERITED, env=env).strip() == "ok"


def test_fork_while_other_threads_sync():
    """fork() while other threads are inside tensord calls (a sync in flight): the fork
    handlers wait for them, so gRPC's own fork handling runs and the child works."""
    script = """
        import os, threading
        import tensord as torch

        stop = threading.Event()
        errors = []

        def busy(k):
            x = torch.full((256,), float(k))
            while not stop.is_set():
                try:
                    assert (x * 2).sum().item() == 512 * k
                except BaseException as e:
                    errors.append(repr(e))
                    return

        ts = [threading.Thread(target=busy, args=(k,)) for k in range(1, 4)]
        for t in ts:
            t.start()
        for rep in range(20):
            pid = os.fork()
            if pid == 0:
                ok = (torch.arange(100) + rep).sum().item() == 4950 + 100 * rep
                os._exit(0 if ok else 1)
            _, status = os.waitpid(pid, 0)
            assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, (rep, status)
        stop.set()
        for t in ts:
            t.join()
        assert not errors, errors
        print("ok")
    """
    assert _run(script).strip() == "ok"


@pytest.mark.parametrize("closed", ["disconnect"])
def test_tensor_of_closed_session_raises(closed):
    script = """
        import tensord as torch
        from tensord import _C, _daemon
        a = torch.arange(3)
        a.sum().item()
        _C.disconnect()
        _daemon._state["connected"] = False
        torch.zeros(1).item()                      # reconnects: a new session
        try:
            a + 1
            raise SystemExit("no error")
        except RuntimeError as e:
            assert "session that was closed" in str(e), e
        print("ok")
    """
    assert _run(script).strip() == "ok"
