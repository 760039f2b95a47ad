"""Package layout (everything else is in pyproject.toml).

The configs and experiment data stay at the top of the source tree (``conf/``, ``experiments/``) and are
mapped into the package as ``inpainting.conf`` / ``inpainting.experiments``, so a wheel installed without
its checkout still finds them. ``hydra_plugins/`` is a namespace package (no ``__init__.py``): Hydra
discovers the device-pool launcher there.
"""
from setuptools import find_namespace_packages, find_packages, setup


def data_packages(package: str, folder: str) -> list[str]:
    """``package`` and one package per sub-folder of ``folder`` (config groups), so setuptools maps them all."""
    return [package, *(f"{package}.{sub}" for sub in find_namespace_packages(where=folder, exclude=["local"]))]


setup(
    packages=[
        *find_packages(include=["inpainting", "inpainting.*"]),
        *find_namespace_packages(include=["hydra_plugins", "hydra_plugins.*"]),
        *data_packages("inpainting.conf", "conf"),
        *data_packages("inpainting.experiments", "experiments"),
    ],
    package_dir={"inpainting.conf": "conf", "inpainting.experiments": "experiments"},
)
