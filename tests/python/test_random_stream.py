"""tensord's random stream is torch's CPU stream: after manual_seed(s) every sampler
draws the values torch draws (bit for bit), in the same order, and the generator state
is torch's own bytes.  The reference is torch itself, run side by side."""
import numpy as np
import pytest
import torch

import tensord as td

SEEDS = [0, 7, 1234]


def values(x):
    if isinstance(x, (list, tuple)):
        return [values(v) for v in x]
    if hasattr(x, "detach"):
        x = x.detach()
        if str(x.dtype) in ("torch.float16", "torch.bfloat16"):  # numpy has no bfloat16
            x = x.float()
        return x.numpy()
    return np.asarray(x)


def same_stream(fn, seed):
    torch.manual_seed(seed)
    ref = values(fn(torch))
    td.manual_seed(seed)
    got = values(fn(td))
    if isinstance(ref, list):
        assert len(ref) == len(got)
        for r, g in zip(ref, got):
            assert r.shape == g.shape and r.dtype == g.dtype and np.array_equal(r, g, equal_nan=True)
    else:
        assert ref.shape == got.shape and ref.dtype == got.dtype
        assert np.array_equal(ref, got, equal_nan=True), (ref.ravel()[:6], got.ravel()[:6])


FLOATS = ["float32", "float64", "float16", "bfloat16"]

CASES = {
    # rand / randn at the sizes around normal_'s 16-element fill, every float dtype
    **{"rand_%s_%d" % (d, n): (lambda d, n: lambda m: m.rand(n, dtype=getattr(m, d)))(d, n)
       for d in FLOATS for n in (1, 15, 16, 17, 100)},
    **{"randn_%s_%d" % (d, n): (lambda d, n: lambda m: m.randn(n, dtype=getattr(m, d)))(d, n)
       for d in FLOATS for n in (1, 3, 15, 16, 17, 100, 257)},
    # the cached second normal carries over from one call to the next
    "randn_cache": lambda m: [m.randn(3), m.randn(1), m.randn(2, dtype=m.float64), m.randn(20)],
    "normal_mean_std": lambda m: [m.empty(50).normal_(0.5, 0.02), m.empty(7, dtype=m.float64).normal_(-3, 4)],
    "normal_strided": lambda m: m.empty(20, 6).t().normal_(1, 2),
    "normal_tensor_args": lambda m: [m.normal(m.arange(20.), 2.0), m.normal(0.5, m.arange(1., 5.))],
    "uniform_bounds": lambda m: [m.empty(30, 7).uniform_(-0.1, 0.1), m.empty(9, dtype=m.float64).uniform_(2.5, 7.25),
                                 m.empty(19, dtype=m.float16).uniform_(-0.3, 0.7)],
    "uniform_strided": lambda m: m.empty(6, 5, 4).permute(2, 0, 1).uniform_(),
    "randint": lambda m: [m.randint(-5, 17, (20,)), m.randint(0, 1 << 40, (5,)), m.randint(3, (4, 4), dtype=m.int32),
                          m.randint(0, 9, (6,), dtype=m.float32)],
    "randperm": lambda m: [m.randperm(1), m.randperm(2), m.randperm(30), m.randperm(1000, dtype=m.int32)],
    "random_": lambda m: [m.empty(5, dtype=getattr(m, d)).random_()
                          for d in ("int64", "int32", "int16", "int8", "uint8", "bool", "float32", "float64")],
    "random_from_to": lambda m: [m.empty(5, dtype=m.int64).random_(-(1 << 63), None),
                                 m.empty(5, dtype=m.int64).random_(3, None), m.empty(5, dtype=m.int16).random_(-7, 9),
                                 m.empty(5).random_(100)],
    "bernoulli": lambda m: [m.empty(40).bernoulli_(0.3), m.bernoulli(m.linspace(0, 1, 30)),
                            m.bernoulli(m.linspace(0, 1, 30, dtype=m.float64)), m.empty(3, 4).bernoulli_(m.rand(4))],
    # contiguous fills draw a block of words at a time: across twists, every block dtype,
    # after an odd number of draws, and a strided tensor (drawn element by element)
    "bernoulli_blocks": lambda m: [m.empty(3001).bernoulli_(0.7), m.rand(3),
                                   m.empty(1500, dtype=m.float64).bernoulli_(0.25),
                                   m.empty(777, dtype=m.bool).bernoulli_(0.5), m.randint(0, 5, (1,)),
                                   m.empty(1301, dtype=m.uint8).bernoulli_(0.9), m.empty(5, dtype=m.int32).bernoulli_(0.5),
                                   m.empty(40, 30).t().bernoulli_(0.4), m.empty(700).bernoulli_(0.0),
                                   m.empty(700).bernoulli_(1.0)],
    "uniform_blocks": lambda m: [m.rand(5000), m.randint(0, 3, (1,)), m.rand(3001, dtype=m.float64),
                                 m.empty(2500).uniform_(-2, 3), m.empty(1300, dtype=m.float64).uniform_(5, 6),
                                 m.rand(2000, dtype=m.float16), m.rand(70, 40).t().contiguous()],
    "dropout": lambda m: [m.nn.functional.dropout(m.ones(40), 0.3), m.nn.functional.dropout2d(m.ones(2, 5, 3, 3), 0.5),
                          m.nn.functional.dropout(m.ones(64, 130), 0.1)],
    "multinomial": lambda m: [m.multinomial(m.tensor([0.1, 0.5, 0.2, 0.2, 1.0]), 3),
                              m.multinomial(m.tensor([[0.1, 0.5, 0.2, 0.2, 1.0], [1, 1, 1, 1, 1.]]), 1),
                              m.multinomial(m.tensor([0.1, 0.5, 0.2, 0.2, 1.0]), 9, replacement=True),
                              m.multinomial(m.tensor([[0.1, 0.5, 0.2], [1, 1, 1.]]), 1, replacement=True),
                              m.multinomial(m.rand(4, 50, dtype=m.float64), 50)],
    "one_parameter": lambda m: [m.empty(20).exponential_(2.5), m.empty(20, dtype=m.float64).cauchy_(0.3, 2.0),
                                m.empty(20, dtype=m.float64).log_normal_(0.3, 0.5), m.empty(20).geometric_(0.3)],
    "poisson_binomial": lambda m: [m.poisson(m.tensor([0.5, 3., 12., 40., 100.] * 4)),
                                   m.binomial(m.tensor([5., 20., 100., 1000.] * 4), m.tensor([0.3, 0.7, 0.1, 0.45] * 4))],
    "rand_like_and_co": lambda m: [m.rand_like(m.ones(3, 3)), m.randn_like(m.ones(40)),
                                   m.randint_like(m.ones(6), 10)],
}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_sampler_matches_torch(name, seed):
    same_stream(CASES[name], seed)


def test_generator_objects_match_torch():
    def fn(m):
        g = m.Generator().manual_seed(99)
        return [m.rand(5, generator=g), m.randn(20, generator=g), m.randperm(10, generator=g), m.rand(3)]
    same_stream(fn, 5)


def test_state_is_torchs_bytes():
    torch.manual_seed(3)
    torch.randn(5)  # leaves a cached normal in the state
    state = torch.get_rng_state()
    td.set_rng_state(td.tensor(state.numpy()))
    assert np.array_equal(td.get_rng_state().numpy(), state.numpy())
    assert np.array_equal(td.randn(7).numpy(), torch.randn(7).numpy())
    # and back: a state tensord made loads into torch
    td.manual_seed(11)
    td.rand(700)  # past one twist of the 624 words
    torch.set_rng_state(torch.from_numpy(td.get_rng_state().numpy()))
    assert np.array_equal(td.rand(1000, dtype=td.float64).numpy(), torch.rand(1000, dtype=torch.float64).numpy())


@pytest.mark.parametrize("field", ["seeded", "left", "next"])
def test_bad_state_refused_like_torch(field):
    good = torch.get_rng_state().numpy().copy()
    bad = good.copy()
    off = {"seeded": 12, "left": 8, "next": 16}[field]
    bad[off:off + 4] = np.frombuffer(np.int32({"seeded": 0, "left": 0, "next": 700}[field]).tobytes(), np.uint8)
    with pytest.raises(RuntimeError, match="Invalid mt19937 state") as e_t:
        torch.set_rng_state(torch.from_numpy(bad))
    with pytest.raises(RuntimeError, match="Invalid mt19937 state"):
        td.set_rng_state(td.tensor(bad))
    assert "mt19937" in str(e_t.value)
    td.set_rng_state(td.tensor(good))  # the session still works
    assert td.rand(2).shape == (2,)


MODULES = {
    "Linear": lambda nn: nn.Linear(20, 7),
    "Bilinear": lambda nn: nn.Bilinear(4, 5, 3),
    "Conv1d": lambda nn: nn.Conv1d(3, 4, 5, groups=1),
    "Conv2d": lambda nn: nn.Conv2d(3, 8, 3),
    "ConvTranspose2d": lambda nn: nn.ConvTranspose2d(4, 2, 3, stride=2),
    "Embedding": lambda nn: nn.Embedding(10, 6, padding_idx=0),
    "LSTM": lambda nn: nn.LSTM(5, 7, num_layers=2, bidirectional=True),
    "GRU": lambda nn: nn.GRU(4, 3),
    "RNN": lambda nn: nn.RNN(4, 3, nonlinearity="relu"),
    "MultiheadAttention": lambda nn: nn.MultiheadAttention(8, 2),
    "TransformerEncoderLayer": lambda nn: nn.TransformerEncoderLayer(8, 2, dim_feedforward=16),
    "Sequential": lambda nn: nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.BatchNorm1d(16), nn.Linear(16, 2)),
}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_default_init_matches_torch(name):
    """Same seed, same weights as PyTorch (issue: nn.init with PyTorch's generator)."""
    torch.manual_seed(0)
    ref = MODULES[name](torch.nn).state_dict()
    td.manual_seed(0)
    got = MODULES[name](td.nn).state_dict()
    assert list(ref) == list(got)
    for k in ref:
        assert np.array_equal(ref[k].numpy(), got[k].numpy()), k


@pytest.mark.parametrize("shuffle_kind", ["shuffle", "replacement", "weighted", "random_split"])
def test_data_order_matches_torch(shuffle_kind):
    def order(m):
        from_data = m.utils.data
        ds = from_data.TensorDataset(m.arange(50))
        if shuffle_kind == "shuffle":
            loader = from_data.DataLoader(ds, batch_size=8, shuffle=True)
        elif shuffle_kind == "replacement":
            loader = from_data.DataLoader(ds, batch_size=8, sampler=from_data.RandomSampler(ds, True, 70))
        elif shuffle_kind == "weighted":
            loader = from_data.DataLoader(ds, batch_size=8,
                                          sampler=from_data.WeightedRandomSampler([1.0, 2.0, 0.5] * 10, 40))
        else:
            a, _ = from_data.random_split(ds, [30, 20])
            loader = from_data.DataLoader(a, batch_size=8)
        return [b for epoch in range(2) for (b,) in loader]
    same_stream(order, 21)


WORKERS_SCRIPT = """
import sys
if sys.argv[1] == "torch":
    import torch
else:
    import tensord as torch

class DS(torch.utils.data.Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        info = torch.utils.data.get_worker_info()
        return torch.tensor([float(i), float(info.seed % 1000003), float(torch.initial_seed() % 1000003)]), torch.rand(2)

torch.manual_seed(5)
loader = torch.utils.data.DataLoader(DS(), batch_size=2, num_workers=2, shuffle=True)
for epoch in range(2):
    for a, r in loader:
        print(a.tolist(), r.tolist())
"""


def test_dataloader_workers_draw_torchs_values():
    """Worker seeds (base seed + worker id, drawn from the default generator as torch draws
    it) and the values a worker's dataset draws: a random augmentation repeats torch's."""
    import os
    import subprocess
    import sys
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    out = {}
    for lib in ("torch", "tensord"):
        r = subprocess.run([sys.executable, "-c", WORKERS_SCRIPT, lib], env=env, capture_output=True, text=True,
                           timeout=120)
        assert r.returncode == 0, r.stderr
        out[lib] = r.stdout
    assert out["tensord"] == out["torch"] and out["torch"].count("\n") == 8


def test_seeding_a_generator_object_leaves_the_streams_alone():
    """Generator().manual_seed builds the seeded state itself: neither the CPU's stream nor
    the devices' moves (torch's generators are independent objects)."""
    def fn(m):
        g = m.Generator().manual_seed(5)
        a = m.rand(3, generator=g)
        h = m.Generator()
        h.manual_seed(2 ** 40 + 7)  # torch seeds with the low 32 bits and keeps the rest
        return [a, m.rand(3), m.randn(2, generator=h), m.tensor([g.initial_seed(), h.initial_seed()])]
    same_stream(fn, 1)
