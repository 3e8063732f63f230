"""torch.amp.GradScaler (and torch.cuda.amp.GradScaler, its "cuda" form): scales the loss so float16 gradients do not underflow,
unscales the gradients before the optimizer step, skips steps whose gradients hold inf or
NaN and adapts the scale (backoff on overflow, growth after growth_interval clean steps).
The inf checks and the scale update are recorded ops on the scale's device (no sync); the
only reads are the found-inf flags step() needs to decide whether to step, as torch's."""
import warnings
from collections import defaultdict
from enum import Enum

from .._grad_mode import no_grad

__all__ = ["GradScaler", "OptState"]


class OptState(Enum):
    READY = 0
    UNSCALED = 1
    STEPPED = 2


def _refresh_per_optimizer_state():
    return {"stage": OptState.READY, "found_inf_per_device": {}}


def _pkg():
    import tensord
    return tensord


class GradScaler:
    """GradScaler(device="cuda", ...) as torch 2.x's: the scaled tensors live on `device`
    ("cuda" or "cpu"); for "cuda" without a GPU it disables itself with torch's warning."""

    def __init__(self, device="cuda", init_scale=2. ** 16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000, enabled=True):
        T = _pkg()
        self._device = T.device(device).type
        if self._device not in ("cuda", "cpu"):
            raise RuntimeError("GradScaler does not support device type %s" % self._device)
        if enabled and self._device == "cuda" and not T.cuda.is_available():
            warnings.warn("torch.cuda.amp.GradScaler is enabled, but CUDA is not available.  Disabling.")
            self._enabled = False
        else:
            self._enabled = enabled
        if self._enabled:
            assert growth_factor > 1.0, "The growth factor must be > 1.0."
            assert backoff_factor < 1.0, "The backoff factor must be < 1.0."
            self._init_scale = init_scale
            self._scale = None
            self._growth_factor = growth_factor
            self._backoff_factor = backoff_factor
            self._growth_interval = growth_interval
            self._init_growth_tracker = 0
            self._growth_tracker = None
            self._per_optimizer_states = defaultdict(_refresh_per_optimizer_state)

    def _check_scale_growth_tracker(self, funcname):
        fix = "This may indicate your script did not use scaler.scale(loss or outputs) earlier in the iteration."
        assert self._scale is not None, "Attempted {} but _scale is None.  ".format(funcname) + fix
        assert self._growth_tracker is not None, "Attempted {} but _growth_tracker is None.  ".format(funcname) + fix
        return self._scale, self._growth_tracker

    def _lazy_init_scale_growth_tracker(self, dev):
        T = _pkg()
        assert self._growth_tracker is None, "_growth_tracker initialized before _scale"
        self._scale = T.full((1,), self._init_scale, dtype=T.float32, device=dev)
        self._growth_tracker = T.full((1,), self._init_growth_tracker, dtype=T.int32, device=dev)

    def scale(self, outputs):
        """outputs (a tensor, or nested lists/tuples of them) times the current scale."""
        T = _pkg()
        if not self._enabled:
            return outputs
        if isinstance(outputs, T.Tensor):
            assert outputs.device.type == self._device
            if self._scale is None:
                self._lazy_init_scale_growth_tracker(outputs.device)
            return outputs * self._scale.to(device=outputs.device, non_blocking=True)

        def apply_scale(val):
            if isinstance(val, T.Tensor):
                assert val.device.type == self._device
                if self._scale is None:
                    self._lazy_init_scale_growth_tracker(val.device)
                return val * self._scale.to(device=val.device, non_blocking=True)
            if isinstance(val, (list, tuple)):
                scaled = [apply_scale(v) for v in val]
                return type(val)(scaled) if isinstance(val, tuple) else scaled
            raise ValueError("outputs must be a Tensor or an iterable of Tensors")
        return apply_scale(outputs)

    def _unscale_grads_(self, optimizer, inv_scale, found_inf, allow_fp16):
        T = _pkg()
        per_device = {}
        with no_grad():
            for group in optimizer.param_groups:
                for param in group["params"]:
                    if param.grad is None:
                        continue
                    if (not allow_fp16) and param.grad.dtype is T.float16:
                        raise ValueError("Attempting to unscale FP16 gradients.")
                    g = param.grad
                    dev = g.device
                    if dev not in per_device:
                        per_device[dev] = found_inf.to(dev, copy=True)
                    flag = per_device[dev]
                    # found_inf becomes 1 when any element is inf or NaN; the gradient is unscaled either way
                    flag.copy_(T.maximum(flag, g.isfinite().logical_not().any().to(flag.dtype)))
                    g.mul_(inv_scale.to(dev).to(g.dtype) if g.dtype is not T.float32 else inv_scale.to(dev))
        return per_device

    def unscale_(self, optimizer):
        """Divides optimizer's gradients by the scale (once per update), recording whether
        any was inf or NaN."""
        T = _pkg()
        if not self._enabled:
            return
        self._check_scale_growth_tracker("unscale_")
        state = self._per_optimizer_states[id(optimizer)]
        if state["stage"] is OptState.UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update().")
        elif state["stage"] is OptState.STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        inv_scale = self._scale.double().reciprocal().float()
        found_inf = T.full((1,), 0.0, dtype=T.float32, device=self._scale.device)
        state["found_inf_per_device"] = self._unscale_grads_(optimizer, inv_scale, found_inf, False)
        state["stage"] = OptState.UNSCALED

    def _maybe_opt_step(self, optimizer, state, *args, **kwargs):
        retval = None
        if not sum(v.item() for v in state["found_inf_per_device"].values()):
            retval = optimizer.step(*args, **kwargs)
        return retval

    def step(self, optimizer, *args, **kwargs):
        """unscale_ (if not done) and optimizer.step(), skipped when a gradient was inf/NaN."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        self._check_scale_growth_tracker("step")
        state = self._per_optimizer_states[id(optimizer)]
        if state["stage"] is OptState.STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] is OptState.READY:
            self.unscale_(optimizer)
        assert len(state["found_inf_per_device"]) > 0, "No inf checks were recorded for this optimizer."
        retval = self._maybe_opt_step(optimizer, state, *args, **kwargs)
        state["stage"] = OptState.STEPPED
        return retval

    def update(self, new_scale=None):
        """The next scale: new_scale if given, else backoff_factor * scale after an inf/NaN,
        growth_factor * scale after growth_interval clean steps, else unchanged."""
        T = _pkg()
        if not self._enabled:
            return
        _scale, _growth_tracker = self._check_scale_growth_tracker("update")
        if new_scale is not None:
            if isinstance(new_scale, float):
                self._scale.fill_(new_scale)
            else:
                reason = "new_scale should be a float or a 1-element torch.cuda.FloatTensor with requires_grad=False."
                assert isinstance(new_scale, T.Tensor) and new_scale.device.type == self._device and new_scale.dtype is T.float32, reason
                assert new_scale.numel() == 1, reason
                assert new_scale.requires_grad is False, reason
                self._scale.copy_(new_scale)
        else:
            found_infs = [f.to(device=_scale.device, non_blocking=True)
                          for state in self._per_optimizer_states.values()
                          for f in state["found_inf_per_device"].values()]
            assert len(found_infs) > 0, "No inf checks were recorded prior to update."
            found = found_infs[0]
            for f in found_infs[1:]:
                found = found + f
            with no_grad():
                inf = found > 0
                tracker = T.where(inf, T.zeros_like(_growth_tracker), _growth_tracker + 1)
                grow = tracker == self._growth_interval
                factor = T.where(inf, T.full_like(_scale, self._backoff_factor),
                                 T.where(grow, T.full_like(_scale, self._growth_factor), T.ones_like(_scale)))
                _scale.mul_(factor)
                _growth_tracker.copy_(T.where(grow, T.zeros_like(tracker), tracker))
        self._per_optimizer_states = defaultdict(_refresh_per_optimizer_state)

    def _get_scale_async(self):
        return self._scale

    def get_scale(self):
        if self._enabled:
            return self._init_scale if self._scale is None else self._get_scale_async().item()
        return 1.0

    def get_growth_factor(self):
        return self._growth_factor

    def set_growth_factor(self, new_factor):
        self._growth_factor = new_factor

    def get_backoff_factor(self):
        return self._backoff_factor

    def set_backoff_factor(self, new_factor):
        self._backoff_factor = new_factor

    def get_growth_interval(self):
        return self._growth_interval

    def set_growth_interval(self, new_interval):
        self._growth_interval = new_interval

    def _get_growth_tracker(self):
        if self._enabled:
            return self._init_growth_tracker if self._growth_tracker is None else self._growth_tracker.item()
        return 0

    def is_enabled(self):
        return self._enabled

    def state_dict(self):
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor, "growth_interval": self._growth_interval,
                "_growth_tracker": self._get_growth_tracker()} if self._enabled else {}

    def load_state_dict(self, state_dict):
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved from a disabled "
                               "instance of GradScaler.")
        self._init_scale = state_dict["scale"]
        if self._scale is not None:
            self._scale.fill_(state_dict["scale"])
        self._growth_factor = state_dict["growth_factor"]
        self._backoff_factor = state_dict["backoff_factor"]
        self._growth_interval = state_dict["growth_interval"]
        self._init_growth_tracker = state_dict["_growth_tracker"]
        if self._growth_tracker is not None:
            self._growth_tracker.fill_(state_dict["_growth_tracker"])

    def __getstate__(self):
        state = self.__dict__.copy()
        if self._enabled:
            assert len(self._per_optimizer_states) == 0, \
                "A GradScaler instance may only be pickled at the beginning of an iteration, or at the end after " \
                "scaler.update()."
            state["_init_scale"] = self.get_scale()
            state["_init_growth_tracker"] = self._get_growth_tracker()
            state["_scale"] = None
            state["_growth_tracker"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
