"""Classical baselines: convention, no ground-truth leak, and each beats the empty-hole input on real pairs."""
import pytest
import torch

from inpainting.eval.classical import CLASSICAL_METHODS, classical_inpainter, empty_holes, patch_match, telea
from inpainting.eval.metrics import BinnedInpaintingMetrics, inpainting_scores

OPTIONAL = {"patchmatch": "patchmatch"}  # method -> the module of its optional extra


def available(name):
    """The method, or skip the calling test when its optional package is not installed."""
    if name in OPTIONAL:
        pytest.importorskip(OPTIONAL[name], reason=f"{name} needs the optional extra (pip install 'pfinpaint[{name}]')")
    return CLASSICAL_METHODS[name]


def _toy(seed=0):
    g = torch.Generator().manual_seed(seed)
    image = torch.rand(2, 3, 24, 20, generator=g)
    mask = torch.zeros(2, 1, 24, 20)
    mask[:, :, 8:14, 6:12] = 1
    return image, mask


@pytest.mark.parametrize("name", sorted(CLASSICAL_METHODS))
def test_convention_and_no_leak_of_the_hole_content(name):
    image, mask = _toy()
    method = available(name)
    pred = method(image, mask)
    assert pred.shape == image.shape and pred.dtype == torch.float32
    assert pred.min() >= 0 and pred.max() <= 1
    scrambled = image * (1 - mask) + torch.rand_like(image) * mask
    torch.testing.assert_close(method(scrambled, mask), pred)  # the hole content is never read


def test_known_pixels_are_kept_and_radius_is_an_option():
    image, mask = _toy(1)
    pred = telea(image, mask)
    known = (1 - mask).bool().expand_as(image)
    assert (pred[known] - image[known]).abs().max() <= 0.5 / 255 + 1e-6  # only uint8 rounding outside the hole
    assert not torch.equal(classical_inpainter("telea", radius=9)(image, mask), pred)
    assert torch.equal(empty_holes(image, mask), torch.zeros_like(image))
    with pytest.raises(ValueError, match="unknown classical inpainter"):
        classical_inpainter("lama")
    with pytest.raises(ValueError, match="expected a mask of shape"):
        telea(image, mask[:, :, :5])


def test_each_classical_method_beats_the_input_in_every_bin(real_pairs, paper_bins):
    results = {}
    for name, method in CLASSICAL_METHODS.items():
        if name in OPTIONAL:
            continue  # its own test, on one photo (PatchMatch takes about a second per 256-px pair)
        metric = BinnedInpaintingMetrics(paper_bins)
        for batch in real_pairs:
            metric.update(method(batch["image"], batch["mask"]), batch["image"], batch["mask"], batch["bin"])
        results[name] = metric.compute()
    present = [b for b in paper_bins if results["input"][f"count/{b}"] > 0]
    assert present == paper_bins, "the real pairs should cover every paper bin"
    for name in ("telea", "navier_stokes", "biharmonic"):
        for bin_name in present:
            ours, base = results[name][f"psnr/{bin_name}"].item(), results["input"][f"psnr/{bin_name}"].item()
            assert ours > base + 3, f"{name} {bin_name}: PSNR {ours:.2f} vs input {base:.2f}"


def test_patchmatch_is_seeded_and_copies_texture_into_the_holes(real_pairs):
    """Same seed, same fill; another seed, another search; on a real photo it beats empty holes by far."""
    available("patchmatch")
    pair = real_pairs[0]
    image, mask = pair["image"], pair["mask"]
    first = patch_match(image, mask, seed=1)
    assert torch.equal(first, patch_match(image, mask, seed=1))
    assert not torch.equal(first, patch_match(image, mask, seed=2))
    ours, empty = (inpainting_scores(pred, image, mask)["psnr"].item() for pred in (first, empty_holes(image, mask)))
    assert ours > empty + 5, f"PatchMatch PSNR {ours:.2f} vs empty holes {empty:.2f}"


def test_without_pypatchmatch_a_run_that_needs_it_fails_when_it_starts(monkeypatch):
    import sys

    from inpainting.eval.classical import classical_inpainter, classical_rows
    from inpainting.nets.classical import ClassicalInpainter

    monkeypatch.setitem(sys.modules, "patchmatch", None)  # as if not installed
    for build in (lambda: classical_rows(["telea", "patchmatch"], "classical_rows"), lambda: ClassicalInpainter("patchmatch"),
                  lambda: classical_inpainter("patchmatch")):
        with pytest.raises(ImportError, match="pip install 'pfinpaint\\[patchmatch\\]'"):
            build()
    assert classical_rows(["telea"], "classical_rows") == {"Telea": "telea"}


def test_classical_adapter_is_a_dgnet_with_meta():
    from inpainting.eval.classical import navier_stokes
    from inpainting.nets.classical import ClassicalInpainter

    torch.manual_seed(0)
    image, mask = torch.rand(1, 3, 24, 24), torch.zeros(1, 1, 24, 24)
    mask[..., 6:14, 6:14] = 1
    adapter = ClassicalInpainter("navier_stokes", radius=5)
    assert torch.equal(adapter(image, mask)["pred"], navier_stokes(image, mask, radius=5))
    assert adapter.meta.size_multiple == 1 and not list(adapter.parameters())
    with pytest.raises(ValueError, match="unknown classical inpainter"):
        ClassicalInpainter("lama")
