"""AdaptiveLogSoftmaxWithLoss (Grave et al., efficient softmax approximation): a head over
the frequent classes plus one token per cluster of rarer ones, and per cluster a
low-rank tail.  forward returns (output, loss): each row's target log-probability and the
mean negative of them."""
from collections import namedtuple

from ..._grad_mode import no_grad
from .. import functional as F
from .container import ModuleList, Sequential
from .linear import Linear
from .module import Module

__all__ = ["AdaptiveLogSoftmaxWithLoss"]

_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])


class AdaptiveLogSoftmaxWithLoss(Module):
    r"""Adaptive softmax: classes below cutoffs[0] in the head, cluster i's classes
    (cutoffs[i]..cutoffs[i+1]) behind the head's token shortlist_size + i and a tail of
    hidden size in_features // div_value ** (i + 1)."""

    def __init__(self, in_features, n_classes, cutoffs, div_value=4., head_bias=False, device=None, dtype=None):
        super().__init__()
        cutoffs = list(cutoffs)
        if (cutoffs != sorted(cutoffs) or min(cutoffs) <= 0 or max(cutoffs) > n_classes - 1
                or len(set(cutoffs)) != len(cutoffs) or any(int(c) != c for c in cutoffs)):
            raise ValueError("cutoffs should be a sequence of unique, positive integers sorted in an increasing "
                             "order, where each value is between 1 and n_classes-1")
        self.in_features = in_features
        self.n_classes = n_classes
        self.cutoffs = cutoffs + [n_classes]
        self.div_value = div_value
        self.head_bias = head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        self.head = Linear(in_features, self.head_size, bias=head_bias, dtype=dtype)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hsz = int(in_features // (div_value ** (i + 1)))
            osz = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(Sequential(Linear(in_features, hsz, bias=False, dtype=dtype),
                                        Linear(hsz, osz, bias=False, dtype=dtype)))

    def reset_parameters(self):
        self.head.reset_parameters()
        for i2h, h2o in self.tail:
            i2h.reset_parameters()
            h2o.reset_parameters()

    def forward(self, input_, target_):
        tdim = target_.dim()
        if tdim == 1:
            if input_.size(0) != target_.size(0):
                raise RuntimeError("Input and target should have the same size in the batch dimension.")
            if input_.dim() != 2:
                raise RuntimeError("1D target tensor expects 2D input tensors, but found inputs with size",
                                   input_.size())
        elif tdim == 0:
            if input_.dim() != 1:
                raise RuntimeError("0D target tensor expects 1D input tensors, but found inputs with size",
                                   input_.size())
        else:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        batched = tdim > 0
        input = input_ if batched else input_.unsqueeze(0)
        target = target_ if batched else target_.unsqueeze(0)
        n = target.size(0)
        if n and (int(target.min()) < 0 or int(target.max()) >= self.n_classes):
            raise RuntimeError("Target values should be in [0, {}], but values in range [{}, {}] were found. "
                               .format(self.n_classes - 1, target.min().item(), target.max().item()))
        with no_grad():
            # the head's column per row: the class itself in the shortlist, else its cluster's token
            cluster = _bucket(target, self.cutoffs)
            head_col = target.where(cluster == 0, cluster + (self.shortlist_size - 1))
        output = input.new_zeros(n)
        for i in range(1, self.n_clusters + 1):
            rows = (cluster == i).nonzero().flatten()
            if rows.numel() == 0:
                continue
            logp = F.log_softmax(self.tail[i - 1](input.index_select(0, rows)), dim=1)
            rel = target.index_select(0, rows) - self.cutoffs[i - 1]
            output = output.index_add(0, rows, logp.gather(1, rel.unsqueeze(1)).squeeze(1))
        head_logprob = F.log_softmax(self.head(input), dim=1)
        output = output + head_logprob.gather(1, head_col.unsqueeze(1)).squeeze(1)
        loss = (-output).mean()
        return _ASMoutput(output if batched else output.squeeze(0), loss)

    def _get_full_log_prob(self, input, head_output):
        from ... import cat
        head_logprob = F.log_softmax(head_output, dim=1)
        parts = [head_logprob[:, :self.shortlist_size]]
        for i in range(self.n_clusters):
            cluster_logprob = F.log_softmax(self.tail[i](input), dim=1)
            parts.append(cluster_logprob + head_logprob[:, self.shortlist_size + i].unsqueeze(1))
        return cat(parts, 1)

    def log_prob(self, input):
        """Log-probabilities of every class, (N, n_classes) (or (n_classes,) for one sample)."""
        batched = input.dim() > 1
        x = input if batched else input.unsqueeze(0)
        out = self._get_full_log_prob(x, self.head(x))
        return out if batched else out.squeeze(0)

    def predict(self, input):
        """The most likely class per row: the head's argmax where it is a shortlist class,
        else the argmax of the full distribution."""
        from ... import argmax
        batched = input.dim() > 1
        x = input if batched else input.unsqueeze(0)
        head_output = self.head(x)
        out = argmax(head_output, dim=1)
        rare = out >= self.shortlist_size
        if bool(rare.any()):
            full = argmax(self._get_full_log_prob(x[rare], head_output[rare]), dim=1)
            out = out.masked_scatter(rare, full)
        return out if batched else out.squeeze(0)


def _bucket(target, cutoffs):
    """Which cluster each target falls in: 0 for the shortlist, i for cutoffs[i-1]..cutoffs[i]."""
    cluster = target.new_zeros(target.shape)
    for c in cutoffs[:-1]:
        cluster = cluster + (target >= c).long()
    return cluster
