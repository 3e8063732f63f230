"""tensord.backends.mkldnn (torch.backends.mkldnn): oneDNN (MKL-DNN) is not used by tensord."""


def is_available():
    return False


enabled = True


def set_flags(_enabled):
    """Sets enabled and returns the previous value (as a 1-tuple, as torch)."""
    global enabled
    orig = (enabled,)
    enabled = _enabled
    return orig
