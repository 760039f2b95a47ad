"""The filtering op and the metrics on CUDA agree with the CPU reference."""
import torch

from inpainting.eval.metrics import BinnedInpaintingMetrics
from inpainting.ops import predictive_filter
from tests.models.helpers import images_and_masks


def _grads(impl, x, kernels, grad_out, device, dtype=None):
    x, kernels = (t.detach().to(device).requires_grad_() for t in (x, kernels))
    if dtype is None:
        y = predictive_filter(x, kernels, 3, 2, impl=impl)
    else:
        with torch.autocast("cuda", dtype=dtype):
            y = predictive_filter(x.to(dtype), kernels.to(dtype), 3, 2, impl=impl)
    return [t.double().cpu() for t in (y, *torch.autograd.grad(y, (x, kernels), grad_out.to(device)))]


def test_filter_forward_and_backward_on_cuda_equal_the_cpu_reference():
    g = torch.Generator().manual_seed(0)
    x, kernels, grad_out = torch.randn(2, 64, 33, 40, generator=g), torch.randn(2, 576, 33, 40, generator=g), torch.randn(2, 64, 33, 40, generator=g)
    reference = _grads("unfold", x.double(), kernels.double(), grad_out.double(), "cpu")
    for got, want in zip(_grads("shift", x, kernels, grad_out, "cuda"), reference):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)
    for dtype in (torch.float16, torch.bfloat16):  # summed in float32: within the inputs' rounding
        for got, want in zip(_grads("shift", x, kernels, grad_out, "cuda", dtype), reference):
            assert got.isfinite().all()
            torch.testing.assert_close(got, want, rtol=0.05, atol=0.05 * want.abs().max().item())


def test_metrics_on_cuda_equal_metrics_on_cpu():
    image, mask = images_and_masks(4, seed=5)
    pred = (image + 0.1 * torch.randn_like(image)).clamp(0, 1)
    bins = torch.tensor([0, 1, 1, 2])
    results = []
    for device in ("cpu", "cuda"):
        metrics = BinnedInpaintingMetrics(["a", "b", "c"]).to(device)
        metrics.update(pred.to(device), image.to(device), mask.to(device), bins.to(device))
        results.append({k: v.item() for k, v in metrics.compute().items()})
    assert results[0].keys() == results[1].keys()
    for key, value in results[0].items():
        assert abs(value - results[1][key]) <= 1e-6 * max(1.0, abs(value)), key
