"""tensord.backends.openmp (torch.backends.openmp): OpenMP (tensord's kernels use their own thread pool) is not used by tensord."""


def is_available():
    return False
