"""The wheel kit for GPU machines without a package index (``make gpu-kit``, ``make gpu-check``; docs/gpu.md).

The GPU machines this project is measured on run Python 3.12 with torch, lightning, torchmetrics, OpenCV and
scikit-image already installed, and reach no package index. On a machine that does:

    python tools/gpu_kit.py download   # resolve, then download the rest as cp312 manylinux x86_64 wheels
    python tools/gpu_kit.py check      # the kit's wheels + the image's packages resolve the project, no index

and on the GPU machine, with ``.gpu-kit/`` beside the tree:

    python tools/gpu_kit.py install    # pip install --no-index --target .gpu-kit/site (prints the PYTHONPATH)

``download`` resolves the project's dependencies (and pytest) once for the target platform with pip's resolver
(``--dry-run --report``), drops the packages the GPU image provides together with everything only they need
(torch's CUDA libraries, ...), and downloads the rest without dependencies: ``.gpu-kit/wheels/`` and their pins in
``.gpu-kit/kit-requirements.txt``. ``image-packages.txt`` records the versions the resolver assumed for the image's
packages; ``check`` builds metadata-only stand-ins of those (no files, no dependencies) and asks pip to resolve
the project's requirements from the kit and the stand-ins alone.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import re
import subprocess
import sys
import tempfile
import zipfile

import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[1]
KIT = ROOT / ".gpu-kit"
PYTHON_VERSION = "3.12"
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64", "linux_x86_64")
# what the GPU image has installed (distribution names); torchvision is not among them and comes with the kit,
# pinned to the torch release the kit is built for (``--torch``)
IMAGE_PACKAGES = ("torch", "lightning", "torchmetrics", "opencv-python-headless", "opencv-python", "scikit-image")
TORCHVISION_FOR_TORCH = {"2.4": "0.19", "2.5": "0.20", "2.6": "0.21", "2.7": "0.22", "2.8": "0.23", "2.9": "0.24",
                         "2.10": "0.25", "2.11": "0.26", "2.12": "0.27", "2.13": "0.28"}
TEST_TOOLS = ("pytest>=8,<10", "pytest-timeout>=2.2,<3")
# pure-Python dependencies published as source only (hydra-core's ANTLR runtime): built into wheels here
SOURCE_ONLY = ("antlr4-python3-runtime==4.9.3",)


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def platform_flags() -> list[str]:
    flags = ["--python-version", PYTHON_VERSION, "--implementation", "cp", "--only-binary=:all:"]
    for platform in PLATFORMS:
        flags += ["--platform", platform]
    return flags


def project_requirements(torch_version: str) -> list[str]:
    """The project's run-time dependencies and its test tools; torch and torchvision pinned to ``torch_version``."""
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    minor = ".".join(torch_version.split(".")[:2])
    if minor not in TORCHVISION_FOR_TORCH:
        raise SystemExit(f"--torch {torch_version}: no torchvision pairing known (known: {sorted(TORCHVISION_FOR_TORCH)})")
    pinned = {"torch": f"torch=={torch_version}", "torchvision": f"torchvision=={TORCHVISION_FOR_TORCH[minor]}.*"}
    out = [pinned.get(canonical(re.split(r"[<>=!~ \[;]", d, maxsplit=1)[0]), d) for d in deps]
    return [*out, *TEST_TOOLS]


def pip(*args: str, capture: bool = False) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "pip", *args]
    result = subprocess.run(command, text=True, capture_output=capture)
    if result.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{result.stderr if capture else ''}")
    return result


def _requires(item: dict) -> list[str]:
    """Names an installed item needs, with environment markers evaluated for Linux x86_64 CPython 3.12."""
    from packaging.markers import default_environment
    from packaging.requirements import Requirement

    env = {**default_environment(), "python_version": PYTHON_VERSION, "python_full_version": f"{PYTHON_VERSION}.0",
           "sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64",
           "implementation_name": "cpython", "platform_python_implementation": "CPython", "extra": ""}
    names = []
    for text in item["metadata"].get("requires_dist", []):
        requirement = Requirement(text)
        if requirement.marker is None or requirement.marker.evaluate(env):
            names.append(canonical(requirement.name))
    return names


def split_resolution(report: dict) -> tuple[dict[str, str], dict[str, str]]:
    """(kit pins, image pins): the image's packages and everything they need are the image's; the rest is the kit."""
    items = {canonical(i["metadata"]["name"]): i for i in report["install"]}
    image, stack = set(), [n for n in items if n in IMAGE_PACKAGES]
    while stack:
        name = stack.pop()
        if name not in image:
            image.add(name)
            stack.extend(n for n in _requires(items[name]) if n in items)
    versions = {name: item["metadata"]["version"] for name, item in items.items()}
    return ({n: v for n, v in sorted(versions.items()) if n not in image},
            {n: v for n, v in sorted(versions.items()) if n in image})


def _stand_in(folder: pathlib.Path, name: str, version: str, requires: list[str] = ()) -> None:
    """A metadata-only wheel: to pip, the image's package at ``version`` (with its dependencies), and no files."""
    dist = f"{name.replace('-', '_')}-{version}"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + "".join(f"Requires-Dist: {r}\n" for r in requires)
    with zipfile.ZipFile(folder / f"{dist}-py3-none-any.whl", "w") as wheel:
        wheel.writestr(f"{dist}.dist-info/METADATA", metadata)
        wheel.writestr(f"{dist}.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: gpu_kit\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        wheel.writestr(f"{dist}.dist-info/RECORD", "")


def image_stand_ins(folder: pathlib.Path, torch_version: str) -> list[str]:
    """Stand-ins of the image's packages at the versions installed here (torch at ``torch_version``), with their
    dependencies but not torch's CUDA libraries; a ``+image`` local label makes pip prefer them to the index's.
    Returns their pins."""
    from importlib import metadata

    pins = []
    for name in IMAGE_PACKAGES:
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        version = (torch_version if name == "torch" else dist.version).split("+")[0]
        requires = [r for r in dist.requires or [] if not re.match(r"(nvidia|triton|cuda)", r, re.I)]
        _stand_in(folder, name, f"{version}+image", requires)
        pins.append(f"{name}=={version}")
    return pins


def download(torch_version: str) -> None:
    (KIT / "wheels").mkdir(parents=True, exist_ok=True)
    requirements = project_requirements(torch_version)
    (KIT / "requirements.in").write_text("\n".join(requirements) + "\n")
    report_file = KIT / "resolution.json"
    pip("wheel", "--quiet", "--no-deps", "-w", str(KIT / "wheels"), *SOURCE_ONLY)
    with tempfile.TemporaryDirectory() as tmp:
        stand_ins = pathlib.Path(tmp) / "image"
        stand_ins.mkdir()
        (pathlib.Path(tmp) / "image.txt").write_text("\n".join(image_stand_ins(stand_ins, torch_version)) + "\n")
        pip("install", "--dry-run", "--ignore-installed", "--quiet", "--report", str(report_file),
            "--target", str(pathlib.Path(tmp) / "target"), "--find-links", str(stand_ins),
            "--find-links", str(KIT / "wheels"), *platform_flags(),
            "-r", str(KIT / "requirements.in"), "-c", str(pathlib.Path(tmp) / "image.txt"))
    kit, image = split_resolution(json.loads(report_file.read_text()))
    (KIT / "kit-requirements.txt").write_text("".join(f"{n}=={v}\n" for n, v in kit.items()))
    (KIT / "image-packages.txt").write_text("".join(f"{n}=={v.split('+')[0]}\n" for n, v in image.items()))
    pip("download", "--no-deps", "--quiet", "-d", str(KIT / "wheels"), "--find-links", str(KIT / "wheels"),
        *platform_flags(), "-r", str(KIT / "kit-requirements.txt"))
    wheels = sorted((KIT / "wheels").glob("*.whl"))
    size = sum(w.stat().st_size for w in wheels) / 2**20
    print(f"{len(kit)} packages for the kit ({len(wheels)} wheels, {size:.0f} MiB) in {KIT / 'wheels'}; "
          f"{len(image)} assumed in the GPU image ({KIT / 'image-packages.txt'})")


def check() -> None:
    for name in ("requirements.in", "kit-requirements.txt", "image-packages.txt"):
        if not (KIT / name).is_file():
            raise SystemExit(f"{KIT / name} missing: run `make gpu-kit` first")
    with tempfile.TemporaryDirectory() as tmp:
        stand_ins = pathlib.Path(tmp) / "image"
        stand_ins.mkdir()
        for line in (KIT / "image-packages.txt").read_text().split():
            _stand_in(stand_ins, *line.split("=="))
        result = pip("install", "--dry-run", "--no-index", "--find-links", str(KIT / "wheels"), "--find-links",
                     str(stand_ins), "--target", str(pathlib.Path(tmp) / "target"), *platform_flags(),
                     "-r", str(KIT / "requirements.in"), capture=True)
    print(result.stdout.strip().splitlines()[-1])
    print(f"ok: the project's requirements resolve for CPython {PYTHON_VERSION} manylinux x86_64 from {KIT / 'wheels'} "
          "and the GPU image's packages (image-packages.txt), without an index")


def install() -> None:
    """On the GPU machine: the kit's wheels into .gpu-kit/site (not the image's packages; torchvision only when
    the image lacks one). Prints the folder to put on PYTHONPATH."""
    import importlib.util

    pins = (KIT / "kit-requirements.txt").read_text().split()
    if importlib.util.find_spec("torchvision") is not None:
        pins = [p for p in pins if not p.startswith("torchvision==")]
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(pins) + "\n")
    pip("install", "--quiet", "--no-index", "--no-deps", "--upgrade", "--find-links", str(KIT / "wheels"),
        "--target", str(KIT / "site"), "-r", f.name)
    print(KIT / "site")


MISF_REPO = "https://github.com/tsingqguo/misf"
MISF_PARTS = ("src", "kpn", "checkpoints/config.yml")  # the authors' code bench_gpu.py times, without weights


def fetch_misf() -> None:
    """The authors' MISF code into .gpu-kit/misf (bench_gpu.py times their generator beside ours)."""
    target = KIT / "misf"
    if (target / "src" / "networks.py").is_file():
        print(f"authors' MISF code: {target} (present)")
        return
    clone = subprocess.run(["git", "clone", "--quiet", "--depth", "1", MISF_REPO, str(target)], capture_output=True,
                           text=True, timeout=120)
    if clone.returncode == 0:
        print(f"authors' MISF code: cloned {MISF_REPO} into {target}")
        return
    print(f"authors' MISF code not fetched ({clone.stderr.strip().splitlines()[-1] if clone.stderr else 'git failed'}); "
          f"bench_gpu.py will say 'not measured'. Put a checkout there yourself: `git clone {MISF_REPO} {target}`, or "
          f"from a bare mirror: `mkdir -p {target} && git --git-dir <mirror> archive HEAD {' '.join(MISF_PARTS)} | "
          f"tar -x -C {target}`")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("download", "check", "install", "fetch-misf"))
    parser.add_argument("--torch", default="2.13.0", help="the GPU image's torch release (torchvision is paired with it)")
    args = parser.parse_args(argv)
    {"download": lambda: download(args.torch), "check": check, "install": install,
     "fetch-misf": fetch_misf}[args.command]()


if __name__ == "__main__":
    main()
