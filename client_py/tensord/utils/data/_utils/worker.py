"""Worker information, as torch.utils.data._utils.worker.  tensord's DataLoader loads in
the calling process only (see dataloader.py), so there is never a worker: datasets that
shard by get_worker_info() see None and yield everything once, which is right."""


def get_worker_info():
    """None: the code runs in the main process (tensord has no DataLoader workers)."""
    return None
