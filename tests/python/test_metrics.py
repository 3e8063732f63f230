"""The Prometheus endpoint (--metrics HOST:PORT), scraped with urllib from a real daemon
while a real client works: the text format parses line by line, histograms are
cumulative and agree with their counts, and the numbers agree with what the client did
and with the daemon's Stats call (tensordctl): sessions by transport, ops by family,
an out-of-memory refusal counted as an OOM and by code, memory allocated."""
import json
import math
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request

import pytest

from conftest import ROOT, _binary

CTL = os.environ.get("TENSORD_CTL", os.path.join(ROOT, "build", "tensordctl"))
LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*)\})?'
                  r' (\S+)$')

WORK = textwrap.dedent("""
    import sys, tensord as torch
    a = torch.ones(64, 64)
    for _ in range(25):
        a = (a @ a) / 64.0                 # 25 matmuls, 25 binary ops
    assert a[0, 0].item() == 1.0
    try:
        torch.empty(64 << 20).sum().item()  # 256 MiB: over --max-memory
        print("no-oom", flush=True)
    except RuntimeError as e:
        assert "can't allocate memory" in str(e), e
    keep = torch.ones(256, 1024)           # 1 MiB held while scraped
    keep.sum().item()
    print("ready", flush=True)
    sys.stdin.readline()
""")


def parse(text):
    """{(name, frozenset(labels)): value}, checking every line against the format."""
    samples, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in ("counter", "gauge", "histogram"), line
            types[name] = kind
            continue
        m = LINE.match(line)
        assert m, "not exposition format: %r" % line
        labels = frozenset(re.findall(r'([a-zA-Z_]\w*)="([^"]*)"', m.group(3) or ""))
        samples[(m.group(1), labels)] = float(m.group(5))
    for (name, _) in samples:
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in types or base in types, "no TYPE for %s" % name
    return samples, types


def value(samples, name, **labels):
    return samples[(name, frozenset(labels.items()))]


@pytest.fixture
def metrics_daemon(tmp_path):
    sock = str(tmp_path / "m.sock")
    errp = str(tmp_path / "err")
    env = dict(os.environ, ASAN_OPTIONS="allocator_may_return_null=1:detect_leaks=1")
    env.pop("TENSORD_ADDRESS", None)
    with open(errp, "wb") as err:
        proc = subprocess.Popen([_binary(), "--listen", "unix:" + sock, "--metrics", "127.0.0.1:0", "--max-memory",
                                 "64M", "--log-level", "info", "--threads", "1"], env=env, stderr=err,
                                stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    port = None
    while port is None:
        assert proc.poll() is None, open(errp).read()
        assert time.monotonic() < deadline
        m = re.search(r"metrics on http://127\.0\.0\.1:(\d+)/metrics", open(errp).read())
        port = int(m.group(1)) if m else None
        time.sleep(0.02)
    yield {"address": "unix:" + sock, "url": "http://127.0.0.1:%d/metrics" % port}
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0, open(errp).read()
    assert "ERROR: AddressSanitizer" not in open(errp).read()


def scrape(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return parse(r.read().decode())


def test_scrape_while_a_client_works(metrics_daemon):
    env = dict(os.environ, TENSORD_ADDRESS=metrics_daemon["address"])
    p = subprocess.Popen([sys.executable, "-c", WORK], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline()
        assert line.strip() == "ready", line + p.stderr.read()
        samples, types = scrape(metrics_daemon["url"])
        stats = json.loads(subprocess.run([CTL, "--address", metrics_daemon["address"], "--json", "status"],
                                          capture_output=True, text=True, timeout=60).stdout)
    finally:
        p.communicate("done\n", timeout=60)
    assert p.returncode == 0
    assert types["tensord_op_duration_seconds"] == "histogram"
    assert value(samples, "tensord_sessions", transport="shm") == 1
    assert value(samples, "tensord_sessions", transport="grpc") == 0
    assert value(samples, "tensord_sessions_opened_total") == 1
    assert value(samples, "tensord_ooms_total") >= 1
    assert value(samples, "tensord_op_errors_total", code="RESOURCE_EXHAUSTED") >= 1
    assert value(samples, "tensord_op_errors_total", code="INVALID_ARGUMENT") == 0
    # the same numbers as the Stats call (nothing ran between the two)
    assert value(samples, "tensord_ops_executed_total") == stats["ops_executed"]
    assert value(samples, "tensord_memory_allocated_bytes", device="cpu") == stats["devices"][0]["allocated"]
    assert value(samples, "tensord_memory_allocated_bytes", device="cpu") >= 1 << 20
    assert value(samples, "tensord_memory_reserved_bytes", device="cpu") >= \
        value(samples, "tensord_memory_allocated_bytes", device="cpu")
    assert value(samples, "tensord_queue_messages") >= 0
    # histograms: cumulative buckets ending in +Inf == count; matmul ran 25 times
    fams = {dict(l)["family"] for (n, l) in samples if n == "tensord_op_duration_seconds_count"}
    assert {"matmul", "binary", "create"} <= fams, fams
    for fam in fams:
        buckets = sorted(((float(dict(l)["le"]), v) for (n, l), v in samples.items()
                          if n == "tensord_op_duration_seconds_bucket" and dict(l)["family"] == fam))
        counts = [v for _, v in buckets]
        assert counts == sorted(counts), (fam, buckets)
        assert math.isinf(buckets[-1][0])
        assert buckets[-1][1] == value(samples, "tensord_op_duration_seconds_count", family=fam)
        assert value(samples, "tensord_op_duration_seconds_sum", family=fam) > 0
    assert value(samples, "tensord_op_duration_seconds_count", family="matmul") == 25
    total = sum(v for (n, l), v in samples.items() if n == "tensord_op_duration_seconds_count")
    assert total >= value(samples, "tensord_ops_executed_total")   # failures are timed too


def test_other_paths_and_methods(metrics_daemon):
    base = metrics_daemon["url"][:-len("/metrics")]
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(base + "/", timeout=30)
    assert e.value.code == 404
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(urllib.request.Request(metrics_daemon["url"], data=b"x", method="POST"), timeout=30)
    assert e.value.code == 405


def test_bad_metrics_address_stops_start_up(tmp_path):
    p = subprocess.run([_binary(), "--listen", "unix:%s/x.sock" % tmp_path, "--metrics", "nonsense"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and "metrics address 'nonsense' is not HOST:PORT" in p.stderr, p.stderr
