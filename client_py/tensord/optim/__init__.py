"""tensord.optim: torch.optim's optimizers and learning-rate schedulers over tensord's
autograd (one module per optimizer, as torch lays them out)."""
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam
from .adamw import AdamW
from .adamax import Adamax
from .sgd import SGD
from .radam import RAdam
from .rmsprop import RMSprop
from .optimizer import Optimizer
from .nadam import NAdam
from .lbfgs import LBFGS
from .asgd import ASGD
from .rprop import Rprop
from . import lr_scheduler

__all__ = ['Adadelta', 'Adagrad', 'Adam', 'AdamW', 'Adamax', 'SGD', 'RAdam', 'RMSprop', 'Optimizer',
           'NAdam', 'LBFGS', 'ASGD', 'Rprop', 'lr_scheduler']

# torch.optim's namespace names the classes, not the modules that hold them
del adadelta, adagrad, adam, adamw, adamax, sgd, radam, rmsprop, optimizer, nadam, lbfgs, asgd, rprop  # noqa: F821
