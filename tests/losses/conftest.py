"""Fixtures for the loss tests: a stand-in for torchvision's VGG19 weight file, built once per session."""
from types import SimpleNamespace

import pytest
import torch
from torch import nn
from torchvision.models.vgg import cfgs, make_layers

from inpainting.losses.vgg import VGG19_WEIGHTS_FILE, VGG19Features


@pytest.fixture(scope="session")
def standin(tmp_path_factory):
    """torchvision's own VGG19 ``features`` (independent layout), saved like the real file into a hub dir."""
    torch.manual_seed(0)
    reference = make_layers(cfgs["E"]).eval()
    for module in reference.modules():
        if isinstance(module, nn.Conv2d):  # keep activations O(1) down to relu5 at random init
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            nn.init.uniform_(module.bias, -0.1, 0.1)
    state = {f"features.{key}": value for key, value in reference.state_dict().items()}
    state["classifier.0.weight"] = torch.zeros(2, 2)  # the real file has a classifier; it is ignored
    home = tmp_path_factory.mktemp("torch_home")
    path = home / "hub" / "checkpoints" / VGG19_WEIGHTS_FILE
    path.parent.mkdir(parents=True)
    torch.save(state, path)
    return SimpleNamespace(home=home, path=path, reference=reference)


@pytest.fixture(scope="session")
def vgg(standin):
    return VGG19Features(weights_path=standin.path)
