"""Importing the package switches off albumentations' update check (a network call per run otherwise)."""
import os
import subprocess
import sys

from tests.conftest import REPO_ROOT

PROBE = """
import os, urllib.request
calls = []
urllib.request.build_opener = lambda *a, **k: calls.append(a) or (_ for _ in ()).throw(OSError("no network"))
from inpainting.data.augment import JointAugment
import albumentations
JointAugment(albumentations.HorizontalFlip(p=1.0))
print(os.environ.get("NO_ALBUMENTATIONS_UPDATE"), len(calls))
"""


def test_albumentations_update_check_is_off_without_the_variable():
    env = {k: v for k, v in os.environ.items() if k != "NO_ALBUMENTATIONS_UPDATE"}
    env["PYTHONPATH"] = str(REPO_ROOT)
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["1", "0"], result.stdout


def test_a_users_own_setting_is_kept():
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "0", "PYTHONPATH": str(REPO_ROOT)}
    code = "import inpainting, os; print(os.environ['NO_ALBUMENTATIONS_UPDATE'])"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.stdout.strip() == "0"
