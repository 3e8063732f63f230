"""tensord.backends.mkl (torch.backends.mkl): Intel MKL is not used by tensord."""


def is_available():
    return False
