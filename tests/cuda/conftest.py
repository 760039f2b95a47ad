"""CUDA tests: every test here is marked ``cuda`` and skipped, with the reason, where no CUDA GPU is usable.
Run them with ``pytest -m cuda`` (``make gpu-check`` does, and writes a report)."""
import pytest
import torch

NO_CUDA = "no CUDA GPU here (torch.cuda.is_available() is False)"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/cuda/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.cuda)
            if not torch.cuda.is_available():
                item.add_marker(pytest.mark.skip(reason=NO_CUDA))
