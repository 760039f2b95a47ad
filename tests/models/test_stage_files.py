"""Stage files (``model.stage_weights``) of a single-network module: read once, when fitting or testing starts
without a checkpoint; never by a constructor, a resume, a test of a checkpoint or a warm start (``init_from``)."""
import pathlib

import pytest
import torch

from inpainting.nets import MISFGenerator
from tests.models.helpers import adam, images_and_masks, loader, misf_module, trainer


def _generator_file(path: pathlib.Path) -> dict[str, torch.Tensor]:
    """A MISF generator file in the authors' format ({'iteration', 'generator'}), other weights than the module's."""
    torch.manual_seed(7)
    state = MISFGenerator(variant="img_filter", width=0.25, residual_blocks=1).state_dict()
    torch.save({"iteration": 3, "generator": state}, path)
    return state


def _frozen_misf(**kwargs):
    """lr 0: the generator keeps what it was given, so the test sees which file it came from."""
    return misf_module(lr=0.0, d_optimizer=adam(0.0), **kwargs)


def _equal(module, state) -> bool:
    return all(torch.equal(v, state[k]) for k, v in module.net.generator.state_dict().items())


def test_files_are_read_when_fitting_starts_and_never_again(tmp_path):
    path = tmp_path / "stage" / "InpaintingModel_gen.pth"
    path.parent.mkdir()
    state = _generator_file(path)
    module = _frozen_misf(stage_weights={"weights": str(path)})
    assert not _equal(module, state), "the constructor read the file"
    image, mask = images_and_masks()
    fit = trainer(default_root_dir=tmp_path)
    fit.fit(module, train_dataloaders=loader(image, mask, batches=1))
    assert _equal(module, state)
    ckpt = tmp_path / "misf.ckpt"
    fit.save_checkpoint(ckpt)
    path.unlink()  # the stage file is gone: resuming, testing and rebuilding the run need only its checkpoint

    resumed = _frozen_misf(stage_weights={"weights": str(path)})
    trainer(max_epochs=2).fit(resumed, train_dataloaders=loader(image, mask, batches=1), ckpt_path=str(ckpt))
    assert resumed.iteration == 2 and _equal(resumed, state)
    tested = _frozen_misf(stage_weights={"weights": str(path)})
    trainer().test(tested, dataloaders=loader(image, mask, batches=1), ckpt_path=str(ckpt))
    assert _equal(tested, state)
    warm = _frozen_misf(stage_weights={"weights": str(path)})
    warm.load_weights(str(ckpt))  # init_from: the whole model's weights replace the stage files
    trainer().fit(warm, train_dataloaders=loader(image, mask, batches=1))
    assert _equal(warm, state)

    with pytest.raises(FileNotFoundError, match="InpaintingModel_gen.pth"):  # from scratch the file is needed
        trainer().fit(_frozen_misf(stage_weights={"weights": str(path)}), train_dataloaders=loader(image, mask, batches=1))


def test_a_test_without_checkpoint_reads_the_files(tmp_path):
    state = _generator_file(tmp_path / "g.pth")
    module = _frozen_misf(stage_weights={"weights": str(tmp_path / "g.pth")})
    image, mask = images_and_masks()
    trainer().test(module, dataloaders=loader(image, mask, batches=1))
    assert _equal(module, state)


def test_no_file_keeps_the_initialisation_and_a_wrong_keyword_names_the_key(tmp_path):
    image, mask = images_and_masks()
    module = _frozen_misf(stage_weights={"weights": None})
    before = {k: v.clone() for k, v in module.net.generator.state_dict().items()}
    trainer().fit(module, train_dataloaders=loader(image, mask, batches=1))
    assert _equal(module, before)
    wrong = _frozen_misf(stage_weights={"edge_weights": str(tmp_path / "g.pth")})
    with pytest.raises(ValueError, match=r"model\.stage_weights\.edge_weights is not a file of this MISFInpainter"):
        trainer().fit(wrong, train_dataloaders=loader(image, mask, batches=1))
