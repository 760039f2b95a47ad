"""JPGNet's UAFNet row trains and tests with batch 1, unshuffled, as the official fusion trainer: its
uncertainty map is min-max normalized over the whole batch, so the batch size changes UAFNet's input."""
import hydra
import torch

from inpainting.nets import SmartFusion
from tests.cli.helpers import compose_config


def test_uafnet_row_uses_batch_one_in_list_order(tmp_path):
    cfg = compose_config("train", ["experiment=jpgnet_uafnet", "data=demo", "data.image_size=64"], tmp_path)
    assert (cfg.data.batch_size, cfg.data.eval_batch_size, cfg.data.shuffle) == (1, 1, False)
    datamodule = hydra.utils.instantiate(cfg.data)
    keys = list(datamodule.train_dataloader().sampler)
    assert keys == [(0, i) for i in range(len(keys))]
    # the default data configs still shuffle
    shuffled = hydra.utils.instantiate(compose_config("train", ["data=demo"], tmp_path).data)
    assert [index for _, index in shuffled.train_dataloader().sampler] != list(range(len(keys)))


def test_per_image_normalization_switch_makes_uafnet_independent_of_the_batch():
    torch.manual_seed(0)
    res1, res2 = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16)
    kernels = torch.randn(2, 27, 16, 16) * torch.tensor([1.0, 5.0]).view(2, 1, 1, 1)
    for normalize, independent in (("batch", False), ("image", True)):
        fusion = SmartFusion(width=0.125, uncertainty_normalize=normalize).eval()
        together = fusion.build_inputs(res1, res2, kernels)[0]  # UAFNet's guide [res1, res2, K, U]
        alone = torch.cat([fusion.build_inputs(res1[i:i + 1], res2[i:i + 1], kernels[i:i + 1])[0] for i in range(2)])
        assert torch.allclose(together, alone, atol=1e-6) is independent, normalize
