"""The session's kernel options (proto/td_device.h TD_KOPT_*) from torch.backends' TF32
switches: each switch records its value here and the daemon gets the bits together."""
_KOPT_ALLOW_TF32, _KOPT_CUDNN_TF32 = 1, 2
_DC_SET_OPTIONS = 4
_state = {"matmul_tf32": False, "cudnn_tf32": True}  # PyTorch's defaults, and the daemon's


def _bits():
    return (_KOPT_ALLOW_TF32 if _state["matmul_tf32"] else 0) | (_KOPT_CUDNN_TF32 if _state["cudnn_tf32"] else 0)


def resend():
    """A new session (after fork or reconnect) starts from the defaults: give it ours."""
    from .. import _C
    if _bits() != _KOPT_CUDNN_TF32:
        _C.device_ctrl(0, _DC_SET_OPTIONS, _bits())


def tf32_state(which):
    return _state[which]


def set_tf32(which, value):
    """which: "matmul_tf32" or "cudnn_tf32"; sends the session's options when they change."""
    value = bool(value)
    if _state[which] == value:
        return
    _state[which] = value
    from .. import _C, _daemon
    _daemon.ensure()
    _C.device_ctrl(0, _DC_SET_OPTIONS, _bits())
