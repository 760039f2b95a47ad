"""A guard that makes every host copy inside a training step an error, so a CPU test proves the step would not
synchronise a GPU with the host (``.cpu()``, ``.numpy()``, ``.item()``, ``.tolist()``, NumPy conversion, ``float()`` /
``int()`` / ``bool()`` of a tensor: each waits for the device on CUDA).

Named exceptions, by the file that makes the call:
- ``torch/optim/``: the optimizers read their step counter, a CPU tensor unless ``capturable``/``fused``
  (``_get_value``): no device copy;
- ``torch/amp/grad_scaler.py``: ``16-mixed``'s GradScaler reads whether a gradient overflowed (one sync per step,
  inherent to loss scaling; ``bf16-mixed`` has none);
- ``lightning/``: the trainer's own bookkeeping around the step (logging reduces on the device; the progress bar
  reads the logged values after the step);
- ``check_finite`` (``inpainting/eval/metrics.py``): the one deliberate sync of ours, a single boolean per step that
  stops the run at the step whose loss or batch is NaN/inf, before the optimizer uses it (docs/bad-inputs.md).
"""
from __future__ import annotations

import contextlib
import sys

import torch

HOST_COPIES = ("cpu", "numpy", "item", "tolist", "__array__", "__float__", "__int__", "__bool__")
ALLOWED_CALLERS = ("torch/optim/", "torch/amp/grad_scaler.py", "lightning/", "lightning_fabric/", "torchmetrics/")
ALLOWED_FUNCTIONS = ("check_finite",)  # by name: ours, the non-finite guard


class HostCopyError(AssertionError):
    pass


def _restore(originals: dict) -> None:
    for name, original in originals.items():
        setattr(torch.Tensor, name, original)


def _guarded(name: str, originals: dict):
    def guarded(self, *args, **kwargs):
        frame = sys._getframe(1)
        caller = frame.f_code.co_filename.replace("\\", "/")
        allowed = any(part in caller for part in ALLOWED_CALLERS) or frame.f_code.co_name in ALLOWED_FUNCTIONS
        if not allowed:
            _restore(originals)  # the first copy is the finding; the trainer's clean-up after it may copy freely
            raise HostCopyError(f"host copy in a training step: Tensor.{name} called from {caller}:{frame.f_lineno}")
        return originals[name](self, *args, **kwargs)

    return guarded


@contextlib.contextmanager
def no_host_copies():
    """Within the block, a host copy of any tensor from outside ``ALLOWED_CALLERS`` raises :class:`HostCopyError`
    (and ends the guard)."""
    originals = {name: getattr(torch.Tensor, name) for name in HOST_COPIES}
    try:
        for name in HOST_COPIES:
            setattr(torch.Tensor, name, _guarded(name, originals))
        yield
    finally:
        _restore(originals)


def guard_training_steps(monkeypatch) -> list:
    """Make ``InpaintingModule`` training batches run under :func:`no_host_copies` (from the batch's start to its
    end: forward, backward, optimizer steps); returns the list of guarded batch indices. ``monkeypatch`` restores
    the tensor methods at the test's end even when a step fails inside the guard."""
    from inpainting.models.base import InpaintingModule

    for name in HOST_COPIES:  # recorded, so that monkeypatch's undo puts the originals back
        monkeypatch.setattr(torch.Tensor, name, getattr(torch.Tensor, name))
    guarded, state = [], {}

    def start(module, batch, batch_idx):
        state["guard"] = no_host_copies()
        state["guard"].__enter__()
        guarded.append(batch_idx)

    def end(module, outputs, batch, batch_idx):
        state.pop("guard").__exit__(None, None, None)

    monkeypatch.setattr(InpaintingModule, "on_train_batch_start", start, raising=False)
    monkeypatch.setattr(InpaintingModule, "on_train_batch_end", end, raising=False)
    return guarded
