"""Every config composes and instantiates; experiment files win over group defaults."""
import json

import hydra
import pytest

from inpainting.cli.common import CONFIG_DIR
from inpainting.utils.instantiate import instantiate_mapping
from tests.cli.helpers import TINY, compose_config

EXPERIMENTS = sorted(p.stem for p in (CONFIG_DIR / "experiment").glob("*.yaml"))
MODELS = sorted(p.stem for p in (CONFIG_DIR / "model").glob("*.yaml"))
TRAINERS = sorted(p.stem for p in (CONFIG_DIR / "trainer").glob("*.yaml"))
LOGGERS = sorted(p.stem for p in (CONFIG_DIR / "logger").glob("*.yaml"))
DEBUGS = sorted(p.stem for p in (CONFIG_DIR / "debug").glob("*.yaml"))


def test_config_groups_are_found():
    assert "demo" in EXPERIMENTS and "pfunet" in MODELS and "cpu" in TRAINERS


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiment_composes_and_instantiates(experiment, tmp_path):
    cfg = compose_config("train", [f"experiment={experiment}", *TINY], tmp_path)
    assert cfg.run_name != "train", "an experiment should name its runs"
    datamodule = hydra.utils.instantiate(cfg.data)
    model = hydra.utils.instantiate(cfg.model)
    assert sum(p.numel() for p in model.parameters()) > 0
    assert hasattr(datamodule, "bin_names")
    callbacks = instantiate_mapping(cfg.callbacks)
    loggers = instantiate_mapping(cfg.logger)
    hydra.utils.instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False)


@pytest.mark.parametrize("model", MODELS)
def test_model_configs_instantiate(model, tmp_path):
    cfg = compose_config("train", [f"model={model}"], tmp_path)
    hydra.utils.instantiate(cfg.model)


@pytest.mark.parametrize("group,names", [("trainer", TRAINERS), ("logger", LOGGERS), ("debug", DEBUGS)])
def test_group_options_compose(group, names, tmp_path):
    for name in names:
        cfg = compose_config("train", [f"{group}={name}"], tmp_path)
        if group == "logger":
            instantiate_mapping(cfg.logger)


def test_experiment_overrides_group_defaults(tmp_path):
    base = compose_config("train", [], tmp_path)
    demo = compose_config("train", ["experiment=demo"], tmp_path)
    assert base.model.net.kpn.width == 1.0 and demo.model.pfunet.kpn.width == 0.25


def test_debug_preset_wins_over_experiment(tmp_path):
    cfg = compose_config("train", ["experiment=demo", "debug=fdr"], tmp_path)
    assert cfg.trainer.fast_dev_run is True and "csv" not in (cfg.logger or {})


def test_eval_needs_a_checkpoint_or_saved_predictions(tmp_path):
    from inpainting.cli.evaluate import evaluate

    with pytest.raises(ValueError, match="needs ckpt_path=<run folder or .ckpt>, or predictions=<dir>"):
        evaluate(compose_config("eval", [], tmp_path / "a"))
    with pytest.raises(ValueError, match="also needs images=<dir> and masks=<dir>"):
        evaluate(compose_config("eval", [f"predictions={tmp_path}"], tmp_path / "b"))
    assert json.loads((tmp_path / "b/status.json").read_text())["status"] == "failed"


def test_table_rows_train_under_their_own_names(tmp_path):
    """A paper row's run logs and tables say the row's name (e.g. Img-Filter), not its model family's."""
    from inpainting.reproduce import load_spec

    for table in ("misf_table3", "misf_table4"):
        for row in load_spec(table).rows:
            cfg = compose_config("train", [f"experiment={row.experiment}"], tmp_path / table / row.experiment)
            expected = {"Sem-Filter": "Sem-Filter(F3)"}.get(row.name, row.name)  # Table 3's Sem-Filter filters at F3
            assert cfg.model.method_name == expected, row


def test_uafnet_switches_default_to_the_authors_and_the_demo_sets_them(tmp_path):
    faithful = compose_config("train", ["experiment=jpgnet_telea"], tmp_path / "a").model
    assert (faithful.loss_on, faithful.fusion.init, faithful.fusion.kernel_norm, faithful.fusion.padding,
            faithful.fusion.train_mixing, faithful.optimizer.lr) == ("raw", "official", "none", "zeros", True, 2e-4)
    demo = compose_config("train", ["experiment=demo"], tmp_path / "b").model
    assert (demo.loss_on, demo.fusion.init, demo.fusion.kernel_norm, demo.fusion.padding,
            demo.fusion.train_mixing) == ("composite", "res1", "softmax", "replicate", False)
