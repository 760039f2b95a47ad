"""PFUNet's learning-rate schedule is the official KPN trainer's, step by step, also inside Lightning."""
import functools

import pytest
import torch
from lightning.pytorch.callbacks import Callback

from inpainting.losses import L1SSIMLoss
from inpainting.models.filter_module import FilterInpaintingModule
from inpainting.models.schedules import LinearDecayFromEpoch, lightning_scheduler
from inpainting.nets import pfunet
from inpainting.nets.jpgnet import PFUNet
from tests.models.helpers import adam, images_and_masks, loader, trainer


def official_learning_rates(lr0: float, epochs: int, steps_per_epoch: int, decay_epoch: int = 20) -> list[float]:
    """The rate each optimizer step uses in kpn/trainer.py: after every step, adjust_learning_rate(epoch + 1)
    sets lr_g * (epochs - (epoch + 1)) / (epochs - decay_epoch) once epoch + 1 >= decay_epoch."""
    lr, used = lr0, []
    for epoch in range(epochs):
        for _ in range(steps_per_epoch):
            used.append(lr)
            if epoch + 1 >= decay_epoch:
                lr = lr0 * (epochs - (epoch + 1)) / (epochs - decay_epoch)
    return used


def _rates(scheduler: LinearDecayFromEpoch, optimizer: torch.optim.Optimizer, steps: int) -> list[float]:
    rates = []
    for _ in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


@pytest.mark.parametrize("epochs, steps_per_epoch", [(24, 3), (23, 1), (10, 2)])
def test_linear_decay_equals_the_official_loop_bitwise(epochs, steps_per_epoch):
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=2e-4, betas=(0.5, 0.999))
    scheduler = LinearDecayFromEpoch(optimizer, epochs=epochs, decay_start=20, steps_per_epoch=steps_per_epoch)
    expected = official_learning_rates(2e-4, epochs, steps_per_epoch)
    assert _rates(scheduler, optimizer, len(expected)) == expected  # exact floats
    if epochs > 20:  # it decays; a new value starts with the second batch of an epoch (the official call order)
        assert expected[-1] < 2e-4
        if steps_per_epoch > 1:
            assert expected[20 * steps_per_epoch] == 2e-4 > expected[20 * steps_per_epoch + 1]


class RecordRates(Callback):
    def __init__(self):
        self.rates = []

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        self.rates.append(trainer.optimizers[0].param_groups[0]["lr"])


def test_pfunet_module_steps_the_schedule_per_optimizer_step_with_the_trainers_epoch_length():
    torch.manual_seed(0)
    schedule = {"scheduler": functools.partial(LinearDecayFromEpoch, epochs=4, decay_start=2), "interval": "step"}
    module = FilterInpaintingModule(PFUNet(pfunet(width=0.125)), L1SSIMLoss(0.2),
                                    optimizer=adam(2e-4, (0.5, 0.999)), scheduler=schedule)
    image, mask = images_and_masks(2)
    record = RecordRates()
    trainer(max_epochs=4, callbacks=[record]).fit(module, loader(image, mask, batches=3))
    assert record.rates == official_learning_rates(2e-4, 4, 3, decay_epoch=2)


def test_scheduler_config_forms():
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    factory = functools.partial(torch.optim.lr_scheduler.StepLR, step_size=2)
    plain = lightning_scheduler(factory, optimizer, lambda: pytest.fail("StepLR needs no epoch length"))
    assert set(plain) == {"scheduler"} and isinstance(plain["scheduler"], torch.optim.lr_scheduler.StepLR)
    decay = lightning_scheduler({"scheduler": functools.partial(LinearDecayFromEpoch, epochs=30), "interval": "step"},
                                optimizer, lambda: 7)
    assert decay["interval"] == "step" and decay["scheduler"].steps_per_epoch == 7
    with pytest.raises(ValueError, match="factory"):
        lightning_scheduler({"interval": "step"}, optimizer, lambda: 1)


def test_pfunet_recipe_decays_from_epoch_20_and_uafnet_keeps_a_constant_rate(tmp_path):
    from tests.cli.helpers import compose_config
    cfg = compose_config("train", ["experiment=jpgnet_pfunet", "scale=full"], tmp_path)  # the recipe's own E
    assert (cfg.trainer.max_epochs, cfg.trainer.max_steps) == (3200, 450000)
    schedule = cfg.model.scheduler
    assert schedule.interval == "step" and schedule.scheduler._target_.endswith("LinearDecayFromEpoch")
    assert (schedule.scheduler.epochs, schedule.scheduler.decay_start) == (3200, 20)
    assert compose_config("train", ["experiment=jpgnet_uafnet"], tmp_path).model.scheduler is None


def test_a_step_limited_run_needs_the_epochs_of_its_decay():
    """trainer.max_epochs=-1 once left the rate constant without a word (E = -1): now an error."""
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=2e-4)
    with pytest.raises(ValueError, match="epochs must be the run's number of epochs"):
        LinearDecayFromEpoch(optimizer, epochs=-1, steps_per_epoch=56)


def test_pfunet_recipe_run_limited_by_steps_builds_its_schedule_from_the_loader(tmp_path):
    """The paper recipe's trainer limits (max_epochs = E and max_steps) with a tiny PFUNet: the schedule gets
    the loader's batches per epoch and the run stops at max_steps (max_epochs=-1 stopped it before step 1)."""
    from inpainting.cli.common import build_run
    from tests.cli.helpers import TINY, compose_config

    recipe = compose_config("train", ["experiment=jpgnet_pfunet", "scale=full"], tmp_path).trainer  # not demo's limits
    cfg = compose_config("train", ["experiment=jpgnet_pfunet", *TINY, "model.net.kpn.width=0.125", "logger=none",
                                   f"trainer.max_epochs={recipe.max_epochs}", "trainer.max_steps=3", "test=false"], tmp_path)
    run = build_run(cfg)
    run.trainer.fit(run.model, datamodule=run.datamodule)
    scheduler = run.trainer.lr_scheduler_configs[0].scheduler
    assert run.trainer.global_step == 3 and (scheduler.epochs, scheduler.steps_per_epoch) == (3200, 2)
