"""inpaint-export: TorchScript and ONNX files whose output equals the eager model's on CPU."""
import importlib.util

import pytest
import torch

from inpainting import load_model
from inpainting.cli.export import example_inputs, export_model, run_onnx
from inpainting.cli.train import train
from tests.cli.helpers import TINY, TINY_DEMO, compose_config


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """A tiny PFUNet run (the demo itself runs OpenCV's Telea inside, which no exporter can trace)."""
    out = tmp_path_factory.mktemp("export") / "run"
    train(compose_config("train", ["experiment=jpgnet_pfunet", *TINY, "model.net.kpn.width=0.125", "trainer.max_epochs=1",
                                   "test=false"], out))
    return out


def test_the_demo_exports_its_networks_with_the_classical_result_as_an_input(tmp_path_factory, tmp_path):
    """The demo runs OpenCV's Telea inside (untraceable): its trained PFUNet + UAFNet are exported, Telea's
    result is the graph's third input, and the files equal the eager model given that input."""
    from inpainting.eval.classical import classical_inpainter

    out = tmp_path_factory.mktemp("export_demo") / "run"
    train(compose_config("train", ["experiment=demo", *TINY, *TINY_DEMO, "trainer.max_epochs=1", "test=false"], out))
    formats = ["torchscript", "onnx"] if importlib.util.find_spec("onnxruntime") else ["torchscript"]
    files = export_model(str(out), tmp_path, height=32, width=48, formats=formats)
    image, mask = example_inputs(32, 48, batch=2, seed=1)
    expected = load_model(out).inpaint_tensor(image, mask)
    telea = classical_inpainter("telea")(image, mask)
    assert (torch.jit.load(str(files["torchscript"]))(image, mask, telea) - expected).abs().max() < 1e-5
    if "onnx" in files:
        assert (run_onnx(files["onnx"], image, mask, telea) - expected).abs().max() < 1e-5
    assert (torch.jit.load(str(files["torchscript"]))(image, mask, image) - expected).abs().max() > 1e-3, "uses the input"


def test_exported_models_equal_the_eager_one(demo_run, tmp_path):
    pytest.importorskip("onnxruntime", reason="the `export` extra is not installed")
    files = export_model(str(demo_run), tmp_path, height=32, width=48)
    eager = load_model(demo_run)
    image, mask = example_inputs(32, 48, batch=2, seed=1)  # not the tracing input, and another batch size
    expected = eager.inpaint_tensor(image, mask)
    scripted = torch.jit.load(str(files["torchscript"]))
    assert (scripted(image, mask) - expected).abs().max() < 1e-5
    assert (run_onnx(files["onnx"], image, mask) - expected).abs().max() < 1e-5
    assert not torch.equal(expected, image), "the holes were filled"


def test_export_errors(tmp_path, demo_run):
    with pytest.raises(ValueError, match="no network to export"):
        export_model("telea", tmp_path)
    with pytest.raises(ValueError, match="multiples of 16"):
        export_model(str(demo_run), tmp_path, height=40, width=32, formats=["torchscript"])
