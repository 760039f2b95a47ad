"""MISF training-step timings on CPU and parameter counts next to the spec's.

Times one generator forward+backward and one discriminator forward+backward (median of a few
repeats after a warm-up) at batch 4 x 128x128 and batch 1 x 256x256: ``"unfold"`` filtering (mimics
the official operator), the fast ``"shift"`` filtering (float32, the faithful default), and ``"shift"``
under bfloat16 autocast (``trainer.precision=bf16-mixed``; opt-in, it changes the numerics).

In float32 the step is bound by the convolutions (filtering is under 1% of it): channels_last and
``torch.compile`` gave no gain here.

    python benchmarks/bench_misf.py [--threads 2] [--repeats 3] [--official-repo <misf checkout>]

With ``--official-repo`` (a checkout of github.com/tsingqguo/misf with its ``checkpoints/config.yml``)
the authors' ``InpaintGenerator`` is timed in the same run, interleaved with ours, and the ratio is
printed; without it only our figures are printed. Run it on an otherwise idle machine: with 2 cores,
any background process inflates 2-thread timings several-fold. The in-run ``unfold`` column (NCHW,
the official filtering operator) is the like-for-like baseline.
"""
from __future__ import annotations

import argparse
import pathlib
import statistics
import sys
import time
from types import SimpleNamespace

import torch

from inpainting.nets import MISFGenerator, PatchDiscriminator, pfunet, uafnet

SPEC_PARAMS = {
    "MISF generator": (MISFGenerator, 23_059_493),
    "MISF discriminator": (PatchDiscriminator, 2_763_776),
    "JPGNet PFUNet": (pfunet, 27_395_427),
    "JPGNet UAFNet": (uafnet, 27_548_256),
}
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


def generator_step(gen: MISFGenerator, image, mask, bf16: bool = False):
    def step():
        gen.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = gen(image, mask)
        (out.float() - image).abs().mean().backward()

    return step


def discriminator_step(dis: PatchDiscriminator, image):
    def step():
        dis.zero_grad(set_to_none=True)
        dis(image)[0].mean().backward()

    return step


class _AuthorsConfig(SimpleNamespace):
    """What the authors' ``Config`` answers (their src/config.py ``__getattr__``): the YAML's value, else their
    ``DEFAULT_CONFIG``'s, else None, so that keys their YAML lacks (``FILTER_TYPE``) read as None. (Their class
    itself reads the YAML with ``yaml.load`` without a Loader, which PyYAML 6 rejects.)"""

    def __init__(self, values: dict, defaults: dict):
        super().__init__(**{**{k: v for k, v in defaults.items() if v is not None},
                            **{k: v for k, v in (values or {}).items() if v is not None}})

    def __getattr__(self, name: str):  # only for names not set above
        return None


def official_generator(repo: pathlib.Path) -> torch.nn.Module:
    """The authors' ``InpaintGenerator`` from a MISF checkout, built with its ``checkpoints/config.yml``."""
    import yaml

    config_file = repo / "checkpoints" / "config.yml"
    if not config_file.is_file():
        raise SystemExit(f"--official-repo {repo}: no {config_file} (expected a github.com/tsingqguo/misf checkout)")
    sys.path[:0] = [str(repo), str(repo / "src")]
    try:
        from config import DEFAULT_CONFIG  # the authors' src/config.py
        from networks import InpaintGenerator  # the authors' src/networks.py

        return InpaintGenerator(_AuthorsConfig(yaml.safe_load(config_file.read_text()), DEFAULT_CONFIG))
    except Exception as error:  # their code, their requirements: say what failed
        raise SystemExit(f"--official-repo {repo}: cannot build the official InpaintGenerator ({type(error).__name__}: {error})")


def official_step(gen: torch.nn.Module, image, mask):
    def step():
        gen.zero_grad(set_to_none=True)
        out = gen(torch.cat([image * (1 - mask), mask], 1))  # the official input: holes 0, mask channel
        (out - image).abs().mean().backward()

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
    parser.add_argument("--official-repo", type=pathlib.Path, default=None,
                        help="a MISF checkout: time the authors' generator side by side")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, median of {args.repeats}\n")
    print_parameter_counts()

    torch.manual_seed(0)
    reference = MISFGenerator(filter_impl="unfold")  # the official operator
    fast = MISFGenerator(filter_impl="shift")
    fast.load_state_dict(reference.state_dict())
    dis = PatchDiscriminator()

    official = official_generator(args.official_repo) if args.official_repo else None

    print("\nG = generator forward+backward (L1 to the image), D = discriminator forward+backward")
    print("max |diff| = largest output difference to the unfold (official-operator) generator")
    columns = f"{'shape':<11} {'G unfold':>9} {'G shift':>8} {'G bf16':>7} {'unfold/shift':>13}"
    if official is not None:
        columns += f" {'official':>9} {'off./shift':>11}"
    print(columns + f" {'D':>6} {'diff shift':>11} {'diff bf16':>10}")
    for b, size in SHAPES:
        image, mask = batch(b, size)
        with torch.no_grad():
            ref_out = reference(image, mask)
            diff = (ref_out - fast(image, mask)).abs().max().item()
            with torch.autocast("cpu", dtype=torch.bfloat16):
                diff_bf16 = (ref_out - fast(image, mask).float()).abs().max().item()
        steps = {
            "unfold": generator_step(reference, image, mask),
            "shift": generator_step(fast, image, mask),
            "bf16": generator_step(fast, image, mask, bf16=True),
            "dis": discriminator_step(dis, image),
        }
        if official is not None:
            steps["official"] = official_step(official, image, mask)
        t = interleaved_medians(steps, args.repeats)
        line = (f"B{b} {size}x{size:<4} {t['unfold']:>8.2f}s {t['shift']:>7.2f}s {t['bf16']:>6.2f}s "
                f"{t['unfold'] / t['shift']:>12.2f}x")
        if official is not None:
            line += f" {t['official']:>8.2f}s {t['official'] / t['shift']:>10.2f}x"
        print(line + f" {t['dis']:>5.2f}s {diff:>11.1e} {diff_bf16:>10.1e}")


if __name__ == "__main__":
    main()
