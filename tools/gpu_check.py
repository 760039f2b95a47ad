"""``make gpu-check``: the one-call check of a GPU machine without internet (docs/gpu.md).

1. When this Python lacks the project's dependencies and ``.gpu-kit/wheels`` is there: install the kit with
   ``pip --no-index --target .gpu-kit/site`` (tools/gpu_kit.py install) and put it on ``PYTHONPATH``;
2. ``pytest -m cuda tests/cuda`` (skipped, with the reason, without a GPU);
3. ``benchmarks/bench_gpu.py`` (at a small CPU size without a GPU);
4. ``<out>/gpu-check.md`` and ``<out>/gpu-check.json``: the machine, the tests' outcome (failures and skip reasons
   named) and every benchmark figure.

Each step has a time limit, so that the whole check ends inside 6 minutes. Exit status: 1 when a CUDA test failed
or a step could not run, else 0.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import pathlib
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

ROOT = pathlib.Path(__file__).resolve().parents[1]
KIT = ROOT / ".gpu-kit"
PROJECT_IMPORTS = ("hydra", "omegaconf", "lpips", "albumentations", "torch_fidelity")
LIMITS = {"install": 90, "tests": 200, "bench": 150}  # seconds; with start-up, inside 6 minutes


def run(command: list[str], env: dict, limit: int) -> tuple[int, str, float]:
    start = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=limit)
        return done.returncode, done.stdout + done.stderr, time.perf_counter() - start
    except subprocess.TimeoutExpired as error:
        out = (error.stdout or b"").decode() if isinstance(error.stdout, bytes) else (error.stdout or "")
        return 124, out + f"\n(stopped after {limit} s)", time.perf_counter() - start


def environment(report: dict) -> dict:
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "WANDB_MODE": "offline", "HYDRA_FULL_ERROR": "1"}
    paths = [str(ROOT)]
    missing = [name for name in PROJECT_IMPORTS if importlib.util.find_spec(name) is None]
    if missing and (KIT / "wheels").is_dir():
        code, out, seconds = run([sys.executable, "tools/gpu_kit.py", "install"], env, LIMITS["install"])
        report["kit"] = {"installed": code == 0, "missing before": missing, "seconds": round(seconds, 1),
                         "output": out.strip()[-2000:]}
        paths.insert(0, str(KIT / "site"))
    else:
        report["kit"] = {"installed": False, "why": "this Python has the project's dependencies" if not missing
                         else f"missing {missing} and no {KIT / 'wheels'} (run `make gpu-kit` where there is an index)"}
    env["PYTHONPATH"] = os.pathsep.join([*paths, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def test_outcome(junit: pathlib.Path, code: int, output: str) -> dict:
    outcome = {"exit status": code, "passed": 0, "failed": [], "skipped": {}}
    if not junit.is_file():
        outcome["error"] = output.strip()[-3000:]
        return outcome
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        failure = case.find("failure") if case.find("failure") is not None else case.find("error")
        skipped = case.find("skipped")
        if failure is not None:
            outcome["failed"].append({"test": name, "message": (failure.get("message") or "")[:500]})
        elif skipped is not None:
            reason = skipped.get("message") or "skipped"
            outcome["skipped"][reason] = outcome["skipped"].get(reason, 0) + 1
        else:
            outcome["passed"] += 1
    return outcome


def markdown(report: dict) -> str:
    tests = report["cuda tests"]
    lines = [f"# GPU check: {report['device']}", "", f"torch {report['torch']}, Python {report['python']}, "
             f"{report['seconds']:.0f} s in all", "", "## CUDA tests (`pytest -m cuda`)", "",
             f"passed {tests['passed']}, failed {len(tests['failed'])}, skipped {sum(tests['skipped'].values())}"]
    lines += [f"- FAILED {f['test']}: {f['message']}" for f in tests["failed"]]
    lines += [f"- skipped {n}: {reason}" for reason, n in tests["skipped"].items()]
    if "error" in tests:
        lines += ["", "```", tests["error"], "```"]
    lines += ["", "## Benchmarks (`benchmarks/bench_gpu.py`)", ""]
    bench = report.get("bench_gpu") or {}
    for section, values in bench.items():
        if isinstance(values, dict):
            lines += [f"### {section}", "", "| figure | value |", "|---|---|"]
            lines += [f"| {k} | {v:.4g} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in values.items()]
            lines.append("")
    if report.get("bench error"):
        lines += ["```", report["bench error"], "```"]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / "gpu-check")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    import torch

    report = {"python": sys.version.split()[0], "torch": torch.__version__,
              "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA GPU (CPU only)"}
    print(f"gpu-check: {report['device']}", flush=True)
    env = environment(report)
    junit = args.out / "cuda-tests.xml"
    code, output, _ = run([sys.executable, "-m", "pytest", "-m", "cuda", "tests/cuda", "-q", "-rs", "-p", "no:cacheprovider",
                           f"--junitxml={junit}"], env, LIMITS["tests"])
    print(output.strip().splitlines()[-1] if output.strip() else "(no pytest output)", flush=True)
    report["cuda tests"] = test_outcome(junit, code, output)
    bench_json = args.out / "bench_gpu.json"
    code, output, _ = run([sys.executable, "benchmarks/bench_gpu.py", "--json", str(bench_json)], env, LIMITS["bench"])
    report["bench_gpu"] = json.loads(bench_json.read_text()) if bench_json.is_file() else None
    if code != 0:
        report["bench error"] = output.strip()[-3000:]
    report["seconds"] = time.perf_counter() - start
    (args.out / "gpu-check.json").write_text(json.dumps(report, indent=2, default=str))
    (args.out / "gpu-check.md").write_text(markdown(report))
    print(markdown(report))
    tests = report["cuda tests"]
    failed = bool(tests["failed"]) or "error" in tests or code != 0
    print(f"report: {args.out / 'gpu-check.md'} and gpu-check.json ({report['seconds']:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
