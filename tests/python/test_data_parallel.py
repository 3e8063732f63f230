"""nn.DataParallel.  Without a GPU (as torch's without CUDA) it is the module itself
behind a `module.` prefix: same repr, state_dict keys and outputs as torch's.  Under two
stand-in GPUs (the file reruns itself): the batch split over both devices gives the
single-device outputs and gradients on the original parameters; nested outputs (tuples,
dicts), kwargs, data_parallel, the wrong-device error and a training run."""
import os

import numpy as np
import pytest
import torch as T

import tensord as td
from tdhelpers import rerun_under_fake_gpus

IN_CHILD = os.environ.get("TENSORD_FAKE_GPUS") == "2"

if not IN_CHILD:
    def test_without_a_gpu_matches_torch():
        res = []
        for m in (td, T):
            m.manual_seed(0)
            inner = m.nn.Linear(4, 3).double()
            dp = m.nn.DataParallel(inner)
            w = np.linspace(-1, 1, 12).reshape(3, 4)
            with m.no_grad():
                inner.weight.copy_(m.tensor(w))
                inner.bias.zero_()
            y = dp(m.tensor(np.ones((2, 4))))
            res.append((repr(dp), list(dp.state_dict()), dp.device_ids, y.detach().numpy(), dp.module is inner))
        assert res[0][:3] == res[1][:3] and res[0][4] and res[1][4]
        np.testing.assert_allclose(res[0][3], res[1][3])
        assert td.nn.parallel.data_parallel(td.nn.Identity(), td.ones(2)).shape == (2,)

    def test_data_parallel_under_two_fake_gpus():
        rerun_under_fake_gpus(__file__)
else:
    class Two(td.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = td.nn.Linear(5, 4)
            self.bn = td.nn.BatchNorm1d(4)

        def forward(self, x, scale=1.0):
            h = self.bn(self.lin(x)).relu() * scale
            return {"h": h, "pair": (h.sum(1), h.mean())}

    def test_outputs_and_gradients_equal_one_device():
        td.manual_seed(0)
        model = Two().double().cuda()
        dp = td.nn.DataParallel(model)
        assert dp.device_ids == [0, 1] and dp.output_device == 0
        x = td.randn(6, 5, dtype=td.float64, device="cuda")
        dp.eval()                       # running statistics: the same on every replica
        out = dp(x, scale=2.0)
        assert out["h"].device == td.device("cuda:0") and out["h"].shape == (6, 4)
        assert out["pair"][0].shape == (6,) and out["pair"][1].shape == (2,)    # one mean per device
        loss = out["h"].pow(2).sum() + out["pair"][0].sum()
        loss.backward()
        grads = {k: p.grad.cpu().numpy() for k, p in model.named_parameters()}
        ref = model(x, scale=2.0)
        model.zero_grad()
        (ref["h"].pow(2).sum() + ref["pair"][0].sum()).backward()
        np.testing.assert_allclose(out["h"].detach().cpu().numpy(), ref["h"].detach().cpu().numpy(), rtol=1e-12)
        for k, p in model.named_parameters():
            np.testing.assert_allclose(grads[k], p.grad.cpu().numpy(), rtol=1e-10, err_msg=k)
        y = td.nn.parallel.data_parallel(model, x, device_ids=[0, 1], output_device=1, module_kwargs={"scale": 2.0})
        assert y["h"].device == td.device("cuda:1")
        np.testing.assert_allclose(y["h"].detach().cpu().numpy(), ref["h"].detach().cpu().numpy(), rtol=1e-12)

    def test_wrong_device_error_and_training():
        dp = td.nn.DataParallel(td.nn.Linear(3, 1))
        with pytest.raises(RuntimeError, match=r"module must have its parameters and buffers on device cuda:0"):
            dp(td.randn(4, 3, device="cuda"))
        td.manual_seed(1)
        model = td.nn.Linear(3, 1).cuda()
        dp = td.nn.DataParallel(model)
        opt = td.optim.SGD(model.parameters(), lr=0.1)
        x = td.randn(32, 3, device="cuda")
        y = x @ td.tensor([[1.0], [-2.0], [0.5]], device="cuda")
        for _ in range(100):
            opt.zero_grad()
            loss = ((dp(x) - y) ** 2).mean()
            loss.backward()
            opt.step()
        assert loss.item() < 1e-3
        np.testing.assert_allclose(model.weight.detach().cpu().numpy(), [[1.0, -2.0, 0.5]], atol=0.02)
