"""Every command the README shows, run as written with tiny settings appended, so that the README and
the code cannot drift apart.

``readme_commands`` collects the command lines of the README's shell blocks (fenced and indented) and
the inline commands with arguments (the Commands table, commands in the prose). Each one has a case
below, keyed by its exact text; a command the README gains without a case, or a case whose command
the README dropped, fails ``test_every_readme_command_has_a_case``. Placeholders (``<stamp>``,
``<dir>``, ``/datasets``) become folders prepared here. Each case's docstring starts with how it is
checked:

- ``ran``: executed in this process through its console entry point (``pyproject.toml``), with the
  tiny settings of ``tests/cli/helpers.py`` appended, asserting exit status 0 and what the README says
  it writes;
- ``composed``: it needs hardware absent here (CUDA devices, SLURM); its config (and the launcher's) is
  composed and resolved with Hydra, and the command is run when the hardware is present;
- ``dry run``: a ``make`` target that installs or runs the suite itself is checked with ``make -n``;
  a reproduction that needs datasets absent here runs with ``dry_run=true``;
- ``elsewhere``: a test in another file runs it (named in the case).
"""
from __future__ import annotations

import importlib
import json
import pathlib
import re
import runpy
import shlex
import shutil
import subprocess
import sys
import threading
import time
import urllib.request

import numpy as np
import pytest
import torch
import yaml
from hydra import compose, initialize_config_dir
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf
from PIL import Image

from inpainting.cli.common import CONFIG_DIR
from tests.cli.helpers import TINY, TINY_DEMO
from tests.cli.test_sweeps import OPTUNA_COMMAND, SEED_SWEEP_COMMAND
from tests.data.test_data_layouts import nvidia_like_masks, save_image

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
README = REPO_ROOT / "README.md"
# pyproject's [project.scripts] (tomllib is Python >= 3.11 only): console name -> "module:function"
SCRIPTS = dict(re.findall(r'^(inpaint-[a-z-]+) = "([\w.:]+)"$', (REPO_ROOT / "pyproject.toml").read_text()
                          .split("[project.scripts]")[1].split("\n[")[0], re.M))
COMMAND = re.compile(r"^(inpaint-[a-z-]+|make|python3?|\.venv/bin/\S+)(\s|$)")
SHELL_FENCES = ("bash", "sh", "shell", "console")
TINY_TRAIN = [*TINY, "trainer.max_epochs=1"]
# scale=demo's narrowing (conf/scale_model/demo_misf.yaml): narrow MISF, no VGG terms (no ImageNet file is shipped)
TINY_MISF = [*TINY_TRAIN, "model.net.generator.width=0.125", "model.loss.weights.perceptual=0", "model.loss.weights.style=0"]
TINY_PFUNET = [*TINY_TRAIN, "model.net.kpn.width=0.125"]
FOLDER = "photos"  # folders prepared in each case's working directory (see Workspace.folder)


def readme_commands(text: str) -> list[str]:
    """The command lines the README shows, in order, without repeats: lines of fenced shell blocks and
    of indented code blocks (backslash continuations joined, trailing ``# comments`` dropped), and
    inline code spans that start with a command and carry an argument."""
    found: list[str] = []
    fence, pending, block, previous_blank = None, "", False, True

    def add(line: str) -> None:
        nonlocal pending
        line = pending + line.strip()
        if line.endswith("\\"):
            pending = line[:-1].rstrip() + " "
            return
        pending = ""
        line = re.sub(r"\s+#\s.*$", "", line)
        if COMMAND.match(line):
            found.append(line)

    for line in text.splitlines():
        if fence is not None:
            if line.startswith("```"):
                fence = None
            elif fence in SHELL_FENCES:
                add(line)
            continue
        if line.startswith("```"):
            fence = line[3:].strip()
            continue
        if line.startswith("    ") and (previous_blank or block or pending):  # an indented code block
            block = True
            add(line)
            continue
        block = False
        previous_blank = not line.strip() or line.startswith("#")
        found += [span.strip() for span in re.findall(r"`([^`]+)`", line) if COMMAND.match(span) and " " in span.strip()]
    return list(dict.fromkeys(found))


# -- running a command -------------------------------------------------------------------------------
def console_argv(argv: list[str]) -> list[str]:
    """``.venv/bin/inpaint-x ...`` or ``<python> -m <module> ...`` (what make runs) as ``inpaint-x ...``."""
    if argv[0].endswith(("/python", "/python3")) and argv[1] == "-m":
        (name,) = [n for n, target in SCRIPTS.items() if target.split(":")[0] == argv[2]]
        return [name, *argv[3:]]
    return [pathlib.Path(argv[0]).name, *argv[1:]]


def invoke(argv: list[str], cwd: pathlib.Path) -> int:
    """Run console command ``argv`` in this process, in ``cwd``; returns its exit status."""
    module, function = SCRIPTS[argv[0]].split(":")
    main = getattr(importlib.import_module(module), function)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(cwd)
        patch.setattr(sys, "argv", list(argv))
        GlobalHydra.instance().clear()
        try:
            status = main()
        except SystemExit as stop:
            status = stop.code
        finally:
            GlobalHydra.instance().clear()
    return 0 if status is None else status


def expand(command: str, **values: str) -> list[str]:
    """The command with each placeholder (``placeholder=value`` by the keyword's text) replaced."""
    for placeholder, value in values.items():
        assert placeholder in command, f"{placeholder!r} not in {command!r}"
        command = command.replace(placeholder, value)
    assert "<" not in command and "..." not in command, f"unfilled placeholder in {command!r}"
    return shlex.split(command)


def make_recipe(argv: list[str]) -> list[str]:
    """The lines ``make -n`` prints for ``make <target> [VAR=value]`` in the checkout (-B: as on a clean clone)."""
    assert argv[0] == "make"
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    done = subprocess.run(["make", "-n", "-B", "--no-print-directory", "-C", str(REPO_ROOT), *argv[1:]],
                          capture_output=True, text=True, check=True)
    return done.stdout.strip().splitlines()


def compose_job(overrides: list[str], cwd: pathlib.Path):
    """Compose conf/train.yaml with its Hydra config, as ``inpaint-train`` would in ``cwd``; resolved."""
    GlobalHydra.instance().clear()
    with pytest.MonkeyPatch.context() as patch, initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        patch.chdir(cwd)
        cfg = compose("train", overrides=overrides, return_hydra_config=True)
        OmegaConf.resolve(cfg.hydra.sweep)  # the plain-sweep failure of issue 13 was here
        return cfg


def sweep_jobs(overrides: list[str]) -> list[list[str]]:
    """Hydra's own split of a ``-m`` command line into its jobs' overrides."""
    parsed = OverridesParser.create().parse_overrides(overrides)
    (batch,) = BasicSweeper.split_arguments(parsed, max_batch_size=None)
    return batch


def new_folders(pattern: str, cwd: pathlib.Path, before: set) -> list[pathlib.Path]:
    return sorted(set(cwd.glob(pattern)) - before)


def cuda_devices() -> int:
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


# -- the workspace: inputs the commands name, and the runs later commands read ------------------------
def save_photo(path: pathlib.Path, seed: int, size=(48, 40)) -> None:
    """A smooth random photo (so that inpainting has something to continue), ``size`` = (width, height)."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (5, 6, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(coarse).resize(size, Image.BILINEAR).save(path)


def save_hole_mask(path: pathlib.Path, size=(48, 40)) -> None:
    mask = np.zeros(size[::-1], np.uint8)
    mask[8:24, 10:30] = 255  # white = hole
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(mask).save(path)


class Workspace:
    """A clean directory per command, with the inputs it names; runs later commands read are memoised."""

    def __init__(self, root: pathlib.Path):
        self.root = root
        (root / "outputs").mkdir()
        self._runs: dict[str, pathlib.Path] = {}

    def folder(self, name: str) -> pathlib.Path:
        """``<root>/<name>`` with ``photos/`` (+ ``masks/``: ``10_mask.png`` and ``11.png`` naming),
        ``a.jpg``/``a_mask.png``, and ``outputs/`` shared with every other command (run folders)."""
        cwd = self.root / re.sub(r"\W+", "_", name)[:60]
        if cwd.exists():
            return cwd
        for i, stem in enumerate(("10", "11")):
            save_photo(cwd / FOLDER / f"{stem}.jpg", seed=i)
        save_hole_mask(cwd / "masks/10_mask.png")
        save_hole_mask(cwd / "masks/11.png")
        save_photo(cwd / "a.jpg", seed=7)
        save_hole_mask(cwd / "a_mask.png")
        (cwd / "outputs").symlink_to(self.root / "outputs")
        return cwd

    def run(self, argv: list[str], name: str | None = None) -> pathlib.Path:
        """Run ``argv`` (memoised) in its folder and return the run folder it created under outputs/."""
        key = shlex.join(argv)
        if key not in self._runs:
            cwd = self.folder(name or key)
            before = set(self.root.glob("outputs/*/runs/*"))
            assert invoke(argv, cwd) == 0, key
            (self._runs[key],) = new_folders("outputs/*/runs/*", self.root, before)
        return self._runs[key]

    def demo_run(self) -> pathlib.Path:
        return self.run(["inpaint-train", "experiment=demo", *TINY_TRAIN, *TINY_DEMO], "demo")

    def pfunet_run(self) -> pathlib.Path:
        """A network-only run."""
        return self.run(["inpaint-train", "experiment=jpgnet_pfunet", *TINY_PFUNET], "pfunet")

    def photo_folder(self, count: int) -> pathlib.Path:
        root = self.root / f"photos_{count}"
        if not root.exists():
            for i in range(count):
                save_photo(root / f"p{i:03d}.png", seed=100 + i, size=(72, 64))
        return root


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    return Workspace(tmp_path_factory.mktemp("readme"))


def assert_run_folder(run: pathlib.Path, tested: bool = True) -> None:
    """What the README's run-folder listing promises."""
    assert json.loads((run / "status.json").read_text())["status"] == "ok"
    for name in ("config_resolved.yaml", "checkpoints/last.ckpt", "csv/metrics.csv", "curves.png"):
        assert (run / name).is_file(), name
    assert list(run.glob("checkpoints/best_*.ckpt")) and list(run.glob("images/val_epoch*_step*.png"))
    if tested:
        for name in ("results.json", "tables/test_metrics.md", "tables/test_metrics.csv", "tables/test_per_image.csv",
                     "images/test.png"):
            assert (run / name).is_file(), name


def results(folder: pathlib.Path) -> dict:
    return json.loads((folder / "results.json").read_text())


# -- the cases -----------------------------------------------------------------------------------------
CASES: dict[str, tuple] = {}


def case(*commands: str, slow: bool = False):
    def register(check):
        for command in commands:
            CASES[command] = (check, slow)
        return check
    return register


@case("inpaint-train experiment=demo")
def train_demo(ws, command):
    """ran (tiny: 1/8 width, 32x32, 1 epoch of 2 batches): the run folder as the README lists it."""
    assert ["inpaint-train", "experiment=demo"] == expand(command)
    assert_run_folder(ws.demo_run())


@case("make demo")
def make_demo(ws, command):
    """ran: ``make -n`` shows it runs ``inpaint-train experiment=demo`` (one OpenMP thread), run as that command (tiny)."""
    env, *argv = shlex.split(make_recipe(expand(command))[-1])
    assert env == "OMP_NUM_THREADS=1" and console_argv(argv) == ["inpaint-train", "experiment=demo"]
    assert_run_folder(ws.demo_run())


@case("make test", "make test-full")
def make_tests(ws, command):
    """dry run (the suite cannot run itself): ``make -n`` shows pytest, slow tests deselected by make test only."""
    recipe = make_recipe(expand(command))
    assert any("tools/install_tvshim.py" in line for line in recipe), "installs what is missing first"
    pytest_args = shlex.split(recipe[-1])
    assert pytest_args[:3] == [".venv/bin/python", "-m", "pytest"]
    assert ("not slow" in pytest_args) == (command == "make test")


@case("make install")
def make_install(ws, command):
    """dry run (installs into .venv from the package index): the constraints and every extra the tests use."""
    recipe = " ".join(make_recipe(expand(command)))
    assert "-m venv .venv" in recipe and "-c constraints-cpu.txt -e '.[dev,search,loggers,export,patchmatch]'" in recipe
    assert "PYTHONWARNINGS='ignore:Editable installation'" in recipe, "no setuptools editable-install banner"


@case("make test CONSTRAINTS=/dev/null")
def make_test_cuda(ws, command):
    """dry run (installs): the install keeps the torch you installed (pip's constraints file is empty)."""
    recipe = make_recipe(expand(command))
    assert any("-c /dev/null -e" in line for line in recipe) and "pytest" in recipe[-1]


@case("make bench", slow=True)
def make_bench(ws, command):
    """ran: the script ``make -n`` shows, with one timed call per measurement (--repeats 1): the ratio table."""
    argv = shlex.split(make_recipe(expand(command))[-1])
    assert argv == [".venv/bin/python", "benchmarks/bench_filter.py"]
    done = subprocess.run([sys.executable, str(REPO_ROOT / argv[1]), "--repeats", "1"], capture_output=True, text=True,
                          check=True, cwd=ws.folder(command))
    assert "fast" in done.stdout and "x" in done.stdout


@case("make gpu-kit")
def make_gpu_kit(ws, command):
    """dry run (downloads wheels from the package index): resolve and download, the offline resolution check, the
    authors' MISF code."""
    recipe = make_recipe(expand(command))
    assert [line.split()[1:3] for line in recipe[-3:]] == [["tools/gpu_kit.py", "download"], ["tools/gpu_kit.py", "check"],
                                                         ["tools/gpu_kit.py", "fetch-misf"]]


@case("make gpu-check", slow=True)
def make_gpu_check(ws, command):
    """ran (the script ``make -n`` shows): without a GPU it says so, skips the CUDA tests with that reason, runs
    bench_gpu.py at its CPU size and exits 0, writing the markdown and JSON report."""
    argv = shlex.split(make_recipe(expand(command))[-1])
    assert argv[1:] == ["tools/gpu_check.py", "--out", "gpu-check"]
    out = ws.folder(command) / "gpu-check"
    subprocess.run([sys.executable, str(REPO_ROOT / argv[1]), "--out", str(out)], check=True, cwd=REPO_ROOT, timeout=300)
    report = json.loads((out / "gpu-check.json").read_text())
    if not torch.cuda.is_available():
        assert report["cuda tests"]["passed"] == 0 and not report["cuda tests"]["failed"]
        assert list(report["cuda tests"]["skipped"]) == ["no CUDA GPU here (torch.cuda.is_available() is False)"]
    assert report["bench_gpu"]["filtering_op"]["unfold / shift"] > 0 and (out / "gpu-check.md").is_file()


@case("python3 -m venv .venv", slow=True)
def make_venv(ws, command):
    """ran: the virtual environment of the CUDA instructions."""
    cwd = ws.folder(command)
    subprocess.run(expand(command), cwd=cwd, check=True)
    assert (cwd / ".venv/bin/pip").is_file()


@case(".venv/bin/pip install torch torchvision --index-url https://download.pytorch.org/whl/cu126")
def pip_cuda_torch(ws, command):
    """not run (downloads a CUDA torch build, GBs, from the network): the index is PyTorch's CUDA wheel
    index and the next README line (``make test CONSTRAINTS=/dev/null``, its own case) keeps that build."""
    argv = expand(command)
    assert argv[1:4] == ["install", "torch", "torchvision"]
    assert re.fullmatch(r"https://download\.pytorch\.org/whl/cu\d+", argv[argv.index("--index-url") + 1])


@case("inpaint-train experiment=<name> [key=value ...]")
def train_any(ws, command):
    """ran: experiment=jpgnet_pfunet trainer.max_epochs=1 (tiny PFUNet), trained then tested."""
    argv = expand(command, **{"<name>": "jpgnet_pfunet", "[key=value ...]": "trainer.max_epochs=1"})
    assert argv == ["inpaint-train", "experiment=jpgnet_pfunet", "trainer.max_epochs=1"]
    run = ws.pfunet_run()
    assert_run_folder(run)
    assert yaml.safe_load((run / "config_resolved.yaml").read_text())["trainer"]["max_epochs"] == 1


@case("inpaint-train experiment=demo data=folder ...", slow=True)
def train_folder(ws, command):
    """ran: the demo's JPGNet-Telea on a folder of photos, tiny; ``...`` = the folder's roots (the demo trains
    its PFUNet in the same run: no stage files)."""
    photos = ws.photo_folder(12)
    roots = " ".join(f"data.{split}_images.root={photos}" for split in ("train", "val", "test"))
    run = ws.run([*expand(command, **{"...": roots}), *TINY_TRAIN, *TINY_DEMO])
    assert_run_folder(run)
    config = yaml.safe_load((run / "config_resolved.yaml").read_text())
    assert config["data"]["train_images"]["root"] == str(photos) and config["model"]["fusion"]["kernel_norm"] == "softmax"


@case("inpaint-train experiment=misf scale=demo", slow=True)
def train_misf_demo_scale(ws, command):
    """ran as written (MISF at the demo scale: width 0.125, no VGG terms, 32x32, 2 batches)."""
    argv = expand(command)
    assert_run_folder(ws.run([*argv, "callbacks.progress_bar.refresh_rate=0"]))


@case("inpaint-eval ckpt_path=<run folder or .ckpt> [data=<name>]")
def eval_run(ws, command):
    """ran on the demo run folder (its own data config: no data=): the training run's test table again, its
    classical comparison rows included."""
    run = ws.demo_run()
    argv = expand(command, **{"<run folder or .ckpt>": str(run), " [data=<name>]": ""})
    cwd = ws.folder(command)
    before = set(ws.root.glob("outputs/eval/runs/*"))
    assert invoke([*argv, "extras.print_config=false", "callbacks.progress_bar.refresh_rate=0"], cwd) == 0
    (folder,) = new_folders("outputs/eval/runs/*", ws.root, before)
    assert (folder / "tables/test_metrics.md").is_file()
    evaluated, trained = results(folder)["methods"], results(run)["methods"]
    assert list(evaluated) == list(trained) and "Telea" in evaluated  # Input, the model and the classical rows
    assert all(evaluated[name] == trained[name] for name in evaluated)


@case("inpaint-eval predictions=<dir> images=<dir> masks=<dir> [method_name=...]")
def eval_predictions(ws, command):
    """ran: scores the outputs inpaint-predict wrote for photos/ (the README's folder predict case)."""
    cwd = ws.folder(command)
    predicted = predict_folder(ws, README_PREDICT_RUN)
    argv = expand(command, **{"predictions=<dir>": f"predictions={predicted}", "images=<dir>": f"images={cwd / FOLDER}",
                              "masks=<dir>": f"masks={cwd / 'masks'}", "[method_name=...]": "method_name=demo"})
    before = set(ws.root.glob("outputs/*/runs/*"))
    assert invoke([*argv, "extras.print_config=false"], cwd) == 0
    (folder,) = new_folders("outputs/*/runs/*", ws.root, before)
    table = (folder / "tables/test_metrics.md").read_text()
    assert "demo" in table and (folder / "results.json").is_file()


README_PREDICT_RUN = "inpaint-predict images=photos/ masks=masks/ output_dir=out/ model.source=outputs/demo/runs/<stamp>"


def predict_folder(ws, command: str) -> pathlib.Path:
    """Run the README's folder predict command (memoised by its output folder) and return that folder."""
    cwd = ws.folder(command)
    if not (cwd / "out").exists():
        argv = expand(command, **{"<stamp>": ws.demo_run().name})
        assert invoke(argv, cwd) == 0
    return cwd / "out"


@case(README_PREDICT_RUN)
def predict_run_folder(ws, command):
    """ran with the demo run: one output per photo, paired with ``10_mask.png`` and ``11.png``, known pixels kept."""
    out = predict_folder(ws, command)
    cwd = ws.folder(command)
    assert sorted(p.stem for p in out.iterdir()) == ["10", "11"]
    for stem, mask in (("10", "10_mask.png"), ("11", "11.png")):
        known = np.asarray(Image.open(cwd / "masks" / mask)) == 0
        result, photo = (np.asarray(Image.open(p).convert("RGB")) for p in (next(out.glob(f"{stem}.*")), cwd / FOLDER / f"{stem}.jpg"))
        assert result.shape == photo.shape and np.array_equal(result[known], photo[known])


def assert_predicted(cwd: pathlib.Path) -> None:
    (result,) = (cwd / "out").iterdir()
    photo, mask = Image.open(cwd / "a.jpg"), np.asarray(Image.open(cwd / "a_mask.png")) > 0
    got = np.asarray(Image.open(result).convert("RGB"))
    assert got.shape[:2] == mask.shape and np.array_equal(got[~mask], np.asarray(photo)[~mask])


@case("inpaint-predict images=a.jpg masks=a_mask.png output_dir=out/ model.source=telea",
      "inpaint-predict images=<file/folder> masks=<file/folder> output_dir=<dir> model.source=<...>")
def predict_classical(ws, command):
    """ran (the table's form with a.jpg, a_mask.png, out/, telea)."""
    argv = expand(command.replace("<file/folder>", "a.jpg", 1).replace("<file/folder>", "a_mask.png"),
                  **{"<dir>": "out/", "<...>": "telea"}) if "<" in command else expand(command)
    cwd = ws.folder(command)
    assert invoke(argv, cwd) == 0
    assert_predicted(cwd)


@case("inpaint-predict images=a.jpg masks=a_mask.png output_dir=out/ model.source=places2_InpaintingModel_gen.pth model.official=misf",
      slow=True)
def predict_official(ws, command):
    """ran with a random-weight generator saved in the authors' ``{'iteration', 'generator'}`` layout."""
    from inpainting.nets.misf import MISFGenerator

    cwd = ws.folder(command)
    torch.manual_seed(0)
    torch.save({"iteration": 0, "generator": MISFGenerator(variant="misf").state_dict()},
               cwd / "places2_InpaintingModel_gen.pth")
    assert invoke(expand(command), cwd) == 0
    assert_predicted(cwd)


@case("make reproduce")
def make_reproduce(ws, command):
    """dry run (the defaults: the demo-scale table of its own case): ``make -n`` shows the report goes to experiments/results."""
    recipe = console_argv(shlex.split(make_recipe(expand(command))[-1]))
    assert recipe == ["inpaint-reproduce", "table=misf_table3", "scale=demo", "out_dir=experiments/results"]


@case("make reproduce TABLE=<table> SCALE=demo/small/full/released [WEIGHTS=<dir>]")
def reproduce_template(ws, command):
    """dry run (CelebA is absent here) as TABLE=misf_table4 SCALE=released WEIGHTS=<an empty folder>:
    the rows, the missing data and the missing authors' files named, no report written."""
    cwd = ws.folder(command)
    (cwd / "weights").mkdir()
    argv = expand(command, **{"<table>": "misf_table4", "demo/small/full/released": "released",
                              "[WEIGHTS=<dir>]": f"WEIGHTS={cwd / 'weights'}"})
    argv = console_argv(shlex.split(make_recipe(argv)[-1]))
    assert argv[1:3] == ["table=misf_table4", "scale=released"] and f"weights={cwd / 'weights'}" in argv
    assert invoke([*argv, "dry_run=true", "estimate=false"], cwd) == 0
    assert not (cwd / "experiments").exists(), "a dry run writes no report"


@case("make reproduce TABLE=misf_table3 SCALE=full ARGS=\"dry_run=true\"", slow=True)
def reproduce_dry_run(ws, command):
    """ran (estimate=false appended: no throughput measurement): every stage's command, the missing data named."""
    cwd = ws.folder(command)
    argv = console_argv(shlex.split(make_recipe(expand(command))[-1]))
    assert argv[1:3] == ["table=misf_table3", "scale=full"] and argv[-1] == "dry_run=true"
    assert invoke([*argv, "estimate=false"], cwd) == 0
    assert not (cwd / "experiments").exists(), "a dry run writes no report"


def reproduce_report(ws, command: str, extra: list[str], **values) -> str:
    cwd = ws.folder(command)
    argv = console_argv(shlex.split(make_recipe(expand(command, **values))[-1]))
    assert "out_dir=experiments/results" in argv
    assert invoke([*argv, *extra], cwd) == 0
    (report,) = (cwd / "experiments/results").glob("*.md")
    text = report.read_text()
    for row in ("Img-Filter", "Sem-Filter", "MISF", "En-decoder-Filter", "En-decoder"):
        assert f"| {row} " in text, row
    return text


@case("make reproduce TABLE=misf_table3 SCALE=demo", slow=True)
def reproduce_demo(ws, command):
    """ran as written (minutes: every row of MISF Table 3 at the demo scale): the report's rows."""
    reproduce_report(ws, command, [])


@case("make reproduce TABLE=misf_table3 SCALE=small ARGS=\"paths.photos_dir=<folder of photos>\"", slow=True)
def reproduce_small(ws, command):
    """ran on 40 photos with tiny settings appended for every job (32x32, 1 epoch of 2 batches)."""
    reproduce_report(ws, command, ["data.image_size=32", "data.resize_short=40", "data.samples_per_epoch=16",
                                   "data.images_per_bin=2", "trainer.max_epochs=1"],
                     **{"<folder of photos>": str(ws.photo_folder(40))})


@case("make reproduce TABLE=jpgnet_classical SCALE=small "
      "ARGS=\"paths.photos_dir=<folder of photos> ++data.eval_masks.root=<testing_mask_dataset>\"", slow=True)
def reproduce_classical(ws, command):
    """ran on 40 photos and three NVIDIA-like masks (one per bin), tiny settings appended for every job (32x32,
    1 epoch of 2 batches): the four JPGNet rows, the generators alone as context rows, and the claims."""
    cwd = ws.folder(command)
    nvidia_like_masks(cwd / "masks")
    argv = console_argv(shlex.split(make_recipe(expand(command, **{"<folder of photos>": str(ws.photo_folder(40)),
                                                                   "<testing_mask_dataset>": str(cwd / "masks")}))[-1]))
    assert invoke([*argv, "data.image_size=32", "data.resize_short=40", "data.samples_per_epoch=16",
                   "data.images_per_bin=2", "trainer.max_epochs=1"], cwd) == 0
    (report,) = (cwd / "experiments/results").glob("*.md")
    text = report.read_text()
    for row in ("JPGNet-Telea", "JPGNet-Navier-Stokes", "JPGNet-Biharmonic", "JPGNet-PatchMatch",
                "Telea", "Navier-Stokes", "Biharmonic", "PatchMatch"):
        assert f"| {row} " in text, row
    assert "### Claims" in text and "jpgnet_improves_patchmatch" in text


@case("make readme-results")
def readme_results(ws, command):
    """dry run and ran: ``make -n`` shows the module; its ``--check`` finds the README equal to the committed
    reports (``tests/reproduce/test_readme_results.py`` checks the rendering)."""
    (recipe,) = [line for line in make_recipe(expand(command)) if "inpainting.reproduce.readme" in line]
    assert recipe.split()[-2:] == ["-m", "inpainting.reproduce.readme"]
    from inpainting.reproduce import readme

    assert readme.main(["--check"]) == 0


@case("make reproduce TABLE=misf_table3 SCALE=full ARGS=\"paths.data_dir=/datasets trainer=gpu\"",
      "make reproduce TABLE=misf_table3 SCALE=released WEIGHTS=<dir>", slow=True)
def reproduce_needs_datasets(ws, command):
    """dry run (Places2, CelebA and Dunhuang are absent here): the stages it would run, the missing data named."""
    cwd = ws.folder(command)
    argv = console_argv(shlex.split(make_recipe(expand(command, **({"<dir>": str(cwd)} if "<dir>" in command else {})))[-1]))
    assert invoke([*argv, "dry_run=true", "estimate=false"], cwd) == 0


@case("inpaint-check-data data=<name> paths.data_dir=<dir>")
def check_data_demo(ws, command):
    """ran: data=demo (the embedded photos), paths.data_dir=<an empty folder>."""
    cwd = ws.folder(command)
    assert invoke(expand(command, **{"<name>": "demo", "<dir>": str(cwd)}), cwd) == 0


@case("inpaint-check-data data=places2 paths.data_dir=/datasets max_images=2000")
def check_data_places2(ws, command):
    """ran on a tiny tree in the official Places2 layout (/datasets = that tree) with NVIDIA-like masks."""
    cwd = ws.folder(command)
    data = cwd / "datasets"
    root = data / "places2"
    root.mkdir(parents=True)
    (root / "places365_train_standard.txt").write_text("/a/airfield/00000001.jpg 0\n/b/bar/00000002.jpg 1\n")
    (root / "places365_val.txt").write_text("Places365_val_00000001.jpg 165\n")
    (root / "places365_test.txt").write_text("Places365_test_00000001.jpg\n")
    for name in ("data_256/a/airfield/00000001.jpg", "data_256/b/bar/00000002.jpg", "val_256/Places365_val_00000001.jpg",
                 "test_256/Places365_test_00000001.jpg"):
        save_image(root / name, 64, 64)
    nvidia_like_masks(data / "masks/testing_mask_dataset")
    nvidia_like_masks(data / "masks/train")
    assert invoke(expand(command, **{"/datasets": str(data)}), cwd) == 0


@case("inpaint-rtv experiment=structureflow_structure data=<name> paths.data_dir=<dir>")
def rtv_cache(ws, command):
    """ran: data=folder (its roots on 3 photos), the cache filled under paths.data_dir."""
    cwd = ws.folder(command)
    photos = cwd / "p"
    for i in range(3):
        save_photo(photos / f"p{i}.png", seed=50 + i, size=(32, 32))
    roots = [f"data.{split}_images.root={photos}" for split in ("train", "val", "test")]
    assert invoke([*expand(command, **{"<name>": "folder", "<dir>": str(cwd)}), *roots, "splits=[train]"], cwd) == 0
    assert len(list((cwd / "rtv_structures").rglob("p*.png"))) == 3


@case("inpaint-timing device=cuda")
def timing(ws, command):
    """ran (tiny: 32x32, no warm-up, one repeat, EdgeConnect as the only DGNet); without CUDA here it runs
    with device=cpu instead: the table has a row per module."""
    argv = expand(command)
    if not cuda_devices():
        argv[argv.index("device=cuda")] = "device=cpu"
    cwd = ws.folder(command)
    tiny = ["image_size=32", "warmup=0", "repeats=1", "out=timing.md", "dgnets=[]"]
    assert invoke([*argv, *tiny], cwd) == 0
    table = (cwd / "timing.md").read_text()
    assert all(name in table for name in ("PFUNet", "UAFNet", "MISF"))


@case("inpaint-export model.source=<run or file> output_dir=<dir>")
def export(ws, command):
    """ran on the tiny demo run at 32x32 (its Telea result is the graph's third input): TorchScript and ONNX
    files, checked against the eager model."""
    cwd = ws.folder(command)
    argv = expand(command, **{"<run or file>": str(ws.demo_run()), "<dir>": "exported"})
    assert invoke([*argv, "height=32", "width=32"], cwd) == 0
    assert (cwd / "exported/model.pt").is_file()
    pytest.importorskip("onnxruntime", reason="the `export` extra is not installed")
    assert (cwd / "exported/model.onnx").is_file()


@case("inpaint-webdemo [models={NAME:<run or file>}]")
def webdemo(ws, command):
    """ran with models={demo:<the demo run>} on a free port (port=0) in a thread: the page lists the
    model and one POST /inpaint returns an image; then the server is shut down."""
    from inpainting.cli import webdemo as module

    run = ws.demo_run()
    argv = expand(command.replace("[", "").replace("]", ""), **{"NAME:<run or file>": f"demo:{run}"})
    servers = []
    make_server = module.make_server
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(module, "make_server", lambda *a, **k: servers.append(make_server(*a, **k)) or servers[-1])
        statuses = []
        thread = threading.Thread(target=lambda: statuses.append(invoke([*argv, "port=0"], ws.folder(command))))
        thread.start()
        try:
            for _ in range(600):
                if servers or not thread.is_alive():
                    break
                time.sleep(0.1)
            (server,) = servers
            url = f"http://127.0.0.1:{server.server_address[1]}"
            assert '<option value="demo">' in urllib.request.urlopen(url + "/", timeout=60).read().decode()
            from inpainting.cli.webdemo import encode_png

            photo = Image.open(ws.folder(command) / "a.jpg")
            mask = Image.open(ws.folder(command) / "a_mask.png").convert("RGBA")
            body = json.dumps({"model": "demo", "image": encode_png(photo), "mask": encode_png(mask)}).encode()
            reply = json.loads(urllib.request.urlopen(urllib.request.Request(url + "/inpaint", body), timeout=60).read())
            assert "image" in reply and "run checkpoint" in reply["description"], reply
        finally:
            for server in servers:
                server.shutdown()
            thread.join(60)
    assert statuses == [0]


@case("python -m inpainting.cli.train")
def train_module(ws, command):
    """ran with --help: ``python -m`` runs the module of the inpaint-train entry point."""
    argv = expand(command)
    assert SCRIPTS["inpaint-train"] == f"{argv[2]}:main"
    with pytest.MonkeyPatch.context() as patch, pytest.raises(SystemExit) as stop:
        patch.setattr(sys, "argv", [argv[2], "--help"])
        runpy.run_module(argv[2], run_name="__main__", alter_sys=True)
    assert stop.value.code == 0


@case(OPTUNA_COMMAND, SEED_SWEEP_COMMAND)
def sweeps(ws, command):
    """elsewhere: tests/cli/test_sweeps.py runs both as written (2 trials; 2 seeds), without hydra.sweep.dir."""
    assert command in (OPTUNA_COMMAND, SEED_SWEEP_COMMAND)


def gpu_or_composed(ws, command: str, devices: int, tiny: list[str]):
    """Run with tiny settings when ``devices`` CUDA devices are here; compose otherwise. Returns the config."""
    argv = expand(command)
    cfg = compose_job([*argv[1:], *tiny], ws.root)
    if cuda_devices() >= devices:
        assert_run_folder(ws.run([*argv, *tiny]))
    return cfg


@case("inpaint-train experiment=misf trainer=gpu")
def train_gpu(ws, command):
    """composed (no CUDA here; run tiny on a CUDA machine): one GPU, MISF's recipe."""
    cfg = gpu_or_composed(ws, command, 1, [*TINY_MISF, "trainer=gpu"])  # after scale=demo's CPU trainer
    assert cfg.trainer.accelerator == "gpu" and cfg.trainer.devices == 1
    assert compose_job(expand(command)[1:], ws.root).data.image_size == 256  # as written: the paper's resolution


@case("inpaint-train experiment=misf trainer=ddp trainer.devices=4")
def train_ddp(ws, command):
    """composed (needs 4 GPUs): DDP over 4 devices, the global batch divided by them."""
    cfg = gpu_or_composed(ws, command, 4, [*TINY_MISF, "trainer=ddp", "trainer.devices=4"])
    assert cfg.trainer.strategy.find_unused_parameters is True and cfg.trainer.devices == 4
    assert compose_job(expand(command)[1:], ws.root).trainer.strategy._target_.endswith("DDPStrategy")


@case("inpaint-train -m experiment=misf trainer=ddp trainer.devices=4 model.optimizer.lr=1e-4,2e-4")
def sweep_ddp(ws, command):
    """composed (needs 4 GPUs): Hydra splits it into two jobs, each DDP on 4 devices with its own rate."""
    argv = expand(command)
    assert argv[1] == "-m"
    jobs = sweep_jobs(argv[2:])
    lrs = [compose_job(job, ws.root).model.optimizer.lr for job in jobs]
    assert lrs == [1e-4, 2e-4]
    assert all(compose_job(job, ws.root).trainer.devices == 4 for job in jobs)


@case("inpaint-train -m launcher=device_pool hydra.launcher.devices=[0,1,2,3] "
      "experiment=misf_img_filter,misf_sem_filter_f1,misf_sem_filter_f2,misf_sem_filter_f3")
def sweep_device_pool(ws, command):
    """composed (needs 4 GPUs): four jobs, the device-pool launcher over devices 0-3, one each."""
    argv = expand(command)
    jobs = sweep_jobs(argv[2:])
    assert [job[-1] for job in jobs] == [f"experiment={e}" for e in ("misf_img_filter", "misf_sem_filter_f1",
                                                                    "misf_sem_filter_f2", "misf_sem_filter_f3")]
    for job in jobs:
        launcher = compose_job(job, ws.root).hydra.launcher
        assert launcher._target_.endswith("DevicePoolLauncher") and list(launcher.devices) == [0, 1, 2, 3]
        assert launcher.devices_per_job == 1


@case("inpaint-train -m launcher=slurm trainer=ddp trainer.devices=4 trainer.num_nodes=1 hydra.launcher.partition=gpu "
      "hydra.launcher.account=myproj hydra.launcher.timeout_min=2880 experiment=misf,misf_img_filter")
def sweep_slurm(ws, command):
    """composed (needs SLURM): two jobs, the submitit launcher resolved with one task per GPU."""
    jobs = sweep_jobs(expand(command)[2:])
    assert len(jobs) == 2
    for job in jobs:
        cfg = compose_job(job, ws.root)
        launcher = OmegaConf.to_container(cfg.hydra.launcher, resolve=True)
        assert launcher["_target_"].endswith("SlurmLauncher")
        assert (launcher["tasks_per_node"], launcher["gpus_per_node"], launcher["nodes"]) == (4, 4, 1)
        assert (launcher["partition"], launcher["account"], launcher["timeout_min"]) == ("gpu", "myproj", 2880)
        assert cfg.ckpt_path == "auto", "a requeued job resumes in place"


RESUMES = ("inpaint-train experiment=misf ckpt_path=last",
           "inpaint-train experiment=misf ckpt_path=outputs/misf_misf/runs/<stamp>",
           "inpaint-train experiment=misf ckpt_path=outputs/misf_misf/runs/<stamp>/checkpoints/last.ckpt")


@case(*RESUMES, slow=True)
def resume(ws, command):
    """ran on a tiny MISF run trained for 1 epoch here, resumed for one more epoch in its own folder."""
    first = ws.run(["inpaint-train", "experiment=misf", *TINY_MISF], "misf")
    epochs = 2 + RESUMES.index(command)  # each case resumes the same (memoised) run for one more epoch
    tiny = dict(a.split("=", 1) for a in TINY if "=" in a)  # not the deletions (~scale_model)
    steps = 2 * int(tiny["data.samples_per_epoch"]) // int(tiny["data.batch_size"])  # an epoch's G and D steps
    cwd = ws.folder(command)
    before = set(ws.root.glob("outputs/*/runs/*"))
    assert invoke([*expand(command, **({"<stamp>": first.name} if "<stamp>" in command else {})), *TINY_MISF, f"trainer.max_epochs={epochs}"], cwd) == 0
    assert new_folders("outputs/*/runs/*", ws.root, before) == [], "continued in the run's own folder"
    assert json.loads((first / "status.json").read_text())["global_step"] == steps * epochs


def case_params():
    for command, (check, slow) in CASES.items():
        yield pytest.param(command, marks=[pytest.mark.slow] if slow else [], id=command[:70])


def test_every_readme_command_has_a_case():
    shown = readme_commands(README.read_text())
    assert [c for c in shown if c not in CASES] == [], "README commands without a case in this file: add one"
    assert [c for c in CASES if c not in shown] == [], "cases of commands the README no longer shows"


@pytest.mark.parametrize("command", case_params())
def test_readme_command(ws, command):
    check, _ = CASES[command]
    check(ws, command)
