"""tensord.nn, as torch.nn: Module and the layers (modules/), Parameter, functional, init
and utils."""
from .modules import *  # noqa: F401,F403
from .parameter import Parameter, UninitializedParameter, UninitializedBuffer  # noqa: F401
from . import functional, grad, init, utils, parallel  # noqa: F401
from .parallel import DataParallel  # noqa: F401
