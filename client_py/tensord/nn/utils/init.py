"""skip_init, as torch.nn.utils.init: a module built without running its parameters'
initialization (the parameters hold whatever the allocation held)."""
import inspect

__all__ = ["skip_init"]


def skip_init(module_cls, *args, **kwargs):
    """module_cls(*args, **kwargs) with its reset_parameters skipped; module_cls must
    accept a `device` keyword, as torch requires."""
    from ..modules.module import Module
    if not issubclass(module_cls, Module):
        raise RuntimeError("Expected a Module; got {}".format(module_cls))
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    # tensord has no meta device: the initializers are skipped by name for this one call
    saved = module_cls.__dict__.get("reset_parameters"), hasattr(module_cls, "reset_parameters")
    if not saved[1]:
        return module_cls(*args, **kwargs)
    setattr(module_cls, "reset_parameters", lambda self: None)
    try:
        return module_cls(*args, **kwargs)
    finally:
        if saved[0] is None:
            delattr(module_cls, "reset_parameters")
        else:
            setattr(module_cls, "reset_parameters", saved[0])
