"""StructureFlow (Ren et al., ICCV 2019) networks with the authors' state_dict key names (docs/structureflow.md).

``RenYurui/StructureFlow`` ``src/network.py``, built with the constructor arguments of ``src/models.py``:

* :class:`StructureGenerator` = ``StructureGen`` (Gs): input ``[I_in, S*(1-M), M]`` (7 channels, [-1,1]),
  instance norm, ReLU, reflect padding, spectral norm on the main path (not on the residual blocks,
  the skip convs or the output conv); output ``tanh``, the structure image in [-1,1].
* :class:`FlowGenerator` = ``FlowGen`` (Gt): input ``[I_in, S, M]``; a flow column (instance norm, no
  SN) predicts the flow (dx, dy) at H/4 in pixels of that grid; a conv column (layer norm over C x H x W
  with a (C,1,1) affine) samples its H/4 features with the flow through the Gaussian sampler twice
  (16 taps, sigma 4 and 4 taps, sigma 2) and decodes; returns ``(tanh image, flow)``.
* :class:`MultiDiscriminator` (two scales, the second on a 3x3/2 average-pooled input; spectral norm,
  LeakyReLU 0.2, no normalization, no sigmoid): returns the list ``[scores at 1/8, scores at 1/16]``.

Sizes must be multiples of 16 (the flow column reaches H/16) and at least 64. ``dim`` and ``n_res`` are the official
width and residual-block count; smaller values are for tests.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from inpainting.nets.meta import NetMeta
from inpainting.nets.structureflow.checkpoint import FLOW_GENERATOR_FILE, STRUCTURE_GENERATOR_FILE
from inpainting.ops.resample2d import Resample2d

SIZE_MULTIPLE = 16
MIN_SIZE = 64  # the 5x5 reflect-padded convs at H/16 need at least 3 pixels there
META = NetMeta(
    name="StructureFlow",
    released_files={"structure_weights": STRUCTURE_GENERATOR_FILE, "flow_weights": FLOW_GENERATOR_FILE},
    size_multiple=SIZE_MULTIPLE,
    mask_polarity="hole",
    value_range=(-1.0, 1.0),
    param_count=36_057_411 + 56_473_475,  # Gs + Gt at dim=64
    source="RenYurui/StructureFlow @ 1ac8f559475452e6b674699671c6b34f000d9ebd (src/network.py)",
)


class LayerNorm(nn.Module):
    """Layer norm over (C, H, W) with a per-channel affine stored as (C, 1, 1) (official ``LayerNorm``)."""

    def __init__(self, channels: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(channels, 1, 1))
        self.bias = nn.Parameter(torch.zeros(channels, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape[1:]
        return F.layer_norm(x, shape, self.weight.expand(shape), self.bias.expand(shape), self.eps)


def _norm(kind: str, channels: int) -> nn.Module | None:
    if kind == "in":
        return nn.InstanceNorm2d(channels)  # no affine, no running statistics
    if kind == "ln":
        return LayerNorm(channels)
    if kind == "none":
        return None
    raise ValueError(f"unknown normalization {kind!r}")


def _activation(kind: str) -> nn.Module | None:
    return {"relu": nn.ReLU(), "lrelu": nn.LeakyReLU(0.2), "tanh": nn.Tanh(), "none": None}[kind]


class Conv2dBlock(nn.Module):
    """pad -> conv (optionally spectral-normalized) -> norm -> activation (keys ``conv.*``, ``norm.*``)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0,
                 norm: str = "none", activation: str = "relu", pad_type: str = "reflect", bias: bool = True,
                 spectral_norm: bool = False):
        super().__init__()
        self.pad = nn.ReflectionPad2d(padding) if pad_type == "reflect" else nn.ZeroPad2d(padding)
        conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, bias=bias)
        # the classic hook-based spectral norm keeps the official keys weight_orig / weight_u / weight_v
        self.conv = nn.utils.spectral_norm(conv) if spectral_norm else conv
        self.norm = _norm(norm, out_channels)
        self.activation = _activation(activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(self.pad(x))
        if self.norm is not None:
            x = self.norm(x)
        return self.activation(x) if self.activation is not None else x


class TransConv2dBlock(nn.Module):
    """Transposed conv -> norm -> activation (keys ``transConv.*``)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int, padding: int,
                 norm: str = "none", activation: str = "relu"):
        super().__init__()
        self.transConv = nn.ConvTranspose2d(in_channels, out_channels, kernel_size, stride, padding)
        self.norm = _norm(norm, out_channels)
        self.activation = _activation(activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.transConv(x)
        if self.norm is not None:
            x = self.norm(x)
        return self.activation(x) if self.activation is not None else x


class ResBlock(nn.Module):
    """``x + [conv3 norm act, conv3 norm](x)`` (keys ``model.{0,1}.*``)."""

    def __init__(self, channels: int, norm: str):
        super().__init__()
        self.model = nn.Sequential(Conv2dBlock(channels, channels, 3, 1, 1, norm, "relu"),
                                   Conv2dBlock(channels, channels, 3, 1, 1, norm, "none"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.model(x)


class ResBlocks(nn.Module):
    def __init__(self, count: int, channels: int, norm: str):
        super().__init__()
        self.model = nn.Sequential(*[ResBlock(channels, norm) for _ in range(count)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class GetImage(nn.Module):
    """The output head ``Get_image``: reflect-padded 3x3 conv and tanh (key ``conv.conv.*``)."""

    def __init__(self, in_channels: int, out_channels: int = 3):
        super().__init__()
        self.conv = Conv2dBlock(in_channels, out_channels, 3, 1, 1, activation="tanh")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


def _up(count: int, channels: int, out_channels: int, norm: str, spectral_norm: bool) -> list[nn.Module]:
    """``[res blocks, nearest x2, 5x5 conv]``, the decoder step shared by Gs and the conv column."""
    return [ResBlocks(count, channels, norm), nn.Upsample(scale_factor=2),
            Conv2dBlock(channels, out_channels, 5, 1, 2, norm, spectral_norm=spectral_norm)]


class StructureGenerator(nn.Module):
    """Gs, the structure reconstructor (``StructureGen(input_dim=3, dim=64, n_res=4, norm='in', use_sn=True)``)."""

    def __init__(self, input_dim: int = 3, dim: int = 64, n_res: int = 4, use_sn: bool = True):
        super().__init__()

        def conv(cin, cout, k, s, p, sn=use_sn):
            return Conv2dBlock(cin, cout, k, s, p, "in", spectral_norm=sn)

        self.input_layer = conv(2 * input_dim + 1, dim, 7, 1, 3)
        self.down_sample = nn.ModuleList([
            nn.Sequential(conv(dim, 2 * dim, 4, 2, 1), conv(2 * dim, 2 * dim, 5, 1, 2)),
            nn.Sequential(conv(2 * dim, 4 * dim, 4, 2, 1), conv(4 * dim, 4 * dim, 5, 1, 2)),
            nn.Sequential(conv(4 * dim, 8 * dim, 4, 2, 1)),
        ])
        top = 8 * dim
        self.up_sample = nn.ModuleList([nn.Sequential(*_up(n_res, top // 2**i, top // 2**(i + 1), "in", use_sn))
                                        for i in range(3)])
        self.content_param = nn.ModuleList([conv(top // 2**(i + 1), top // 2**(i + 1), 5, 1, 2, sn=False)
                                            for i in range(3)])
        self.image_net = GetImage(dim, input_dim)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        x0 = self.input_layer(inputs)
        x1 = self.down_sample[0](x0)
        x2 = self.down_sample[1](x1)
        x3 = self.down_sample[2](x2)
        u1 = self.up_sample[0](x3) + self.content_param[0](x2)
        u2 = self.up_sample[1](u1) + self.content_param[1](x1)
        u3 = self.up_sample[2](u2) + self.content_param[2](x0)
        return self.image_net(u3)


class FlowColumn(nn.Module):
    """Gt's flow column: encoder to H/16, two transposed-conv steps with skips, flow head at H/4."""

    def __init__(self, input_dim: int = 3, dim: int = 64, n_res: int = 2, norm: str = "in"):
        super().__init__()

        def conv(cin, cout, k, s, p):
            return Conv2dBlock(cin, cout, k, s, p, norm)

        self.down_sample_flow = nn.ModuleList([
            nn.Sequential(conv(2 * input_dim + 1, dim // 2, 7, 1, 3), conv(dim // 2, dim, 4, 2, 1), conv(dim, dim, 5, 1, 2)),
            nn.Sequential(conv(dim, 2 * dim, 4, 2, 1), conv(2 * dim, 2 * dim, 5, 1, 2)),
            nn.Sequential(conv(2 * dim, 4 * dim, 4, 2, 1), conv(4 * dim, 4 * dim, 5, 1, 2)),
            nn.Sequential(conv(4 * dim, 8 * dim, 4, 2, 1), conv(8 * dim, 8 * dim, 5, 1, 2)),
        ])
        top = 8 * dim
        self.up_sample_flow = nn.ModuleList([
            nn.Sequential(ResBlocks(n_res, top, norm), TransConv2dBlock(top, top // 2, 6, 2, 2, norm)),
            nn.Sequential(conv(top, top // 2, 5, 1, 2), ResBlocks(n_res, top // 2, norm),
                          TransConv2dBlock(top // 2, top // 4, 6, 2, 2, norm)),
        ])
        self.location = nn.Sequential(
            conv(top // 2, top // 8, 5, 1, 2),
            Conv2dBlock(top // 8, 2, 3, 1, 1, "none", "none", bias=False),
        )

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        f_x1 = self.down_sample_flow[0](inputs)
        f_x2 = self.down_sample_flow[1](f_x1)
        f_x3 = self.down_sample_flow[2](f_x2)
        f_x4 = self.down_sample_flow[3](f_x3)
        f_u1 = torch.cat((self.up_sample_flow[0](f_x4), f_x3), 1)
        f_u2 = torch.cat((self.up_sample_flow[1](f_u1), f_x2), 1)
        return self.location(f_u2)


class ConvColumn(nn.Module):
    """Gt's conv column: encoder (``x1`` at H/4, ``x2`` at H/8), Gaussian sampling of ``x1``, decoder."""

    def __init__(self, input_dim: int = 3, dim: int = 64, n_res: int = 2, norm: str = "ln",
                 truncated_feature_grad: bool = True):
        super().__init__()

        def conv(cin, cout, k, s, p):
            return Conv2dBlock(cin, cout, k, s, p, norm)

        self.down_sample = nn.ModuleList([
            nn.Sequential(conv(2 * input_dim + 1, dim // 2, 7, 1, 3), conv(dim // 2, dim, 4, 2, 1),
                          conv(dim, dim, 5, 1, 2), conv(dim, 2 * dim, 4, 2, 1), conv(2 * dim, 2 * dim, 5, 1, 2)),
            nn.Sequential(conv(2 * dim, 4 * dim, 5, 1, 2), conv(4 * dim, 8 * dim, 4, 2, 1)),
        ])
        top = 8 * dim
        self.up_sample = nn.ModuleList([
            nn.Sequential(*_up(n_res, top, top // 2, norm, False)),
            nn.Sequential(conv(top, top // 2, 5, 1, 2), *_up(n_res, top // 2, top // 4, norm, False),
                          *_up(n_res, top // 4, top // 8, norm, False), GetImage(top // 8, input_dim)),
        ])
        self.resample16 = Resample2d(16, 1, sigma=4, truncated_feature_grad=truncated_feature_grad)
        self.resample4 = Resample2d(4, 1, sigma=2, truncated_feature_grad=truncated_feature_grad)

    def resample_image(self, features: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
        return torch.cat((self.resample16(features, flow), self.resample4(features, flow)), 1)

    def forward(self, inputs: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
        x1 = self.down_sample[0](inputs)
        x2 = self.down_sample[1](x1)
        sampled = self.resample_image(x1, flow)
        return self.up_sample[1](torch.cat((self.up_sample[0](x2), sampled), 1))


class FlowGenerator(nn.Module):
    """Gt, the texture generator (``FlowGen(dim=64, n_res=2, norm_conv='ln', norm_flow='in', use_sn=False)``).

    ``forward(inputs) -> (image, flow)``. ``truncated_feature_grad``: the official CUDA backward's
    truncated fraction for the sampled features' gradient (faithful: True; see ``inpainting.ops.resample2d``).
    """

    def __init__(self, input_dim: int = 3, dim: int = 64, n_res: int = 2, truncated_feature_grad: bool = True):
        super().__init__()
        self.flow_column = FlowColumn(input_dim, dim, n_res, "in")
        self.conv_column = ConvColumn(input_dim, dim, n_res, "ln", truncated_feature_grad)

    def forward(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        flow = self.flow_column(inputs)
        return self.conv_column(inputs, flow), flow


class DownsampleResBlock(nn.Module):
    """``[conv3, conv3, avgpool2](x) + [avgpool2, conv1](x)``, every conv with LeakyReLU and spectral norm."""

    def __init__(self, in_channels: int, out_channels: int, spectral_norm: bool = True):
        super().__init__()
        sn = spectral_norm
        self.conv_1 = nn.Sequential(
            Conv2dBlock(in_channels, in_channels, 3, 1, 1, activation="lrelu", spectral_norm=sn),
            Conv2dBlock(in_channels, out_channels, 3, 1, 1, activation="lrelu", spectral_norm=sn),
            nn.AvgPool2d(2, 2),
        )
        self.conv_2 = nn.Sequential(nn.AvgPool2d(2, 2),
                                    Conv2dBlock(in_channels, out_channels, 1, 1, 0, activation="lrelu", spectral_norm=sn))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_1(x) + self.conv_2(x)


class Discriminator(nn.Module):
    """One scale: 4x4/2 conv, ``n_layers - 1`` down-sampling residual blocks, 1x1 conv to one score map."""

    def __init__(self, input_dim: int = 3, dim: int = 64, n_layers: int = 3, use_sn: bool = True):
        super().__init__()
        layers: list[nn.Module] = [Conv2dBlock(input_dim, dim, 4, 2, 1, activation="lrelu", spectral_norm=use_sn)]
        channels = dim
        for _ in range(n_layers - 1):
            out = min(dim * 8, channels * 2)
            layers.append(DownsampleResBlock(channels, out, use_sn))
            channels = out
        layers.append(Conv2dBlock(channels, 1, 1, 1, 0, activation="none", pad_type="zero", bias=False,
                                  spectral_norm=use_sn))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class MultiDiscriminator(nn.Module):
    """The two-scale discriminator of both stages (``MultiDiscriminator(dim=64, n_layers=3, use_sn=True)``)."""

    def __init__(self, input_dim: int = 3, dim: int = 64, n_layers: int = 3, use_sn: bool = True):
        super().__init__()
        self.model_1 = Discriminator(input_dim, dim, n_layers, use_sn)
        self.down = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)
        self.model_2 = Discriminator(input_dim, dim, n_layers, use_sn)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [self.model_1(x), self.model_2(self.down(x))]
