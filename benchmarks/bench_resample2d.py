"""Benchmark StructureFlow's Gaussian sampler: the hand-written backward vs plain autograd over the taps.

Both compute the same values (``inpainting.ops.resample2d`` and ``resample2d_reference``). Each
(setting, implementation) is timed on one forward+backward (``torch.autograd.grad`` w.r.t. features
and flow) after two warm-up calls, in the same run, side by side; memory is the peak rise of bytes
held by PyTorch's allocator during the call (CPU: profiler memory events; CUDA:
``max_memory_allocated``), over what was live before it (inputs and upstream gradient excluded).
The default case is Gt's at a 256x256 image: 128 channels on the 64x64 (H/4) grid.

    python benchmarks/bench_resample2d.py [--device cpu|cuda] [--threads 2] [--repeats 5]
        [--batch 1] [--channels 128] [--size 64]
"""
from __future__ import annotations

import argparse
import statistics

import torch
from bench_filter import alloc_peak_cpu, alloc_peak_cuda, describe_machine, load_average, mib, time_step

from inpainting.ops import resample2d, resample2d_reference

SETTINGS = ((16, 4.0), (4, 2.0))  # Gt samples its features with both
IMPLS = {"custom": resample2d, "autograd": resample2d_reference}


def make_step(impl: str, kernel_size: int, sigma: float, args):
    gen = torch.Generator().manual_seed(0)
    shape = (args.batch, args.channels, args.size, args.size)
    features = torch.randn(shape, generator=gen).to(args.device).requires_grad_()
    flow = (3 * torch.randn(args.batch, 2, args.size, args.size, generator=gen)).to(args.device).requires_grad_()
    grad_out = torch.randn(shape, generator=gen).to(args.device)
    op = IMPLS[impl]

    def step():
        out = op(features, flow, kernel_size, sigma)
        return (out, *torch.autograd.grad(out, (features, flow), grad_out))
    return step


def measure(impl: str, kernel_size: int, sigma: float, args) -> dict:
    step = make_step(impl, kernel_size, sigma, args)
    for _ in range(2):
        step()
    times = time_step(step, args.device, args.repeats)
    alloc = alloc_peak_cuda(step) if args.device.startswith("cuda") else alloc_peak_cpu(step)
    return {"times": times, "alloc": alloc}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:i]")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--channels", type=int, default=128)
    parser.add_argument("--size", type=int, default=64, help="side of the feature map and of the flow")
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error(f"--device {args.device} requested but CUDA is not available")
    torch.set_num_threads(args.threads)
    print(describe_machine(args))
    output_bytes = args.batch * args.channels * args.size**2 * 4
    print(f"features/output ({args.batch}, {args.channels}, {args.size}, {args.size}) float32 = {mib(output_bytes).strip()} MiB; "
          f"forward+backward, median and min of {args.repeats} calls; memory = peak allocator rise (MiB)")
    print(f"{'setting':<10} {'impl':<9} {'median ms':>10} {'min ms':>9} {'peak MiB':>9}")
    results = {}
    for kernel_size, sigma in SETTINGS:
        for impl in IMPLS:
            r = results[kernel_size, impl] = measure(impl, kernel_size, sigma, args)
            print(f"k={kernel_size:<2} s={sigma:<3} {impl:<9} {1e3 * statistics.median(r['times']):10.1f} "
                  f"{1e3 * min(r['times']):9.1f} {mib(r['alloc']):>9}", flush=True)
    print("\nratios custom / autograd (time: < 1 is faster; memory: < 1 is smaller):")
    for kernel_size, sigma in SETTINGS:
        custom, ref = results[kernel_size, "custom"], results[kernel_size, "autograd"]
        t_med = statistics.median(custom["times"]) / statistics.median(ref["times"])
        t_min = min(custom["times"]) / min(ref["times"])
        memory = custom["alloc"] / ref["alloc"]
        print(f"  k={kernel_size:<2} s={sigma:<3} time median {t_med:5.2f}  time min {t_min:5.2f}  "
              f"peak memory {memory:6.3f} ({1 / memory:5.1f}x less)")
    print(f"after the run: {load_average()}")


if __name__ == "__main__":
    main()
