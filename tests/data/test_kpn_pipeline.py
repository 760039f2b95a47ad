"""PFUNet's own training loader (JPGNet kpn/dataset.py, quirk J1), against the official steps written out here."""
import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from inpainting.data import FreeFormMaskGenerator, InpaintingDataModule, MaskFiles, image_folder
from inpainting.data.kpn_pipeline import KPNTrainDataset, soft_masked_input
from inpainting.data.transforms import Preprocess
from inpainting.losses import L1SSIMLoss
from inpainting.models.filter_module import FilterInpaintingModule
from inpainting.nets import pfunet
from inpainting.nets.jpgnet import PFUNet


def official_kpn_sample(image_path, mask_path):
    """DenoisingDataset.__getitem__ (rainaug, angle_aug off) step by step, with cv2 as the official code."""
    rainy = cv2.cvtColor(cv2.resize(cv2.imread(str(mask_path)), (256, 256)), cv2.COLOR_BGR2RGB)
    gt = cv2.cvtColor(cv2.imread(str(image_path)), cv2.COLOR_BGR2RGB)
    size, y, x = min(gt.shape[:2]) // 2, gt.shape[0] // 2, gt.shape[1] // 2
    gt = gt[y - size: y + size, x - size: x + size, :]
    mask = 1 - rainy / 255
    rainy = np.copy(gt)
    rainy[0:256, 0:256, :] = (mask * rainy)[0:256, 0:256, :]
    def as_tensor(a):
        return torch.from_numpy((a.astype(np.float32) / 255.0).transpose(2, 0, 1)).contiguous()

    return as_tensor(rainy), as_tensor(gt)


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "images").mkdir()
    Image.fromarray(rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)).save(tmp_path / "images/a.png")
    mask = np.zeros((512, 512, 3), np.uint8)  # soft, coloured strokes: nothing binarises them
    mask[100:300, 50:400] = (255, 128, 40)
    mask[350:380] = cv2.GaussianBlur(rng.integers(0, 256, (30, 512, 3), dtype=np.uint8), (9, 9), 3)
    (tmp_path / "masks").mkdir()
    Image.fromarray(mask).save(tmp_path / "masks/m.png")
    return tmp_path


def test_kpn_samples_are_bitwise_the_official_loaders(files):
    dataset = KPNTrainDataset(image_folder(files / "images"), MaskFiles(root=files / "masks"), Preprocess(256), length=2)
    sample = dataset[(3, 1)]
    masked, gt = official_kpn_sample(files / "images/a.png", files / "masks/m.png")
    assert torch.equal(sample["masked"], masked) and torch.equal(sample["image"], gt)
    # soft and per channel: partly kept pixels, not the binarised holes of the MISF loader
    region = (slice(None), slice(60, 140), slice(40, 180))  # inside the (255, 128, 40) stroke at 256 px
    kept = sample["masked"][region].sum(dim=(1, 2)) / sample["image"][region].sum(dim=(1, 2))
    assert kept[0] == 0 and kept[1] == pytest.approx(127 / 255, abs=0.01) and kept[2] == pytest.approx(215 / 255, abs=0.01)
    assert sample["mask"].shape == (1, 256, 256) and sample["mask"][0, 100, 100] == 1 and sample["mask"][0, 0, 0] == 0


def test_soft_masking_truncates_like_the_uint8_assignment():
    image = np.full((1, 1, 3), 200, np.uint8)
    mask = np.array([[[1, 128, 255]]], np.uint8)
    assert soft_masked_input(image, mask).tolist() == [[[199, 99, 0]]]  # 199.2, 99.6, 0 truncated


def test_pfunet_trains_on_the_pipelines_input_and_the_full_target(files):
    dm = InpaintingDataModule(image_folder(files / "images"), train_masks=MaskFiles(root=files / "masks"),
                              train_pipeline="kpn", image_size=64, batch_size=2, samples_per_epoch=2)
    batch = next(iter(dm.train_dataloader()))
    assert set(batch) == {"image", "masked", "mask"}
    torch.manual_seed(0)
    module = FilterInpaintingModule(PFUNet(pfunet(width=0.125)), L1SSIMLoss(0.2))
    seen = []
    module.net.kpn.register_forward_hook(lambda _m, inputs, _out: seen.append(inputs[0]))
    module.log = module.log_dict = lambda *a, **k: None
    loss = module.training_step(batch, 0)
    assert torch.equal(seen[0], batch["masked"])
    expected, _ = L1SSIMLoss(0.2)(module.net.kpn(batch["masked"])[0], batch["image"])
    assert torch.equal(loss, expected)


def test_procedural_masks_give_a_binary_multiplier_and_the_pipeline_name_is_checked(files):
    dataset = KPNTrainDataset(image_folder(files / "images"), FreeFormMaskGenerator(0.1, 0.5), Preprocess(64), length=1)
    sample = dataset[0]
    holes = sample["mask"].bool().expand(3, -1, -1)
    assert sample["masked"][holes].eq(0).all() and torch.equal(sample["masked"][~holes], sample["image"][~holes])
    with pytest.raises(ValueError, match="train_pipeline"):
        InpaintingDataModule(image_folder(files / "images"), train_pipeline="derain")


def test_jpgnet_pfunet_row_trains_on_the_kpn_pipeline(tmp_path):
    from tests.cli.helpers import compose_config
    assert compose_config("train", ["experiment=jpgnet_pfunet"], tmp_path).data.train_pipeline == "kpn"
    assert compose_config("train", ["experiment=misf_img_filter"], tmp_path).data.train_pipeline == "kpn"  # PFUNet
    assert compose_config("train", ["experiment=misf_en_decoder_filter"], tmp_path).data.get("train_pipeline", "misf") == "misf"
