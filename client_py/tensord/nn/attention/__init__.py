"""tensord.nn.attention (torch 2.3's torch.nn.attention): SDPBackend and sdpa_kernel, the
context that chooses which scaled_dot_product_attention implementations may run.  tensord
has one implementation per device, which computes what each backend computes; the
context records the choice where torch.backends.cuda's switches read it
(flash_sdp_enabled, math_sdp_enabled), and refuses an empty list as torch does."""
import contextlib
import enum

__all__ = ["SDPBackend", "sdpa_kernel"]


class SDPBackend(enum.IntEnum):
    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4


@contextlib.contextmanager
def sdpa_kernel(backends, set_priority=False):
    from ...backends import cuda as _cuda
    chosen = [backends] if isinstance(backends, SDPBackend) else list(backends)
    if not chosen or not all(isinstance(b, SDPBackend) for b in chosen):
        raise AssertionError("Backend must be an instance of SDPBackend or a list of SDPBackend instances")
    prev = (_cuda.flash_sdp_enabled(), _cuda.math_sdp_enabled())
    _cuda.enable_flash_sdp(SDPBackend.FLASH_ATTENTION in chosen)
    _cuda.enable_math_sdp(SDPBackend.MATH in chosen)
    try:
        yield {}
    finally:
        _cuda.enable_flash_sdp(prev[0])
        _cuda.enable_math_sdp(prev[1])
