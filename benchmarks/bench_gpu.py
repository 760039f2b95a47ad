"""The GPU figures of docs/gpu.md, measured side by side in one run (``make gpu-check`` runs it and keeps its JSON).

1. MISF generator training step (forward + L1 backward): ours float32 against the authors' generator (their code
   from ``--official-repo``, default ``.gpu-kit/misf``) in float32, ours in bf16-mixed and ours under
   ``torch.compile``; ratios are the authors' time / ours (> 1: ours is faster). Outputs in float32 are compared.
2. The filtering op, fast against the reference, forward + backward, and the fast op's achieved memory bandwidth
   (the bytes it must move at least, over its time) against a device-to-device copy's (the practical peak).
3. PFUNet, DGNet (EdgeConnect G1+G2 with Canny) and UAFNet milliseconds per image (JPGNet Table 4 layout), with the
   paper's V100 figures beside (JPGNet-EdgeConnect, Places2).
4. Training images per second for MISF and PFUNet with the real data loader (the embedded photos, the experiment's
   own loader), against the loader alone: a loader much slower than the step is the bottleneck.

Without CUDA it runs at a small CPU size (a smoke run: the numbers mean nothing for a GPU) and skips compile.

    python benchmarks/bench_gpu.py [--device auto|cuda|cpu] [--json out.json] [--official-repo <misf checkout>]
"""
from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import sys
import time

import torch
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_filter import sync, time_step  # noqa: E402
from bench_misf import official_generator  # noqa: E402

from inpainting.nets import MISFGenerator  # noqa: E402
from inpainting.ops import predictive_filter  # noqa: E402
from inpainting.utils.devices import resolve_device  # noqa: E402

# device type -> sizes: MISF step (batch, side), filtering (batch, channels, side), timing side, loader (side, batches)
# loader: (side, batches, batch size or None for the experiment's own)
SIZES = {"cuda": {"misf": (8, 256), "filter": (8, 64, 128), "timing": 256, "loader": (256, 20, None), "workers": 8, "repeats": 20},
         "cpu": {"misf": (1, 32), "filter": (2, 8, 64), "timing": 32, "loader": (32, 1, 2), "workers": 0, "repeats": 1}}


def timed(step, device: torch.device, repeats: int, warmup: int = 1) -> float:
    """Median seconds of ``step()`` after ``warmup`` calls."""
    for _ in range(warmup):
        step()
    return statistics.median(time_step(step, str(device), repeats))


def misf_step(generator, image, mask, official: bool = False, bf16: bool = False):
    def step():
        generator.zero_grad(set_to_none=True)
        with torch.autocast(image.device.type, dtype=torch.bfloat16, enabled=bf16):
            out = generator(torch.cat([image * (1 - mask), mask], 1)) if official else generator(image, mask)
            loss = (out.float() - image).abs().mean()
        loss.backward()
    return step


def bench_misf(device: torch.device, size: dict, official_repo: pathlib.Path | None) -> dict:
    batch, side = size["misf"]
    g = torch.Generator().manual_seed(0)
    image = torch.rand(batch, 3, side, side, generator=g).to(device)
    mask = (torch.rand(batch, 1, side, side, generator=g) > 0.7).float().to(device)
    torch.manual_seed(0)
    ours = MISFGenerator().to(device).train()
    steps = {"ours float32": misf_step(ours, image, mask), "ours bf16-mixed": misf_step(ours, image, mask, bf16=True)}
    out: dict = {"shape": f"B={batch}, {side}x{side}"}
    if official_repo is not None and official_repo.is_dir():
        authors = official_generator(official_repo).to(device).train()
        authors.load_state_dict(ours.state_dict(), strict=False)  # same layer names; unmatched ones keep their init
        steps["authors float32"] = misf_step(authors, image, mask, official=True)
    else:
        out["authors float32"] = f"not measured: no MISF checkout at {official_repo} (make gpu-kit fetches it)"
    if device.type == "cuda":
        steps["ours compiled"] = misf_step(torch.compile(ours), image, mask)
    else:
        out["ours compiled"] = "not measured on the CPU (compilation takes minutes there)"
    out.update({name: timed(step, device, size["repeats"]) for name, step in steps.items()})
    if isinstance(out.get("authors float32"), float):
        for name in ("ours float32", "ours bf16-mixed", "ours compiled"):
            if isinstance(out.get(name), float):
                out[f"authors / {name}"] = out["authors float32"] / out[name]
    return out


def bench_filter(device: torch.device, size: dict) -> dict:
    batch, channels, side = size["filter"]
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, channels, side, side, generator=g).to(device).requires_grad_()
    kernels = torch.randn(batch, channels * 9, side, side, generator=g).to(device).requires_grad_()
    grad_out = torch.randn(batch, channels, side, side, generator=g).to(device)

    def step(impl):
        return lambda: torch.autograd.grad(predictive_filter(x, kernels, 3, 1, impl=impl), (x, kernels), grad_out)

    out = {"shape": f"B={batch}, C={channels}, {side}x{side}, K=3, float32, forward+backward"}
    for impl in ("shift", "unfold"):
        out[f"{impl} s"] = timed(step(impl), device, size["repeats"])
    out["unfold / shift"] = out["unfold s"] / out["shift s"]
    # at least: forward reads x and the kernels and writes y; backward reads dy, x and the kernels, writes dx, dk
    n = x.numel() * 4
    out["minimum bytes"] = (n + 9 * n + n) + (n + n + 9 * n + n + 9 * n)
    out["shift GB/s"] = out["minimum bytes"] / out["shift s"] / 1e9
    big = torch.empty(64 * 2**20, device=device)
    copy_s = timed(lambda: big.clone(), device, size["repeats"])
    out["copy GB/s (practical peak)"] = 2 * big.numel() * 4 / copy_s / 1e9
    out["shift time / bandwidth bound"] = out["copy GB/s (practical peak)"] / out["shift GB/s"]
    return out


def bench_jpgnet_parts(device: torch.device, size: dict) -> dict:
    from inpainting.cli.timing import time_modules

    results = time_modules(str(device), size["timing"], 1, 2, size["repeats"], ("pfunet", "dgnet", "uafnet"))
    paper = yaml.safe_load((ROOT / "experiments/paper_tables/jpgnet_table4.yaml").read_text())["rows"]["JPGNet-EdgeConnect"]
    return {r.module: {"ms per image": r.ms_per_image, "paper V100 ms (Places2)": paper[f"{r.module}_ms"]["Places2"][0]}
            for r in results} | {"image size": size["timing"]}


def bench_loader(device: torch.device, size: dict, experiment: str, overrides: list[str]) -> dict:
    """Images per second of training steps fed by the experiment's loader, and of the loader alone."""
    import hydra
    import lightning as L

    from inpainting.utils.resources import compose

    side, batches, batch_size = size["loader"]
    cfg = compose("train", [f"experiment={experiment}", "scale=demo", f"data.image_size={side}", *overrides,
                            f"data.num_workers={size['workers']}",
                            *([f"data.batch_size={batch_size}"] if batch_size else [])])
    datamodule = hydra.utils.instantiate(cfg.data)
    model = hydra.utils.instantiate(cfg.model)
    datamodule.setup("fit")
    loader = datamodule.train_dataloader()
    start, seen = time.perf_counter(), 0
    for i, batch in enumerate(loader):
        seen += batch["image"].shape[0]
        if i + 1 == batches:
            break
    loader_rate = seen / (time.perf_counter() - start)
    class Clock(L.Callback):  # from the second batch's start (after warm-up) to the last batch's end
        marks: list = []

        def on_train_batch_start(self, trainer, module, batch, batch_idx):
            if batch_idx == min(1, batches - 1):
                self.marks.append(time.perf_counter())

        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
            sync(str(device))
            if batch_idx == batches - 1:
                self.marks.append(time.perf_counter())

    trainer = L.Trainer(accelerator="gpu" if device.type == "cuda" else "cpu", devices=1, max_steps=-1,
                        limit_train_batches=batches, max_epochs=1, limit_val_batches=0, logger=False, callbacks=[Clock()],
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(model, datamodule=datamodule)
    start, end = Clock.marks
    train_rate = max(1, batches - 1) * datamodule.batch_size_per_device / (end - start)
    return {"batch": datamodule.batch_size_per_device, "side": side, "workers": datamodule.num_workers,
            "training images/s": train_rate, "loader alone images/s": loader_rate,
            "loader is the bottleneck": loader_rate < 1.2 * train_rate}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--json", type=pathlib.Path, default=None)
    parser.add_argument("--official-repo", type=pathlib.Path, default=ROOT / ".gpu-kit" / "misf")
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    size = SIZES[device.type]
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU (smoke size; not GPU figures)"
    report = {"device": name, "torch": torch.__version__}
    print(f"bench_gpu on {name}, torch {torch.__version__}", flush=True)
    no_vgg = ["model.loss.weights.perceptual=0", "model.loss.weights.style=0"]
    sections = {
        "misf_step": lambda: bench_misf(device, size, args.official_repo),
        "filtering_op": lambda: bench_filter(device, size),
        "jpgnet_table4": lambda: bench_jpgnet_parts(device, size),
        "loader_misf": lambda: bench_loader(device, size, "misf", no_vgg),
        "loader_pfunet": lambda: bench_loader(device, size, "jpgnet_pfunet", []),
    }
    for key, run in sections.items():
        try:
            report[key] = run()
        except Exception as error:  # one failing figure must not hide the others
            report[key] = {"error": f"{type(error).__name__}: {error}"}
        print(f"{key}: {json.dumps(report[key], default=str)}", flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, default=str))
    return report


if __name__ == "__main__":
    main()
