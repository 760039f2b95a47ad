"""CTSDG (Guo et al., ICCV 2021): texture and structure branches, Bi-GFF, CFA; two-branch discriminator.

Module and parameter names are those of ``xiefan-guo/ctsdg`` (``models/generator/*.py``,
``models/discriminator/*.py``), so the authors' ``{'n_iter', 'generator', 'discriminator'}``
files load strictly. Conventions inside these modules are the authors' (docs/ctsdg.md): images in
[-1, 1], masks **1 = valid**, the structure input ``cat(edge, gray)`` in [0, 1]; the adapter
(:mod:`inpainting.nets.ctsdg.adapter`) converts from the framework's.

``width`` scales every channel count (official: 64); it exists so that tests can train a small copy.
"""
from __future__ import annotations

import os

import torch
import torch.nn.functional as F
from torch import nn

from inpainting.nets.blocks import init_normal_
from inpainting.nets.discriminator import PatchDiscriminator
from inpainting.nets.meta import NetMeta
from inpainting.nets.partialconv import PartialConv2d
from inpainting.utils.checkpoint_read import load_entry

LEVELS = 7  # stride-2 partial-conv levels: H and W must be multiples of 2**7
# (kernel size) of each encoder level; every level halves the resolution
_ENCODER_KERNELS = (7, 5, 5, 3, 3, 3, 3)
_ENCODER_WIDTHS = (1, 2, 4, 8, 8, 8, 8)  # x width


def init_ctsdg_(module: nn.Module, std: float = 0.02) -> nn.Module:
    """Official ``weights_init('normal', 0.02)``: convs N(0, std) with zero bias, BatchNorm N(1, std) and 0."""
    init_normal_(module, std)
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight.data, 1.0, std)
            nn.init.zeros_(m.bias.data)
    return module


class PConvBNActiv(nn.Module):
    """Multi-channel partial conv (no bias) -> optional BatchNorm -> ReLU / LeakyReLU(0.2)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
                 bn: bool = True, activ: str = "relu"):
        super().__init__()
        self.conv = PartialConv2d(in_channels, out_channels, kernel_size, stride=stride, padding=kernel_size // 2,
                                  bias=False, multi_channel=True)
        if bn:
            self.bn = nn.BatchNorm2d(out_channels)
        self.activation = nn.ReLU() if activ == "relu" else nn.LeakyReLU(negative_slope=0.2)

    def forward(self, images: torch.Tensor, masks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        images, masks = self.conv(images, masks)
        if hasattr(self, "bn"):
            images = self.bn(images)
        return self.activation(images), masks


class Bottleneck(nn.Module):
    """Residual block of the projection heads: 3x3 -> BN -> ReLU -> 3x3 -> BN, + input, ReLU."""

    def __init__(self, inplanes: int, planes: int):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, inplanes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(inplanes)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + x)


class _Projection(nn.Module):
    """Feature -> image (tanh, 3 channels) or edge (sigmoid, 1 channel); used only by the intermediate loss."""

    def __init__(self, resolver: str, channels: int, out_channels: int, activation: nn.Module):
        super().__init__()
        setattr(self, resolver, Bottleneck(channels, channels // 4))
        self._resolver = resolver
        self.out_layer = nn.Sequential(nn.Conv2d(channels, out_channels, 1), activation)

    def forward(self, feature: torch.Tensor) -> torch.Tensor:
        return self.out_layer(getattr(self, self._resolver)(feature))


class BiGFF(nn.Module):
    """Bi-directional gated feature fusion.

    As officially, the structure update uses the already-updated texture feature.
    """

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.structure_gate = nn.Sequential(nn.Conv2d(2 * in_channels, out_channels, 3, padding=1), nn.Sigmoid())
        self.texture_gate = nn.Sequential(nn.Conv2d(2 * in_channels, out_channels, 3, padding=1), nn.Sigmoid())
        self.structure_gamma = nn.Parameter(torch.zeros(1))
        self.texture_gamma = nn.Parameter(torch.zeros(1))

    def forward(self, texture: torch.Tensor, structure: torch.Tensor) -> torch.Tensor:
        energy = torch.cat((texture, structure), 1)
        gate_structure_to_texture = self.structure_gate(energy)
        gate_texture_to_structure = self.texture_gate(energy)
        texture = texture + self.texture_gamma * (gate_structure_to_texture * structure)
        structure = structure + self.structure_gamma * (gate_texture_to_structure * texture)
        return torch.cat((texture, structure), 1)


def _patches(x: torch.Tensor, kernel_size: int, stride: int) -> torch.Tensor:
    """(B, C, H, W) -> (B, L, C, k, k): zero-padded by 1, patches in row-major order (official ``extract_patches``)."""
    x = F.pad(x, (1, 1, 1, 1))
    patches = x.unfold(2, kernel_size, stride).unfold(3, kernel_size, stride)  # B, C, h, w, k, k
    b, c = x.shape[:2]
    return patches.permute(0, 2, 3, 1, 4, 5).reshape(b, -1, c, kernel_size, kernel_size)


class RAL(nn.Module):
    """Region affinity learning: contextual patch attention of a feature map on itself.

    The foreground is down-sampled by ``rate`` (bilinear, align_corners=True); each position is scored
    against all of its 3x3 patches (cosine with the normalized patches, softmax scale 10, clamped at
    1e-8), and the ``2*rate`` background patches are pasted back with a transposed conv (/4).
    The official code loops over the batch; here every sample is one group of a grouped conv, which
    computes the same sums in one call.
    """

    def __init__(self, kernel_size: int = 3, stride: int = 1, rate: int = 2, softmax_scale: float = 10.0):
        super().__init__()
        if kernel_size != 3 or stride != 1 or rate != 2:
            raise ValueError("RAL is implemented for the official kernel_size=3, stride=1, rate=2")
        self.kernel_size, self.stride, self.rate, self.softmax_scale = kernel_size, stride, rate, softmax_scale

    def forward(self, background: torch.Tensor, foreground: torch.Tensor) -> torch.Tensor:
        foreground = F.interpolate(foreground, scale_factor=1.0 / self.rate, mode="bilinear", align_corners=True)
        b, c, h, w = foreground.shape
        k = self.kernel_size
        bg_kernel = 2 * self.rate
        bg_patches = _patches(background, bg_kernel, self.stride * self.rate)  # B, L, C, 4, 4
        fg_patches = _patches(foreground, k, self.stride)  # B, L, C, 3, 3
        norms = fg_patches.pow(2).sum((2, 3, 4), keepdim=True).sqrt().clamp_min(1e-4)
        fg_patches = (fg_patches / norms).reshape(-1, c, k, k)  # B*L, C, 3, 3
        scores = F.conv2d(foreground.reshape(1, b * c, h, w), fg_patches, padding=1, groups=b)
        attention = F.softmax(scores.view(b, -1, h, w) * self.softmax_scale, dim=1).clamp(min=1e-8)
        output = F.conv_transpose2d(attention.reshape(1, -1, h, w), bg_patches.reshape(-1, c, bg_kernel, bg_kernel),
                                    stride=self.rate, padding=1, groups=b) / 4.0
        return output.view(background.shape)


class MSFA(nn.Module):
    """Multi-scale feature aggregation: dilated 3x3 convs (1, 2, 4, 8) mixed by per-pixel softmax weights."""

    def __init__(self, in_channels: int = 64, out_channels: int = 64, dilation_rate_list=(1, 2, 4, 8)):
        super().__init__()
        self.dilation_rate_list = tuple(dilation_rate_list)
        for i, rate in enumerate(self.dilation_rate_list):
            setattr(self, f"dilated_conv_{i}", nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 3, dilation=rate, padding=rate), nn.ReLU(inplace=True)))
        self.weight_calc = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, len(self.dilation_rate_list), 1), nn.ReLU(inplace=True),
            nn.Softmax(dim=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = self.weight_calc(x)
        features = [getattr(self, f"dilated_conv_{i}")(x) for i in range(len(self.dilation_rate_list))]
        return sum(weights[:, i:i + 1] * f for i, f in enumerate(features))


class CFA(nn.Module):
    """Contextual feature aggregation: :class:`RAL` then :class:`MSFA`."""

    def __init__(self, in_channels: int = 64, out_channels: int = 64):
        super().__init__()
        self.ral = RAL()
        self.msfa = MSFA(in_channels, out_channels)

    def forward(self, background: torch.Tensor, foreground: torch.Tensor) -> torch.Tensor:
        return self.msfa(self.ral(background, foreground))


class Generator(nn.Module):
    """``forward(input_image, input_structure, mask) -> (output, projected_image, projected_edge)``.

    ``input_image`` (B, 3, H, W) = image in [-1, 1] times ``mask``; ``input_structure`` (B, 2, H, W) =
    ``cat(edge, gray) * mask``; ``mask`` (B, 1, H, W), 1 = valid; H, W multiples of 128. ``output`` is the
    raw tanh image (not composited). As officially, the texture decoder starts from the *structure*
    encoder's bottleneck and the structure decoder from the *texture* one.

    Fine-tuning: ``freeze_ec_bn = True`` keeps BatchNorm in eval mode whatever ``train()`` says. The
    official flag is named after the encoder but freezes **every** BatchNorm of the generator
    (``freeze_bn_scope="all"``, faithful); ``"encoder"`` freezes only the ``ec_*`` layers, as PConv's
    fine-tuning stage describes.
    """

    def __init__(self, image_in_channels: int = 3, edge_in_channels: int = 2, out_channels: int = 3,
                 width: int = 64, freeze_bn_scope: str = "all"):
        super().__init__()
        if freeze_bn_scope not in ("all", "encoder"):
            raise ValueError(f"freeze_bn_scope must be 'all' (official) or 'encoder', got {freeze_bn_scope!r}")
        self.freeze_ec_bn = False
        self.freeze_bn_scope = freeze_bn_scope
        widths = [width * m for m in _ENCODER_WIDTHS]
        for branch, in_channels in (("texture", image_in_channels), ("structure", edge_in_channels)):
            previous = in_channels
            for level, (kernel, channels) in enumerate(zip(_ENCODER_KERNELS, widths), start=1):
                setattr(self, f"ec_{branch}_{level}",
                        PConvBNActiv(previous, channels, kernel, stride=2, bn=level > 1, activ="relu"))
                previous = channels
            # decoder level j: up-sampled level j features + encoder skip j-1 (the input for j=1)
            skips = [in_channels, *widths[:-1]]
            for level in range(LEVELS, 0, -1):
                out = widths[level - 2] if level > 1 else width
                setattr(self, f"dc_{branch}_{level}", PConvBNActiv(previous + skips[level - 1], out, activ="leaky"))
                previous = out
        self.structure_feature_projection = _Projection("structure_resolver", width, 1, nn.Sigmoid())
        self.texture_feature_projection = _Projection("texture_resolver", width, out_channels, nn.Tanh())
        self.bigff = BiGFF(width, width)
        self.fusion_layer1 = nn.Sequential(nn.Conv2d(2 * width, width, 3, stride=2, padding=1),
                                           nn.LeakyReLU(negative_slope=0.2))
        self.cfa = CFA(width, width)
        self.fusion_layer2 = nn.Sequential(nn.Conv2d(2 * width, width, 3, padding=1), nn.LeakyReLU(negative_slope=0.2))
        self.out_layer = nn.Sequential(nn.Conv2d(3 * width, 3, 1), nn.Tanh())
        init_ctsdg_(self)

    def _encode(self, branch: str, x: torch.Tensor, mask: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        levels = [(x, mask)]
        for level in range(1, LEVELS + 1):
            levels.append(getattr(self, f"ec_{branch}_{level}")(*levels[-1]))
        return levels

    def _decode(self, branch: str, start: tuple[torch.Tensor, torch.Tensor],
                skips: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
        x, mask = start
        for level in range(LEVELS, 0, -1):
            skip, skip_mask = skips[level - 1]
            x = torch.cat((F.interpolate(x, scale_factor=2, mode="bilinear"), skip), 1)
            mask = torch.cat((F.interpolate(mask, scale_factor=2, mode="nearest"), skip_mask), 1)
            x, mask = getattr(self, f"dc_{branch}_{level}")(x, mask)
        return x

    def forward(self, input_image: torch.Tensor, input_structure: torch.Tensor, mask: torch.Tensor):
        textures = self._encode("texture", input_image, mask.expand(-1, input_image.shape[1], -1, -1))
        structures = self._encode("structure", input_structure, mask.expand(-1, input_structure.shape[1], -1, -1))
        dc_texture = self._decode("texture", structures[-1], textures)
        dc_structure = self._decode("structure", textures[-1], structures)

        projected_image = self.texture_feature_projection(dc_texture)
        projected_edge = self.structure_feature_projection(dc_structure)

        fused = self.bigff(dc_texture, dc_structure)
        output = self.fusion_layer1(fused)
        attended = self.cfa(output, output)
        output = self.fusion_layer2(torch.cat((output, attended), 1))
        output = F.interpolate(output, scale_factor=2, mode="bilinear")
        output = self.out_layer(torch.cat((output, fused), 1))
        return output, projected_image, projected_edge

    def train(self, mode: bool = True) -> "Generator":
        super().train(mode)
        if self.freeze_ec_bn:
            for name, module in self.named_modules():
                if isinstance(module, nn.BatchNorm2d) and (self.freeze_bn_scope == "all" or name.startswith("ec_")):
                    module.eval()
        return self


class EdgeDetector(nn.Module):
    """The discriminator's edge predictor: 3x3 conv-BN-ReLU, residual block, 1x1 conv, sigmoid.

    Not re-initialised officially (PyTorch's default init), unlike the two branches.
    """

    def __init__(self, in_channels: int = 3, mid_channels: int = 16, out_channels: int = 1):
        super().__init__()
        self.projection = nn.Sequential(nn.Conv2d(in_channels, mid_channels, 3, padding=1),
                                        nn.BatchNorm2d(mid_channels), nn.ReLU(inplace=True))
        self.res_layer = nn.Sequential(
            nn.Conv2d(mid_channels, mid_channels, 3, padding=1), nn.BatchNorm2d(mid_channels), nn.ReLU(inplace=True),
            nn.Conv2d(mid_channels, mid_channels, 3, padding=1), nn.BatchNorm2d(mid_channels),
        )
        self.relu = nn.ReLU(inplace=True)
        self.out_layer = nn.Sequential(nn.Conv2d(mid_channels, out_channels, 1), nn.Sigmoid())

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        image = self.projection(image)
        return self.out_layer(self.relu(self.res_layer(image) + image))


class Discriminator(nn.Module):
    """Texture PatchGAN on the image, structure PatchGAN on ``cat(edge, gray)``, and an edge detector.

    ``forward(image, gray, real_edge=None) -> (pred, detected_edge)``: ``pred`` (B, 2, h, w) =
    sigmoid [texture, structure] scores. The structure branch sees ``real_edge`` when given (the
    official ``is_real=True`` call on the ground truth) and otherwise the detector's edges of
    ``image`` (``is_real=False``, the generated image). :meth:`logits` gives the scores before the
    sigmoid. Each branch is the EdgeConnect/MISF :class:`PatchDiscriminator` (same keys, including
    the ``features`` alias of ``conv1``).
    """

    def __init__(self, image_in_channels: int = 3, edge_in_channels: int = 2):
        super().__init__()
        self.texture_branch = PatchDiscriminator(image_in_channels, use_sigmoid=False)
        self.structure_branch = PatchDiscriminator(edge_in_channels, use_sigmoid=False)
        self.edge_detector = EdgeDetector()

    def logits(self, image: torch.Tensor, gray: torch.Tensor, real_edge: torch.Tensor | None = None):
        detected_edge = self.edge_detector(image)
        edge = detected_edge if real_edge is None else real_edge
        texture, _ = self.texture_branch(image)
        structure, _ = self.structure_branch(torch.cat((edge, gray), 1))
        return torch.cat((texture, structure), 1), detected_edge

    def forward(self, image: torch.Tensor, gray: torch.Tensor, real_edge: torch.Tensor | None = None):
        logits, detected_edge = self.logits(image, gray, real_edge)
        return torch.sigmoid(logits), detected_edge

    def load_weights(self, path: str | os.PathLike) -> None:
        """The ``discriminator`` entry of an official ``{'n_iter', 'generator', 'discriminator'}`` file, strictly."""
        load_entry(self, path, "discriminator")


META = NetMeta(
    name="CTSDG",
    released_files={"weights": "*.pt"},  # <iter>.pt
    size_multiple=2 ** LEVELS,
    mask_polarity="valid",
    value_range=(-1.0, 1.0),
    param_count=52_147_789,
    source="xiefan-guo/ctsdg@def02741ba1a110e70ee1a6365868e5d43731132",
)
