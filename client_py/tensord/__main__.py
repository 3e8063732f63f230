"""python -m tensord SCRIPT [ARGS...] | -m MODULE [ARGS...]: runs a program written for
PyTorch with `torch` bound to tensord (_as_torch.py): every `import torch...` in it, in
the modules it imports and in the processes it starts gives tensord's modules."""
import os
import runpy
import sys

from tensord import _as_torch

USAGE = "usage: python -m tensord SCRIPT [ARGS...] | -m MODULE [ARGS...]"


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE + "\n\nRuns a PyTorch program with `torch` bound to tensord.", file=sys.stderr)
        return 0 if argv else 2
    if argv[0] != "-m":
        sys.path[0] = os.path.dirname(os.path.abspath(argv[0]))  # as `python SCRIPT` sets it
    _as_torch.install()
    if argv[0] == "-m":
        if len(argv) < 2:
            print(USAGE, file=sys.stderr)
            return 2
        sys.argv = argv[1:]
        name = argv[1]
        if name == "torch" or name.startswith("torch."):  # torch.distributed.run: tensord's module, run as main
            name = "tensord" + name[len("torch"):]
        runpy.run_module(name, run_name="__main__", alter_sys=True)
    else:
        sys.argv = argv
        runpy.run_path(argv[0], run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
