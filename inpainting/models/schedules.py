"""Learning-rate schedules of the authors' recipes, and the Lightning ``lr_scheduler`` dict built from a config.

A model's ``scheduler`` config is either a factory (``_partial_: true``, called with ``optimizer=``)
or a mapping ``{scheduler: <factory>, interval: step|epoch, frequency: ..., monitor: ...}`` with
Lightning's own keys. A factory that takes ``steps_per_epoch`` and is not given it gets the number of
optimizer steps per training epoch from the trainer.
"""
from __future__ import annotations

import inspect
import math
from typing import Any, Callable, Mapping

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler


class LinearDecayFromEpoch(LRScheduler):
    """JPGNet's KPN trainer schedule (``kpn/trainer.py``, ``adjust_learning_rate``): ``lr0`` until epoch
    ``decay_start``, then ``lr0 * (E - e) / (E - decay_start)``, which reaches 0 at epoch ``E = epochs``.

    The official loop calls ``adjust_learning_rate(epoch + 1)`` after every optimizer step, so a new
    value takes effect from the second batch of an epoch: optimizer step ``s`` (0-based, ``N`` steps per
    epoch) uses the epoch number ``ceil(s / N)``. Step it after every optimizer step (Lightning
    ``interval: step``). With ``epochs <= decay_start`` the rate stays ``lr0`` (the official loop never
    reaches the decay). The rate is computed as the official ``lr0 * remain / target``.
    """

    def __init__(self, optimizer: Optimizer, epochs: int, decay_start: int = 20, steps_per_epoch: int = 1,
                 last_epoch: int = -1) -> None:
        if int(steps_per_epoch) < 1:
            raise ValueError(f"steps_per_epoch must be >= 1, got {steps_per_epoch}")
        if int(epochs) < 1:  # e.g. trainer.max_epochs=-1 (a step-limited run): the decay would silently never start
            raise ValueError(f"epochs must be the run's number of epochs (>= 1), got {epochs}; a step-limited run "
                             "(trainer.max_epochs=-1) must also set trainer.max_epochs, the E of the decay")
        self.epochs, self.decay_start, self.steps_per_epoch = int(epochs), int(decay_start), int(steps_per_epoch)
        super().__init__(optimizer, last_epoch)

    def official_epoch(self, step: int) -> int:
        """The 1-based epoch number the official loop has passed to ``adjust_learning_rate`` before ``step``."""
        return min(-(-step // self.steps_per_epoch), self.epochs)

    def get_lr(self) -> list[float]:
        epoch = self.official_epoch(self.last_epoch)
        if self.epochs <= self.decay_start or epoch < self.decay_start:
            return list(self.base_lrs)
        return [base * (self.epochs - epoch) / (self.epochs - self.decay_start) for base in self.base_lrs]


def lightning_scheduler(config: Callable[..., Any] | Mapping[str, Any], optimizer: Optimizer,
                        steps_per_epoch: Callable[[], int]) -> dict[str, Any]:
    """Lightning's ``lr_scheduler`` dict from a model's ``scheduler`` config (see the module docstring).

    ``steps_per_epoch`` is called only when the factory needs it.
    """
    options = dict(config) if isinstance(config, Mapping) else {"scheduler": config}
    factory = options.pop("scheduler", None)
    if not callable(factory):
        raise ValueError(f"model.scheduler needs a 'scheduler' factory (_partial_: true); got {factory!r}")
    kwargs: dict[str, Any] = {"optimizer": optimizer}
    if "steps_per_epoch" in inspect.signature(factory).parameters and "steps_per_epoch" not in getattr(factory, "keywords", {}):
        kwargs["steps_per_epoch"] = steps_per_epoch()
    return {"scheduler": factory(**kwargs), **options}


def optimizer_steps_per_epoch(trainer) -> int:
    """Optimizer steps in one training epoch (batches per epoch over gradient accumulation), as the trainer counts them."""
    trainer.estimated_stepping_batches  # sets up the train dataloader, which fills num_training_batches
    batches = trainer.num_training_batches
    if not math.isfinite(batches):
        raise ValueError("the schedule needs the number of batches per epoch; an infinite training loader has none")
    return max(1, math.ceil(batches / trainer.accumulate_grad_batches))
