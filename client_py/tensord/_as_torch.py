"""`torch` as another name for tensord, for scripts written for PyTorch: after install(),
`import torch`, `import torch.nn as nn` and `from torch.utils.data import DataLoader`
give tensord's modules (the same module objects, so `torch.nn is tensord.nn`).  A torch
module tensord lacks raises ModuleNotFoundError naming it.  `python -m tensord SCRIPT`
runs a script this way (__main__.py).

Child processes inherit it through PYTHONPATH and sys.path (multiprocessing hands the
parent's sys.path to spawned children): install() puts _as_torch_path first, whose
`torch` package installs the alias in the child (multiprocessing's spawn and forkserver
children, subprocesses), so no child mixes real torch with tensord."""
import importlib
import importlib.abc
import importlib.util
import os
import sys

SHIM_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_as_torch_path")


class _TorchAlias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """torch.X is tensord.X: found first on sys.meta_path, so no torch.X is ever loaded from
    files a second time under the other name."""

    def find_spec(self, name, path, target=None):
        if name != "torch" and not name.startswith("torch."):
            return None
        real = "tensord" + name[len("torch"):]
        if real not in sys.modules and importlib.util.find_spec(real) is None:
            raise ModuleNotFoundError("No module named %r (tensord has no %s)" % (name, real), name=name)
        return importlib.util.spec_from_loader(name, self)

    def create_module(self, spec):
        return importlib.import_module("tensord" + spec.name[len("torch"):])

    def exec_module(self, module):
        pass  # the tensord module, already executed


def installed():
    return any(isinstance(f, _TorchAlias) for f in sys.meta_path)


def install():
    """Makes `torch` tensord in this process and in the processes it starts."""
    for name in sorted(n for n in sys.modules if n == "torch" or n.startswith("torch.")):
        m = sys.modules[name]
        if not m.__name__.startswith("tensord") and not (getattr(m, "__file__", None) or "").startswith(SHIM_PATH):
            raise ImportError("PyTorch's %s is already imported in this process: tensord cannot stand in for it"
                              % name)
    if not installed():
        sys.meta_path.insert(0, _TorchAlias())
    import tensord
    sys.modules["torch"] = tensord
    if SHIM_PATH not in sys.path:  # spawn and forkserver children start from the parent's sys.path
        sys.path.insert(0, SHIM_PATH)
    paths = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    if SHIM_PATH not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([SHIM_PATH] + [p for p in paths if p])
