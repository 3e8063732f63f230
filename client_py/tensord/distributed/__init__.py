"""tensord.distributed (torch.distributed): process groups of processes sharing one
daemon, the collectives over them (distributed_c10d.py), and the stores they meet at
(store.py, tcp_store.py)."""
from .distributed_c10d import *  # noqa: F401,F403
from .distributed_c10d import __all__ as _c10d_all
from .store import FileStore, HashStore, PrefixStore, Store  # noqa: F401
from .tcp_store import TCPStore  # noqa: F401

__all__ = list(_c10d_all) + ["FileStore", "HashStore", "PrefixStore", "Store", "TCPStore"]
