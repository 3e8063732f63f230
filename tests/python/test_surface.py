"""The public surface of tensord against torch 1.13's, and a ratchet that it only grows.

Public names are the dir() entries not starting with "_" of tensord, tensord.linalg, tensord.nn,
tensord.special, tensord.fft, tensord.nn.functional, nn.init, nn.utils and of Tensor (its methods and
properties).  Each test prints the coverage of torch's names (visible with pytest -s,
and as a warning in the summary) and fails when a name of tests/python/surface_baseline.txt
is gone.  Names tensord has that torch lacks are fine.

Regenerate the baseline after the surface grew (it only ever gains lines):
    PYTHONPATH=build/python /usr/bin/python3 tests/python/test_surface.py --write
"""
import importlib
import os
import sys
import warnings

import pytest

BASELINE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "surface_baseline.txt")
NAMESPACES = ("", "linalg", "special", "fft", "nn", "nn.functional", "nn.init", "nn.utils", "distributions",
              "distributions.constraints", "distributions.transforms", "distributed", "jit", "futures", "sparse", "Tensor")


def _public(obj):
    return {n for n in dir(obj) if not n.startswith("_")}


def _names(root, ns):
    """Public names of namespace ns of package root (a module name or "Tensor"), or None."""
    if ns == "Tensor":
        return _public(root.Tensor)
    if not ns:
        return _public(root)
    try:
        return _public(importlib.import_module(root.__name__ + "." + ns))
    except ImportError:
        return None


def _label(ns):
    return "tensord" + ("." + ns if ns else "")


def _read_baseline():
    base = {ns: set() for ns in NAMESPACES}
    with open(BASELINE) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                ns, _, name = line.rpartition(" ")
                base[ns.strip("[]")].add(name)
    return base


def coverage(ns):
    """(covered, torch_total, missing names) of namespace ns."""
    import tensord
    import torch
    ours, theirs = _names(tensord, ns) or set(), _names(torch, ns) or set()
    return len(ours & theirs), len(theirs), sorted(theirs - ours)


@pytest.mark.parametrize("ns", NAMESPACES)
def test_surface_only_grows(ns):
    import tensord
    ours, base = _names(tensord, ns), _read_baseline()[ns]
    assert ours is not None or not base, "%s is not importable" % _label(ns)
    lost = sorted(base - (ours or set()))
    assert not lost, "%s lost public names of the baseline: %s" % (_label(ns), lost)


@pytest.mark.parametrize("ns", NAMESPACES)
def test_surface_coverage(ns):
    have, total, missing = coverage(ns)
    line = "%s: %d/%d names of torch 1.13 (%d%%)" % (_label(ns), have, total, 100 * have // max(total, 1))
    print(line)
    warnings.warn(line)


def main():
    import tensord
    if "--write" in sys.argv:
        with open(BASELINE, "w") as f:
            f.write("# public names of tensord per namespace; written by tests/python/test_surface.py --write\n")
            for ns in NAMESPACES:
                for n in sorted(_names(tensord, ns) or ()):
                    f.write("[%s] %s\n" % (ns, n))
    for ns in NAMESPACES:
        have, total, missing = coverage(ns)
        print("%s: %d/%d names of torch 1.13 (%d%%)" % (_label(ns), have, total, 100 * have // max(total, 1)))
        if "-v" in sys.argv:
            print("  missing:", " ".join(missing))


if __name__ == "__main__":
    main()
