"""tensord.backends.mps (torch.backends.mps): Apple's Metal Performance Shaders is not used by tensord."""


def is_available():
    return False


def is_built():
    return False
