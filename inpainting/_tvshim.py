"""Import hook that lets a CUDA-built torchvision wheel import on a CPU-only torch.

Why: torchvision 0.28.0 is published only as a CUDA build. On CPU torch its ``_C`` extension cannot
load (it links libtorch_cuda), and ``torchvision/_meta_registrations.py`` then registers a fake
kernel for ``torchvision::nms`` without checking that the op exists, so ``import torchvision`` --
and with it ``import lightning``, ``torchmetrics`` and ``lpips`` -- raises
``RuntimeError: operator torchvision::nms does not exist``.

``import inpainting`` installs it (so every ``inpaint-*`` command of an installed wheel works), and
``make install`` also copies it into the venv's site-packages with a ``.pth`` line that installs it at
interpreter start (``tools/install_tvshim.py``), so a plain ``import torchvision`` works there too. It only
adds a ``sys.meta_path`` finder, so start-up stays free of a torch import. A finder added after torchvision
was imported has nothing left to do: it is never asked again. The first time ``torchvision`` is imported the finder runs
once: if torch has no CUDA and torchvision's ``_C`` extension does not load, it declares the two
op schemas that are registered without a guard, then steps aside. The C++ ops themselves (nms,
roi_align, ...) stay unavailable, which nothing in this project uses.
"""
import importlib.abc
import importlib.machinery
import os
import sys

_keep_alive = []


def _extension_loads(torch, package_dir):
    if package_dir is None:
        return False
    for name in os.listdir(package_dir):
        if name.startswith("_C.") and name.endswith((".so", ".pyd")):
            try:
                torch.ops.load_library(os.path.join(package_dir, name))
                return True
            except (OSError, RuntimeError):
                return False
    return False


def _declare_missing_schemas():
    import torch

    if torch.version.cuda is not None:
        return
    spec = importlib.machinery.PathFinder.find_spec("torchvision")
    package_dir = None
    if spec is not None and spec.submodule_search_locations:
        package_dir = list(spec.submodule_search_locations)[0]
    if _extension_loads(torch, package_dir):
        return
    lib = torch.library.Library("torchvision", "DEF")
    lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    lib.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _keep_alive.append(lib)  # the schemas vanish when the Library object is collected


class _TorchvisionCpuFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname != "torchvision":
            return None
        sys.meta_path.remove(self)
        try:
            _declare_missing_schemas()
        except Exception as err:  # never block an import because of the shim itself
            print(f"[inpainting tvshim] skipped: {err}", file=sys.stderr)
        return None  # let the normal finders import torchvision


def install():
    # by name: the .pth copy (module _inpainting_tvshim) and the package's are two classes of one finder
    if not any(type(f).__name__ == _TorchvisionCpuFinder.__name__ for f in sys.meta_path):
        sys.meta_path.insert(0, _TorchvisionCpuFinder())
