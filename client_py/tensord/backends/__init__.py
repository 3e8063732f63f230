"""tensord.backends (torch.backends): the flags and availability checks of the compute
backends, laid out as PyTorch's.  tensord's CPU kernels read none of these flags (their
results do not depend on them); they exist so that scripts that set or read them run.
is_available() reports what tensord itself uses: no cuDNN, oneDNN, MKL, OpenMP or MPS.
The TF32 switches (cuda.matmul.allow_tf32, cudnn.allow_tf32) do reach the daemon: they
are the session's kernel options (proto/td_device.h TD_KOPT_*), read by the CUDA plugin's
matmul and convolution."""
from . import cuda, cudnn, mkl, mkldnn, mps, openmp  # noqa: F401
