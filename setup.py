"""Package layout (everything else is in pyproject.toml).

The configs and experiment data stay at the top of the source tree (``conf/``, ``experiments/``) and are
mapped into the package as ``inpainting.conf`` / ``inpainting.experiments``, so a wheel installed without
its checkout still finds them. ``hydra_plugins/`` is a namespace package (no ``__init__.py``): Hydra
discovers the device-pool launcher there.
"""
from setuptools import find_namespace_packages, find_packages, setup

setup(
    packages=[
        *find_packages(include=["inpainting", "inpainting.*"]),
        *find_namespace_packages(include=["hydra_plugins", "hydra_plugins.*"]),
        "inpainting.conf",
        "inpainting.experiments",
    ],
    package_dir={"inpainting.conf": "conf", "inpainting.experiments": "experiments"},
)
