"""Running time per module (JPGNet Table 4 layout): PFUNet, each DGNet, UAFNet, and MISF for comparison.

    inpaint-timing device=cuda image_size=256 batch_size=1 repeats=100 [dgnets=[telea,ns]]

A Hydra app (``conf/timing.yaml``; ``--help`` lists its options).

Each module runs on its own inputs (as inside JPGNet: PFUNet on the masked image, the DGNet on the image
and mask, e.g. EdgeConnect G1 -> G2 with Canny on the known pixels, UAFNet on [res1, res2, K, U]) with
random weights (the time does not depend on them), after warm-up iterations, under ``torch.inference_mode``;
timed by ``torch.utils.benchmark.Timer`` (on CUDA it synchronises before each clock read). Every network is built
from the model configs, as a training run builds it: PFUNet, EdgeConnect and UAFNet from ``model=jpgnet_uafnet``, MISF
from ``model=misf``, and the other DGNets from the options of the ``conf/model/dgnet`` group (all of them by default).
Reported: mean milliseconds per
image; the first DGNet's JPGNet total (PFUNet + DGNet + UAFNet) with each part's share; then one row per
DGNet with its JPGNet total. The machine (CPU/GPU, threads, torch) is printed with it.
"""
from __future__ import annotations

import dataclasses
import logging
import math
import statistics
from pathlib import Path
from typing import Callable, Mapping, Sequence

import hydra
import torch
from omegaconf import DictConfig

from inpainting.utils.devices import machine_description
from inpainting.utils.resources import CONFIG_DIR, compose

log = logging.getLogger(__name__)

JPGNET_PARTS = ("pfunet", "dgnet", "uafnet")
LABELS = {"pfunet": "PFUNet", "dgnet": "DGNet (EdgeConnect G1+G2)", "uafnet": "UAFNet", "misf": "MISF"}
DGNET_PREFIX = "dgnet:"  # module names of the other DGNets: dgnet:<option of conf/model/dgnet>
DGNET_DIR = CONFIG_DIR / "model" / "dgnet"


def dgnet_options() -> list[str]:
    """The options of the ``model/dgnet`` group (``edgeconnect`` first: the paper's DGNet)."""
    names = sorted(p.stem for p in DGNET_DIR.glob("*.yaml"))
    return sorted(names, key=lambda n: n != "edgeconnect")


def model_networks(overrides: Sequence[str]) -> DictConfig:
    """The ``model`` node of the training config composed with ``overrides`` (its networks at the paper's width)."""
    return compose("train", list(overrides)).model


def build_dgnet(name: str) -> torch.nn.Module:
    """The DGNet of ``conf/model/dgnet/<name>.yaml``, random weights (its stage files are not read)."""
    if not (DGNET_DIR / f"{name}.yaml").is_file():
        raise ValueError(f"unknown DGNet {name!r}; options: {dgnet_options()}")
    # composed (the option includes shared net configs), in the naive fusion model that selects the group
    return hydra.utils.instantiate(model_networks(["model=jpgnet_naive_fusion", f"model/dgnet={name}"]).dgnet)


def _label(module: str) -> str:
    return f"DGNet {module[len(DGNET_PREFIX):]}" if module.startswith(DGNET_PREFIX) else LABELS[module]
RANDOM_WEIGHTS_NOTE = "Random weights (timing only: the running time does not depend on the weight values)."


@dataclasses.dataclass(frozen=True)
class ModuleTime:
    module: str
    ms_per_image: float
    ms_std: float  # standard deviation over repeats, per image


def _inputs(batch: int, size: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    image = torch.rand(batch, 3, size, size, generator=generator)
    mask = torch.zeros(batch, 1, size, size)
    mask[..., size // 4: 3 * size // 4, size // 4: 3 * size // 4] = 1  # a 25 % central hole
    return image.to(device), mask.to(device)


def build_modules(device: torch.device, image: torch.Tensor, mask: torch.Tensor,
                  dgnets: Sequence[str] = ()) -> dict[str, Callable[[], object]]:
    """One zero-argument call per module (``dgnet:<name>`` for each of ``dgnets``), inputs prepared once
    (outside the timed region)."""
    from inpainting.utils.composite import composite

    # the networks of the experiment configs (JPGNet stage 3 with EdgeConnect, MISF), random weights
    jpgnet = model_networks(["model=jpgnet_uafnet", "model/dgnet=edgeconnect"])
    pfu, dgnet, fusion = (hydra.utils.instantiate(jpgnet[key]).eval().to(device) for key in ("pfunet", "dgnet", "fusion"))
    misf = hydra.utils.instantiate(model_networks(["model=misf"]).net).eval().to(device)
    with torch.inference_mode():
        filtered = pfu(image, mask)
        res1 = composite(dgnet(image, mask)["pred"], image, mask)
        res2 = composite(filtered["pred"], image, mask)
        kernels = filtered["kernels"]
    calls = {
        "pfunet": lambda: pfu(image, mask),
        "dgnet": lambda: dgnet(image, mask),
        "uafnet": lambda: fusion(res1, res2, kernels),
        "misf": lambda: misf(image, mask),
    }
    for name in dgnets:
        other = build_dgnet(name).eval().to(device)
        calls[DGNET_PREFIX + name] = lambda other=other: other(image, mask)
    return calls


def time_call(call: Callable[[], object], warmup: int, repeats: int) -> list[float]:
    """Seconds per call, ``repeats`` times, after ``warmup`` untimed calls: ``torch.utils.benchmark.Timer``
    (it synchronises CUDA around each measurement), at the process's thread count."""
    from torch.utils import benchmark

    timer = benchmark.Timer(stmt="call()", globals={"call": call}, num_threads=torch.get_num_threads())
    with torch.inference_mode():
        for _ in range(warmup):
            call()
        return [timer.timeit(1).mean for _ in range(repeats)]


def time_modules(
    device: str = "cpu",
    image_size: int = 256,
    batch_size: int = 1,
    warmup: int = 3,
    repeats: int = 10,
    modules: Sequence[str] = (*JPGNET_PARTS, "misf"),
) -> list[ModuleTime]:
    """Mean (and std) milliseconds per image of each module."""
    if image_size % 16:
        raise ValueError(f"image_size must be a multiple of 16 (the KPN U-Net), got {image_size}")
    if repeats < 1 or warmup < 0 or batch_size < 1:
        raise ValueError("repeats and batch_size must be >= 1 and warmup >= 0")
    unknown = {m for m in modules if m not in LABELS and not m.startswith(DGNET_PREFIX)}
    if unknown:
        raise ValueError(f"unknown modules {sorted(unknown)}; choose from {sorted(LABELS)} or dgnet:<name>")
    torch_device = torch.device(device)
    torch.manual_seed(0)
    image, mask = _inputs(batch_size, image_size, torch_device)
    calls = build_modules(torch_device, image, mask, [m[len(DGNET_PREFIX):] for m in modules if m.startswith(DGNET_PREFIX)])
    results = []
    for name in modules:
        try:
            per_image = [s * 1000 / batch_size for s in time_call(calls[name], warmup, repeats)]
        except ValueError as error:  # e.g. StructureFlow below its minimum size: reported, not fatal
            log.warning("%s not timed at %dx%d: %s", name, image_size, image_size, error)
            results.append(ModuleTime(name, math.nan, math.nan))
            continue
        results.append(ModuleTime(name, statistics.fmean(per_image), statistics.pstdev(per_image)))
    return results


def timing_markdown(results: Sequence[ModuleTime], settings: Mapping[str, object], machine: str) -> str:
    """The Table 4 layout: module, ms per image (± std), share of the JPGNet total."""
    by_name = {r.module: r for r in results}
    total = sum(by_name[p].ms_per_image for p in JPGNET_PARTS if p in by_name)
    complete = all(p in by_name for p in JPGNET_PARTS)
    lines = ["| module | ms / image | ± std | share of JPGNet |", "|:---|---:|---:|---:|"]
    for part in JPGNET_PARTS:
        if part in by_name:
            r = by_name[part]
            share = f"{100 * r.ms_per_image / total:.1f} %" if complete else "-"
            lines.append(f"| {LABELS[part]} | {r.ms_per_image:.2f} | {r.ms_std:.2f} | {share} |")
    if complete:
        lines.append(f"| **JPGNet total** | **{total:.2f}** | | 100 % |")
    others = [r for r in results if r.module.startswith(DGNET_PREFIX)]
    if others and complete:
        lines.append("| *JPGNet total with each DGNet* | | | *DGNet share* |")
    for r in others:
        with_it = total - by_name["dgnet"].ms_per_image + r.ms_per_image if complete else None
        lines.append(f"| {_label(r.module)} | {r.ms_per_image:.2f} | {r.ms_std:.2f} | "
                     + (f"JPGNet {with_it:.2f} ms, {100 * r.ms_per_image / with_it:.1f} % |" if with_it else "- |"))
    if "misf" in by_name:
        r = by_name["misf"]
        ratio = f"({r.ms_per_image / total:.2f}x JPGNet)" if complete and total else "-"
        lines.append(f"| MISF | {r.ms_per_image:.2f} | {r.ms_std:.2f} | {ratio} |")
    setting = ", ".join(f"{k} {v}" for k, v in settings.items())
    return "\n".join([
        "# Running time per module (JPGNet Table 4 layout)",
        "",
        f"Settings: {setting}. Mean over the timed repeats after warm-up; milliseconds per image = batch time / batch size.",
        "",
        f"Machine: {machine}.",
        "",
        RANDOM_WEIGHTS_NOTE + " DGNet includes its Canny edge detection (scikit-image, on the CPU).",
        "",
        *lines,
        "",
    ])


def run_timing(device: str, image_size: int, batch_size: int, warmup: int, repeats: int, out: str | Path | None = None,
               dgnets: Sequence[str] | None = None) -> str:
    """Time every module (the other DGNets: ``dgnets``, default every ``model/dgnet`` option but EdgeConnect),
    print the table and write it to ``out`` (``.md``) when given; returns the markdown."""
    dgnets = [n for n in dgnet_options() if n != "edgeconnect"] if dgnets is None else list(dgnets)
    modules = (*JPGNET_PARTS, *(DGNET_PREFIX + n for n in dgnets), "misf")
    results = time_modules(device, image_size, batch_size, warmup, repeats, modules)
    settings = {"device": device, "image size": f"{image_size}x{image_size}", "batch size": batch_size,
                "warm-up": warmup, "repeats": repeats}
    text = timing_markdown(results, settings, machine_description(device))
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text, encoding="utf-8")
    print(text)
    return text


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="timing")
def main(cfg: DictConfig) -> None:
    """Console entry point (``inpaint-timing``)."""
    run(cfg)


def run(cfg: DictConfig) -> str:
    """Time the modules as ``cfg`` (``conf/timing.yaml`` composed) says; returns the markdown table."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = cfg.device or ("cuda" if torch.cuda.is_available() else "cpu")
    dgnets = None if cfg.dgnets is None else list(cfg.dgnets)
    return run_timing(device, cfg.image_size, cfg.batch_size, cfg.warmup, cfg.repeats, cfg.out, dgnets)


if __name__ == "__main__":
    main()
