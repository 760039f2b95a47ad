"""MISF generator: the SIFB encoder-decoder plus the KPB kernel-prediction branch (docs/authors-code.md#misf-generator).

Quirk codes (M1, M2, ...) are explained in ``docs/quirks.md``.

Forward of the full model (``variant="misf"``), inputs in the framework convention (image in [0, 1],
mask 1 = hole):

1. ``inp = [image * (1 - mask), mask]`` (4 channels, holes 0);
2. SIFB encoder: ``e0`` (64 ch, H) -> ``e1`` (128 ch, H/2) -> ``e2`` (256 ch, H/4), each post-ReLU;
3. KPB(inp, e1) predicts feature kernels (576 ch at H/4, expanded to 2304 = 256 x 9 by
   ``repeat_interleave(4)``) and image kernels (27 ch at H);
4. ``e2`` is filtered with the feature kernels (zero padding), then 8 residual blocks and the decoder
   give 3-channel logits, which are filtered with the image kernels, and ``(tanh + 1) / 2`` is returned.

Ablation variants (MISF Tables 3/4), chosen by ``variant``:

- ``"misf"``: both filterings; loads the official checkpoints strictly (92 keys).
- ``"img_filter"``: image-level filtering only; the KPB has no feature-kernel head.
- ``"sem_filter_f1" | "sem_filter_f2" | "sem_filter_f3"``: feature-level filtering only, applied to
  encoder level F1 = ``e0`` (64 ch, H), F2 = ``e1`` (128 ch, H/2) or F3 = ``e2`` (256 ch, H/4, MISF's
  own position). The head is a 1x1 conv on the KPB tensor at that level's resolution (F3: ``conv3``'s
  output as in MISF; F2: ``conv8``'s; F1: ``conv9``'s) and predicts ``C * 9 / 4`` channels, expanded
  x4 like MISF's, so every level keeps MISF's kernel-sharing pattern. The KPB decoder is built only as
  deep as the chosen level needs. For F1, the KPB is still guided by the encoder1 output of the
  *unfiltered* ``e0``; encoder1 then runs again on the filtered ``e0``.
- ``"en_decoder"``: the SIFB alone (no filtering, no KPB).
- ``"en_decoder_filter"``: our reading of "encoder-decoder + filter": the same encoder-decoder whose
  output logits are filtered by an image-level kernel predictor that does *not* see the SIFB features
  (the KPB without the ``e1`` concatenation), i.e. generation and filtering run side by side instead
  of jointly. It differs from ``"img_filter"`` only in that missing link.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from inpainting.nets.blocks import (
    ConvReLUTriple,
    avg_pool2,
    decoder_stage,
    down_stage,
    init_normal_,
    residual_stage,
    scaled_channels,
    stem_stage,
    upsample2,
)
from inpainting.nets.meta import NetMeta
from inpainting.ops import IMPLEMENTATIONS, predictive_filter

META = NetMeta(
    name="MISF",
    size_multiple=4,  # two stride-2 stages in the SIFB encoder
    mask_polarity="hole",
    value_range=(0.0, 1.0),
    param_count=23_059_493,  # variant "misf" at width 1
    source="github.com/tsingqguo/misf (MISF, CVPR 2022)",
    released_files={"weights": "*_InpaintingModel_gen.pth"},  # places2_, celebA_, dunhuang_
)
KERNEL_SIZE = 3
TAPS = KERNEL_SIZE * KERNEL_SIZE
KERNEL_SHARING = 4  # feature kernels are predicted for 1/4 of the channel*tap slots, then repeated


@dataclass(frozen=True)
class VariantPlan:
    """What a generator variant contains."""

    feature_level: int | None  # encoder level (1, 2, 3) filtered with feature kernels, or None
    image_filter: bool  # filter the decoder's logits with image kernels
    kpb_sees_sifb: bool  # KPB concatenates the SIFB encoder1 features
    official_layout: bool  # keep the dead kpn_model.conv_final so official files load strictly


VARIANTS = {
    "misf": VariantPlan(3, True, True, True),
    "img_filter": VariantPlan(None, True, True, False),
    "sem_filter_f1": VariantPlan(1, False, True, False),
    "sem_filter_f2": VariantPlan(2, False, True, False),
    "sem_filter_f3": VariantPlan(3, False, True, False),
    "en_decoder": VariantPlan(None, False, False, False),
    "en_decoder_filter": VariantPlan(None, True, False, False),
}


def expand_feature_kernels(raw: torch.Tensor, fix_nonsquare: bool = False) -> torch.Tensor:
    """Expand predicted feature kernels (B, C*9/4, h, w) to (B, C*9, h, w), channel ``o`` <- ``o // 4``.

    This is the official 3-D nearest interpolation over (channel, h, w). The official call passes the
    spatial size as (w, h) and re-views the result as (h, w) (quirk M1): exact for square maps,
    scrambled for non-square ones. ``fix_nonsquare=False`` reproduces that; ``True`` keeps the layout.
    """
    expanded = raw.repeat_interleave(KERNEL_SHARING, dim=1)
    b, c, h, w = expanded.shape
    if fix_nonsquare or h == w:
        return expanded
    return F.interpolate(expanded, size=(w, h), mode="nearest").reshape(b, c, h, w)


class KernelPredictionBranch(nn.Module):
    """MISF's KPB: a small U-Net on the 4-channel input, joined by SIFB encoder1 features at H/2.

    Returns ``(feature_kernels, image_kernels)``, each None when the variant has no such head. Names
    follow the official ``kpn_model.*`` keys (``conv1..conv4``, ``conv7..conv9``, ``kernels``,
    ``core_img`` and the unused ``conv_final``).
    """

    def __init__(
        self,
        in_channels: int,
        sifb_channels: int,
        feature_level: int | None,
        feature_channels: int,
        image_filter: bool,
        keep_dead_conv_final: bool,
        width: float = 1.0,
        image_channels: int = 3,
    ):
        super().__init__()
        c1, c2, c3, c4 = (scaled_channels(c, width) for c in (64, 128, 256, 512))
        self.feature_level = feature_level
        # How far the KPB decoder must go: 0 = stop at conv3 (H/4), 2 = conv8 (H/2), 3 = conv9 (H).
        self.depth = 3 if image_filter or feature_level == 1 else (2 if feature_level == 2 else 0)
        self.conv1 = ConvReLUTriple(in_channels, c1)
        self.conv2 = ConvReLUTriple(c1, c2)
        self.conv3 = ConvReLUTriple(c2 + sifb_channels, c3)
        if self.depth >= 2:
            self.conv4 = ConvReLUTriple(c3, c4)
            self.conv7 = ConvReLUTriple(c3 + c4, c3)
            self.conv8 = ConvReLUTriple(c2 + sifb_channels + c3, c2)
        if self.depth >= 3:
            self.conv9 = ConvReLUTriple(c1 + c2, c1)
        if feature_level is not None:
            head_in = {3: c3, 2: c2, 1: c1}[feature_level]
            self.kernels = nn.Conv2d(head_in, feature_channels * TAPS // KERNEL_SHARING, 1)
        self.core_img = nn.Conv2d(c1, image_channels * TAPS, 1) if image_filter else None
        if keep_dead_conv_final:
            self.conv_final = nn.Conv2d(4 * image_channels, image_channels, 3, padding=1)

    def forward(
        self, inp: torch.Tensor, sifb_features: torch.Tensor | None
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        a = self.conv1(inp)
        c = self.conv2(avg_pool2(a))
        if sifb_features is not None:
            c = torch.cat([c, sifb_features], 1)
        d = self.conv3(avg_pool2(c))
        at_level = {3: d}
        if self.depth >= 2:
            h = self.conv7(torch.cat([d, self.conv4(d)], 1))
            at_level[2] = i = self.conv8(torch.cat([c, upsample2(h)], 1))
        if self.depth >= 3:
            at_level[1] = self.conv9(torch.cat([a, upsample2(i)], 1))
        feature_kernels = None if self.feature_level is None else self.kernels(at_level[self.feature_level])
        image_kernels = None if self.core_img is None else self.core_img(at_level[1])
        return feature_kernels, image_kernels


class MISFGenerator(nn.Module):
    """MISF inpainting generator and its ablation variants (see the module docstring).

    Args:
        variant: one of :data:`VARIANTS` (``"misf"`` = the paper's model, official key names).
        width: multiplier on every channel count (1.0 = official; feature channels must stay divisible by 4).
        fix_nonsquare_kernels: False (faithful) reproduces quirk M1's scrambled feature kernels on
            non-square inputs; True keeps them aligned. Square inputs are unaffected.
        filter_impl: ``"shift"`` (fast) or ``"unfold"`` (mimics the official operator).
        residual_blocks: number of middle residual blocks (8 official).

    ``forward(image, mask)`` takes image (B, 3, H, W) in [0, 1] and mask (B, 1, H, W) with 1 = hole,
    H and W divisible by 4, and returns the raw (un-composited) output ``(tanh + 1) / 2`` in (0, 1).
    Weights start from :func:`init_normal_` (N(0, 0.02) convs, zero biases), as the official code.
    """

    def __init__(
        self,
        variant: str = "misf",
        width: float = 1.0,
        fix_nonsquare_kernels: bool = False,
        filter_impl: str = "shift",
        residual_blocks: int = 8,
    ):
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"unknown MISF variant {variant!r}; choose one of {sorted(VARIANTS)}")
        if filter_impl not in IMPLEMENTATIONS:
            raise ValueError(f"unknown filter_impl {filter_impl!r}; choose one of {IMPLEMENTATIONS}")
        self.variant, self.plan = variant, VARIANTS[variant]
        self.fix_nonsquare_kernels, self.filter_impl = fix_nonsquare_kernels, filter_impl
        c1, c2, c3 = (scaled_channels(c, width) for c in (64, 128, 256))
        level_channels = {1: c1, 2: c2, 3: c3}
        if self.plan.feature_level is not None and level_channels[self.plan.feature_level] % KERNEL_SHARING:
            raise ValueError(
                f"width {width} gives {level_channels[self.plan.feature_level]} channels at feature level "
                f"F{self.plan.feature_level}; it must be divisible by {KERNEL_SHARING}"
            )

        self.encoder0 = stem_stage(4, c1)
        self.encoder1 = down_stage(c1, c2)
        self.encoder2 = down_stage(c2, c3)
        self.middle = residual_stage(c3, residual_blocks)
        self.decoder = decoder_stage(c3, c2, 3)
        if self.plan.feature_level is not None or self.plan.image_filter:
            self.kpn_model = KernelPredictionBranch(
                in_channels=4,
                sifb_channels=c2 if self.plan.kpb_sees_sifb else 0,
                feature_level=self.plan.feature_level,
                feature_channels=level_channels.get(self.plan.feature_level, 0),
                image_filter=self.plan.image_filter,
                keep_dead_conv_final=self.plan.official_layout,
                width=width,
            )
        else:
            self.kpn_model = None
        init_normal_(self)

    def _filter(self, x: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
        return predictive_filter(x, kernels, KERNEL_SIZE, 1, self.filter_impl)

    def _filter_features(self, x: torch.Tensor, raw_kernels: torch.Tensor) -> torch.Tensor:
        return self._filter(x, expand_feature_kernels(raw_kernels, self.fix_nonsquare_kernels))

    def forward(self, image: torch.Tensor, mask: torch.Tensor,
                return_kernels: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor | None]:
        """``(tanh + 1) / 2`` output; with ``return_kernels`` also the 27 image kernels (None for variants without)."""
        META.check_inputs(image, mask)
        inp = torch.cat([image * (1 - mask), mask], 1)
        level = self.plan.feature_level
        e0 = self.encoder0(inp)
        e1 = self.encoder1(e0)
        feature_kernels = image_kernels = None
        if self.kpn_model is not None:
            feature_kernels, image_kernels = self.kpn_model(inp, e1 if self.plan.kpb_sees_sifb else None)
        if level == 1:
            e1 = self.encoder1(self._filter_features(e0, feature_kernels))
        elif level == 2:
            e1 = self._filter_features(e1, feature_kernels)
        e2 = self.encoder2(e1)
        if level == 3:
            e2 = self._filter_features(e2, feature_kernels)
        logits = self.decoder(self.middle(e2))
        if image_kernels is not None:
            logits = self._filter(logits, image_kernels)
        out = (torch.tanh(logits) + 1) / 2
        return (out, image_kernels) if return_kernels else out
