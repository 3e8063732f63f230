"""torch.cuda streams and events against a daemon serving 2 host stand-in GPUs.

The stand-in runs queued work at once (its stream order is modelled with counters), so
these tests check what a program can observe: results computed across streams ordered
with events, the current stream that stream() sets and restores, queries and
synchronization, elapsed times, the allocator's per-stream pools (allocations follow the
current stream), record_stream, torch's errors for wrong use, and a session that ends
with streams and events alive (the ASan daemon's clean exit shows nothing leaked).
Like test_devices.py, the module re-runs itself with its own daemon (tdhelpers).
"""
import os

import numpy as np
import pytest
import torch

import tensord as td
from tdhelpers import rerun_under_fake_gpus, to_torch

IN_CHILD = os.environ.get("TENSORD_FAKE_GPUS") == "2"

if not IN_CHILD:
    def test_cuda_streams_under_two_fake_gpus():
        rerun_under_fake_gpus(__file__)
else:
    def test_current_and_default_streams():
        d0 = td.cuda.default_stream(0)
        assert td.cuda.current_stream() == d0 and d0.cuda_stream == 0
        s = td.cuda.Stream()
        s1 = td.cuda.Stream(device=1)
        assert s != d0 and s.device == td.device("cuda:0") and s1.device_index == 1
        with td.cuda.stream(s):
            assert td.cuda.current_stream() == s
            assert td.cuda.current_stream(1) == td.cuda.default_stream(1)
            with td.cuda.stream(s1):  # the stream's device becomes current inside
                assert td.cuda.current_device() == 1 and td.cuda.current_stream() == s1
            assert td.cuda.current_device() == 0 and td.cuda.current_stream() == s
            assert td.cuda.current_stream(1) == td.cuda.default_stream(1)
        assert td.cuda.current_stream() == d0
        with td.cuda.stream(None):
            assert td.cuda.current_stream() == d0
        with pytest.raises(TypeError):
            td.cuda.stream(3)

    def test_work_across_streams_with_events():
        rng = np.random.default_rng(1)
        a_np = rng.standard_normal((64, 64)).astype(np.float32)
        want = torch.from_numpy(a_np)
        want = ((want @ want).tanh() + want) * 2
        a = td.tensor(a_np, device="cuda")
        s1, s2 = td.cuda.Stream(), td.cuda.Stream()
        s1.wait_stream(td.cuda.current_stream())  # a was made on the default stream
        with td.cuda.stream(s1):
            b = (a @ a).tanh()
            e = s1.record_event()
        s2.wait_event(e)
        with td.cuda.stream(s2):
            c = b + a
        td.cuda.current_stream().wait_stream(s2)
        got = c * 2
        assert torch.allclose(to_torch(got.cpu()), want, atol=1e-5)
        assert e.query() and s1.query() and s2.query()
        s1.synchronize()
        e.synchronize()
        e.wait()  # the current stream waits: a no-op here, but must be accepted
        td.cuda.synchronize()

    def test_events_time_and_errors():
        start, end = td.cuda.Event(enable_timing=True), td.cuda.Event(enable_timing=True)
        assert start.query()  # never recorded: complete
        start.record()
        x = td.ones(256, 256, device="cuda")
        y = x @ x
        end.record()
        end.synchronize()
        ms = start.elapsed_time(end)
        assert isinstance(ms, float) and ms >= 0
        assert y[0, 0].item() == 256.0
        with pytest.raises(RuntimeError, match="enable_timing=True"):
            td.cuda.Event().elapsed_time(end)
        with pytest.raises(RuntimeError, match="must be recorded"):
            td.cuda.Event(enable_timing=True).elapsed_time(end)
        ev = td.cuda.Event()
        ev.record(td.cuda.Stream(device=1))
        assert ev.device == td.device("cuda:1")
        with pytest.raises(RuntimeError, match="does not match recording stream's device"):
            ev.record(td.cuda.current_stream(0))
        td.cuda.current_stream(0).wait_event(ev)  # another device's event: accepted

    def test_allocations_follow_the_current_stream():
        n = 1 << 16
        x = td.empty(n, device="cuda")
        del x
        before = td.cuda.memory_stats(0)
        y = td.empty(n, device="cuda")  # the default stream takes its cached block back
        mid = td.cuda.memory_stats(0)
        assert mid["num_cache_hits"] == before["num_cache_hits"] + 1
        assert mid["reserved_bytes.all.current"] == before["reserved_bytes.all.current"]
        del y
        s = td.cuda.Stream()
        with td.cuda.stream(s):
            z = td.empty(n, device="cuda")  # s has a pool of its own: new memory
        after = td.cuda.memory_stats(0)
        assert after["reserved_bytes.all.current"] > mid["reserved_bytes.all.current"]
        del z

    def test_record_stream():
        s = td.cuda.Stream()
        x = td.full((1000,), 3.0, device="cuda")
        x.record_stream(s)
        with td.cuda.stream(s):
            y = x * 2
        del x  # its block waits for s's work before it is reused
        assert y.sum().item() == 6000.0
        with pytest.raises(TypeError):
            y.record_stream(0)
        with pytest.raises(RuntimeError, match="cuda:1"):
            y.record_stream(td.cuda.Stream(device=1))
        with pytest.raises(NotImplementedError, match="CPU"):
            td.ones(2).record_stream(s)
        del s  # destroyed while y (recorded on nothing) lives: y stays valid
        assert y[0].item() == 6.0

    def test_streams_left_alive_at_session_end():
        # streams, events and recorded tensors this module keeps go with the session;
        # the daemon's clean exit (conftest) shows nothing leaked
        global KEEP
        KEEP = [td.cuda.Stream(), td.cuda.Stream(device=1), td.cuda.Event(enable_timing=True)]
        KEEP[2].record(KEEP[0])
        t = td.zeros(10, device="cuda")
        t.record_stream(KEEP[0])
        KEEP.append(t)
        KEEP[0].wait_event(KEEP[2])


if not IN_CHILD:  # the session daemon without GPUs (test_devices covers them with GPUs)
    def test_accelerator_and_default_device_without_a_gpu():
        """Without a GPU, as a CPU build of torch: no accelerator, factories on the CPU."""
        acc = td.accelerator
        assert not acc.is_available() and acc.current_accelerator() is None and acc.device_count() == 0
        assert td.get_default_device() == td.device("cpu") and td.zeros(1).device.type == "cpu"
