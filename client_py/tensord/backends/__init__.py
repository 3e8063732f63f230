"""tensord.backends (torch.backends): the flags and availability checks of the compute
backends, laid out as PyTorch's.  tensord's CPU kernels read none of these flags (their
results do not depend on them); they exist so that scripts that set or read them run.
is_available() reports what tensord itself uses: no cuDNN, oneDNN, MKL, OpenMP or MPS."""
from . import cuda, cudnn, mkl, mkldnn, mps, openmp  # noqa: F401
