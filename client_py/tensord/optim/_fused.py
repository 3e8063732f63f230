"""The fused path of SGD and Adam/AdamW: one `sgd_step`/`adam_step` op record (the
daemon's OPTIM family, kernels/cpu/optim.c) steps up to 51 parameters at once, in place
of a handful of records per parameter.  Parameters the fused kernels cannot take
(dtypes other than float32/float64, non-contiguous tensors, complex) go through the
optimizer's single-tensor function, as torch's foreach path falls back; a group's
parameters are also split by step count, since one record carries one step number."""
from .._C import ops
from .._dtype import float32, float64

MAX_INPUTS = 255  # tensors per op record


def _fusable(tensors):
    t0 = tensors[0]
    return t0.dtype in (float32, float64) and all(
        t.dtype == t0.dtype and t.shape == t0.shape and t.is_contiguous() for t in tensors)


def split(columns, keys=None):
    """(fused, rest): indices of the rows whose tensors (one per column) the fused kernel
    takes, grouped by key (step count) and chunked to fit one record; the others."""
    per = len(columns)
    fused, rest = {}, []
    for i in range(len(columns[0])):
        row = [c[i] for c in columns]
        if _fusable(row):
            fused.setdefault(keys[i] if keys is not None else None, []).append(i)
        else:
            rest.append(i)
    chunk = MAX_INPUTS // per
    runs = [(k, idx[j:j + chunk]) for k, idx in fused.items() for j in range(0, len(idx), chunk)]
    return runs, rest


def flat(columns, idx):
    out = []
    for i in idx:
        out += [c[i] for c in columns]
    return out


def sgd(params, grads, bufs, *, lr, momentum, dampening, weight_decay, nesterov, maximize, first):
    ops.sgd_step(*flat([params, grads] + ([bufs] if momentum != 0 else []), range(len(params))), lr=lr,
                 momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov,
                 maximize=maximize, first=first)


def adam(tensors, *, step, lr, beta1, beta2, eps, weight_decay, amsgrad, maximize, decoupled):
    ops.adam_step(*tensors, lr=lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay,
                  step=int(step), amsgrad=amsgrad, maximize=maximize, decoupled=decoupled)
