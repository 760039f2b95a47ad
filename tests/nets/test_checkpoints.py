"""Strict loaders: clear errors naming the file and listing the offending keys."""
import pytest
import torch

from inpainting.nets import (
    CheckpointError,
    EdgeGenerator,
    load_edgeconnect_generator,
    load_jpgnet_kpn,
    load_misf_generator,
    pfunet,
    read_checkpoint,
)


@pytest.fixture(scope="module")
def small_pfunet():
    return pfunet(width=0.125)


def test_missing_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"celebA_InpaintingModel_gen\.pth.*put the file"):
        read_checkpoint(tmp_path / "celebA_InpaintingModel_gen.pth")


def test_wrong_keys_are_listed(tmp_path, small_pfunet):
    state = small_pfunet.state_dict()
    state["module.outc.weight"] = state.pop("outc.weight")
    path = tmp_path / "kpn_prefixed.pth"
    torch.save(state, path)
    with pytest.raises(CheckpointError) as err:
        load_jpgnet_kpn(pfunet(width=0.125), path)
    msg = str(err.value)
    assert "kpn_prefixed.pth" in msg
    assert "missing keys (1): ['outc.weight']" in msg and "unexpected keys (1): ['module.outc.weight']" in msg


def test_bare_state_dict_roundtrip(tmp_path, small_pfunet):
    path = tmp_path / "pfunet.pth"
    torch.save(small_pfunet.state_dict(), path)
    other = load_jpgnet_kpn(pfunet(width=0.125), path)
    assert all(torch.equal(a, b) for a, b in zip(other.state_dict().values(), small_pfunet.state_dict().values()))


def test_wrong_format_and_unreadable_file(tmp_path, small_pfunet):
    bare = tmp_path / "bare.pth"
    torch.save(small_pfunet.state_dict(), bare)
    with pytest.raises(CheckpointError, match=r"bare\.pth.*expected an entry 'generator'"):
        load_misf_generator(small_pfunet, bare)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match=r"cannot read checkpoint .*junk\.pth"):
        read_checkpoint(junk)
    listed = tmp_path / "list.pth"
    torch.save([1, 2], listed)
    with pytest.raises(CheckpointError, match="holds a list"):
        read_checkpoint(listed)


@pytest.mark.slow  # PyTorch's legacy conversion solves for weight_v: ~30 s on CPU
def test_legacy_spectral_norm_layout_loads(tmp_path):
    """Old PyTorch saved spectral-normed convs as weight_orig/weight_u/weight = W/sigma (no weight_v)."""
    torch.manual_seed(0)
    source = EdgeGenerator(residual_blocks=1).eval()
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        expected = source(x)  # the forward sets each `weight` to the normalized W/sigma
    legacy = {k: v for k, v in source.state_dict().items() if not k.endswith("weight_v")}
    for name, module in source.named_modules():
        if hasattr(module, "weight_orig"):
            legacy[f"{name}.weight"] = module.weight.detach().clone()
    path = tmp_path / "EdgeModel_gen.pth"
    torch.save({"iteration": 1, "generator": legacy}, path)
    loaded = EdgeGenerator(residual_blocks=1)
    load_edgeconnect_generator(loaded, path)
    with torch.no_grad():
        assert torch.allclose(loaded.eval()(x), expected, atol=1e-5)
