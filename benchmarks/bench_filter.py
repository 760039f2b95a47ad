"""Benchmark the two predictive-filtering implementations (``shift`` = fast path, ``unfold`` = reference).

Every (case, implementation, mode) runs in a fresh subprocess so that one measurement cannot inherit
another's heap. Modes: ``fwd`` is an inference forward (``torch.no_grad``); ``fwd+bwd`` is a training
step: forward with both inputs requiring grad, then ``torch.autograd.grad`` w.r.t. image and kernels.

Memory is the rise over what was live just before the call (the inputs and the upstream gradient
are allocated beforehand, so they are not counted):
- ``alloc``: peak bytes held through PyTorch's allocator during the call (CPU: profiler memory
  events; CUDA: ``torch.cuda.max_memory_allocated``). Exact for tensors, blind to non-tensor memory.
- ``rss``: CPU only; peak resident-set growth (VmHWM reset through ``/proc/self/clear_refs``, minus
  VmRSS before the call), in a separate process where glibc returns every block >= 128 KiB to the
  OS on free, so freed buffers cannot hide in the heap.
``extra`` = peak rise minus the bytes the op must return (``fwd``: the output; ``fwd+bwd``: output,
image gradient and kernel gradient): the working memory the implementation adds.

``--threads 1,2`` times each row at every listed thread count and prints their ratios side by side;
``--busy-core`` keeps one core busy (``yes > /dev/null``) for the run's length, as on a machine shared with
other jobs (each pass over the taps ends in an OpenMP barrier that waits for a descheduled worker; see
``ELEMENTS_PER_THREAD`` in ``inpainting/ops/filtering.py``).

Usage: ``python benchmarks/bench_filter.py [--device cpu|cuda] [--threads 1,2] [--busy-core] [--case "C=3 256x256"]
[--repeats 10]``
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import torch

from inpainting.ops import predictive_filter

CASES = {  # name -> (batch, channels, height = width)
    "C=3 256x256": (4, 3, 256),
    "C=256 64x64": (4, 256, 64),
}
IMPLS = ("shift", "unfold")
MODES = ("fwd", "fwd+bwd")
KERNEL_SIZE, DILATION = 3, 1
TARGET_SPEEDUP, TARGET_MEMORY_REDUCTION = 2.0, 3.0  # fast path vs reference, from the issue
MIB = 2**20
# Fixed threshold: glibc then mmaps every block >= 128 KiB and unmaps it on free (no heap caching).
RSS_ENV = {"MALLOC_MMAP_THRESHOLD_": "131072", "MALLOC_TRIM_THRESHOLD_": "131072"}


# ----------------------------------------------------------------------------------------- worker side


def make_step(case: str, impl: str, mode: str, device: str):
    """Allocate the inputs of one case and return (step function, bytes the op must return)."""
    batch, channels, size = CASES[case]
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch, channels, size, size, generator=gen).to(device)
    kernels = torch.randn(batch, channels * KERNEL_SIZE**2, size, size, generator=gen).to(device)
    if mode == "fwd":
        def step():
            with torch.no_grad():
                return predictive_filter(x, kernels, KERNEL_SIZE, DILATION, impl=impl)
        return step, x.nbytes
    x.requires_grad_()
    kernels.requires_grad_()
    grad_out = torch.randn(x.shape, generator=gen).to(device)

    def step():
        y = predictive_filter(x, kernels, KERNEL_SIZE, DILATION, impl=impl)
        return (y, *torch.autograd.grad(y, (x, kernels), grad_out))
    return step, 2 * x.nbytes + kernels.nbytes


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_step(step, device: str, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        step()
        sync(device)
        times.append(time.perf_counter() - start)
    return times


def alloc_peak_cpu(step) -> int:
    """Peak rise of bytes allocated by PyTorch's CPU allocator during one call (profiler events)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        result = step()
    del result
    with tempfile.TemporaryDirectory() as tmp:
        trace_path = os.path.join(tmp, "trace.json")
        prof.export_chrome_trace(trace_path)
        with open(trace_path) as f:
            events = json.load(f)["traceEvents"]
    deltas = sorted((e["ts"], e["args"]["Bytes"]) for e in events
                    if e.get("name") == "[memory]" and e["args"].get("Device Type") == 0)
    live = peak = 0
    for _, nbytes in deltas:
        live += nbytes
        peak = max(peak, live)
    return peak


def alloc_peak_cuda(step) -> int:
    torch.cuda.synchronize()
    before = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    result = step()
    torch.cuda.synchronize()
    del result
    return torch.cuda.max_memory_allocated() - before


def _proc_status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} missing from /proc/self/status")


def rss_peak(step) -> int:
    """Peak RSS growth over one call: VmHWM (reset to current RSS) minus VmRSS before the call."""
    before = _proc_status_kib("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM to the current RSS
    result = step()
    peak = _proc_status_kib("VmHWM")
    del result
    return (peak - before) * 1024


def run_worker(args) -> dict:
    torch.set_num_threads(args.threads)
    step, required = make_step(args.case, args.impl, args.mode, args.device)
    for _ in range(2):  # warm-up: lazy initialisation, thread pool, first-touch of library code
        step()
    if args.worker == "rss":
        return {"rss": rss_peak(step), "required": required}
    times = time_step(step, args.device, args.repeats)
    alloc = alloc_peak_cuda(step) if args.device.startswith("cuda") else alloc_peak_cpu(step)
    return {"times": times, "alloc": alloc, "required": required}


# ----------------------------------------------------------------------------------------- driver side


def spawn(args, kind: str, case: str, impl: str, mode: str, threads: int) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", kind, "--case", case, "--impl", impl,
           "--mode", mode, "--device", args.device, "--threads", str(threads), "--repeats", str(args.repeats)]
    env = dict(os.environ, **(RSS_ENV if kind == "rss" else {}))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"worker {kind} {case} {impl} {mode} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def rss_available() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def describe_machine(args) -> str:
    if args.device.startswith("cuda"):
        where = f"GPU {torch.cuda.get_device_name(args.device)}"
    else:
        where = (f"CPU {cpu_model()}, {len(os.sched_getaffinity(0))} usable cores, torch threads {args.threads}"
                 + (", one core kept busy (yes > /dev/null)" if args.busy_core else ""))
    return f"{where} | torch {torch.__version__} | Python {platform.python_version()} | {load_average()}"


def load_average() -> str:
    """Timings are only comparable on an otherwise idle machine; print the load so readers can tell."""
    return "load average (1 min) %.2f" % os.getloadavg()[0]


def mib(nbytes: float) -> str:
    return f"{nbytes / MIB:8.1f}"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:i]")
    parser.add_argument("--threads", default="2", help="torch CPU threads per measurement; a list (1,2) times each")
    parser.add_argument("--busy-core", action="store_true", help="keep one core busy with `yes` during the run")
    parser.add_argument("--repeats", type=int, default=10, help="timed calls per measurement (median and min reported)")
    parser.add_argument("--worker", choices=("time", "rss"), help=argparse.SUPPRESS)
    parser.add_argument("--case", choices=tuple(CASES), help="one case only (default: all)")
    parser.add_argument("--impl", choices=IMPLS, help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        args.threads = int(args.threads)
        print(json.dumps(run_worker(args)))
        return
    busy = subprocess.Popen(["yes"], stdout=subprocess.DEVNULL) if args.busy_core else None
    try:
        drive(args)
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()


def drive(args) -> None:
    thread_counts = [int(t) for t in str(args.threads).split(",")]
    cases = {args.case: CASES[args.case]} if args.case else CASES
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit(f"--device {args.device} requested but CUDA is not available")
    with_rss = not args.device.startswith("cuda") and rss_available()

    print(describe_machine(args))
    print(f"K={KERNEL_SIZE}, dilation={DILATION}, float32; time = median of {args.repeats} calls after 2 warm-up calls; "
          "each row measured in fresh subprocesses")
    print("memory (MiB) = peak rise over the bytes live before the call (inputs and upstream gradient excluded);")
    print("  alloc = PyTorch allocator bytes" + (", rss = resident-set growth" if with_rss else "")
          + "; required = what the op must return (fwd: output; fwd+bwd: output + grad image + grad kernels);")
    print("  extra = peak rise - required = working memory added by the implementation")
    if not with_rss and not args.device.startswith("cuda"):
        print("  (rss column skipped: /proc/self/clear_refs is not writable here)")

    timing = "".join(f" {f'{t}T median':>10} {f'{t}T min':>8}" for t in thread_counts)
    header = f"{'case':<13} {'mode':<8} {'impl':<7}{timing} {'required':>9} {'alloc':>8} {'extra':>8}" \
             + (f" {'rss':>8} {'extra':>8}" if with_rss else "")
    results = {}
    for case, (batch, channels, size) in cases.items():
        x_bytes = batch * channels * size * size * 4
        print(f"\n{case}: B={batch}; image {x_bytes / MIB:.1f} MiB, kernels {KERNEL_SIZE**2 * x_bytes / MIB:.1f} MiB")
        print(header)
        for mode in MODES:
            for impl in IMPLS:
                r = {"times": {}}
                for threads in thread_counts:
                    timed = spawn(args, "time", case, impl, mode, threads)
                    r["times"][threads] = timed.pop("times")
                    r.update(timed)
                if with_rss:
                    r.update(spawn(args, "rss", case, impl, mode, thread_counts[0]))
                results[case, mode, impl] = r
                row = f"{case:<13} {mode:<8} {impl:<7}"
                for threads in thread_counts:
                    row += f" {1e3 * statistics.median(r['times'][threads]):10.2f} {1e3 * min(r['times'][threads]):8.2f}"
                row += f" {mib(r['required']):>9} {mib(r['alloc'])} {mib(r['alloc'] - r['required'])}"
                if with_rss:
                    row += f" {mib(r['rss'])} {mib(r['rss'] - r['required'])}"
                print(row, flush=True)

    print("\nshift (fast) vs unfold (reference), reference time / fast time (> 1: the fast op is faster):")
    for case in cases:
        for mode in MODES:
            fast, ref = results[case, mode, "shift"], results[case, mode, "unfold"]
            line = f"  {case:<13} {mode:<8}"
            for threads in thread_counts:
                for stat in (statistics.median, min):  # min: robust to other processes sharing the cores
                    t_fast, t_ref = stat(fast["times"][threads]), stat(ref["times"][threads])
                    line += f" | {threads}T {stat.__name__} {t_ref / t_fast:5.2f}x"
            for key in ("alloc", "rss") if with_rss else ("alloc",):
                e_fast, e_ref = fast[key] - fast["required"], ref[key] - ref["required"]
                line += f" | extra {key} {e_ref / max(e_fast, 1):4.1f}x less"
            print(line)
    print(f"after the run: {load_average()}")
    print(f"targets: fwd+bwd speed-up >= {TARGET_SPEEDUP}x, extra memory at C=256 >= {TARGET_MEMORY_REDUCTION}x less")


if __name__ == "__main__":
    main()
