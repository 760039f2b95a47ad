"""MISF training-step timings on CPU and parameter counts next to the spec's.

Times one generator forward+backward and one discriminator forward+backward (median of a few
repeats after a warm-up) at batch 4 x 128x128 and batch 1 x 256x256: ``"unfold"`` filtering (mimics
the official operator), the fast ``"shift"`` filtering, and ``"shift"`` with channels_last memory.

    python benchmarks/bench_misf.py [--threads 2] [--repeats 3]

Run it on an otherwise idle machine: with 2 cores, any background process inflates 2-thread timings
several-fold. The "official" column is the authors' code measured separately; the in-run ``unfold``
column (NCHW, official filtering operator) is the like-for-like baseline.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from inpainting.nets import MISFGenerator, PatchDiscriminator, pfunet, uafnet

SPEC_PARAMS = {
    "MISF generator": (MISFGenerator, 23_059_493),
    "MISF discriminator": (PatchDiscriminator, 2_763_776),
    "JPGNet PFUNet": (pfunet, 27_395_427),
    "JPGNet UAFNet": (uafnet, 27_548_256),
}
# Official code, G forward+backward on this kind of CPU with 2 threads (seconds).
OFFICIAL_G_SECONDS = {(4, 128): 4.3, (1, 256): 5.3}
SHAPES = ((4, 128), (1, 256))


def interleaved_medians(steps: dict, repeats: int) -> dict:
    """Median seconds per step; the steps alternate within each repeat so background load hits all alike."""
    for step in steps.values():
        step()  # warm-up: allocator, oneDNN primitive caches
    times = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def batch(b: int, size: int):
    g = torch.Generator().manual_seed(0)
    image = torch.rand(b, 3, size, size, generator=g)
    mask = (torch.rand(b, 1, size, size, generator=g) > 0.6).float()
    return image, mask


def as_channels_last(*tensors):
    return [t.to(memory_format=torch.channels_last) for t in tensors]


def generator_step(gen: MISFGenerator, image, mask):
    def step():
        gen.zero_grad(set_to_none=True)
        (gen(image, mask) - image).abs().mean().backward()

    return step


def discriminator_step(dis: PatchDiscriminator, image):
    def step():
        dis.zero_grad(set_to_none=True)
        dis(image)[0].mean().backward()

    return step


def print_parameter_counts() -> None:
    print(f"{'network':<20} {'ours':>12} {'spec':>12}")
    for name, (build, spec) in SPEC_PARAMS.items():
        ours = sum(p.numel() for p in build().parameters())
        print(f"{name:<20} {ours:>12,} {spec:>12,}  {'ok' if ours == spec else 'MISMATCH'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, median of {args.repeats}\n")
    print_parameter_counts()

    torch.manual_seed(0)
    reference = MISFGenerator(filter_impl="unfold")  # the official operator, NCHW
    fast = MISFGenerator(filter_impl="shift")
    fast_cl = MISFGenerator(filter_impl="shift").to(memory_format=torch.channels_last)
    for gen in (fast, fast_cl):
        gen.load_state_dict(reference.state_dict())
    dis = PatchDiscriminator()
    dis_cl = PatchDiscriminator().to(memory_format=torch.channels_last)
    dis_cl.load_state_dict(dis.state_dict())

    print("\nG = generator forward+backward (L1 to the image), D = discriminator forward+backward")
    header = f"{'shape':<11} {'G unfold':>9} {'G shift':>8} {'G shift+CL':>11} {'unfold/shift':>13} {'unfold/CL':>10}"
    print(header + f" {'official':>9} {'off./CL':>8} {'D':>6} {'D CL':>6} {'max |diff|':>11}")
    for b, size in SHAPES:
        image, mask = batch(b, size)
        image_cl, mask_cl = as_channels_last(image, mask)
        with torch.no_grad():
            ref_out = reference(image, mask)
            diff = max((ref_out - fast(image, mask)).abs().max().item(), (ref_out - fast_cl(image_cl, mask_cl)).abs().max().item())
        t = interleaved_medians(
            {
                "unfold": generator_step(reference, image, mask),
                "shift": generator_step(fast, image, mask),
                "shift_cl": generator_step(fast_cl, image_cl, mask_cl),
                "dis": discriminator_step(dis, image),
                "dis_cl": discriminator_step(dis_cl, image_cl),
            },
            args.repeats,
        )
        official = OFFICIAL_G_SECONDS[(b, size)]
        print(
            f"B{b} {size}x{size:<4} {t['unfold']:>8.2f}s {t['shift']:>7.2f}s {t['shift_cl']:>10.2f}s "
            f"{t['unfold'] / t['shift']:>12.2f}x {t['unfold'] / t['shift_cl']:>9.2f}x {official:>8.1f}s "
            f"{official / t['shift_cl']:>7.2f}x {t['dis']:>5.2f}s {t['dis_cl']:>5.2f}s {diff:>11.1e}"
        )


if __name__ == "__main__":
    main()
