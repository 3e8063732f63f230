"""tensord.distributed.elastic (torch.distributed.elastic): what training scripts import
from it — the @record decorator of multiprocessing.errors."""
