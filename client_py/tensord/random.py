"""tensord.random, as torch.random: the default generator's seeding and state, and
fork_rng (the state restored after a block, so random draws inside it do not change the
draws after it)."""
import contextlib

from ._random import default_generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state

__all__ = ["default_generator", "get_rng_state", "initial_seed", "manual_seed", "seed", "set_rng_state", "fork_rng"]


@contextlib.contextmanager
def fork_rng(devices=None, enabled=True, _caller="fork_rng", _devices_kw="devices"):
    """The default generator's state is saved on entry and restored on exit (the devices'
    generators are the daemon's one generator here: devices is accepted and unused)."""
    if not enabled:
        yield
        return
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)
