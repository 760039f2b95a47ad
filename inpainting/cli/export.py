"""Export any model to TorchScript and ONNX: ``inpaint-export model.source=<run | file> output_dir=<dir>``.

The exported graph is the whole inpainting function at one input size: image (B,3,H,W) in [0,1] and
mask (B,1,H,W) with 1 = hole in, the composite (known pixels kept, clamped to [0,1]) out, the same as
``inpaint-predict`` and ``inpainting.load_model`` give. ``model.source``/``model.official`` as in
``inpaint-predict`` (a run folder or ``.ckpt`` of ours, or an authors' file with ``model.official``).
Tracing fixes the spatial size (``height``/``width``, multiples of the network's size multiple);
ONNX keeps the batch dimension dynamic. Predictive filtering is exported with its ``unfold`` form
(same arithmetic as the default ``shift`` kernel, which is a custom autograd function ONNX cannot see).
Each file is checked against the eager model on a random input before the command returns.

A classical stage inside a network (JPGNet's DGNet as OpenCV Telea in ``make demo``) runs OpenCV on numpy,
which no tracer records: the exported graph then takes that stage's result as an extra input named after it
(``dgnet``: the classical method's output, (B,3,H,W) in [0,1]), and the trained networks around it are exported.
"""
from __future__ import annotations

import copy
import logging
import pathlib

import hydra
import torch
from omegaconf import DictConfig

from inpainting.api import load_model
from inpainting.cli.common import CONFIG_DIR
from inpainting.cli.options import exit_if_missing
from inpainting.utils.composite import composite

log = logging.getLogger(__name__)
FORMATS = ("torchscript", "onnx")


class FedStage(torch.nn.Module):
    """Stands in for a classical stage in the exported graph: returns the result given as an extra graph input."""

    def __init__(self):
        super().__init__()
        self.result: torch.Tensor | None = None

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"pred": self.result}


class ExportedInpainter(torch.nn.Module):
    """(image, mask, *classical results) -> composite in [0,1]: the network plus the framework's compositing,
    as one graph. ``classical``: the names of the classical stages, in the order of the extra inputs."""

    def __init__(self, net: torch.nn.Module):
        super().__init__()
        self.net = copy.deepcopy(net).eval()
        for module in self.net.modules():
            if getattr(module, "filter_impl", None) == "shift":
                module.filter_impl = "unfold"  # plain tensor ops that tracing and ONNX can record
        self.classical = {name: module for name, module in net.named_modules() if not _traceable(module)}
        self.fed = []
        for name in self.classical:
            parent, _, attribute = name.rpartition(".")
            stage = FedStage()
            setattr(self.net.get_submodule(parent) if parent else self.net, attribute, stage)
            self.fed.append(stage)

    def classical_results(self, image: torch.Tensor, mask: torch.Tensor) -> list[torch.Tensor]:
        """The extra inputs, computed as the eager model computes them (what a caller of the exported file does)."""
        return [stage(image, mask)["pred"] for stage in self.classical.values()]

    def forward(self, image: torch.Tensor, mask: torch.Tensor, *classical: torch.Tensor) -> torch.Tensor:
        for stage, result in zip(self.fed, classical, strict=True):
            stage.result = result
        return composite(self.net(image, mask)["pred"], image, mask).clamp(0, 1)


def _traceable(module: torch.nn.Module) -> bool:
    """False for a stage whose adapter's ``meta`` says it runs outside torch (a classical method)."""
    return getattr(getattr(module, "meta", None), "traceable", True)


def example_inputs(height: int, width: int, batch: int = 1, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    image = torch.rand(batch, 3, height, width, generator=generator)
    mask = (torch.rand(batch, 1, height, width, generator=generator) > 0.7).float()
    return image, mask


def export_model(source: str, output_dir: str | pathlib.Path, official: str | None = None, height: int = 256,
                 width: int = 256, formats: tuple[str, ...] | list[str] = FORMATS, opset: int = 17,
                 tolerance: float = 1e-5) -> dict[str, pathlib.Path]:
    """Write ``<output_dir>/model.pt`` (TorchScript) and/or ``model.onnx``; returns them by format."""
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise ValueError(f"formats {unknown}: choose from {list(FORMATS)}")
    inpainter = load_model(source, official=official, device="cpu")  # traced on the CPU: files that load anywhere
    if inpainter.net is None:
        raise ValueError(f"{source}: a classical method has no network to export")
    if height % inpainter.multiple or width % inpainter.multiple:
        raise ValueError(f"height and width must be multiples of {inpainter.multiple} for this network, got {height}x{width}")
    model = ExportedInpainter(inpainter.net)
    for name, stage in model.classical.items():  # OpenCV on numpy: not traceable, so an input of the graph
        log.info("%s runs the classical method %r (%s) inside: the exported graph takes its result as the input %r, "
                 "(B,3,H,W) in [0,1] (inpainting.eval.classical.classical_inpainter(%r) computes it)",
                 source, stage.method, name, name, stage.method)
    image, mask = example_inputs(height, width)
    with torch.no_grad():
        reference = inpainter.inpaint_tensor(image, mask)
        inputs = (image, mask, *model.classical_results(image, mask))
    names = ["image", "mask", *model.classical]
    output_dir = pathlib.Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    if "torchscript" in formats:
        path = output_dir / "model.pt"
        with torch.no_grad():
            traced = torch.jit.trace(model, inputs, check_trace=False)
        traced.save(str(path))
        _check(path, torch.jit.load(str(path))(*inputs), reference, tolerance)
        written["torchscript"] = path
    if "onnx" in formats:
        path = output_dir / "model.onnx"
        with torch.no_grad():
            torch.onnx.export(model, inputs, str(path), input_names=names, output_names=["result"],
                              dynamic_axes={name: {0: "batch"} for name in [*names, "result"]},
                              opset_version=opset, dynamo=False)
        written["onnx"] = path
        try:
            result = run_onnx(path, *inputs)
        except ImportError:
            log.warning("onnxruntime is not installed: %s was not checked (pip install -e '.[export]')", path)
        else:
            _check(path, result, reference, tolerance)
    log.info("exported %s (%dx%d) to %s", inpainter.description, width, height, ", ".join(map(str, written.values())))
    return written


def run_onnx(path: str | pathlib.Path, image: torch.Tensor, mask: torch.Tensor, *classical: torch.Tensor) -> torch.Tensor:
    """The ONNX file's result; ``classical``: the classical stages' results, when the graph takes them."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    return torch.from_numpy(session.run(None, {n: t.numpy() for n, t in zip(names, (image, mask, *classical), strict=True)})[0])


def _check(path: pathlib.Path, result: torch.Tensor, reference: torch.Tensor, tolerance: float) -> None:
    error = float((result - reference).abs().max())
    if error > tolerance:
        raise RuntimeError(f"{path}: exported output differs from the eager model by {error:.2e} (> {tolerance:g})")
    log.info("%s matches the eager model (max abs difference %.2e)", path.name, error)


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="export")
def main(cfg: DictConfig) -> None:
    exit_if_missing(cfg, "inpaint-export")
    export_model(str(cfg.model.source), cfg.output_dir, cfg.model.get("official"), int(cfg.height), int(cfg.width),
                 list(cfg.formats), int(cfg.opset))


if __name__ == "__main__":
    main()
