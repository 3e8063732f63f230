"""tensord.nn, as torch.nn: Module and the layers (modules/), Parameter, functional, init
and utils."""
from .modules import *  # noqa: F401,F403
from .parameter import Buffer, Parameter, UninitializedParameter, UninitializedBuffer  # noqa: F401
from . import attention, functional, grad, init, utils, parallel  # noqa: F401
from .parallel import DataParallel  # noqa: F401
