"""Inputs a network derives from ``(image, mask)`` on the CPU, computed into the batch before it reaches the device.

Canny edges (EdgeConnect, CTSDG), a classical method's result (JPGNet's Telea / Navier-Stokes DGNet) and RTV
structures (StructureFlow) have no GPU implementation that gives the authors' values: computed inside ``forward``
they copy every batch device -> host -> device, stalling the GPU and making DDP ranks wait on each other. As the
authors do (their data loaders compute the edges), the batch carries them instead:

* a network that needs such inputs has a ``derived`` attribute, a small picklable :class:`DerivedInputs`
  (``keys`` and ``__call__(image, mask) -> {key: tensor}``, CPU tensors of a collated batch);
* ``InpaintingDataModule`` computes them in its DataLoader workers (:class:`DerivedCollate`);
* ``InpaintingModule.on_before_batch_transfer`` fills whatever a batch still lacks (a DataLoader of one's own),
  still on the CPU, before the batch moves to the device;
* ``forward(image, mask, **derived)`` takes them; called without them (``inpaint-predict``, the API, a test)
  the network computes them itself, with the host round trip.
"""
from __future__ import annotations

from typing import Callable, Mapping, Protocol

import torch
from torch.utils.data import default_collate


class DerivedInputs(Protocol):
    keys: tuple[str, ...]

    def __call__(self, image: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{key: (B, ..., H, W) tensor}`` for a batch of images in [0, 1] and masks (1 = hole), on the CPU."""


def derived_of(net: torch.nn.Module) -> DerivedInputs | None:
    """The network's derived inputs, or None when it needs none."""
    return getattr(net, "derived", None)


def with_derived(batch: Mapping, derived: DerivedInputs | None) -> dict:
    """``batch`` with ``derived``'s entries added where missing (computed on the batch's device: the CPU)."""
    batch = dict(batch)
    if derived is not None and any(key not in batch for key in derived.keys):
        computed = derived(batch["image"], batch["mask"])
        batch.update({key: value for key, value in computed.items() if key not in batch})
    return batch


def net_inputs(batch: Mapping, derived: DerivedInputs | None) -> dict[str, torch.Tensor]:
    """The derived entries of a batch, as keyword arguments of the network's ``forward``."""
    return {} if derived is None else {key: batch[key] for key in derived.keys if key in batch}


class DerivedCollate:
    """``default_collate``, then the network's derived inputs: runs in the DataLoader workers."""

    def __init__(self, derived: DerivedInputs, collate: Callable = default_collate):
        self.derived, self.collate = derived, collate

    def __call__(self, samples: list) -> dict:
        return with_derived(self.collate(samples), self.derived)
