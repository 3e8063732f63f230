"""Boolean-mask selection in one op (INDEX mask mode) and NONZERO's parallel chunks,
against torch 1.13: masks over leading, middle and trailing dims, strided and expanded
operands, uint8 masks, counts across many chunks (65536 elements each)."""
import warnings

import numpy as np
import pytest
import torch

import tensord as td
from tdhelpers import assert_same, from_torch

RNG = np.random.default_rng(11)


def pair_np(a):
    return from_torch(torch.from_numpy(a.copy())), torch.from_numpy(a.copy())


@pytest.mark.parametrize("dt", [np.float32, np.float64, np.int16, np.int8, np.bool_])
def test_full_mask_large(dt):
    x = (RNG.random(200003) * 100).astype(dt)
    a, b = pair_np(x)
    for p in (0.0, 0.01, 0.5, 1.0):
        m = RNG.random(x.shape) < p
        tm, pm = pair_np(m)
        assert_same(a[tm], b[pm])
        assert_same(td.masked_select(a, tm), torch.masked_select(b, pm))
        assert_same(td.nonzero(tm), torch.nonzero(pm))
        assert_same(tm.nonzero(as_tuple=True)[0], pm.nonzero(as_tuple=True)[0])


@pytest.mark.parametrize("where", ["lead", "mid", "trail", "all"])
@pytest.mark.parametrize("noncontig", [False, True])
def test_mask_dims(where, noncontig):
    x = RNG.random((6, 5, 4, 3)).astype(np.float32)
    a, b = pair_np(x)
    if noncontig:
        a, b = a.transpose(1, 2).transpose(0, 1), b.transpose(1, 2).transpose(0, 1)
    s = tuple(b.shape)
    if where == "lead":
        m = RNG.random(s[:2]) < 0.5
        idx = lambda t: (t,)
    elif where == "mid":
        m = RNG.random(s[1:3]) < 0.5
        idx = lambda t: (slice(None), t)
    elif where == "trail":
        m = RNG.random(s[2:]) < 0.5
        idx = lambda t: (Ellipsis, t)
    else:
        m = RNG.random(s) < 0.5
        idx = lambda t: (t,)
    tm, pm = pair_np(m)
    assert_same(a[idx(tm)], b[idx(pm)])
    tu, pu = pair_np(m.astype(np.uint8))
    with warnings.catch_warnings():  # torch warns that uint8 indices are deprecated
        warnings.simplefilter("ignore")
        assert_same(a[idx(tu)], b[idx(pu)])


def test_mask_strided_and_broadcast():
    x = RNG.random((300, 400)).astype(np.float32)
    a, b = pair_np(x)
    m = RNG.random((400,)) < 0.3
    tm, pm = pair_np(m)
    assert_same(td.masked_select(a, tm), torch.masked_select(b, pm))  # mask expanded (stride 0)
    assert_same(a[::2, ::3][:, tm[::3]], b[::2, ::3][:, pm[::3]])
    mm = RNG.random((400, 300)) < 0.5
    tmm, pmm = pair_np(mm)
    assert_same(a[tmm.t()], b[pmm.t()])  # strided mask
    assert_same(td.count_nonzero(tmm), torch.count_nonzero(pmm))


def test_mask_empty_and_scalar():
    a, b = pair_np(np.zeros((0, 3), np.float32))
    tm, pm = pair_np(np.zeros((0, 3), bool))
    assert_same(a[tm], b[pm])
    a, b = pair_np(np.array(2.5, np.float32))
    tm, pm = pair_np(np.array(True))
    assert_same(td.masked_select(a, tm), torch.masked_select(b, pm))
    a, b = pair_np(RNG.random((4, 0, 3)).astype(np.float32))
    tm, pm = pair_np(np.ones((4,), bool))
    assert_same(a[tm], b[pm])
