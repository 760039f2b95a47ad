"""Configs and experiment data are found in a checkout and ship inside the wheel (``inpainting/conf``)."""
import subprocess
import sys
import zipfile

import pytest

from inpainting.utils import resources


def test_config_root_resolves_through_the_resource_helper():
    assert (resources.CONFIG_DIR / "train.yaml").is_file() and (resources.CONFIG_DIR / "experiment/demo.yaml").is_file()
    assert (resources.EXPERIMENTS_DIR / "tables/misf_table3.yaml").is_file()
    from inpainting.cli.common import CONFIG_DIR

    assert CONFIG_DIR == resources.CONFIG_DIR


def test_outside_a_checkout_the_package_copy_is_used_or_the_error_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(resources, "_SOURCE_ROOT", tmp_path)  # no pyproject.toml, no conf/: like site-packages
    try:
        found = resources.resource_dir("conf")
    except FileNotFoundError as error:  # running from a checkout: inpainting.conf is not importable
        assert "inpainting.conf is not installed" in str(error)
    else:
        # the installed package's conf (an editable install maps inpainting.conf onto the checkout's conf/)
        assert (found / "train.yaml").is_file() and found.name == "conf"


@pytest.mark.slow
def test_the_wheel_holds_the_configs_and_experiments(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(resources._SOURCE_ROOT), "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path)], check=True)
    (wheel,) = tmp_path.glob("pfinpaint-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("inpainting/conf/train.yaml", "inpainting/conf/eval.yaml", "inpainting/conf/experiment/demo.yaml",
                 "inpainting/conf/metrics/default.yaml", "inpainting/experiments/tables/misf_table3.yaml",
                 "inpainting/experiments/paper_tables/misf_table2.yaml", "inpainting/nets/misf/adapter.py",
                 "hydra_plugins/inpainting_launchers/device_pool_launcher.py"):
        assert name in names, name
    # exactly the tree's configs: none of conf/local/ (machine-specific, untracked), no stale copy of a deleted
    # file (setuptools reuses an existing build/ folder: delete it when this fails)
    root = resources._SOURCE_ROOT / "conf"
    tree = {f"inpainting/conf/{p.relative_to(root)}" for p in root.rglob("*.yaml") if p.relative_to(root).parts[0] != "local"}
    assert {n for n in names if n.startswith("inpainting/conf/") and n.endswith(".yaml")} == tree
