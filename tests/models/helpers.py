"""Tiny modules and a quiet CPU trainer for the training-stage tests."""
from __future__ import annotations

import functools

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset

from inpainting.losses import AdversarialLoss, InpaintingGeneratorLoss, L1SSIMLoss
from inpainting.models.gan_module import EdgeGANModule, GANInpaintingModule
from inpainting.models.jpgnet import JPGNetModule
from inpainting.nets import (
    EdgeConnect,
    EdgeGenerator,
    InpaintGenerator,
    MISFGenerator,
    PatchDiscriminator,
    SmartFusion,
    pfunet,
)
from inpainting.nets.jpgnet import JPGNet, PFUNet
from inpainting.nets.misf import MISFInpainter

SIZE = 32
NO_VGG = {"l1": 1.0, "adversarial": 0.1, "perceptual": 0.0, "style": 0.0}


def adam(lr: float, betas=(0.0, 0.9)):
    return functools.partial(torch.optim.Adam, lr=lr, betas=betas)


def images_and_masks(count: int = 2, seed: int = 0, holes: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Smooth random images in [0,1] and a centred square hole (or none)."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(count, 3, SIZE // 8, SIZE // 8, generator=g)
    image = torch.nn.functional.interpolate(coarse, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
    mask = torch.zeros(count, 1, SIZE, SIZE)
    if holes:
        mask[..., SIZE // 4: 3 * SIZE // 4, SIZE // 4: 3 * SIZE // 4] = 1
    return image, mask


class FixedBatches(Dataset):
    """The same images and masks, ``length`` times (one sample per item)."""

    def __init__(self, image: torch.Tensor, mask: torch.Tensor, length: int):
        self.image, self.mask, self.length = image, mask, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict:
        i = index % self.image.shape[0]
        return {"image": self.image[i], "mask": self.mask[i]}


def loader(image: torch.Tensor, mask: torch.Tensor, batches: int) -> DataLoader:
    batch_size = image.shape[0]
    return DataLoader(FixedBatches(image, mask, batches * batch_size), batch_size=batch_size)


def trainer(**kwargs) -> L.Trainer:
    options = dict(accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                   enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
                   num_sanity_val_steps=0, max_epochs=1)
    options.update(kwargs)
    return L.Trainer(**options)


def misf_module(variant: str = "img_filter", d_optimizer=None, lr: float = 1e-4, **kwargs) -> GANInpaintingModule:
    torch.manual_seed(0)
    generator = MISFGenerator(variant=variant, width=0.25, residual_blocks=1)
    return GANInpaintingModule(
        MISFInpainter(generator), PatchDiscriminator(3),
        loss=functools.partial(InpaintingGeneratorLoss, weights=NO_VGG),
        optimizer=adam(lr), d_optimizer=d_optimizer or adam(1e-5), **kwargs,
    )


def edge_module() -> EdgeGANModule:
    torch.manual_seed(0)
    return EdgeGANModule(EdgeConnect(EdgeGenerator(residual_blocks=1), stage="edge"), PatchDiscriminator(2),
                         loss=AdversarialLoss, optimizer=adam(1e-4), d_optimizer=adam(1e-5))


def tiny_edgeconnect(**kwargs) -> EdgeConnect:
    return EdgeConnect(EdgeGenerator(residual_blocks=1), InpaintGenerator(residual_blocks=1), **kwargs)


def tiny_stages() -> tuple[PFUNet, EdgeConnect]:
    torch.manual_seed(0)
    return PFUNet(pfunet(width=0.125)), tiny_edgeconnect()


def uafnet_module(**kwargs) -> JPGNetModule:
    pfu, dgnet = tiny_stages()
    return JPGNetModule(JPGNet, pfu, dgnet, SmartFusion(width=0.125), loss=L1SSIMLoss(0.2),
                        optimizer=adam(2e-4, (0.5, 0.999)), **kwargs)


def naive_fusion_module(threshold: float | None = None, **kwargs) -> JPGNetModule:
    pfu, dgnet = tiny_stages()
    return JPGNetModule(JPGNet, pfu, dgnet, threshold=threshold, **kwargs)


def write_stage_files(folder) -> dict[str, str]:
    """Random tiny stage weights in the authors' formats (PFUNet width 0.125, G1/G2 with one residual block,
    RFRNet with 2 recurrences, StructureFlow Gs/Gt at dim 8): what the tiny JPGNet and EdgeConnect configs
    need in place of trained stages."""
    from inpainting.nets.rfrnet import RFRNet
    from inpainting.nets.structureflow import FlowGenerator, StructureGenerator

    torch.manual_seed(3)
    files = {"pfunet": folder / "pfunet.pth", "edge": folder / "EdgeModel_gen.pth", "inpaint": folder / "InpaintingModel_gen.pth",
             "rfrnet": folder / "g_1.pth", "structure": folder / "latest_net_s_gen.pth", "flow": folder / "latest_net_f_gen.pth"}
    torch.save(pfunet(width=0.125).state_dict(), files["pfunet"])
    torch.save({"iteration": 1, "generator": EdgeGenerator(residual_blocks=1).state_dict()}, files["edge"])
    torch.save({"iteration": 1, "generator": InpaintGenerator(residual_blocks=1).state_dict()}, files["inpaint"])
    torch.save({"n_iter": 1, "generator": RFRNet(iterations=2).state_dict(), "optimizer_G": {}}, files["rfrnet"])
    torch.save(StructureGenerator(**TINY_STRUCTUREFLOW).state_dict(), files["structure"])
    torch.save(FlowGenerator(**TINY_STRUCTUREFLOW).state_dict(), files["flow"])
    return {k: str(v) for k, v in files.items()}


TINY_STRUCTUREFLOW = {"dim": 8, "n_res": 1}
