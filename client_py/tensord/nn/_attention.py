"""nn.functional.multi_head_attention_forward as torch 1.13 computes it (its slow path):
the input projections (one packed weight or three), bias_k/bias_v and add_zero_attn
columns, key_padding_mask and attn_mask (bool: -inf where True; float: added) merged
into one additive mask, softmax(q k^T / sqrt(head_dim) + mask) v per head, the output
projection, and the weights averaged over heads on request.  Composed from tensord ops
(bmm, baddbmm, softmax, ...), so autograd differentiates it.  Shapes are time-major:
query (L, N, E), key/value (S, N, E); unbatched (L, E) works too."""
import math
import warnings

from . import _activation as A

__all__ = ["multi_head_attention_forward", "scaled_dot_product_attention"]


def _pkg():
    import tensord
    return tensord


def _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads):
    if query.dim() == 3:
        assert key.dim() == 3 and value.dim() == 3, \
            ("For batched (3-D) `query`, expected `key` and `value` to be 3-D but found %d-D and %d-D tensors "
             "respectively" % (key.dim(), value.dim()))
        if key_padding_mask is not None:
            assert key_padding_mask.dim() == 2, \
                ("For batched (3-D) `query`, expected `key_padding_mask` to be `None` or 2-D but found %d-D tensor "
                 "instead" % key_padding_mask.dim())
        if attn_mask is not None:
            assert attn_mask.dim() in (2, 3), \
                ("For batched (3-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D but found %d-D tensor "
                 "instead" % attn_mask.dim())
        return True
    if query.dim() == 2:
        assert key.dim() == 2 and value.dim() == 2, \
            ("For unbatched (2-D) `query`, expected `key` and `value` to be 2-D but found %d-D and %d-D tensors "
             "respectively" % (key.dim(), value.dim()))
        if key_padding_mask is not None:
            assert key_padding_mask.dim() == 1, \
                ("For unbatched (2-D) `query`, expected `key_padding_mask` to be `None` or 1-D but found %d-D tensor "
                 "instead" % key_padding_mask.dim())
        if attn_mask is not None:
            assert attn_mask.dim() in (2, 3), \
                ("For unbatched (2-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D but found %d-D tensor "
                 "instead" % attn_mask.dim())
            if attn_mask.dim() == 3:
                expected_shape = (num_heads, query.shape[0], key.shape[0])
                assert tuple(attn_mask.shape) == expected_shape, \
                    "Expected `attn_mask` shape to be %s but got %s" % (expected_shape, attn_mask.shape)
        return False
    raise AssertionError("query should be unbatched 2D or batched 3D tensor but received %d-D query tensor"
                         % query.dim())


def _in_projection_packed(q, k, v, w, b=None):
    """q, k, v through the (3E, E) packed weight: one matmul when they are one tensor."""
    E = q.size(-1)
    if k is v:
        if q is k:
            return A.linear(q, w, b).chunk(3, dim=-1)
        w_q, w_kv = w.split([E, E * 2])
        b_q, b_kv = (None, None) if b is None else b.split([E, E * 2])
        return (A.linear(q, w_q, b_q),) + tuple(A.linear(k, w_kv, b_kv).chunk(2, dim=-1))
    w_q, w_k, w_v = w.chunk(3)
    b_q, b_k, b_v = (None, None, None) if b is None else b.chunk(3)
    return A.linear(q, w_q, b_q), A.linear(k, w_k, b_k), A.linear(v, w_v, b_v)


def _in_projection(q, k, v, w_q, w_k, w_v, b_q=None, b_k=None, b_v=None):
    Eq, Ek, Ev = q.size(-1), k.size(-1), v.size(-1)
    for what, w, want in (("query", w_q, (Eq, Eq)), ("key", w_k, (Eq, Ek)), ("value", w_v, (Eq, Ev))):
        assert tuple(w.shape) == want, "expecting %s weights shape of %s, but got %s" % (what, want, w.shape)
    for what, b in (("query", b_q), ("key", b_k), ("value", b_v)):
        assert b is None or tuple(b.shape) == (Eq,), \
            "expecting %s bias shape of %s, but got %s" % (what, (Eq,), b.shape)
    return A.linear(q, w_q, b_q), A.linear(k, w_k, b_k), A.linear(v, w_v, b_v)


def _pad_last(mask):
    """One more (unmasked) key column: False for a bool mask, 0 for a float one."""
    return _pkg().nn.functional.pad(mask, (0, 1))


def _check_attn_mask(attn_mask, tgt_len, src_len, bsz, num_heads):
    t = _pkg()
    if attn_mask.dtype == t.uint8:
        warnings.warn("Byte tensor for attn_mask in nn.MultiheadAttention is deprecated. Use bool tensor instead.")
        attn_mask = attn_mask.to(t.bool)
    else:
        assert attn_mask.is_floating_point() or attn_mask.dtype == t.bool, \
            "Only float, byte, and bool types are supported for attn_mask, not %s" % attn_mask.dtype
    if attn_mask.dim() == 2:
        if tuple(attn_mask.shape) != (tgt_len, src_len):
            raise RuntimeError("The shape of the 2D attn_mask is %s, but should be %s."
                               % (attn_mask.shape, (tgt_len, src_len)))
        return attn_mask.unsqueeze(0)
    if attn_mask.dim() == 3:
        if tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
            raise RuntimeError("The shape of the 3D attn_mask is %s, but should be %s."
                               % (attn_mask.shape, (bsz * num_heads, tgt_len, src_len)))
        return attn_mask
    raise RuntimeError("attn_mask's dimension %d is not supported" % attn_mask.dim())


def _merge_masks(attn_mask, key_padding_mask, bsz, num_heads, src_len, dtype):
    """key_padding_mask (N, S) folded into attn_mask; the result additive (float) or None."""
    t = _pkg()
    if key_padding_mask is not None:
        assert tuple(key_padding_mask.shape) == (bsz, src_len), \
            "expecting key_padding_mask shape of %s, but got %s" % ((bsz, src_len), key_padding_mask.shape)
        key_padding_mask = key_padding_mask.view(bsz, 1, 1, src_len).expand(-1, num_heads, -1, -1) \
            .reshape(bsz * num_heads, 1, src_len)
        if attn_mask is None:
            attn_mask = key_padding_mask
        elif attn_mask.dtype == t.bool:
            attn_mask = attn_mask.logical_or(key_padding_mask)
        else:
            attn_mask = attn_mask.masked_fill(key_padding_mask, float("-inf"))
    if attn_mask is not None and attn_mask.dtype == t.bool:
        attn_mask = t.zeros_like(attn_mask, dtype=dtype).masked_fill_(attn_mask, float("-inf"))
    return attn_mask


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias,
                                 bias_k, bias_v, add_zero_attn, dropout_p, out_proj_weight, out_proj_bias,
                                 training=True, key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None, k_proj_weight=None,
                                 v_proj_weight=None, static_k=None, static_v=None, average_attn_weights=True):
    """(attn_output (L, N, E), attn_weights (N, L, S) averaged or (N, heads, L, S), or None)."""
    t = _pkg()
    is_batched = _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not is_batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    if key_padding_mask is not None and key_padding_mask.dtype != t.bool \
            and not key_padding_mask.is_floating_point():
        raise AssertionError("only bool and floating types of key_padding_mask are supported")
    assert embed_dim == embed_dim_to_check, \
        "was expecting embedding dimension of %s, but got %s" % (embed_dim_to_check, embed_dim)
    head_dim = embed_dim // num_heads
    assert head_dim * num_heads == embed_dim, "embed_dim %s not divisible by num_heads %s" % (embed_dim, num_heads)
    if use_separate_proj_weight:
        assert tuple(key.shape[:2]) == tuple(value.shape[:2]), \
            "key's sequence and batch dims %s do not match value's %s" % (key.shape[:2], value.shape[:2])
        assert q_proj_weight is not None, "use_separate_proj_weight is True but q_proj_weight is None"
        assert k_proj_weight is not None, "use_separate_proj_weight is True but k_proj_weight is None"
        assert v_proj_weight is not None, "use_separate_proj_weight is True but v_proj_weight is None"
        b_q, b_k, b_v = (None, None, None) if in_proj_bias is None else in_proj_bias.chunk(3)
        q, k, v = _in_projection(query, key, value, q_proj_weight, k_proj_weight, v_proj_weight, b_q, b_k, b_v)
    else:
        assert tuple(key.shape) == tuple(value.shape), \
            "key shape %s does not match value shape %s" % (key.shape, value.shape)
        assert in_proj_weight is not None, "use_separate_proj_weight is False but in_proj_weight is None"
        q, k, v = _in_projection_packed(query, key, value, in_proj_weight, in_proj_bias)
    if attn_mask is not None:
        attn_mask = _check_attn_mask(attn_mask, tgt_len, src_len, bsz, num_heads)
    if bias_k is not None and bias_v is not None:
        assert static_k is None, "bias cannot be added to static key."
        assert static_v is None, "bias cannot be added to static value."
        k = t.cat([k, bias_k.repeat(1, bsz, 1)])
        v = t.cat([v, bias_v.repeat(1, bsz, 1)])
        attn_mask = None if attn_mask is None else _pad_last(attn_mask)
        key_padding_mask = None if key_padding_mask is None else _pad_last(key_padding_mask)
    else:
        assert bias_k is None
        assert bias_v is None
    # heads: (L, N, E) -> (N * heads, L, head_dim)
    q = q.contiguous().view(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    if static_k is None:
        k = k.contiguous().view(k.shape[0], bsz * num_heads, head_dim).transpose(0, 1)
    else:
        assert static_k.size(0) == bsz * num_heads, \
            "expecting static_k.size(0) of %d, but got %d" % (bsz * num_heads, static_k.size(0))
        assert static_k.size(2) == head_dim, "expecting static_k.size(2) of %d, but got %d" % (head_dim,
                                                                                             static_k.size(2))
        k = static_k
    if static_v is None:
        v = v.contiguous().view(v.shape[0], bsz * num_heads, head_dim).transpose(0, 1)
    else:
        assert static_v.size(0) == bsz * num_heads, \
            "expecting static_v.size(0) of %d, but got %d" % (bsz * num_heads, static_v.size(0))
        assert static_v.size(2) == head_dim, "expecting static_v.size(2) of %d, but got %d" % (head_dim,
                                                                                             static_v.size(2))
        v = static_v
    if add_zero_attn:
        zeros = t.zeros((bsz * num_heads, 1, head_dim), dtype=k.dtype)
        k = t.cat([k, zeros], dim=1)
        v = t.cat([v, zeros], dim=1)
        attn_mask = None if attn_mask is None else _pad_last(attn_mask)
        key_padding_mask = None if key_padding_mask is None else _pad_last(key_padding_mask)
    src_len = k.size(1)
    attn_mask = _merge_masks(attn_mask, key_padding_mask, bsz, num_heads, src_len, q.dtype)
    if not training:
        dropout_p = 0.0
    q_scaled = q / math.sqrt(q.shape[2])
    if attn_mask is not None:
        weights = t.baddbmm(attn_mask, q_scaled, k.transpose(-2, -1))
    else:
        weights = t.bmm(q_scaled, k.transpose(-2, -1))
    weights = A.softmax(weights, dim=-1)
    if dropout_p > 0.0:
        weights = t.nn.functional.dropout(weights, p=dropout_p)
    out = t.bmm(weights, v).transpose(0, 1).contiguous().view(tgt_len * bsz, embed_dim)
    out = A.linear(out, out_proj_weight, out_proj_bias).view(tgt_len, bsz, -1)
    if not need_weights:
        return (out if is_batched else out.squeeze(1)), None
    weights = weights.view(bsz, num_heads, tgt_len, src_len)
    if average_attn_weights:
        weights = weights.sum(dim=1) / num_heads
    if not is_batched:
        return out.squeeze(1), weights.squeeze(0)
    return out, weights


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False):
    """softmax(query key^T * scale + mask) value over the last two dims (torch 2's function;
    scale defaults to 1/sqrt(E)); a bool mask keeps where True, a float one is added;
    is_causal masks the upper triangle; dropout_p drops attention weights.  enable_gqa
    (torch 2.5): key and value with fewer heads (dim -3) than query, each shared by a
    group of query heads (grouped-query attention)."""
    if enable_gqa and query.dim() >= 3 and key.size(-3) != query.size(-3):
        hq, hk, hv = query.size(-3), key.size(-3), value.size(-3)
        if hk != hv or hq % hk:
            raise RuntimeError("Number of heads in key and value must divide the number of heads in query "
                               "(query %d, key %d, value %d)" % (hq, hk, hv))
        key = key.repeat_interleave(hq // hk, dim=-3)
        value = value.repeat_interleave(hq // hk, dim=-3)
    return _sdpa(query, key, value, attn_mask, dropout_p, is_causal, scale)[0]


def _scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, need_attn_weights=False,
                                  is_causal=False):
    """torch 1.13's private form: (output, attention weights or None)."""
    out, weights = _sdpa(query, key, value, attn_mask, dropout_p, is_causal, None)
    return out, (weights if need_attn_weights else None)


def _sdpa(query, key, value, attn_mask, dropout_p, is_causal, scale):
    T = _pkg()
    L, S = query.size(-2), key.size(-2)
    scale = 1.0 / math.sqrt(query.size(-1)) if scale is None else scale
    scores = T.matmul(query, key.transpose(-2, -1)) * scale
    if is_causal:
        if attn_mask is not None:
            raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set when "
                               "is_causal=True")
        keep = T.ones(L, S, dtype=T.bool, device=query.device).tril()
        scores = scores.masked_fill(keep.logical_not(), float("-inf"))
    elif attn_mask is not None:
        if attn_mask.dtype == T.bool:
            scores = scores.masked_fill(attn_mask.logical_not(), float("-inf"))
        else:
            scores = scores + attn_mask
    weights = T.softmax(scores, dim=-1)
    if dropout_p > 0.0:
        weights = T.nn.functional.dropout(weights, p=dropout_p)
    return T.matmul(weights, value), weights
