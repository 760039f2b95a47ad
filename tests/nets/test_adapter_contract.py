"""Every network a config builds honours the adapter contract; a learned DGNet without files is an error."""
import inspect

import hydra
import pytest
import torch

from inpainting.cli.common import CONFIG_DIR
from inpainting.nets.adapter import Adapter
from inpainting.nets.classical import ClassicalInpainter
from inpainting.nets.ctsdg import CTSDGInpainter
from inpainting.nets.edgeconnect import EdgeConnect, EdgeGenerator, InpaintGenerator
from inpainting.nets.jpgnet import JPGNet, PFUNet, pfunet
from inpainting.nets.meta import NetMeta
from inpainting.nets.misf import MISFInpainter
from inpainting.nets.rfrnet import RFRNetInpainter
from inpainting.nets.structureflow import StructureFlowInpainter
from inpainting.utils.instantiate import check_run_config_targets
from inpainting.utils.released import load_released, released_families, released_network
from tests.cli.helpers import compose_config

MODELS = sorted(p.stem for p in (CONFIG_DIR / "model").glob("*.yaml"))
DGNETS = sorted(p.stem for p in (CONFIG_DIR / "model" / "dgnet").glob("*.yaml"))
NET_KEYS = ("net", "dgnet", "pfunet")  # the model nodes that hold a network adapter


@pytest.fixture(scope="module")
def configured(tmp_path_factory) -> dict[str, object]:
    """``{"<config>: model.<key>": node}``: every network node of every model and DGNet config, composed at
    ``scale=demo`` (narrow networks, cheap to build); a family added under ``conf/model`` is in it by itself."""
    out = tmp_path_factory.mktemp("contract")
    composed = [(f"model={m}", compose_config("train", [f"model={m}", "scale=demo"], out)) for m in MODELS]
    composed += [(f"model/dgnet={d}", compose_config("train", ["model=jpgnet_uafnet", f"model/dgnet={d}", "scale=demo"], out))
                 for d in DGNETS]
    nodes = {}
    for name, cfg in composed:
        check_run_config_targets(cfg.model, "model", name)  # a run folder of it can be evaluated (allow-list)
        for key in NET_KEYS:
            if cfg.model.get(key) is not None:
                nodes[f"{name}: model.{key}"] = cfg.model[key]
    return nodes


def test_every_configured_network_honours_the_adapter_contract(configured):
    targets = {where: node._target_ for where, node in configured.items()}
    assert {"model=misf: model.net", "model/dgnet=telea: model.dgnet", "model=ctsdg: model.net"} <= set(targets)
    for where, target in targets.items():
        cls = hydra.utils.get_class(target)
        assert issubclass(cls, Adapter) and not inspect.isabstract(cls), f"{where}: {target} is no concrete Adapter"
        assert isinstance(cls.meta, NetMeta), where
        params = list(inspect.signature(cls.forward).parameters.values())[1:]
        assert [p.name for p in params[:2]] == ["image", "mask"], f"{where}: forward(image, mask, **derived)"
        assert all(p.default is None for p in params[2:] if p.kind is p.KEYWORD_ONLY or p.kind is p.POSITIONAL_OR_KEYWORD), \
            f"{where}: derived inputs must be optional (computed when absent)"
        load = inspect.signature(cls.load_weights).parameters
        assert all(p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY, p.VAR_KEYWORD) for n, p in load.items() if n != "self")
        # no constructor reads a file: the files are the module's stage_weights, read by load_weights
        assert not [n for n in inspect.signature(cls.__init__).parameters if n.endswith("weights")], \
            f"{where}: {target} takes weight files in its constructor"


def test_an_adapter_without_meta_is_refused_when_defined():
    with pytest.raises(TypeError, match="meta = NetMeta"):
        class NoMeta(Adapter):  # noqa: F841
            def forward(self, image, mask):
                return {"pred": image}


def test_every_learned_network_without_files_is_an_error_naming_the_key(configured):
    """As JPGNet's DGNet (or any stage), a configured network with weight files refuses to run without them."""
    built = {node._target_: hydra.utils.instantiate(node) for node in configured.values()}
    learned = {target: net for target, net in built.items() if net.weight_files}
    assert {"inpainting.nets.misf.MISFInpainter", "inpainting.nets.edgeconnect.EdgeConnect",
            "inpainting.nets.ctsdg.CTSDGInpainter", "inpainting.nets.pconv.PConvInpainter",
            "inpainting.nets.rfrnet.RFRNetInpainter", "inpainting.nets.structureflow.StructureFlowInpainter"} <= set(learned)
    for target, dgnet in learned.items():
        with pytest.raises(ValueError, match=r"model\.stage_weights\.dgnet unset"):
            dgnet.load_stage_weights(None, "model.stage_weights.dgnet", required=True)
        dgnet.load_stage_weights({k: None for k in dgnet.weight_files})  # a training stage without a warm start: nothing read
        jpgnet = JPGNet(PFUNet(pfunet(width=0.125)), dgnet)
        with pytest.raises(ValueError, match=r"\['dgnet'\]: set model\.stage_weights\.dgnet"):
            jpgnet.load_stage_weights({"pfunet": "unused.pth"})  # checked before any file is read
        keys = {k: None for k in dgnet.weight_files}
        first = dgnet.weight_files[0]
        with pytest.raises(ValueError, match=rf"model\.stage_weights\.dgnet\.{first} unset"):
            dgnet.load_stage_weights({**keys, **({dgnet.weight_files[-1]: "x.pth"} if len(keys) > 1 else {"other": "x.pth"})},
                                     "model.stage_weights.dgnet", required=True)


def test_edgeconnect_dgnet_needs_both_generators_and_names_the_missing_one():
    dgnet = EdgeConnect(EdgeGenerator(residual_blocks=1), InpaintGenerator(residual_blocks=1))
    assert dgnet.weight_files == ("edge_weights", "inpaint_weights")
    with pytest.raises(ValueError, match=r"model\.stage_weights\.dgnet\.inpaint_weights unset"):
        dgnet.load_stage_weights({"edge_weights": "G1.pth", "inpaint_weights": None}, "model.stage_weights.dgnet", required=True)
    with pytest.raises(ValueError, match=r"needs one file per keyword \['edge_weights', 'inpaint_weights'\]"):
        dgnet.load_stage_weights("both.pth", "model.stage_weights.dgnet")


@pytest.mark.parametrize("method", ["telea", "navier_stokes", "biharmonic"])
def test_a_classical_dgnet_needs_no_files_and_takes_none(method):
    dgnet = ClassicalInpainter(method)
    assert dgnet.weight_files == ()
    dgnet.load_stage_weights(None, "model.stage_weights.dgnet", required=True)
    with pytest.raises(ValueError, match="has no weights"):
        dgnet.load_stage_weights("x.pth", "model.stage_weights.dgnet")


def test_a_stage_that_is_no_adapter_is_refused():
    jpgnet = JPGNet(PFUNet(pfunet(width=0.125)), torch.nn.Identity())
    with pytest.raises(TypeError, match="not an inpainting.nets.adapter.Adapter"):
        jpgnet.load_stage_weights({"pfunet": "unused.pth"})


def _adapter_classes() -> set[type]:
    """Every concrete Adapter defined in a package of inpainting/nets (all of them imported)."""
    import importlib
    import pkgutil

    import inpainting.nets

    for module in pkgutil.walk_packages(inpainting.nets.__path__, "inpainting.nets."):
        importlib.import_module(module.name)
    found, todo = set(), [Adapter]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("inpainting.nets.") and not inspect.isabstract(cls):
            found.add(cls)
    return found


def test_the_released_registry_and_the_families_agree():
    # conf/released/ is the registry: every family that names its authors' files (meta.released_files) has an
    # entry, and every entry builds an adapter that can read its files (named, or one file given as such)
    assert released_families() == ("ctsdg", "edgeconnect", "misf", "pfunet", "rfrnet", "structureflow")
    built = {family: released_network(family) for family in released_families()}  # the released sizes, ~2 s
    naming_files = {cls for cls in _adapter_classes() if cls.meta.released_files}
    assert {EdgeConnect, MISFInpainter, RFRNetInpainter, StructureFlowInpainter, CTSDGInpainter} <= naming_files
    assert naming_files - {type(a) for a in built.values()} == set(), \
        "a family names released files in its meta but has no conf/released entry"
    for family, adapter in built.items():
        assert isinstance(adapter, Adapter) and adapter.weight_files, family
        named = set(adapter.meta.released_files)
        assert set(adapter.weight_files) <= named or len(adapter.weight_files) == 1, family


def test_a_family_without_released_weights_is_refused_by_name():
    with pytest.raises(ValueError, match="PConv's authors released none"):
        load_released("pconv", "x.pth")


def test_a_family_of_two_files_is_read_from_the_folder_of_its_released_names(tmp_path):
    (tmp_path / "EdgeModel_gen.pth").touch()
    with pytest.raises(FileNotFoundError, match="inpaint_weights is a file named 'InpaintingModel_gen.pth'; found none"):
        load_released("edgeconnect", tmp_path)
    with pytest.raises(ValueError, match="needs 2 files .* give the folder"):
        load_released("edgeconnect", tmp_path / "EdgeModel_gen.pth")
