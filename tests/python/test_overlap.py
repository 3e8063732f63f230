"""Writing a tensor that shares memory with itself or with an operand, against torch 1.13:
in-place ops, out=, copy_, expanded destinations, transposes, cat / index_select /
gather / scatter / index_put / masked ops / where / clamp, sorting and reductions with
out=.  Each case runs under both; the outcome must agree: the value, or the exception
type and message (torch's "unsupported operation: ..."), and torch's deprecation
warnings.  Where torch allows an overlap its value can depend on its loop order
(as_strided overlaps, reductions into an input): those cases compare the outcome only."""
import warnings

import pytest
import torch

import tensord as td

PARTIAL = ("unsupported operation: some elements of the input tensor and the written-to tensor refer to a single "
           "memory location. Please clone() the tensor before performing the operation.")
INTERNAL = ("unsupported operation: more than one element of the written-to tensor refers to a single memory "
            "location. Please clone() the tensor before performing the operation.")


def ar(T, n=5, dtype=None):
    return T.arange(n, dtype=dtype or T.float32)


def m3(T):
    return T.arange(9.0).view(3, 3)


def ix(T, *v):
    return T.tensor(list(v))


def ex(T, n=3):
    return T.zeros(1).expand(n)


def lng(T, n):
    return T.empty(n, dtype=T.long)


def setitem(x, i, v):
    x[i] = v
    return x


# name -> (case, compare values); a case takes the module (torch or tensord)
CASES = {
    # element-wise, in place
    "add_ shifted": (lambda T: (lambda a: a[1:].add_(a[:-1]))(ar(T)), True),
    "add_ transposed self": (lambda T: (lambda m: m.add_(m.t()))(m3(T)), True),
    "t add_ m": (lambda T: (lambda m: m.t().add_(m))(m3(T)), True),
    "mul_ itself": (lambda T: (lambda a: a.mul_(a))(ar(T)), True),
    "add_ own element": (lambda T: (lambda a: a.add_(a[0]))(ar(T)), True),
    "add_ own 1-element slice": (lambda T: (lambda a: a.add_(a[0:1]))(ar(T)), True),
    "add_ expanded own element": (lambda T: (lambda a: a.add_(a[0:1].expand(5)))(ar(T)), True),
    "add_ strided disjoint": (lambda T: (lambda a: a[::2].add_(a[1::2]))(ar(T, 6)), True),
    "add_ strided itself": (lambda T: (lambda a: a[::2].add_(a[::2]))(ar(T, 6)), True),
    "add_ columns overlap": (lambda T: (lambda m: m[:, :2].add_(m[:, 1:3]))(T.arange(12.0).view(3, 4)), True),
    "add_ disjoint halves": (lambda T: (lambda a: a[:3].add_(a[3:]))(ar(T, 6)), True),
    "add_ same view twice": (lambda T: (lambda a: a.view(2, 3).add_(a.view(2, 3)))(ar(T, 6)), True),
    "add_ reshaped transpose": (lambda T: (lambda a: a.view(3, 2).t().add_(a.view(2, 3)))(ar(T, 6)), True),
    "add_ size-1 stride differs": (lambda T: (lambda a: a.view(1, 5).add_(a.as_strided((1, 5), (1, 1))))(ar(T)),
                                   True),
    "unsqueeze add_ view": (lambda T: (lambda a: a.unsqueeze(0).add_(a.view(1, 5)))(ar(T)), True),
    "sub_ shifted int": (lambda T: (lambda a: a[1:].sub_(a[:-1]))(ar(T, 5, T.int64)), True),
    "pow_ shifted": (lambda T: (lambda a: a[1:].pow_(a[:-1]))(ar(T)), True),
    "atan2_ shifted": (lambda T: (lambda a: a[1:].atan2_(a[:-1]))(ar(T)), True),
    "bitwise_and_ shifted": (lambda T: (lambda a: a[1:].bitwise_and_(a[:-1]))(ar(T, 5, T.int64)), True),
    "lerp_ shifted": (lambda T: (lambda a: a[1:].lerp_(a[:-1], 0.5))(ar(T)), True),
    "lerp_ weight shifted": (lambda T: (lambda a: a[:2].lerp_(T.ones(2), a[1:3]))(ar(T)), True),
    "addcmul_ shifted": (lambda T: (lambda a: a[1:].addcmul_(a[:-1], T.ones(4)))(ar(T)), True),
    "clamp_ tensor min shifted": (lambda T: (lambda a: a[1:].clamp_(min=a[:-1]))(ar(T)), True),
    "empty views": (lambda T: (lambda a: a[2:2].add_(a[:0]))(ar(T)), True),
    "detach shares": (lambda T: (lambda a: a.detach()[1:].add_(a[:-1]))(ar(T)), True),
    "0-dim self, other element": (lambda T: (lambda a: a[0].add_(a[1]))(ar(T)), True),
    # expanded destinations
    "expand add_": (lambda T: ex(T, 5).add_(1), True),
    "expand2d add_": (lambda T: T.zeros(3, 1).expand(3, 4).add_(1), True),
    "expand mul_ itself": (lambda T: (lambda x: x.mul_(x))(T.ones(1).expand(4)), True),
    "expand neg_": (lambda T: T.ones(1).expand(3).neg_(), True),
    "expand relu_": (lambda T: T.ones(1).expand(3).relu_(), True),
    "expand logical_not_": (lambda T: T.ones(1, dtype=T.bool).expand(3).logical_not_(), True),
    "expand nan_to_num_": (lambda T: ex(T).nan_to_num_(), True),
    "expand clamp_": (lambda T: ex(T).clamp_(0, 1), True),
    "expand uniform_": (lambda T: ex(T).uniform_(2, 2), True),
    "expand normal_": (lambda T: ex(T).normal_(2, 0), True),
    "expand cumsum_": (lambda T: ex(T).cumsum_(0), True),
    "expand fill_": (lambda T: ex(T, 4).fill_(3), True),
    "expand zero_": (lambda T: T.ones(1).expand(4).zero_(), True),
    "expand fill_ tensor": (lambda T: ex(T, 4).fill_(T.tensor(2.0)), True),
    "expand tril_": (lambda T: T.zeros(1, 1).expand(2, 2).tril_(), True),
    "as_strided overlapping add_": (lambda T: T.zeros(4).as_strided((3, 2), (1, 1)).add_(1), False),
    # out=
    "add out shifted": (lambda T: (lambda a: T.add(a[1:], a[:-1], out=a[1:]))(ar(T)), True),
    "add out itself": (lambda T: (lambda a: T.add(a, a, out=a))(ar(T)), True),
    "add out its view": (lambda T: (lambda a: T.add(a.view(5), a, out=a))(ar(T)), True),
    "add out 0-dim over its slice": (lambda T: (lambda a: T.add(a[:1], 1, out=a[0]))(ar(T)), True),
    "add out expanded": (lambda T: T.add(T.ones(5), 1, out=ex(T, 5)), True),
    "neg out shifted": (lambda T: (lambda a: T.neg(a[:-1], out=a[1:]))(ar(T)), True),
    "neg out itself": (lambda T: (lambda a: T.neg(a, out=a))(ar(T)), True),
    "eq out shifted (cast)": (lambda T: (lambda a: T.eq(a[:-1], 1.0, out=a[1:]))(ar(T)), True),
    "pow scalar base out shifted": (lambda T: (lambda a: T.pow(2, a[:-1], out=a[1:]))(ar(T)), True),
    "atan2 out expanded": (lambda T: T.atan2(ar(T, 3), ar(T, 3), out=ex(T)), True),
    "clamp out shifted": (lambda T: (lambda a: T.clamp(a[:-1], 0, 2, out=a[1:]))(ar(T)), True),
    "clamp tensor out shifted": (lambda T: (lambda a: T.clamp(a[:-1], min=a[:-1] * 0, out=a[1:]))(ar(T)), True),
    "lerp out shifted": (lambda T: (lambda a: T.lerp(a[:2], a[1:3], 0.5, out=a[2:4]))(ar(T)), True),
    "addcdiv out shifted": (lambda T: (lambda a: T.addcdiv(a[:-1], a[:-1], T.ones(4), out=a[1:]))(ar(T)), True),
    "nan_to_num out shifted": (lambda T: (lambda a: T.nan_to_num(a[:-1], out=a[1:]))(ar(T)), True),
    "logical_and out shifted": (lambda T: (lambda a: T.logical_and(a[:-1], a[1:], out=a[1:]))(
        T.tensor([True] * 5)), True),
    "normal out shifted": (lambda T: (lambda a: T.normal(a[:-1], 0.0, out=a[1:]))(ar(T)), True),
    "normal out expanded": (lambda T: T.normal(ar(T, 3), 0.0, out=ex(T)), True),
    "cumsum out itself": (lambda T: (lambda a: T.cumsum(a, 0, out=a))(ar(T)), True),
    "cumsum out shifted": (lambda T: (lambda a: T.cumsum(a[:-1], 0, out=a[1:]))(ar(T)), True),
    "cumsum out transposed": (lambda T: (lambda m: T.cumsum(m, 0, out=m.t()))(m3(T)), True),
    "cumsum out expanded": (lambda T: T.cumsum(ar(T, 3), 0, out=ex(T)), True),
    "cumprod out shifted": (lambda T: (lambda a: T.cumprod(a[:-1], 0, out=a[1:]))(ar(T)), True),
    "logcumsumexp out shifted": (lambda T: (lambda a: T.logcumsumexp(a[:-1], 0, out=a[1:]))(ar(T)), True),
    "cummax out expanded": (lambda T: T.cummax(ar(T, 3), 0, out=(ex(T), lng(T, 3)))[0], True),
    "cummax out shifted": (lambda T: (lambda a: T.cummax(a[:-1], 0, out=(a[1:], lng(T, 4)))[0])(ar(T)), False),
    "mm out itself": (lambda T: (lambda m: T.mm(m, m, out=m))(m3(T)), False),
    "mm out expanded": (lambda T: T.mm(T.ones(2, 2), T.ones(2, 2), out=T.zeros(1, 1).expand(2, 2)), True),
    "matmul out expanded": (lambda T: T.matmul(T.ones(2, 2), T.ones(2, 2), out=T.zeros(1, 1).expand(2, 2)), True),
    "addmm out expanded": (lambda T: T.addmm(T.ones(2, 2), T.ones(2, 2), T.ones(2, 2),
                                             out=T.zeros(1, 1).expand(2, 2)), True),
    "tril out expanded": (lambda T: T.tril(T.ones(2, 2), out=T.zeros(1, 1).expand(2, 2)), True),
    "tril out shifted": (lambda T: (lambda a: T.tril(a[:2, :2], out=a[1:, 1:]))(m3(T)), False),
    # reductions with out=: torch checks only those with indices
    "sum out into input": (lambda T: (lambda a: T.sum(a, 0, out=a[0]))(ar(T)), True),
    "sum out row of input": (lambda T: (lambda m: T.sum(m, 0, out=m[0]))(m3(T)), False),
    "sum out expanded": (lambda T: T.sum(T.ones(3, 2), 0, out=ex(T, 2)), False),
    "amax out row of input": (lambda T: (lambda m: T.amax(m, 0, out=m[1]))(m3(T)), True),
    "var out into input": (lambda T: (lambda a: T.var(a.view(2, 3), 1, out=a[:2]))(ar(T, 6)), True),
    "max dim out into input": (lambda T: (lambda a: T.max(a.view(2, 3), 1, out=(a[:2], lng(T, 2)))[0])(ar(T, 6)),
                               True),
    "max dim out expanded": (lambda T: T.max(T.ones(3, 2), 1, out=(ex(T), lng(T, 3)))[0], True),
    "min dim out into input": (lambda T: (lambda a: T.min(a.view(2, 3), 1, out=(a[:2], lng(T, 2)))[0])(ar(T, 6)),
                               True),
    "median dim out into input": (lambda T: (lambda a: T.median(a.view(2, 3), 1, out=(a[:2], lng(T, 2)))[0])(
        ar(T, 6)), True),
    "mode out into input": (lambda T: (lambda a: T.mode(a.view(2, 3), 1, out=(a[:2], lng(T, 2)))[0])(ar(T, 6)),
                            True),
    "aminmax out into input": (lambda T: (lambda a: T.aminmax(a.view(2, 3), dim=1, out=(a[:2], T.empty(2)))[0])(
        ar(T, 6)), True),
    # sorting
    "sort out shifted": (lambda T: (lambda a: T.sort(a[:3], out=(a[1:4], lng(T, 3)))[0])(ar(T)), True),
    "sort out expanded": (lambda T: T.sort(ar(T, 3), out=(ex(T), lng(T, 3)))[0], True),
    "sort indices over input": (lambda T: (lambda a: T.sort(a[:3], out=(lng(T, 3), a[1:4]))[0])(ar(T, 5, T.long)),
                                True),
    "topk out shifted": (lambda T: (lambda a: T.topk(a[:3], 2, out=(a[1:3], lng(T, 2)))[0])(ar(T)), True),
    "kthvalue out into input": (lambda T: (lambda a: T.kthvalue(a[:3], 1, out=(a[1:2].view([]), lng(T, 1).view([])))[
        0])(ar(T)), True),
    # copy_
    "copy_ shifted": (lambda T: (lambda a: a[1:].copy_(a[:-1]))(ar(T)), True),
    "copy_ itself": (lambda T: (lambda a: a.copy_(a))(ar(T)), True),
    "copy_ transposed": (lambda T: (lambda m: m.copy_(m.t()))(m3(T)), True),
    "copy_ into expanded": (lambda T: ex(T, 4).copy_(T.ones(4)), True),
    "copy_ 0-dim into expanded": (lambda T: ex(T, 4).copy_(T.tensor(1.0)), True),
    "copy_ expanded into itself": (lambda T: (lambda x: x.copy_(x))(ex(T, 4)), True),
    "copy_ disjoint": (lambda T: (lambda a: a[:2].copy_(a[3:]))(ar(T)), True),
    "copy_ strided": (lambda T: (lambda a: a[::2].copy_(a[1:4]))(ar(T, 6)), True),
    "copy_ broadcast element": (lambda T: (lambda a: a[1:].copy_(a[0]))(ar(T)), True),
    "setitem slice shifted": (lambda T: (lambda a: setitem(a, slice(1, None), a[:-1]))(ar(T)), True),
    "setitem expanded element": (lambda T: setitem(ex(T), 0, 5.0), True),
    "fill_ own element": (lambda T: (lambda a: a.fill_(a[0]))(ar(T)), True),
    # cat and stack
    "cat out over inputs": (lambda T: (lambda m: T.cat([m[:2], m[2:]], out=m))(T.arange(4.0)), True),
    "cat out itself": (lambda T: (lambda m: T.cat([m], out=m))(T.arange(4.0)), True),
    "cat out itself strided": (lambda T: (lambda m: T.cat([m], out=m))(T.arange(8.0)[::2]), True),
    "cat out disjoint": (lambda T: (lambda m: T.cat([m[:1], m[1:2]], out=m[2:]))(T.arange(4.0)), True),
    "cat out expanded": (lambda T: T.cat([T.ones(2), T.ones(2)], out=ex(T, 4)), True),
    "cat expanded input": (lambda T: (lambda a: T.cat([a[0:1].expand(2)], out=a[1:3]))(ar(T)), True),
    "cat out column": (lambda T: (lambda m: T.cat([m[:, 0]], out=m[:, 1]))(m3(T)), True),
    "stack out over inputs": (lambda T: (lambda a: T.stack([a[:2], a[2:4]], out=a[:4].view(2, 2)))(ar(T)), True),
    # index_select, gather, masked_select, nonzero
    "index_select out over input": (lambda T: (lambda a: T.index_select(a, 0, ix(T, 0, 1), out=a[:2]))(ar(T)), True),
    "index_select out itself": (lambda T: (lambda a: T.index_select(a, 0, ix(T, 0, 1, 2, 3, 4), out=a))(ar(T)),
                                True),
    "index_select out disjoint": (lambda T: (lambda a: T.index_select(a[:2], 0, ix(T, 0, 1), out=a[2:4]))(ar(T)),
                                  True),
    "index_select out expanded": (lambda T: T.index_select(ar(T), 0, ix(T, 0, 1), out=ex(T, 2)), True),
    "index_select out column": (lambda T: (lambda m: T.index_select(m[:, 0], 0, ix(T, 0, 1), out=m[:2, 1]))(m3(T)),
                                True),
    "gather out column": (lambda T: (lambda a: T.gather(a, 1, ix(T, [0], [1]), out=a[:, :1]))(
        T.arange(6.0).view(2, 3)), True),
    "gather out over input": (lambda T: (lambda a: T.gather(a, 0, ix(T, 1, 0), out=a[:2]))(ar(T)), True),
    "gather out itself": (lambda T: (lambda a: T.gather(a, 0, ix(T, 4, 3, 2, 1, 0), out=a))(ar(T)), True),
    "gather out over index": (lambda T: (lambda a: T.gather(T.arange(5) * 10, 0, a[:2], out=a[1:3]))(T.arange(5)),
                              True),
    "gather out expanded": (lambda T: T.gather(ar(T), 0, ix(T, 1, 0), out=ex(T, 2)), True),
    "masked_select out over input": (lambda T: (lambda a: T.masked_select(a, a > 2, out=a[:2]))(ar(T)), True),
    "nonzero out over input": (lambda T: (lambda a: T.nonzero(a, out=a[:4].view(4, 1)))(T.arange(5)), True),
    # scatter, index_put, index_add_/copy_/fill_, put_
    "scatter_ src over self": (lambda T: (lambda a: a[:3].scatter_(0, ix(T, 2, 1, 0), a[1:4]))(ar(T)), True),
    "scatter_ src itself": (lambda T: (lambda a: a.scatter_(0, ix(T, 4, 3, 2, 1, 0), a))(ar(T)), True),
    "scatter_ into expanded": (lambda T: ex(T).scatter_(0, ix(T, 0), T.ones(1)), True),
    "scatter_ value into expanded": (lambda T: ex(T).scatter_(0, ix(T, 0), 2.0), True),
    "scatter_ index over self": (lambda T: (lambda a: a.scatter_(0, a[:2], 9))(T.arange(5)), True),
    "scatter_add_ src over self": (lambda T: (lambda a: a[:3].scatter_add_(0, ix(T, 2, 1, 0), a[1:4]))(ar(T)), True),
    "scatter out of place": (lambda T: (lambda a: T.scatter(a[:3], 0, ix(T, 2, 1, 0), a[1:4]))(ar(T)), True),
    "scatter_reduce_ src over self": (lambda T: (lambda a: a[:3].scatter_reduce_(0, ix(T, 2, 1, 0), a[1:4], "sum"))(
        ar(T)), True),
    "index_put_ values over self": (lambda T: (lambda a: a.index_put_((ix(T, 0, 1),), a[3:5]))(ar(T)), True),
    "index_put_ accumulate over self": (lambda T: (lambda a: a.index_put_((ix(T, 0, 1),), a[3:5], accumulate=True))(
        ar(T)), True),
    "index_put_ into expanded": (lambda T: ex(T).index_put_((ix(T, 0),), T.ones(1)), True),
    "setitem index values over self": (lambda T: (lambda a: setitem(a, ix(T, 0, 1), a[3:5]))(ar(T)), True),
    "setitem index into expanded": (lambda T: setitem(ex(T), ix(T, 0), 5.0), True),
    "setitem mask, own element": (lambda T: (lambda a: setitem(a, a > 2, a[0]))(ar(T)), True),
    "setitem mask, own elements": (lambda T: (lambda a: setitem(a, a > 2, a[:2]))(ar(T)), True),
    "index_put_ mask accumulate own element": (lambda T: (lambda a: a.index_put_((a > 2,), a[0], accumulate=True))(
        ar(T)), True),
    "setitem mask into expanded": (lambda T: setitem(ex(T), T.tensor([True, False, True]), 3.0), True),
    "index_add_ source over self": (lambda T: (lambda a: a[:3].index_add_(0, ix(T, 0, 1), a[2:4]))(ar(T)), True),
    "index_add_ scaled source over self": (lambda T: (lambda a: a[:3].index_add_(0, ix(T, 0, 1), a[2:4], alpha=2))(
        ar(T)), True),
    "index_add_ source itself": (lambda T: (lambda a: a.index_add_(0, ix(T, 4, 3, 2, 1, 0), a))(ar(T)), True),
    "index_add_ index over self": (lambda T: (lambda a: a.index_add_(0, a[:2], T.ones(2, dtype=T.long)))(
        T.arange(5)), True),
    "index_add_ into expanded": (lambda T: ex(T).index_add_(0, ix(T, 0), T.ones(1)), True),
    "index_copy_ source over self": (lambda T: (lambda a: a[:3].index_copy_(0, ix(T, 0, 1), a[2:4]))(ar(T)), True),
    "index_copy_ into expanded": (lambda T: ex(T).index_copy_(0, ix(T, 0), T.ones(1)), True),
    "index_fill_ into expanded": (lambda T: ex(T).index_fill_(0, ix(T, 0), 2.0), True),
    "index_fill_ index over self": (lambda T: (lambda a: a.index_fill_(0, a[:2], 7))(T.arange(5)), True),
    "put_ source over self": (lambda T: (lambda a: a.put_(ix(T, 0, 1), a[3:5]))(ar(T)), True),
    "put_ into expanded": (lambda T: ex(T).put_(ix(T, 0), T.ones(1)), True),
    # masked ops, where
    "masked_fill_ into expanded": (lambda T: ex(T).masked_fill_(T.tensor([True, False, True]), 2.0), True),
    "masked_fill_ into expanded, some": (lambda T: T.zeros(2, 1).expand(2, 3).masked_fill_(
        T.tensor([[False, False, True], [False, False, False]]), 2.0), True),
    "masked_fill_ mask shifted": (lambda T: (lambda a: a[1:].masked_fill_(a[:-1], False))(
        T.tensor([True, False, True, True])), True),
    "masked_fill_ mask itself": (lambda T: (lambda a: a.masked_fill_(a, False))(T.tensor([True, False, True, True])),
                                 True),
    "masked_fill_ own element value": (lambda T: (lambda a: a.masked_fill_(a > 2, a[0]))(ar(T)), True),
    "masked_scatter_ source over self": (lambda T: (lambda a: a[:3].masked_scatter_(T.tensor([True, False, True]),
                                                                                     a[2:5]))(ar(T)), True),
    "masked_scatter_ into expanded": (lambda T: ex(T).masked_scatter_(T.tensor([True, False, True]), T.ones(3)),
                                      True),
    "where out into its input": (lambda T: (lambda a: T.where(a > 2, a, T.zeros(5), out=a))(ar(T)), True),
    "where out shifted": (lambda T: (lambda a: T.where(a[:-1] > 1, a[:-1], T.zeros(4), out=a[1:]))(ar(T)), True),
    "where out over condition": (lambda T: (lambda c: T.where(c, T.ones(3, dtype=T.bool), c[0], out=c))(
        T.tensor([True, False, True])), True),
    "where out expanded": (lambda T: T.where(ar(T, 3) > 0, T.ones(3), T.zeros(3), out=ex(T)), True),
}


def _outcome(T, case):
    """("ok", value, warnings) or (exception type, first line of its message, warnings).
    The value is read inside the try: an error the daemon finds surfaces at that sync."""
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        try:
            r = case(T)
            got = ("ok", r.tolist())
        except Exception as e:  # noqa: BLE001 (the type is what is compared)
            got = (type(e).__name__, str(e).split("\n")[0])
    # torch's C++ warnings end with where they were triggered
    msgs = [str(x.message).split(" (Triggered internally")[0] for x in w
            if issubclass(x.category, UserWarning) and "on expanded tensors" in str(x.message)]
    return got + (msgs,)


@pytest.mark.parametrize("name", list(CASES))
def test_overlap_like_torch(name):
    case, values = CASES[name]
    want, got = _outcome(torch, case), _outcome(td, case)
    if not values and want[0] == "ok":
        want, got = want[:1] + want[2:], got[:1] + got[2:]
    assert got == want


def test_messages_are_torchs():
    """The two messages, word for word, raised at the call (before anything is written)."""
    a = td.arange(5.0)
    with pytest.raises(RuntimeError) as e:
        a[1:].add_(a[:-1])
    assert str(e.value) == PARTIAL
    assert a.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    with pytest.raises(RuntimeError) as e:
        td.zeros(1).expand(5).add_(1)
    assert str(e.value) == INTERNAL


def test_daemon_checks_storages_the_client_cannot_tell_apart():
    """A tensor opened from a sharing token is another storage to the client; the daemon
    knows it is the same one and refuses the record (raised at the next sync, with the
    op's location), leaving the other tensors alone."""
    from tensord.multiprocessing.reductions import reduce_tensor
    a = td.arange(5.0)
    rebuild, args = reduce_tensor(a)
    b = rebuild(*args)  # as another process would open it: a second handle on a's storage
    assert b._storage_key != a._storage_key
    b[1:].add_(a[:-1])
    with pytest.raises(RuntimeError) as e:
        b.tolist()
    assert str(e.value).split("\n")[0] == PARTIAL
    assert a.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_composed_out_into_expanded_keeps_last_element():
    """Ops torch does not refuse an expanded out= for (not TensorIterator kernels): each
    shared location holds the value of the last element written to it, as in torch."""
    for T in (torch, td):
        o = T.zeros(2, 1).expand(2, 3)
        T.triu(T.arange(6.0).view(2, 3), out=o)
        assert o.tolist() == [[2.0] * 3, [5.0] * 3]


def test_writes_that_overlap_nothing_still_run_in_one_record():
    """The checks cost nothing where there is no overlap: in-place and out= records on
    disjoint views of one storage run as before."""
    a = td.arange(10.0)
    a[:5].add_(a[5:])
    td.mul(a[5:], 2, out=a[:5])
    assert a.tolist() == [10.0, 12.0, 14.0, 16.0, 18.0, 5.0, 6.0, 7.0, 8.0, 9.0]
